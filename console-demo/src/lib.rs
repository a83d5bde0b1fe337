//! tokio-console on weft: the `console_demo` example and the tests of weft's
//! `console` feature live in this crate (see its `Cargo.toml` for why it is
//! a crate of its own). The workload the demo runs is here, so the tests
//! can run it too.

use std::time::Duration;

/// A small, lively workload for the console to show: a ticker that sleeps,
/// a pair of tasks that wake each other through a channel, a task that
/// burns CPU in long polls, and short tasks spawned one after another.
/// Runs for `rounds` ticks of `tick`.
pub async fn workload(rounds: u32, tick: Duration) {
    let (tx, rx) = weft::sync::mpsc::channel::<u32>(1);
    let consumer = weft::spawn(async move {
        let mut rx = rx;
        let mut got = 0;
        while let Some(n) = rx.recv().await {
            got += n;
        }
        got
    });
    let producer = weft::spawn(async move {
        for i in 0..rounds {
            weft::time::sleep(tick).await;
            if tx.send(i).await.is_err() {
                break;
            }
        }
    });
    let busy = weft::spawn(async move {
        for _ in 0..rounds {
            // A long poll: console's "busy" time and its lint for polls
            // that block the thread.
            let started = std::time::Instant::now();
            while started.elapsed() < tick / 4 {
                std::hint::spin_loop();
            }
            weft::task::yield_now().await;
            weft::time::sleep(tick).await;
        }
    });
    for i in 0..rounds {
        weft::spawn(async move { weft::time::sleep(tick * (i % 3)).await })
            .await
            .ok();
    }
    let _ = producer.await;
    let _ = consumer.await;
    let _ = busy.await;
}
