//! `task::JoinSet`: tokio's tests/task_join_set.rs converted by renaming
//! (all but its `spawn_local`/`spawn_local_on` modules, which need tokio's
//! `LocalSet`/`LocalRuntime`; weft's `spawn_local` needs neither, see
//! `local_blocking_and_on_another_runtime`), each test bounded by
//! `within`, then weft's own checks.

mod common;

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use common::{rt, within};
use futures_util::future::FutureExt;
use weft::runtime::Builder;
use weft::sync::oneshot;
use weft::task::JoinSet;

/// Runs a test body on a current-thread runtime, bounded in time
/// (tokio's `#[tokio::test]`).
fn run(body: impl Future<Output = ()> + Send + 'static) {
    within(30, move || rt().block_on(body))
}

/// As [`run`], the clock paused from the start (tokio's
/// `#[tokio::test(start_paused = true)]`).
fn run_paused(body: impl Future<Output = ()> + Send + 'static) {
    within(30, move || {
        Builder::new_current_thread()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(body)
    })
}

// ===== tokio's tests/task_join_set.rs =====

#[test]
fn test_with_sleep() {
    run_paused(async {
        let mut set = JoinSet::new();

        for i in 0..10 {
            set.spawn(async move { i });
            assert_eq!(set.len(), 1 + i);
        }
        set.detach_all();
        assert_eq!(set.len(), 0);

        assert!(set.join_next().await.is_none());

        for i in 0..10 {
            set.spawn(async move {
                weft::time::sleep(Duration::from_secs(i as u64)).await;
                i
            });
            assert_eq!(set.len(), 1 + i);
        }

        let mut seen = [false; 10];
        while let Some(res) = set.join_next().await.transpose().unwrap() {
            seen[res] = true;
        }

        for was_seen in &seen {
            assert!(was_seen);
        }
        assert!(set.join_next().await.is_none());

        // Do it again.
        for i in 0..10 {
            set.spawn(async move {
                weft::time::sleep(Duration::from_secs(i as u64)).await;
                i
            });
        }

        let mut seen = [false; 10];
        while let Some(res) = set.join_next().await.transpose().unwrap() {
            seen[res] = true;
        }

        for was_seen in &seen {
            assert!(was_seen);
        }
        assert!(set.join_next().await.is_none());
    });
}

#[test]
fn test_abort_on_drop() {
    run(async {
        let mut set = JoinSet::new();

        let mut recvs = Vec::new();

        for _ in 0..16 {
            let (send, recv) = oneshot::channel::<()>();
            recvs.push(recv);

            set.spawn(async {
                // This task will never complete on its own.
                futures_util::future::pending::<()>().await;
                drop(send);
            });
        }

        drop(set);

        for recv in recvs {
            // The task is aborted soon and we will receive an error.
            assert!(recv.await.is_err());
        }
    });
}

#[test]
fn alternating() {
    run(async {
        let mut set = JoinSet::new();

        assert_eq!(set.len(), 0);
        set.spawn(async {});
        assert_eq!(set.len(), 1);
        set.spawn(async {});
        assert_eq!(set.len(), 2);

        for _ in 0..16 {
            let () = set.join_next().await.unwrap().unwrap();
            assert_eq!(set.len(), 1);
            set.spawn(async {});
            assert_eq!(set.len(), 2);
        }
    });
}

#[test]
fn abort_tasks() {
    run_paused(async {
        let mut set = JoinSet::new();
        let mut num_canceled = 0;
        let mut num_completed = 0;
        for i in 0..16 {
            let abort = set.spawn(async move {
                weft::time::sleep(Duration::from_secs(i as u64)).await;
                i
            });

            if i % 2 != 0 {
                // abort odd-numbered tasks.
                abort.abort();
            }
        }
        loop {
            match set.join_next().await {
                Some(Ok(res)) => {
                    num_completed += 1;
                    assert_eq!(res % 2, 0);
                }
                Some(Err(e)) => {
                    assert!(e.is_cancelled());
                    num_canceled += 1;
                }
                None => break,
            }
        }

        assert_eq!(num_canceled, 8);
        assert_eq!(num_completed, 8);
    });
}

#[test]
fn runtime_gone() {
    within(30, || {
        let mut set = JoinSet::new();
        {
            let rt = rt();
            set.spawn_on(async { 1 }, rt.handle());
            drop(rt);
        }

        assert!(rt()
            .block_on(set.join_next())
            .unwrap()
            .unwrap_err()
            .is_cancelled());
    })
}

#[test]
fn join_all() {
    run(async {
        let mut set: JoinSet<i32> = JoinSet::new();

        for _ in 0..5 {
            set.spawn(async { 1 });
        }
        let res: Vec<i32> = set.join_all().await;

        assert_eq!(res.len(), 5);
        for itm in res.into_iter() {
            assert_eq!(itm, 1)
        }
    });
}

