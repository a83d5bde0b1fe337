//! `Notify`: wakes one task (storing a permit if none waits) or all waiting
//! tasks.
//!
//! One state word holds EMPTY / WAITING / NOTIFIED (a stored permit) in its
//! low two bits and the number of `notify_waiters` calls above them. A
//! `Notified` future snapshots that number when created: if it changed by
//! the time the future looks, a `notify_waiters` happened after creation
//! and the future is done. Leaving WAITING needs the lock; the permit moves
//! EMPTY ⇄ NOTIFIED by CAS without it, so `notify_one` with nobody waiting
//! and `notified()` consuming a stored permit are one CAS each.
//!
//! Waiters are nodes inside their futures in an intrusive list (pushed at
//! the front: `notify_one` pops the back, the oldest; `notify_last` the
//! front). A notifier unlinks the node, takes its waker and *then* stores
//! the node's `notification` (release): the last touch, after which the
//! future may read it without the lock and finish. `notify_waiters` moves
//! the whole list into a guarded list on its stack (so waiters arriving
//! while it wakes the others are not included), and drains it in batches,
//! waking each batch with the lock released. A future dropped after being
//! picked by `notify_one` but before seeing it passes the notification on.

use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::pin::{pin, Pin};
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};

use super::linked_list::{GuardedList, Link, List, Pointers, WakeList};
use crate::sys::lock::lock;
use crate::sys::loom::{AtomicUsize, Mutex, UnsafeCell};
use crate::task::coop;

/// Notifies a single task to wake up.
///
/// `Notify` provides a basic mechanism to notify a single task of an event.
/// `Notify` itself does not carry any data. Instead, it is to be used to
/// signal another task to perform an operation.
///
/// A `Notify` can be thought of as a [`Semaphore`](super::Semaphore)
/// starting with 0 permits. The [`notified().await`](Notify::notified)
/// method waits for a permit to become available, and
/// [`notify_one()`](Notify::notify_one) sets a permit **if there currently
/// are no available permits**.
///
/// If `notify_one()` is called **before** `notified().await`, then the next
/// call to `notified().await` will complete immediately, consuming the
/// permit. Any subsequent calls to `notified().await` will wait for a new
/// permit. If `notify_one()` is called **multiple** times before
/// `notified().await`, only a **single** permit is stored.
///
/// [`notify_waiters()`](Notify::notify_waiters) wakes every task waiting at
/// the time of the call, and stores no permit.
///
/// A `Notified` that completes spends a unit of weft's cooperative budget,
/// and one whose task has spent its budget yields before it takes a permit.
/// This differs from tokio, whose `Notified` ignores the budget: a task that
/// loops on an always-notified `Notify` cannot starve its thread on weft.
/// (`Barrier::wait` and `SetOnce::wait` wait on a `Notify`, so they do too.)
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use weft::sync::Notify;
///
/// # #[weft::main(flavor = "current_thread")]
/// # async fn main() {
/// let notify = Arc::new(Notify::new());
/// let notify2 = notify.clone();
///
/// let handle = weft::spawn(async move {
///     notify2.notified().await;
///     println!("received notification");
/// });
///
/// println!("sending notification");
/// notify.notify_one();
///
/// // Wait for task to receive notification.
/// handle.await.unwrap();
/// # }
/// ```
///
/// An unbounded multi-consumer channel: [`Notified::enable`] registers the
/// future before checking the queue, so a `notify_one` that comes between
/// the check and the wait is not lost.
///
/// ```
/// use std::collections::VecDeque;
/// use std::sync::Mutex;
/// use weft::sync::Notify;
///
/// struct Channel<T> {
///     messages: Mutex<VecDeque<T>>,
///     notify_on_sent: Notify,
/// }
///
/// impl<T> Channel<T> {
///     pub fn send(&self, msg: T) {
///         self.messages.lock().unwrap().push_back(msg);
///         self.notify_on_sent.notify_one();
///     }
///
///     pub async fn recv(&self) -> T {
///         let future = self.notify_on_sent.notified();
///         weft::pin!(future);
///         loop {
///             // Make sure that no wakeup is lost if the queue is empty.
///             future.as_mut().enable();
///             if let Some(msg) = self.messages.lock().unwrap().pop_front() {
///                 return msg;
///             }
///             // Wait for a call to `notify_one`, then make a new future
///             // for the next round.
///             future.as_mut().await;
///             future.set(self.notify_on_sent.notified());
///         }
///     }
/// }
/// # #[weft::main(flavor = "current_thread")]
/// # async fn main() {
/// # let ch = Channel { messages: Mutex::new(VecDeque::new()), notify_on_sent: Notify::new() };
/// # ch.send(1);
/// # assert_eq!(ch.recv().await, 1);
/// # }
/// ```
#[derive(Debug)]
pub struct Notify {
    /// EMPTY / WAITING / NOTIFIED in the low bits, the number of
    /// `notify_waiters` calls above. Leaves WAITING only under the lock;
    /// the call count changes only under the lock.
    state: AtomicUsize,
    waiters: Mutex<List<Waiter>>,
}

