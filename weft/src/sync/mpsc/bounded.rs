//! The bounded flavour: at most `buffer` values queued or reserved; senders
//! wait for room, in the order they asked.

use std::fmt;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use super::chan;
use super::error::{SendError, SendTimeoutError, TryRecvError, TrySendError};
use super::list;
use crate::sync::batch_semaphore::{self, TryAcquireError};
use crate::task::coop;

/// One permit per queued value or reservation; `bound` permits in all.
#[derive(Debug)]
pub(super) struct Bounded {
    semaphore: batch_semaphore::Semaphore,
    bound: usize,
}

impl chan::Semaphore for Bounded {
    fn close<T>(&self, _rx: &mut list::Rx<T>, _tx: &list::Tx<T>) {
        self.semaphore.close();
    }

    fn is_closed<T>(&self, _tx: &list::Tx<T>) -> bool {
        self.semaphore.is_closed()
    }

    fn is_idle(&self) -> bool {
        self.semaphore.available_permits() == self.bound
    }

    fn add_permits(&self, n: usize) {
        self.semaphore.release(n);
    }
}

type Tx<T> = chan::Tx<T, Bounded>;

/// Gives a reservation back; wakes the receiver if that was the last
/// outstanding one of a closed channel (its `recv` can then end).
fn release<T>(chan: &Tx<T>, n: usize) {
    let bounded = chan.semaphore();
    bounded.semaphore.release(n);
    if bounded.semaphore.is_closed() && chan::Semaphore::is_idle(bounded) {
        chan.wake_rx();
    }
}

/// Sends values to the matching [`Receiver`]; cheap to clone.
///
/// Made by [`channel`]. The channel stays open while any `Sender` (or
/// [`OwnedPermit`]) lives; when the last one is dropped the receiver gets
/// what is queued, then `None`.
pub struct Sender<T> {
    chan: Tx<T>,
}

/// A sender that does not keep the channel open; [`upgrade`](Self::upgrade)
/// turns it back into a [`Sender`] while some sender still lives.
///
/// Made by [`Sender::downgrade`].
///
/// ```
/// # #[weft::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, mut rx) = weft::sync::mpsc::channel::<i32>(4);
/// let weak = tx.downgrade();
/// weak.upgrade().unwrap().send(1).await.unwrap();
/// drop(tx);
/// assert!(weak.upgrade().is_none());
/// assert_eq!(rx.recv().await, Some(1));
/// assert_eq!(rx.recv().await, None);
/// # }
/// ```
pub struct WeakSender<T> {
    chan: Arc<chan::Chan<T, Bounded>>,
}

/// Room for one value, reserved by [`Sender::reserve`] or
/// [`Sender::try_reserve`]: [`send`](Self::send) cannot fail or wait.
/// Dropping it unused gives the room back.
pub struct Permit<'a, T> {
    chan: &'a Tx<T>,
}

/// Room for several values, reserved by [`Sender::reserve_many`] or
/// [`Sender::try_reserve_many`]: an iterator of [`Permit`]s. The permits it
/// has not yielded go back to the channel when it is dropped.
pub struct PermitIterator<'a, T> {
    chan: &'a Tx<T>,
    n: usize,
}

/// Room for one value, owning its sender: [`Sender::reserve_owned`] and
/// [`Sender::try_reserve_owned`]. [`send`](Self::send) gives the sender
/// back; so does [`release`](Self::release), which gives the room back
/// unused (as dropping it does).
pub struct OwnedPermit<T> {
    /// Taken by `send`/`release`.
    chan: Option<Tx<T>>,
}

/// Receives the values sent by the [`Sender`]s, in order.
///
/// Made by [`channel`].
pub struct Receiver<T> {
    chan: chan::Rx<T, Bounded>,
}

/// Creates a bounded channel: many senders, one receiver, at most `buffer`
/// values queued (or reserved) at a time. A sender that finds it full
/// waits (`send`, `reserve`) in FIFO order with the other waiting senders,
/// or gets [`TrySendError::Full`] (`try_send`): backpressure.
///
/// # Panics
///
/// If `buffer` is 0 (tokio's message: "mpsc bounded channel requires
/// buffer > 0"), or larger than the semaphore's maximum (`usize::MAX >> 3`).
///
/// ```
/// use weft::sync::mpsc;
///
/// # #[weft::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, mut rx) = mpsc::channel(2);
/// let producer = weft::spawn(async move {
///     for i in 0..10 {
///         // Waits whenever 2 values are queued.
///         tx.send(i).await.unwrap();
///     }
/// });
/// let mut sum = 0;
/// while let Some(i) = rx.recv().await {
///     sum += i;
/// }
/// assert_eq!(sum, 45);
/// producer.await.unwrap();
/// # }
/// ```
#[track_caller]
pub fn channel<T>(buffer: usize) -> (Sender<T>, Receiver<T>) {
    assert!(buffer > 0, "mpsc bounded channel requires buffer > 0");
    let (tx, rx) = chan::channel(Bounded {
        semaphore: batch_semaphore::Semaphore::new(buffer),
        bound: buffer,
    });
    (Sender { chan: tx }, Receiver { chan: rx })
}

