//! Timers: ordering, timeouts, far deadlines, reset, intervals.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{rt, within, Rng, Signal};
use weft::time::{interval, sleep, sleep_until, timeout, timeout_at, Instant, MissedTickBehavior};

#[test]
fn ten_thousand_random_timers_fire_in_deadline_order() {
    within(120, || {
        // The order is only defined for timers registered before their
        // deadlines; if registering all 10,000 (a debug build on a busy
        // machine) takes longer than the margin, try again with a larger one.
        for margin_ms in [50, 500, 5000] {
            if let Some(fired) = rt().block_on(timers_in_order(margin_ms)) {
                assert_eq!(fired.len(), 10_000);
                let out_of_order = fired.windows(2).position(|w| w[0] > w[1]);
                assert_eq!(out_of_order, None, "timers fired out of deadline order");
                return;
            }
        }
        panic!("could not register 10,000 timers within 5 s");
    });
}

/// Spawns 10,000 tasks sleeping until random whole-millisecond offsets from
/// a base `margin_ms` ahead; returns the offsets in the order the timers
/// fired, or `None` if registration did not finish before the base.
async fn timers_in_order(margin_ms: u64) -> Option<Vec<u64>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let base = Instant::now() + Duration::from_millis(margin_ms);
    let fired = Arc::new(Mutex::new(Vec::with_capacity(10_000)));
    let registered = Arc::new(AtomicUsize::new(0));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut tasks = Vec::new();
    for _ in 0..10_000 {
        // Whole milliseconds apart, so distinct offsets are distinct ticks.
        let offset = rng.below(300);
        let (fired, registered) = (Arc::clone(&fired), Arc::clone(&registered));
        tasks.push(weft::spawn(async move {
            let deadline = base + Duration::from_millis(offset);
            let mut sleep = std::pin::pin!(sleep_until(deadline));
            // The first poll registers the timer.
            let first = futures_util::poll!(sleep.as_mut());
            registered.fetch_add(1, Ordering::SeqCst);
            if first.is_pending() {
                sleep.await;
            }
            assert!(Instant::now() >= deadline, "timer fired early");
            fired.lock().unwrap().push(offset);
        }));
    }
    while registered.load(Ordering::SeqCst) < 10_000 {
        weft::task::yield_now().await;
    }
    let in_time = Instant::now() < base;
    for task in tasks {
        task.await.expect("timer task");
    }
    let fired = std::mem::take(&mut *fired.lock().unwrap());
    in_time.then_some(fired)
}

#[test]
fn timeout_fires_and_does_not_fire() {
    within(20, || {
        rt().block_on(async {
            let err = timeout(Duration::from_millis(10), std::future::pending::<()>()).await;
            assert!(err.is_err());
            let io_err: std::io::Error = err.unwrap_err().into();
            assert_eq!(io_err.kind(), std::io::ErrorKind::TimedOut);
            let ok = timeout(Duration::from_secs(30), async {
                sleep(Duration::from_millis(1)).await;
                5
            })
            .await;
            assert_eq!(ok, Ok(5));
            let at = timeout_at(
                Instant::now() + Duration::from_millis(5),
                sleep(Duration::from_secs(60)),
            );
            assert!(at.await.is_err());
        })
    });
}

/// Something that is not a future but converts into one, as tokio's
/// `timeout` accepts since 1.39.
struct Later(u32);

impl std::future::IntoFuture for Later {
    type Output = u32;
    type IntoFuture = std::future::Ready<u32>;

    fn into_future(self) -> Self::IntoFuture {
        std::future::ready(self.0)
    }
}

#[test]
fn timeout_takes_into_future_and_duration_is_reexported() {
    within(20, || {
        rt().block_on(async {
            // `weft::time::Duration` is std's, as `tokio::time::Duration` is.
            let d: weft::time::Duration = std::time::Duration::from_secs(5);
            let t: weft::time::Timeout<std::future::Ready<u32>> = timeout(d, Later(3));
            assert_eq!(t.get_ref().clone().into_inner(), 3);
            assert_eq!(t.await, Ok(3));
            let at = timeout_at(Instant::now() + d, Later(4));
            assert_eq!(at.await, Ok(4));
        })
    });
}

