//! The multi-thread scheduler: work stealing, cross-thread wakes, pinned
//! local tasks, block_in_place, hooks, metrics and shutdown.

mod common;

use std::collections::HashSet;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use common::{within, Signal};
use weft::runtime::{Builder, Runtime, RuntimeFlavor};

/// A task that counts milliseconds (runs until aborted), and its count.
fn ticker() -> (Arc<AtomicUsize>, weft::task::JoinHandle<()>) {
    let ticks = Arc::new(AtomicUsize::new(0));
    let task = {
        let ticks = Arc::clone(&ticks);
        weft::spawn(async move {
            loop {
                weft::time::sleep(Duration::from_millis(1)).await;
                ticks.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    (ticks, task)
}

fn rt(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .expect("runtime")
}

#[test]
fn runtime_new_is_multi_thread() {
    within(30, || {
        let rt = Runtime::new().unwrap();
        assert_eq!(rt.handle().runtime_flavor(), RuntimeFlavor::MultiThread);
        let workers = thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(rt.metrics().num_workers(), workers);
        // Tasks run on worker threads, not on the thread in block_on.
        let me = thread::current().id();
        let ran_on = rt.block_on(async { weft::spawn(async { thread::current().id() }).await });
        assert_ne!(ran_on.unwrap(), me);
    });
}

#[test]
fn a_million_tiny_tasks_from_a_thousand_spawners_all_complete() {
    within(120, || {
        let rt = rt(2);
        let done = Arc::new(AtomicUsize::new(0));
        let spawners: Vec<_> = (0..1_000)
            .map(|_| {
                let done = Arc::clone(&done);
                rt.spawn(async move {
                    let tasks: Vec<_> = (0..1_000)
                        .map(|_| {
                            let done = Arc::clone(&done);
                            weft::spawn(async move {
                                done.fetch_add(1, Ordering::Relaxed);
                            })
                        })
                        .collect();
                    for task in tasks {
                        task.await.unwrap();
                    }
                })
            })
            .collect();
        rt.block_on(async {
            for spawner in spawners {
                spawner.await.unwrap();
            }
        });
        assert_eq!(done.load(Ordering::Relaxed), 1_000_000);
        assert_eq!(rt.metrics().num_alive_tasks(), 0);
    });
}

#[test]
fn a_task_woken_from_a_foreign_thread_runs() {
    within(30, || {
        let rt = rt(2);
        let signal = Arc::new(Signal::default());
        let task = {
            let signal = Arc::clone(&signal);
            rt.spawn(async move {
                signal.wait().await;
                "woken"
            })
        };
        let setter = {
            let signal = Arc::clone(&signal);
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(20));
                signal.set();
            })
        };
        assert_eq!(rt.block_on(task).unwrap(), "woken");
        setter.join().unwrap();
    });
}

#[test]
fn idle_workers_steal_from_a_busy_one() {
    within(60, || {
        let rt = rt(3);
        let threads = Arc::new(Mutex::new(HashSet::new()));
        let spawner_thread = rt.block_on({
            let threads = Arc::clone(&threads);
            async move {
                weft::spawn(async move {
                    // Every task lands on this worker's queue; the worker
                    // then blocks, so only other workers can run them, and
                    // only by stealing.
                    let tasks: Vec<_> = (0..100)
                        .map(|_| {
                            let threads = Arc::clone(&threads);
                            weft::spawn(async move {
                                threads.lock().unwrap().insert(thread::current().id());
                            })
                        })
                        .collect();
                    // Blocked until another worker has run one of them:
                    // only a steal can make that happen.
                    let me = thread::current().id();
                    while !threads.lock().unwrap().iter().any(|t| *t != me) {
                        thread::sleep(Duration::from_millis(1));
                    }
                    for task in tasks {
                        task.await.unwrap();
                    }
                    me
                })
                .await
                .unwrap()
            }
        });
        let metrics = rt.metrics();
        let steals: u64 = (0..metrics.num_workers())
            .map(|w| metrics.worker_steal_count(w).unwrap())
            .sum();
        assert!(steals > 0, "no steals recorded");
        let threads = threads.lock().unwrap();
        assert!(
            threads.iter().any(|t| *t != spawner_thread),
            "every task ran on the spawning worker"
        );
    });
}

#[test]
fn local_tasks_always_run_on_their_owner_thread() {
    within(60, || {
        let rt = rt(2);
        let rounds = rt.block_on(async {
            weft::spawn(async {
                let owner = thread::current().id();
                let (tx, rx) = async_channel::unbounded::<u32>();
                let local = {
                    weft::task::spawn_local(async move {
                        // `Rc`: the task is `!Send`, which only `spawn_local`
                        // allows.
                        let seen = Rc::new(std::cell::Cell::new(0u32));
                        while let Ok(n) = rx.recv().await {
                            assert_eq!(thread::current().id(), owner, "round {n}");
                            seen.set(seen.get() + 1);
                        }
                        seen.get()
                    })
                };
                // Woken from a foreign thread, round after round.
                let feeder = thread::spawn(move || {
                    for n in 0..200 {
                        tx.send_blocking(n).unwrap();
                        if n % 20 == 0 {
                            thread::sleep(Duration::from_millis(1));
                        }
                    }
                });
                let rounds = local.await.unwrap();
                feeder.join().unwrap();
                rounds
            })
            .await
            .unwrap()
        });
        assert_eq!(rounds, 200);
    });
}

#[test]
fn local_tasks_woken_by_other_workers_go_home() {
    within(60, || {
        let rt = rt(3);
        rt.block_on(async {
            weft::spawn(async {
                let owner = thread::current().id();
                let (tx, rx) = async_channel::unbounded::<ThreadId>();
                let local = weft::task::spawn_local(async move {
                    let mut foreign = 0;
                    while let Ok(sender) = rx.recv().await {
                        assert_eq!(thread::current().id(), owner);
                        foreign += usize::from(sender != owner);
                    }
                    foreign
                });
                // Senders are ordinary tasks; this worker now stays busy
                // until all 50 have sent, so other workers steal and run
                // them, and every wake of `local` comes from elsewhere.
                let sent = Arc::new(AtomicUsize::new(0));
                for _ in 0..50 {
                    let (tx, sent) = (tx.clone(), Arc::clone(&sent));
                    weft::spawn(async move {
                        tx.send(thread::current().id()).await.unwrap();
                        sent.fetch_add(1, Ordering::SeqCst);
                    });
                }
                drop(tx);
                // The last task spawned sits in this worker's LIFO slot,
                // which others cannot steal (as in tokio): push one more so
                // that it is the last sender that goes to the ring.
                weft::spawn(async {});
                while sent.load(Ordering::SeqCst) < 50 {
                    thread::yield_now();
                }
                assert_eq!(
                    local.await.unwrap(),
                    50,
                    "every sender ran on another worker"
                );
            })
            .await
            .unwrap();
        });
    });
}

#[test]
fn ping_pong_between_workers_loses_no_wake_up() {
    // 10,000 exchanges in order (asserted each round); a lost wake-up
    // would stall it, and `within` turns a stall into a failure.
    within(60, || {
        let rt = rt(2);
        rt.block_on(async {
            let (to_b, from_a) = async_channel::bounded::<u32>(1);
            let (to_a, from_b) = async_channel::bounded::<u32>(1);
            let a = weft::spawn(async move {
                for round in 0..10_000 {
                    to_b.send(round).await.unwrap();
                    assert_eq!(from_b.recv().await.unwrap(), round);
                }
            });
            let b = weft::spawn(async move {
                while let Ok(round) = from_a.recv().await {
                    to_a.send(round).await.unwrap();
                }
            });
            a.await.unwrap();
            b.await.unwrap();
        });
    });
}

#[test]
fn ping_pong_with_the_block_on_thread() {
    within(60, || {
        let rt = rt(2);
        rt.block_on(async {
            let (to_task, from_main) = async_channel::bounded::<u32>(1);
            let (to_main, from_task) = async_channel::bounded::<u32>(1);
            let echo = weft::spawn(async move {
                while let Ok(n) = from_main.recv().await {
                    to_main.send(n + 1).await.unwrap();
                }
            });
            for n in 0..5_000 {
                to_task.send(n).await.unwrap();
                assert_eq!(from_task.recv().await.unwrap(), n + 1);
            }
            drop(to_task);
            echo.await.unwrap();
        });
    });
}

#[test]
fn block_on_sees_every_wake_whether_spinning_or_parked() {
    // `block_on` spins briefly for a wake while a worker is awake, parks
    // otherwise, and backs off spinning after misses: replies that come at
    // once (mostly caught while spinning), late (after a sleep: mostly
    // parked), and from a thread outside the runtime must each be seen,
    // whichever way the thread waited. A lost wake stalls the loop; `within`
    // fails it.
    within(60, || {
        let rt = rt(2);
        rt.block_on(async {
            for n in 0..3_000u32 {
                let (tx, rx) = weft::sync::oneshot::channel();
                match n % 3 {
                    0 => drop(weft::spawn(async move { tx.send(n).unwrap() })),
                    1 if n % 60 == 1 => drop(weft::spawn(async move {
                        weft::time::sleep(Duration::from_millis(1)).await;
                        tx.send(n).unwrap();
                    })),
                    1 => drop(weft::spawn(async move {
                        weft::task::yield_now().await;
                        tx.send(n).unwrap();
                    })),
                    _ => drop(thread::spawn(move || tx.send(n).unwrap())),
                }
                assert_eq!(rx.await.unwrap(), n);
            }
        });
    });
}

#[test]
fn spawn_local_outside_a_worker_panics_with_a_reason() {
    within(30, || {
        let rt = rt(1);
        let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async {
                weft::task::spawn_local(async {});
            })
        }))
        .unwrap_err();
        let message = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("spawn_local"), "{message}");
        assert!(message.contains("runs no tasks"), "{message}");
    });
}