impl<T> Receiver<T> {
    /// Receives the next value, waiting for one; `None` once the channel
    /// is closed (every sender dropped, or [`close`](Self::close) called)
    /// and everything sent before was received. Each value received makes
    /// room for a waiting sender.
    ///
    /// Cancel safe: a `recv` dropped before it completes took nothing.
    /// Spends a unit of the task's [budget](crate::task::coop).
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, mut rx) = weft::sync::mpsc::channel(10);
    /// weft::spawn(async move { tx.send("hello").await.unwrap() });
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
    /// let (tx, mut rx) = weft::sync::mpsc::channel(10);
    /// for i in 0..4 {
    ///     tx.send(i).await.unwrap();
    /// }
    /// let mut buffer = Vec::with_capacity(4);
    /// assert_eq!(rx.recv_many(&mut buffer, 4).await, 4);
    /// assert_eq!(buffer, [0, 1, 2, 3]);
    /// # }
    /// ```
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        std::future::poll_fn(|cx| self.chan.recv_many(cx, buffer, limit)).await
    }

    /// Receives a value if one is queued, without waiting. A send being
    /// written on another thread at this very moment is waited for
    /// (briefly, as tokio does).
    ///
    /// ```
    /// use weft::sync::mpsc::error::TryRecvError;
    ///
    /// let (tx, mut rx) = weft::sync::mpsc::channel(2);
    /// tx.try_send(1).unwrap();
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
    /// let (tx, mut rx) = weft::sync::mpsc::channel::<u8>(1);
    /// let consumer = std::thread::spawn(move || rx.blocking_recv());
    /// tx.blocking_send(7).unwrap();
    /// assert_eq!(consumer.join().unwrap(), Some(7));
    /// ```
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Option<T> {
        crate::sync::block_on("Receiver::blocking_recv", self.recv())
    }

    /// [`recv_many`](Self::recv_many) for synchronous code: blocks this
    /// thread.
    ///
    /// # Panics
    ///
    /// When called from a thread that runs a weft runtime's tasks.
    #[track_caller]
    pub fn blocking_recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        crate::sync::block_on(
            "Receiver::blocking_recv_many",
            self.recv_many(buffer, limit),
        )
    }

    /// Closes the receiving half: sends and new reservations fail from now
    /// on, while the values already sent, and those sent through permits
    /// reserved before, can still be received. Senders waiting for room or
    /// in [`closed`](Sender::closed) wake up.
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, mut rx) = weft::sync::mpsc::channel(4);
    /// let permit = tx.reserve().await.unwrap();
    /// rx.close();
    /// assert!(tx.send(1).await.is_err());
    /// permit.send(2); // reserved before the close
    /// assert_eq!(rx.recv().await, Some(2));
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

    /// The number of values queued.
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// The room left now: `max_capacity` minus the values queued and the
    /// permits reserved.
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, mut rx) = weft::sync::mpsc::channel::<()>(5);
    /// assert_eq!(rx.capacity(), 5);
    /// let permit = tx.reserve().await.unwrap();
    /// assert_eq!(rx.capacity(), 4);
    /// permit.send(());
    /// rx.recv().await;
    /// assert_eq!(rx.capacity(), 5);
    /// # }
    /// ```
    pub fn capacity(&self) -> usize {
        self.chan.semaphore().semaphore.available_permits()
    }

    /// The `buffer` the channel was made with.
    pub fn max_capacity(&self) -> usize {
        self.chan.semaphore().bound
    }

    /// Polls for the next value: `Ready(Some)` with one, `Ready(None)` once
    /// the channel is closed and drained, `Pending` (with `cx`'s waker
    /// stored) otherwise. Spends a unit of the task's budget when it
    /// completes.
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

    /// The number of live [`Sender`]s (owned permits count).
    pub fn sender_strong_count(&self) -> usize {
        self.chan.sender_strong_count()
    }

    /// The number of live [`WeakSender`]s.
    pub fn sender_weak_count(&self) -> usize {
        self.chan.sender_weak_count()
    }
}

