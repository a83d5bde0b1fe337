//! Cooperative scheduling: a task that is always ready must still yield.
//!
//! A task's poll may do a lot of work before it returns `Pending`: a loop
//! over a socket that always has data never does. So each task poll starts
//! with a budget of 128 units. Every weft resource operation that completes
//! (an I/O readiness, a timer, a join) spends one; when none are left, the
//! operation returns `Pending` after waking the task; a task woken during
//! its own poll waits for the driver's next turn (as a yield does), so the
//! loop gets to poll I/O, fire timers and run the other tasks before it runs
//! again. Outside a task poll (a thread that is not running
//! a weft task, a blocking-pool job) the budget is unconstrained.
//!
//! This module is tokio's `task::coop`: [`consume_budget`] adds a yield
//! point to code that uses no weft resource, [`cooperative`] and
//! [`poll_proceed`] make a foreign future or `poll` function spend the
//! budget as weft's own do, [`unconstrained`] opts a future out, and
//! [`has_budget_remaining`] tells whether the current poll may go on.
//!
//! ```
//! use weft::task::coop;
//!
//! #[weft::main(flavor = "current_thread")]
//! async fn main() {
//!     // Sums a long iterator without starving the other tasks: every 128
//!     // items the task lets I/O, timers and the others in.
//!     let mut sum = 0u64;
//!     for i in 0..10_000u64 {
//!         sum += i;
//!         coop::consume_budget().await;
//!     }
//!     assert_eq!(sum, 49_995_000);
//!
//!     // Inside `unconstrained`, the budget never runs out.
//!     coop::unconstrained(async {
//!         for _ in 0..1_000 {
//!             coop::consume_budget().await;
//!         }
//!         assert!(coop::has_budget_remaining());
//!     })
//!     .await;
//! }
//! ```

use std::cell::Cell;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Units a task may spend per poll (tokio uses the same figure).
pub(crate) const BUDGET: u8 = 128;

thread_local! {
    /// `None`: unconstrained (not inside a task poll, or inside
    /// [`unconstrained`]).
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
#[inline]
pub(crate) fn requeue_after_poll() {
    REQUEUE.set(true);
}

/// Takes the [`requeue_after_poll`] request of the poll that just returned.
#[inline]
pub(crate) fn take_requeue() -> bool {
    REQUEUE.replace(false)
}

/// Sets the budget to `budget` for the duration of `f`, then puts the
/// previous one back (also if `f` panics: the guard restores it during
/// unwinding). A task poll can nest inside another's (a `block_on` of a
/// second runtime inside `block_in_place`), and the outer poll keeps what
/// it had left.
fn with_budget<R>(budget: Option<u8>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<u8>);
    impl Drop for Restore {
        fn drop(&mut self) {
            REMAINING.set(self.0);
        }
    }
    let _restore = Restore(REMAINING.replace(budget));
    f()
}

/// Runs `f` (one task poll) with a fresh budget of [`BUDGET`] units.
pub(crate) fn budget<R>(f: impl FnOnce() -> R) -> R {
    with_budget(Some(BUDGET), f)
}

/// Runs `f` with no budget limit, then restores the budget.
pub(crate) fn with_unconstrained<R>(f: impl FnOnce() -> R) -> R {
    with_budget(None, f)
}

/// True unless the current task poll has used up its budget (always true
/// outside a task poll and inside [`unconstrained`]).
///
/// A combinator that polls an inner future and then a resource of its own
/// can use it, as weft's [`timeout`](crate::time::timeout) does, to tell
/// whether it was the inner future that spent the last unit; the resource
/// should then be polled [`unconstrained`], or it could never complete.
///
/// ```
/// #[weft::main(flavor = "current_thread")]
/// async fn main() {
///     assert!(weft::task::coop::has_budget_remaining());
/// }
/// ```
#[inline]
pub fn has_budget_remaining() -> bool {
    REMAINING.get() != Some(0)
}