#[test]
fn time_error_has_tokio_s_constructors_and_predicates() {
    use weft::time::error::Error;
    fn is_std_error<E: std::error::Error + Send + Sync + Copy + 'static>(_: &E) {}

    let cases = [
        (Error::shutdown(), [true, false, false]),
        (Error::at_capacity(), [false, true, false]),
        (Error::invalid(), [false, false, true]),
    ];
    for (err, [shutdown, capacity, invalid]) in cases {
        is_std_error(&err);
        let copy = err;
        assert_eq!(copy.is_shutdown(), shutdown, "{err:?}");
        assert_eq!(copy.is_at_capacity(), capacity, "{err:?}");
        assert_eq!(copy.is_invalid(), invalid, "{err:?}");
        assert!(!err.to_string().is_empty());
    }
    assert_ne!(Error::shutdown().to_string(), Error::invalid().to_string());
}

#[test]
fn enormous_durations_neither_overflow_nor_panic() {
    within(20, || {
        rt().block_on(async {
            let never = sleep(Duration::MAX);
            assert!(never.deadline() > Instant::now() + Duration::from_secs(86_400 * 365));
            assert!(timeout(Duration::from_millis(5), never).await.is_err());
            let years = sleep(Duration::from_secs(86_400 * 365 * 3));
            assert!(timeout(Duration::from_millis(5), years).await.is_err());
            // A timeout of Duration::MAX around a ready future is just the future.
            assert_eq!(timeout(Duration::MAX, async { 1 }).await, Ok(1));
        })
    });
}

#[test]
fn reset_moves_the_deadline_both_ways() {
    within(20, || {
        rt().block_on(async {
            let start = Instant::now();
            let mut s = std::pin::pin!(sleep(Duration::from_secs(3600)));
            assert!(futures_util::poll!(s.as_mut()).is_pending());
            s.as_mut().reset(Instant::now() + Duration::from_millis(5));
            s.as_mut().await;
            assert!(s.is_elapsed());
            assert!(start.elapsed() < Duration::from_secs(3600));
            // Reset after completion: pending again until the new deadline.
            let later = Instant::now() + Duration::from_millis(10);
            s.as_mut().reset(later);
            assert!(!s.is_elapsed());
            s.as_mut().await;
            assert!(Instant::now() >= later);
        })
    });
}

#[test]
fn interval_ticks_on_schedule_and_first_tick_is_immediate() {
    within(20, || {
        rt().block_on(async {
            let mut ticks = interval(Duration::from_millis(5));
            let first = ticks.tick().await;
            let second = ticks.tick().await;
            let third = ticks.tick().await;
            assert_eq!(second - first, Duration::from_millis(5));
            assert_eq!(third - second, Duration::from_millis(5));
            assert!(Instant::now() >= third);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Delay);
            assert_eq!(ticks.period(), Duration::from_millis(5));
        })
    });
}

#[test]
#[should_panic(expected = "`period` must be non-zero")]
fn zero_period_interval_panics_with_a_clear_message() {
    rt().block_on(async {
        let _ = interval(Duration::ZERO);
    });
}

#[test]
fn sleep_outside_a_runtime_panics_with_a_clear_message() {
    let err = std::panic::catch_unwind(|| sleep(Duration::from_millis(1))).unwrap_err();
    let message = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("no weft runtime"), "{message}");
}

#[test]
fn timer_polled_on_another_thread_wakes_a_parked_loop() {
    // The loop thread parks in epoll_wait with no timer of its own, waiting
    // for a signal from another thread; that thread waits on a sleep through
    // `Handle::block_on`. Its timer must unpark the loop to recompute the
    // epoll timeout: otherwise the sleep never fires and this test times out.
    within(20, || {
        let rt = rt();
        let handle = rt.handle().clone();
        let done = Arc::new(Signal::default());
        let signal = Arc::clone(&done);
        let other = std::thread::spawn(move || {
            handle.block_on(async { sleep(Duration::from_millis(20)).await });
            signal.set();
        });
        rt.block_on(std::future::poll_fn(|cx| done.poll(cx)));
        other.join().unwrap();
    });
}

