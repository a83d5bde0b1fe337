//! A task: one `Arc` holding the state word, the future and the join slot.
//!
//! The scheduler holds a task through [`TaskRef`] (`Arc<dyn Task<S>>`);
//! wakers hold the concrete `Arc<Cell<F, S>>`. Polling borrows the `Arc` as
//! the waker (`waker_ref`), so a poll costs no reference-count traffic, and a
//! wake of the running task only sets NOTIFIED.
//!
//! The harness knows no scheduler: a task holds its scheduler as an `S:`
//! [`Schedule`], the one way it reaches the layer above (to be queued when
//! woken, and to leave the scheduler's counts when it finishes). The
//! scheduler layer's `Handle` is the only `S`; join and abort handles see
//! a task through [`TaskCore`], without it.

use std::any::Any;
use std::cell::UnsafeCell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};

#[cfg(not(feature = "console"))]
use futures_util::task::waker_ref;
use futures_util::task::ArcWake;

use super::coop;
use super::id::Id;
use super::join::JoinError;
use super::state::{Idle, Start, State, Wake};
use crate::sys::lock::lock;

/// What the harness needs of the scheduler a task belongs to. Implemented
/// by the scheduler layer's handle; the harness calls nothing else above
/// it.
pub(crate) trait Schedule: Sized + Send + Sync + 'static {
    /// The scheduler named cheaply (a plain pointer): taken from the
    /// task's header before the task reference itself moves into
    /// [`schedule`](Schedule::schedule), so a wake costs no extra call.
    type Target: Copy;

    /// This scheduler as a [`Target`](Schedule::Target).
    fn target(&self) -> Self::Target;

    /// Puts the woken `task` on a run queue of its scheduler, `target`.
    /// `yielded`: the task woke itself during its own poll (it goes behind
    /// the others).
    fn schedule(target: Self::Target, task: TaskRef<Self>, yielded: bool);

    /// `task`'s future is gone (completed, panicked or cancelled): it
    /// leaves the scheduler's counts and registries. Called before its
    /// output is published.
    fn task_finished(&self, task: &Header<Self>);
}

/// How a scheduler `S` holds a task.
pub(crate) type TaskRef<S> = Arc<dyn Task<S>>;

/// Registry index of a task not (yet) in its scheduler's registry.
pub(crate) const NOT_OWNED: usize = usize::MAX;

/// What every task has, whatever its future.
pub(crate) struct Header<S> {
    pub(crate) state: State,
    pub(crate) id: Id,
    pub(crate) scheduler: S,
    /// Index in the scheduler's registry of live tasks; touched only by the
    /// thread that drives the scheduler.
    pub(crate) owned_index: AtomicUsize,
    /// For `spawn_local` tasks: the one thread that may poll or drop the
    /// future.
    pub(crate) local_owner: Option<LocalOwner>,
    /// A blocking-pool job: run by the pool, never queued on a scheduler
    /// (its one poll completes it), not in a scheduler's counts.
    pub(crate) pool_job: bool,
    /// The id of the task's console span, for its wakers' events.
    #[cfg(feature = "console")]
    pub(crate) trace_id: Option<u64>,
}

/// The future a spawned task's cell holds: with the `console` feature, the
/// spawned future inside its task span; without, the future itself.
#[cfg(feature = "console")]
pub(crate) type Spawned<F> = super::console::Traced<F>;
/// The future a spawned task's cell holds: with the `console` feature, the
/// spawned future inside its task span; without, the future itself.
#[cfg(not(feature = "console"))]
pub(crate) type Spawned<F> = F;

/// Where a `spawn_local` task lives.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LocalOwner {
    /// The only thread that may poll or drop the future.
    pub(crate) thread: ThreadId,
    /// The multi-thread worker that thread runs (0 on current-thread).
    pub(crate) worker: usize,
}

