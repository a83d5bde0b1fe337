//! Time: sleeping, timeouts, intervals.
//!
//! Owns: the user-facing timer futures. Calls: the time driver's wheel,
//! through the current runtime's handle.
//!
//! Semantics follow tokio's: timers fire no earlier than their deadline, at
//! millisecond resolution; a `Sleep` registers when first polled and
//! unregisters when dropped; deadlines too far away for the clock are
//! clamped to about 30 years from now rather than panicking.
//!
//! With the `test-util` feature, `pause`, `resume` and `advance` control a
//! virtual clock for tests, as tokio's do.

pub mod error;
mod instant;
mod interval;
#[cfg(feature = "test-util")]
mod paused;
mod sleep;
mod timeout;
#[cfg(feature = "console")]
mod traced;

pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
#[cfg(feature = "test-util")]
pub use paused::{advance, pause, resume};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Timeout};

/// std's `Duration`, re-exported as tokio does, so `weft::time::Duration`
/// works where a port wrote `tokio::time::Duration`.
pub use std::time::Duration;
