//! The runtime: `Builder`, `Runtime` and `Handle`.
//!
//! Owns: the thread-local "current runtime" context and the public entry
//! points. Calls: the scheduler (which owns the loop) and the driver (built
//! here, handed to the scheduler).
//!
//! ```
//! let rt = weft::runtime::Runtime::new()?; // multi-thread, one worker per CPU
//! let answer = rt.block_on(async {
//!     let task = weft::spawn(async { 40 + 2 });
//!     task.await.unwrap()
//! });
//! assert_eq!(answer, 42);
//!
//! let rt = weft::runtime::Builder::new_current_thread().build()?;
//! let answer = rt.block_on(async {
//!     let task = weft::spawn(async { 40 + 2 });
//!     task.await.unwrap()
//! });
//! assert_eq!(answer, 42);
//! # std::io::Result::Ok(())
//! ```

mod builder;
mod handle;
mod id;
mod metrics;

use std::fmt;
use std::future::Future;
use std::time::Duration;

pub use crate::driver::io::IoDriver;
pub use crate::scheduler::context::TryCurrentError;
pub use builder::{Builder, IO_DRIVER_ENV, WORKER_THREADS_ENV};
pub use handle::{EnterGuard, Handle, RuntimeFlavor};
pub use id::Id;
pub use metrics::RuntimeMetrics;

use crate::scheduler::{self, multi_thread};

/// A weft runtime: an event loop with its I/O and time drivers and a
/// scheduler. Build one with [`Builder`], or [`Runtime::new`] for a
/// multi-thread runtime with default settings.
///
/// Dropping the runtime shuts it down: every task's future is dropped
/// exactly once, then the drivers close. I/O resources that outlive it
/// return an error from then on, and its pending timers complete at once.
///
/// * A **multi-thread** runtime's workers stop after the poll they are in,
///   each drops its own `spawn_local` tasks, the last drops all the others;
///   `drop` waits for every worker thread to exit
///   ([`shutdown_timeout`](Runtime::shutdown_timeout) bounds the wait,
///   [`shutdown_background`](Runtime::shutdown_background) does not wait).
/// * Blocking-pool jobs handed in before the shutdown still run, queued
///   ones included (as tokio's); later ones are cancelled (their
///   `JoinHandle`s report it). `drop` waits for them up to
///   [`Builder::shutdown_timeout`] (30 s by default), then warns and leaves
///   the pool's threads to finish them: a stuck job delays exit, it cannot
///   hang it. tokio's drop waits without a bound.
/// * A **current-thread** runtime drops the futures on the dropping thread.
///   If another thread is inside [`Handle::block_on`] running the loop at
///   that moment, that thread drops them (and the driver) at its next turn
///   of the loop, then keeps polling its own future without the loop (its
///   I/O fails, its timers fire), so the drop does not wait on it forever.
///   Futures spawned with [`spawn_local`](crate::task::spawn_local) are
///   `!Send`, so they are dropped only on the thread that spawned them: when
///   the runtime is dropped on another thread they are leaked instead.
///
/// # Panics
///
/// Dropping a runtime of either flavour inside asynchronous context (a
/// task, or any `block_on`) panics with tokio's message ("Cannot drop a
/// runtime in a context where blocking is not allowed"), after shutting it
/// down without waiting: waiting there for its threads or blocking jobs
/// could deadlock. Use [`shutdown_background`](Runtime::shutdown_background)
/// or [`shutdown_timeout`](Runtime::shutdown_timeout) there. Inside
/// [`block_in_place`](crate::task::block_in_place) dropping is allowed.
pub struct Runtime {
    handle: Handle,
    /// Set once shut down, so `Drop` has nothing left to do.
    shut_down: bool,
}

impl Runtime {
    /// A multi-thread runtime with default settings (one worker per CPU);
    /// the same as `Builder::new_multi_thread().build()`.
    pub fn new() -> std::io::Result<Runtime> {
        Builder::new_multi_thread().build()
    }

    pub(crate) fn from_handle(handle: Handle) -> Runtime {
        Runtime {
            handle,
            shut_down: false,
        }
    }

    /// Runs `future` to completion on this thread, returning its output.
    ///
    /// On a multi-thread runtime, `future` is polled on this thread while the
    /// workers run the spawned tasks. On a current-thread runtime this thread
    /// drives the loop (and so every spawned task) meanwhile; if another
    /// thread is running it already, `future` is polled here while that one
    /// drives I/O and tasks.
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
    #[cfg_attr(feature = "console", track_caller)]
    pub fn spawn<F>(&self, future: F) -> crate::task::join::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs `f` on the blocking pool; see
    /// [`spawn_blocking`](crate::task::spawn_blocking).
    #[cfg_attr(feature = "console", track_caller)]
    pub fn spawn_blocking<F, R>(&self, f: F) -> crate::task::join::JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// A handle to this runtime, usable from any thread.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Counters describing the runtime; see [`RuntimeMetrics`].
    pub fn metrics(&self) -> RuntimeMetrics {
        self.handle.metrics()
    }

