//! `bench sync`: weft's runtime with `weft::sync` against tokio's runtime
//! with `tokio::sync`, in the shapes of tokio's `benches/sync_*.rs`.
//!
//! The workloads are written once, in [`shapes!`], and expanded twice: over
//! `weft::` and over `tokio::`. That the same text compiles against both is
//! the porting promise (`s/tokio::/weft::/`) in miniature.
//!
//! Each round runs every shape on both runtimes, order alternating, each on
//! a fresh runtime (current-thread, then a 2-worker multi-thread one); the
//! figure is the median time of a run over the rounds. `RESULT sync-<shape>
//! weft/tokio <ratio>` is weft's time over tokio's: at most 1.0 means weft
//! is at least as fast.

use std::io;

use crate::versus::Shape;

/// The shapes, as module `$module`, over the runtime crate `$rt` (`weft` or
/// `tokio`): each
/// function builds nothing, runs one workload in `rt.block_on` and returns
/// the time the workload took.
macro_rules! shapes {
    ($module:ident, $rt:ident) => {
        pub(crate) mod $module {
            use std::sync::atomic::{AtomicUsize, Ordering};
            use std::sync::Arc;
            use std::time::{Duration, Instant};

            use $rt::runtime::Runtime;
            use $rt::sync::{broadcast, mpsc, oneshot, watch, Mutex, Notify, Semaphore};

            /// A current-thread runtime, or a multi-thread one with 2 workers.
            pub(crate) fn runtime(multi: bool) -> Runtime {
                let mut builder = if multi {
                    let mut b = $rt::runtime::Builder::new_multi_thread();
                    b.worker_threads(2);
                    b
                } else {
                    $rt::runtime::Builder::new_current_thread()
                };
                builder.enable_all().build().expect("runtime")
            }

            fn timed<F: std::future::Future<Output = ()>>(rt: &Runtime, f: F) -> Duration {
                rt.block_on(async move {
                    let start = Instant::now();
                    f.await;
                    start.elapsed()
                })
            }

            /// `producers` tasks send `per` messages each through a bounded
            /// channel of `capacity` (tokio's `contention_bounded_full`).
            pub(crate) fn mpsc_bounded(
                rt: &Runtime,
                producers: usize,
                per: usize,
                capacity: usize,
            ) -> Duration {
                timed(rt, async move {
                    let (tx, mut rx) = mpsc::channel::<usize>(capacity);
                    for _ in 0..producers {
                        let tx = tx.clone();
                        $rt::spawn(async move {
                            for i in 0..per {
                                tx.send(i).await.expect("receiver alive");
                            }
                        });
                    }
                    drop(tx);
                    let mut got = 0;
                    while rx.recv().await.is_some() {
                        got += 1;
                    }
                    assert_eq!(got, producers * per);
                })
            }

            /// The same through an unbounded channel (tokio's
            /// `contention_unbounded`).
            pub(crate) fn mpsc_unbounded(rt: &Runtime, producers: usize, per: usize) -> Duration {
                timed(rt, async move {
                    let (tx, mut rx) = mpsc::unbounded_channel::<usize>();
                    for _ in 0..producers {
                        let tx = tx.clone();
                        $rt::spawn(async move {
                            for i in 0..per {
                                tx.send(i).expect("receiver alive");
                            }
                        });
                    }
                    drop(tx);
                    let mut got = 0;
                    while rx.recv().await.is_some() {
                        got += 1;
                    }
                    assert_eq!(got, producers * per);
                })
            }

            /// Request/reply: a server task answers each request's oneshot
            /// (tokio's `sync_mpsc_oneshot` `request_reply`).
            pub(crate) fn oneshot(rt: &Runtime, requests: usize) -> Duration {
                timed(rt, async move {
                    let (tx, mut rx) = mpsc::channel::<oneshot::Sender<usize>>(10);
                    let server = $rt::spawn(async move {
                        let mut n = 0;
                        while let Some(reply) = rx.recv().await {
                            n += 1;
                            let _ = reply.send(n);
                        }
                    });
                    for i in 0..requests {
                        let (reply, answer) = oneshot::channel();
                        tx.send(reply).await.expect("server alive");
                        assert_eq!(answer.await.expect("server replied"), i + 1);
                    }
                    drop(tx);
                    server.await.expect("server task");
                })
            }

            /// One task takes and releases an uncontended lock `ops` times.
            pub(crate) fn mutex_uncontended(rt: &Runtime, ops: usize) -> Duration {
                timed(rt, async move {
                    let m = Mutex::new(0usize);
                    for _ in 0..ops {
                        *m.lock().await += 1;
                    }
                    assert_eq!(*m.lock().await, ops);
                })
            }

            /// `tasks` tasks each increment a shared counter `per` times,
            /// holding the lock across a yield so the others queue on it.
            pub(crate) fn mutex_contended(rt: &Runtime, tasks: usize, per: usize) -> Duration {
                timed(rt, async move {
                    let m = Arc::new(Mutex::new(0usize));
                    let handles: Vec<_> = (0..tasks)
                        .map(|_| {
                            let m = Arc::clone(&m);
                            $rt::spawn(async move {
                                for _ in 0..per {
                                    let mut g = m.lock().await;
                                    $rt::task::yield_now().await;
                                    *g += 1;
                                }
                            })
                        })
                        .collect();
                    for h in handles {
                        h.await.expect("mutex task");
                    }
                    assert_eq!(*m.lock().await, tasks * per);
                })
            }

            /// `tasks` tasks share `permits` permits, each acquiring `per`
            /// times and holding its permit across a yield (tokio's
            /// `sync_semaphore` contended shape, longer).
            pub(crate) fn semaphore(
                rt: &Runtime,
                permits: usize,
                tasks: usize,
                per: usize,
            ) -> Duration {
                timed(rt, async move {
                    let s = Arc::new(Semaphore::new(permits));
                    let handles: Vec<_> = (0..tasks)
                        .map(|_| {
                            let s = Arc::clone(&s);
                            $rt::spawn(async move {
                                for _ in 0..per {
                                    let _permit = s.acquire().await.expect("open");
                                    $rt::task::yield_now().await;
                                }
                            })
                        })
                        .collect();
                    for h in handles {
                        h.await.expect("semaphore task");
                    }
                    assert_eq!(s.available_permits(), permits);
                })
            }

            /// `waiters` tasks wait on one `Notify`; the driver notifies one
            /// at a time and waits for that waiter's answer (tokio's
            /// `notify_one` shape, as a round trip so it also runs on one
            /// thread).
            pub(crate) fn notify(rt: &Runtime, waiters: usize, rounds: usize) -> Duration {
                timed(rt, async move {
                    let go = Arc::new(Notify::new());
                    let done = Arc::new(Notify::new());
                    let count = Arc::new(AtomicUsize::new(0));
                    let tasks: Vec<_> = (0..waiters)
                        .map(|_| {
                            let (go, done, count) =
                                (Arc::clone(&go), Arc::clone(&done), Arc::clone(&count));
                            $rt::spawn(async move {
                                loop {
                                    go.notified().await;
                                    if count.fetch_add(1, Ordering::Relaxed) >= rounds {
                                        return;
                                    }
                                    done.notify_one();
                                }
                            })
                        })
                        .collect();
                    for _ in 0..rounds {
                        go.notify_one();
                        done.notified().await;
                    }
                    for _ in 0..waiters {
                        go.notify_one();
                    }
                    for t in tasks {
                        t.await.expect("waiter task");
                    }
                })
            }

            /// `receivers` tasks follow a watch channel; each value is
            /// sent once every receiver has seen the previous one (tokio's
            /// `contention_resubscribe`).
            pub(crate) fn watch(rt: &Runtime, receivers: usize, values: usize) -> Duration {
                timed(rt, async move {
                    let (tx, _) = watch::channel(0usize);
                    let pending = Arc::new((AtomicUsize::new(0), Notify::new()));
                    let tasks: Vec<_> = (0..receivers)
                        .map(|_| {
                            let mut rx = tx.subscribe();
                            let pending = Arc::clone(&pending);
                            $rt::spawn(async move {
                                while rx.changed().await.is_ok() {
                                    let _ = *rx.borrow_and_update();
                                    if pending.0.fetch_sub(1, Ordering::AcqRel) == 1 {
                                        pending.1.notify_one();
                                    }
                                }
                            })
                        })
                        .collect();
                    for v in 1..=values {
                        pending.0.fetch_add(receivers, Ordering::AcqRel);
                        tx.send(v).expect("receivers alive");
                        while pending.0.load(Ordering::Acquire) > 0 {
                            pending.1.notified().await;
                        }
                    }
                    drop(tx);
                    for t in tasks {
                        t.await.expect("receiver task");
                    }
                })
            }

            /// `receivers` tasks receive every value of a broadcast
            /// channel; each value is sent once all have taken the previous
            /// one (tokio's `sync_broadcast` `contention`).
            pub(crate) fn broadcast(rt: &Runtime, receivers: usize, values: usize) -> Duration {
                timed(rt, async move {
                    let (tx, _) = broadcast::channel::<usize>(1000);
                    let pending = Arc::new((AtomicUsize::new(0), Notify::new()));
                    let tasks: Vec<_> = (0..receivers)
                        .map(|_| {
                            let mut rx = tx.subscribe();
                            let pending = Arc::clone(&pending);
                            $rt::spawn(async move {
                                let mut seen = 0;
                                while rx.recv().await.is_ok() {
                                    seen += 1;
                                    if pending.0.fetch_sub(1, Ordering::AcqRel) == 1 {
                                        pending.1.notify_one();
                                    }
                                }
                                seen
                            })
                        })
                        .collect();
                    for v in 0..values {
                        pending.0.fetch_add(receivers, Ordering::AcqRel);
                        tx.send(v).expect("receivers alive");
                        while pending.0.load(Ordering::Acquire) > 0 {
                            pending.1.notified().await;
                        }
                    }
                    drop(tx);
                    for t in tasks {
                        assert_eq!(t.await.expect("receiver task"), values);
                    }
                })
            }
        }
    };
}