/// A waiting `Notified`'s node.
struct Waiter {
    pointers: Pointers<Waiter>,
    /// Accessed under the lock, or by the future once `notification` is set.
    waker: UnsafeCell<Option<Waker>>,
    /// `NOTIFICATION_*`: set (last) by the notifier that unlinked the node.
    notification: AtomicUsize,
    _pinned: PhantomPinned,
}

// SAFETY: `pointers` is `Waiter`'s own link field, and `Waiter` is `!Unpin`.
unsafe impl Link for Waiter {
    fn pointers(&self) -> &Pointers<Waiter> {
        &self.pointers
    }
}

impl fmt::Debug for Waiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiter")
            .field("notification", &self.notification.load(Relaxed))
            .finish()
    }
}

const NOTIFICATION_NONE: usize = 0;
/// From `notify_one` (FIFO).
const NOTIFICATION_ONE: usize = 1;
/// From `notify_last` (LIFO).
const NOTIFICATION_LAST: usize = 2;
/// From `notify_waiters`.
const NOTIFICATION_ALL: usize = 3;

const EMPTY: usize = 0;
const WAITING: usize = 1;
const NOTIFIED: usize = 2;
const STATE_MASK: usize = 0b11;
const CALLS_SHIFT: u32 = 2;
const CALL: usize = 1 << CALLS_SHIFT;

fn get_state(word: usize) -> usize {
    word & STATE_MASK
}

fn set_state(word: usize, state: usize) -> usize {
    (word & !STATE_MASK) | state
}

fn calls(word: usize) -> usize {
    word >> CALLS_SHIFT
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    Fifo,
    Lifo,
}

/// Where a `Notified` is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not yet registered.
    Init,
    /// Linked into the wait list (or a `notify_waiters` drain), or already
    /// notified there but not yet seen.
    Waiting,
    /// Completed.
    Done,
}

/// Future returned from [`Notify::notified()`].
///
/// This future is fused, so once it has completed, any future calls to
/// poll will immediately return `Poll::Ready`.
#[must_use = "futures do nothing unless you `.await` or poll them"]
#[derive(Debug)]
pub struct Notified<'a> {
    notify: &'a Notify,
    state: State,
    /// `notify_waiters` calls when this future was created.
    notify_waiters_calls: usize,
    waiter: Waiter,
}

// SAFETY: the waiter's non-atomic fields are only touched under the
// Notify's lock, or by this future through `&mut` once no notifier can
// reach the node: a shared `&Notified` exposes nothing.
unsafe impl Sync for Notified<'_> {}

/// Future returned from [`Notify::notified_owned()`].
///
/// This future is fused, so once it has completed, any future calls to
/// poll will immediately return `Poll::Ready`.
#[must_use = "futures do nothing unless you `.await` or poll them"]
#[derive(Debug)]
pub struct OwnedNotified {
    notify: Arc<Notify>,
    state: State,
    notify_waiters_calls: usize,
    waiter: Waiter,
}

// SAFETY: as for `Notified`.
unsafe impl Sync for OwnedNotified {}

