//! The task state word.
//!
//! One `AtomicUsize` per task; every transition is a CAS loop that returns a
//! `#[must_use]` outcome telling the caller what to do next.
//!
//! | bit       | set by                        | cleared by                 |
//! |-----------|-------------------------------|----------------------------|
//! | RUNNING   | the scheduler, before a poll  | the scheduler, after it    |
//! | NOTIFIED  | a wake, when the task is idle or running | the scheduler, before a poll |
//! | COMPLETE  | the scheduler, when the future is gone (done, panicked, cancelled) | never |
//! | CANCELLED | `abort()`                     | never                      |
//!
//! A task is in a run queue exactly when NOTIFIED is set and RUNNING is not,
//! or when NOTIFIED was set while RUNNING (the scheduler requeues it). Only
//! the holder of RUNNING touches the future.

use std::sync::atomic::Ordering::{AcqRel, Acquire};

use crate::sys::loom::AtomicUsize;

const RUNNING: usize = 1;
const NOTIFIED: usize = 1 << 1;
const COMPLETE: usize = 1 << 2;
const CANCELLED: usize = 1 << 3;

pub(crate) struct State(AtomicUsize);

/// What a wake must do.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// The task was idle: the waker must put it on a run queue.
    Submit,
    /// Already queued, running (it will be requeued) or complete.
    Nothing,
}

/// What the scheduler must do with a task it popped.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Start {
    /// Poll the future.
    Poll,
    /// `abort()` was called: drop the future and complete as cancelled.
    Cancel,
    /// The task already completed (it was cancelled at shutdown); drop the ref.
    Done,
    /// Another thread is polling it (cannot happen; refused defensively):
    /// drop this ref and leave the task alone.
    Busy,
}

/// What happened when a poll returned `Pending`.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Idle {
    /// No wake arrived during the poll.
    Idle,
    /// A wake arrived during the poll: requeue the task.
    Requeue,
}

impl State {
    /// A new task is notified: it goes straight onto a run queue.
    pub(crate) fn new_notified() -> State {
        State(AtomicUsize::new(NOTIFIED))
    }

    fn update<R>(&self, mut f: impl FnMut(usize) -> (Option<usize>, R)) -> R {
        let mut current = self.0.load(Acquire);
        loop {
            let (next, result) = f(current);
            let Some(next) = next else { return result };
            match self.0.compare_exchange_weak(current, next, AcqRel, Acquire) {
                Ok(_) => return result,
                Err(actual) => current = actual,
            }
        }
    }

    pub(crate) fn wake(&self) -> Wake {
        self.update(|s| {
            if s & (COMPLETE | NOTIFIED) != 0 {
                (None, Wake::Nothing)
            } else if s & RUNNING != 0 {
                (Some(s | NOTIFIED), Wake::Nothing)
            } else {
                (Some(s | NOTIFIED), Wake::Submit)
            }
        })
    }

    /// Marks the task cancelled. The caller then wakes it so the scheduler
    /// sees the flag.
    pub(crate) fn cancel(&self) {
        self.0.fetch_or(CANCELLED, AcqRel);
    }

    pub(crate) fn start(&self) -> Start {
        self.update(|s| {
            if s & COMPLETE != 0 {
                (None, Start::Done)
            } else if s & RUNNING != 0 {
                // Never happens (one queue entry per NOTIFIED); refusing
                // keeps the "one poller at a time" invariant unconditional.
                debug_assert!(false, "task polled twice at once");
                (None, Start::Busy)
            } else {
                let next = (s & !NOTIFIED) | RUNNING;
                (
                    Some(next),
                    if s & CANCELLED != 0 {
                        Start::Cancel
                    } else {
                        Start::Poll
                    },
                )
            }
        })
    }

    /// Claims an idle task to shut it down (the runtime is going away).
    /// Returns false if it completed already, or if a thread is polling it
    /// right now: then it is marked cancelled and notified, so the end of
    /// that poll requeues it and whoever takes it next (the closed queue,
    /// which shuts it down) drops the future.
    pub(crate) fn start_shutdown(&self) -> bool {
        self.update(|s| {
            if s & COMPLETE != 0 {
                (None, false)
            } else if s & RUNNING != 0 {
                (Some(s | NOTIFIED | CANCELLED), false)
            } else {
                (Some(s | RUNNING | CANCELLED), true)
            }
        })
    }

