//! The runtime's clock (feature `test-util`): real time, or virtual time
//! that stands still until advanced.
//!
//! Owns: the clock's state and the count of what holds auto-advance back.
//! Calls: nothing.
//!
//! One per runtime, inside [`TimeShared`](super::TimeShared), so every
//! `Sleep` and the driver reach it through the driver handle. While it runs,
//! `now` is `base` plus the real time since `unfrozen`; paused, it is `base`,
//! which only [`advance`](Clock::advance) (from `time::advance`) and
//! [`advance_to`](Clock::advance_to) (the driver's auto-advance) move.
//!
//! Auto-advance is held back while `inhibit > 0`. Each thing that may run
//! while every worker sleeps holds one count: a blocking-pool job in flight,
//! a multi-thread `block_on` future that is woken or being polled, a
//! `block_in_place` body. Whoever gives a count back kicks the driver
//! afterwards (when paused), so the thread parked in it looks again.

use std::sync::atomic::AtomicBool as StdAtomicBool;
use std::sync::atomic::Ordering::{Acquire, Release, SeqCst};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::sys::lock::lock;
use crate::sys::loom::AtomicUsize;

/// Set once any runtime's clock was paused: until then `time::Instant::now`
/// reads the system clock without looking for the current runtime (the cost
/// of `test-util` for code that never pauses). A `std` atomic: loom has no
/// static atomics, and this flag only ever goes from false to true.
static DID_PAUSE: StdAtomicBool = StdAtomicBool::new(false);

/// True once some clock was paused in this process.
pub(crate) fn did_pause() -> bool {
    DID_PAUSE.load(Acquire)
}

/// A runtime's source of time.
pub(crate) struct Clock {
    inner: Mutex<Inner>,
    /// Mirrors `inner.unfrozen.is_none()`, for the checks that must not
    /// lock (the driver's park, a worker going to sleep).
    paused: StdAtomicBool,
    /// Set at the first pause: until then `now` is the system clock.
    ever_paused: StdAtomicBool,
    /// Counts that hold auto-advance back (see the module docs).
    inhibit: AtomicUsize,
}

struct Inner {
    /// The clock's reading when it was last paused or moved.
    base: Instant,
    /// When the clock last started running (`None`: paused).
    unfrozen: Option<Instant>,
}

impl Clock {
    pub(crate) fn new(start_paused: bool) -> Clock {
        let now = Instant::now();
        let clock = Clock {
            inner: Mutex::new(Inner {
                base: now,
                unfrozen: Some(now),
            }),
            paused: StdAtomicBool::new(false),
            ever_paused: StdAtomicBool::new(false),
            inhibit: AtomicUsize::new(0),
        };
        if start_paused {
            clock.pause().expect("a new clock runs");
        }
        clock
    }

    /// The clock's reading.
    pub(crate) fn now(&self) -> Instant {
        if !self.ever_paused.load(Acquire) {
            return Instant::now();
        }
        let inner = lock(&self.inner);
        match inner.unfrozen {
            Some(unfrozen) => inner.base + unfrozen.elapsed(),
            None => inner.base,
        }
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.paused.load(SeqCst)
    }

    /// Stops the clock at its current reading.
    pub(crate) fn pause(&self) -> Result<(), &'static str> {
        let mut inner = lock(&self.inner);
        let Some(unfrozen) = inner.unfrozen else {
            return Err("time is already frozen");
        };
        inner.base += unfrozen.elapsed();
        inner.unfrozen = None;
        DID_PAUSE.store(true, Release);
        self.ever_paused.store(true, Release);
        self.paused.store(true, SeqCst);
        Ok(())
    }

    /// Starts the clock again from its current reading.
    pub(crate) fn resume(&self) -> Result<(), &'static str> {
        let mut inner = lock(&self.inner);
        if inner.unfrozen.is_some() {
            return Err("time is not frozen");
        }
        inner.unfrozen = Some(Instant::now());
        self.paused.store(false, SeqCst);
        Ok(())
    }

    /// Moves a paused clock forward by `duration` (clamped, as `sleep`'s
    /// deadlines are, to about 30 years: `Duration::MAX` does not
    /// overflow); returns the new reading.
    pub(crate) fn advance(&self, duration: Duration) -> Result<Instant, &'static str> {
        let mut inner = lock(&self.inner);
        if inner.unfrozen.is_some() {
            return Err("time is not frozen");
        }
        inner.base = inner
            .base
            .checked_add(duration.min(super::FAR_AWAY))
            .ok_or("time cannot be advanced beyond what the clock can represent")?;
        Ok(inner.base)
    }

    /// Auto-advance: moves a paused clock forward to `to` (never back).
    /// False if the clock runs (it was resumed meanwhile).
    pub(crate) fn advance_to(&self, to: Instant) -> bool {
        let mut inner = lock(&self.inner);
        if inner.unfrozen.is_some() {
            return false;
        }
        inner.base = inner.base.max(to);
        true
    }

    /// Holds auto-advance back until the matching [`allow`](Self::allow).
    pub(crate) fn inhibit(&self) {
        self.inhibit.fetch_add(1, SeqCst);
    }

    /// Gives back one [`inhibit`](Self::inhibit). The caller then kicks the
    /// driver if the clock is paused.
    pub(crate) fn allow(&self) {
        let previous = self.inhibit.fetch_sub(1, SeqCst);
        debug_assert!(
            previous > 0,
            "weft: auto-advance allowed more than inhibited"
        );
    }

    /// True while nothing holds auto-advance back. Read first by the
    /// driver's idle check: a count is given back only after the work it
    /// covered has queued whatever it woke, so reading zero here means
    /// those queues are seen by the checks after it.
    pub(crate) fn auto_advance_allowed(&self) -> bool {
        self.inhibit.load(SeqCst) == 0
    }

    /// The inhibit count, for tests.
    #[cfg(all(test, not(weft_loom)))]
    pub(crate) fn inhibited(&self) -> usize {
        self.inhibit.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(all(test, not(weft_loom)))]
mod tests {
    use super::*;

    #[test]
    fn paused_clock_stands_still_and_moves_by_exactly_what_it_is_told() {
        let clock = Clock::new(true);
        let start = clock.now();
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(clock.now(), start);
        let step = Duration::from_nanos(1_234_567);
        assert_eq!(clock.advance(step), Ok(start + step));
        assert_eq!(clock.now(), start + step);
        assert!(clock.advance_to(start), "a paused clock accepts the jump");
        assert_eq!(clock.now(), start + step, "but never goes back");
        assert_eq!(clock.pause(), Err("time is already frozen"));
        clock.resume().unwrap();
        assert!(!clock.is_paused());
        assert!(clock.now() >= start + step);
        assert_eq!(clock.resume(), Err("time is not frozen"));
        assert_eq!(clock.advance(step), Err("time is not frozen"));
        assert!(!clock.advance_to(start + step * 2));
    }

    #[test]
    fn advancing_by_the_largest_duration_does_not_overflow() {
        let clock = Clock::new(true);
        let start = clock.now();
        let after = clock.advance(Duration::MAX).unwrap();
        assert!(after > start + Duration::from_secs(86_400 * 365 * 29));
    }

    #[test]
    fn inhibit_counts() {
        let clock = Clock::new(false);
        assert!(clock.auto_advance_allowed());
        clock.inhibit();
        clock.inhibit();
        clock.allow();
        assert!(!clock.auto_advance_allowed());
        assert_eq!(clock.inhibited(), 1);
        clock.allow();
        assert!(clock.auto_advance_allowed());
    }
}