impl Notify {
    /// Create a new `Notify`, initialized without a permit.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::Notify;
    ///
    /// let notify = Notify::new();
    /// ```
    pub fn new() -> Notify {
        Notify {
            state: AtomicUsize::new(0),
            waiters: Mutex::new(List::new()),
        }
    }

    /// Create a new `Notify`, initialized without a permit, in a `const`
    /// context.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::Notify;
    ///
    /// static NOTIFY: Notify = Notify::const_new();
    /// ```
    #[cfg(not(weft_loom))]
    pub const fn const_new() -> Notify {
        Notify {
            state: AtomicUsize::new(0),
            waiters: Mutex::new(List::new()),
        }
    }

    /// Wait for a notification.
    ///
    /// Equivalent to:
    ///
    /// ```ignore
    /// async fn notified(&self);
    /// ```
    ///
    /// Each `Notify` value holds a single permit. If a permit is available
    /// from an earlier call to [`notify_one()`], then `notified().await`
    /// will complete immediately, consuming that permit. Otherwise,
    /// `notified().await` waits for a permit to be made available by the
    /// next call to `notify_one()`.
    ///
    /// The `Notified` future is not guaranteed to receive wakeups from calls
    /// to `notify_one()` if it has not yet been polled. See the
    /// documentation for [`Notified::enable()`] for more details.
    ///
    /// The `Notified` future is guaranteed to receive wakeups from
    /// `notify_waiters()` as soon as it has been created, even if it has
    /// not yet been polled.
    ///
    /// [`notify_one()`]: Notify::notify_one
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute notifications in the
    /// order they were requested. Cancelling a call to `notified` makes you
    /// lose your place in the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::Notify;
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let notify = Arc::new(Notify::new());
    /// let notify2 = notify.clone();
    ///
    /// weft::spawn(async move {
    ///     notify2.notified().await;
    ///     println!("received notification");
    /// });
    ///
    /// println!("sending notification");
    /// notify.notify_one();
    /// # }
    /// ```
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            state: State::Init,
            notify_waiters_calls: calls(self.state.load(Acquire)),
            waiter: Waiter::new(),
        }
    }

    /// Wait for a notification with an owned `Future`.
    ///
    /// Unlike [`Self::notified`] which returns a future tied to the `Notify`'s
    /// lifetime, `notified_owned` creates a self-contained future that owns
    /// its notification state, making it safe to move between threads.
    ///
    /// See [`Self::notified`] for more details.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute notifications in the
    /// order they were requested. Cancelling a call to `notified_owned` makes
    /// you lose your place in the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::Notify;
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let notify = Arc::new(Notify::new());
    ///
    /// for _ in 0..10 {
    ///     let notified = notify.clone().notified_owned();
    ///     weft::spawn(async move {
    ///         notified.await;
    ///         println!("received notification");
    ///     });
    /// }
    ///
    /// println!("sending notification");
    /// notify.notify_waiters();
    /// # }
    /// ```
    pub fn notified_owned(self: Arc<Self>) -> OwnedNotified {
        let notify_waiters_calls = calls(self.state.load(Acquire));
        OwnedNotified {
            notify: self,
            state: State::Init,
            notify_waiters_calls,
            waiter: Waiter::new(),
        }
    }

    /// Notifies the first waiting task.
    ///
    /// If a task is currently waiting, that task is notified. Otherwise, a
    /// permit is stored in this `Notify` value and the **next** call to
    /// [`notified().await`] will complete immediately consuming the permit
    /// made available by this call to `notify_one()`.
    ///
    /// At most one permit may be stored by `Notify`. Many sequential calls
    /// to `notify_one` will result in a single permit being stored. The next
    /// call to `notified().await` will complete immediately, but the one
    /// after that will wait.
    ///
    /// The `notify_one` method is fair: waiters are woken in the order they
    /// started waiting (FIFO).
    ///
    /// [`notified().await`]: Notify::notified()
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::Notify;
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let notify = Arc::new(Notify::new());
    /// let notify2 = notify.clone();
    ///
    /// weft::spawn(async move {
    ///     notify2.notified().await;
    ///     println!("received notification");
    /// });
    ///
    /// println!("sending notification");
    /// notify.notify_one();
    /// # }
    /// ```
    #[doc(alias = "notify")]
    pub fn notify_one(&self) {
        self.notify_with_strategy(Strategy::Fifo);
    }

    /// Notifies the last waiting task.
    ///
    /// This function behaves similar to `notify_one`. The only difference is
    /// that it wakes the most recently added waiter instead of the oldest
    /// waiter (LIFO).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::Notify;
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let notify = Arc::new(Notify::new());
    /// let notify2 = notify.clone();
    ///
    /// weft::spawn(async move {
    ///     notify2.notified().await;
    ///     println!("received notification");
    /// });
    ///
    /// println!("sending notification");
    /// notify.notify_last();
    /// # }
    /// ```
    pub fn notify_last(&self) {
        self.notify_with_strategy(Strategy::Lifo);
    }

    fn notify_with_strategy(&self, strategy: Strategy) {
        let mut curr = self.state.load(Acquire);
        // Nobody waits: store the permit (NOTIFIED → NOTIFIED included, so
        // the notified task synchronizes with this call).
        while get_state(curr) != WAITING {
            match self
                .state
                .compare_exchange(curr, set_state(curr, NOTIFIED), AcqRel, Acquire)
            {
                Ok(_) => return,
                Err(actual) => curr = actual,
            }
        }
        let mut waiters = lock(&self.waiters);
        // Reload under the lock: only lock holders leave WAITING.
        let curr = self.state.load(Acquire);
        if let Some(waker) = notify_locked(&mut waiters, &self.state, curr, strategy) {
            drop(waiters);
            waker.wake();
        }
    }

    /// Notifies all waiting tasks.
    ///
    /// If a task is currently waiting, that task is notified. Unlike with
    /// `notify_one()`, no permit is stored to be used by the next call to
    /// `notified().await`. The purpose of this method is to notify all
    /// already registered waiters. Registering for notification is done by
    /// acquiring an instance of the `Notified` future via calling
    /// `notified()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::Notify;
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let notify = Arc::new(Notify::new());
    /// let notify2 = notify.clone();
    ///
    /// let notified1 = notify.notified();
    /// let notified2 = notify.notified();
    ///
    /// let handle = weft::spawn(async move {
    ///     println!("sending notifications");
    ///     notify2.notify_waiters();
    /// });
    ///
    /// notified1.await;
    /// notified2.await;
    /// println!("received notifications");
    /// # }
    /// ```
    pub fn notify_waiters(&self) {
        let mut waiters = lock(&self.waiters);
        let curr = self.state.load(Acquire);
        if get_state(curr) != WAITING {
            // Nobody is linked: counting the call is enough (futures
            // created before it see the count change).
            self.state.fetch_add(CALL, AcqRel);
            return;
        }
        self.state
            .store(set_state(curr.wrapping_add(CALL), EMPTY), Release);

        let guard = pin!(Waiter::new());
        // (`Drain::drop` takes the lock again: only `wake_all`, run with the
        // lock released, can panic here; nothing between a `lock` and its
        // `drop` below can.)
        // SAFETY: `guard` is pinned here and in no list; `drain` (declared
        // after it, so dropped first) empties the guarded list under the lock.
        let list = unsafe { waiters.take_guarded(NonNull::from(&*guard)) };
        let mut drain = Drain {
            list,
            notify: self,
            done: false,
        };
        let mut wakers = WakeList::new();
        loop {
            while wakers.can_push() {
                // SAFETY: we hold the lock, and the guard is live.
                let Some(node) = (unsafe { drain.list.pop_back() }) else {
                    drain.done = true;
                    break;
                };
                // SAFETY: a node in the list is live (its future unlinks it
                // under the lock before going away) and the lock is held.
                let waiter = unsafe { node.as_ref() };
                // SAFETY: lock held, node unlinked by us and not yet
                // released to its future.
                if let Some(waker) = waiter.waker.with_mut(|w| unsafe { (*w).take() }) {
                    wakers.push(waker);
                }
                waiter.notification.store(NOTIFICATION_ALL, Release);
            }
            drop(waiters);
            wakers.wake_all();
            if drain.done {
                return;
            }
            waiters = lock(&self.waiters);
        }
    }
}

