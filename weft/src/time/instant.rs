//! `Instant`: a point on the monotonic clock, as tokio spells it.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

/// A measurement of the monotonic clock; a thin wrapper over
/// [`std::time::Instant`] with tokio's methods, so ports compile unchanged.
///
/// With the `test-util` feature, [`Instant::now`] reads the current
/// runtime's clock, which `time::pause` stops and `time::advance` moves
/// (tokio's behaviour); the
/// `std::time::Instant` inside is then a virtual reading.
///
/// ```
/// use std::time::Duration;
/// use weft::time::Instant;
///
/// let start = Instant::now();
/// let later = start + Duration::from_millis(5);
/// assert_eq!(later.duration_since(start), Duration::from_millis(5));
/// assert_eq!(start.saturating_duration_since(later), Duration::ZERO);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    std: std::time::Instant,
}

impl Instant {
    /// The current time.
    ///
    /// With the `test-util` feature, inside a runtime whose clock was
    /// paused, this is that clock's (virtual) reading; elsewhere, and
    /// always without the feature, the system's monotonic clock.
    pub fn now() -> Instant {
        #[cfg(feature = "test-util")]
        {
            Instant { std: runtime_now() }
        }
        #[cfg(not(feature = "test-util"))]
        {
            Instant {
                std: std::time::Instant::now(),
            }
        }
    }

    /// Wraps a `std` instant.
    pub fn from_std(std: std::time::Instant) -> Instant {
        Instant { std }
    }

    /// The `std` instant inside.
    pub fn into_std(self) -> std::time::Instant {
        self.std
    }

    /// Time from `earlier` to `self`; zero if `earlier` is later.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.std.saturating_duration_since(earlier.std)
    }

    /// Time from `earlier` to `self`, or `None` if `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.std.checked_duration_since(earlier.std)
    }

    /// Time from `earlier` to `self`; zero if `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.std.saturating_duration_since(earlier.std)
    }

    /// Time since `self` ([`Instant::now`] minus `self`, zero if `self` is
    /// later).
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// `self + duration`, or `None` if that is beyond what the clock can
    /// represent.
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        self.std.checked_add(duration).map(Instant::from_std)
    }

    /// `self - duration`, or `None` if that is before what the clock can
    /// represent.
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        self.std.checked_sub(duration).map(Instant::from_std)
    }

    /// About 30 years: how far ahead `sleep(Duration::MAX)` and other
    /// unrepresentable deadlines are clamped to (the timer driver's limit).
    pub(crate) const FAR_AWAY: Duration = crate::driver::time::FAR_AWAY;

    /// An instant [`FAR_AWAY`](Self::FAR_AWAY) from now.
    pub(crate) fn far_future() -> Instant {
        Instant::now() + Instant::FAR_AWAY
    }

    /// `self + duration`, clamped to [`far_future`](Self::far_future).
    pub(crate) fn saturating_add(self, duration: Duration) -> Instant {
        match self.checked_add(duration) {
            Some(at) if duration < Instant::FAR_AWAY => at,
            _ => Instant::far_future(),
        }
    }
}

/// The current runtime's clock, or the system's outside a runtime (and as
/// long as no clock was ever paused: then nothing needs looking up).
#[cfg(feature = "test-util")]
fn runtime_now() -> std::time::Instant {
    if !crate::driver::time::clock::did_pause() {
        return std::time::Instant::now();
    }
    crate::scheduler::context::with_current(|handle| handle.driver().time.now())
        .unwrap_or_else(|_| std::time::Instant::now())
}

impl From<std::time::Instant> for Instant {
    fn from(std: std::time::Instant) -> Instant {
        Instant::from_std(std)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(instant: Instant) -> std::time::Instant {
        instant.into_std()
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    ///
    /// If the result overflows the clock, as `std::time::Instant` does; use
    /// [`Instant::checked_add`] to get `None` instead.
    fn add(self, rhs: Duration) -> Instant {
        Instant::from_std(self.std + rhs)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    fn sub(self, rhs: Duration) -> Instant {
        Instant::from_std(self.std - rhs)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, rhs: Duration) {
        *self = *self - rhs;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// Saturates at zero, as tokio's does.
    fn sub(self, rhs: Instant) -> Duration {
        self.duration_since(rhs)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)
    }
}