#[test]
fn panics_and_aborts_surface_through_join_handles() {
    within(30, || {
        let rt = rt(2);
        rt.block_on(async {
            let err = weft::spawn(async { panic!("boom") }).await.unwrap_err();
            assert!(err.is_panic());
            let sleeper = weft::spawn(weft::time::sleep(Duration::from_secs(3600)));
            weft::time::sleep(Duration::from_millis(5)).await;
            sleeper.abort();
            assert!(sleeper.await.unwrap_err().is_cancelled());
        });
    });
}

#[test]
fn block_in_place_keeps_the_other_tasks_running() {
    within(60, || {
        let rt = rt(1);
        rt.block_on(async {
            let (ticks, ticker) = ticker();
            let blocker = {
                let ticks = Arc::clone(&ticks);
                weft::spawn(async move {
                    let me = thread::current().id();
                    // With one worker, the ticker can only tick while this
                    // task blocks if a stand-in runs the worker's queue.
                    let seen = weft::task::block_in_place(|| {
                        let start = ticks.load(Ordering::Relaxed);
                        while ticks.load(Ordering::Relaxed) < start + 5 {
                            thread::sleep(Duration::from_millis(1));
                        }
                        ticks.load(Ordering::Relaxed) - start
                    });
                    // Back on the same thread, with the worker's queue.
                    assert_eq!(thread::current().id(), me);
                    weft::task::yield_now().await;
                    seen
                })
            };
            assert!(blocker.await.unwrap() >= 5);
            ticker.abort();
        });
        assert_eq!(rt.metrics().num_blocking_threads(), 0);
    });
}