/// Empties a `notify_waiters` drain if a waker panicked before it was done:
/// the nodes are marked notified (not woken), and none keeps a pointer to
/// the guard on the unwound stack.
struct Drain<'a> {
    list: GuardedList<Waiter>,
    notify: &'a Notify,
    done: bool,
}

impl Drop for Drain<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let _waiters = lock(&self.notify.waiters);
        // SAFETY: the lock is held and the guard is still live (declared
        // before this value).
        while let Some(node) = unsafe { self.list.pop_back() } {
            // SAFETY: linked nodes are live; lock held.
            unsafe { node.as_ref() }
                .notification
                .store(NOTIFICATION_ALL, Release);
        }
    }
}

impl Default for Notify {
    fn default() -> Notify {
        Notify::new()
    }
}

impl UnwindSafe for Notify {}
impl RefUnwindSafe for Notify {}

/// `notify_one` / `notify_last` with the lock held and the state word
/// `curr` read under it; returns the waker to wake once the lock is
/// released.
fn notify_locked(
    waiters: &mut List<Waiter>,
    state: &AtomicUsize,
    curr: usize,
    strategy: Strategy,
) -> Option<Waker> {
    if get_state(curr) != WAITING {
        // Only the permit can change without the lock: set it.
        let mut curr = curr;
        loop {
            match state.compare_exchange(curr, set_state(curr, NOTIFIED), AcqRel, Acquire) {
                Ok(_) => return None,
                Err(actual) => curr = actual,
            }
        }
    }
    let node = match strategy {
        Strategy::Fifo => waiters.pop_back(),
        Strategy::Lifo => waiters.pop_front(),
    }
    .expect("WAITING with an empty wait list");
    if waiters.is_empty() {
        state.store(set_state(curr, EMPTY), Release);
    }
    // SAFETY: a linked node is live; we hold the lock and have just
    // unlinked it, and its future does not touch it before `notification`.
    let waiter = unsafe { node.as_ref() };
    // SAFETY: as above.
    let waker = waiter.waker.with_mut(|w| unsafe { (*w).take() });
    let notification = match strategy {
        Strategy::Fifo => NOTIFICATION_ONE,
        Strategy::Lifo => NOTIFICATION_LAST,
    };
    waiter.notification.store(notification, Release);
    waker
}

