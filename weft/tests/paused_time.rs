//! The paused clock (feature `test-util`): tokio's tests/time_pause.rs and
//! rt_time_start_paused.rs converted (each on a current-thread runtime and
//! multi-thread ones with one and two workers), plus weft's own: exact
//! sleeps, `advance` past timers, and auto-advance on the multi-thread
//! runtime.

mod common;
#[macro_use]
mod paused;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use common::{within, Rng};
use paused::{each_flavour, ms, paused_rt, FLAVOURS};
use tokio_test::{assert_pending, assert_ready, assert_ready_eq, task};
use weft::time::{self, Instant, Sleep};

// ---- tokio's time_pause.rs ----

#[test]
fn pause_time_in_main() {
    each_flavour(false, || async {
        time::pause();
    });
}

#[test]
fn pause_time_in_task() {
    each_flavour(false, || async {
        let t = weft::spawn(async {
            time::pause();
        });
        t.await.unwrap();
    });
}

/// tokio panics here (`time::pause()` needs its current-thread runtime,
/// tokio#3289); weft pauses, and auto-advances once every worker sleeps.
#[test]
fn pause_time_in_main_threads() {
    within(10, || {
        paused::builder(1).build().unwrap().block_on(async {
            time::pause();
            let start = Instant::now();
            time::sleep(Duration::from_secs(3600)).await;
            assert_eq!(start.elapsed(), Duration::from_secs(3600));
        })
    });
}

/// tokio's task fails (`assert_err!`); weft's pauses the runtime's clock.
#[test]
fn pause_time_in_spawn_threads() {
    within(10, || {
        paused::builder(1).build().unwrap().block_on(async {
            let t = weft::spawn(async {
                time::pause();
                let start = Instant::now();
                time::sleep(Duration::from_secs(60)).await;
                start.elapsed()
            });
            assert_eq!(t.await.unwrap(), Duration::from_secs(60));
        })
    });
}

#[test]
fn paused_time_is_deterministic() {
    within(30, || {
        let run_1 = paused_time_stress_run();
        let run_2 = paused_time_stress_run();
        assert_eq!(run_1, run_2);
        // weft's sleeps are exact: each step is the sum of the sleeps so far.
        let mut rng = Rng(1);
        let mut total = Duration::ZERO;
        for elapsed in run_1 {
            total += Duration::from_nanos(rng.below(1_000_000_000));
            assert_eq!(elapsed, total);
        }
    });
}

#[weft::main(flavor = "current_thread", start_paused = true)]
async fn paused_time_stress_run() -> Vec<Duration> {
    let mut rng = Rng(1);
    let mut times = vec![];
    let start = Instant::now();
    for _ in 0..10_000 {
        let sleep = Duration::from_nanos(rng.below(1_000_000_000));
        time::sleep(sleep).await;
        times.push(start.elapsed());
    }
    times
}

#[test]
fn advance_after_poll() {
    each_flavour(true, || async {
        time::sleep(ms(1)).await;
        let start = Instant::now();
        let mut sleep = task::spawn(time::sleep_until(start + ms(300)));
        assert_pending!(sleep.poll());
        let before = Instant::now();
        time::advance(ms(100)).await;
        assert_elapsed!(before, ms(100));
        assert_pending!(sleep.poll());
    });
}

#[test]
fn sleep_no_poll() {
    each_flavour(true, || async {
        let start = Instant::now();
        // TODO: Skip this
        time::advance(ms(1)).await;
        let mut sleep = task::spawn(time::sleep_until(start + ms(300)));
        let before = Instant::now();
        time::advance(ms(100)).await;
        assert_elapsed!(before, ms(100));
        assert_pending!(sleep.poll());
    });
}

enum State {
    Begin,
    AwaitingAdvance(Pin<Box<dyn Future<Output = ()>>>),
    AfterAdvance,
}

struct Tester {
    sleep: Pin<Box<Sleep>>,
    state: State,
    before: Option<Instant>,
    poll: bool,
}

impl Future for Tester {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.state {
            State::Begin => {
                if self.poll {
                    assert_pending!(self.sleep.as_mut().poll(cx));
                }
                self.before = Some(Instant::now());
                let advance_fut = Box::pin(time::advance(ms(100)));
                self.state = State::AwaitingAdvance(advance_fut);
                self.poll(cx)
            }
            State::AwaitingAdvance(ref mut advance_fut) => match advance_fut.as_mut().poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(()) => {
                    self.state = State::AfterAdvance;
                    self.poll(cx)
                }
            },
            State::AfterAdvance => {
                assert_elapsed!(self.before.unwrap(), ms(100));
                assert_pending!(self.sleep.as_mut().poll(cx));
                Poll::Ready(())
            }
        }
    }
}

