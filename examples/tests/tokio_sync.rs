//! tokio's `sync` module (channels, locks, `Notify`, `watch`) on weft tasks
//! and wakers, with no tokio runtime in the process: a dependency that
//! hands out tokio's channels keeps working on weft (weft's own
//! `weft::sync` has the same API and takes part in weft's coop budget).

use std::sync::Arc;
use std::time::Duration;

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_sync_primitives_work_on_weft_tasks() {
    weft::time::timeout(Duration::from_secs(60), body())
        .await
        .expect("tokio_sync_primitives_work_on_weft_tasks did not finish within 60 s");
}

async fn body() {
    assert!(
        tokio::runtime::Handle::try_current().is_err(),
        "no tokio runtime here"
    );

    // mpsc: a bounded channel between two weft tasks (the producer waits
    // for room 996 times).
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(4);
    let producer = weft::spawn(async move {
        for i in 0..1_000 {
            tx.send(i).await.unwrap();
        }
    });
    let mut sum = 0;
    while let Some(i) = rx.recv().await {
        sum += i;
    }
    producer.await.unwrap();
    assert_eq!(sum, 499_500);

    // oneshot, completed by a task after a weft timer.
    let (once_tx, once_rx) = tokio::sync::oneshot::channel();
    weft::spawn(async move {
        weft::time::sleep(Duration::from_millis(5)).await;
        once_tx.send("late").unwrap();
    });
    assert_eq!(once_rx.await.unwrap(), "late");

    // Mutex held across yields by 8 tasks on 2 workers.
    let counter = Arc::new(tokio::sync::Mutex::new(0u32));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let counter = Arc::clone(&counter);
            weft::spawn(async move {
                for _ in 0..100 {
                    let mut guard = counter.lock().await;
                    weft::task::yield_now().await;
                    *guard += 1;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(*counter.lock().await, 800);

    // Notify: the permit reaches the waiter whichever comes first.
    let notify = Arc::new(tokio::sync::Notify::new());
    let waiter = {
        let notify = Arc::clone(&notify);
        weft::spawn(async move { notify.notified().await })
    };
    notify.notify_one();
    waiter.await.unwrap();

    // watch: the watcher sees the last value.
    let (watch_tx, mut watch_rx) = tokio::sync::watch::channel(0);
    let watcher = weft::spawn(async move {
        while *watch_rx.borrow_and_update() < 3 {
            watch_rx.changed().await.unwrap();
        }
    });
    for value in 1..=3 {
        watch_tx.send(value).unwrap();
        weft::task::yield_now().await;
    }
    watcher.await.unwrap();
}
