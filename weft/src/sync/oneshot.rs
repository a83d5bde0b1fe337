//! A channel for a single value, from one sender to one receiver: the
//! result of a computation, a reply to a request.
//!
//! [`channel`] makes a [`Sender`] and a [`Receiver`]. [`Sender::send`] is
//! not async (it never waits), so it works anywhere, synchronous code
//! included. The `Receiver` is itself a future: awaiting it gives the value,
//! or [`RecvError`] if the sender was dropped without
//! sending.
//!
//! ```
//! use weft::sync::oneshot;
//!
//! # #[weft::main(flavor = "current_thread")]
//! # async fn main() {
//! let (tx, rx) = oneshot::channel();
//! weft::spawn(async move {
//!     if tx.send(6 * 7).is_err() {
//!         println!("the receiver is gone");
//!     }
//! });
//! assert_eq!(rx.await, Ok(42));
//!
//! let (tx, rx) = oneshot::channel::<u32>();
//! drop(tx);
//! assert!(rx.await.is_err());
//! # }
//! ```
//!
//! In a `select!` loop, poll `&mut rx` so the receiver survives the other
//! branches. A value sent to a receiver that was closed but not dropped
//! stays in the channel until the receiver is dropped.
//!
//! # The state word
//!
//! Everything the two sides share is one atomic word plus three cells (the
//! value, each side's waker), and each cell has an owner at every moment:
//!
//! - `COMPLETE`: the sender is done (it stored a value, or was dropped
//!   without one). Set only if `CLOSED` is not, with a CAS; from then on
//!   the value cell is the receiver's. A send that finds `CLOSED` takes its
//!   value back.
//! - `CLOSED`: the receiver closed or was dropped. Sends fail from then on.
//! - `RX_WAKER`: the receiver's waker is stored. While it is set the
//!   receiver does not touch its cell, so a sender whose `COMPLETE` CAS
//!   saw it may wake the waker. The receiver clears the bit to change
//!   wakers; if it then sees `COMPLETE`, the sender may be waking the old one
//!   right now: it sets the bit back and leaves the cell alone.
//! - `TX_WAKER`: the same for the sender's waker (`closed()`), woken by the
//!   receiver's `CLOSED`.
//!
//! The cells are freed with the shared allocation.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};

use crate::sys::loom::{AtomicUsize, UnsafeCell};
use crate::task::coop;

/// The errors of oneshot channels (tokio's types and `Display` texts).
pub mod error {
    use std::fmt;

    /// The sender was dropped without sending: returned by awaiting a
    /// [`Receiver`](super::Receiver).
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = weft::sync::oneshot::channel::<()>();
    /// drop(tx);
    /// assert_eq!(rx.await.unwrap_err().to_string(), "channel closed");
    /// # }
    /// ```
    #[derive(Debug, Eq, PartialEq, Clone)]
    pub struct RecvError(pub(super) ());

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no
    /// value.
    #[derive(Debug, Eq, PartialEq, Clone)]
    pub enum TryRecvError {
        /// No value yet; the sender may still send one.
        Empty,
        /// No value will come: the sender was dropped, the receiver was
        /// closed, or the value was already taken.
        Closed,
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl std::error::Error for RecvError {}

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(match self {
                TryRecvError::Empty => "channel empty",
                TryRecvError::Closed => "channel closed",
            })
        }
    }

    impl std::error::Error for TryRecvError {}
}

use self::error::{RecvError, TryRecvError};

const RX_WAKER: usize = 0b0001;
const COMPLETE: usize = 0b0010;
const CLOSED: usize = 0b0100;
const TX_WAKER: usize = 0b1000;

/// Sends the channel's one value; made by [`channel`].
///
/// Dropping it without sending completes the receiver with
/// [`RecvError`].
pub struct Sender<T> {
    /// `None` once `send` consumed it.
    inner: Option<Arc<Inner<T>>>,
}

/// Receives the channel's one value: await it (it is a future), or use
/// [`try_recv`](Self::try_recv) / [`blocking_recv`](Self::blocking_recv).
/// Made by [`channel`].
pub struct Receiver<T> {
    /// `None` once the value (or the error) was handed out.
    inner: Option<Arc<Inner<T>>>,
}

