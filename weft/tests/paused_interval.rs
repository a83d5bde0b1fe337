//! `Interval` on a paused clock: the paused-clock tests of tokio's
//! tests/time_interval.rs, converted by renaming, each run on a
//! current-thread runtime and on multi-thread ones with one and two
//! workers. tokio's `advance(ms(1))` at the start ("the timer is only so
//! granular") is kept, so the expected instants stay tokio's; weft needs it
//! no more (see `ticks_land_exactly_without_the_extra_millisecond`).

mod common;
mod paused;

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use paused::{each_flavour, ms};
use tokio_test::{assert_pending, assert_ready, assert_ready_eq, task};
use weft::time::{self, Instant, Interval, MissedTickBehavior};

// Takes the `Interval` task, `start` variable, and optional time deltas
// For each time delta, it polls the `Interval` and asserts that the result is
// equal to `start` + the specific time delta. Then it asserts that the
// `Interval` is pending.
macro_rules! check_interval_poll {
    ($i:ident, $start:ident, $($delta:expr),*$(,)?) => {
        $(
            assert_ready_eq!(poll_next(&mut $i), $start + ms($delta));
        )*
        assert_pending!(poll_next(&mut $i));
    };
    ($i:ident, $start:ident) => {
        check_interval_poll!($i, $start,);
    };
}

fn poll_next(interval: &mut task::Spawn<time::Interval>) -> Poll<Instant> {
    interval.enter(|cx, mut interval| interval.poll_tick(cx))
}

#[test]
fn burst() {
    each_flavour(true, || async {
        let start = Instant::now();
        time::advance(ms(1)).await;
        let mut i = task::spawn(time::interval_at(start, ms(300)));
        check_interval_poll!(i, start, 0);
        time::advance(ms(100)).await;
        check_interval_poll!(i, start);
        time::advance(ms(200)).await;
        check_interval_poll!(i, start, 300);
        time::advance(ms(650)).await;
        check_interval_poll!(i, start, 600, 900);
        time::advance(ms(200)).await;
        check_interval_poll!(i, start);
        time::advance(ms(100)).await;
        check_interval_poll!(i, start, 1200);
        time::advance(ms(250)).await;
        check_interval_poll!(i, start, 1500);
        time::advance(ms(300)).await;
        check_interval_poll!(i, start, 1800);
    });
}

#[test]
fn delay() {
    each_flavour(true, || async {
        let start = Instant::now();
        time::advance(ms(1)).await;
        let mut i = task::spawn(time::interval_at(start, ms(300)));
        i.set_missed_tick_behavior(MissedTickBehavior::Delay);
        check_interval_poll!(i, start, 0);
        time::advance(ms(100)).await;
        check_interval_poll!(i, start);
        time::advance(ms(200)).await;
        check_interval_poll!(i, start, 300);
        time::advance(ms(650)).await;
        check_interval_poll!(i, start, 600);
        time::advance(ms(100)).await;
        check_interval_poll!(i, start);
        time::advance(ms(201)).await;
        check_interval_poll!(i, start, 1251);
        time::advance(ms(300)).await;
        check_interval_poll!(i, start, 1551);
        time::advance(ms(300)).await;
        check_interval_poll!(i, start, 1851);
    });
}

#[test]
fn skip() {
    each_flavour(true, || async {
        let start = Instant::now();
        time::advance(ms(1)).await;
        let mut i = task::spawn(time::interval_at(start, ms(300)));
        i.set_missed_tick_behavior(MissedTickBehavior::Skip);
        check_interval_poll!(i, start, 0);
        time::advance(ms(100)).await;
        check_interval_poll!(i, start);
        time::advance(ms(200)).await;
        check_interval_poll!(i, start, 300);
        time::advance(ms(650)).await;
        check_interval_poll!(i, start, 600);
        time::advance(ms(250)).await;
        check_interval_poll!(i, start, 1200);
        time::advance(ms(300)).await;
        check_interval_poll!(i, start, 1500);
        time::advance(ms(300)).await;
        check_interval_poll!(i, start, 1800);
    });
}