    pub(crate) fn idle(&self) -> Idle {
        self.update(|s| {
            let next = s & !RUNNING;
            (
                Some(next),
                if s & NOTIFIED != 0 {
                    Idle::Requeue
                } else {
                    Idle::Idle
                },
            )
        })
    }

    /// Ends a poll that yields: not running, and notified, in one update —
    /// the caller queues the task once (as `idle` returning `Requeue`
    /// would, without a self-wake first). A wake that came during the poll
    /// found RUNNING and submitted nothing, so this is still one queue entry.
    pub(crate) fn idle_notified(&self) {
        self.update(|s| (Some((s & !RUNNING) | NOTIFIED), ()));
    }

    pub(crate) fn complete(&self) {
        self.update(|s| (Some((s & !RUNNING) | COMPLETE), ()));
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.0.load(Acquire) & COMPLETE != 0
    }
}

#[cfg(all(test, not(weft_loom)))]
mod tests {
    use super::*;

    #[test]
    fn lifecycle() {
        let s = State::new_notified();
        assert_eq!(s.wake(), Wake::Nothing, "already queued");
        assert_eq!(s.start(), Start::Poll);
        assert_eq!(
            s.wake(),
            Wake::Nothing,
            "running: requeued by the scheduler"
        );
        assert_eq!(s.idle(), Idle::Requeue);
        assert_eq!(s.start(), Start::Poll);
        assert_eq!(s.idle(), Idle::Idle);
        assert_eq!(s.wake(), Wake::Submit);
        assert_eq!(s.start(), Start::Poll);
        s.complete();
        assert!(s.is_complete());
        assert_eq!(s.wake(), Wake::Nothing);
        assert_eq!(s.start(), Start::Done);
    }

    #[test]
    fn cancel_is_seen_at_next_start() {
        let s = State::new_notified();
        assert_eq!(s.start(), Start::Poll);
        assert_eq!(s.idle(), Idle::Idle);
        s.cancel();
        assert_eq!(s.wake(), Wake::Submit);
        assert_eq!(s.start(), Start::Cancel);
    }

    #[test]
    fn shutdown_claims_only_idle_tasks() {
        let s = State::new_notified();
        assert!(s.start_shutdown(), "a queued task can be shut down");
        s.complete();
        assert!(!s.start_shutdown(), "completed tasks are left alone");
    }

    #[test]
    fn shutdown_of_a_running_task_cancels_it_at_the_end_of_its_poll() {
        let s = State::new_notified();
        assert_eq!(s.start(), Start::Poll);
        assert!(!s.start_shutdown(), "another thread is polling it");
        assert_eq!(s.idle(), Idle::Requeue, "the poll's end requeues it");
        assert!(s.start_shutdown(), "then it can be shut down");
    }
}

#[cfg(all(test, weft_loom))]
mod loom_models {
    use super::*;

    /// A wake racing a poll is never lost: either it finds the task idle
    /// and submits it, or it lands while the task runs and the poll's end
    /// requeues it. Never both, never neither.
    #[test]
    fn loom_wake_races_poll() {
        loom::model(|| {
            let state = loom::sync::Arc::new(State::new_notified());
            assert_eq!(state.start(), Start::Poll);
            let waker = {
                let state = state.clone();
                loom::thread::spawn(move || state.wake())
            };
            let idle = state.idle();
            let wake = waker.join().unwrap();
            assert!(
                (wake == Wake::Submit) != (idle == Idle::Requeue),
                "wake {wake:?}, idle {idle:?}"
            );
        });
    }

    /// An abort racing a poll is seen by the next start.
    #[test]
    fn loom_abort_races_poll() {
        loom::model(|| {
            let state = loom::sync::Arc::new(State::new_notified());
            assert_eq!(state.start(), Start::Poll);
            let aborter = {
                let state = state.clone();
                loom::thread::spawn(move || {
                    state.cancel();
                    state.wake()
                })
            };
            let idle = state.idle();
            let wake = aborter.join().unwrap();
            assert!((wake == Wake::Submit) != (idle == Idle::Requeue));
            assert_eq!(state.start(), Start::Cancel);
        });
    }
}
