//! `bench timer`: weft's timers against tokio's, in the shapes of tokio's
//! `benches/time_timeout.rs` and `benches/time_now.rs`, plus the two shapes
//! those leave out: timers that enter the wheel and are cancelled, and
//! timers that fire.
//!
//! The workloads are written once, in [`shapes!`], and expanded over
//! `weft::` and `tokio::`, as `bench sync`'s are. Each round runs every
//! shape on both runtimes, order alternating, each on a fresh runtime
//! (current-thread, `ct`, with the work in one task; then a 2-worker
//! multi-thread one, `mt2`, with the work split over two tasks); the figure
//! is the median time of a run over the rounds. `RESULT timer-<shape>-<rt>
//! weft/tokio <ratio>` is weft's time over tokio's: at most 1.0 means weft
//! is at least as fast.

use std::io;

use crate::versus::Shape;

/// The shapes, as module `$module`, over the runtime crate `$rt` (`weft` or
/// `tokio`): each function runs one workload on `rt` and returns the time
/// it took.
macro_rules! shapes {
    ($module:ident, $rt:ident) => {
        pub(crate) mod $module {
            use std::future::Future;
            use std::hint::black_box;
            use std::pin::Pin;
            use std::task::{Context, Poll};
            use std::time::{Duration, Instant};

            use $rt::runtime::Runtime;
            use $rt::time::{sleep, timeout};

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

            /// Runs `job` in `tasks` spawned tasks (1 on the current-thread
            /// runtime, 2 on the multi-thread one) and waits for them all;
            /// the time from the first spawn to the last join.
            fn spread<F, Fut>(rt: &Runtime, multi: bool, job: F) -> Duration
            where
                F: Fn() -> Fut,
                Fut: Future<Output = ()> + Send + 'static,
            {
                let tasks = if multi { 2 } else { 1 };
                rt.block_on(async move {
                    let start = Instant::now();
                    let handles: Vec<_> = (0..tasks).map(|_| $rt::spawn(job())).collect();
                    for handle in handles {
                        handle.await.expect("timer task");
                    }
                    start.elapsed()
                })
            }

            /// tokio's `time_timeout` timeout shape: `n` timeouts (split
            /// over the tasks) around a future that is ready at once, so
            /// the timer is created and dropped without entering the wheel.
            pub(crate) fn timeout_ready(rt: &Runtime, multi: bool, n: usize) -> Duration {
                let per = n / if multi { 2 } else { 1 };
                spread(rt, multi, move || async move {
                    for _ in 0..per {
                        let t = timeout(Duration::from_secs(1), async { 1usize });
                        assert_eq!(black_box(t.await.expect("no timeout")), 1);
                    }
                })
            }

            /// tokio's `time_timeout` sleep shape: `n` sleeps created and
            /// dropped unpolled.
            pub(crate) fn sleep_dropped(rt: &Runtime, multi: bool, n: usize) -> Duration {
                let per = n / if multi { 2 } else { 1 };
                spread(rt, multi, move || async move {
                    for _ in 0..per {
                        drop(black_box(sleep(Duration::from_secs(1))));
                    }
                })
            }

            /// Polls the future it holds once: `Ready` with what that poll
            /// returned.
            struct PollOnce<F>(F);

            impl<F: Future + Unpin> Future for PollOnce<F> {
                type Output = Poll<F::Output>;

                fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                    Poll::Ready(Pin::new(&mut self.0).poll(cx))
                }
            }

            /// `n` timeouts armed and cancelled: each is polled once around
            /// a future that is never ready, so its timer enters the wheel,
            /// and then dropped, so the timer leaves it before it fires.
            /// The shape of a request with a deadline that is answered in
            /// time, and the one the wheel's lock is on.
            pub(crate) fn timeout_cancelled(rt: &Runtime, multi: bool, n: usize) -> Duration {
                let per = n / if multi { 2 } else { 1 };
                spread(rt, multi, move || async move {
                    for _ in 0..per {
                        let mut t = std::pin::pin!(timeout(
                            Duration::from_secs(1),
                            std::future::pending::<()>()
                        ));
                        let first = PollOnce(t.as_mut()).await;
                        assert!(black_box(first).is_pending());
                    }
                })
            }

            /// Timers firing: `tasks` tasks each sleep 1 ms `rounds` times
            /// in a row, so thousands of timers come due together each
            /// millisecond and their tasks are woken.
            pub(crate) fn fire(
                rt: &Runtime,
                _multi: bool,
                tasks: usize,
                rounds: usize,
            ) -> Duration {
                rt.block_on(async move {
                    let start = Instant::now();
                    let handles: Vec<_> = (0..tasks)
                        .map(|_| {
                            $rt::spawn(async move {
                                for _ in 0..rounds {
                                    sleep(Duration::from_millis(1)).await;
                                }
                            })
                        })
                        .collect();
                    for handle in handles {
                        handle.await.expect("sleeper task");
                    }
                    start.elapsed()
                })
            }

            /// tokio's `time_now` shape: `n` `block_on`s that each read the
            /// runtime's clock.
            pub(crate) fn now(rt: &Runtime, _multi: bool, n: usize) -> Duration {
                let start = Instant::now();
                for _ in 0..n {
                    rt.block_on(async {
                        black_box($rt::time::Instant::now());
                    });
                }
                start.elapsed()
            }
        }
    };
}

shapes!(on_weft, weft);
shapes!(on_tokio, tokio);

/// Declares a [`Shape`] whose workload is the same call on both runtimes.
macro_rules! shape {
    ($name:literal, $multi:literal, $f:ident($($arg:expr),*)) => {
        Shape {
            name: $name,
            weft: |multi| on_weft::$f(&on_weft::runtime(multi), multi, $($arg),*),
            tokio: |multi| on_tokio::$f(&on_tokio::runtime(multi), multi, $($arg),*),
            multi: $multi,
        }
    };
}

/// The shapes' names, for `--only`.
pub const SHAPES: [&str; 5] = ["timeout", "sleep", "timeout-cancelled", "fire", "now"];

/// Runs every shape (or only the one named `only`) on both flavours for
/// `rounds` rounds.
pub fn run(rounds: usize, only: Option<&str>) -> io::Result<()> {
    let shapes = [
        shape!("timeout", true, timeout_ready(1_000_000)),
        shape!("sleep", true, sleep_dropped(1_000_000)),
        shape!("timeout-cancelled", true, timeout_cancelled(500_000)),
        shape!("fire", true, fire(50_000, 5)),
        shape!("now", false, now(100_000)),
    ];
    debug_assert!(shapes.iter().map(|s| s.name).eq(SHAPES));
    crate::versus::run("timer", &shapes, rounds, only)
}