/// The outcome of one [`Task::run`].
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ran {
    /// The future is still pending (the task may have requeued itself).
    Pending,
    /// The future is gone: completed, panicked or cancelled just now.
    Complete,
    /// The task had completed before; this was a leftover queue entry.
    Stale,
}

/// A task as its join and abort handles see it, whatever its scheduler.
pub(crate) trait TaskCore: Send + Sync {
    fn state(&self) -> &State;
    fn id(&self) -> Id;
    /// Wakes the task (used by `abort`).
    fn wake_task(self: Arc<Self>);
}

/// The scheduler's view of a task.
pub(crate) trait Task<S>: TaskCore {
    fn header(&self) -> &Header<S>;
    /// Polls the future once (or cancels it). The caller holds the queue's
    /// reference, which `run` consumes.
    fn run(self: Arc<Self>) -> Ran;
    /// The runtime is shutting down: drop the future now if the task is idle.
    fn shutdown(self: Arc<Self>);
}

/// The join side: output and the waiting `JoinHandle`.
pub(crate) struct JoinSlot<T> {
    pub(crate) output: Option<Result<T, JoinError>>,
    pub(crate) waker: Option<Waker>,
    /// False once the `JoinHandle` is dropped: the output is dropped at once.
    pub(crate) handle_alive: bool,
}

/// A task whose output is `T`, as a `JoinHandle` sees it.
pub(crate) trait Join<T>: TaskCore {
    fn join_slot(&self) -> MutexGuard<'_, JoinSlot<T>>;
}

pub(crate) struct Cell<F: Future, S> {
    header: Header<S>,
    /// `Some` until the future completes or is cancelled; touched only by the
    /// holder of RUNNING.
    future: UnsafeCell<Option<F>>,
    join: Mutex<JoinSlot<F::Output>>,
}

// SAFETY: a `Cell` may move between and be shared by threads although `F`
// (a `spawn_local` future) and `F::Output` may be `!Send`, because:
// - the future is reached only through `&mut` taken by the one thread that
//   holds RUNNING (state.rs), which makes access exclusive;
// - a future with a `local_owner` is polled, and dropped, only on that
//   owner thread, in release builds too: `run` checks the thread before it
//   touches the future and, off it, leaks the whole cell and panics
//   (`assert_on_owner_thread`); `shutdown` leaks the whole cell rather than
//   drop the future off it; and `Drop for Cell` (the last reference going
//   away off the owner thread with the future still there) aborts the
//   process. Every other path to the future goes through `run` or
//   `shutdown`. Futures without an owner are `Send` (`spawn` requires it);
// - the output is written on the thread that polls; it leaves the cell
//   only through `JoinHandle<T>`, which is `Send` only for `T: Send`, or is
//   dropped by `finish` on the polling thread when no handle wants it;
// - every other field (header, join mutex) is itself `Send + Sync`.
unsafe impl<F: Future, S: Send> Send for Cell<F, S> {}
// SAFETY: shared access (`&Cell`) reaches the future and the output only
// under the exclusive-access rules listed for `Send` just above (RUNNING,
// the owner-thread check, the join mutex); the other fields are `Sync`.
unsafe impl<F: Future, S: Sync> Sync for Cell<F, S> {}