#[test]
fn task_panics() {
    run_paused(async {
        let mut set: JoinSet<()> = JoinSet::new();

        let (tx, mut rx) = oneshot::channel();
        assert_eq!(set.len(), 0);

        set.spawn(async move {
            weft::time::sleep(Duration::from_secs(2)).await;
            tx.send(()).unwrap();
        });
        assert_eq!(set.len(), 1);

        set.spawn(async {
            weft::time::sleep(Duration::from_secs(1)).await;
            panic!();
        });
        assert_eq!(set.len(), 2);

        let panic = weft::spawn(set.join_all()).await.unwrap_err();
        assert!(rx.try_recv().is_err());
        assert!(panic.is_panic());
    });
}

#[test]
fn abort_all() {
    run_paused(async {
        let mut set: JoinSet<()> = JoinSet::new();

        for _ in 0..5 {
            set.spawn(futures_util::future::pending());
        }
        for _ in 0..5 {
            set.spawn(async {
                weft::time::sleep(Duration::from_secs(1)).await;
            });
        }

        // The join set will now have 5 pending tasks and 5 ready tasks.
        weft::time::sleep(Duration::from_secs(2)).await;

        set.abort_all();
        assert_eq!(set.len(), 10);

        let mut count = 0;
        while let Some(res) = set.join_next().await {
            if let Err(err) = res {
                assert!(err.is_cancelled());
            }
            count += 1;
        }
        assert_eq!(count, 10);
        assert_eq!(set.len(), 0);
    });
}

// This ensures that `join_next` works correctly when the coop budget is
// exhausted.
#[test]
fn join_set_coop() {
    run(async {
        // Large enough to trigger coop.
        const TASK_NUM: u32 = 1000;

        static SEM: weft::sync::Semaphore = weft::sync::Semaphore::const_new(0);

        let mut set = JoinSet::new();

        for _ in 0..TASK_NUM {
            set.spawn(async {
                SEM.add_permits(1);
            });
        }

        // Wait for all tasks to complete.
        //
        // Since this is a `current_thread` runtime, there's no race condition
        // between the last permit being added and the task completing.
        let _ = SEM.acquire_many(TASK_NUM).await.unwrap();

        let mut count = 0;
        let mut coop_count = 0;
        loop {
            match set.join_next().now_or_never() {
                Some(Some(Ok(()))) => {}
                Some(Some(Err(err))) => panic!("failed: {err}"),
                None => {
                    coop_count += 1;
                    weft::task::yield_now().await;
                    continue;
                }
                Some(None) => break,
            }

            count += 1;
        }
        assert!(coop_count >= 1);
        assert_eq!(count, TASK_NUM);
    });
}

#[test]
fn try_join_next() {
    run(async {
        const TASK_NUM: u32 = 1000;

        let (send, recv) = weft::sync::watch::channel(());

        let mut set = JoinSet::new();

        for _ in 0..TASK_NUM {
            let mut recv = recv.clone();
            set.spawn(async move { recv.changed().await.unwrap() });
        }
        drop(recv);

        assert!(set.try_join_next().is_none());

        send.send_replace(());
        send.closed().await;

        let mut count = 0;
        loop {
            match set.try_join_next() {
                Some(Ok(())) => {
                    count += 1;
                }
                Some(Err(err)) => panic!("failed: {err}"),
                None => {
                    break;
                }
            }
        }

        assert_eq!(count, TASK_NUM);
    });
}

#[test]
fn try_join_next_with_id() {
    run(async {
        const TASK_NUM: u32 = 1000;

        let (send, recv) = weft::sync::watch::channel(());

        let mut set = JoinSet::new();
        let mut spawned = std::collections::HashSet::with_capacity(TASK_NUM as usize);

        for _ in 0..TASK_NUM {
            let mut recv = recv.clone();
            let handle = set.spawn(async move { recv.changed().await.unwrap() });

            spawned.insert(handle.id());
        }
        drop(recv);

        assert!(set.try_join_next_with_id().is_none());

        send.send_replace(());
        send.closed().await;

        let mut count = 0;
        let mut joined = std::collections::HashSet::with_capacity(TASK_NUM as usize);
        loop {
            match set.try_join_next_with_id() {
                Some(Ok((id, ()))) => {
                    count += 1;
                    joined.insert(id);
                }
                Some(Err(err)) => panic!("failed: {err}"),
                None => {
                    break;
                }
            }
        }

        assert_eq!(count, TASK_NUM);
        assert_eq!(joined, spawned);
    });
}

#[test]
fn extend() {
    run(async {
        let mut set: JoinSet<_> = (0..5).map(|i| async move { i }).collect();

        set.extend((5..10).map(|i| async move { i }));

        let mut seen = [false; 10];
        while let Some(res) = set.join_next().await {
            let idx = res.unwrap();
            seen[idx] = true;
        }

        for s in &seen {
            assert!(s);
        }
    });
}

// ===== weft's own =====

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