#[test]
fn block_in_place_on_current_thread_panics_with_a_reason() {
    within(30, || {
        let rt = common::rt();
        let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async { weft::task::block_in_place(|| 1) })
        }))
        .unwrap_err();
        let message = err.downcast_ref::<&str>().copied().unwrap_or_default();
        assert!(message.contains("current-thread"), "{message}");
        // Outside any runtime it just runs.
        assert_eq!(weft::task::block_in_place(|| 7), 7);
    });
}

#[test]
fn dropping_the_runtime_drops_every_pending_future_once() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    within(30, || {
        let rt = rt(2);
        let drops = Arc::new(AtomicUsize::new(0));
        let local_drops = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            for _ in 0..50 {
                let guard = Counted(Arc::clone(&drops));
                weft::spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                });
                let guard = Counted(Arc::clone(&drops));
                weft::spawn(async move {
                    let _guard = guard;
                    weft::time::sleep(Duration::from_secs(3600)).await;
                });
            }
            let local_drops = Arc::clone(&local_drops);
            weft::spawn(async move {
                let guard = Counted(local_drops);
                weft::task::spawn_local(async move {
                    let _guard = guard;
                    let _not_send = Rc::new(());
                    std::future::pending::<()>().await;
                });
            })
            .await
            .unwrap();
            weft::time::sleep(Duration::from_millis(10)).await;
        });
        assert_eq!(rt.metrics().num_alive_tasks(), 101);
        drop(rt);
        assert_eq!(drops.load(Ordering::SeqCst), 100);
        assert_eq!(local_drops.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn dropping_a_runtime_inside_a_task_panics_instead_of_deadlocking() {
    within(30, || {
        let outer = rt(1);
        let result = outer.block_on(async {
            weft::spawn(async {
                let inner = rt(1);
                drop(inner);
            })
            .await
        });
        let err = result.unwrap_err();
        let message = err.into_panic();
        let message = message.downcast_ref::<&str>().copied().unwrap_or_default();
        assert!(message.contains("asynchronous context"), "{message}");
        // shutdown_background is the way to do it there.
        outer.block_on(async {
            weft::spawn(async { rt(1).shutdown_background() })
                .await
                .unwrap();
        });
    });
}

#[test]
fn shutdown_timeout_returns_while_a_task_is_stuck() {
    within(30, || {
        let rt = rt(2);
        let release = Arc::new(AtomicBool::new(false));
        let started = Arc::new(Signal::default());
        {
            let release = Arc::clone(&release);
            let started = Arc::clone(&started);
            rt.spawn(async move {
                started.set();
                // A task that blocks its worker until released.
                while !release.load(Ordering::SeqCst) {
                    thread::sleep(Duration::from_millis(1));
                }
            });
        }
        rt.block_on(started.wait());
        rt.shutdown_timeout(Duration::from_millis(50));
        release.store(true, Ordering::SeqCst);
    });
}

#[test]
fn hooks_and_thread_names() {
    within(30, || {
        let starts = Arc::new(AtomicUsize::new(0));
        let stops = Arc::new(AtomicUsize::new(0));
        let parks = Arc::new(AtomicUsize::new(0));
        let unparks = Arc::new(AtomicUsize::new(0));
        let counter = |c: &Arc<AtomicUsize>| {
            let c = Arc::clone(c);
            move || {
                c.fetch_add(1, Ordering::SeqCst);
            }
        };
        let rt = Builder::new_multi_thread()
            .worker_threads(3)
            .thread_name("hooked")
            .on_thread_start(counter(&starts))
            .on_thread_stop(counter(&stops))
            .on_thread_park(counter(&parks))
            .on_thread_unpark(counter(&unparks))
            .build()
            .unwrap();
        let name = rt.block_on(async {
            weft::time::sleep(Duration::from_millis(5)).await;
            weft::spawn(async { thread::current().name().map(str::to_owned) })
                .await
                .unwrap()
        });
        assert_eq!(name.as_deref(), Some("hooked"));
        drop(rt);
        assert_eq!(starts.load(Ordering::SeqCst), 3);
        assert_eq!(stops.load(Ordering::SeqCst), 3);
        assert!(parks.load(Ordering::SeqCst) >= 1);
        assert!(unparks.load(Ordering::SeqCst) >= 1);
    });
}

#[test]
fn timers_and_sockets_work_across_workers() {
    use weft::io::{AsyncReadExt, AsyncWriteExt};
    within(60, || {
        let rt = rt(2);
        rt.block_on(async {
            let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = weft::spawn(async move {
                let mut conns = Vec::new();
                for _ in 0..50 {
                    let (mut stream, _) = listener.accept().await.unwrap();
                    conns.push(weft::spawn(async move {
                        let mut buf = [0u8; 1024];
                        loop {
                            let n = stream.read(&mut buf).await.unwrap();
                            if n == 0 {
                                break;
                            }
                            stream.write_all(&buf[..n]).await.unwrap();
                        }
                    }));
                }
                for conn in conns {
                    conn.await.unwrap();
                }
            });
            let clients: Vec<_> = (0..50u32)
                .map(|i| {
                    weft::spawn(async move {
                        let mut stream = weft::net::TcpStream::connect(addr).await.unwrap();
                        for round in 0..20u32 {
                            let message = format!("{i}:{round}");
                            stream.write_all(message.as_bytes()).await.unwrap();
                            let mut back = vec![0u8; message.len()];
                            stream.read_exact(&mut back).await.unwrap();
                            assert_eq!(back, message.as_bytes());
                            if round % 5 == 0 {
                                weft::time::sleep(Duration::from_millis(1)).await;
                            }
                        }
                    })
                })
                .collect();
            for client in clients {
                client.await.unwrap();
            }
            server.await.unwrap();
        });
    });
}

#[test]
fn a_self_waking_task_does_not_starve_timers_or_others_on_one_worker() {
    within(30, || {
        let rt = rt(1);
        rt.block_on(async {
            let spinning = Arc::new(AtomicBool::new(true));
            let spinner = {
                let spinning = Arc::clone(&spinning);
                weft::spawn(async move {
                    while spinning.load(Ordering::Relaxed) {
                        weft::task::yield_now().await;
                    }
                })
            };
            weft::spawn(async { weft::time::sleep(Duration::from_millis(5)).await })
                .await
                .unwrap();
            spinning.store(false, Ordering::Relaxed);
            spinner.await.unwrap();
        });
    });
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_macro_builds_a_multi_thread_runtime() {
    let handle = weft::runtime::Handle::current();
    assert_eq!(handle.runtime_flavor(), RuntimeFlavor::MultiThread);
    assert_eq!(handle.metrics().num_workers(), 2);
}

#[test]
fn a_stand_in_blocking_on_the_home_thread_does_not_deadlock() {
    within(30, || {
        let rt = rt(1);
        rt.block_on(async {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let b_blocking = Arc::new(AtomicBool::new(false));
            // A runs first, on the only worker, and blocks until B blocks.
            let a = {
                let b_blocking = Arc::clone(&b_blocking);
                weft::spawn(async move {
                    weft::task::block_in_place(|| {
                        while !b_blocking.load(Ordering::SeqCst) {
                            thread::sleep(Duration::from_millis(1));
                        }
                    });
                    // Only now can B's blocking call return.
                    tx.send(()).unwrap();
                })
            };
            // B runs on the stand-in and blocks until A sends.
            let b = weft::spawn(async move {
                b_blocking.store(true, Ordering::SeqCst);
                weft::task::block_in_place(|| rx.recv().unwrap());
            });
            a.await.unwrap();
            b.await.unwrap();
        });
    });
}

#[test]
fn a_task_spawned_by_the_park_hook_runs() {
    within(30, || {
        let spawned = Arc::new(AtomicBool::new(false));
        let ran = Arc::new(Signal::default());
        let rt = {
            let spawned = Arc::clone(&spawned);
            let ran = Arc::clone(&ran);
            Builder::new_multi_thread()
                .worker_threads(1)
                .on_thread_park(move || {
                    if !spawned.swap(true, Ordering::SeqCst) {
                        let ran = Arc::clone(&ran);
                        weft::spawn(async move { ran.set() });
                    }
                })
                .build()
                .unwrap()
        };
        rt.block_on(ran.wait());
    });
}

#[test]
fn a_panicking_hook_is_reported_and_the_runtime_carries_on() {
    within(30, || {
        let panicked = Arc::new(AtomicBool::new(false));
        let rt = Builder::new_multi_thread()
            .worker_threads(2)
            .on_thread_park(move || {
                // Once, to keep the test's output short.
                if !panicked.swap(true, Ordering::SeqCst) {
                    panic!("hook bug");
                }
            })
            .build()
            .unwrap();
        let sum = rt.block_on(async {
            let mut sum = 0;
            for i in 0..20 {
                weft::time::sleep(Duration::from_millis(1)).await;
                sum += weft::spawn(async move { i }).await.unwrap();
            }
            sum
        });
        assert_eq!(sum, 190);
    });
}

#[test]
fn ping_pong_between_tasks_pinned_to_two_different_workers() {
    within(60, || {
        let rt = rt(2);
        let (ping_thread, pong_thread) = rt.block_on(async {
            let (to_pong, from_ping) = async_channel::bounded::<u32>(1);
            let (to_ping, from_pong) = async_channel::bounded::<u32>(1);
            let (pong_placed_tx, pong_placed) = async_channel::bounded::<ThreadId>(1);
            weft::spawn(async move {
                let home = thread::current().id();
                // Probes that only the other worker can run: this worker
                // blocks until one of them has pinned the pong side there.
                let claimed = Arc::new(AtomicBool::new(false));
                for _ in 0..16 {
                    let from_ping = from_ping.clone();
                    let to_ping = to_ping.clone();
                    let placed = pong_placed_tx.clone();
                    let claimed = Arc::clone(&claimed);
                    weft::spawn(async move {
                        let here = thread::current().id();
                        if here == home || claimed.swap(true, Ordering::SeqCst) {
                            return;
                        }
                        placed.try_send(here).unwrap();
                        weft::task::spawn_local(async move {
                            while let Ok(n) = from_ping.recv().await {
                                assert_eq!(thread::current().id(), here);
                                to_ping.send(n + 1).await.unwrap();
                            }
                        });
                    });
                }
                while pong_placed_tx.is_empty() {
                    thread::sleep(Duration::from_millis(1));
                }
                let pong = pong_placed.recv().await.unwrap();
                let ping = weft::task::spawn_local(async move {
                    for n in 0..10_000u32 {
                        to_pong.send(n).await.unwrap();
                        assert_eq!(from_pong.recv().await.unwrap(), n + 1);
                        assert_eq!(thread::current().id(), home);
                    }
                });
                ping.await.unwrap();
                (home, pong)
            })
            .await
            .unwrap()
        });
        assert_ne!(ping_thread, pong_thread, "the two sides share a worker");
    });
}

#[test]
fn block_on_inside_a_worker_or_a_block_on_panics_with_a_reason() {
    within(30, || {
        let rt = rt(2);
        let handle = rt.handle().clone();
        let err = rt
            .block_on(async move { weft::spawn(async move { handle.block_on(async {}) }).await })
            .unwrap_err();
        let payload = err.into_panic();
        let message = payload.downcast_ref::<&str>().copied().unwrap_or_default();
        assert!(
            message.contains("cannot block_on inside a runtime"),
            "{message}"
        );
        // The thread waiting in a multi-thread block_on may not block again
        // either, on any runtime.
        let other = common::rt();
        let nested = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async { other.block_on(async {}) })
        }));
        assert!(nested.is_err());
    });
}