#[test]
fn timers_of_a_shut_down_runtime_complete_instead_of_hanging() {
    within(20, || {
        let rt = rt();
        let handle = rt.handle().clone();
        let (mut pending,) = rt.block_on(async {
            let mut s = Box::pin(sleep(Duration::from_secs(3600)));
            assert!(futures_util::poll!(s.as_mut()).is_pending());
            // Hand the registered timer out of the runtime (not `.await`ed).
            (s,)
        });
        drop(rt);
        // Both the registered timer and a new one complete on another
        // thread's `Handle::block_on`, which has no loop to drive.
        handle.block_on(async {
            pending.as_mut().await;
            sleep(Duration::from_secs(3600)).await;
            assert!(
                timeout(Duration::from_secs(3600), std::future::pending::<()>())
                    .await
                    .is_err()
            );
        });
    });
}

#[test]
fn a_busy_future_still_times_out() {
    // The inner future spends the whole cooperative budget on every poll (a
    // peek on a socket with data queued is always ready); the deadline must
    // be checked anyway.
    within(20, || {
        rt().block_on(async {
            use weft::io::AsyncWriteExt;
            let (mut client, server) = common::pair().await;
            client.write_all(b"x").await.unwrap();
            let busy = async {
                let mut byte = [0u8; 1];
                loop {
                    server.peek(&mut byte).await.unwrap();
                }
            };
            assert!(timeout(Duration::from_millis(5), busy).await.is_err());
        })
    });
}

#[test]
fn a_block_on_future_that_keeps_waking_itself_does_not_stop_timers() {
    within(20, || {
        let rt = rt();
        // The block_on future itself never sleeps: it yields in a loop.
        let spin = async {
            loop {
                weft::task::yield_now().await;
            }
        };
        assert!(rt
            .block_on(async { timeout(Duration::from_millis(5), spin).await })
            .is_err());
        // Same with a spawned timer polled from a yielding block_on loop.
        rt.block_on(async {
            let timer = weft::spawn(sleep(Duration::from_millis(5)));
            while !timer.is_finished() {
                weft::task::yield_now().await;
            }
        });
    });
}

#[test]
fn dropping_a_current_thread_runtime_while_a_pool_thread_runs_its_loop_returns() {
    common::within(30, || {
        let rt = weft::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let handle = rt.handle().clone();
        let listener =
            rt.block_on(async { weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap() });
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        // A blocking job runs the loop in `Handle::block_on`, waiting for a
        // connection that never comes.
        let job = rt.spawn_blocking(move || {
            handle.block_on(async move {
                started_tx.send(()).unwrap();
                listener.accept().await.map(drop)
            })
        });
        started_rx.recv().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        // The drop closes the runtime; the job's loop sees it, shuts down,
        // and its accept fails instead of waiting forever.
        drop(rt);
        let other = weft::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert!(other.block_on(job).unwrap().is_err());
    });
}

#[test]
fn a_timeout_fires_around_an_endless_loop_over_io_empty() {
    // tokio's `timeout_is_not_exhausted_by_future`: `io::empty()` spends the
    // task's budget, so the loop yields and the timeout gets to fire.
    within(30, || {
        common::rt().block_on(async {
            use weft::io::{AsyncReadExt, AsyncWriteExt};
            let looping = weft::time::timeout(Duration::from_millis(1), async {
                let mut buffer = [0u8; 1];
                loop {
                    let _ = weft::io::empty().read(&mut buffer).await;
                    let _ = weft::io::sink().write(&buffer).await;
                    let _ = weft::io::repeat(7).read(&mut buffer).await;
                }
            });
            assert!(looping.await.is_err());
        });
    });
}

// ---- timers on a multi-thread runtime: each worker's own shard ----

/// A multi-thread runtime with two workers.
fn rt_two_workers() -> weft::runtime::Runtime {
    weft::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime")
}

/// Two tasks that run at the same time, so on the two workers' threads: each
/// waits (blocking its worker) until the other has started. Returns their
/// join handles; each runs `f(i)` after the meeting.
fn on_both_workers<T: Send + 'static>(
    f: impl Fn(usize) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>
        + Send
        + Sync
        + 'static,
) -> Vec<weft::task::JoinHandle<(std::thread::ThreadId, T)>> {
    let meet = Arc::new(std::sync::Barrier::new(2));
    let f = Arc::new(f);
    (0..2)
        .map(|i| {
            let (meet, f) = (Arc::clone(&meet), Arc::clone(&f));
            weft::spawn(async move {
                meet.wait();
                let me = std::thread::current().id();
                (me, f(i).await)
            })
        })
        .collect()
}

