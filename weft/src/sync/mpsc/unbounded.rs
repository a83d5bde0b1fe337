//! The unbounded flavour: sends never wait.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::chan;
use super::error::{SendError, TryRecvError};
use super::list;

/// The unbounded channel's "semaphore": none. Closing closes the list's
/// tail word, which every send checks in the same `fetch_add` that claims
/// its slot.
#[derive(Debug)]
pub(super) struct Unbounded;

impl chan::Semaphore for Unbounded {
    fn close<T>(&self, rx: &mut list::Rx<T>, tx: &list::Tx<T>) {
        rx.close(tx);
    }

    fn is_closed<T>(&self, tx: &list::Tx<T>) -> bool {
        tx.is_closed()
    }

    fn is_idle(&self) -> bool {
        false
    }

    fn add_permits(&self, _n: usize) {}
}

/// Sends values to the matching [`UnboundedReceiver`]; cheap to clone.
///
/// Made by [`unbounded_channel`]. The channel stays open while any
/// `UnboundedSender` lives; when the last one is dropped the receiver gets
/// what is queued, then `None`.
pub struct UnboundedSender<T> {
    chan: chan::Tx<T, Unbounded>,
}

/// A sender that does not keep the channel open: the receiver ends once
/// every [`UnboundedSender`] is gone, weak ones notwithstanding.
/// [`upgrade`](Self::upgrade) turns it back into a sender while the channel
/// is still open.
///
/// Made by [`UnboundedSender::downgrade`].
///
/// ```
/// # #[weft::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, mut rx) = weft::sync::mpsc::unbounded_channel::<i32>();
/// let weak = tx.downgrade();
/// weak.upgrade().unwrap().send(1).unwrap();
/// drop(tx);
/// assert!(weak.upgrade().is_none());
/// assert_eq!(rx.recv().await, Some(1));
/// assert_eq!(rx.recv().await, None);
/// # }
/// ```
pub struct WeakUnboundedSender<T> {
    chan: Arc<chan::Chan<T, Unbounded>>,
}

/// Receives the values sent by the [`UnboundedSender`]s, in order.
///
/// Made by [`unbounded_channel`].
pub struct UnboundedReceiver<T> {
    chan: chan::Rx<T, Unbounded>,
}

/// Creates an unbounded channel: many senders, one receiver, and no limit
/// on the queue (sending never waits; memory is the only bound, so a
/// receiver that falls behind lets the queue grow).
///
/// Messages are received in the order they were sent (per sender; sends
/// from several senders are interleaved in the order they happened). The
/// queue is a list of blocks of 32 slots, recycled as they empty, so a
/// message allocates nothing in a steady stream.
///
/// ```
/// use weft::sync::mpsc;
///
/// # #[weft::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, mut rx) = mpsc::unbounded_channel();
/// for worker in 0..3 {
///     let tx = tx.clone();
///     weft::spawn(async move { tx.send(worker * 10).unwrap() });
/// }
/// drop(tx);
/// let mut got = Vec::new();
/// while let Some(value) = rx.recv().await {
///     got.push(value);
/// }
/// got.sort();
/// assert_eq!(got, [0, 10, 20]);
/// # }
/// ```
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let (tx, rx) = chan::channel(Unbounded);
    (UnboundedSender { chan: tx }, UnboundedReceiver { chan: rx })
}

