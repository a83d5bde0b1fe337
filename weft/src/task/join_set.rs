//! `JoinSet`: a set of tasks whose outputs are awaited as they complete.

use std::fmt;
use std::future::Future;
use std::panic;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use futures_util::stream::FuturesUnordered;

use super::{AbortHandle, Id, JoinError, JoinHandle};
use crate::runtime::Handle;

/// A collection of tasks spawned on weft runtimes, whose outputs come back
/// in the order the tasks complete (tokio's `JoinSet`).
///
/// All of its tasks must have the same output type `T`. Dropping the set
/// aborts every task still in it; [`detach_all`](Self::detach_all) lets
/// them run on instead. [`join_next`](Self::join_next) is cancel safe and
/// spends the task's cooperative budget, so a loop draining a large set of
/// finished tasks still yields.
///
/// ```
/// use weft::task::JoinSet;
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() {
///     let mut set = JoinSet::new();
///     for i in 0..10 {
///         set.spawn(async move { i * 2 });
///     }
///     let mut seen = Vec::new();
///     while let Some(result) = set.join_next().await {
///         seen.push(result.unwrap());
///     }
///     seen.sort();
///     assert_eq!(seen, (0..10).map(|i| i * 2).collect::<Vec<_>>());
/// }
/// ```
pub struct JoinSet<T> {
    tasks: FuturesUnordered<Member<T>>,
}

/// One task of the set: its handle, polled for `(id, result)`.
struct Member<T> {
    handle: JoinHandle<T>,
}

impl<T> Future for Member<T> {
    type Output = (Id, Result<T, JoinError>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let id = self.handle.id();
        Pin::new(&mut self.handle)
            .poll(cx)
            .map(|result| (id, result))
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            tasks: FuturesUnordered::new(),
        }
    }

    /// Tasks in the set: running, or finished with their output not yet
    /// taken.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// True when the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        self.tasks.push(Member { handle });
        abort
    }
}

impl<T: 'static> JoinSet<T> {
    /// Spawns `task` on the current runtime (as [`crate::spawn`]) and adds
    /// it to the set; the returned [`AbortHandle`] can cancel it.
    ///
    /// # Panics
    ///
    /// Outside a weft runtime, as [`crate::spawn`].
    #[track_caller]
    pub fn spawn<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send,
    {
        self.insert(super::spawn(task))
    }

    /// Spawns `task` on the runtime of `handle` and adds it to the set.
    #[cfg_attr(feature = "console", track_caller)]
    pub fn spawn_on<F>(&mut self, task: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send,
    {
        self.insert(handle.spawn(task))
    }

    /// Spawns a `!Send` `task` on this thread (as
    /// [`spawn_local`](crate::task::spawn_local)) and adds it to the set.
    ///
    /// # Panics
    ///
    /// Where [`spawn_local`](crate::task::spawn_local) panics: off a thread
    /// that runs a weft loop.
    #[track_caller]
    pub fn spawn_local<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(crate::task::spawn_local(task))
    }

    /// Runs `f` on the current runtime's blocking pool (as
    /// [`spawn_blocking`](crate::task::spawn_blocking)) and adds the job to
    /// the set. Aborting it cancels it only if it has not started.
    ///
    /// # Panics
    ///
    /// Outside a weft runtime.
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        self.insert(crate::task::spawn_blocking(f))
    }

    /// Runs `f` on the blocking pool of `handle`'s runtime and adds the job
    /// to the set.
    #[cfg_attr(feature = "console", track_caller)]
    pub fn spawn_blocking_on<F>(&mut self, f: F, handle: &Handle) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        self.insert(handle.spawn_blocking(f))
    }

    /// Waits for one of the tasks to complete and returns its output (or
    /// its [`JoinError`]: panicked or aborted); `None` once the set is
    /// empty.
    ///
    /// Cancel safe: if another branch of a `select!` wins, no task left the
    /// set.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        std::future::poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// [`join_next`](Self::join_next), with the [`Id`] of the task that
    /// completed (an error carries it as [`JoinError::id`]).
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        std::future::poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// The output of a task that has already completed, without waiting:
    /// `None` if none has (or the set is empty).
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.try_join_next_with_id()
            .map(|result| result.map(|(_, output)| output))
    }

    /// [`try_join_next`](Self::try_join_next), with the task's [`Id`].
    pub fn try_join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        // One look with a waker that wakes nobody: the next `join_next`
        // registers its own. Outside the budget, as tokio's: this is not a
        // yield point.
        let mut cx = Context::from_waker(Waker::noop());
        match crate::task::coop::with_unconstrained(|| self.poll_join_next_with_id(&mut cx)) {
            Poll::Ready(result) => result,
            Poll::Pending => None,
        }
    }

    /// Aborts every task, then waits until each has finished (its output or
    /// error is dropped; panics included). The set is empty afterwards.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for every task and returns their outputs in the order they
    /// completed.
    ///
    /// # Panics
    ///
    /// If a task panicked, its panic resumes here; if one was aborted, this
    /// panics with the error. Either way the remaining tasks are aborted
    /// (the set is dropped). To handle errors another way, loop over
    /// [`join_next`](Self::join_next).
    pub async fn join_all(mut self) -> Vec<T> {
        let mut output = Vec::with_capacity(self.len());
        while let Some(result) = self.join_next().await {
            match result {
                Ok(value) => output.push(value),
                Err(err) if err.is_panic() => panic::resume_unwind(err.into_panic()),
                Err(err) => panic!("{err}"),
            }
        }
        output
    }

    /// Aborts every task in the set. They stay in it: their
    /// [`JoinError`]s (cancelled, unless a task finished first) come out of
    /// [`join_next`](Self::join_next).
    pub fn abort_all(&mut self) {
        for member in self.tasks.iter() {
            member.handle.abort();
        }
    }

    /// Removes every task from the set without aborting it: they run on,
    /// and their outputs are dropped when they finish.
    pub fn detach_all(&mut self) {
        self.tasks.clear();
    }

    /// Polls for [`join_next`](Self::join_next): `Ready(None)` when the set
    /// is empty, `Pending` (with this `cx`'s waker registered, the last one
    /// given) while no task has completed — or when the cooperative budget
    /// is spent, even though one has.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx)
            .map(|result| result.map(|result| result.map(|(_, output)| output)))
    }

    /// [`poll_join_next`](Self::poll_join_next), with the task's [`Id`].
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        Pin::new(&mut self.tasks)
            .poll_next(cx)
            .map(|member| member.map(|(id, result)| result.map(|output| (id, output))))
    }
}

impl<T> Drop for JoinSet<T> {
    /// Aborts every task still in the set.
    fn drop(&mut self) {
        for member in self.tasks.iter() {
            member.handle.abort();
        }
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

/// Spawns each future on the current runtime, as [`JoinSet::spawn`].
///
/// ```
/// use weft::task::JoinSet;
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() {
///     let set: JoinSet<u32> = (1..=3).map(|i| async move { i }).collect();
///     let mut sum = 0;
///     for value in set.join_all().await {
///         sum += value;
///     }
///     assert_eq!(sum, 6);
/// }
/// ```
impl<T, F> FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> JoinSet<T> {
        let mut set = JoinSet::new();
        set.extend(iter);
        set
    }
}

/// Spawns each future on the current runtime, as [`JoinSet::spawn`].
impl<T, F> Extend<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        for task in iter {
            self.spawn(task);
        }
    }
}
