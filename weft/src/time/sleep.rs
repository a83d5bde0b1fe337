//! `Sleep`: a future that completes at a deadline.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use super::Instant;
use crate::driver::time::{Inserted, Reset, TimerKey, TimerShard};
use crate::scheduler::context;
use crate::task::coop;

/// Waits until `duration` has passed. Equivalent to
/// `sleep_until(Instant::now() + duration)`; durations too long for the clock
/// (`Duration::MAX`) sleep for about 30 years instead of panicking.
///
/// The timer has millisecond resolution and never fires early.
///
/// # Panics
///
/// Outside a weft runtime.
///
/// ```
/// use std::time::Duration;
/// use weft::time::{sleep, Instant};
///
/// #[weft::main]
/// async fn main() {
///     let start = Instant::now();
///     sleep(Duration::from_millis(10)).await;
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// }
/// ```
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::new(Instant::now().saturating_add(duration))
}

/// Waits until `deadline`.
///
/// # Panics
///
/// Outside a weft runtime.
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline)
}

/// The future returned by [`sleep`] and [`sleep_until`].
///
/// If the runtime that created it shuts down, a pending `Sleep` completes at
/// once (and so a [`timeout`](super::timeout) elapses), rather than waiting
/// forever on a clock that no longer runs.
///
/// The timer enters the runtime's wheel when first polled and leaves it when
/// the `Sleep` completes or is dropped. `Sleep` is `Unpin`, so
/// `Pin::new(&mut sleep)` works as well as `std::pin::pin!`.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    deadline: Instant,
    /// The runtime's timer shard of the thread that made this `Sleep` (its
    /// worker's, on a multi-thread runtime): its timer lives there
    /// whichever thread polls it.
    shard: Arc<TimerShard>,
    /// The wheel entry while registered.
    key: Option<TimerKey>,
    elapsed: bool,
    /// What tokio-console sees of this timer. (Spans are not
    /// `RefUnwindSafe`; a panic leaves nothing of the timer's own state
    /// half-updated in them, so `Sleep` stays unwind-safe, as without the
    /// feature.)
    #[cfg(feature = "console")]
    trace: std::panic::AssertUnwindSafe<super::traced::TimerTrace>,
}

impl Sleep {
    #[track_caller]
    fn new(deadline: Instant) -> Sleep {
        let shard =
            match context::with_current(|handle| Arc::clone(handle.driver().time.shard_here())) {
                Ok(shard) => shard,
                Err(e) => panic!("weft::time: a timer needs a runtime: {e}"),
            };
        Sleep {
            deadline,
            shard,
            key: None,
            elapsed: false,
            #[cfg(feature = "console")]
            trace: std::panic::AssertUnwindSafe(super::traced::TimerTrace::new(
                deadline,
                std::panic::Location::caller(),
            )),
        }
    }

    /// The instant this sleep completes at.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the deadline has been reached and observed by a poll.
    pub fn is_elapsed(&self) -> bool {
        self.elapsed
    }

    /// Moves the deadline; the sleep becomes pending again if it had
    /// completed. The task waiting on it keeps waiting, for the new deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::time::{sleep, Instant};
    ///
    /// #[weft::main]
    /// async fn main() {
    ///     let mut sleep = std::pin::pin!(sleep(Duration::from_secs(3600)));
    ///     sleep.as_mut().reset(Instant::now() + Duration::from_millis(1));
    ///     sleep.await;
    /// }
    /// ```
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.deadline = deadline;
        this.elapsed = false;
        #[cfg(feature = "console")]
        this.trace.deadline_set(deadline);
        if let Some(key) = this.key.take() {
            match this.shard.reset(key, deadline.into_std()) {
                // Fired meanwhile: the next poll registers it again.
                Reset::Gone => {}
                Reset::Pending(key) => this.key = Some(key),
                // Due already: let the waiting task poll and see it.
                Reset::Elapsed(waker) => waker.wake(),
            }
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        #[cfg(feature = "console")]
        if let Some(polling) = this.trace.enter_poll() {
            let result = this.poll_elapsed(cx);
            polling.ready(result.is_ready());
            return result;
        }
        this.poll_elapsed(cx)
    }
}