impl<T> Unpin for Receiver<T> {}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("chan", &self.chan)
            .finish()
    }
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for room if the channel is full; fails
    /// (giving the value back) if the receiver is closed or dropped.
    ///
    /// Cancel safety: dropping the future before it completes loses the
    /// value and the sender's place in the queue of waiting senders. Use
    /// [`reserve`](Self::reserve) then [`Permit::send`] in a `select!`.
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, mut rx) = weft::sync::mpsc::channel(1);
    /// tx.send(1).await.unwrap();
    /// drop(rx);
    /// assert_eq!(tx.send(2).await.unwrap_err().0, 2);
    /// # }
    /// ```
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        // Fast path: room now (the counter is zero while anyone is queued,
        // so this never jumps the queue): one CAS, no wait-list entry.
        let mut value = Some(value);
        let fast = std::future::poll_fn(|cx| {
            let spent = ready!(coop::proceed(cx));
            Poll::Ready(match self.chan.semaphore().semaphore.try_acquire(1) {
                Ok(()) => {
                    spent.made_progress();
                    self.chan.send(value.take().expect("sent once"));
                    Some(Ok(()))
                }
                Err(TryAcquireError::Closed) => {
                    spent.made_progress();
                    Some(Err(()))
                }
                // Full: wait in line below (this poll's unit is given back).
                Err(TryAcquireError::NoPermits) => None,
            })
        })
        .await;
        let value = match fast {
            Some(Ok(())) => return Ok(()),
            Some(Err(())) => return Err(SendError(value.expect("not sent"))),
            None => value.expect("not sent"),
        };
        match self.reserve().await {
            Ok(permit) => {
                permit.send(value);
                Ok(())
            }
            Err(_) => Err(SendError(value)),
        }
    }

    /// Completes once the receiver is closed or dropped.
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = weft::sync::mpsc::channel::<()>(1);
    /// weft::spawn(async move { drop(rx) });
    /// tx.closed().await;
    /// assert!(tx.is_closed());
    /// # }
    /// ```
    pub async fn closed(&self) {
        self.chan.closed().await;
    }

    /// Sends `message` if there is room now, without waiting.
    ///
    /// ```
    /// use weft::sync::mpsc::{self, error::TrySendError};
    ///
    /// let (tx, _rx) = mpsc::channel(1);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// ```
    pub fn try_send(&self, message: T) -> Result<(), TrySendError<T>> {
        match self.chan.semaphore().semaphore.try_acquire(1) {
            Ok(()) => {}
            Err(TryAcquireError::Closed) => return Err(TrySendError::Closed(message)),
            Err(TryAcquireError::NoPermits) => return Err(TrySendError::Full(message)),
        }
        self.chan.send(message);
        Ok(())
    }

    /// [`send`](Self::send), giving up after `timeout` without room
    /// ([`SendTimeoutError::Timeout`] gives the value back). Needs a weft
    /// runtime for the timer, as tokio's needs tokio's.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, mut rx) = weft::sync::mpsc::channel(1);
    /// tx.send_timeout(1, Duration::from_secs(1)).await.unwrap();
    /// assert!(tx.send_timeout(2, Duration::from_millis(5)).await.is_err());
    /// assert_eq!(rx.recv().await, Some(1));
    /// # }
    /// ```
    pub async fn send_timeout(
        &self,
        value: T,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<T>> {
        match crate::time::timeout(timeout, self.reserve()).await {
            Err(_) => Err(SendTimeoutError::Timeout(value)),
            Ok(Err(_)) => Err(SendTimeoutError::Closed(value)),
            Ok(Ok(permit)) => {
                permit.send(value);
                Ok(())
            }
        }
    }

    /// [`send`](Self::send) for synchronous code: blocks this thread.
    ///
    /// # Panics
    ///
    /// When called from a thread that runs a weft runtime's tasks (it would
    /// stall them): `.await` [`send`](Self::send) there instead.
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::mpsc::channel::<u8>(1);
    /// let producer = std::thread::spawn(move || tx.blocking_send(3).unwrap());
    /// assert_eq!(rx.blocking_recv(), Some(3));
    /// producer.join().unwrap();
    /// ```
    #[track_caller]
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        crate::sync::block_on("Sender::blocking_send", self.send(value))
    }

    /// Whether the receiver was closed or dropped.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Waits for room for one value and reserves it: the returned
    /// [`Permit`] sends without waiting or failing. Fails only if the
    /// receiver is closed or dropped.
    ///
    /// Cancel safety: dropping the future loses the sender's place in the
    /// queue of waiting senders, nothing else.
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, mut rx) = weft::sync::mpsc::channel(1);
    /// let permit = tx.reserve().await.unwrap();
    /// assert!(tx.try_send(1).is_err()); // the room is taken
    /// permit.send(2);
    /// assert_eq!(rx.recv().await, Some(2));
    /// # }
    /// ```
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        self.reserve_inner(1).await?;
        Ok(Permit { chan: &self.chan })
    }

    /// Waits for room for `n` values and reserves it all at once: the
    /// returned iterator yields `n` [`Permit`]s. Fails if the receiver is
    /// closed or dropped, or if `n` exceeds
    /// [`max_capacity`](Self::max_capacity) (it could never be granted).
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, mut rx) = weft::sync::mpsc::channel(4);
    /// let permits = tx.reserve_many(3).await.unwrap();
    /// for (i, permit) in permits.enumerate() {
    ///     permit.send(i);
    /// }
    /// assert_eq!(rx.len(), 3);
    /// assert!(tx.reserve_many(5).await.is_err());
    /// # }
    /// ```
    pub async fn reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, SendError<()>> {
        self.reserve_inner(n).await?;
        Ok(PermitIterator {
            chan: &self.chan,
            n,
        })
    }

    /// [`reserve`](Self::reserve), moving the sender into the permit (for
    /// a permit that must be `'static`); [`OwnedPermit::send`] gives the
    /// sender back.
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, mut rx) = weft::sync::mpsc::channel(1);
    /// let permit = tx.reserve_owned().await.unwrap();
    /// let tx = permit.send(1);
    /// assert_eq!(rx.recv().await, Some(1));
    /// tx.send(2).await.unwrap();
    /// # }
    /// ```
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        self.reserve_inner(1).await?;
        Ok(OwnedPermit {
            chan: Some(self.chan),
        })
    }

    async fn reserve_inner(&self, n: usize) -> Result<(), SendError<()>> {
        if n > self.max_capacity() {
            return Err(SendError(()));
        }
        /// A sender waiting when the channel closes: if it was the last
        /// thing the receiver's end waited for, the receiver must hear.
        struct WakeReceiverOnDrop<'a, T>(&'a Tx<T>);
        impl<T> Drop for WakeReceiverOnDrop<'_, T> {
            fn drop(&mut self) {
                let bounded = self.0.semaphore();
                if bounded.semaphore.is_closed() && chan::Semaphore::is_idle(bounded) {
                    self.0.wake_rx();
                }
            }
        }
        let guard = WakeReceiverOnDrop(&self.chan);
        match self.chan.semaphore().semaphore.acquire(n).await {
            Ok(()) => {
                std::mem::forget(guard);
                Ok(())
            }
            Err(_) => Err(SendError(())),
        }
    }

    /// Reserves room for one value if there is some now.
    ///
    /// ```
    /// use weft::sync::mpsc::{self, error::TrySendError};
    ///
    /// let (tx, _rx) = mpsc::channel::<u8>(1);
    /// let permit = tx.try_reserve().unwrap();
    /// assert_eq!(tx.try_reserve().unwrap_err(), TrySendError::Full(()));
    /// drop(permit); // the room comes back
    /// assert!(tx.try_reserve().is_ok());
    /// ```
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        match self.chan.semaphore().semaphore.try_acquire(1) {
            Ok(()) => Ok(Permit { chan: &self.chan }),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(())),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(())),
        }
    }

    /// Reserves room for `n` values if there is that much now (`Full` if
    /// `n` exceeds the capacity).
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::mpsc::channel::<u8>(2);
    /// let permits = tx.try_reserve_many(2).unwrap();
    /// assert_eq!(permits.len(), 2);
    /// assert!(tx.try_reserve_many(1).is_err());
    /// ```
    pub fn try_reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, TrySendError<()>> {
        if n > self.max_capacity() {
            return Err(TrySendError::Full(()));
        }
        match self.chan.semaphore().semaphore.try_acquire(n) {
            Ok(()) => Ok(PermitIterator {
                chan: &self.chan,
                n,
            }),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(())),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(())),
        }
    }

    /// [`try_reserve`](Self::try_reserve), moving the sender into the
    /// permit; on failure the error gives the sender back.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::mpsc::channel::<u8>(1);
    /// let permit = tx.try_reserve_owned().unwrap();
    /// let tx = permit.release();
    /// assert_eq!(tx.capacity(), 1);
    /// ```
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Self>> {
        match self.chan.semaphore().semaphore.try_acquire(1) {
            Ok(()) => Ok(OwnedPermit {
                chan: Some(self.chan),
            }),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(self)),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(self)),
        }
    }

    /// Whether `self` and `other` send to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        self.chan.same_channel(&other.chan)
    }

    /// The room left now (see [`Receiver::capacity`]).
    pub fn capacity(&self) -> usize {
        self.chan.semaphore().semaphore.available_permits()
    }

    /// A [`WeakSender`] for this channel.
    #[must_use = "Downgrade creates a WeakSender without destroying the original non-weak sender."]
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
            chan: self.chan.downgrade(),
        }
    }

    /// The `buffer` the channel was made with.
    pub fn max_capacity(&self) -> usize {
        self.chan.semaphore().bound
    }

    /// The number of live `Sender`s of this channel (owned permits count).
    pub fn strong_count(&self) -> usize {
        self.chan.strong_count()
    }

    /// The number of live [`WeakSender`]s of this channel.
    pub fn weak_count(&self) -> usize {
        self.chan.weak_count()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("chan", &self.chan).finish()
    }
}

