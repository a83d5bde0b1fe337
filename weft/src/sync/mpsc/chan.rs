//! The channel shared by the bounded and unbounded flavours: the list, the
//! receiver's waker, the sender counts, and the receive side's logic.
//!
//! The flavours differ only in their [`Semaphore`]: the bounded one is the
//! FIFO [`batch_semaphore`](crate::sync::batch_semaphore) (one permit per
//! queued message or reservation, given back when the message is
//! received); the unbounded one has no counter at all, and closing it
//! closes the list's tail word instead.
//!
//! **Closing.** When the last sender goes, its drop wakes the receiver; a
//! receiver that finds the list empty and the sender count zero looks once
//! more (every send happened before that count reached zero) and then
//! reports the end. When the receiver closes, sends fail from then on, and
//! the receiver still gets every message sent before (and, bounded, every
//! message sent through a permit reserved before), then the end.

use std::fmt;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use super::error::TryRecvError;
use super::list::{self, Pop};
use crate::sync::waker_cell::WakerCell;
use crate::sync::Notify;
use crate::sys::loom::{AtomicUsize, UnsafeCell};
use crate::task::coop;

/// What makes a channel bounded or not.
pub(super) trait Semaphore {
    /// The receiver closed the channel: no new sends.
    fn close<T>(&self, rx: &mut list::Rx<T>, tx: &list::Tx<T>);
    /// Whether the receiver closed the channel.
    fn is_closed<T>(&self, tx: &list::Tx<T>) -> bool;
    /// After a close: no permit is out, so nothing more can arrive (the
    /// unbounded flavour has no permits; its list knows where it ends).
    fn is_idle(&self) -> bool;
    /// `n` queued messages were received.
    fn add_permits(&self, n: usize);
}

/// Keeps what it holds on its own cache line (two, for adjacent-line
/// prefetch), so the senders' and the receiver's hot words do not share one.
#[repr(align(128))]
pub(super) struct CachePadded<T>(pub(super) T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

pub(super) struct Chan<T, S> {
    /// The senders' half of the list.
    tx: CachePadded<list::Tx<T>>,
    /// The receiver's task, woken by the sender of the slot it waits for,
    /// by the last sender's drop and (bounded) by the last permit's return
    /// after a close.
    rx_waker: CachePadded<WakerCell>,
    /// Wakes `Sender::closed` when the receiver closes.
    notify_rx_closed: Notify,
    semaphore: S,
    /// Live senders (and owned permits); zero means the send side is done.
    tx_count: AtomicUsize,
    tx_weak_count: AtomicUsize,
    /// Touched only through the one `Rx`, or by `Drop` of the channel.
    rx_fields: UnsafeCell<RxFields<T>>,
}

struct RxFields<T> {
    list: list::Rx<T>,
    /// `Rx::close` was called.
    rx_closed: bool,
}

// SAFETY: values of `T` move from senders to the receiver (`T: Send`); the
// receiver-only fields are reached through the single `Rx` (`&mut`) or the
// channel's `Drop`; the rest is atomics, the waiter and the semaphore.
unsafe impl<T: Send, S: Send> Send for Chan<T, S> {}
// SAFETY: as above; shared access never hands out a `&T`.
unsafe impl<T: Send, S: Sync> Sync for Chan<T, S> {}
// A panic inside a channel operation leaves no broken invariant behind
// (values move whole, counters are atomics), as tokio's.
impl<T, S> std::panic::RefUnwindSafe for Chan<T, S> {}
impl<T, S> std::panic::UnwindSafe for Chan<T, S> {}

/// A sender's handle on the channel (counted in `tx_count`).
pub(super) struct Tx<T, S> {
    inner: Arc<Chan<T, S>>,
}

/// The receiver's handle.
pub(super) struct Rx<T, S: Semaphore> {
    inner: Arc<Chan<T, S>>,
}

pub(super) fn channel<T, S: Semaphore>(semaphore: S) -> (Tx<T, S>, Rx<T, S>) {
    let (tx, rx) = list::list();
    let chan = Arc::new(Chan {
        tx: CachePadded(tx),
        rx_waker: CachePadded(WakerCell::new()),
        notify_rx_closed: Notify::new(),
        semaphore,
        tx_count: AtomicUsize::new(1),
        tx_weak_count: AtomicUsize::new(0),
        rx_fields: UnsafeCell::new(RxFields {
            list: rx,
            rx_closed: false,
        }),
    });
    (
        Tx {
            inner: Arc::clone(&chan),
        },
        Rx { inner: chan },
    )
}

impl<T, S> Chan<T, S> {
    pub(super) fn strong_count(&self) -> usize {
        self.tx_count.load(Acquire)
    }

    pub(super) fn weak_count(&self) -> usize {
        self.tx_weak_count.load(Relaxed)
    }

    pub(super) fn increment_weak_count(&self) {
        self.tx_weak_count.fetch_add(1, Relaxed);
    }

    pub(super) fn decrement_weak_count(&self) {
        self.tx_weak_count.fetch_sub(1, Relaxed);
    }
}

impl<T, S> Drop for Chan<T, S> {
    fn drop(&mut self) {
        let tx = &self.tx.0;
        self.rx_fields.with_mut(|fields| {
            // SAFETY: the last handle is gone; nobody else touches the list.
            unsafe { (*fields).list.free_all(tx) };
        });
    }
}

impl<T, S: fmt::Debug> fmt::Debug for Chan<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chan")
            .field("tx", &*self.tx)
            .field("semaphore", &self.semaphore)
            .field("tx_count", &self.tx_count.load(Relaxed))
            .field("tx_weak_count", &self.tx_weak_count.load(Relaxed))
            .finish_non_exhaustive()
    }
}