impl Waiter {
    fn new() -> Waiter {
        Waiter {
            pointers: Pointers::new(),
            waker: UnsafeCell::new(None),
            notification: AtomicUsize::new(NOTIFICATION_NONE),
            _pinned: PhantomPinned,
        }
    }
}

/// The fields a `Notified` and an `OwnedNotified` share.
struct Parts<'a> {
    notify: &'a Notify,
    state: &'a mut State,
    notify_waiters_calls: usize,
    waiter: &'a Waiter,
}

impl Parts<'_> {
    /// Polls for the notification; registers `waker` (if any) when it has
    /// to wait.
    fn poll_notified(self, waker: Option<&Waker>) -> Poll<()> {
        let Parts {
            notify,
            state,
            notify_waiters_calls,
            waiter,
        } = self;
        match *state {
            State::Done => Poll::Ready(()),
            State::Init => {
                let curr = notify.state.load(Acquire);
                if calls(curr) != notify_waiters_calls {
                    // A `notify_waiters` since creation.
                    *state = State::Done;
                    return Poll::Ready(());
                }
                // Take a stored permit: one CAS, no lock.
                if notify
                    .state
                    .compare_exchange(
                        set_state(curr, NOTIFIED),
                        set_state(curr, EMPTY),
                        AcqRel,
                        Acquire,
                    )
                    .is_ok()
                {
                    *state = State::Done;
                    return Poll::Ready(());
                }
                // Clone before locking: a clone may run arbitrary code.
                let waker = waker.cloned();
                let mut waiters = lock(&notify.waiters);
                let mut curr = notify.state.load(Acquire);
                if calls(curr) != notify_waiters_calls {
                    *state = State::Done;
                    return Poll::Ready(());
                }
                loop {
                    match get_state(curr) {
                        WAITING => break,
                        EMPTY => match notify.state.compare_exchange(
                            curr,
                            set_state(curr, WAITING),
                            AcqRel,
                            Acquire,
                        ) {
                            Ok(_) => break,
                            // A permit arrived (the only change possible
                            // without the lock).
                            Err(actual) => curr = actual,
                        },
                        _ => match notify.state.compare_exchange(
                            curr,
                            set_state(curr, EMPTY),
                            AcqRel,
                            Acquire,
                        ) {
                            Ok(_) => {
                                *state = State::Done;
                                return Poll::Ready(());
                            }
                            Err(actual) => curr = actual,
                        },
                    }
                }
                // SAFETY: the lock is held and the node is in no list.
                waiter.waker.with_mut(|w| unsafe { *w = waker });
                // SAFETY: the node is pinned inside its future, whose
                // `Drop` unlinks it under this lock before it goes away.
                unsafe { waiters.push_front(NonNull::from(waiter)) };
                *state = State::Waiting;
                Poll::Pending
            }
            State::Waiting => {
                if waiter.notification.load(Acquire) != NOTIFICATION_NONE {
                    // Unlinked and released by a notifier: ours alone now.
                    // SAFETY: no notifier touches the node after storing
                    // `notification` (acquired above).
                    drop(waiter.waker.with_mut(|w| unsafe { (*w).take() }));
                    waiter.notification.store(NOTIFICATION_NONE, Relaxed);
                    *state = State::Done;
                    return Poll::Ready(());
                }
                let mut old_waker = None;
                let mut waiters = lock(&notify.waiters);
                // Notifications are stored under the lock.
                if waiter.notification.load(Acquire) != NOTIFICATION_NONE {
                    // SAFETY: lock held; the node is unlinked.
                    old_waker = waiter.waker.with_mut(|w| unsafe { (*w).take() });
                    waiter.notification.store(NOTIFICATION_NONE, Relaxed);
                    *state = State::Done;
                } else if calls(notify.state.load(Acquire)) != notify_waiters_calls {
                    // A `notify_waiters` is draining a list that holds this
                    // node: leave it, as if already woken.
                    // SAFETY: lock held; the node is in this Notify's list
                    // or a guarded list made from it.
                    unsafe { waiters.remove(NonNull::from(waiter)) };
                    // SAFETY: lock held.
                    old_waker = waiter.waker.with_mut(|w| unsafe { (*w).take() });
                    *state = State::Done;
                } else if let Some(waker) = waker {
                    // SAFETY: lock held.
                    waiter.waker.with_mut(|w| unsafe {
                        match &*w {
                            Some(current) if current.will_wake(waker) => {}
                            _ => old_waker = (*w).replace(waker.clone()),
                        }
                    });
                }
                drop(waiters);
                drop(old_waker);
                if *state == State::Done {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }
        }
    }

    /// Unlinks a dropped future's node; a `notify_one` / `notify_last` it
    /// received but never saw goes to the next waiter.
    fn drop_notified(self) {
        if *self.state != State::Waiting {
            return;
        }
        let notify = self.notify;
        let mut waiters = lock(&notify.waiters);
        let mut curr = notify.state.load(Acquire);
        let notification = self.waiter.notification.load(Relaxed);
        // SAFETY: lock held; the node is in this Notify's list, a guarded
        // list made from it, or none.
        unsafe { waiters.remove(NonNull::from(self.waiter)) };
        if waiters.is_empty() && get_state(curr) == WAITING {
            curr = set_state(curr, EMPTY);
            notify.state.store(curr, Release);
        }
        let strategy = match notification {
            NOTIFICATION_ONE => Strategy::Fifo,
            NOTIFICATION_LAST => Strategy::Lifo,
            _ => return,
        };
        if let Some(waker) = notify_locked(&mut waiters, &notify.state, curr, strategy) {
            drop(waiters);
            waker.wake();
        }
    }
}