#[test]
fn block_in_place_twice_in_one_poll_keeps_the_queue_running_both_times() {
    within(60, || {
        let rt = rt(1);
        rt.block_on(async {
            let (ticks, ticker) = ticker();
            let wait_for_ticks = |ticks: &AtomicUsize| {
                let start = ticks.load(Ordering::Relaxed);
                while ticks.load(Ordering::Relaxed) < start + 3 {
                    thread::sleep(Duration::from_millis(1));
                }
            };
            let blocker = {
                let ticks = Arc::clone(&ticks);
                weft::spawn(async move {
                    // With one worker, each wait ends only if a stand-in
                    // runs the worker's queue meanwhile.
                    weft::task::block_in_place(|| wait_for_ticks(&ticks));
                    weft::task::block_in_place(|| wait_for_ticks(&ticks));
                })
            };
            blocker.await.unwrap();
            ticker.abort();
        });
    });
}

#[test]
fn a_local_future_whose_drop_blocks_in_place_is_dropped_at_shutdown() {
    struct BlockingDrop(Arc<AtomicUsize>);
    impl Drop for BlockingDrop {
        fn drop(&mut self) {
            weft::task::block_in_place(|| thread::sleep(Duration::from_millis(1)));
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    within(30, || {
        let rt = rt(2);
        let drops = Arc::new(AtomicUsize::new(0));
        rt.block_on({
            let drops = Arc::clone(&drops);
            async move {
                weft::spawn(async move {
                    for _ in 0..4 {
                        let guard = BlockingDrop(Arc::clone(&drops));
                        weft::task::spawn_local(async move {
                            let _guard = guard;
                            std::future::pending::<()>().await;
                        });
                        let guard = BlockingDrop(Arc::clone(&drops));
                        weft::spawn(async move {
                            let _guard = guard;
                            std::future::pending::<()>().await;
                        });
                    }
                })
                .await
                .unwrap();
                weft::time::sleep(Duration::from_millis(5)).await;
            }
        });
        drop(rt);
        assert_eq!(drops.load(Ordering::SeqCst), 8, "every future dropped once");
    });
}

#[test]
fn block_on_inside_block_in_place_is_allowed() {
    within(30, || {
        let rt = rt(2);
        let answer = rt.block_on(async {
            weft::spawn(async {
                let task = weft::spawn(async { 21 * 2 });
                weft::task::block_in_place(|| weft::runtime::Handle::current().block_on(task))
                    .unwrap()
            })
            .await
            .unwrap()
        });
        assert_eq!(answer, 42);
    });
}

#[test]
fn a_current_thread_runtime_dropped_inside_a_task_panics_without_waiting_on_the_pool() {
    within(30, || {
        rt(1).block_on(async {
            weft::spawn(async {
                let inner = common::rt();
                let handle = inner.handle().clone();
                let release = Arc::new(AtomicBool::new(false));
                let job = {
                    let release = Arc::clone(&release);
                    inner.spawn_blocking(move || {
                        while !release.load(Ordering::SeqCst) {
                            thread::sleep(Duration::from_millis(1));
                        }
                    })
                };
                drop(handle);
                // Panics (tokio's message) at once, without waiting for the
                // running job, which is left to finish: it is released only
                // after the drop returned.
                let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    drop(inner);
                }));
                let err = dropped.expect_err("dropping a runtime inside a task panics");
                let message = err.downcast_ref::<&str>().copied().unwrap_or_default();
                assert!(message.contains("Cannot drop a runtime"), "{message}");
                release.store(true, Ordering::SeqCst);
                drop(job);
            })
            .await
            .unwrap();
        });
    });
}