impl<T, S> Tx<T, S> {
    pub(super) fn semaphore(&self) -> &S {
        &self.inner.semaphore
    }

    /// Queues `value` (the caller holds a permit, or the flavour needs
    /// none) and wakes the receiver if it waits for it.
    pub(super) fn send(&self, value: T) {
        if self.inner.tx.push(value) {
            self.wake_rx();
        }
    }

    /// Queues `value` unless the receiver closed the list.
    pub(super) fn try_send(&self, value: T) -> Result<(), T> {
        if self.inner.tx.try_push(value)? {
            self.wake_rx();
        }
        Ok(())
    }

    pub(super) fn wake_rx(&self) {
        self.inner.rx_waker.wake();
    }

    pub(super) fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    pub(super) fn strong_count(&self) -> usize {
        self.inner.strong_count()
    }

    pub(super) fn weak_count(&self) -> usize {
        self.inner.weak_count()
    }

    /// A weak handle: counts in `tx_weak_count`, keeps the memory only.
    pub(super) fn downgrade(&self) -> Arc<Chan<T, S>> {
        self.inner.increment_weak_count();
        Arc::clone(&self.inner)
    }

    /// A sender again, unless every sender is gone (then the channel is
    /// closed for good).
    pub(super) fn upgrade(chan: &Arc<Chan<T, S>>) -> Option<Tx<T, S>> {
        let mut count = chan.tx_count.load(Acquire);
        loop {
            if count == 0 {
                return None;
            }
            match chan
                .tx_count
                .compare_exchange_weak(count, count + 1, AcqRel, Acquire)
            {
                Ok(_) => {
                    return Some(Tx {
                        inner: Arc::clone(chan),
                    })
                }
                Err(actual) => count = actual,
            }
        }
    }
}

impl<T, S: Semaphore> Tx<T, S> {
    pub(super) fn is_closed(&self) -> bool {
        self.inner.semaphore.is_closed(&self.inner.tx)
    }