#[test]
fn sleep_same_task() {
    each_flavour(true, || async {
        let start = Instant::now();
        // TODO: Skip this
        time::advance(ms(1)).await;
        let sleep = Box::pin(time::sleep_until(start + ms(300)));
        Tester {
            sleep,
            state: State::Begin,
            before: None,
            poll: true,
        }
        .await;
    });
}

#[test]
fn sleep_same_task_no_poll() {
    each_flavour(true, || async {
        let start = Instant::now();
        // TODO: Skip this
        time::advance(ms(1)).await;
        let sleep = Box::pin(time::sleep_until(start + ms(300)));
        Tester {
            sleep,
            state: State::Begin,
            before: None,
            poll: false,
        }
        .await;
    });
}

fn poll_next(interval: &mut task::Spawn<time::Interval>) -> Poll<Instant> {
    interval.enter(|cx, mut interval| interval.poll_tick(cx))
}

#[test]
fn interval() {
    each_flavour(true, || async {
        let start = Instant::now();
        // TODO: Skip this
        time::advance(ms(1)).await;
        let mut i = task::spawn(time::interval_at(start, ms(300)));
        assert_ready_eq!(poll_next(&mut i), start);
        assert_pending!(poll_next(&mut i));

        let before = Instant::now();
        time::advance(ms(100)).await;
        assert_elapsed!(before, ms(100));
        assert_pending!(poll_next(&mut i));

        let before = Instant::now();
        time::advance(ms(200)).await;
        assert_elapsed!(before, ms(200));
        assert_ready_eq!(poll_next(&mut i), start + ms(300));
        assert_pending!(poll_next(&mut i));

        let before = Instant::now();
        time::advance(ms(400)).await;
        assert_elapsed!(before, ms(400));
        assert_ready_eq!(poll_next(&mut i), start + ms(600));
        assert_pending!(poll_next(&mut i));

        let before = Instant::now();
        time::advance(ms(500)).await;
        assert_elapsed!(before, ms(500));
        assert_ready_eq!(poll_next(&mut i), start + ms(900));
        assert_ready_eq!(poll_next(&mut i), start + ms(1200));
        assert_pending!(poll_next(&mut i));
    });
}

#[test]
fn test_time_advance_sub_ms() {
    each_flavour(true, || async {
        let now = Instant::now();
        let dur = Duration::from_micros(51_592);
        time::advance(dur).await;
        assert_eq!(now.elapsed(), dur);

        let now = Instant::now();
        let dur = Duration::from_micros(1);
        time::advance(dur).await;
        assert_eq!(now.elapsed(), dur);
    });
}

#[test]
fn test_time_advance_3ms_and_change() {
    each_flavour(true, || async {
        let now = Instant::now();
        let dur = Duration::from_micros(3_141_592);
        time::advance(dur).await;
        assert_eq!(now.elapsed(), dur);

        let now = Instant::now();
        let dur = Duration::from_micros(3_123_456);
        time::advance(dur).await;
        assert_eq!(now.elapsed(), dur);
    });
}

#[test]
fn regression_3710_with_submillis_advance() {
    each_flavour(true, || async {
        let start = Instant::now();
        time::advance(Duration::from_millis(1)).await;
        let mut sleep = task::spawn(time::sleep_until(start + Duration::from_secs(60)));
        assert_pending!(sleep.poll());

        let before = Instant::now();
        let dur = Duration::from_micros(51_592);
        time::advance(dur).await;
        assert_eq!(before.elapsed(), dur);
        assert_pending!(sleep.poll());
    });
}

#[test]
fn exact_1ms_advance() {
    each_flavour(true, || async {
        let now = Instant::now();
        let dur = Duration::from_millis(1);
        time::advance(dur).await;
        assert_eq!(now.elapsed(), dur);

        let now = Instant::now();
        let dur = Duration::from_millis(1);
        time::advance(dur).await;
        assert_eq!(now.elapsed(), dur);
    });
}