#[test]
fn a_spawn_from_outside_while_the_only_worker_goes_to_sleep_is_not_lost() {
    // One worker, and each task spawned from this (non-worker) thread just
    // as the worker finished the previous one: the spawn lands in the
    // global queue while the worker is between "queues empty" and
    // "parked". A lost wake leaves the task queued with nobody to run it
    // (nothing else would ever wake this runtime), and `recv_timeout`
    // fails. Each round waits up to 10 s; a round normally takes
    // microseconds.
    within(120, || {
        let rt = rt(1);
        let (tx, rx) = std::sync::mpsc::channel();
        for round in 0..20_000u32 {
            let tx = tx.clone();
            rt.spawn(async move {
                tx.send(round).unwrap();
            });
            assert_eq!(
                rx.recv_timeout(Duration::from_secs(10)),
                Ok(round),
                "the task spawned in round {round} never ran: its wake-up was lost"
            );
        }
    });
}

#[test]
fn dropping_the_runtime_while_a_task_blocks_in_place_on_it_does_not_hang() {
    // A task inside `block_in_place` waits, through `Handle::block_on`, for
    // a task that never finishes (or an hour-long sleep). Dropping the
    // runtime must cancel that task (its JoinHandle then resolves; the
    // timer completes), so the blocked thread returns and the drop
    // completes. It hung: the stand-in running the worker's core gave it
    // back to the home thread, which was inside `block_in_place`, so
    // shutdown never got every core and never cancelled anything.
    within(120, || {
        for round in 0..10 {
            let rt = rt(2);
            let (inside_tx, inside) = std::sync::mpsc::channel();
            rt.spawn(async move {
                let pending = weft::spawn(std::future::pending::<()>());
                weft::task::block_in_place(|| {
                    inside_tx.send(()).unwrap();
                    let handle = weft::runtime::Handle::current();
                    if round % 2 == 0 {
                        let result = handle.block_on(pending);
                        assert!(result.unwrap_err().is_cancelled());
                    } else {
                        // A timer completes at once when its runtime ends.
                        handle.block_on(weft::time::sleep(Duration::from_secs(3600)));
                    }
                });
            });
            inside.recv_timeout(Duration::from_secs(10)).unwrap();
            let (done_tx, done) = std::sync::mpsc::channel();
            thread::spawn(move || {
                drop(rt);
                done_tx.send(()).unwrap();
            });
            done.recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("round {round}: dropping the runtime hung"));
        }
    });
}

