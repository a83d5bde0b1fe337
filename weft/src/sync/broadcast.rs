//! A multi-producer, multi-consumer channel where every receiver sees every
//! value: an event bus, a chat room, a shutdown signal with a payload.
//!
//! [`channel(capacity)`](channel) makes a [`Sender`] and a first
//! [`Receiver`]; [`Sender::subscribe`] makes more, each seeing the values
//! sent after it subscribed. A value is stored once and cloned for each
//! receiver as it reads it; once all of them have, it is dropped.
//! `Sender` and `Receiver` are `Send` and `Sync` when `T` is `Send`.
//!
//! # Lagging
//!
//! The channel keeps at most `capacity` values (rounded up to a power of
//! two). A send into a full channel overwrites the oldest value, whether
//! every receiver read it or not. A receiver that had not read an
//! overwritten value gets [`RecvError::Lagged(n)`](error::RecvError::Lagged),
//! `n` being how many values it missed; its next receive returns the oldest
//! value still kept, and it goes on in order from there. Lagging does not
//! close anything: the receiver decides whether to tolerate the loss.
//!
//! # Closing
//!
//! When every `Sender` is dropped, receivers get the values still kept,
//! then [`RecvError::Closed`]. A dropped receiver
//! counts as having read everything, so it never holds values back.
//!
//! ```
//! use weft::sync::broadcast;
//!
//! # #[weft::main(flavor = "current_thread")]
//! # async fn main() {
//! let (tx, mut rx1) = broadcast::channel(16);
//! let mut rx2 = tx.subscribe();
//!
//! let first = weft::spawn(async move {
//!     assert_eq!(rx1.recv().await.unwrap(), 10);
//!     assert_eq!(rx1.recv().await.unwrap(), 20);
//! });
//! let second = weft::spawn(async move {
//!     assert_eq!(rx2.recv().await.unwrap(), 10);
//!     assert_eq!(rx2.recv().await.unwrap(), 20);
//! });
//! tx.send(10).unwrap();
//! tx.send(20).unwrap();
//! first.await.unwrap();
//! second.await.unwrap();
//! # }
//! ```
//!
//! # How it works
//!
//! A ring of slots, each behind its own mutex (a value is cloned under its
//! slot's lock, so `T` needs only `Send`), and a tail mutex holding the
//! next position, the receiver count and the waiting receivers. A send
//! takes the tail lock and one slot lock; a receive that finds its value
//! takes only the slot lock. A receiver that has to wait registers its
//! waker under the tail lock, in a slot of its own (allocated the first time
//! it waits, freed when it is dropped), and queues its key; a send wakes the
//! queued receivers after releasing the lock. No `unsafe`. (Unlike tokio,
//! a `recv` future dropped while waiting stays registered until the next
//! send, which wakes its task once for nothing.)

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::sync::linked_list::WakeList;
use crate::sync::Notify;
use crate::sys::lock::lock;
use crate::sys::loom::{AtomicUsize, Mutex, MutexGuard};
use crate::task::coop;

/// The errors of broadcast channels (tokio's types and `Display` texts).
pub mod error {
    use std::fmt;

    /// Nobody would receive the value: every receiver is gone. Holds the
    /// value.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::broadcast::channel(4);
    /// drop(rx);
    /// let err = tx.send(7).unwrap_err();
    /// assert_eq!(err.0, 7);
    /// assert_eq!(err.to_string(), "channel closed");
    /// ```
    #[derive(Debug)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl<T: fmt::Debug> std::error::Error for SendError<T> {}