impl<T> UnboundedReceiver<T> {
    /// Receives the next value, waiting for one; `None` once the channel
    /// is closed (every sender dropped, or [`close`](Self::close) called)
    /// and everything sent before was received.
    ///
    /// Cancel safe: a `recv` dropped before it completes took nothing.
    /// Spends a unit of the task's [budget](crate::task::coop).
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, mut rx) = weft::sync::mpsc::unbounded_channel();
    /// weft::spawn(async move { tx.send("hello").unwrap() });
    /// assert_eq!(rx.recv().await, Some("hello"));
    /// assert_eq!(rx.recv().await, None);
    /// # }
    /// ```
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.chan.recv(cx)).await
    }

    /// Receives up to `limit` values, appending them to `buffer`, waiting
    /// while none is queued; returns how many. 0 means the channel is
    /// closed and drained (or `limit` was 0).
    ///
    /// Cancel safe.
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, mut rx) = weft::sync::mpsc::unbounded_channel();
    /// for i in 0..5 {
    ///     tx.send(i).unwrap();
    /// }
    /// let mut buffer = Vec::new();
    /// assert_eq!(rx.recv_many(&mut buffer, 3).await, 3);
    /// assert_eq!(rx.recv_many(&mut buffer, 3).await, 2);
    /// assert_eq!(buffer, [0, 1, 2, 3, 4]);
    /// # }
    /// ```
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        std::future::poll_fn(|cx| self.chan.recv_many(cx, buffer, limit)).await
    }

    /// Receives a value if one is queued, without waiting.
    ///
    /// A send that is being written on another thread at this very moment
    /// is waited for (briefly, as tokio does), so after a `send` returns, a
    /// `try_recv` that happens after it never reports `Empty`.
    ///
    /// ```
    /// use weft::sync::mpsc::error::TryRecvError;
    ///
    /// let (tx, mut rx) = weft::sync::mpsc::unbounded_channel();
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// [`recv`](Self::recv) for synchronous code: blocks this thread.
    ///
    /// # Panics
    ///
    /// When called from a thread that runs a weft runtime's tasks (it would
    /// stall them): `.await` [`recv`](Self::recv) there instead.
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::mpsc::unbounded_channel::<u8>();
    /// let consumer = std::thread::spawn(move || rx.blocking_recv());
    /// tx.send(7).unwrap();
    /// assert_eq!(consumer.join().unwrap(), Some(7));
    /// ```
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Option<T> {
        crate::sync::block_on("UnboundedReceiver::blocking_recv", self.recv())
    }

    /// [`recv_many`](Self::recv_many) for synchronous code: blocks this
    /// thread.
    ///
    /// # Panics
    ///
    /// When called from a thread that runs a weft runtime's tasks.
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::mpsc::unbounded_channel();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// let mut buffer = Vec::new();
    /// assert_eq!(rx.blocking_recv_many(&mut buffer, 10), 2);
    /// ```
    #[track_caller]
    pub fn blocking_recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        crate::sync::block_on(
            "UnboundedReceiver::blocking_recv_many",
            self.recv_many(buffer, limit),
        )
    }

    /// Closes the receiving half: sends fail from now on, while the values
    /// already sent can still be received. Senders waiting in
    /// [`closed`](UnboundedSender::closed) wake up.
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, mut rx) = weft::sync::mpsc::unbounded_channel();
    /// tx.send(1).unwrap();
    /// rx.close();
    /// assert!(tx.send(2).is_err());
    /// assert_eq!(rx.recv().await, Some(1));
    /// assert_eq!(rx.recv().await, None);
    /// # }
    /// ```
    pub fn close(&mut self) {
        self.chan.close();
    }

    /// Whether the channel is closed: [`close`](Self::close) was called or
    /// every sender is gone. Values may still be queued.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Whether no value is queued.
    pub fn is_empty(&self) -> bool {
        self.chan.is_empty()
    }

    /// The number of values queued (a send being written on another thread
    /// right now may count).
    ///
    /// ```
    /// let (tx, rx) = weft::sync::mpsc::unbounded_channel();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Polls for the next value: `Ready(Some)` with one, `Ready(None)` once
    /// the channel is closed and drained, `Pending` (with `cx`'s waker
    /// stored) otherwise. For hand-written futures and streams; spends a
    /// unit of the task's budget when it completes.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.recv(cx)
    }

    /// Polls for up to `limit` values, appended to `buffer`:
    /// `Ready(n)` with `n > 0` values, `Ready(0)` once the channel is closed
    /// and drained (or `limit` is 0), `Pending` otherwise.
    pub fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        self.chan.recv_many(cx, buffer, limit)
    }

    /// The number of live [`UnboundedSender`]s.
    pub fn sender_strong_count(&self) -> usize {
        self.chan.sender_strong_count()
    }

    /// The number of live [`WeakUnboundedSender`]s.
    pub fn sender_weak_count(&self) -> usize {
        self.chan.sender_weak_count()
    }
}

impl<T> Unpin for UnboundedReceiver<T> {}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedReceiver")
            .field("chan", &self.chan)
            .finish()
    }
}

impl<T> UnboundedSender<T> {
    /// Sends `value` without waiting; fails (giving it back) only if the
    /// receiver was closed or dropped. `Ok` means the receiver will get it
    /// unless it is dropped first.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::mpsc::unbounded_channel();
    /// tx.send(1).unwrap();
    /// drop(rx);
    /// assert_eq!(tx.send(2).unwrap_err().0, 2);
    /// ```
    pub fn send(&self, message: T) -> Result<(), SendError<T>> {
        self.chan.try_send(message).map_err(SendError)
    }

    /// Completes once the receiver is closed or dropped: for a producer
    /// that should stop when nobody listens any more.
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = weft::sync::mpsc::unbounded_channel::<()>();
    /// weft::spawn(async move { drop(rx) });
    /// tx.closed().await;
    /// assert!(tx.is_closed());
    /// # }
    /// ```
    pub async fn closed(&self) {
        self.chan.closed().await;
    }

    /// Whether the receiver was closed or dropped.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Whether `self` and `other` send to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        self.chan.same_channel(&other.chan)
    }

    /// A [`WeakUnboundedSender`] for this channel.
    #[must_use = "Downgrade creates a WeakSender without destroying the original non-weak sender."]
    pub fn downgrade(&self) -> WeakUnboundedSender<T> {
        WeakUnboundedSender {
            chan: self.chan.downgrade(),
        }
    }

    /// The number of live `UnboundedSender`s of this channel.
    pub fn strong_count(&self) -> usize {
        self.chan.strong_count()
    }

    /// The number of live [`WeakUnboundedSender`]s of this channel.
    pub fn weak_count(&self) -> usize {
        self.chan.weak_count()
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        UnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender")
            .field("chan", &self.chan)
            .finish()
    }
}

impl<T> WeakUnboundedSender<T> {
    /// An [`UnboundedSender`] again, unless every sender is gone (the
    /// channel is then closed for good).
    pub fn upgrade(&self) -> Option<UnboundedSender<T>> {
        chan::Tx::upgrade(&self.chan).map(|chan| UnboundedSender { chan })
    }

    /// The number of live [`UnboundedSender`]s of this channel.
    pub fn strong_count(&self) -> usize {
        self.chan.strong_count()
    }

    /// The number of live `WeakUnboundedSender`s of this channel.
    pub fn weak_count(&self) -> usize {
        self.chan.weak_count()
    }
}

impl<T> Clone for WeakUnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.increment_weak_count();
        WeakUnboundedSender {
            chan: Arc::clone(&self.chan),
        }
    }
}

impl<T> Drop for WeakUnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.decrement_weak_count();
    }
}

impl<T> fmt::Debug for WeakUnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakUnboundedSender").finish()
    }
}