struct Inner<T> {
    state: AtomicUsize,
    /// The sender's until `COMPLETE`, the receiver's after.
    value: UnsafeCell<Option<T>>,
    /// See the module docs for who owns each waker cell when.
    rx_waker: UnsafeCell<Option<Waker>>,
    tx_waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the value moves from the sender's thread to the receiver's
// (`T: Send`); each cell is accessed by one side at a time, as the state
// word decides (see the module docs). No `&T` is ever shared.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Inner<T> {}

/// Creates a oneshot channel.
///
/// ```
/// # #[weft::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = weft::sync::oneshot::channel();
/// std::thread::spawn(move || tx.send("from a plain thread").unwrap());
/// assert_eq!(rx.await.unwrap(), "from a plain thread");
/// # }
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: AtomicUsize::new(0),
        value: UnsafeCell::new(None),
        rx_waker: UnsafeCell::new(None),
        tx_waker: UnsafeCell::new(None),
    });
    (
        Sender {
            inner: Some(Arc::clone(&inner)),
        },
        Receiver { inner: Some(inner) },
    )
}

impl<T> Inner<T> {
    /// The sender is done: sets `COMPLETE` unless the receiver closed, and
    /// wakes the receiver if it waits. False if the receiver closed first.
    fn complete(&self) -> bool {
        let mut state = self.state.load(Relaxed);
        loop {
            if state & CLOSED != 0 {
                return false;
            }
            match self
                .state
                .compare_exchange_weak(state, state | COMPLETE, AcqRel, Acquire)
            {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        if state & RX_WAKER != 0 {
            self.rx_waker.with(|waker| {
                // SAFETY: `RX_WAKER` was set when `COMPLETE` went in, so the
                // receiver stored a waker and will not touch the cell again.
                if let Some(waker) = unsafe { &*waker } {
                    waker.wake_by_ref();
                }
            });
        }
        true
    }

    /// The receiver closes: sets `CLOSED`, wakes a sender waiting in
    /// `closed()`, and drops its own waker if the sender never will use it.
    /// Returns the state before.
    fn close(&self) -> usize {
        let prev = self.state.fetch_or(CLOSED, AcqRel);
        if prev & COMPLETE == 0 {
            if prev & TX_WAKER != 0 {
                self.tx_waker.with(|waker| {
                    // SAFETY: `TX_WAKER` was set when `CLOSED` went in: the
                    // sender stored its waker and leaves the cell alone now.
                    if let Some(waker) = unsafe { &*waker } {
                        waker.wake_by_ref();
                    }
                });
            }
            if prev & RX_WAKER != 0 {
                // The sender can no longer complete, so it will never read
                // our waker: take it back and drop it now.
                self.state.fetch_and(!RX_WAKER, AcqRel);
                // SAFETY: the bit is clear and no `COMPLETE` can follow.
                drop(self.rx_waker.with_mut(|waker| unsafe { (*waker).take() }));
            }
        }
        prev
    }

    /// Takes the value.
    ///
    /// # Safety
    ///
    /// `COMPLETE` was seen (acquire), by the receiver.
    unsafe fn take_value(&self) -> Option<T> {
        // SAFETY: after `COMPLETE` the value cell is the receiver's.
        self.value.with_mut(|value| unsafe { (*value).take() })
    }

    /// Polls for completion, storing `cx`'s waker in `cell` under `bit`;
    /// `done` is the bit (`COMPLETE` or `CLOSED`) that ends the wait. The
    /// same dance for both sides (see the module docs).
    fn poll_flag(
        &self,
        cx: &mut Context<'_>,
        cell: &UnsafeCell<Option<Waker>>,
        bit: usize,
        done: usize,
    ) -> Poll<()> {
        let mut state = self.state.load(Acquire);
        if state & done != 0 {
            return Poll::Ready(());
        }
        if state & bit != 0 {
            let same = cell.with(|waker| {
                // SAFETY: the bit is set, so nobody writes the cell (the
                // other side may read it too).
                let stored = unsafe { &*waker };
                stored.as_ref().is_some_and(|w| w.will_wake(cx.waker()))
            });
            if same {
                return Poll::Pending;
            }
            state = self.state.fetch_and(!bit, AcqRel);
            if state & done != 0 {
                // The other side may be waking the old waker right now:
                // leave the cell to it (and to the final drop).
                self.state.fetch_or(bit, AcqRel);
                return Poll::Ready(());
            }
        }
        cell.with_mut(|waker| {
            // SAFETY: the bit is clear, so the other side does not touch
            // the cell.
            unsafe { *waker = Some(cx.waker().clone()) };
        });
        if self.state.fetch_or(bit, AcqRel) & done != 0 {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl<T> Sender<T> {
    fn inner(&self) -> &Inner<T> {
        self.inner
            .as_ref()
            .expect("a Sender is only consumed by `send`")
    }

    /// Sends `t`, completing the receiver; never waits. Fails, giving `t`
    /// back, if the receiver was closed or dropped. `Ok` does not mean the
    /// receiver will read it: it may still be dropped first.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send(5), Err(5));
    /// ```
    pub fn send(mut self, t: T) -> Result<(), T> {
        let inner = self
            .inner
            .take()
            .expect("a Sender is only consumed by `send`");
        inner.value.with_mut(|value| {
            // SAFETY: before `COMPLETE` the value cell is the sender's.
            unsafe { *value = Some(t) };
        });
        if inner.complete() {
            return Ok(());
        }
        // The receiver closed first and will never look: take it back.
        // SAFETY: `COMPLETE` was not set, so the cell is still ours.
        let value = inner.value.with_mut(|value| unsafe { (*value).take() });
        Err(value.expect("the value was just stored"))
    }

    /// Completes once the receiver is closed or dropped: for a producer
    /// that should stop when nobody waits for its answer.
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (mut tx, rx) = weft::sync::oneshot::channel::<()>();
    /// weft::spawn(async move { drop(rx) });
    /// tx.closed().await;
    /// assert!(tx.is_closed());
    /// # }
    /// ```
    pub async fn closed(&mut self) {
        std::future::poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// Whether the receiver was closed or dropped.
    pub fn is_closed(&self) -> bool {
        self.inner().state.load(Acquire) & CLOSED != 0
    }

    /// Polls for the receiver's close: `Ready` once it is closed or
    /// dropped, else `Pending` with `cx`'s waker stored. Spends a unit of
    /// the task's [budget](crate::task::coop) when it completes.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let spent = ready!(coop::proceed(cx));
        let inner = self.inner();
        let result = inner.poll_flag(cx, &inner.tx_waker, TX_WAKER, CLOSED);
        if result.is_ready() {
            spent.made_progress();
        }
        result
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(inner) = &self.inner {
            // Completes the receiver with an error (no value).
            inner.complete();
        }
    }
}

impl<T> Receiver<T> {
    /// Closes the channel without dropping the receiver: `send` fails from
    /// now on, and a value sent before stays readable (through
    /// [`try_recv`](Self::try_recv) or awaiting).
    ///
    /// ```
    /// use weft::sync::oneshot::error::TryRecvError;
    ///
    /// let (tx, mut rx) = weft::sync::oneshot::channel();
    /// rx.close();
    /// assert_eq!(tx.send(1), Err(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn close(&mut self) {
        if let Some(inner) = &self.inner {
            inner.close();
        }
    }

    /// Whether the receiver has handed out its result (the value or an
    /// error): awaiting it again would panic.
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, mut rx) = weft::sync::oneshot::channel();
    /// assert!(!rx.is_terminated());
    /// tx.send(1).unwrap();
    /// assert_eq!((&mut rx).await, Ok(1));
    /// assert!(rx.is_terminated());
    /// # }
    /// ```
    pub fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }

    /// Whether no value is waiting to be received (nothing sent yet, the
    /// sender dropped, or the value already taken).
    ///
    /// ```
    /// let (tx, rx) = weft::sync::oneshot::channel();
    /// assert!(rx.is_empty());
    /// tx.send(0).unwrap();
    /// assert!(!rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        let Some(inner) = &self.inner else {
            return true;
        };
        if inner.state.load(Acquire) & COMPLETE == 0 {
            return true;
        }
        // SAFETY: after `COMPLETE` the value cell is the receiver's, and
        // `&self` excludes the receiver's own writes.
        inner.value.with(|value| unsafe { (*value).is_none() })
    }