impl<F, S> Cell<F, S>
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    pub(crate) fn new(
        future: F,
        id: Id,
        scheduler: S,
        local_owner: Option<LocalOwner>,
    ) -> Arc<Cell<F, S>> {
        Arc::new(Cell {
            header: Header {
                state: State::new_notified(),
                id,
                scheduler,
                owned_index: AtomicUsize::new(NOT_OWNED),
                local_owner,
                pool_job: false,
                #[cfg(feature = "console")]
                trace_id: None,
            },
            future: UnsafeCell::new(Some(future)),
            join: Mutex::new(JoinSlot {
                output: None,
                waker: None,
                handle_alive: true,
            }),
        })
    }

    fn on_owner_thread(&self) -> bool {
        self.header
            .local_owner
            .is_none_or(|owner| owner.thread == current_thread_id())
    }

    /// Panics, before the future is touched, if this is a local task and
    /// this thread is not its owner: polling a `!Send` future elsewhere would
    /// be undefined behaviour. A scheduler bug, never a user's; checked in
    /// release builds too (a thread-local read for local tasks, nothing for
    /// the others). The queue's reference is leaked first, so that the
    /// unwinding cannot drop the future here either.
    #[inline]
    fn assert_on_owner_thread(self: &Arc<Self>) {
        if !self.on_owner_thread() {
            let id = self.header.id;
            std::mem::forget(Arc::clone(self));
            owner_thread_violation(id);
        }
    }

    /// Drops the future in place. Caller holds RUNNING. Returns the panic
    /// payload if its `Drop` panicked.
    fn drop_future(&self) -> Option<Box<dyn Any + Send>> {
        let slot = self.future.get();
        catch_unwind(AssertUnwindSafe(|| {
            /// Leaves `None` behind even if the future's drop unwinds, so
            /// it is never dropped twice.
            struct Reset<T>(*mut Option<T>);
            impl<T> Drop for Reset<T> {
                fn drop(&mut self) {
                    // SAFETY: the pointee was just dropped in place (or is
                    // being unwound out of); writing without reading it back
                    // is the only valid thing to do.
                    unsafe { ptr::write(self.0, None) };
                }
            }
            let _reset = Reset(slot);
            // SAFETY: the caller holds RUNNING, so nothing else touches the
            // slot; the future is dropped where it was pinned.
            unsafe { ptr::drop_in_place(slot) };
        }))
        .err()
    }

    /// Publishes the task's result and wakes the `JoinHandle`.
    fn finish(&self, output: Result<F::Output, JoinError>) {
        // Leave the scheduler's registry first, so that whoever sees the
        // output also sees the task gone from the runtime's counts.
        self.header.scheduler.task_finished(&self.header);
        let mut slot = self.join_slot();
        self.header.state.complete();
        if slot.handle_alive {
            slot.output = Some(output);
            let waker = slot.waker.take();
            drop(slot);
            if let Some(waker) = waker {
                waker.wake();
            }
        } else {
            drop(slot);
            // Nobody will read it. Its drop may panic; the loop must not.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(output)));
        }
    }

    fn cancel_now(&self) {
        let output = match self.drop_future() {
            None => Err(JoinError::cancelled(self.header.id)),
            Some(payload) => Err(JoinError::panic(self.header.id, payload)),
        };
        self.finish(output);
    }
}

/// A spawned task: `future` in a new cell, `local_owner` for a
/// `spawn_local` task. With the `console` feature the future goes inside its
/// task span, located at the caller (the spawn paths down from the public
/// `spawn` functions are `#[track_caller]` then).
#[cfg_attr(feature = "console", track_caller)]
pub(crate) fn spawned<F, S>(
    future: F,
    id: Id,
    scheduler: S,
    local_owner: Option<LocalOwner>,
) -> Arc<Cell<Spawned<F>, S>>
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    #[cfg(feature = "console")]
    {
        use super::console::{instrument, Kind};
        let kind = if local_owner.is_some() {
            Kind::Local
        } else {
            Kind::Task
        };
        let (future, trace_id) = instrument(future, kind, id, std::panic::Location::caller());
        let mut cell = Cell::new(future, id, scheduler, local_owner);
        Arc::get_mut(&mut cell)
            .expect("a new task has one reference")
            .header
            .trace_id = trace_id;
        cell
    }
    #[cfg(not(feature = "console"))]
    Cell::new(future, id, scheduler, local_owner)
}

