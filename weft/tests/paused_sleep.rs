//! `sleep` and `timeout` on a paused clock: the paused-clock tests of
//! tokio's tests/time_sleep.rs and time_timeout.rs, converted by renaming,
//! each run on a current-thread runtime and on multi-thread ones with one
//! and two workers. tokio-test's `assert_elapsed!` allows a millisecond
//! more; here elapsed times are exact.

mod common;
#[macro_use]
mod paused;

use std::future::{pending, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use paused::{each_flavour, ms};
use tokio_test::{assert_pending, assert_ready, assert_ready_err, assert_ready_ok, task};
use weft::sync::oneshot;
use weft::time::{self, timeout, timeout_at, Instant};

// ---- tokio's time_sleep.rs ----

#[test]
fn immediate_sleep() {
    each_flavour(true, || async {
        let now = Instant::now();
        let sleep = time::sleep_until(now);
        weft::pin!(sleep);
        assert!(!sleep.is_elapsed());
        sleep.as_mut().await;
        assert_elapsed!(now, ms(0));
        assert!(sleep.is_elapsed());
    });
}

#[test]
fn is_elapsed() {
    each_flavour(false, || async {
        time::pause();
        let sleep = time::sleep(Duration::from_millis(10));
        weft::pin!(sleep);
        assert!(!sleep.is_elapsed());
        assert!(futures_util::poll!(sleep.as_mut()).is_pending());
        assert!(!sleep.is_elapsed());
        sleep.as_mut().await;
        assert!(sleep.is_elapsed());
    });
}

#[test]
fn delayed_sleep_level_0() {
    each_flavour(false, || async {
        time::pause();
        for &i in &[1, 10, 60] {
            let now = Instant::now();
            let dur = ms(i);
            time::sleep_until(now + dur).await;
            assert_elapsed!(now, dur);
        }
    });
}

#[test]
fn sub_ms_delayed_sleep() {
    each_flavour(false, || async {
        time::pause();
        for _ in 0..5 {
            let now = Instant::now();
            let deadline = now + ms(1) + Duration::new(0, 1);
            time::sleep_until(deadline).await;
            // tokio: `assert_elapsed!(now, ms(1))`, a millisecond's slack.
            assert_elapsed!(now, ms(1) + Duration::new(0, 1));
        }
    });
}

#[test]
fn delayed_sleep_wrapping_level_0() {
    each_flavour(false, || async {
        time::pause();
        time::sleep(ms(5)).await;
        let now = Instant::now();
        time::sleep_until(now + ms(60)).await;
        assert_elapsed!(now, ms(60));
    });
}

#[test]
fn reset_future_sleep_before_fire() {
    each_flavour(false, || async {
        time::pause();
        let now = Instant::now();
        let mut sleep = task::spawn(Box::pin(time::sleep_until(now + ms(100))));
        assert_pending!(sleep.poll());
        let mut sleep = sleep.into_inner();
        sleep.as_mut().reset(Instant::now() + ms(200));
        sleep.await;
        assert_elapsed!(now, ms(200));
    });
}

#[test]
fn reset_past_sleep_before_turn() {
    each_flavour(false, || async {
        time::pause();
        let now = Instant::now();
        let mut sleep = task::spawn(Box::pin(time::sleep_until(now + ms(100))));
        assert_pending!(sleep.poll());
        let mut sleep = sleep.into_inner();
        sleep.as_mut().reset(now + ms(80));
        sleep.await;
        assert_elapsed!(now, ms(80));
    });
}

#[test]
fn reset_past_sleep_before_fire() {
    each_flavour(false, || async {
        time::pause();
        let now = Instant::now();
        let mut sleep = task::spawn(Box::pin(time::sleep_until(now + ms(100))));
        assert_pending!(sleep.poll());
        let mut sleep = sleep.into_inner();
        time::sleep(ms(10)).await;
        sleep.as_mut().reset(now + ms(80));
        sleep.await;
        assert_elapsed!(now, ms(80));
    });
}

#[test]
fn reset_future_sleep_after_fire() {
    each_flavour(false, || async {
        time::pause();
        let now = Instant::now();
        let mut sleep = Box::pin(time::sleep_until(now + ms(100)));
        sleep.as_mut().await;
        assert_elapsed!(now, ms(100));
        sleep.as_mut().reset(now + ms(110));
        sleep.await;
        assert_elapsed!(now, ms(110));
    });
}

#[test]
fn reset_sleep_to_past() {
    each_flavour(false, || async {
        time::pause();
        let now = Instant::now();
        let mut sleep = task::spawn(Box::pin(time::sleep_until(now + ms(100))));
        assert_pending!(sleep.poll());
        time::sleep(ms(50)).await;
        assert!(!sleep.is_woken());
        sleep.as_mut().reset(now + ms(40));
        assert_ready!(sleep.poll());
    });
}

#[test]
fn greater_than_max() {
    each_flavour(false, || async {
        const YR_5: u64 = 5 * 365 * 24 * 60 * 60 * 1000;
        time::pause();
        time::sleep_until(Instant::now() + ms(YR_5)).await;
    });
}

#[test]
fn multi_long_sleeps() {
    each_flavour(false, || async {
        time::pause();
        for _ in 0..5u32 {
            time::sleep(Duration::from_secs(
                // about a year
                365 * 24 * 3600,
            ))
            .await;
        }
        let deadline = Instant::now()
            + Duration::from_secs(
                // about 10 years
                10 * 365 * 24 * 3600,
            );
        time::sleep_until(deadline).await;
        assert!(Instant::now() >= deadline);
    });
}

#[test]
fn long_sleeps() {
    each_flavour(false, || async {
        time::pause();
        let deadline = Instant::now()
            + Duration::from_secs(
                // about 10 years
                10 * 365 * 24 * 3600,
            );
        time::sleep_until(deadline).await;
        // tokio: within a millisecond after the deadline.
        assert_eq!(Instant::now(), deadline);
    });
}

#[test]
fn exactly_max() {
    each_flavour(false, || async {
        time::pause();
        time::sleep(Duration::MAX).await;
    });
}

#[test]
fn issue_5183() {
    each_flavour(false, || async {
        time::pause();
        let big = std::time::Duration::from_secs(u64::MAX / 10);
        // This is a workaround since awaiting sleep(big) will never finish.
        weft::select! {
            biased;
            _ = weft::time::sleep(big) => {}
            _ = weft::time::sleep(std::time::Duration::from_nanos(1)) => {}
        }
    });
}

#[test]
fn no_out_of_bounds_close_to_max() {
    each_flavour(false, || async {
        time::pause();
        time::sleep(Duration::MAX - Duration::from_millis(1)).await;
    });
}

#[test]
fn drop_after_reschedule_at_new_scheduled_time() {
    each_flavour(false, || async {
        use futures_util::poll;

        time::pause();
        let start = Instant::now();
        let mut a = Box::pin(time::sleep(Duration::from_millis(5)));
        let mut b = Box::pin(time::sleep(Duration::from_millis(5)));
        let mut c = Box::pin(time::sleep(Duration::from_millis(10)));
        let _ = poll!(&mut a);
        let _ = poll!(&mut b);
        let _ = poll!(&mut c);
        b.as_mut().reset(start + Duration::from_millis(10));
        a.await;
        drop(b);
    });
}

type SleepList = Arc<Mutex<Vec<Pin<Box<time::Sleep>>>>>;

/// Drops every timer of the list when woken (from inside the driver's
/// batch of wake-ups).
struct DropWaker(Arc<AtomicBool>, SleepList);

impl Wake for DropWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            *self.1.lock().expect("panic in lock") = Vec::new()
        }));
        if result.is_err() {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

#[test]
fn drop_from_wake() {
    each_flavour(false, || async {
        let panicked = Arc::new(AtomicBool::new(false));
        let list: SleepList = Arc::new(Mutex::new(Vec::new()));
        let arc_wake = Waker::from(Arc::new(DropWaker(panicked.clone(), list.clone())));
        time::pause();
        {
            let mut lock = list.lock().unwrap();
            for _ in 0..100 {
                let mut timer = Box::pin(time::sleep(Duration::from_millis(10)));
                let _ = timer.as_mut().poll(&mut Context::from_waker(&arc_wake));
                lock.push(timer);
            }
        }
        time::sleep(Duration::from_millis(11)).await;
        assert!(
            !panicked.load(Ordering::SeqCst),
            "panicked when dropping timers"
        );
    });
}

// ---- tokio's time_timeout.rs (the paused-clock ones) ----

#[test]
fn future_and_deadline_in_future() {
    each_flavour(false, || async {
        time::pause();
        let (tx, rx) = oneshot::channel();
        let mut fut = task::spawn(timeout_at(Instant::now() + ms(100), rx));
        assert_pending!(fut.poll());
        time::advance(ms(90)).await;
        assert_pending!(fut.poll());
        tx.send(()).unwrap();
        assert!(fut.is_woken());
        assert_ready_ok!(fut.poll()).unwrap();
    });
}

#[test]
fn future_and_timeout_in_future() {
    each_flavour(false, || async {
        time::pause();
        let (tx, rx) = oneshot::channel();
        let mut fut = task::spawn(timeout(ms(100), rx));
        assert_pending!(fut.poll());
        time::advance(ms(90)).await;
        assert_pending!(fut.poll());
        tx.send(()).unwrap();
        assert_ready_ok!(fut.poll()).unwrap();
    });
}

#[test]
fn very_large_timeout() {
    each_flavour(false, || async {
        time::pause();
        let (tx, rx) = oneshot::channel();
        let duration_max = Duration::from_secs(u64::MAX) + Duration::from_nanos(999_999_999);
        let mut fut = task::spawn(timeout(duration_max, rx));
        assert_pending!(fut.poll());
        time::advance(Duration::from_secs(86400 * 365 * 10)).await;
        assert_pending!(fut.poll());
        tx.send(()).unwrap();
        assert_ready_ok!(fut.poll()).unwrap();
    });
}

#[test]
fn deadline_now_elapses() {
    each_flavour(false, || async {
        time::pause();
        let mut fut = task::spawn(timeout_at(Instant::now(), pending::<()>()));
        // Factor in jitter
        // TODO: don't require this
        time::advance(ms(1)).await;
        assert_ready_err!(fut.poll());
    });
}

#[test]
fn deadline_future_elapses() {
    each_flavour(false, || async {
        time::pause();
        let mut fut = task::spawn(timeout_at(Instant::now() + ms(300), pending::<()>()));
        assert_pending!(fut.poll());
        time::advance(ms(301)).await;
        assert!(fut.is_woken());
        assert_ready_err!(fut.poll());
    });
}

// ---- weft's own ----

/// With the paused clock, a deadline reached exactly (not a millisecond
/// after) elapses: no jitter to factor in.
#[test]
fn deadline_reached_exactly_elapses() {
    each_flavour(true, || async {
        let mut now = task::spawn(timeout_at(Instant::now(), pending::<()>()));
        assert_ready_err!(now.poll());
        let mut fut = task::spawn(timeout(Duration::from_micros(300_001), pending::<()>()));
        assert_pending!(fut.poll());
        time::advance(Duration::from_micros(300_000)).await;
        assert_pending!(fut.poll());
        time::advance(Duration::from_nanos(1_000)).await;
        assert!(fut.is_woken());
        assert_ready_err!(fut.poll());
    });
}

/// A future that completes at the same virtual instant as its timeout
/// wins: it is polled first.
#[test]
fn timeout_and_inner_sleep_due_together() {
    each_flavour(true, || async {
        let start = Instant::now();
        let out = timeout(ms(7), async {
            time::sleep(ms(7)).await;
            42
        })
        .await;
        assert_eq!(out, Ok(42));
        assert_eq!(start.elapsed(), ms(7));
    });
}

struct PollOnce<F>(Option<F>);

impl<F: Future + Unpin> Future for PollOnce<F> {
    type Output = Option<F>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F>> {
        let mut f = self.0.take().unwrap();
        match Pin::new(&mut f).poll(cx) {
            Poll::Ready(_) => Poll::Ready(None),
            Poll::Pending => Poll::Ready(Some(f)),
        }
    }
}

/// A sleep polled once and then dropped leaves no timer behind for the
/// auto-advance to jump to: the clock stays where it is.
#[test]
fn a_dropped_sleep_does_not_move_the_clock() {
    each_flavour(true, || async {
        let start = Instant::now();
        let left = PollOnce(Some(Box::pin(time::sleep(Duration::from_secs(5))))).await;
        assert!(left.is_some());
        drop(left);
        time::sleep(ms(1)).await;
        assert_eq!(
            start.elapsed(),
            ms(1),
            "the clock jumped to a dropped timer"
        );
    });
}