    /// Takes the value if it was sent, without waiting: `Empty` if not yet,
    /// `Closed` if it never will be (or was already taken).
    ///
    /// ```
    /// use weft::sync::oneshot::error::TryRecvError;
    ///
    /// let (tx, mut rx) = weft::sync::oneshot::channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send("done").unwrap();
    /// assert_eq!(rx.try_recv(), Ok("done"));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let Some(inner) = &self.inner else {
            return Err(TryRecvError::Closed);
        };
        let state = inner.state.load(Acquire);
        let result = if state & COMPLETE != 0 {
            // SAFETY: `COMPLETE` was seen (acquire) by the receiver.
            unsafe { inner.take_value() }.ok_or(TryRecvError::Closed)
        } else if state & CLOSED != 0 {
            Err(TryRecvError::Closed)
        } else {
            return Err(TryRecvError::Empty);
        };
        self.inner = None;
        result
    }

    /// Waits for the value, blocking this thread: for synchronous code.
    ///
    /// # Panics
    ///
    /// When called from a thread that runs a weft runtime's tasks (it would
    /// stall them): `.await` the receiver there instead.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::oneshot::channel();
    /// let waiter = std::thread::spawn(move || rx.blocking_recv());
    /// tx.send(9).unwrap();
    /// assert_eq!(waiter.join().unwrap(), Ok(9));
    /// ```
    #[track_caller]
    pub fn blocking_recv(self) -> Result<T, RecvError> {
        crate::sync::block_on("oneshot::Receiver::blocking_recv", self)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Some(inner) = &self.inner {
            if inner.close() & COMPLETE != 0 {
                // The sent value is ours; drop it now, not with the last
                // handle.
                // SAFETY: `COMPLETE` was seen by the receiver (the
                // `fetch_or` in `close` acquires).
                drop(unsafe { inner.take_value() });
            }
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    /// Resolves to the value, or `RecvError` if the sender was dropped
    /// without sending (or the receiver was closed). Panics if polled again
    /// after it resolved ("called after complete", as tokio).
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let inner = this.inner.as_ref().expect("called after complete");
        let spent = ready!(coop::proceed(cx));
        let state = inner.state.load(Acquire);
        if state & (COMPLETE | CLOSED) == 0 {
            ready!(inner.poll_flag(cx, &inner.rx_waker, RX_WAKER, COMPLETE | CLOSED));
        }
        spent.made_progress();
        let state = inner.state.load(Acquire);
        let result = if state & COMPLETE != 0 {
            // SAFETY: `COMPLETE` was seen (acquire) by the receiver.
            unsafe { inner.take_value() }.ok_or(RecvError(()))
        } else {
            Err(RecvError(()))
        };
        this.inner = None;
        Poll::Ready(result)
    }
}