impl Sleep {
    /// The poll proper: registers the timer or sees it fired.
    fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let this = self;
        if this.elapsed {
            return Poll::Ready(());
        }
        let spent = ready!(coop::proceed(cx));
        let done = match this.key {
            None => match this
                .shard
                .insert(this.deadline.into_std(), cx.waker().clone())
            {
                Inserted::Elapsed => true,
                Inserted::Pending(key) => {
                    this.key = Some(key);
                    false
                }
            },
            Some(key) => {
                let fired = this.shard.poll_fired(key, cx.waker());
                if fired {
                    this.key = None;
                }
                fired
            }
        };
        if done {
            this.elapsed = true;
            spent.made_progress();
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("elapsed", &self.elapsed)
            .finish()
    }
}

impl Drop for Sleep {
    #[inline]
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.cancel(key);
        }
    }
}

impl Sleep {
    /// Takes a registered timer out of its shard (a `Sleep` that never
    /// entered the wheel, such as a `timeout`'s whose future was ready at
    /// once, skips this, inlined).
    fn cancel(&self, key: TimerKey) {
        let waker = self.shard.remove(key);
        drop(waker);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn a_dropped_sleep_leaves_the_wheel() {
        let rt = crate::runtime::Runtime::new().unwrap();
        let _enter = rt.enter();
        let mut cx = Context::from_waker(Waker::noop());
        let mut sleeps: Vec<Sleep> = (0..100).map(|_| sleep(Duration::from_secs(3600))).collect();
        for s in &mut sleeps {
            assert!(Pin::new(s).poll(&mut cx).is_pending());
        }
        let time = Arc::clone(&sleeps[0].shard);
        assert_eq!(time.len(), 100);
        sleeps.truncate(10);
        assert_eq!(time.len(), 10);
        let mut s = sleeps.pop().unwrap();
        Pin::new(&mut s).reset(Instant::now() + Duration::from_secs(7200));
        assert_eq!(time.len(), 10, "reset moves the entry, it does not add one");
        drop(s);
        drop(sleeps);
        assert_eq!(time.len(), 0);
    }

    #[test]
    fn a_sleep_keeps_the_shard_of_the_worker_that_made_it() {
        // Made and registered on a worker; reset, polled and dropped on a
        // plain thread: every step acts on the worker's shard.
        let rt = crate::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let (worker_shard, mut s) = rt.block_on(async {
            crate::spawn(async {
                let mut s = sleep(Duration::from_secs(3600));
                let mut cx = Context::from_waker(Waker::noop());
                assert!(Pin::new(&mut s).poll(&mut cx).is_pending());
                let here = context::with_current(|h| Arc::clone(h.driver().time.shard_here()));
                (here.unwrap(), s)
            })
            .await
            .unwrap()
        });
        assert!(Arc::ptr_eq(&s.shard, &worker_shard));
        let outside = {
            let _enter = rt.enter();
            context::with_current(|h| Arc::clone(h.driver().time.shard_here())).unwrap()
        };
        assert!(
            !Arc::ptr_eq(&outside, &worker_shard),
            "workers have their own"
        );
        std::thread::spawn(move || {
            Pin::new(&mut s).reset(Instant::now() + Duration::from_secs(7200));
            assert_eq!(s.shard.len(), 1, "re-armed in its own shard");
            let mut cx = Context::from_waker(Waker::noop());
            assert!(Pin::new(&mut s).poll(&mut cx).is_pending());
            drop(s);
            assert_eq!(worker_shard.len(), 0, "cancelled in its own shard");
        })
        .join()
        .unwrap();
    }
}