/// A unit of budget taken by [`poll_proceed`]. Dropping it puts the budget
/// back as it was before that call, unless
/// [`made_progress`](Self::made_progress) was called: an operation that
/// returns `Pending` after all should not count.
///
/// Not `Send`: it belongs to the poll on this thread.
#[derive(Debug)]
#[must_use = "dropping it at once gives the unit back; call `made_progress` once the operation completes"]
pub struct RestoreOnPending {
    /// The budget to put back on drop; `None`: nothing to restore (the
    /// budget was unconstrained, or progress was made).
    restore: Cell<Option<u8>>,
    _not_send: PhantomData<*mut ()>,
}

impl RestoreOnPending {
    fn new(restore: Option<u8>) -> RestoreOnPending {
        RestoreOnPending {
            restore: Cell::new(restore),
            _not_send: PhantomData,
        }
    }

    /// The operation completed: keep the unit spent.
    pub fn made_progress(&self) {
        self.restore.set(None);
    }
}

impl Drop for RestoreOnPending {
    fn drop(&mut self) {
        if let Some(budget) = self.restore.get() {
            REMAINING.set(Some(budget));
        }
    }
}

/// The unit weft's own resources take ([`proceed`]): dropping it gives the
/// unit back unless [`made_progress`](Self::made_progress) was called. A
/// plain flag, cheaper on the per-message path than [`RestoreOnPending`]'s
/// restore-to-before (the two agree whenever nothing else touched the
/// budget in between, which is the case inside one resource's poll).
#[must_use]
pub(crate) struct Spent(bool);

impl Spent {
    /// The operation completed: keep the unit spent.
    #[inline]
    pub(crate) fn made_progress(mut self) {
        self.0 = false;
    }
}

impl Drop for Spent {
    #[inline]
    fn drop(&mut self) {
        if self.0 {
            if let Some(n) = REMAINING.get() {
                REMAINING.set(Some(n.saturating_add(1)));
            }
        }
    }
}

/// [`poll_proceed`] for weft's own resources (I/O readiness, timers,
/// `JoinHandle`s), returning the cheaper [`Spent`].
#[inline]
pub(crate) fn proceed(cx: &mut Context<'_>) -> Poll<Spent> {
    match REMAINING.get() {
        None => Poll::Ready(Spent(false)),
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            REMAINING.set(Some(n - 1));
            Poll::Ready(Spent(true))
        }
    }
}

/// Takes one unit of the task's budget, or — when it is used up — wakes
/// the task and returns `Pending`, so that the task yields to the scheduler.
///
/// The returned [`RestoreOnPending`] puts the budget back as it was before
/// this call when it drops, unless
/// [`made_progress`](RestoreOnPending::made_progress) is called first: call
/// it once the operation completes. (Changes to the budget between the two
/// are undone too, unless progress is reported.)
///
/// ```
/// use std::pin::Pin;
/// use std::task::{ready, Context, Poll};
/// use weft::task::coop;
///
/// /// A counter that is always ready, made to spend the budget like a
/// /// weft resource.
/// struct Countdown(u32);
///
/// impl std::future::Future for Countdown {
///     type Output = ();
///     fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
///         loop {
///             let coop = ready!(coop::poll_proceed(cx));
///             if self.0 == 0 {
///                 return Poll::Ready(());
///             }
///             self.0 -= 1;
///             coop.made_progress();
///         }
///     }
/// }
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() {
///     Countdown(1_000).await; // yields every 128 steps
/// }
/// ```
#[inline]
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    match REMAINING.get() {
        None => Poll::Ready(RestoreOnPending::new(None)),
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            REMAINING.set(Some(n - 1));
            Poll::Ready(RestoreOnPending::new(Some(n)))
        }
    }
}

