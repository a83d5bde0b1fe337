//! `task::JoinSet`, as tokio's tests use it (tokio/tests/task_join_set.rs).

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use common::{rt, within};
use weft::runtime::Builder;
use weft::task::JoinSet;

#[test]
fn outputs_come_back_as_tasks_complete_and_then_none() {
    within(30, || {
        rt().block_on(async {
            let mut set = JoinSet::new();
            for i in 0..10u64 {
                set.spawn(async move {
                    // Later spawns finish first.
                    weft::time::sleep(Duration::from_millis(10 - i)).await;
                    i
                });
            }
            assert_eq!(set.len(), 10);
            let mut order = Vec::new();
            while let Some(result) = set.join_next().await {
                order.push(result.unwrap());
            }
            assert_eq!(order.len(), 10);
            assert_eq!(order.iter().copied().collect::<HashSet<_>>().len(), 10);
            assert!(set.is_empty());
            assert!(set.join_next().await.is_none());
        });
    });
}

#[test]
fn dropping_the_set_aborts_its_tasks() {
    within(30, || {
        rt().block_on(async {
            struct Count(Arc<AtomicUsize>);
            impl Drop for Count {
                fn drop(&mut self) {
                    self.0.fetch_add(1, SeqCst);
                }
            }
            let dropped = Arc::new(AtomicUsize::new(0));
            let mut set = JoinSet::new();
            for _ in 0..5 {
                let count = Count(Arc::clone(&dropped));
                set.spawn(async move {
                    let _count = count;
                    std::future::pending::<()>().await
                });
            }
            weft::task::yield_now().await;
            drop(set);
            // The aborted tasks' futures are dropped at their next turn.
            while dropped.load(SeqCst) < 5 {
                weft::task::yield_now().await;
            }
        });
    });
}

#[test]
fn abort_all_then_join_next_reports_cancelled_and_detach_all_lets_tasks_run() {
    within(30, || {
        rt().block_on(async {
            let mut set = JoinSet::new();
            for _ in 0..3 {
                set.spawn(std::future::pending::<()>());
            }
            set.abort_all();
            let mut cancelled = 0;
            while let Some(result) = set.join_next().await {
                assert!(result.unwrap_err().is_cancelled());
                cancelled += 1;
            }
            assert_eq!(cancelled, 3);

            let ran = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = std::sync::mpsc::channel();
            for _ in 0..3 {
                let (ran, tx) = (Arc::clone(&ran), tx.clone());
                set.spawn(async move {
                    weft::task::yield_now().await;
                    ran.fetch_add(1, SeqCst);
                    tx.send(()).unwrap();
                });
            }
            set.detach_all();
            assert!(set.is_empty());
            drop(set);
            for _ in 0..3 {
                while rx.try_recv().is_err() {
                    weft::task::yield_now().await;
                }
            }
            assert_eq!(ran.load(SeqCst), 3);
        });
    });
}

#[test]
fn abort_handles_ids_and_errors_carry_the_task_id() {
    within(30, || {
        rt().block_on(async {
            let mut set = JoinSet::new();
            let slow = set.spawn(std::future::pending::<u32>());
            let quick = set.spawn(async { 1u32 });
            assert_ne!(slow.id(), quick.id());
            let (id, value) = set.join_next_with_id().await.unwrap().unwrap();
            assert_eq!((id, value), (quick.id(), 1));
            slow.abort();
            let err = set.join_next_with_id().await.unwrap().unwrap_err();
            assert!(err.is_cancelled());
            assert_eq!(err.id(), slow.id());
        });
    });
}

#[test]
fn try_join_next_does_not_wait() {
    within(30, || {
        rt().block_on(async {
            let mut set = JoinSet::new();
            assert!(set.try_join_next().is_none(), "empty");
            set.spawn(async { 5 });
            set.spawn(std::future::pending::<i32>());
            let mut got = None;
            while got.is_none() {
                got = set.try_join_next();
                if got.is_none() {
                    weft::task::yield_now().await;
                }
            }
            assert_eq!(got.unwrap().unwrap(), 5);
            assert!(set.try_join_next().is_none(), "the other one is pending");
            assert_eq!(set.len(), 1);
        });
    });
}

#[test]
fn join_all_returns_outputs_and_resumes_a_panic() {
    within(30, || {
        rt().block_on(async {
            let set: JoinSet<u32> = (1..=4).map(|i| async move { i }).collect();
            let mut all = set.join_all().await;
            all.sort();
            assert_eq!(all, vec![1, 2, 3, 4]);

            let mut set = JoinSet::new();
            set.spawn(async { panic!("boom") });
            set.spawn(std::future::pending::<()>());
            let result = futures_util::future::FutureExt::catch_unwind(
                std::panic::AssertUnwindSafe(set.join_all()),
            )
            .await;
            let payload = result.unwrap_err();
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
        });
    });
}

#[test]
fn shutdown_empties_the_set() {
    within(30, || {
        rt().block_on(async {
            let mut set = JoinSet::new();
            for _ in 0..4 {
                set.spawn(std::future::pending::<()>());
            }
            set.spawn(async { panic!("ignored by shutdown") });
            set.shutdown().await;
            assert!(set.is_empty());
        });
    });
}

#[test]
fn local_blocking_and_on_another_runtime() {
    within(30, || {
        let other = Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let other_handle = other.handle().clone();
        rt().block_on(async move {
            let mut set = JoinSet::new();
            let rc = std::rc::Rc::new(3);
            set.spawn_local(async move { *rc });
            set.spawn_blocking(|| 4);
            set.spawn_on(async { 5 }, &other_handle);
            set.spawn_blocking_on(|| 6, &other_handle);
            let mut all = Vec::new();
            while let Some(result) = set.join_next().await {
                all.push(result.unwrap());
            }
            all.sort();
            assert_eq!(all, vec![3, 4, 5, 6]);
        });
        drop(other);
    });
}

#[test]
fn draining_many_finished_tasks_yields_to_the_rest() {
    // `join_next` spends the coop budget: a loop over a set of 1,000
    // finished tasks still lets another task run in between.
    within(30, || {
        rt().block_on(async {
            let finished = Arc::new(AtomicUsize::new(0));
            let mut set = JoinSet::new();
            for i in 0..1_000 {
                let finished = Arc::clone(&finished);
                set.spawn(async move {
                    finished.fetch_add(1, SeqCst);
                    i
                });
            }
            // Let them all finish: the outputs wait in the set.
            while finished.load(SeqCst) < 1_000 {
                weft::task::yield_now().await;
            }
            let ticked = Arc::new(AtomicUsize::new(0));
            let ticker = {
                let ticked = Arc::clone(&ticked);
                weft::spawn(async move {
                    loop {
                        ticked.fetch_add(1, SeqCst);
                        weft::task::yield_now().await;
                    }
                })
            };
            let mut joined = 0;
            while set.join_next().await.is_some() {
                joined += 1;
            }
            assert_eq!(joined, 1_000);
            assert!(
                ticked.load(SeqCst) > 1,
                "the drain never yielded: ticked {}",
                ticked.load(SeqCst)
            );
            ticker.abort();
        });
    });
}

#[test]
fn a_join_set_is_send_and_debug() {
    fn send<T: Send>() {}
    send::<JoinSet<u32>>();
    let set: JoinSet<u32> = JoinSet::default();
    assert_eq!(format!("{set:?}"), "JoinSet { len: 0 }");
}
