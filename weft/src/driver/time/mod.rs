//! The time driver: a timer wheel behind a lock, and the clock it runs on.
//!
//! Owns: the wheel and the runtime's clock origin. Calls: wakers.
//!
//! Ticks are whole milliseconds since the driver started. A deadline is
//! rounded *up* to a tick, so a timer never fires before its deadline. The
//! loop reads the clock after each `epoll_wait` to fire timers
//! ([`TimeShared::process`]), and once more before a blocking wait to compute
//! its timeout; inserting or cancelling a timer never reads it.
//!
//! With the `test-util` feature the clock is a [`clock::Clock`], which can
//! be paused: then every reading here is virtual, the driver jumps it to the
//! next exact deadline when the runtime is idle (`Driver::park_idle`), and a
//! reading inside a millisecond fires the timers of the next tick due by it.

#[cfg(feature = "test-util")]
pub(crate) mod clock;
mod wheel;

use std::sync::{Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::sys::lock::lock;
use wheel::Wheel;

/// About 30 years: how far ahead `sleep(Duration::MAX)` and other
/// unrepresentable deadlines are clamped to.
pub(crate) const FAR_AWAY: Duration = Duration::from_secs(86_400 * 365 * 30);
pub(crate) use wheel::{Inserted, Key};

/// The clock and wheel, shared by the loop and every `Sleep`.
pub(crate) struct TimeShared {
    origin: Instant,
    wheel: Mutex<Wheel>,
    #[cfg(feature = "test-util")]
    clock: clock::Clock,
}

impl TimeShared {
    #[cfg(not(feature = "test-util"))]
    pub(crate) fn new() -> TimeShared {
        TimeShared {
            origin: Instant::now(),
            wheel: Mutex::new(Wheel::new()),
        }
    }

    /// A clock that starts paused if `start_paused`.
    #[cfg(feature = "test-util")]
    pub(crate) fn new(start_paused: bool) -> TimeShared {
        let clock = clock::Clock::new(start_paused);
        TimeShared {
            origin: clock.now(),
            wheel: Mutex::new(Wheel::new()),
            clock,
        }
    }

    /// The runtime's clock.
    #[cfg(feature = "test-util")]
    pub(crate) fn clock(&self) -> &clock::Clock {
        &self.clock
    }

    /// The clock's reading: the system's monotonic clock, or (feature
    /// `test-util`) the runtime's clock, virtual while paused.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        #[cfg(feature = "test-util")]
        {
            self.clock.now()
        }
        #[cfg(not(feature = "test-util"))]
        {
            Instant::now()
        }
    }

    /// `instant` in nanoseconds since the origin (saturating).
    #[cfg(feature = "test-util")]
    pub(crate) fn nanos_since_origin(&self, instant: Instant) -> u64 {
        u64::try_from(instant.saturating_duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX)
    }

    /// The earliest exact deadline of a waiting timer (for tests; the
    /// driver uses [`jump_to_next_timer`](Self::jump_to_next_timer)).
    #[cfg(all(test, feature = "test-util", not(weft_loom)))]
    pub(crate) fn next_exact_deadline(&self) -> Option<Instant> {
        let nanos = self.wheel().next_exact()?;
        self.origin.checked_add(Duration::from_nanos(nanos))
    }

    /// Paused and idle: jumps the clock to the earliest exact timer
    /// deadline unless something holds auto-advance back; true if it
    /// jumped. One look under the wheel lock, so no timer is added or
    /// removed between reading the deadline, checking the inhibit count and
    /// moving the clock: whoever may still add or drop a timer (a poll in
    /// progress, a finished `block_on` future not yet dropped) holds a count
    /// from before its insert until after its removal. (Checking the count
    /// first and reading the deadline after let a `block_on` register a
    /// timer in between and see the clock jump to it.) Lock order: wheel,
    /// then clock; the clock never takes the wheel's lock.
    #[cfg(feature = "test-util")]
    pub(crate) fn jump_to_next_timer(&self) -> bool {
        let wheel = self.wheel();
        let Some(nanos) = wheel.next_exact() else {
            return false;
        };
        let Some(next) = self.origin.checked_add(Duration::from_nanos(nanos)) else {
            return false;
        };
        self.clock().auto_advance_allowed() && self.clock().advance_to(next)
    }

    pub(crate) fn wheel(&self) -> MutexGuard<'_, Wheel> {
        // A panic cannot leave the wheel half-updated (no user code runs
        // under the lock), so a poisoned lock is still consistent.
        lock(&self.wheel)
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
        let mut wheel = self.wheel();
        if wheel.next_deadline().is_some_and(|d| d <= tick) || wheel.elapsed() < tick {
            wheel.advance(tick, fired);
        }
        // A paused reading inside a millisecond (an exact deadline the
        // auto-advance jumped to, an `advance` by a fraction): the timers of
        // the next tick due by it fire too. A running clock keeps to whole
        // ticks, as without the feature.
        #[cfg(feature = "test-util")]
        if self.clock.is_paused() {
            let exact = self.nanos_since_origin(now);
            if exact % wheel::NANOS_PER_TICK != 0 {
                wheel.fire_within_next_tick(tick, exact, fired);
            }
        }
    }

    /// The runtime is shutting down: fire every timer, and make every later
    /// one due at once (the wheel's clock jumps to the end of time), so
    /// nothing waits forever on a clock that no longer runs.
    pub(crate) fn shutdown(&self, fired: &mut Vec<Waker>) {
        self.wheel().advance(u64::MAX, fired);
    }

    /// How long the loop may sleep before the next timer is due, measured
    /// from `now`; `None` when no timer waits.
    pub(crate) fn next_timeout(&self, now: Instant) -> Option<Duration> {
        let deadline = self.wheel().next_deadline()?;
        let at = self.origin + Duration::from_millis(deadline);
        Some(at.saturating_duration_since(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(feature = "test-util"))]
    fn time() -> TimeShared {
        TimeShared::new()
    }

    #[cfg(feature = "test-util")]
    fn time() -> TimeShared {
        TimeShared::new(false)
    }

    #[test]
    fn deadlines_round_up_and_saturate() {
        let time = time();
        let o = time.origin;
        assert_eq!(time.deadline_to_tick(o), 0);
        assert_eq!(time.deadline_to_tick(o + Duration::from_micros(1)), 1);
        assert_eq!(time.deadline_to_tick(o + Duration::from_millis(5)), 5);
        assert_eq!(time.deadline_to_tick(o + Duration::from_micros(5001)), 6);
        assert_eq!(time.now_to_tick(o + Duration::from_micros(5999)), 5);
    }
}