#[test]
fn dropping_the_runtime_inside_block_in_place_does_not_wait_for_its_own_thread() {
    // Inside `block_in_place` blocking is allowed, so dropping the runtime
    // there waits for its threads; the calling thread is one of them and
    // must not be waited for (it exits once its poll ends).
    within(60, || {
        let runtime = Arc::new(Mutex::new(Some(rt(2))));
        let (done_tx, done) = std::sync::mpsc::channel();
        let inner = Arc::clone(&runtime);
        runtime.lock().unwrap().as_ref().unwrap().spawn(async move {
            weft::task::block_in_place(|| {
                let taken = inner.lock().unwrap().take().unwrap();
                drop(taken);
                done_tx.send(()).unwrap();
            });
        });
        done.recv_timeout(Duration::from_secs(20))
            .expect("dropping the runtime inside block_in_place returned");
    });
}

#[test]
fn dropping_a_current_thread_runtime_inside_block_on_panics_with_tokio_s_message() {
    // tokio's `useful_panic_message_when_dropping_rt_in_rt`.
    within(30, || {
        let outer = rt(1);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            outer.block_on(async {
                let _ = weft::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
            });
        }));
        let err = result.unwrap_err();
        let err: &'static str = err.downcast_ref::<&'static str>().unwrap();
        assert!(err.contains("Cannot drop a runtime"), "{err:?}");
        // shutdown_timeout(0) and shutdown_background are allowed there.
        outer.block_on(async {
            let rt = weft::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.shutdown_timeout(Duration::from_nanos(0));
            weft::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .shutdown_background();
        });
    });
}

