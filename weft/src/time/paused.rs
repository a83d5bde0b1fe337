//! The paused clock's controls (feature `test-util`): `pause`, `resume`,
//! `advance`, as tokio's.
//!
//! Owns: nothing; each call reaches the current runtime's clock through
//! its driver handle. Calls: the runtime context, the time driver.

use std::time::Duration;

use crate::driver::Handle as DriverHandle;
use crate::scheduler::context;

/// Runs `f` on the current runtime's driver; panics with `f`'s message, or
/// tokio's "outside the runtime" one.
#[track_caller]
fn with_driver<R>(f: impl FnOnce(&DriverHandle) -> Result<R, &'static str>) -> R {
    let result = match context::with_current(|handle| f(handle.driver())) {
        Ok(result) => result,
        Err(e) if e.is_missing_context() => {
            Err("time cannot be frozen from outside the weft runtime")
        }
        Err(e) => panic!("{e}"),
    };
    match result {
        Ok(value) => value,
        Err(message) => panic!("{message}"),
    }
}

/// Pauses time.
///
/// The current value of [`Instant::now()`] is saved and every later call
/// returns it, until [`advance`] moves it or the runtime auto-advances: when
/// the runtime has nothing to run and no [`spawn_blocking`] job is in
/// flight, the clock jumps to the deadline of the next timer, which then
/// fires. Only weft's [`Instant`] (and every timer: [`sleep`], [`timeout`],
/// [`interval`]) sees this; `std::time::Instant` goes on as normal.
///
/// A paused `sleep(d)` completes after exactly `d` of virtual time (tokio's
/// may take a millisecond more), and pausing works on the multi-thread
/// runtime too (tokio's panics there): its clock jumps only when every
/// worker is asleep with empty queues, no blocking job is in flight, no
/// `block_on` future is awake, and some thread is inside `block_on` (as on
/// a current-thread runtime, where nothing runs outside `block_on`: virtual
/// time does not race ahead while a test's thread does something else
/// between two `block_on` calls).
///
/// For a runtime that starts paused, use
/// [`Builder::start_paused`](crate::runtime::Builder::start_paused) or the
/// macros' `start_paused = true`:
///
/// ```
/// use std::time::Duration;
/// use weft::time::{sleep, Instant};
///
/// #[weft::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     let start = Instant::now();
///     sleep(Duration::from_secs(60)).await; // auto-advance: no real wait
///     assert_eq!(start.elapsed(), Duration::from_secs(60));
/// }
/// ```
///
/// # Preventing auto-advance
///
/// While a [`spawn_blocking`] job runs, the clock does not auto-advance, so
/// real work (I/O, say) wrapped in one does not see timers fire meanwhile.
///
/// # Panics
///
/// If time is already frozen, or outside a weft runtime.
///
/// [`Instant::now()`]: crate::time::Instant::now
/// [`Instant`]: crate::time::Instant
/// [`sleep`]: crate::time::sleep
/// [`timeout`]: crate::time::timeout
/// [`interval`]: crate::time::interval
/// [`spawn_blocking`]: crate::task::spawn_blocking
#[track_caller]
pub fn pause() {
    with_driver(|driver| driver.time.clock().pause());
}

/// Resumes time.
///
/// The clock runs again from its current (virtual) reading.
///
/// # Panics
///
/// If time is not frozen, or outside a weft runtime.
///
/// ```
/// use std::time::Duration;
/// use weft::time::{self, Instant};
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() {
///     time::pause();
///     let start = Instant::now();
///     time::advance(Duration::from_secs(5)).await;
///     time::resume();
///     assert!(start.elapsed() >= Duration::from_secs(5));
/// }
/// ```
#[track_caller]
pub fn resume() {
    with_driver(|driver| {
        driver.time.clock().resume()?;
        // The loop may be parked waiting for a kick that a running clock no
        // longer sends: let it compute its timer timeout again.
        driver.unpark();
        Ok(())
    });
}

/// Advances time.
///
/// Moves the paused clock forward by exactly `duration` in one jump; every
/// timer whose deadline is reached fires (they all see the new time), before
/// this returns. They are woken in deadline order on a current-thread
/// runtime; on a multi-thread one, in deadline order among the timers made
/// on the same worker (each worker has its own timer wheel), one worker's
/// after another's. Then the task yields once, so
/// that the tasks those timers woke may run. To have timers fire one at a
/// time, each at its own deadline, `sleep` instead and let the runtime
/// auto-advance (see [`pause`]).
///
/// A `duration` beyond what the clock can represent (`Duration::MAX`) is
/// clamped to about 30 years, as [`sleep`](crate::time::sleep)'s is;
/// tokio's panics.
///
/// ```
/// use std::time::Duration;
/// use weft::time::{self, Instant};
///
/// #[weft::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     let start = Instant::now();
///     let mut interval = time::interval(Duration::from_millis(10));
///     interval.tick().await; // the first tick is at once
///     time::advance(Duration::from_millis(25)).await;
///     assert_eq!(start.elapsed(), Duration::from_millis(25));
///     // The tick due at 10 ms is ready without any further wait.
///     assert_eq!(interval.tick().await, start + Duration::from_millis(10));
///     assert_eq!(start.elapsed(), Duration::from_millis(25));
/// }
/// ```
///
/// # Panics
///
/// If time is not frozen (call [`pause`] first), or outside a weft
/// runtime.
pub async fn advance(duration: Duration) {
    with_driver(|driver| {
        let now = driver.time.clock().advance(duration)?;
        driver.fire_due(now);
        Ok(())
    });
    crate::task::yield_now().await;
}
