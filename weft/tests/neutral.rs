//! Runtime-neutral crates run on weft: async-channel, async-lock,
//! futures' join!/select! and streams.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::within;
use futures_util::{join, select, FutureExt, StreamExt};

#[test]
fn async_lock_mutex_semaphore_and_rwlock() {
    within(30, || {
        weft::runtime::Runtime::new().unwrap().block_on(async {
            let counter = Arc::new(async_lock::Mutex::new(0u32));
            let limit = Arc::new(async_lock::Semaphore::new(3));
            let tasks: Vec<_> = (0..50)
                .map(|_| {
                    let (counter, limit) = (Arc::clone(&counter), Arc::clone(&limit));
                    weft::spawn(async move {
                        let _permit = limit.acquire().await;
                        weft::task::yield_now().await;
                        *counter.lock().await += 1;
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            assert_eq!(*counter.lock().await, 50);
            let table = async_lock::RwLock::new(vec![1, 2, 3]);
            let (a, b) = join!(table.read(), table.read());
            assert_eq!(a.len() + b.len(), 6);
        });
    });
}

#[test]
fn join_select_and_streams() {
    within(30, || {
        common::rt().block_on(async {
            let (a, b) = join!(
                async {
                    weft::time::sleep(Duration::from_millis(5)).await;
                    1
                },
                weft::spawn(async { 2 })
            );
            assert_eq!(a + b.unwrap(), 3);
            let (tx, rx) = async_channel::unbounded::<u32>();
            let mut slow = Box::pin(weft::time::sleep(Duration::from_secs(60)).fuse());
            let mut recv = Box::pin(rx.recv().fuse());
            tx.send(7).await.unwrap();
            let got = select! {
                value = recv => value.unwrap(),
                () = slow => unreachable!("the channel has a value"),
            };
            assert_eq!(got, 7);
            let sum: u32 = futures_util::stream::iter(1..=10)
                .then(|n| async move {
                    weft::task::yield_now().await;
                    n
                })
                .fold(0, |acc, n| async move { acc + n })
                .await;
            assert_eq!(sum, 55);
            let ticks: Vec<_> = futures_util::stream::unfold(0u32, |n| async move {
                (n < 3).then_some(n).map(|n| (n, n + 1))
            })
            .collect()
            .await;
            assert_eq!(ticks, [0, 1, 2]);
        });
    });
}
