//! `Interval`: ticks at a fixed period.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use super::{sleep_until, Instant, Sleep};

/// Ticks every `period`, the first tick completing at once.
///
/// # Panics
///
/// If `period` is zero (a zero period would tick in a busy loop), or outside
/// a weft runtime.
///
/// ```
/// use std::time::Duration;
/// use weft::time::{interval, Instant};
///
/// #[weft::main]
/// async fn main() {
///     let start = Instant::now();
///     let mut ticks = interval(Duration::from_millis(2));
///     for _ in 0..3 {
///         ticks.tick().await;
///     }
///     assert!(start.elapsed() >= Duration::from_millis(4));
/// }
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first tick completing at `start`.
///
/// # Panics
///
/// If `period` is zero, or outside a weft runtime.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        period > Duration::ZERO,
        "weft::time::interval: `period` must be non-zero"
    );
    Interval {
        delay: sleep_until(start),
        period,
        missed_tick_behavior: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does when ticks were missed because the task was
/// busy (or the runtime blocked) past one or more deadlines.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back until caught up, keeping the
    /// original schedule (the default).
    #[default]
    Burst,
    /// Fire once now and schedule the next tick a full period from now.
    Delay,
    /// Fire once now and skip to the next tick on the original schedule.
    Skip,
}

impl MissedTickBehavior {
    /// The deadline after a tick that was due at `due` and observed at
    /// `now`.
    fn next(self, due: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => due.saturating_add(period),
            MissedTickBehavior::Delay => now.saturating_add(period),
            MissedTickBehavior::Skip => {
                let behind = now.duration_since(due).as_nanos();
                let into_period = behind % period.as_nanos();
                // `into_period < period`, so it fits in a `Duration`.
                let into_period = Duration::from_nanos(into_period as u64);
                now.saturating_add(period - into_period)
            }
        }
    }
}

/// Ticks at a fixed period; created by [`interval`] or [`interval_at`].
#[derive(Debug)]
pub struct Interval {
    delay: Sleep,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Completes at the next tick; returns the instant that tick was due.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        ready!(Pin::new(&mut self.delay).poll(cx));
        let due = self.delay.deadline();
        let now = Instant::now();
        // A tick observed within a millisecond of its deadline is on time
        // (the wheel's resolution); later than that, it was missed.
        let next = if now > due.saturating_add(Duration::from_millis(1)) {
            self.missed_tick_behavior.next(due, now, self.period)
        } else {
            due.saturating_add(self.period)
        };
        Pin::new(&mut self.delay).reset(next);
        Poll::Ready(due)
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.reset_at(Instant::now().saturating_add(self.period));
    }

    /// The next tick completes at once; later ones follow from now.
    pub fn reset_immediately(&mut self) {
        self.reset_at(Instant::now());
    }

    /// The next tick comes `after` from now.
    pub fn reset_after(&mut self, after: Duration) {
        self.reset_at(Instant::now().saturating_add(after));
    }

    /// The next tick comes at `deadline`.
    pub fn reset_at(&mut self, deadline: Instant) {
        Pin::new(&mut self.delay).reset(deadline);
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// What happens to missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets what happens to missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missed_tick_arithmetic() {
        let due = Instant::now();
        let period = Duration::from_millis(10);
        let now = due + Duration::from_millis(35);
        assert_eq!(
            MissedTickBehavior::Burst.next(due, now, period),
            due + period
        );
        assert_eq!(
            MissedTickBehavior::Delay.next(due, now, period),
            now + period
        );
        assert_eq!(
            MissedTickBehavior::Skip.next(due, now, period),
            due + Duration::from_millis(40)
        );
    }
}