#[test]
fn reset() {
    each_flavour(true, || async {
        let start = Instant::now();
        time::advance(ms(1)).await;
        let mut i = task::spawn(time::interval_at(start, ms(300)));
        check_interval_poll!(i, start, 0);
        time::advance(ms(100)).await;
        check_interval_poll!(i, start);
        time::advance(ms(200)).await;
        check_interval_poll!(i, start, 300);
        time::advance(ms(100)).await;
        check_interval_poll!(i, start);
        i.reset();
        time::advance(ms(250)).await;
        check_interval_poll!(i, start);
        time::advance(ms(50)).await;
        check_interval_poll!(i, start, 701);
        time::advance(ms(300)).await;
        check_interval_poll!(i, start, 1001);
    });
}

#[test]
fn reset_immediately() {
    each_flavour(true, || async {
        let start = Instant::now();
        time::advance(ms(1)).await;
        let mut i = task::spawn(time::interval_at(start, ms(300)));
        check_interval_poll!(i, start, 0);
        time::advance(ms(100)).await;
        check_interval_poll!(i, start);
        time::advance(ms(200)).await;
        check_interval_poll!(i, start, 300);
        time::advance(ms(100)).await;
        check_interval_poll!(i, start);
        i.reset_immediately();
        check_interval_poll!(i, start, 401);
        time::advance(ms(100)).await;
        check_interval_poll!(i, start);
        time::advance(ms(200)).await;
        check_interval_poll!(i, start, 701);
    });
}

#[test]
fn reset_after() {
    each_flavour(true, || async {
        let start = Instant::now();
        time::advance(ms(1)).await;
        let mut i = task::spawn(time::interval_at(start, ms(300)));
        check_interval_poll!(i, start, 0);
        time::advance(ms(100)).await;
        check_interval_poll!(i, start);
        time::advance(ms(200)).await;
        check_interval_poll!(i, start, 300);
        time::advance(ms(100)).await;
        check_interval_poll!(i, start);
        i.reset_after(Duration::from_millis(20));
        time::advance(ms(20)).await;
        check_interval_poll!(i, start, 421);
        time::advance(ms(100)).await;
        check_interval_poll!(i, start);
        time::advance(ms(200)).await;
        check_interval_poll!(i, start, 721);
    });
}

#[test]
fn reset_at() {
    each_flavour(true, || async {
        let start = Instant::now();
        time::advance(ms(1)).await;
        let mut i = task::spawn(time::interval_at(start, ms(300)));
        check_interval_poll!(i, start, 0);
        time::advance(ms(100)).await;
        check_interval_poll!(i, start);
        time::advance(ms(200)).await;
        check_interval_poll!(i, start, 300);
        time::advance(ms(100)).await;
        check_interval_poll!(i, start);
        i.reset_at(Instant::now() + Duration::from_millis(40));
        time::advance(ms(40)).await;
        check_interval_poll!(i, start, 441);
        time::advance(ms(100)).await;
        check_interval_poll!(i, start);
        time::advance(ms(200)).await;
        check_interval_poll!(i, start, 741);
    });
}

#[test]
fn reset_at_bigger_than_interval() {
    each_flavour(true, || async {
        let start = Instant::now();
        time::advance(ms(1)).await;
        let mut i = task::spawn(time::interval_at(start, ms(300)));
        check_interval_poll!(i, start, 0);
        time::advance(ms(100)).await;
        check_interval_poll!(i, start);
        time::advance(ms(200)).await;
        check_interval_poll!(i, start, 300);
        time::advance(ms(100)).await;
        check_interval_poll!(i, start);
        i.reset_at(Instant::now() + Duration::from_millis(1000));
        // Validate the interval does not tick until 1000ms have passed
        time::advance(ms(300)).await;
        check_interval_poll!(i, start);
        time::advance(ms(300)).await;
        check_interval_poll!(i, start);
        time::advance(ms(300)).await;
        check_interval_poll!(i, start);
        time::advance(ms(100)).await;
        check_interval_poll!(i, start, 1401);
        time::advance(ms(300)).await;
        check_interval_poll!(i, start, 1701);
    });
}