impl<T> fmt::Debug for Inner<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.load(Relaxed);
        f.debug_struct("Inner")
            .field("is_complete", &(state & COMPLETE != 0))
            .field("is_closed", &(state & CLOSED != 0))
            .field("is_rx_task_set", &(state & RX_WAKER != 0))
            .field("is_tx_task_set", &(state & TX_WAKER != 0))
            .finish()
    }
}

/// As tokio's (a derive there): `T: Debug` is required.
impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("inner", &self.inner)
            .finish()
    }
}

/// As tokio's (a derive there): `T: Debug` is required.
impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("inner", &self.inner)
            .finish()
    }
}

#[cfg(all(test, weft_loom))]
mod loom_models {
    use super::*;
    use loom::future::block_on as loom_block_on;

    /// A send racing the receiver's drop: the value is dropped exactly
    /// once, by whichever side ends up owning it; a failed send gives it
    /// back.
    #[test]
    fn loom_chan_oneshot_send_vs_receiver_drop() {
        loom::model(|| {
            let value = Arc::new(());
            let (tx, rx) = channel::<Arc<()>>();
            let sender = {
                let value = Arc::clone(&value);
                loom::thread::spawn(move || tx.send(value).map_err(drop).is_ok())
            };
            drop(rx);
            sender.join().unwrap();
            assert_eq!(Arc::strong_count(&value), 1);
        });
    }

    /// A send racing `close`: the value is readable after the close exactly
    /// when the send succeeded.
    #[test]
    fn loom_chan_oneshot_send_vs_close() {
        loom::model(|| {
            let (tx, mut rx) = channel::<u32>();
            let sender = loom::thread::spawn(move || tx.send(7).is_ok());
            rx.close();
            let sent = sender.join().unwrap();
            match rx.try_recv() {
                Ok(value) => {
                    assert!(sent);
                    assert_eq!(value, 7);
                }
                Err(TryRecvError::Closed) => assert!(!sent),
                Err(TryRecvError::Empty) => panic!("empty after a close"),
            }
        });
    }

    /// The receiver polls (storing, maybe replacing, its waker) while the
    /// value is sent: it is woken and gets the value.
    #[test]
    fn loom_chan_oneshot_recv_poll_races_send() {
        loom::model(|| {
            let (tx, rx) = channel::<u32>();
            let sender = loom::thread::spawn(move || tx.send(3).unwrap());
            assert_eq!(loom_block_on(rx), Ok(3));
            sender.join().unwrap();
        });
    }

    /// The receiver polls while the sender is dropped unsent: it is woken
    /// with the error.
    #[test]
    fn loom_chan_oneshot_recv_poll_races_sender_drop() {
        loom::model(|| {
            let (tx, rx) = channel::<u32>();
            let sender = loom::thread::spawn(move || drop(tx));
            assert!(loom_block_on(rx).is_err());
            sender.join().unwrap();
        });
    }

    /// The sender waits in `closed` while the receiver is dropped: it is
    /// woken.
    #[test]
    fn loom_chan_oneshot_closed_races_receiver_drop() {
        loom::model(|| {
            let (mut tx, rx) = channel::<u32>();
            let receiver = loom::thread::spawn(move || drop(rx));
            loom_block_on(tx.closed());
            assert!(tx.is_closed());
            receiver.join().unwrap();
        });
    }
}
