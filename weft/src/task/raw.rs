//! A task: one `Arc` holding the state word, the future and the join slot.
//!
//! The scheduler holds a task through [`TaskRef`] (`Arc<dyn Task>`); wakers
//! hold the concrete `Arc<Cell<F>>`. Polling borrows the `Arc` as the waker
//! (`waker_ref`), so a poll costs no reference-count traffic, and a wake of
//! the running task only sets NOTIFIED.

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

use futures_util::task::{waker_ref, ArcWake};

use super::state::{Idle, Start, State, Wake};
use super::{coop, Id, JoinError};
use crate::scheduler;

/// How the scheduler holds a task.
pub(crate) type TaskRef = Arc<dyn Task>;

/// Registry index of a task not (yet) in its scheduler's registry.
pub(crate) const NOT_OWNED: usize = usize::MAX;

/// What every task has, whatever its future.
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) id: Id,
    pub(crate) scheduler: scheduler::Handle,
    /// Index in the scheduler's registry of live tasks; touched only by the
    /// thread that drives the scheduler.
    pub(crate) owned_index: AtomicUsize,
    /// For `spawn_local` tasks: the one thread that may poll or drop the
    /// future.
    pub(crate) local_owner: Option<LocalOwner>,
    /// A blocking-pool job: run by the pool, never queued on a scheduler
    /// (its one poll completes it), not in a scheduler's counts.
    pub(crate) blocking: bool,
}

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

/// The scheduler's view of a task.
pub(crate) trait Task: Send + Sync {
    fn header(&self) -> &Header;
    /// Polls the future once (or cancels it). The caller holds the queue's
    /// reference, which `run` consumes.
    fn run(self: Arc<Self>) -> Ran;
    /// The runtime is shutting down: drop the future now if the task is idle.
    fn shutdown(self: Arc<Self>);
    /// Wakes the task (used by `abort`).
    fn wake_task(self: Arc<Self>);
}

/// The join side: output and the waiting `JoinHandle`.
pub(crate) struct JoinSlot<T> {
    pub(crate) output: Option<Result<T, JoinError>>,
    pub(crate) waker: Option<Waker>,
    /// False once the `JoinHandle` is dropped: the output is dropped at once.
    pub(crate) handle_alive: bool,
}

/// A task whose output is `T`, as a `JoinHandle` sees it.
pub(crate) trait Join<T>: Task {
    fn join_slot(&self) -> MutexGuard<'_, JoinSlot<T>>;
}

pub(crate) struct Cell<F: Future> {
    header: Header,
    /// `Some` until the future completes or is cancelled; touched only by the
    /// holder of RUNNING.
    future: UnsafeCell<Option<F>>,
    join: Mutex<JoinSlot<F::Output>>,
}

// SAFETY: the future is reached only through `&mut` taken by the one thread
// that holds RUNNING (state.rs), which makes access exclusive. A `!Send`
// future (`spawn_local`) is polled and dropped only on `local_owner`: `run`
// checks it and `shutdown` leaks rather than drop elsewhere. The output
// crosses threads only as `JoinHandle<T>`, which is `Send` only for `T: Send`.
unsafe impl<F: Future> Send for Cell<F> {}
// SAFETY: as above; every other field is itself `Sync`.
unsafe impl<F: Future> Sync for Cell<F> {}

impl<F> Cell<F>
where
    F: Future + 'static,
    F::Output: 'static,
{
    pub(crate) fn new(
        future: F,
        id: Id,
        scheduler: scheduler::Handle,
        local_owner: Option<LocalOwner>,
    ) -> Arc<Cell<F>> {
        Arc::new(Cell {
            header: Header {
                state: State::new_notified(),
                id,
                scheduler,
                owned_index: AtomicUsize::new(NOT_OWNED),
                local_owner,
                blocking: false,
            },
            future: UnsafeCell::new(Some(future)),
            join: Mutex::new(JoinSlot {
                output: None,
                waker: None,
                handle_alive: true,
            }),
        })
    }

    /// A blocking-pool job running `future` (which completes in one poll).
    pub(crate) fn new_blocking(future: F, id: Id, scheduler: scheduler::Handle) -> Arc<Cell<F>> {
        let cell = Cell::new(future, id, scheduler, None);
        // Not shared yet: set the flag through the fresh Arc.
        let mut cell = cell;
        Arc::get_mut(&mut cell)
            .expect("a new task has one reference")
            .header
            .blocking = true;
        cell
    }

    fn on_owner_thread(&self) -> bool {
        self.header
            .local_owner
            .is_none_or(|owner| owner.thread == thread::current().id())
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

impl<F> Task for Cell<F>
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn header(&self) -> &Header {
        &self.header
    }

    fn run(self: Arc<Self>) -> Ran {
        debug_assert!(self.on_owner_thread(), "local task polled off its thread");
        let _current = super::CurrentTask::enter(self.header.id);
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
            let waker = waker_ref(&self);
            let mut cx = Context::from_waker(&waker);
            catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: we hold RUNNING, so this is the only reference to
                // the future; it lives inside the `Arc` and never moves.
                let future = unsafe { &mut *self.future.get() };
                let future = future
                    .as_mut()
                    .expect("weft: a running task has its future");
                // SAFETY: as above: pinned in the `Arc` until dropped in place.
                let future = unsafe { Pin::new_unchecked(future) };
                coop::budget(|| future.poll(&mut cx))
            }))
        };
        let yielded = coop::take_requeue();
        match polled {
            Ok(Poll::Pending) if yielded => {
                // The root future asked to go to the back of the queue.
                self.header.state.idle_notified();
                scheduler::schedule(self.header.scheduler.target(), self, true);
                Ran::Pending
            }
            Ok(Poll::Pending) => {
                if self.header.state.idle() == Idle::Requeue {
                    // Woken during its own poll: a yield, to the back of
                    // the queue.
                    scheduler::schedule(self.header.scheduler.target(), self, true);
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
            let _current = super::CurrentTask::enter(self.header.id);
            self.cancel_now();
        }
    }

    fn wake_task(self: Arc<Self>) {
        ArcWake::wake(self);
    }
}

impl<F> Join<F::Output> for Cell<F>
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn join_slot(&self) -> MutexGuard<'_, JoinSlot<F::Output>> {
        // User code never runs under this lock, so it cannot be poisoned
        // half-way through an update.
        self.join.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<F> ArcWake for Cell<F>
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn wake(self: Arc<Self>) {
        if self.header.state.wake() == Wake::Submit {
            scheduler::schedule(self.header.scheduler.target(), self, false);
        }
    }

    fn wake_by_ref(arc_self: &Arc<Self>) {
        if arc_self.header.state.wake() == Wake::Submit {
            scheduler::schedule(arc_self.header.scheduler.target(), arc_self.clone(), false);
        }
    }
}