/// Helper struct to test the [weft::time::Interval::poll_tick()] method.
///
/// `poll_tick()` should register the waker in the context only if it returns
/// `Poll::Pending`, not when returning `Poll::Ready`. This struct contains an
/// interval timer and counts up on every tick when used as stream. When the
/// counter is a multiple of four, it yields the current counter value.
/// Depending on the value for `wake_on_pending`, it will reschedule itself when
/// it returns `Poll::Pending` or not. When used with `wake_on_pending=false`,
/// we expect that the stream stalls because the timer will **not** reschedule
/// the next wake-up itself once it returned `Poll::Ready`.
struct IntervalStreamer {
    counter: u32,
    timer: Interval,
    wake_on_pending: bool,
}

impl Stream for IntervalStreamer {
    type Item = u32;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = Pin::into_inner(self);
        if this.counter > 12 {
            return Poll::Ready(None);
        }
        match this.timer.poll_tick(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => {
                this.counter += 1;
                if this.counter % 4 == 0 {
                    Poll::Ready(Some(this.counter))
                } else {
                    if this.wake_on_pending {
                        // Schedule this task for wake-up
                        cx.waker().wake_by_ref();
                    }
                    Poll::Pending
                }
            }
        }
    }
}

#[test]
fn stream_with_interval_poll_tick_self_waking() {
    each_flavour(true, || async {
        let stream = IntervalStreamer {
            counter: 0,
            timer: weft::time::interval(weft::time::Duration::from_millis(10)),
            wake_on_pending: true,
        };

        let (res_tx, mut res_rx) = weft::sync::mpsc::channel(12);

        // Wrap task in timeout so that it will finish eventually even if the stream
        // stalls.
        weft::spawn(weft::time::timeout(
            weft::time::Duration::from_millis(150),
            async move {
                weft::pin!(stream);

                while let Some(item) = stream.next().await {
                    res_tx.send(item).await.ok();
                }
            },
        ));

        let mut items = Vec::with_capacity(3);
        while let Some(result) = res_rx.recv().await {
            items.push(result);
        }

        // We expect the stream to yield normally and thus three items.
        assert_eq!(items, vec![4, 8, 12]);
    });
}

#[test]
fn stream_with_interval_poll_tick_no_waking() {
    each_flavour(true, || async {
        let stream = IntervalStreamer {
            counter: 0,
            timer: weft::time::interval(weft::time::Duration::from_millis(10)),
            wake_on_pending: false,
        };

        let (res_tx, mut res_rx) = weft::sync::mpsc::channel(12);

        // Wrap task in timeout so that it will finish eventually even if the stream
        // stalls.
        weft::spawn(weft::time::timeout(
            weft::time::Duration::from_millis(150),
            async move {
                weft::pin!(stream);

                while let Some(item) = stream.next().await {
                    res_tx.send(item).await.ok();
                }
            },
        ));

        let mut items = Vec::with_capacity(0);
        while let Some(result) = res_rx.recv().await {
            items.push(result);
        }

        // We expect the stream to stall because it does not reschedule itself on
        // `Poll::Pending` and neither does [weft::time::Interval] reschedule the
        // task when returning `Poll::Ready`.
        assert_eq!(items, vec![]);
    });
}

#[test]
fn interval_doesnt_panic_max_duration_when_polling() {
    each_flavour(true, || async {
        let mut timer = task::spawn(time::interval(Duration::MAX));
        assert_ready!(timer.enter(|cx, mut timer| timer.poll_tick(cx)));
    });
}

// ---- weft's own ----

/// Without tokio's extra millisecond: ticks come at exactly `start + n *
/// period`, by `advance` and by auto-advance alike.
#[test]
fn ticks_land_exactly_without_the_extra_millisecond() {
    each_flavour(true, || async {
        let start = Instant::now();
        let mut i = task::spawn(time::interval_at(start, ms(300)));
        check_interval_poll!(i, start, 0);
        time::advance(ms(300)).await;
        check_interval_poll!(i, start, 300);
        time::advance(Duration::from_nanos(299_999_999)).await;
        check_interval_poll!(i, start);
        time::advance(Duration::from_nanos(1)).await;
        check_interval_poll!(i, start, 600);
        let mut interval = time::interval(Duration::from_micros(2_500));
        let begin = Instant::now();
        for n in 0..10u32 {
            let due = interval.tick().await;
            assert_eq!(due, begin + Duration::from_micros(2_500) * n);
            assert_eq!(Instant::now(), due, "tick {n} observed off its deadline");
        }
    });
}