    /// Why [`Receiver::recv`](super::Receiver::recv) returned no value.
    #[derive(Debug, PartialEq, Eq, Clone)]
    pub enum RecvError {
        /// Every sender is gone and every kept value was received.
        Closed,
        /// The receiver fell behind and this many values were overwritten
        /// before it read them. The next receive returns the oldest value
        /// still kept.
        Lagged(u64),
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => f.write_str("channel closed"),
                RecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for RecvError {}

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no
    /// value.
    #[derive(Debug, PartialEq, Eq, Clone)]
    pub enum TryRecvError {
        /// Nothing new yet; senders remain.
        Empty,
        /// Every sender is gone and every kept value was received.
        Closed,
        /// The receiver fell behind by this many values (see
        /// [`RecvError::Lagged`]).
        Lagged(u64),
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
                TryRecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use self::error::{RecvError, SendError, TryRecvError};

/// tokio's limit on receivers.
const MAX_RECEIVERS: usize = usize::MAX >> 2;

/// Sends values to every [`Receiver`]; cheap to clone. Made by [`channel`]
/// or [`Sender::new`].
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A sender that does not keep the channel open; [`upgrade`](Self::upgrade)
/// turns it back into a [`Sender`] while some sender still lives.
pub struct WeakSender<T> {
    shared: Arc<Shared<T>>,
}

/// Receives every value sent after it was made (unless it lags). Made by
/// [`channel`], [`Sender::subscribe`] or [`Receiver::resubscribe`].
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The position of the next value to read.
    next: u64,
    /// This receiver's waker slot, once it has waited.
    key: Option<usize>,
}

struct Shared<T> {
    /// `len` is a power of two.
    buffer: Box<[Mutex<Slot<T>>]>,
    mask: usize,
    tail: Mutex<Tail>,
    num_tx: AtomicUsize,
    num_weak_tx: AtomicUsize,
    /// Wakes `Sender::closed` when the last receiver goes.
    notify_last_rx_drop: Notify,
}

struct Tail {
    /// The position the next value gets.
    pos: u64,
    rx_cnt: usize,
    /// Every sender is gone, or (for `Sender::closed`) every receiver is.
    closed: bool,
    waiters: Waiters,
}

struct Slot<T> {
    /// The position of the value held (or a lap behind, for a slot never
    /// written).
    pos: u64,
    /// Receivers that have still to read it.
    rem: usize,
    val: Option<T>,
}

/// The waiting receivers' wakers, one slot per receiver that ever waited.
#[derive(Default)]
struct Waiters {
    slots: Vec<WaiterSlot>,
    free: Vec<usize>,
    /// Keys of the receivers to wake at the next send (possibly stale or
    /// repeated: waking those costs a spurious wake at most).
    queue: Vec<usize>,
}

#[derive(Default)]
struct WaiterSlot {
    waker: Option<Waker>,
    queued: bool,
}

impl Waiters {
    fn key(&mut self) -> usize {
        self.free.pop().unwrap_or_else(|| {
            self.slots.push(WaiterSlot::default());
            self.slots.len() - 1
        })
    }

    /// Stores `waker` for receiver `key` and queues it; returns a waker it
    /// displaced, to be dropped outside the lock.
    fn register(&mut self, key: usize, waker: &Waker) -> Option<Waker> {
        let slot = &mut self.slots[key];
        let displaced = match &slot.waker {
            Some(stored) if stored.will_wake(waker) => None,
            _ => slot.waker.replace(waker.clone()),
        };
        if !slot.queued {
            slot.queued = true;
            self.queue.push(key);
        }
        displaced
    }

    /// Receiver `key` is gone.
    fn release(&mut self, key: usize) -> Option<Waker> {
        let slot = std::mem::take(&mut self.slots[key]);
        self.free.push(key);
        slot.waker
    }
}

/// Creates a broadcast channel keeping at most `capacity` values (rounded
/// up to a power of two), with one receiver.
///
/// # Panics
///
/// If `capacity` is 0 ("broadcast channel capacity cannot be zero") or
/// above `usize::MAX / 2`.
///
/// ```
/// # #[weft::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, mut rx) = weft::sync::broadcast::channel(2);
/// tx.send("a").unwrap();
/// assert_eq!(rx.recv().await.unwrap(), "a");
/// # }
/// ```
#[track_caller]
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let tx = Sender::with_receivers(capacity, 1);
    let rx = Receiver {
        shared: Arc::clone(&tx.shared),
        next: 0,
        key: None,
    };
    (tx, rx)
}

impl<T> Shared<T> {
    fn lock_tail(&self) -> MutexGuard<'_, Tail> {
        lock(&self.tail)
    }