impl<T> WeakSender<T> {
    /// A [`Sender`] again, unless every sender is gone (the channel is then
    /// closed for good).
    pub fn upgrade(&self) -> Option<Sender<T>> {
        chan::Tx::upgrade(&self.chan).map(|chan| Sender { chan })
    }

    /// The number of live [`Sender`]s of this channel.
    pub fn strong_count(&self) -> usize {
        self.chan.strong_count()
    }

    /// The number of live `WeakSender`s of this channel.
    pub fn weak_count(&self) -> usize {
        self.chan.weak_count()
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        self.chan.increment_weak_count();
        WeakSender {
            chan: Arc::clone(&self.chan),
        }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        self.chan.decrement_weak_count();
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender").finish()
    }
}

impl<T> Permit<'_, T> {
    /// Sends `value` into the reserved room: never waits, never fails (if
    /// the receiver is gone the value is dropped with the channel).
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, mut rx) = weft::sync::mpsc::channel(1);
    /// tx.reserve().await.unwrap().send("reserved");
    /// assert_eq!(rx.recv().await, Some("reserved"));
    /// # }
    /// ```
    pub fn send(self, value: T) {
        self.chan.send(value);
        // The permit now belongs to the queued value.
        std::mem::forget(self);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        release(self.chan, 1);
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("chan", &self.chan).finish()
    }
}

