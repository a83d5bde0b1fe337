//! Tasks: spawning, joining, aborting, yielding.
//!
//! Two layers share this folder. The harness, below the driver: the task
//! cell (`raw.rs`), its state word (`state.rs`), join and abort handles
//! (`join.rs`), task ids (`id.rs`) and the cooperative budget (`coop.rs`,
//! public as [`coop`]). The public API, a service over the runtime: this
//! file's `spawn` family, `yield_now` and `block_in_place`, `JoinSet`
//! (`join_set.rs`) and `task_local!` (`task_local.rs`).
//!
//! A task is one allocation holding its future, its state word and its join
//! slot; see `raw.rs`. weft writes its own task rather than use `async-task`
//! because `abort(&self)` and "drop every pending future at shutdown" need
//! the scheduler to reach idle tasks, which `async-task` would only allow
//! with a second allocation per task.

#[cfg(feature = "console")]
mod console;
pub mod coop;
pub(crate) mod id;
pub(crate) mod join;
mod join_set;
pub(crate) mod raw;
mod state;
mod task_local;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use coop::{consume_budget, unconstrained, Unconstrained};
pub use id::{id, try_id, Id};
pub use join::{AbortHandle, JoinError, JoinHandle};
pub use join_set::JoinSet;
pub use task_local::{AccessError, LocalKey, TaskLocalFuture};

use crate::runtime::Handle;

/// Spawns a task on the current runtime and returns its [`JoinHandle`].
///
/// The task starts running at the runtime's next turn; it does not need the
/// handle to be awaited. A panic inside the task is caught and returned as a
/// [`JoinError`].
///
/// # Panics
///
/// When called outside a weft runtime (use
/// [`Handle::spawn`](crate::runtime::Handle::spawn) from other threads).
///
/// ```
/// #[weft::main]
/// async fn main() {
///     let tasks: Vec<_> = (0..4).map(|i| weft::spawn(async move { i * 10 })).collect();
///     let mut sum = 0;
///     for task in tasks {
///         sum += task.await.unwrap();
///     }
///     assert_eq!(sum, 60);
/// }
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match Handle::try_current() {
        Ok(handle) => handle.spawn(future),
        Err(e) => panic!("weft::spawn: {e}"),
    }
}

/// Spawns a `!Send` future on the current thread's runtime. The task is only
/// ever polled, and dropped, on this thread.
///
/// * On a **multi-thread** runtime's worker (inside one of its tasks), the
///   task is pinned to that worker: it sits in a queue no other worker
///   steals from, and a wake from any thread sends it back to this one. No
///   `LocalSet` is needed.
/// * On a **current-thread** runtime (inside `block_on` or one of its tasks),
///   from the first `spawn_local` on only this thread may run the runtime's
///   loop: a [`Handle::block_on`](crate::runtime::Handle::block_on) on another
///   thread polls its own future but leaves the tasks to this one.
///
/// # Panics
///
/// When this thread is neither a multi-thread worker nor running a
/// current-thread runtime — in particular inside a multi-thread runtime's
/// `block_on` (the thread that waits there runs no tasks; spawn a task and
/// call `spawn_local` from it) — or when a current-thread runtime's local
/// tasks already belong to another thread.
///
/// ```
/// use std::rc::Rc;
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() {
///     let shared = Rc::new(5);
///     let local = Rc::clone(&shared);
///     let handle = weft::task::spawn_local(async move { *local + 1 });
///     assert_eq!(handle.await.unwrap(), 6);
///     assert_eq!(Rc::strong_count(&shared), 1);
/// }
/// ```
///
/// On a multi-thread runtime, from a task:
///
/// ```
/// use std::rc::Rc;
///
/// #[weft::main(flavor = "multi_thread", worker_threads = 2)]
/// async fn main() {
///     let sum = weft::spawn(async {
///         let worker = std::thread::current().id();
///         let local = weft::task::spawn_local(async move {
///             // `Rc` is `!Send`: fine in a task that never leaves this worker.
///             let counter = Rc::new(std::cell::Cell::new(0));
///             weft::task::yield_now().await;
///             assert_eq!(std::thread::current().id(), worker);
///             counter.set(counter.get() + 1);
///             counter.get()
///         });
///         local.await.unwrap()
///     });
///     assert_eq!(sum.await.unwrap(), 1);
/// }
/// ```
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match crate::scheduler::spawn_local(future) {
        Ok(handle) => handle,
        Err(e) => panic!("weft::task::spawn_local: {e}"),
    }
}