impl Notified<'_> {
    /// Adds this future to the list of futures that are ready to receive
    /// wakeups from calls to [`notify_one`].
    ///
    /// Polling the future also adds it to the list, so this method should
    /// only be used if you want to add the future to the list before the
    /// first call to `poll`. (In fact, this method is equivalent to calling
    /// `poll` except that no `Waker` is registered.)
    ///
    /// This has no effect on notifications sent using [`notify_waiters`],
    /// which are received as long as they happen after the creation of the
    /// `Notified` regardless of whether `enable` or `poll` has been called.
    ///
    /// This method returns true if the `Notified` is ready. This happens in
    /// the following situations:
    ///
    ///  1. The `notify_waiters` method was called between the creation of
    ///     the `Notified` and the call to this method.
    ///  2. This is the first call to `enable` or `poll` on this future, and
    ///     the `Notify` was holding a permit from a previous call to
    ///     `notify_one`. The call consumes the permit in that case.
    ///  3. The future has previously been enabled or polled, and it has
    ///     since then been marked ready by either consuming a permit from
    ///     the `Notify`, or by a call to `notify_one` or `notify_waiters`
    ///     that removed it from the list of futures ready to receive
    ///     wakeups.
    ///
    /// If this method returns true, any future calls to poll on the same
    /// future will immediately return `Poll::Ready`.
    ///
    /// [`notify_one`]: Notify::notify_one
    /// [`notify_waiters`]: Notify::notify_waiters
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::Notify;
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let notify = Notify::new();
    /// let notified = notify.notified();
    /// weft::pin!(notified);
    ///
    /// // Registered: the next `notify_one` goes to this future instead of
    /// // being stored as a permit.
    /// assert!(!notified.as_mut().enable());
    /// notify.notify_one();
    /// assert!(notified.as_mut().enable());
    /// notified.await;
    /// # }
    /// ```
    pub fn enable(self: Pin<&mut Self>) -> bool {
        self.parts().poll_notified(None).is_ready()
    }

    fn parts(self: Pin<&mut Self>) -> Parts<'_> {
        // SAFETY: only `waiter` must stay pinned, and it is handed out by
        // shared reference; the other fields are plain data.
        let me = unsafe { self.get_unchecked_mut() };
        Parts {
            notify: me.notify,
            state: &mut me.state,
            notify_waiters_calls: me.notify_waiters_calls,
            waiter: &me.waiter,
        }
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        poll_with_budget(self.parts(), cx)
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        // SAFETY: `self` is dropped in place (never moved again).
        unsafe { Pin::new_unchecked(self) }.parts().drop_notified();
    }
}