impl<'a, T> Iterator for PermitIterator<'a, T> {
    type Item = Permit<'a, T>;

    fn next(&mut self) -> Option<Permit<'a, T>> {
        if self.n == 0 {
            return None;
        }
        self.n -= 1;
        Some(Permit { chan: self.chan })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.n, Some(self.n))
    }
}

impl<T> ExactSizeIterator for PermitIterator<'_, T> {}
impl<T> std::iter::FusedIterator for PermitIterator<'_, T> {}

impl<T> Drop for PermitIterator<'_, T> {
    fn drop(&mut self) {
        if self.n > 0 {
            release(self.chan, self.n);
        }
    }
}

impl<T> fmt::Debug for PermitIterator<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PermitIterator")
            .field("chan", &self.chan)
            .field("capacity", &self.n)
            .finish()
    }
}

impl<T> OwnedPermit<T> {
    /// Sends `value` into the reserved room (never waits or fails) and
    /// gives the sender back.
    pub fn send(mut self, value: T) -> Sender<T> {
        let chan = self.chan.take().expect("an OwnedPermit holds its sender");
        chan.send(value);
        Sender { chan }
    }

    /// Gives the room back unused, and the sender with it.
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, _rx) = weft::sync::mpsc::channel::<u8>(1);
    /// let permit = tx.reserve_owned().await.unwrap();
    /// let tx = permit.release();
    /// assert_eq!(tx.capacity(), 1);
    /// # }
    /// ```
    pub fn release(mut self) -> Sender<T> {
        let chan = self.chan.take().expect("an OwnedPermit holds its sender");
        release(&chan, 1);
        Sender { chan }
    }

    /// Whether both permits belong to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        match (&self.chan, &other.chan) {
            (Some(a), Some(b)) => a.same_channel(b),
            _ => false,
        }
    }

    /// Whether this permit belongs to `sender`'s channel.
    pub fn same_channel_as_sender(&self, sender: &Sender<T>) -> bool {
        self.chan
            .as_ref()
            .is_some_and(|chan| chan.same_channel(&sender.chan))
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(chan) = self.chan.take() {
            release(&chan, 1);
        }
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("chan", &self.chan)
            .finish()
    }
}