#[test]
fn block_in_place_on_the_block_on_thread_can_run_a_current_thread_runtime() {
    // tokio's `can_enter_current_thread_rt_from_within_block_in_place`.
    within(30, || {
        let outer = rt(2);
        let answer = outer.block_on(async {
            weft::task::block_in_place(|| {
                let inner = weft::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                let answer = inner.block_on(async { weft::spawn(async { 6 * 7 }).await.unwrap() });
                // Dropping it here is allowed too: this thread may block.
                drop(inner);
                answer
            })
        });
        assert_eq!(answer, 42);
        // Outside `f`, the `block_on` thread still refuses a nested block_on.
        let nested = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            outer.block_on(async {
                weft::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap()
                    .block_on(async {})
            })
        }));
        assert!(nested.is_err());
    });
}

#[test]
fn block_in_place_runs_its_closure_outside_the_task_s_budget() {
    // tokio's `coop_disabled_in_block_in_place`: a closure that drives
    // budgeted futures itself must not run out of its task's budget.
    within(30, || {
        let outer = rt(2);
        let got = outer.block_on(async {
            weft::spawn(async {
                let (a, b) = weft::net::UnixDatagram::pair().unwrap();
                for _ in 0..201 {
                    a.send(b"x").await.unwrap();
                }
                // One receive through the driver: `b` is now known readable.
                let mut first = [0u8; 4];
                b.recv(&mut first).await.unwrap();
                weft::task::block_in_place(move || {
                    futures_util::future::FutureExt::now_or_never(async {
                        let mut buf = [0u8; 4];
                        let mut got = 0;
                        for _ in 0..200 {
                            b.recv(&mut buf).await.unwrap();
                            got += 1;
                        }
                        got
                    })
                })
            })
            .await
            .unwrap()
        });
        assert_eq!(got, Some(200), "the closure ran out of its task's budget");
    });
}

// Runtime builder and handle items tokio code uses: the `enable_*` no-ops,
// `max_io_events_per_tick`, `name`, `Handle::id`/`name`, `is_rt_shutdown_err`.

#[test]
fn enable_all_io_and_time_are_accepted_and_change_nothing() {
    within(20, || {
        for mut builder in [Builder::new_current_thread(), Builder::new_multi_thread()] {
            let rt = builder
                .worker_threads(2)
                .enable_all()
                .enable_io()
                .enable_time()
                .build()
                .unwrap();
            rt.block_on(async {
                weft::time::sleep(Duration::from_millis(1)).await;
                let (mut a, mut b) = common::pair().await;
                use weft::io::{AsyncReadExt, AsyncWriteExt};
                a.write_all(b"x").await.unwrap();
                let mut byte = [0u8];
                b.read_exact(&mut byte).await.unwrap();
                assert_eq!(&byte, b"x");
            });
        }
    });
}

#[test]
fn one_io_event_per_tick_still_serves_every_socket() {
    use weft::io::{AsyncReadExt, AsyncWriteExt};
    within(30, || {
        for mut builder in [Builder::new_current_thread(), Builder::new_multi_thread()] {
            let rt = builder
                .worker_threads(2)
                .max_io_events_per_tick(1)
                .build()
                .unwrap();
            rt.block_on(async {
                let mut pairs = Vec::new();
                for _ in 0..16 {
                    pairs.push(common::pair().await);
                }
                // Every socket becomes readable in the same driver turn; one
                // event per `epoll_wait` must still reach them all.
                for (i, (client, _)) in pairs.iter_mut().enumerate() {
                    client.write_all(&[i as u8]).await.unwrap();
                }
                let readers: Vec<_> = pairs
                    .into_iter()
                    .map(|(client, mut server)| {
                        weft::spawn(async move {
                            let mut byte = [0u8];
                            server.read_exact(&mut byte).await.unwrap();
                            drop(client);
                            byte[0]
                        })
                    })
                    .collect();
                for (i, reader) in readers.into_iter().enumerate() {
                    assert_eq!(reader.await.unwrap(), i as u8);
                }
            });
        }
    });
}

#[test]
fn zero_io_events_per_tick_and_empty_names_are_errors_naming_them() {
    let err = Builder::new_current_thread()
        .max_io_events_per_tick(0)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("max_io_events_per_tick"), "{err}");
    for name in ["", "  "] {
        let err = Builder::new_multi_thread()
            .worker_threads(1)
            .name(name)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("name"), "{err}");
    }
}

#[test]
fn handles_report_their_runtime_s_id_and_name() {
    within(20, || {
        let named = Builder::new_multi_thread()
            .worker_threads(2)
            .name("ingest")
            .build()
            .unwrap();
        let plain = Builder::new_current_thread().build().unwrap();
        assert_eq!(named.handle().name(), Some("ingest"));
        assert_eq!(plain.handle().name(), None);
        let (named_id, plain_id) = (named.handle().id(), plain.handle().id());
        assert_ne!(named_id, plain_id);
        let ids: HashSet<weft::runtime::Id> = [named_id, plain_id, named_id].into();
        assert_eq!(ids.len(), 2);
        assert!(named_id.to_string().parse::<u64>().is_ok());
        assert!(format!("{named_id:?}").starts_with("Id("));
        // Every handle to a runtime, from anywhere, gives the same answers.
        let (id, name) = named.block_on(async {
            weft::spawn(async {
                let handle = weft::runtime::Handle::current();
                (handle.id(), handle.name().map(str::to_owned))
            })
            .await
            .unwrap()
        });
        assert_eq!((id, name.as_deref()), (named_id, Some("ingest")));
        let copy = named.handle().clone();
        assert_eq!(thread::spawn(move || copy.id()).join().unwrap(), named_id);
        let id: weft::runtime::Id = plain_id; // Copy
        assert_eq!(id, plain.handle().id());
    });
}

