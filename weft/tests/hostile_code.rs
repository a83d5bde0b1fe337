//! Hostile user code: panicking destructors, wakers that outlive their
//! runtime, join handles awaited elsewhere, futures that never stop waking
//! themselves, panics in timer-driven tasks, spawns during shutdown, and a
//! coroutine that panics while holding a socket. None of it may crash the
//! process, hang, leak, or stop the other tasks.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use common::within;
use weft::io::{AsyncReadExt, AsyncWriteExt};

fn mt(workers: usize) -> weft::runtime::Runtime {
    weft::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

/// Panics when dropped (unless the thread is already panicking).
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("PanicOnDrop dropped");
        }
    }
}

#[test]
fn a_task_whose_drop_panics() {
    within(30, || {
        for rt in [common::rt(), mt(2)] {
            rt.block_on(async {
                // Completes, then its future's drop panics: the panic is the
                // task's result.
                let finished = weft::spawn(async {
                    let _guard = PanicOnDrop;
                    7
                });
                let err = finished.await.unwrap_err();
                assert!(err.is_panic());
                // Aborted while pending: the drop panics during cancellation.
                let pending = weft::spawn(async {
                    let _guard = PanicOnDrop;
                    std::future::pending::<()>().await
                });
                weft::task::yield_now().await;
                pending.abort();
                let err = pending.await.unwrap_err();
                assert!(err.is_cancelled() || err.is_panic(), "{err:?}");
                // The runtime carries on.
                assert_eq!(weft::spawn(async { 1 }).await.unwrap(), 1);
            });
            // Pending at shutdown, with a panicking drop: the runtime still
            // shuts down (the panic is contained).
            rt.spawn(async {
                let _guard = PanicOnDrop;
                std::future::pending::<()>().await
            });
            drop(rt);
        }
    });
}

