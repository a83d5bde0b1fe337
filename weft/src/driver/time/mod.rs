//! The time driver: a timer wheel behind a lock, and the clock it runs on.
//!
//! Owns: the wheel and the runtime's clock origin. Calls: wakers.
//!
//! Ticks are whole milliseconds since the driver started. A deadline is
//! rounded *up* to a tick, so a timer never fires before its deadline. The
//! loop reads the clock after each `epoll_wait` to fire timers
//! ([`TimeShared::process`]), and once more before a blocking wait to compute
//! its timeout; inserting or cancelling a timer never reads it.

mod wheel;

use std::sync::{Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

use wheel::Wheel;
pub(crate) use wheel::{Inserted, Key};

/// The clock and wheel, shared by the loop and every `Sleep`.
pub(crate) struct TimeShared {
    origin: Instant,
    wheel: Mutex<Wheel>,
}

impl TimeShared {
    pub(crate) fn new() -> TimeShared {
        TimeShared {
            origin: Instant::now(),
            wheel: Mutex::new(Wheel::new()),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Wheel> {
        // A panic cannot leave the wheel half-updated (no user code runs
        // under the lock), so a poisoned lock is still consistent.
        self.wheel.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The tick at or after `instant`.
    pub(crate) fn deadline_to_tick(&self, instant: Instant) -> u64 {
        let since = instant.saturating_duration_since(self.origin);
        let ms = since.as_millis();
        let ceil = if since.subsec_nanos() % 1_000_000 == 0 {
            ms
        } else {
            ms + 1
        };
        u64::try_from(ceil).unwrap_or(u64::MAX)
    }

    /// The tick `instant` falls in (rounded down).
    fn now_to_tick(&self, instant: Instant) -> u64 {
        u64::try_from(instant.saturating_duration_since(self.origin).as_millis())
            .unwrap_or(u64::MAX)
    }

    /// Fires every timer due by `now`; returns their wakers in `fired` (woken
    /// by the caller, outside the lock).
    pub(crate) fn process(&self, now: Instant, fired: &mut Vec<Waker>) {
        let tick = self.now_to_tick(now);
        let mut wheel = self.lock();
        if wheel.next_deadline().is_some_and(|d| d <= tick) || wheel.elapsed() < tick {
            wheel.advance(tick, fired);
        }
    }

    /// The runtime is shutting down: fire every timer, and make every later
    /// one due at once (the wheel's clock jumps to the end of time), so
    /// nothing waits forever on a clock that no longer runs.
    pub(crate) fn shutdown(&self, fired: &mut Vec<Waker>) {
        self.lock().advance(u64::MAX, fired);
    }

    /// How long the loop may sleep before the next timer is due, measured
    /// from `now`; `None` when no timer waits.
    pub(crate) fn next_timeout(&self, now: Instant) -> Option<Duration> {
        let deadline = self.lock().next_deadline()?;
        let at = self.origin + Duration::from_millis(deadline);
        Some(at.saturating_duration_since(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_round_up_and_saturate() {
        let time = TimeShared::new();
        let o = time.origin;
        assert_eq!(time.deadline_to_tick(o), 0);
        assert_eq!(time.deadline_to_tick(o + Duration::from_micros(1)), 1);
        assert_eq!(time.deadline_to_tick(o + Duration::from_millis(5)), 5);
        assert_eq!(time.deadline_to_tick(o + Duration::from_micros(5001)), 6);
        assert_eq!(time.now_to_tick(o + Duration::from_micros(5999)), 5);
    }
}