/// Spends one unit of the task's budget, and yields to the scheduler only
/// if the budget is used up: an optional yield point for long computations
/// that touch no weft resource.
///
/// ```
/// async fn sum(input: impl Iterator<Item = i64>) -> i64 {
///     let mut sum = 0;
///     for i in input {
///         sum += i;
///         weft::task::consume_budget().await;
///     }
///     sum
/// }
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() {
///     assert_eq!(sum(1..=1_000).await, 500_500);
/// }
/// ```
pub async fn consume_budget() {
    let mut status = Poll::Pending;
    std::future::poll_fn(move |cx| {
        if status.is_ready() {
            return status;
        }
        status = poll_proceed(cx).map(|restore| restore.made_progress());
        status
    })
    .await
}

pin_project_lite::pin_project! {
    /// The future returned by [`unconstrained`].
    #[must_use = "Unconstrained does nothing unless polled"]
    pub struct Unconstrained<F> {
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let inner = self.project().inner;
        with_unconstrained(|| inner.poll(cx))
    }
}

/// Turns the budget off for `inner`: weft never forces it to yield. A
/// future that never yields on its own then starves the other tasks on its
/// thread, and the loop's I/O and timers; use with care.
///
/// ```
/// use weft::task::{consume_budget, unconstrained};
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() {
///     unconstrained(async {
///         // Never yields: the budget does not run out in here.
///         for _ in 0..1_000 {
///             consume_budget().await;
///         }
///     })
///     .await;
/// }
/// ```
pub fn unconstrained<F>(inner: F) -> Unconstrained<F> {
    Unconstrained { inner }
}

pin_project_lite::pin_project! {
    /// The future returned by [`cooperative`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Coop<F: Future> {
        #[pin]
        fut: F,
    }
}

impl<F: Future> Future for Coop<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let coop = ready!(poll_proceed(cx));
        let output = ready!(self.project().fut.poll(cx));
        coop.made_progress();
        Poll::Ready(output)
    }
}

/// Makes `fut` spend the task's budget as weft's own resources do: each
/// poll first takes a unit ([`poll_proceed`]), yielding if none is left,
/// and the unit stays spent once `fut` completes. For futures from crates
/// that know nothing of weft's budget (a `futures` channel, say).
///
/// ```
/// use futures_util::StreamExt;
/// use weft::task::coop::cooperative;
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() {
///     let mut items = futures_util::stream::iter(0..1_000);
///     let mut n = 0;
///     // An always-ready stream, now yielding every 128 items.
///     while let Some(_) = cooperative(items.next()).await {
///         n += 1;
///     }
///     assert_eq!(n, 1_000);
/// }
/// ```
#[inline]
pub fn cooperative<F: Future>(fut: F) -> Coop<F> {
    Coop { fut }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn remaining() -> Option<u8> {
        REMAINING.get()
    }

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
            assert!(!has_budget_remaining());
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
        assert_eq!(remaining(), None);
    }

    #[test]
    fn restore_puts_back_the_budget_from_before_the_call() {
        let mut cx = Context::from_waker(Waker::noop());
        budget(|| {
            let Poll::Ready(first) = poll_proceed(&mut cx) else {
                unreachable!()
            };
            assert_eq!(remaining(), Some(BUDGET - 1));
            first.made_progress();
            drop(first);
            assert_eq!(remaining(), Some(BUDGET - 1));
            let Poll::Ready(second) = poll_proceed(&mut cx) else {
                unreachable!()
            };
            assert_eq!(remaining(), Some(BUDGET - 2));
            drop(second);
            assert_eq!(remaining(), Some(BUDGET - 1));
        });
    }

    #[test]
    fn nested_budgets_and_unconstrained_restore_the_outer_one() {
        let mut cx = Context::from_waker(Waker::noop());
        budget(|| {
            let Poll::Ready(spent) = poll_proceed(&mut cx) else {
                unreachable!()
            };
            spent.made_progress();
            budget(|| assert_eq!(remaining(), Some(BUDGET)));
            assert_eq!(remaining(), Some(BUDGET - 1));
            with_unconstrained(|| assert_eq!(remaining(), None));
            assert_eq!(remaining(), Some(BUDGET - 1));
        });
        assert_eq!(remaining(), None);
    }
}