    /// Completes once the receiver is closed or dropped.
    pub(super) async fn closed(&self) {
        // Ask for the notification first, then look: a close between the
        // two is then not missed.
        let notified = self.inner.notify_rx_closed.notified();
        if self.is_closed() {
            return;
        }
        notified.await;
    }
}

impl<T, S> Clone for Tx<T, S> {
    fn clone(&self) -> Tx<T, S> {
        // Relaxed: this handle keeps the count above zero meanwhile.
        self.inner.tx_count.fetch_add(1, Relaxed);
        Tx {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T, S> Drop for Tx<T, S> {
    fn drop(&mut self) {
        // AcqRel: the receiver that reads zero sees every send made
        // through any sender.
        if self.inner.tx_count.fetch_sub(1, AcqRel) == 1 {
            self.wake_rx();
        }
    }
}

impl<T, S: fmt::Debug> fmt::Debug for Tx<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tx").field("inner", &self.inner).finish()
    }
}

impl<T, S: Semaphore + fmt::Debug> fmt::Debug for Rx<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rx").field("inner", &self.inner).finish()
    }
}

/// One step of a receive.
enum Step<T> {
    Value(T),
    /// Nothing more will ever arrive.
    End,
    /// Nothing now.
    Empty,
}

impl<T, S: Semaphore> Rx<T, S> {
    fn with_fields<R>(&mut self, f: impl FnOnce(&mut RxFields<T>, &Chan<T, S>) -> R) -> R {
        let chan = &*self.inner;
        chan.rx_fields.with_mut(|fields| {
            // SAFETY: `&mut self` is the one receiver, and the channel's
            // `Drop` cannot run while it holds the `Arc`.
            f(unsafe { &mut *fields }, chan)
        })
    }

    fn with_fields_ref<R>(&self, f: impl FnOnce(&RxFields<T>, &Chan<T, S>) -> R) -> R {
        let chan = &*self.inner;
        chan.rx_fields.with(|fields| {
            // SAFETY: as in `with_fields`; `&self` excludes the receiver's
            // mutations.
            f(unsafe { &*fields }, chan)
        })
    }

    pub(super) fn semaphore(&self) -> &S {
        &self.inner.semaphore
    }

    /// Closes the receiving side: sends fail from now on; what was sent
    /// before can still be received.
    pub(super) fn close(&mut self) {
        let first = self.with_fields(|fields, chan| {
            if fields.rx_closed {
                return false;
            }
            fields.rx_closed = true;
            chan.semaphore.close(&mut fields.list, &chan.tx);
            true
        });
        if first {
            self.inner.notify_rx_closed.notify_waiters();
        }
    }

    pub(super) fn is_closed(&self) -> bool {
        let chan = &*self.inner;
        chan.semaphore.is_closed(&chan.tx) || chan.tx_count.load(Acquire) == 0
    }

    pub(super) fn len(&self) -> usize {
        self.with_fields_ref(|fields, chan| fields.list.len(&chan.tx))
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn sender_strong_count(&self) -> usize {
        self.inner.strong_count()
    }

    pub(super) fn sender_weak_count(&self) -> usize {
        self.inner.weak_count()
    }

    /// Pops once; on empty, tells whether the channel has ended.
    fn step(fields: &mut RxFields<T>, chan: &Chan<T, S>) -> Step<T> {
        match fields.list.pop(&chan.tx) {
            Pop::Value(value) => return Step::Value(value),
            Pop::Ended => return Step::End,
            Pop::Empty => {}
        }
        if chan.tx_count.load(Acquire) == 0 {
            // Every send happened before the count reached zero: one more
            // look sees them all.
            return match fields.list.pop(&chan.tx) {
                Pop::Value(value) => Step::Value(value),
                Pop::Ended | Pop::Empty => Step::End,
            };
        }
        if fields.rx_closed && chan.semaphore.is_idle() {
            return Step::End;
        }
        Step::Empty
    }

    /// Receives one value, `None` once the channel has ended.
    pub(super) fn recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let spent = ready!(coop::proceed(cx));
        let result = self.with_fields(|fields, chan| {
            let mut registered = false;
            loop {
                match Self::step(fields, chan) {
                    Step::Value(value) => {
                        chan.semaphore.add_permits(1);
                        return Poll::Ready(Some(value));
                    }
                    Step::End => return Poll::Ready(None),
                    Step::Empty if registered => return Poll::Pending,
                    Step::Empty => {}
                }
                // Store the waker, then ask the next slot's sender to use
                // it; then look again (a value, a close or the last drop
                // may have come in between).
                chan.rx_waker.register(cx.waker());
                fields.list.wait(&chan.tx);
                registered = true;
            }
        });
        if result.is_ready() {
            spent.made_progress();
        }
        result
    }