    fn slot(&self, pos: u64) -> MutexGuard<'_, Slot<T>> {
        lock(&self.buffer[(pos & self.mask as u64) as usize])
    }

    /// Wakes every queued receiver, outside the lock (in batches).
    fn notify_rx<'a>(&'a self, mut tail: MutexGuard<'a, Tail>) {
        if tail.waiters.queue.is_empty() {
            return;
        }
        let mut queue = std::mem::take(&mut tail.waiters.queue);
        let mut wakers = WakeList::new();
        let mut done = 0;
        loop {
            while wakers.can_push() && done < queue.len() {
                let slot = &mut tail.waiters.slots[queue[done]];
                done += 1;
                if std::mem::take(&mut slot.queued) {
                    if let Some(waker) = slot.waker.take() {
                        wakers.push(waker);
                    }
                }
            }
            if done == queue.len() {
                break;
            }
            drop(tail);
            wakers.wake_all();
            tail = self.lock_tail();
        }
        // Keep the queue's allocation for the next send.
        if tail.waiters.queue.is_empty() {
            queue.clear();
            tail.waiters.queue = queue;
        }
        drop(tail);
        wakers.wake_all();
    }
}

impl<T> Sender<T> {
    /// A sender with no receiver yet ([`subscribe`](Self::subscribe) makes
    /// them); `capacity` as for [`channel`]. Sends fail until a receiver
    /// exists.
    ///
    /// ```
    /// let tx = weft::sync::broadcast::Sender::<u8>::new(8);
    /// assert!(tx.send(1).is_err());
    /// let mut rx = tx.subscribe();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(2));
    /// ```
    #[track_caller]
    pub fn new(capacity: usize) -> Self {
        Sender::with_receivers(capacity, 0)
    }

    #[track_caller]
    fn with_receivers(capacity: usize, rx_cnt: usize) -> Self {
        assert!(capacity > 0, "broadcast channel capacity cannot be zero");
        assert!(
            capacity <= usize::MAX >> 1,
            "broadcast channel capacity exceeded `usize::MAX / 2`"
        );
        let capacity = capacity.next_power_of_two();
        let buffer = (0..capacity)
            .map(|i| {
                Mutex::new(Slot {
                    // A lap behind: the first read of slot `i` waits.
                    pos: (i as u64).wrapping_sub(capacity as u64),
                    rem: 0,
                    val: None,
                })
            })
            .collect();
        Sender {
            shared: Arc::new(Shared {
                buffer,
                mask: capacity - 1,
                tail: Mutex::new(Tail {
                    pos: 0,
                    rx_cnt,
                    closed: rx_cnt == 0,
                    waiters: Waiters::default(),
                }),
                num_tx: AtomicUsize::new(1),
                num_weak_tx: AtomicUsize::new(0),
                notify_last_rx_drop: Notify::new(),
            }),
        }
    }