    /// Makes this runtime current on this thread until the guard drops, so
    /// [`crate::spawn`], timers and sockets can be created outside
    /// `block_on`.
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }

    /// Shuts the runtime down, dropping every task's future, and returns
    /// once that is done or `timeout` has passed. Blocking-pool jobs handed
    /// in before (queued or running) are waited for within the same
    /// `timeout`, then left to finish on their own; later ones are
    /// cancelled.
    ///
    /// On a multi-thread runtime, a worker stuck in a task that never
    /// returns (or in a long [`block_in_place`](crate::task::block_in_place))
    /// is left behind when `timeout` passes; its tasks are dropped when it
    /// gets free. A current-thread runtime drops its tasks on the calling
    /// thread — or, if another thread is running its loop, that thread does
    /// at its next turn, and this may return before.
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shut_down = true;
        let start = std::time::Instant::now();
        match &self.handle.inner {
            scheduler::Handle::CurrentThread(shared) => {
                scheduler::current_thread::shutdown(shared);
            }
            scheduler::Handle::MultiThread(shared) => {
                multi_thread::shutdown(shared, Some(timeout));
            }
        }
        let left = timeout.saturating_sub(start.elapsed());
        self.handle.inner.blocking_pool().shutdown(Some(left));
    }

    /// Shuts the runtime down without waiting: a multi-thread runtime's
    /// workers finish their current poll, drop their tasks and exit on
    /// their own, and running blocking jobs are left to finish. Allowed
    /// inside asynchronous context.
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO);
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if self.shut_down {
            return;
        }
        let blocking = std::sync::Arc::clone(self.handle.inner.blocking_pool());
        // (A runtime owned by a task that another runtime drops at its
        // shutdown is dropped outside any running loop: it may wait.)
        if scheduler::in_async_context() && !scheduler::dropping_tasks() {
            // Waiting here for worker threads or pool jobs could deadlock
            // (they may need this very loop): stop everything without
            // waiting, then refuse, as tokio does, so the mistake is seen.
            match &self.handle.inner {
                scheduler::Handle::CurrentThread(shared) => {
                    scheduler::current_thread::shutdown(shared);
                }
                scheduler::Handle::MultiThread(shared) => {
                    multi_thread::shutdown(shared, Some(Duration::ZERO));
                }
            }
            blocking.shutdown(Some(Duration::ZERO));
            if !std::thread::panicking() {
                panic!(
                    "Cannot drop a runtime in a context where blocking is not allowed. This \
                     happens when a runtime is dropped from within an asynchronous context (a \
                     task or a `block_on`), where waiting for its threads and blocking jobs \
                     could deadlock; drop it outside any runtime, or call \
                     `Runtime::shutdown_background` there (weft)"
                );
            }
            return;
        }
        match &self.handle.inner {
            scheduler::Handle::CurrentThread(shared) => {
                scheduler::current_thread::shutdown(shared);
            }
            scheduler::Handle::MultiThread(shared) => {
                multi_thread::shutdown(shared, None);
            }
        }
        // Queued blocking jobs are cancelled (not a `File`'s writes); running
        // ones are waited for, up to the builder's `shutdown_timeout`.
        blocking.shutdown_on_drop();
    }
}

/// True if `err` is the error weft's I/O returns once the runtime driving
/// it has shut down: a socket, listener, pipe or signal listener created on
/// a runtime that has since been dropped (or whose `register` raced the
/// drop). Such an error is final: the resource will never work again. Other
/// errors, including ones that merely mention a shutdown (a `File` write
/// refused after the blocking pool stopped, a socket's own
/// `shutdown(Write)`), give `false`.
///
/// ```
/// use weft::runtime::{is_rt_shutdown_err, Builder};
///
/// let first = Builder::new_current_thread().build()?;
/// let listener = first.block_on(weft::net::TcpListener::bind("127.0.0.1:0"))?;
/// drop(first);
///
/// let second = Builder::new_current_thread().build()?;
/// let err = second.block_on(listener.accept()).unwrap_err();
/// assert!(is_rt_shutdown_err(&err));
/// assert!(!is_rt_shutdown_err(&std::io::Error::other("something else")));
/// # std::io::Result::Ok(())
/// ```
pub fn is_rt_shutdown_err(err: &std::io::Error) -> bool {
    crate::driver::io::is_shutdown_error(err)
}

/// As tokio's; see [`Handle`]'s.
impl std::panic::UnwindSafe for Runtime {}
impl std::panic::RefUnwindSafe for Runtime {}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("flavor", &self.handle.runtime_flavor())
            .finish()
    }
}
