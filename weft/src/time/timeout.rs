//! `timeout`: bound a future by a deadline.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::error::Elapsed;
use super::{sleep, sleep_until, Instant, Sleep};
use crate::task::coop;

/// Runs `future` until `duration` passes; `Err(Elapsed)` if time ran out
/// first (the future is then dropped with the `Timeout`).
///
/// `future` may be anything that converts into a future
/// ([`IntoFuture`]), as with `.await`. It is polled before the timer is
/// checked, so one that completes at once is `Ok` whatever the duration;
/// a duration too long for the clock (`Duration::MAX`) means no deadline in
/// practice (about 30 years).
///
/// # Panics
///
/// Outside a weft runtime.
///
/// ```
/// use std::time::Duration;
/// use weft::time::timeout;
///
/// #[weft::main]
/// async fn main() {
///     let slow = std::future::pending::<()>();
///     assert!(timeout(Duration::from_millis(5), slow).await.is_err());
///     assert_eq!(timeout(Duration::from_secs(5), async { 7 }).await, Ok(7));
/// }
/// ```
#[track_caller]
pub fn timeout<F>(duration: Duration, future: F) -> Timeout<F::IntoFuture>
where
    F: IntoFuture,
{
    Timeout {
        value: future.into_future(),
        delay: sleep(duration),
    }
}

/// Runs `future` until `deadline`; see [`timeout`].
///
/// # Panics
///
/// Outside a weft runtime.
///
/// ```
/// use std::time::Duration;
/// use weft::time::{timeout_at, Instant};
///
/// #[weft::main]
/// async fn main() {
///     let deadline = Instant::now() + Duration::from_millis(5);
///     assert!(timeout_at(deadline, std::future::pending::<()>()).await.is_err());
/// }
/// ```
#[track_caller]
pub fn timeout_at<F>(deadline: Instant, future: F) -> Timeout<F::IntoFuture>
where
    F: IntoFuture,
{
    Timeout {
        value: future.into_future(),
        delay: sleep_until(deadline),
    }
}

pin_project_lite::pin_project! {
    /// The future returned by [`timeout`] and [`timeout_at`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Timeout<F> {
        #[pin]
        value: F,
        delay: Sleep,
    }
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.value
    }

    /// The wrapped future, mutably.
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.value
    }

    /// Gives the wrapped future back, dropping the timer.
    pub fn into_inner(self) -> F {
        self.value
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let had_budget = coop::has_budget_remaining();
        if let Poll::Ready(value) = this.value.poll(cx) {
            return Poll::Ready(Ok(value));
        }
        let mut poll_delay = || match Pin::new(&mut *this.delay).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed::new())),
            Poll::Pending => Poll::Pending,
        };
        // If the inner future spent the last of the budget, the deadline
        // must still be checked, or a busy future could never time out.
        if had_budget && !coop::has_budget_remaining() {
            coop::with_unconstrained(poll_delay)
        } else {
            poll_delay()
        }
    }
}