    /// Sends `value` to every current receiver, overwriting the oldest kept
    /// value if the channel is full (receivers that had not read it will
    /// see [`Lagged`](RecvError::Lagged)). Never waits. Returns how many
    /// receivers will see it; fails, giving the value back, if there are
    /// none.
    ///
    /// ```
    /// let (tx, rx1) = weft::sync::broadcast::channel(4);
    /// let rx2 = tx.subscribe();
    /// assert_eq!(tx.send("hi").unwrap(), 2);
    /// drop((rx1, rx2));
    /// assert!(tx.send("anyone?").is_err());
    /// ```
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut tail = self.shared.lock_tail();
        if tail.rx_cnt == 0 {
            return Err(SendError(value));
        }
        let pos = tail.pos;
        let rem = tail.rx_cnt;
        tail.pos = pos.wrapping_add(1);
        let displaced = {
            let mut slot = self.shared.slot(pos);
            slot.pos = pos;
            slot.rem = rem;
            slot.val.replace(value)
        };
        self.shared.notify_rx(tail);
        // An overwritten value is dropped outside every lock.
        drop(displaced);
        Ok(rem)
    }

    /// A new receiver, seeing the values sent from now on.
    ///
    /// # Panics
    ///
    /// With more than `usize::MAX >> 2` receivers.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// let mut late = tx.subscribe();
    /// tx.send(2).unwrap();
    /// assert_eq!(late.try_recv(), Ok(2));
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        new_receiver(Arc::clone(&self.shared))
    }

    /// A [`WeakSender`] for this channel.
    #[must_use = "Downgrade creates a WeakSender without destroying the original non-weak sender."]
    pub fn downgrade(&self) -> WeakSender<T> {
        self.shared.num_weak_tx.fetch_add(1, Relaxed);
        WeakSender {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The number of kept values some receiver has still to read.
    ///
    /// ```
    /// let (tx, mut rx1) = weft::sync::broadcast::channel(4);
    /// let mut rx2 = tx.subscribe();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// rx1.try_recv().unwrap();
    /// assert_eq!(tx.len(), 2); // rx2 has read neither
    /// rx2.try_recv().unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        let tail = self.shared.lock_tail();
        let capacity = self.shared.buffer.len();
        // Receivers read in order, so the values still to be read are the
        // newest ones: find the oldest position with readers left.
        let oldest = tail.pos.wrapping_sub(capacity as u64);
        let (mut low, mut high) = (0, capacity);
        while low < high {
            let mid = low + (high - low) / 2;
            if self.shared.slot(oldest.wrapping_add(mid as u64)).rem == 0 {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        capacity - low
    }

    /// Whether every receiver has read every kept value.
    pub fn is_empty(&self) -> bool {
        let tail = self.shared.lock_tail();
        self.shared.slot(tail.pos.wrapping_sub(1)).rem == 0
    }

    /// The number of live receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.lock_tail().rx_cnt
    }

    /// Whether `self` and `other` send to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Completes once there is no receiver (every one was dropped; a new
    /// [`subscribe`](Self::subscribe) reopens the wait).
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = weft::sync::broadcast::channel::<u8>(4);
    /// weft::spawn(async move { drop(rx) });
    /// tx.closed().await;
    /// assert_eq!(tx.receiver_count(), 0);
    /// # }
    /// ```
    pub async fn closed(&self) {
        loop {
            let notified = self.shared.notify_last_rx_drop.notified();
            if self.shared.lock_tail().closed {
                return;
            }
            notified.await;
        }
    }

    /// The number of live `Sender`s of this channel.
    pub fn strong_count(&self) -> usize {
        self.shared.num_tx.load(Acquire)
    }

    /// The number of live [`WeakSender`]s of this channel.
    pub fn weak_count(&self) -> usize {
        self.shared.num_weak_tx.load(Acquire)
    }
}

fn new_receiver<T>(shared: Arc<Shared<T>>) -> Receiver<T> {
    let mut tail = shared.lock_tail();
    assert!(tail.rx_cnt != MAX_RECEIVERS, "max receivers");
    if tail.rx_cnt == 0 {
        // Senders waiting in `closed` wait for the next last receiver.
        tail.closed = false;
    }
    tail.rx_cnt += 1;
    let next = tail.pos;
    drop(tail);
    Receiver {
        shared,
        next,
        key: None,
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.shared.num_tx.fetch_add(1, Relaxed);
        Sender {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.num_tx.fetch_sub(1, AcqRel) == 1 {
            let mut tail = self.shared.lock_tail();
            tail.closed = true;
            self.shared.notify_rx(tail);
        }
    }
}

impl<T> WeakSender<T> {
    /// A [`Sender`] again, unless every sender is gone.
    #[must_use]
    pub fn upgrade(&self) -> Option<Sender<T>> {
        let mut count = self.shared.num_tx.load(Acquire);
        loop {
            if count == 0 {
                return None;
            }
            match self
                .shared
                .num_tx
                .compare_exchange_weak(count, count + 1, Relaxed, Acquire)
            {
                Ok(_) => {
                    return Some(Sender {
                        shared: Arc::clone(&self.shared),
                    })
                }
                Err(actual) => count = actual,
            }
        }
    }

    /// The number of live [`Sender`]s of this channel.
    pub fn strong_count(&self) -> usize {
        self.shared.num_tx.load(Acquire)
    }

    /// The number of live `WeakSender`s of this channel.
    pub fn weak_count(&self) -> usize {
        self.shared.num_weak_tx.load(Acquire)
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> WeakSender<T> {
        self.shared.num_weak_tx.fetch_add(1, Relaxed);
        WeakSender {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        self.shared.num_weak_tx.fetch_sub(1, AcqRel);
    }
}

/// What a look at the receiver's next position found.
enum Found<'a, T> {
    /// The slot holds the next value (the receiver's position moved on).
    Value(MutexGuard<'a, Slot<T>>),
    Empty,
    Closed,
    Lagged(u64),
}

impl<T> Receiver<T> {
    /// The number of values sent that this receiver has not read (more than
    /// the capacity if it lags).
    ///
    /// ```
    /// let (tx, rx) = weft::sync::broadcast::channel(8);
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        let pos = self.shared.lock_tail().pos;
        pos.wrapping_sub(self.next) as usize
    }

    /// Whether this receiver has read every value sent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// The number of live [`Sender`]s.
    pub fn sender_strong_count(&self) -> usize {
        self.shared.num_tx.load(Acquire)
    }

    /// The number of live [`WeakSender`]s.
    pub fn sender_weak_count(&self) -> usize {
        self.shared.num_weak_tx.load(Acquire)
    }

    /// Whether every sender is gone (values may still be kept for this
    /// receiver).
    pub fn is_closed(&self) -> bool {
        self.shared.num_tx.load(Acquire) == 0
    }

    /// Looks at the next position; when nothing is there and `waker` is
    /// given, registers it (under the tail lock, so no send slips between).
    fn find(&mut self, waker: Option<&Waker>) -> Found<'_, T> {
        let shared = &*self.shared;
        let mut slot = shared.slot(self.next);
        if slot.pos != self.next {
            // Not there: look again under the tail lock, which every send
            // holds while it writes its slot.
            drop(slot);
            let mut tail = shared.lock_tail();
            if tail.pos == self.next {
                // Not sent yet.
                if tail.closed {
                    return Found::Closed;
                }
                let Some(waker) = waker else {
                    return Found::Empty;
                };
                let key = *self.key.get_or_insert_with(|| tail.waiters.key());
                let displaced = tail.waiters.register(key, waker);
                drop(tail);
                drop(displaced);
                return Found::Empty;
            }
            // Sent meanwhile, or sent and already overwritten.
            slot = shared.slot(self.next);
            if slot.pos != self.next {
                // Skip to the oldest value kept.
                let oldest = tail.pos.wrapping_sub(shared.buffer.len() as u64);
                let missed = oldest.wrapping_sub(self.next);
                drop(tail);
                if missed != 0 {
                    self.next = oldest;
                    return Found::Lagged(missed);
                }
            }
        }
        self.next = self.next.wrapping_add(1);
        Found::Value(slot)
    }

    /// Marks the value under `slot` read by this receiver, dropping it if
    /// it was the last reader.
    fn read(mut slot: MutexGuard<'_, Slot<T>>) -> Option<T> {
        slot.rem -= 1;
        if slot.rem == 0 {
            slot.val.take()
        } else {
            None
        }
    }
}

impl<T: Clone> Receiver<T> {
    /// This receiver's clone of the value under `slot` (cloned under the
    /// slot's lock, so `T` need not be `Sync`). The value counts as read
    /// even if `clone` panics, as tokio's; the last reader drops it, outside
    /// the lock.
    fn take(mut slot: MutexGuard<'_, Slot<T>>) -> Option<T> {
        slot.rem -= 1;
        let value = slot.val.clone();
        let last = if slot.rem == 0 { slot.val.take() } else { None };
        drop(slot);
        drop(last);
        value
    }

    /// A new receiver for the same channel, seeing values sent from now on
    /// (not those this one has still to read).
    ///
    /// ```
    /// let (tx, rx) = weft::sync::broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// let mut again = rx.resubscribe();
    /// tx.send(2).unwrap();
    /// assert_eq!(again.try_recv(), Ok(2));
    /// ```
    pub fn resubscribe(&self) -> Self {
        new_receiver(Arc::clone(&self.shared))
    }

    /// Receives the next value (a clone of it), waiting for one.
    /// `Lagged(n)` if `n` values were overwritten before this receiver read
    /// them (the next call returns the oldest kept value); `Closed` once
    /// every sender is gone and everything kept was read.
    ///
    /// Cancel safe. Spends a unit of the task's
    /// [budget](crate::task::coop) when it completes.
    ///
    /// ```
    /// use weft::sync::broadcast::{self, error::RecvError};
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, mut rx) = broadcast::channel(2);
    /// for i in 0..4 {
    ///     tx.send(i).unwrap();
    /// }
    /// assert_eq!(rx.recv().await, Err(RecvError::Lagged(2)));
    /// assert_eq!(rx.recv().await, Ok(2));
    /// assert_eq!(rx.recv().await, Ok(3));
    /// drop(tx);
    /// assert_eq!(rx.recv().await, Err(RecvError::Closed));
    /// # }
    /// ```
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        Recv { receiver: self }.await
    }

    /// Receives the next value if there is one, without waiting.
    ///
    /// ```
    /// use weft::sync::broadcast::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = broadcast::channel(4);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(5).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.find(None) {
            Found::Value(slot) => Self::take(slot).ok_or(TryRecvError::Closed),
            Found::Empty => Err(TryRecvError::Empty),
            Found::Closed => Err(TryRecvError::Closed),
            Found::Lagged(n) => Err(TryRecvError::Lagged(n)),
        }
    }

    /// [`recv`](Self::recv) for synchronous code: blocks this thread.
    ///
    /// # Panics
    ///
    /// When called from a thread that runs a weft runtime's tasks (it would
    /// stall them): `.await` [`recv`](Self::recv) there instead.
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::broadcast::channel(4);
    /// let listener = std::thread::spawn(move || rx.blocking_recv());
    /// tx.send(3).unwrap();
    /// assert_eq!(listener.join().unwrap(), Ok(3));
    /// ```
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Result<T, RecvError> {
        crate::sync::block_on("broadcast::Receiver::blocking_recv", self.recv())
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut tail = self.shared.lock_tail();
        tail.rx_cnt -= 1;
        let until = tail.pos;
        if tail.rx_cnt == 0 {
            self.shared.notify_last_rx_drop.notify_waiters();
            tail.closed = true;
        }
        let displaced = self.key.take().and_then(|key| tail.waiters.release(key));
        drop(tail);
        drop(displaced);
        // Count as having read everything still kept for us (dropping the
        // values we were the last reader of): positions before `until`
        // only. Senders may lap the ring meanwhile; a `Lagged` jump can
        // then carry `next` past `until`, and values sent after this
        // receiver left were never counted for it. (Positions wrap: compare
        // by the signed distance.)
        while (until.wrapping_sub(self.next) as i64) > 0 {
            match self.find(None) {
                Found::Value(slot) => drop(Self::read(slot)),
                Found::Lagged(_) => {}
                Found::Closed | Found::Empty => break,
            }
        }
    }
}

/// The future of [`Receiver::recv`].
struct Recv<'a, T> {
    receiver: &'a mut Receiver<T>,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let spent = std::task::ready!(coop::proceed(cx));
        let receiver = &mut *self.get_mut().receiver;
        let result = match receiver.find(Some(cx.waker())) {
            Found::Value(slot) => Receiver::take(slot).ok_or(RecvError::Closed),
            Found::Empty => return Poll::Pending,
            Found::Closed => Err(RecvError::Closed),
            Found::Lagged(n) => Err(RecvError::Lagged(n)),
        };
        spent.made_progress();
        Poll::Ready(result)
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("broadcast::Sender")
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("broadcast::WeakSender")
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("broadcast::Receiver")
    }
}