shapes!(on_weft, weft);
shapes!(on_tokio, tokio);

/// Declares a [`Shape`] whose workload is the same call on both runtimes.
macro_rules! shape {
    ($name:literal, $f:ident($($arg:expr),*)) => {
        Shape {
            name: $name,
            weft: |multi| on_weft::$f(&on_weft::runtime(multi), $($arg),*),
            tokio: |multi| on_tokio::$f(&on_tokio::runtime(multi), $($arg),*),
            multi: true,
        }
    };
}

/// Runs every shape (or only the one named `only`) on both flavours for
/// `rounds` rounds.
pub fn run(rounds: usize, only: Option<&str>) -> io::Result<()> {
    let shapes = [
        shape!("mpsc-bounded-1p", mpsc_bounded(1, 100_000, 100)),
        shape!("mpsc-bounded-10p", mpsc_bounded(10, 10_000, 100)),
        shape!("mpsc-unbounded-1p", mpsc_unbounded(1, 100_000)),
        shape!("mpsc-unbounded-10p", mpsc_unbounded(10, 10_000)),
        shape!("oneshot", oneshot(20_000)),
        shape!("mutex-uncontended", mutex_uncontended(200_000)),
        shape!("mutex-contended", mutex_contended(10, 2_000)),
        shape!("semaphore", semaphore(3, 10, 2_000)),
        shape!("notify", notify(10, 20_000)),
        shape!("watch", watch(10, 5_000)),
        shape!("broadcast", broadcast(10, 5_000)),
    ];
    crate::versus::run("sync", &shapes, rounds, only)
}