    /// Receives up to `limit` values into `buffer`; 0 once the channel has
    /// ended (or if `limit` is 0).
    pub(super) fn recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        let spent = ready!(coop::proceed(cx));
        if limit == 0 {
            spent.made_progress();
            return Poll::Ready(0);
        }
        let result = self.with_fields(|fields, chan| {
            let mut registered = false;
            let mut received = 0;
            while received < limit {
                match Self::step(fields, chan) {
                    Step::Value(value) => {
                        buffer.push(value);
                        received += 1;
                    }
                    Step::End | Step::Empty if received > 0 => break,
                    Step::End => return Poll::Ready(0),
                    Step::Empty if registered => return Poll::Pending,
                    Step::Empty => {
                        chan.rx_waker.register(cx.waker());
                        fields.list.wait(&chan.tx);
                        registered = true;
                    }
                }
            }
            chan.semaphore.add_permits(received);
            Poll::Ready(received)
        });
        if result.is_ready() {
            spent.made_progress();
        }
        result
    }

    /// Receives a value if one is queued. A send in progress on another
    /// thread (its slot claimed, not yet written) is waited for, as tokio
    /// does: `Empty` means nothing was sent.
    pub(super) fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut parked: Option<std::task::Waker> = None;
        self.with_fields(|fields, chan| loop {
            match Self::step(fields, chan) {
                Step::Value(value) => {
                    chan.semaphore.add_permits(1);
                    return Ok(value);
                }
                Step::End => return Err(TryRecvError::Disconnected),
                Step::Empty if !fields.list.is_claimed(&chan.tx) => {
                    return Err(TryRecvError::Empty)
                }
                Step::Empty => {}
            }
            // A sender is writing the next slot right now (between its
            // claim and its write: a few instructions, no user code). Sleep
            // until it is done (the task waker stored before, if any, is
            // replaced; a later `recv` stores it again).
            let waker = parked.get_or_insert_with(crate::sync::block_on::thread_waker);
            chan.rx_waker.register(waker);
            if !fields.list.wait(&chan.tx) {
                std::thread::park();
            }
        })
    }
}

impl<T, S: Semaphore> Drop for Rx<T, S> {
    fn drop(&mut self) {
        self.close();
        // Nothing will poll this receiver again.
        drop(self.inner.rx_waker.take());
        self.with_fields(|fields, chan| {
            /// Keeps draining if a value's destructor panics.
            struct Drain<'a, T, S: Semaphore> {
                fields: &'a mut RxFields<T>,
                chan: &'a Chan<T, S>,
            }
            impl<T, S: Semaphore> Drain<'_, T, S> {
                fn run(&mut self) {
                    while let Pop::Value(value) = self.fields.list.pop(&self.chan.tx) {
                        self.chan.semaphore.add_permits(1);
                        drop(value);
                    }
                }
            }
            impl<T, S: Semaphore> Drop for Drain<'_, T, S> {
                fn drop(&mut self) {
                    self.run();
                }
            }
            Drain { fields, chan }.run();
        });
    }
}