#[test]
fn advance_once_with_timer() {
    each_flavour(true, || async {
        let mut sleep = task::spawn(time::sleep(Duration::from_millis(1)));
        assert_pending!(sleep.poll());

        time::advance(Duration::from_micros(250)).await;
        assert_pending!(sleep.poll());

        time::advance(Duration::from_micros(1500)).await;
        assert!(sleep.is_woken());
        assert_ready!(sleep.poll());
    });
}

#[test]
fn advance_multi_with_timer() {
    each_flavour(true, || async {
        let mut sleep = task::spawn(time::sleep(Duration::from_millis(1)));
        assert_pending!(sleep.poll());

        time::advance(Duration::from_micros(250)).await;
        assert_pending!(sleep.poll());
        time::advance(Duration::from_micros(250)).await;
        assert_pending!(sleep.poll());
        time::advance(Duration::from_micros(250)).await;
        assert_pending!(sleep.poll());
        time::advance(Duration::from_micros(250)).await;
        assert!(sleep.is_woken());
        assert_ready!(sleep.poll());
    });
}

// ---- tokio's rt_time_start_paused.rs ----

#[test]
fn test_start_paused() {
    within(10, test_start_paused_body);
}

#[weft::main(flavor = "current_thread", start_paused = true)]
async fn test_start_paused_body() {
    let now = Instant::now();
    // Pause a few times w/ std sleep and ensure `now` stays the same
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(1));
        assert_eq!(now, Instant::now());
    }
}

/// The same on the multi-thread runtime (tokio's macro refuses
/// `start_paused` there).
#[test]
fn test_start_paused_multi_thread() {
    within(10, test_start_paused_multi_thread_body);
}

#[weft::main(flavor = "multi_thread", worker_threads = 2, start_paused = true)]
async fn test_start_paused_multi_thread_body() {
    let now = Instant::now();
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(1));
        assert_eq!(now, Instant::now());
    }
    let in_task = weft::spawn(async { Instant::now() }).await.unwrap();
    assert_eq!(in_task, now);
}

// ---- weft's own ----

/// A paused `sleep(d)` takes exactly `d` of virtual time, wherever inside a
/// millisecond the clock stands (tokio's takes up to a millisecond more,
/// tokio#6866).
#[test]
fn sleep_takes_exactly_its_duration() {
    each_flavour(true, || async {
        let durations = [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_micros(300),
            ms(1),
            Duration::from_nanos(1_000_001),
            Duration::from_micros(2_500),
            ms(64),
            Duration::from_nanos(4_096_000_001),
            Duration::from_secs(3600),
        ];
        for offset in [0, 1, 123_456, 999_999] {
            time::advance(Duration::from_nanos(offset)).await;
            for d in durations {
                let start = Instant::now();
                time::sleep(d).await;
                assert_eq!(start.elapsed(), d, "sleep({d:?}) from {offset} ns in");
                let start = Instant::now();
                time::timeout(d, std::future::pending::<()>())
                    .await
                    .unwrap_err();
                assert_eq!(start.elapsed(), d, "timeout({d:?}) from {offset} ns in");
            }
        }
    });
}