/// Yields once to the scheduler: the task runs again only after the driver's
/// next turn, so every task that I/O or a timer made ready by the time it
/// yielded runs first, and so do the tasks already queued (tokio's rule).
///
/// The yield is cheap: the yielder waits in a list beside the run queue,
/// and when only yielders are left the driver turns without blocking —
/// unless it turned less than 20 µs ago, so a task that does nothing but
/// yield costs no syscall per yield (and, yielding that fast, only an
/// occasional clock read). A task whose cooperative budget runs out is
/// deferred the same way.
///
/// ```
/// #[weft::main]
/// async fn main() {
///     weft::task::yield_now().await;
/// }
/// ```
pub async fn yield_now() {
    YieldNow { yielded: false }.await
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Runs `f`, which may block (a synchronous lock, a blocking syscall, heavy
/// CPU work), on this thread without stalling the runtime's other tasks.
///
/// On a multi-thread runtime's worker, the worker's run queue is handed to a
/// stand-in thread for as long as `f` runs, so the queued tasks keep
/// running; when `f` returns, the worker takes its queue back (waiting, if
/// need be, for the stand-in to finish the poll it is in) and carries on.
/// Tasks pinned to this worker with [`spawn_local`] wait for `f`: they may
/// only run on this thread. Outside any runtime `f` simply runs.
///
/// # Panics
///
/// On a current-thread runtime's thread (inside its `block_on` or one of its
/// tasks): nothing could stand in for the one thread, so every task would
/// stop. Move the blocking call to a thread of its own there.
///
/// ```
/// #[weft::main(flavor = "multi_thread", worker_threads = 2)]
/// async fn main() {
///     let ticker = weft::spawn(async {
///         for _ in 0..3 {
///             weft::time::sleep(std::time::Duration::from_millis(1)).await;
///         }
///     });
///     let sum = weft::task::block_in_place(|| {
///         // Synchronous work; the ticker keeps running meanwhile.
///         std::thread::sleep(std::time::Duration::from_millis(10));
///         (1..=10).sum::<u32>()
///     });
///     assert_eq!(sum, 55);
///     ticker.await.unwrap();
/// }
/// ```
#[track_caller]
pub fn block_in_place<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    // A current-thread loop on this thread (also one run inside a worker's
    // `block_in_place`) would stop while `f` blocks.
    if crate::scheduler::current_thread::is_running_any() {
        panic!(
            "weft::task::block_in_place: this thread runs a current-thread runtime, whose every \
             task would stop while `f` blocks; use a multi-thread runtime, or move the blocking \
             call to a thread of its own"
        );
    }
    // Inside a coroutine, `f` must not suspend it: the worker waits for `f`
    // to return before it takes its queue back. `f` runs outside the task's
    // budget (as tokio's): futures it drives itself, with
    // `futures::executor::block_on` say, must not run out of the budget of
    // a poll that is not theirs.
    crate::coro::without_suspending(|| {
        crate::scheduler::multi_thread::block_in_place(|| coop::with_unconstrained(f))
    })
}

pub use crate::blocking::BlockingKind;

/// Runs `f` on the runtime's blocking pool and returns its [`JoinHandle`]:
/// for code that would block the loop (a synchronous library, a file system
/// call, heavy computation). The same as
/// [`spawn_blocking_with`]`(BlockingKind::FastIo, f)`.
///
/// A panic in `f` is returned as a [`JoinError`]. `abort()` cancels the job
/// only if it has not started; a running job runs to the end. A job spawned
/// before its runtime shuts down runs, even if it had not started yet (as
/// tokio's); one spawned after is cancelled.
///
/// # Panics
///
/// When called outside a weft runtime.
///
/// ```
/// #[weft::main]
/// async fn main() {
///     let sum = weft::task::spawn_blocking(|| (1..=100u64).sum::<u64>()).await.unwrap();
///     assert_eq!(sum, 5050);
/// }
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    spawn_blocking_with(BlockingKind::FastIo, f)
}

/// Runs `f` on the blocking pool as work of `kind`: [`BlockingKind::SlowIo`]
/// work (name lookups, slow network file systems) may use at most half of
/// the pool's threads, so it can never starve the rest.
///
/// # Panics
///
/// When called outside a weft runtime.
///
/// ```
/// use weft::task::{spawn_blocking_with, BlockingKind};
///
/// #[weft::main]
/// async fn main() {
///     let page = spawn_blocking_with(BlockingKind::SlowIo, || {
///         std::thread::sleep(std::time::Duration::from_millis(5)); // a slow call
///         "done"
///     });
///     assert_eq!(page.await.unwrap(), "done");
/// }
/// ```
#[track_caller]
pub fn spawn_blocking_with<F, R>(kind: BlockingKind, f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match Handle::try_current() {
        Ok(handle) => handle.spawn_blocking_with(kind, f),
        Err(e) => panic!("weft::task::spawn_blocking: {e}"),
    }
}