/// The paused clock's auto-advance against a model: timers with exact
/// deadlines at every level (sub-millisecond ones included), some inserted
/// while the clock moves; each jump to the next exact deadline fires exactly
/// the timers due by then (at least one), so each fires at its own deadline,
/// in deadline order.
#[cfg(all(test, feature = "test-util", not(weft_loom)))]
mod paused_tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::Arc;
    use std::task::Wake;

    /// A waker that logs its id and the clock's reading when woken.
    struct Log {
        id: usize,
        time: Arc<TimeShared>,
        log: Arc<std::sync::Mutex<Vec<(usize, Instant)>>>,
    }

    impl Wake for Log {
        fn wake(self: Arc<Self>) {
            let now = self.time.now();
            self.log.lock().unwrap().push((self.id, now));
        }
    }

    fn insert(time: &Arc<TimeShared>, deadline: Instant, waker: Waker) -> Inserted {
        let when = time.deadline_to_tick(deadline);
        time.wheel()
            .insert_exact(when, time.nanos_since_origin(deadline), waker)
    }

    /// Nanosecond offsets: within a millisecond, on millisecond edges, at
    /// every level of the wheel.
    fn offset() -> impl Strategy<Value = u64> {
        prop_oneof![
            0u64..2_000_000,
            (0u64..70).prop_map(|ms| ms * 1_000_000),
            0u64..5_000_000_000,
            0u64..400_000_000_000,
            (0u64..300_000).prop_map(|ms| ms * 1_000_000 + 999_999),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn auto_advance_fires_each_timer_at_its_exact_deadline(
            first in proptest::collection::vec(offset(), 1..60),
            later in proptest::collection::vec((offset(), 0usize..60), 0..30),
            start in 0u64..3_000_000,
        ) {
            let time = Arc::new(TimeShared::new(true));
            let log = Arc::new(std::sync::Mutex::new(Vec::new()));
            let waker = |id| Waker::from(Arc::new(Log { id, time: Arc::clone(&time), log: Arc::clone(&log) }));
            let mut fired = Vec::new();
            // Start inside a millisecond, as a test that paused late does.
            time.clock().advance(Duration::from_nanos(start)).unwrap();
            time.process(time.now(), &mut fired);
            let mut deadlines = Vec::new();
            for offset in &first {
                let deadline = time.now() + Duration::from_nanos(*offset);
                let id = deadlines.len();
                deadlines.push(deadline);
                if insert(&time, deadline, waker(id)) == Inserted::Elapsed {
                    log.lock().unwrap().push((id, time.now()));
                }
            }
            let mut later = later.into_iter();
            let mut steps = 0;
            while let Some(next) = time.next_exact_deadline() {
                steps += 1;
                prop_assert!(steps < 1000, "auto-advance does not get anywhere");
                prop_assert!(time.clock().advance_to(next));
                let before = log.lock().unwrap().len();
                time.process(time.now(), &mut fired);
                fired.drain(..).for_each(Waker::wake);
                prop_assert!(log.lock().unwrap().len() > before, "a jump fired nothing");
                // Now and then a timer is set from the new reading.
                if let Some((offset, every)) = later.next() {
                    if every % 3 == 0 {
                        let deadline = time.now() + Duration::from_nanos(offset);
                        let id = deadlines.len();
                        deadlines.push(deadline);
                        if insert(&time, deadline, waker(id)) == Inserted::Elapsed {
                            log.lock().unwrap().push((id, time.now()));
                        }
                    }
                }
            }
            let log = log.lock().unwrap().clone();
            prop_assert_eq!(log.len(), deadlines.len());
            for (id, at) in &log {
                prop_assert_eq!(*at, deadlines[*id], "timer {} fired off its deadline", id);
            }
            prop_assert!(log.windows(2).all(|w| w[0].1 <= w[1].1), "fired out of deadline order");
        }
    }
}