/// A blocking-pool job running `future` (which completes in one poll).
#[cfg_attr(feature = "console", track_caller)]
pub(crate) fn spawned_blocking<F, S>(future: F, id: Id, scheduler: S) -> Arc<Cell<Spawned<F>, S>>
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    #[cfg(feature = "console")]
    let (future, trace_id) = super::console::instrument(
        future,
        super::console::Kind::Blocking,
        id,
        std::panic::Location::caller(),
    );
    let mut cell = Cell::new(future, id, scheduler, None);
    // Not shared yet: set the header through the fresh Arc.
    let header = &mut Arc::get_mut(&mut cell)
        .expect("a new task has one reference")
        .header;
    header.pool_job = true;
    #[cfg(feature = "console")]
    {
        header.trace_id = trace_id;
    }
    cell
}

#[cfg(feature = "console")]
impl<F: Future, S> super::console::Traceable for Cell<F, S> {
    fn trace_id(&self) -> Option<u64> {
        self.header.trace_id
    }
}

impl<F, S> TaskCore for Cell<F, S>
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    fn state(&self) -> &State {
        &self.header.state
    }

    fn id(&self) -> Id {
        self.header.id
    }

    fn wake_task(self: Arc<Self>) {
        ArcWake::wake(self);
    }
}

impl<F, S> Task<S> for Cell<F, S>
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    fn header(&self) -> &Header<S> {
        &self.header
    }

    fn run(self: Arc<Self>) -> Ran {
        self.assert_on_owner_thread();
        let _current = super::id::CurrentTask::enter(self.header.id);
        match self.header.state.start() {
            Start::Done => return Ran::Stale,
            Start::Busy => return Ran::Pending,
            Start::Cancel => {
                self.cancel_now();
                return Ran::Complete;
            }
            Start::Poll => {}
        }
        let polled = {
            #[cfg(not(feature = "console"))]
            let waker = waker_ref(&self);
            // The same, with its clones, drops and wakes reported.
            #[cfg(feature = "console")]
            let waker = super::console::waker_ref(&self);
            let mut cx = Context::from_waker(&waker);
            catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: we hold RUNNING, so this is the only reference to
                // the future; it lives inside the `Arc` and never moves.
                let future = unsafe { &mut *self.future.get() };
                let future = future
                    .as_mut()
                    .expect("weft: a running task has its future");
                // SAFETY: the future lives inside the `Arc`'s allocation, is
                // never moved out of it, and is dropped in place
                // (`drop_future`), so it stays pinned for its whole life.
                let future = unsafe { Pin::new_unchecked(future) };
                coop::budget(|| future.poll(&mut cx))
            }))
        };
        let yielded = coop::take_requeue();
        match polled {
            Ok(Poll::Pending) if yielded => {
                // The root future asked to go to the back of the queue.
                self.header.state.idle_notified();
                S::schedule(self.header.scheduler.target(), self, true);
                Ran::Pending
            }
            Ok(Poll::Pending) => {
                if self.header.state.idle() == Idle::Requeue {
                    // Woken during its own poll: a yield, to the back of
                    // the queue.
                    S::schedule(self.header.scheduler.target(), self, true);
                }
                Ran::Pending
            }
            Ok(Poll::Ready(value)) => {
                let output = match self.drop_future() {
                    None => Ok(value),
                    Some(payload) => Err(JoinError::panic(self.header.id, payload)),
                };
                self.finish(output);
                Ran::Complete
            }
            Err(payload) => {
                // The payload explains the failure; a second panic from the
                // future's drop adds nothing.
                let _ = self.drop_future();
                self.finish(Err(JoinError::panic(self.header.id, payload)));
                Ran::Complete
            }
        }
    }

    fn shutdown(self: Arc<Self>) {
        if !self.on_owner_thread() {
            // A late wake of a local task, on a thread that may not touch
            // its `!Send` future or output. Once it has completed and its
            // output is gone, what is left (state, waker) may be dropped
            // anywhere; otherwise leak it rather than drop it here.
            let done = self.header.state.is_complete() && self.join_slot().output.is_none();
            if !done {
                std::mem::forget(self);
            }
            return;
        }
        if self.header.state.start_shutdown() {
            let _current = super::id::CurrentTask::enter(self.header.id);
            self.cancel_now();
        }
    }
}