#[test]
fn timers_made_on_both_workers_fire() {
    // Each worker's timers live in its own shard; the driver, parked on
    // whichever worker holds it, must fire both shards' timers.
    within(30, || {
        rt_two_workers().block_on(async {
            for round in 0..20u64 {
                let handles = on_both_workers(move |i| {
                    Box::pin(async move {
                        let d = Duration::from_millis(1 + (round + i as u64) % 3);
                        let start = Instant::now();
                        sleep(d).await;
                        assert!(start.elapsed() >= d, "a timer fired early");
                    })
                });
                let mut threads = Vec::new();
                for handle in handles {
                    threads.push(handle.await.expect("sleeper").0);
                }
                assert_ne!(threads[0], threads[1], "the two ran on one thread");
            }
        });
    });
}

#[test]
fn a_timer_made_on_one_worker_fires_when_polled_on_the_other() {
    // The sleep is made (and so sharded) on one worker, then registered by
    // a poll on the other worker's thread while the first goes idle: an
    // insert into a shard from a thread that is not its worker's.
    within(30, || {
        rt_two_workers().block_on(async {
            for _ in 0..20 {
                let (tx, rx) = std::sync::mpsc::sync_channel::<weft::time::Sleep>(1);
                let rx = Arc::new(Mutex::new(rx));
                let handles = on_both_workers(move |i| {
                    let (tx, rx) = (tx.clone(), Arc::clone(&rx));
                    Box::pin(async move {
                        if i == 0 {
                            tx.send(sleep(Duration::from_millis(2))).unwrap();
                        } else {
                            let made_elsewhere = rx.lock().unwrap().recv().unwrap();
                            made_elsewhere.await;
                        }
                    })
                });
                for handle in handles {
                    handle.await.expect("task");
                }
            }
        });
    });
}

#[test]
fn a_timer_from_outside_the_runtime_wakes_a_worker_parked_in_the_driver() {
    // A task holds an hour-long timer, so the worker parked in the driver
    // waits with an hour's timeout. A plain thread then sleeps 5 ms through
    // the runtime's handle, 30 times: its timers go to the shard of threads
    // that are no worker's, and each must cut the parked driver's wait
    // short (a missed unpark hangs here until `within` fails the test).
    within(30, || {
        let rt = rt_two_workers();
        let hold = rt.spawn(async { sleep(Duration::from_secs(3600)).await });
        let handle = rt.handle().clone();
        std::thread::spawn(move || {
            let _enter = handle.enter();
            for _ in 0..30 {
                let start = Instant::now();
                block_on_plain(sleep(Duration::from_millis(5)));
                assert!(start.elapsed() >= Duration::from_millis(5), "fired early");
            }
        })
        .join()
        .unwrap();
        hold.abort();
    });
}

/// Polls `future` to completion on this thread with a thread-unparking
/// waker: no runtime's `block_on`, so nothing of the runtime runs here.
fn block_on_plain<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

#[test]
fn a_timer_cancelled_and_reset_from_another_thread() {
    // Registered on a worker, then moved to a plain thread: a reset there
    // re-arms it in its worker's shard (and the worker parked in the driver
    // must wake for the nearer deadline); a second timer dropped there
    // leaves its shard without waking anything.
    within(30, || {
        let rt = rt_two_workers();
        let (near, far) = rt.block_on(async {
            weft::spawn(async {
                let mut near = Box::pin(sleep(Duration::from_secs(3600)));
                let mut far = Box::pin(sleep(Duration::from_secs(3600)));
                assert!(futures_util::poll!(near.as_mut()).is_pending());
                assert!(futures_util::poll!(far.as_mut()).is_pending());
                (near, far)
            })
            .await
            .expect("task")
        });
        std::thread::spawn(move || {
            let mut near = near;
            drop(far);
            let deadline = Instant::now() + Duration::from_millis(5);
            near.as_mut().reset(deadline);
            block_on_plain(near);
            assert!(Instant::now() >= deadline, "fired early");
        })
        .join()
        .unwrap();
        drop(rt);
    });
}

/// As before the timer shards: a timer can cross a `catch_unwind`.
#[test]
fn timers_are_unwind_safe() {
    fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    unwind_safe::<weft::time::Sleep>();
    unwind_safe::<weft::time::Interval>();
    unwind_safe::<weft::time::Timeout<std::future::Ready<()>>>();
}