#[test]
fn a_waker_woken_after_its_runtime_is_gone() {
    within(30, || {
        struct Holder(Arc<AtomicUsize>);
        impl Drop for Holder {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        for rt in [common::rt(), mt(2)] {
            let dropped = Arc::new(AtomicUsize::new(0));
            let stolen: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
            let (holder, slot) = (Holder(Arc::clone(&dropped)), Arc::clone(&stolen));
            let stored = Arc::clone(&stolen);
            rt.block_on(async move {
                weft::spawn(async move {
                    let _holder = holder;
                    std::future::poll_fn(|cx| {
                        *slot.lock().unwrap() = Some(cx.waker().clone());
                        Poll::<()>::Pending
                    })
                    .await
                });
                // Until the task has run (no fixed delay: machines are busy).
                while stored.lock().unwrap().is_none() {
                    weft::time::sleep(Duration::from_millis(1)).await;
                }
            });
            drop(rt);
            assert_eq!(
                dropped.load(SeqCst),
                1,
                "the pending future was dropped at shutdown"
            );
            let waker = stolen
                .lock()
                .unwrap()
                .take()
                .expect("the task stored its waker");
            std::thread::spawn(move || {
                waker.wake_by_ref();
                let clone = waker.clone();
                drop(waker.clone());
                clone.wake();
                waker.wake();
            })
            .join()
            .expect("waking a dead runtime's task is a no-op");
            assert_eq!(dropped.load(SeqCst), 1, "and drops nothing twice");
        }
    });
}

#[test]
fn a_join_handle_awaited_from_another_runtime() {
    within(30, || {
        let producer = mt(1);
        let handle = producer.spawn(async {
            weft::time::sleep(Duration::from_millis(10)).await;
            "made elsewhere"
        });
        let consumer = common::rt();
        assert_eq!(consumer.block_on(handle).unwrap(), "made elsewhere");
        // And the other way round, with the producer a current-thread
        // runtime driven by another thread.
        let producer = Arc::new(common::rt());
        let handle = producer.spawn(async { 5 });
        let driver = {
            let producer = Arc::clone(&producer);
            std::thread::spawn(move || {
                producer.block_on(async { weft::time::sleep(Duration::from_millis(50)).await })
            })
        };
        assert_eq!(mt(1).block_on(handle).unwrap(), 5);
        driver.join().unwrap();
    });
}

/// Wakes itself on every poll and never finishes.
struct Spinner(Arc<AtomicUsize>);

impl Future for Spinner {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.fetch_add(1, SeqCst);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn a_future_that_wakes_itself_forever_does_not_starve_the_others() {
    within(60, || {
        for rt in [common::rt(), mt(1), mt(2)] {
            let polls = Arc::new(AtomicUsize::new(0));
            rt.block_on(async {
                let spinner = weft::spawn(Spinner(Arc::clone(&polls)));
                // Timers, I/O and other tasks still make progress.
                weft::time::sleep(Duration::from_millis(20)).await;
                let (mut a, mut b) = common::pair().await;
                let echo = weft::spawn(async move {
                    let mut buf = [0u8; 5];
                    b.read_exact(&mut buf).await.unwrap();
                    b.write_all(&buf).await.unwrap();
                });
                a.write_all(b"alive").await.unwrap();
                let mut buf = [0u8; 5];
                a.read_exact(&mut buf).await.unwrap();
                assert_eq!(&buf, b"alive");
                echo.await.unwrap();
                assert!(polls.load(SeqCst) > 0, "the spinner really was spinning");
                spinner.abort();
                assert!(spinner.await.unwrap_err().is_cancelled());
            });
        }
    });
}

#[test]
fn a_panic_in_a_timer_driven_task() {
    within(30, || {
        for rt in [common::rt(), mt(2)] {
            rt.block_on(async {
                let ticking = weft::spawn(async {
                    let mut interval = weft::time::interval(Duration::from_millis(2));
                    for n in 0.. {
                        interval.tick().await;
                        if n == 3 {
                            panic!("panic on the fourth tick");
                        }
                    }
                });
                assert!(ticking.await.unwrap_err().is_panic());
                // Timers keep working for everyone else.
                let later = weft::spawn(weft::time::sleep(Duration::from_millis(5)));
                later.await.unwrap();
                weft::time::timeout(
                    Duration::from_secs(10),
                    weft::time::sleep(Duration::from_millis(1)),
                )
                .await
                .unwrap();
            });
        }
    });
}

#[test]
fn spawning_from_a_drop_during_shutdown() {
    within(30, || {
        /// Spawns a task from its `Drop`; records that it was dropped and
        /// whether that spawn returned (rather than panicked).
        struct SpawnOnDrop {
            dropped: Arc<AtomicBool>,
            spawned: Arc<AtomicBool>,
            ran: Arc<AtomicBool>,
        }
        impl Drop for SpawnOnDrop {
            fn drop(&mut self) {
                // The runtime is shutting down: the spawn must neither
                // crash nor hang, and the new task must never run.
                let ran = Arc::clone(&self.ran);
                let result = std::panic::catch_unwind(move || {
                    weft::spawn(async move { ran.store(true, SeqCst) })
                });
                if let Ok(handle) = result {
                    self.spawned.store(true, SeqCst);
                    drop(handle);
                }
                self.dropped.store(true, SeqCst);
            }
        }
        for (name, rt) in [("current-thread", common::rt()), ("multi-thread", mt(2))] {
            let [dropped, spawned, ran] = [(); 3].map(|()| Arc::new(AtomicBool::new(false)));
            let guard = SpawnOnDrop {
                dropped: Arc::clone(&dropped),
                spawned: Arc::clone(&spawned),
                ran: Arc::clone(&ran),
            };
            rt.block_on(async move {
                weft::spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await
                });
                weft::task::yield_now().await;
            });
            drop(rt);
            assert!(
                dropped.load(SeqCst),
                "{name}: the pending task was dropped at shutdown"
            );
            assert!(spawned.load(SeqCst), "{name}: the spawn in Drop returned");
            assert!(
                !ran.load(SeqCst),
                "{name}: the task spawned during shutdown never ran"
            );
        }
    });
}

#[test]
fn a_coroutine_that_panics_while_holding_a_socket() {
    within(30, || {
        common::rt().block_on(async {
            let (mut client, server) = common::pair().await;
            let coroutine = weft::coro::spawn(move || {
                let stream = weft::coro::net::TcpStream::from_async(server);
                let mut buf = [0u8; 4];
                std::io::Read::read_exact(&mut &stream, &mut buf).unwrap();
                panic!("handler bug after reading {buf:?}");
            });
            client.write_all(b"ping").await.unwrap();
            assert!(coroutine.await.unwrap_err().is_panic());
            let mut rest = Vec::new();
            client.read_to_end(&mut rest).await.unwrap();
            assert!(
                rest.is_empty(),
                "the socket was closed during unwinding: EOF"
            );
        });
    });
}