#[test]
fn io_after_its_runtime_shut_down_fails_with_an_error_is_rt_shutdown_err_recognises() {
    use weft::io::AsyncReadExt;
    use weft::runtime::is_rt_shutdown_err;
    within(20, || {
        let first = Builder::new_current_thread().build().unwrap();
        let (listener, mut stream) = first.block_on(async {
            let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let (client, _server) = common::pair().await;
            (listener, client)
        });
        drop(first);
        let second = Builder::new_current_thread().build().unwrap();
        second.block_on(async {
            let err = listener.accept().await.unwrap_err();
            assert!(is_rt_shutdown_err(&err), "{err:?}");
            let err = stream.read(&mut [0u8; 8]).await.unwrap_err();
            assert!(is_rt_shutdown_err(&err), "{err:?}");
        });
        // Errors that are not weft's runtime shutdown are not mistaken for it.
        let text =
            std::io::Error::other("the weft runtime that drives this I/O resource has shut down");
        assert!(!is_rt_shutdown_err(&text));
        assert!(!is_rt_shutdown_err(&std::io::ErrorKind::Other.into()));
        assert!(!is_rt_shutdown_err(&std::io::ErrorKind::BrokenPipe.into()));
    });
}

#[test]
fn handles_and_runtimes_are_unwind_safe_as_tokio_s() {
    fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    unwind_safe::<weft::runtime::Runtime>();
    unwind_safe::<weft::runtime::Handle>();
    unwind_safe::<weft::runtime::Id>();
}

#[test]
fn worker_park_unpark_count_and_busy_duration_as_tokio_s() {
    within(30, || {
        let rt = rt(1);
        let metrics = rt.metrics();
        assert_eq!(metrics.worker_park_unpark_count(1), None);
        assert_eq!(metrics.worker_total_busy_duration(1), None);
        let wait_parked = || {
            // Odd while the worker sleeps; it goes to sleep once idle.
            while metrics.worker_park_unpark_count(0).unwrap() % 2 == 0 {
                thread::sleep(Duration::from_millis(1));
            }
        };
        wait_parked();
        let (parks, busy) = (
            metrics.worker_park_unpark_count(0).unwrap(),
            metrics.worker_total_busy_duration(0).unwrap(),
        );
        let spin = Duration::from_millis(20);
        rt.block_on(async move {
            weft::spawn(async move {
                let start = std::time::Instant::now();
                while start.elapsed() < spin {
                    std::hint::spin_loop();
                }
            })
            .await
            .unwrap();
        });
        wait_parked();
        // It woke for the task and slept again: at least one unpark and
        // one park, and the spin counted as busy time.
        assert!(metrics.worker_park_unpark_count(0).unwrap() >= parks + 2);
        let spent = metrics.worker_total_busy_duration(0).unwrap() - busy;
        assert!(spent >= spin, "busy for {spent:?}, spun {spin:?}");
    });
}

#[test]
fn nested_block_in_place_keeps_the_worker_s_queue_running() {
    // An inner `block_in_place` inside an outer one's closure must not take
    // the worker back from its stand-in while the outer closure still
    // blocks: here the outer one waits for a task queued on that worker.
    within(30, || {
        let rt = rt(1);
        let handle = rt.handle().clone();
        rt.block_on(async move {
            weft::spawn(async move {
                let (tx, rx) = std::sync::mpsc::channel::<u32>();
                let sender = weft::spawn(async move {
                    weft::task::yield_now().await;
                    tx.send(7).unwrap();
                });
                let got = weft::task::block_in_place(move || {
                    weft::task::block_in_place(|| ());
                    rx.recv().unwrap()
                });
                sender.await.unwrap();
                drop(handle);
                got
            })
            .await
            .unwrap()
        });
    });
}

#[test]
fn a_runtime_owned_by_a_task_is_dropped_quietly_when_its_owner_shuts_down() {
    // The owning runtime drops the task's future at its shutdown, outside
    // any running loop: the inner runtime's drop may wait there (its pool
    // job runs to the end), and nothing panics.
    within(30, || {
        for multi in [false, true] {
            let outer = if multi { rt(1) } else { common::rt() };
            let (tx, rx) = std::sync::mpsc::channel();
            outer.block_on(async move {
                let inner = common::rt();
                let job = inner.spawn_blocking(move || {
                    std::thread::sleep(Duration::from_millis(50));
                    tx.send("ran").unwrap();
                });
                weft::spawn(async move {
                    let _inner = inner;
                    let _job = job;
                    std::future::pending::<()>().await
                });
                weft::task::yield_now().await;
            });
            drop(outer);
            // The inner runtime's drop waited for its job (a panic there
            // would have shut it down without waiting).
            assert_eq!(rx.try_recv(), Ok("ran"));
        }
    });
}