/// Sleeps in spawned tasks wake at their deadlines, in deadline order,
/// each seeing its deadline as `now`.
#[test]
fn spawned_sleeps_wake_in_order_at_their_deadlines() {
    each_flavour(true, || async {
        let start = Instant::now();
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (i, d) in [700u64, 5, 300, 5, 1_000_001, 64_000_000, 0]
            .into_iter()
            .enumerate()
        {
            let log = Arc::clone(&log);
            tasks.push(weft::spawn(async move {
                time::sleep(Duration::from_micros(d)).await;
                log.lock().unwrap().push((d, i, Instant::now()));
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let log = log.lock().unwrap().clone();
        for (d, i, at) in &log {
            assert_eq!(*at, start + Duration::from_micros(*d), "task {i}");
        }
        let order: Vec<u64> = log.iter().map(|(d, _, _)| *d).collect();
        assert!(order.windows(2).all(|w| w[0] <= w[1]), "{order:?}");
    });
}

/// `advance` past timers fires them, in deadline order, before it returns;
/// the clock lands exactly `d` later (not on a timer's deadline).
#[test]
fn advance_fires_the_timers_due_mid_way() {
    each_flavour(true, || async {
        let start = Instant::now();
        let mut early = task::spawn(time::sleep(ms(10)));
        let mut late = task::spawn(time::sleep(ms(40)));
        assert_pending!(early.poll());
        assert_pending!(late.poll());
        // Three more, each logging its duration when its waker is woken.
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut logged: Vec<_> = [15, 5, 10]
            .into_iter()
            .map(|d| (Box::pin(time::sleep(ms(d))), WakeLog::waker(d, &log)))
            .collect();
        for (sleep, waker) in &mut logged {
            assert_pending!(sleep.as_mut().poll(&mut Context::from_waker(waker)));
        }
        time::advance(ms(25)).await;
        assert_eq!(start.elapsed(), ms(25));
        assert!(early.is_woken(), "a timer due mid-way fired");
        assert_ready!(early.poll());
        assert!(!late.is_woken(), "a later one did not");
        assert_pending!(late.poll());
        assert_eq!(*log.lock().unwrap(), [5, 10, 15], "in deadline order");
        for (sleep, waker) in &mut logged {
            assert_ready!(sleep.as_mut().poll(&mut Context::from_waker(waker)));
        }
        assert_eq!(start.elapsed(), ms(25), "nothing auto-advanced");
    });
}

/// A waker that logs its id when woken.
struct WakeLog(u64, Arc<Mutex<Vec<u64>>>);

impl WakeLog {
    fn waker(id: u64, log: &Arc<Mutex<Vec<u64>>>) -> std::task::Waker {
        std::task::Waker::from(Arc::new(WakeLog(id, Arc::clone(log))))
    }
}

impl std::task::Wake for WakeLog {
    fn wake(self: Arc<Self>) {
        self.1.lock().unwrap().push(self.0);
    }
}

/// The `block_on` future counts as running from its wake to the end of
/// its poll: a worker going idle meanwhile must not auto-advance (here past
/// a ticker's next millisecond) before it has looked at the clock.
#[test]
fn auto_advance_waits_for_a_woken_block_on_future() {
    for workers in [1, 2] {
        within(30, move || {
            paused_rt(workers).block_on(async {
                let ticker = weft::spawn(async {
                    for _ in 0..400 {
                        time::sleep(ms(1)).await;
                    }
                });
                for round in 0..200 {
                    let start = Instant::now();
                    time::sleep(Duration::from_micros(1500)).await;
                    assert_eq!(
                        start.elapsed(),
                        Duration::from_micros(1500),
                        "round {round}"
                    );
                }
                ticker.await.unwrap();
            })
        });
    }
}

/// issue 15: a paused multi-thread runtime with two workers auto-advances
/// through 10,000 sleeps of random virtual lengths, in spawned tasks: each
/// wakes at its deadline exactly, and they wake in deadline order (equal
/// deadlines in any order). Real time: well under a second (not asserted).
#[test]
fn multi_thread_auto_advances_through_10_000_random_sleeps_in_order() {
    within(60, || {
        paused_rt(2).block_on(async {
            const SLEEPS: usize = 10_000;
            let start = Instant::now();
            let log = Arc::new(Mutex::new(Vec::with_capacity(SLEEPS)));
            let mut rng = Rng(0x5eed_1234_abcd_0001);
            let mut longest = Duration::ZERO;
            let tasks: Vec<_> = (0..SLEEPS)
                .map(|i| {
                    // Half whole milliseconds (equal deadlines), half to the
                    // nanosecond.
                    let d = if i % 2 == 0 {
                        ms(rng.below(1000))
                    } else {
                        Duration::from_nanos(rng.below(1_000_000_000))
                    };
                    longest = longest.max(d);
                    let log = Arc::clone(&log);
                    weft::spawn(async move {
                        let begin = Instant::now();
                        time::sleep(d).await;
                        log.lock().unwrap().push((begin, begin + d, Instant::now()));
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            let log = log.lock().unwrap();
            assert_eq!(log.len(), SLEEPS);
            for (begin, deadline, woke) in log.iter() {
                assert_eq!(*begin, start, "the clock moved while tasks were spawned");
                assert_eq!(woke, deadline, "woke off its deadline");
            }
            assert!(
                log.windows(2).all(|w| w[0].1 <= w[1].1),
                "woke out of deadline order"
            );
            assert_eq!(start.elapsed(), longest);
        })
    });
}

/// Timers made on both workers (so in both workers' shards, and some in
/// the shard of threads that are no worker's), each awaited in deadline
/// order: auto-advance jumps to the earliest deadline over every shard, so
/// each sleep ends exactly at its deadline, and the clock stops at the
/// last.
#[test]
fn multi_thread_auto_advances_over_timers_on_both_workers() {
    within(60, || {
        paused_rt(2).block_on(async {
            let start = Instant::now();
            // Two tasks that run at once, so on the two workers: each waits
            // (blocking its thread) until the other has started.
            let meet = Arc::new(std::sync::Barrier::new(2));
            let workers: Vec<_> = (0..2u64)
                .map(|w| {
                    let meet = Arc::clone(&meet);
                    weft::spawn(async move {
                        meet.wait();
                        let mut rng = Rng(0x5eed_0000_0000_0001 + w);
                        // Every sleep is made here, on this worker's thread.
                        let mut sleeps: Vec<_> = (0..200)
                            .map(|_| {
                                let d = Duration::from_nanos(rng.below(2_000_000_000));
                                (d, time::sleep(d))
                            })
                            .collect();
                        sleeps.sort_by_key(|(d, _)| *d);
                        let me = std::thread::current().id();
                        let mut woke = Vec::new();
                        for (d, sleep) in sleeps {
                            sleep.await;
                            woke.push((start + d, Instant::now()));
                        }
                        (me, woke)
                    })
                })
                .collect();
            // And some from this (non-worker) thread.
            let mut rng = Rng(0x5eed_0000_0000_0003);
            let mut mine: Vec<_> = (0..50)
                .map(|_| {
                    let d = Duration::from_nanos(rng.below(2_000_000_000));
                    (d, time::sleep(d))
                })
                .collect();
            mine.sort_by_key(|(d, _)| *d);
            let mut last = Duration::ZERO;
            for (d, sleep) in mine {
                sleep.await;
                assert_eq!(Instant::now(), start + d, "woke off its deadline");
                last = last.max(d);
            }
            let mut threads = Vec::new();
            for worker in workers {
                let (thread, woke) = worker.await.unwrap();
                threads.push(thread);
                for (deadline, at) in woke {
                    assert_eq!(at, deadline, "woke off its deadline");
                    last = last.max(deadline - start);
                }
            }
            assert_ne!(threads[0], threads[1], "both ran on one worker");
            // The clock moved only to deadlines, and no further than the
            // last one.
            assert_eq!(start.elapsed(), last);
        })
    });
}

/// The paused clock is per runtime: another runtime's clock runs on.
#[test]
fn the_clock_is_per_runtime() {
    within(10, || {
        let paused = paused_rt(0);
        let running = paused::builder(0).build().unwrap();
        let frozen = paused.block_on(async { Instant::now() });
        let outside = running.block_on(async {
            let before = Instant::now();
            while before.elapsed().is_zero() {
                std::hint::spin_loop();
            }
            Instant::now()
        });
        assert!(outside > frozen, "the running clock moved on");
        assert_eq!(paused.block_on(async { Instant::now() }), frozen);
    });
}

/// tokio's panics, word for word.
#[test]
fn misuse_panics_with_tokio_s_messages() {
    for workers in FLAVOURS {
        within(10, move || {
            let rt = paused_rt(workers);
            let twice =
                rt.block_on(async { weft::spawn(async { time::pause() }).await.unwrap_err() });
            assert!(panic_text(twice).contains("time is already frozen"));
            let rt = paused::builder(workers).build().unwrap();
            let resume =
                rt.block_on(async { weft::spawn(async { time::resume() }).await.unwrap_err() });
            assert!(panic_text(resume).contains("time is not frozen"));
            let advance =
                rt.block_on(async { weft::spawn(time::advance(ms(1))).await.unwrap_err() });
            assert!(panic_text(advance).contains("time is not frozen"));
        });
    }
    let outside = std::panic::catch_unwind(time::pause).unwrap_err();
    let text = outside
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| outside.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap();
    assert!(text.contains("outside the weft runtime"), "{text}");
}

fn panic_text(e: weft::task::JoinError) -> String {
    let payload = e.into_panic();
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// After `resume` the clock runs from where it stood and timers fire in
/// real time again.
#[test]
fn resume_runs_on_from_the_virtual_reading() {
    each_flavour(true, || async {
        let start = Instant::now();
        time::advance(Duration::from_secs(10)).await;
        let sleeper = weft::spawn(async {
            time::sleep(ms(2)).await;
            Instant::now()
        });
        weft::task::yield_now().await;
        time::resume();
        let woke = sleeper.await.unwrap();
        assert!(woke >= start + Duration::from_secs(10) + ms(2));
        assert!(Instant::now() >= woke);
    });
}

/// `advance(Duration::MAX)` does not overflow: it moves about 30 years,
/// past a `sleep(Duration::MAX)`'s clamped deadline.
#[test]
fn advance_by_the_largest_duration_fires_the_farthest_sleep() {
    each_flavour(true, || async {
        let mut sleep = task::spawn(time::sleep(Duration::MAX));
        assert_pending!(sleep.poll());
        let start = Instant::now();
        time::advance(Duration::MAX).await;
        assert!(start.elapsed() > Duration::from_secs(86_400 * 365 * 29));
        assert_ready!(sleep.poll());
    });
}

/// A `block_on` future that finished still holds a timer until it is
/// dropped (a `timeout`'s sleep): the idle workers must not jump to it in
/// between (found by review: 18 rounds in 20,000 jumped 100 s).
#[test]
fn a_finished_block_on_future_is_dropped_before_the_clock_may_jump() {
    let jumped = within(300, || {
        let rt = paused_rt(2);
        let mut jumped = 0;
        for _ in 0..10_000 {
            let start = rt.block_on(async { Instant::now() });
            let finished = {
                let _in = rt.enter();
                time::timeout(Duration::from_secs(100), weft::task::yield_now())
            };
            let _ = rt.block_on(finished);
            let end = rt.block_on(async { Instant::now() });
            if end != start {
                eprintln!("jumped by {:?}", end - start);
                jumped += 1;
            }
        }
        jumped
    });
    assert_eq!(
        jumped, 0,
        "rounds where the clock jumped to a dropped timeout"
    );
}

/// current_thread: a second thread's `Handle::block_on` future woken by a
/// timer holds the clock back until it has been polled, though another
/// thread runs the loop (found by review: every round jumped past it).
#[test]
fn a_second_thread_s_block_on_holds_the_clock_on_current_thread() {
    for workers in [0, 2] {
        let late = within(120, move || {
            let mut late = 0;
            for _ in 0..100 {
                let rt = paused_rt(workers);
                let handle = rt.handle().clone();
                let seen = rt.block_on(async move {
                    let start = Instant::now();
                    let (registered_tx, registered) = std::sync::mpsc::channel();
                    let (tx, rx) = weft::sync::oneshot::channel();
                    std::thread::spawn(move || {
                        handle.block_on(async move {
                            let mut sleep = std::pin::pin!(time::sleep(ms(10)));
                            // Register the timer, then let the loop go on.
                            std::future::poll_fn(|cx| {
                                let _ = sleep.as_mut().poll(cx);
                                Poll::Ready(())
                            })
                            .await;
                            registered_tx.send(()).unwrap();
                            sleep.await;
                            let _ = tx.send(start.elapsed());
                        })
                    });
                    registered.recv().unwrap();
                    time::sleep(ms(20)).await;
                    rx.await.unwrap()
                });
                if seen != ms(10) {
                    late += 1;
                }
            }
            late
        });
        assert_eq!(
            late, 0,
            "workers {workers}: rounds where the clock jumped past the sleep"
        );
    }
}

#[weft::test(start_paused = true)]
async fn the_test_macro_starts_paused_on_current_thread() {
    let start = Instant::now();
    time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3600));
}

#[weft::test(flavor = "multi_thread", worker_threads = 2, start_paused = true)]
async fn the_test_macro_starts_paused_on_multi_thread() {
    let start = Instant::now();
    time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3600));
}

/// Polls `future` to completion on this plain thread, parking between polls.
fn park_on<F: Future>(future: F) -> F::Output {
    struct Unparker(std::thread::Thread);
    impl std::task::Wake for Unparker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unparker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

/// A timer made and awaited on a plain thread (entered into the runtime,
/// counted by nothing) while the runtime, otherwise idle, waits for it: its
/// insert must end the paused driver's wait wherever it lands, also between
/// the auto-advance's look at the wheels and the blocking wait (a review
/// found that window lost the insert: the driver then slept forever).
#[test]
fn a_timer_from_an_uncounted_thread_wakes_an_idle_paused_driver() {
    within(120, || {
        for workers in FLAVOURS {
            for _ in 0..100 {
                let rt = paused_rt(workers);
                let handle = rt.handle().clone();
                let (tx, rx) = weft::sync::oneshot::channel();
                let sleeper = std::thread::spawn(move || {
                    let _enter = handle.enter();
                    park_on(time::sleep(ms(10)));
                    let _ = tx.send(());
                });
                rt.block_on(async { rx.await.expect("the sleeper sends") });
                sleeper.join().expect("sleeper");
            }
        }
    });
}
