//! Cooperative budget: a task that is always ready must still yield.
//!
//! Each task poll starts with [`BUDGET`] units. Every resource operation that
//! completes (an I/O readiness, a timer, a join) spends one; when none are
//! left, the operation returns `Pending` after waking the task; a task woken
//! during its own poll waits for the driver's next turn (as a yield does), so
//! the loop gets to poll I/O and fire timers before it runs again. Outside a
//! task poll the budget is unconstrained.

use std::cell::Cell;
use std::task::{Context, Poll};

/// Units a task may spend per poll (tokio uses the same figure).
pub(crate) const BUDGET: u8 = 128;

thread_local! {
    /// `None`: unconstrained (not inside a task poll).
    static REMAINING: Cell<Option<u8>> = const { Cell::new(None) };
    /// Set by a task's root future during its poll: "poll me again after
    /// the others" (a yield), taken by the task harness when the poll returns.
    static REQUEUE: Cell<bool> = const { Cell::new(false) };
}

/// Asks the task harness to put the task being polled at the back of its run
/// queue when this poll returns `Pending` — a yield without a self-wake
/// (saves a state update and the waker call). Only a task's *root* future may
/// call this (the coroutine task does): a future nested in a combinator must
/// wake its own `Context`, which the combinator may be watching.
pub(crate) fn requeue_after_poll() {
    REQUEUE.set(true);
}

/// Takes the [`requeue_after_poll`] request of the poll that just returned.
pub(crate) fn take_requeue() -> bool {
    REQUEUE.replace(false)
}

/// Runs `f` (one task poll) with a fresh budget. Task polls never nest, so
/// the budget is simply unconstrained again afterwards (also if `f` panics:
/// the guard resets it during unwinding).
pub(crate) fn budget<R>(f: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            REMAINING.set(None);
        }
    }
    REMAINING.set(Some(BUDGET));
    let _reset = Reset;
    f()
}

/// True unless the current task poll has used up its budget.
pub(crate) fn has_budget_remaining() -> bool {
    REMAINING.with(|r| r.get() != Some(0))
}

/// Runs `f` with no budget limit (restoring the budget after).
pub(crate) fn unconstrained<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Option<u8>);
    impl Drop for Restore {
        fn drop(&mut self) {
            REMAINING.with(|r| r.set(self.0));
        }
    }
    let _restore = Restore(REMAINING.with(|r| r.replace(None)));
    f()
}

/// Spent unit of budget; given back on drop unless the operation made
/// progress.
#[must_use]
pub(crate) struct Spent(bool);

impl Spent {
    /// The operation completed: keep the unit spent.
    pub(crate) fn made_progress(mut self) {
        self.0 = false;
    }
}

impl Drop for Spent {
    fn drop(&mut self) {
        if self.0 {
            REMAINING.with(|r| {
                if let Some(n) = r.get() {
                    r.set(Some(n.saturating_add(1)));
                }
            });
        }
    }
}

/// Takes one unit, or returns `Pending` (after waking the task) when the
/// budget is used up.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<Spent> {
    REMAINING.with(|r| match r.get() {
        None => Poll::Ready(Spent(false)),
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            r.set(Some(n - 1));
            Poll::Ready(Spent(true))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn budget_runs_out_and_restores() {
        let mut cx = Context::from_waker(Waker::noop());
        // Unconstrained outside a task poll.
        for _ in 0..1000 {
            assert!(matches!(poll_proceed(&mut cx), Poll::Ready(_)));
        }
        budget(|| {
            for _ in 0..BUDGET {
                match poll_proceed(&mut cx) {
                    Poll::Ready(spent) => spent.made_progress(),
                    Poll::Pending => panic!("budget ran out early"),
                }
            }
            assert!(poll_proceed(&mut cx).is_pending());
        });
        budget(|| {
            // An operation that made no progress gives its unit back.
            for _ in 0..1000 {
                let Poll::Ready(spent) = poll_proceed(&mut cx) else {
                    panic!("no progress was made")
                };
                drop(spent);
            }
        });
    }
}