impl OwnedNotified {
    /// Adds this future to the list of futures that are ready to receive
    /// wakeups from calls to [`notify_one`](Notify::notify_one).
    ///
    /// See [`Notified::enable`] for more details.
    pub fn enable(self: Pin<&mut Self>) -> bool {
        self.parts().poll_notified(None).is_ready()
    }

    fn parts(self: Pin<&mut Self>) -> Parts<'_> {
        // SAFETY: as in `Notified::parts`.
        let me = unsafe { self.get_unchecked_mut() };
        Parts {
            notify: &me.notify,
            state: &mut me.state,
            notify_waiters_calls: me.notify_waiters_calls,
            waiter: &me.waiter,
        }
    }
}

impl Future for OwnedNotified {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        poll_with_budget(self.parts(), cx)
    }
}

impl Drop for OwnedNotified {
    fn drop(&mut self) {
        // SAFETY: `self` is dropped in place (never moved again).
        unsafe { Pin::new_unchecked(self) }.parts().drop_notified();
    }
}

/// A poll that spends a unit of budget when it completes, and yields
/// (without looking) when the budget is spent.
fn poll_with_budget(parts: Parts<'_>, cx: &mut Context<'_>) -> Poll<()> {
    if *parts.state == State::Done {
        return Poll::Ready(());
    }
    let coop = ready!(coop::proceed(cx));
    ready!(parts.poll_notified(Some(cx.waker())));
    coop.made_progress();
    Poll::Ready(())
}