impl<F: Future, S> Drop for Cell<F, S> {
    fn drop(&mut self) {
        // The future is normally gone by now (completed, cancelled, or
        // dropped at shutdown on its owner thread; `run` and `shutdown`
        // leak the whole cell rather than let it go elsewhere). If the last
        // reference to a local task still goes away on another thread with
        // its future in place, neither dropping the `!Send` future here nor
        // forgetting it (its memory is about to be freed while pinned) is
        // sound: stop the process, saying why.
        let off_owner = self
            .header
            .local_owner
            .is_some_and(|owner| owner.thread != current_thread_id());
        if off_owner && self.future.get_mut().is_some() {
            eprintln!(
                "weft: the local task {} was about to be dropped, with its future, on a thread \
                 other than the one that spawned it (a bug in weft's scheduler: please report \
                 it); aborting rather than drop a !Send future there",
                self.header.id
            );
            std::process::abort();
        }
    }
}

/// This thread's id, cached: `thread::current()` costs more than a
/// thread-local read.
fn current_thread_id() -> ThreadId {
    thread_local! {
        static ID: ThreadId = thread::current().id();
    }
    ID.try_with(|id| *id)
        .unwrap_or_else(|_| thread::current().id())
}

#[cold]
#[inline(never)]
fn owner_thread_violation(id: Id) -> ! {
    panic!(
        "weft: the local task {id} was about to be polled on a thread other than the one that \
         spawned it with `spawn_local`; its future is not `Send`, so it was not polled (a bug \
         in weft's scheduler: please report it)"
    )
}

impl<F, S> Join<F::Output> for Cell<F, S>
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    fn join_slot(&self) -> MutexGuard<'_, JoinSlot<F::Output>> {
        // User code never runs under this lock, so it cannot be poisoned
        // half-way through an update.
        lock(&self.join)
    }
}

impl<F, S> ArcWake for Cell<F, S>
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    fn wake(self: Arc<Self>) {
        if self.header.state.wake() == Wake::Submit {
            S::schedule(self.header.scheduler.target(), self, false);
        }
    }

    fn wake_by_ref(arc_self: &Arc<Self>) {
        if arc_self.header.state.wake() == Wake::Submit {
            S::schedule(arc_self.header.scheduler.target(), arc_self.clone(), false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::atomic::Ordering::SeqCst;

    /// A future that records being polled or dropped.
    struct Probe {
        polled: Arc<AtomicBool>,
        dropped: Arc<AtomicBool>,
    }

    impl Future for Probe {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            self.polled.store(true, SeqCst);
            Poll::Pending
        }
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            self.dropped.store(true, SeqCst);
        }
    }

    #[test]
    fn a_local_task_run_off_its_owner_thread_panics_without_touching_the_future() {
        let rt = crate::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let scheduler = rt.handle().inner.clone();
        let elsewhere = thread::spawn(|| thread::current().id()).join().unwrap();
        let (polled, dropped) = (Arc::new(AtomicBool::new(false)), Arc::default());
        let probe = Probe {
            polled: Arc::clone(&polled),
            dropped: Arc::clone(&dropped),
        };
        let owner = LocalOwner {
            thread: elsewhere,
            worker: 0,
        };
        let task: TaskRef<_> = Cell::new(probe, Id::next(), scheduler, Some(owner));
        let panic = catch_unwind(AssertUnwindSafe(|| task.run()))
            .expect_err("a local task ran on a thread that does not own it");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("spawn_local"), "{message}");
        assert!(!polled.load(SeqCst), "the future was polled off its thread");
        // The last reference went with the panic: the future was leaked,
        // not dropped on this thread.
        assert!(
            !dropped.load(SeqCst),
            "the future was dropped off its thread"
        );
    }
}
