//! `Handle`: a cloneable, `Send` reference to a runtime.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;

use super::RuntimeMetrics;
use crate::scheduler;
use crate::scheduler::context::{self, SetCurrent, TryCurrentError};
use crate::task::join::JoinHandle;

/// A reference to a runtime that can spawn tasks and run futures from any
/// thread. Wakes that cross threads reach the runtime through its global
/// queue and an unpark (a condvar, or the driver's eventfd).
///
/// ```
/// let rt = weft::runtime::Builder::new_current_thread().build()?;
/// let handle = rt.handle().clone();
/// let from_thread = std::thread::spawn(move || {
///     let task = handle.spawn(async { "spawned from another thread" });
///     // No thread is running the loop, so this one does while it waits.
///     handle.block_on(task).unwrap()
/// });
/// assert_eq!(from_thread.join().unwrap(), "spawned from another thread");
/// # std::io::Result::Ok(())
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: scheduler::Handle,
}

impl Handle {
    /// The runtime this thread is in.
    ///
    /// # Panics
    ///
    /// Outside a runtime, with a message saying so; use
    /// [`try_current`](Self::try_current) to get an error instead.
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(handle) => handle,
            Err(e) => panic!("weft::runtime::Handle::current: {e}"),
        }
    }

    /// The runtime this thread is in, or an error saying why there is none.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::with_current(|inner| Handle {
            inner: inner.clone(),
        })
    }

    /// Spawns a task on this runtime; see [`crate::spawn`].
    #[cfg_attr(feature = "console", track_caller)]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.spawn(future)
    }

    /// Runs `f` on this runtime's blocking pool; see
    /// [`spawn_blocking`](crate::task::spawn_blocking).
    #[cfg_attr(feature = "console", track_caller)]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.spawn_blocking_with(crate::blocking::BlockingKind::FastIo, f)
    }

    /// Runs `f` on this runtime's blocking pool as work of `kind`; see
    /// [`spawn_blocking_with`](crate::task::spawn_blocking_with).
    #[cfg_attr(feature = "console", track_caller)]
    pub fn spawn_blocking_with<F, R>(
        &self,
        kind: crate::blocking::BlockingKind,
        f: F,
    ) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner
            .blocking_pool()
            .spawn(self.inner.clone(), kind, f)
    }

    /// Runs `f` on this runtime's blocking pool as fast I/O that runs even
    /// if the runtime shuts down before it starts (a `File`'s write-behind:
    /// bytes its caller was told were written); `None` (and `f` dropped)
    /// if the runtime has shut down already.
    pub(crate) fn spawn_blocking_must_run<F, R>(&self, f: F) -> Option<JoinHandle<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner
            .blocking_pool()
            .spawn_must_run(self.inner.clone(), f)
    }

    /// Runs `future` to completion on this thread, inside this runtime's
    /// context. On a multi-thread runtime `future` is polled here while the
    /// workers run the tasks, I/O and timers. On a current-thread runtime, if
    /// no thread is running the loop, this one does for as long as the call
    /// lasts; otherwise `future` is polled here and the loop's thread drives
    /// its I/O and timers. Exception: once a thread has spawned local tasks
    /// on a current-thread runtime ([`spawn_local`](crate::task::spawn_local),
    /// coroutines), only that thread runs its loop; a `block_on` on any
    /// other thread then makes I/O and timer progress only while that thread
    /// is itself inside `block_on` (a future here that waits on a timer
    /// while it is not, waits until it is).
    ///
    /// # Panics
    ///
    /// When called from a thread that is already running a weft loop or
    /// waiting in a `block_on`.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.inner.block_on(future)
    }

    /// Counters describing the runtime; see [`RuntimeMetrics`].
    ///
    /// ```
    /// let rt = weft::runtime::Builder::new_multi_thread().worker_threads(2).build()?;
    /// let metrics = rt.handle().metrics();
    /// assert_eq!(metrics.num_workers(), 2);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics::new(self.inner.clone())
    }

    /// Which scheduler this runtime runs.
    pub fn runtime_flavor(&self) -> RuntimeFlavor {
        if self.inner.is_multi_thread() {
            RuntimeFlavor::MultiThread
        } else {
            RuntimeFlavor::CurrentThread
        }
    }

    /// This runtime's id: the same from every handle to it, different for
    /// every other runtime.
    ///
    /// ```
    /// #[weft::main]
    /// async fn main() {
    ///     let handle = weft::runtime::Handle::current();
    ///     println!("running on runtime {}", handle.id());
    /// }
    /// ```
    pub fn id(&self) -> super::Id {
        super::Id::from_raw(self.inner.driver().runtime_id)
    }

    /// The name given to [`Builder::name`](super::Builder::name), if any.
    ///
    /// ```
    /// let rt = weft::runtime::Builder::new_multi_thread().name("api").build()?;
    /// let name = rt.block_on(async {
    ///     weft::runtime::Handle::current().name().map(str::to_owned)
    /// });
    /// assert_eq!(name.as_deref(), Some("api"));
    /// # std::io::Result::Ok(())
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.inner.driver().runtime_name.as_deref()
    }

    /// Makes this runtime current on this thread until the guard drops.
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard {
            _set: context::enter_checked(self.inner.clone()),
            _handle: PhantomData,
        }
    }
}

/// As tokio's: a panic that unwinds out of a call on a handle (a
/// `block_on` future's, say) leaves the runtime usable. The scheduler
/// catches task and hook panics where they happen and runs no user code
/// while it holds a lock, so nobody can observe it half-updated.
impl std::panic::UnwindSafe for Handle {}
impl std::panic::RefUnwindSafe for Handle {}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("flavor", &self.runtime_flavor())
            .finish()
    }
}

/// Returned by [`Handle::enter`] and [`Runtime::enter`](super::Runtime::enter):
/// the runtime stays current on this thread until it drops.
///
/// Dropping the guard at once makes the runtime current for nothing, so
/// the guard is `#[must_use]`:
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// let rt = weft::runtime::Builder::new_current_thread().build().unwrap();
/// rt.enter(); // error: unused `EnterGuard` that must be used
/// ```
#[must_use = "Creating and dropping a guard does nothing"]
pub struct EnterGuard<'a> {
    _set: SetCurrent,
    _handle: PhantomData<&'a Handle>,
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnterGuard")
    }
}

/// The scheduler a runtime runs, from [`Handle::runtime_flavor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuntimeFlavor {
    /// Every task runs on the thread in `block_on`.
    CurrentThread,
    /// Work-stealing worker threads.
    MultiThread,
}
