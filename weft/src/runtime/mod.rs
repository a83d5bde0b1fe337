//! The runtime: `Builder`, `Runtime` and `Handle`.
//!
//! Owns: the thread-local "current runtime" context and the public entry
//! points. Calls: the scheduler (which owns the loop) and the driver (built
//! here, handed to the scheduler).
//!
//! ```
//! let rt = weft::runtime::Builder::new_current_thread().build()?;
//! let answer = rt.block_on(async {
//!     let task = weft::spawn(async { 40 + 2 });
//!     task.await.unwrap()
//! });
//! assert_eq!(answer, 42);
//! # std::io::Result::Ok(())
//! ```

mod builder;
pub(crate) mod context;
mod handle;

use std::fmt;
use std::future::Future;
use std::time::Duration;

pub use builder::Builder;
pub use context::TryCurrentError;
pub use handle::{EnterGuard, Handle};

/// A weft runtime: an event loop with its I/O and time drivers and a
/// scheduler. Build one with [`Builder`].
///
/// Dropping the runtime shuts it down: every task's future is dropped
/// exactly once, on the dropping thread, then the drivers close. I/O
/// resources that outlive it return an error from then on, and its pending
/// timers complete at once. Two exceptions, both about threads:
///
/// * if another thread is inside [`Handle::block_on`] running the loop at
///   that moment, the futures are dropped by that thread when its call
///   returns;
/// * futures spawned with [`spawn_local`](crate::task::spawn_local) are
///   `!Send`, so they are dropped only on the thread that spawned them: when
///   the runtime is dropped on another thread they are leaked instead.
pub struct Runtime {
    handle: Handle,
}

impl Runtime {
    /// A current-thread runtime with default settings; the same as
    /// `Builder::new_current_thread().build()`.
    pub fn new() -> std::io::Result<Runtime> {
        Builder::new_current_thread().build()
    }

    pub(crate) fn from_handle(handle: Handle) -> Runtime {
        Runtime { handle }
    }

    /// Runs `future` to completion on this thread, driving the loop (and so
    /// every spawned task) meanwhile; returns its output.
    ///
    /// If another thread is running this runtime's loop already, `future` is
    /// polled on this thread while that one drives I/O and tasks.
    ///
    /// # Panics
    ///
    /// When called from a thread that is already running a weft loop (inside
    /// `block_on` or a task): blocking there would stall it. A panic of
    /// `future` itself propagates to the caller.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    /// Spawns a task on this runtime; see [`crate::spawn`].
    pub fn spawn<F>(&self, future: F) -> crate::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// A handle to this runtime, usable from any thread.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Makes this runtime current on this thread until the guard drops, so
    /// [`crate::spawn`], timers and sockets can be created outside
    /// `block_on`.
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }

    /// Shuts the runtime down, dropping every task's future, and returns
    /// once that is done or `timeout` has passed.
    ///
    /// A current-thread runtime drops its tasks on the calling thread, so
    /// this returns when they are dropped; `timeout` will bound the wait for
    /// blocking-pool threads once weft has a blocking pool.
    pub fn shutdown_timeout(self, timeout: Duration) {
        let _ = timeout;
        drop(self);
    }

    /// Shuts the runtime down without waiting for anything beyond dropping
    /// the tasks' futures.
    pub fn shutdown_background(self) {
        drop(self);
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.handle.inner.shutdown();
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("flavor", &"current_thread")
            .finish()
    }
}
