//! A channel that keeps only the latest value: many senders, many
//! receivers, each receiver told when the value changes. For a
//! configuration, a state, a shutdown flag.
//!
//! [`channel(init)`](channel) makes a [`Sender`] and a [`Receiver`]. Each
//! receiver remembers which version of the value it has *seen*:
//!
//! - [`Receiver::borrow_and_update`] reads the current value and marks it
//!   seen; [`Receiver::borrow`] reads it without marking.
//! - [`Receiver::changed`] completes at once if the current value is
//!   unseen, else waits for a send (or for every sender to go), and marks
//!   the new value seen. It fails only when the channel is closed *and*
//!   the current value was seen. [`Receiver::has_changed`] asks without
//!   waiting or marking, and fails as soon as the channel is closed.
//! - The initial value, and the value current when a receiver is made by
//!   [`Sender::subscribe`] or `clone`, count as seen.
//!
//! In a `changed` loop, read with `borrow_and_update`, so a value sent
//! between `changed` completing and the read is not seen twice.
//!
//! ```
//! use weft::sync::watch;
//!
//! # #[weft::main(flavor = "current_thread")]
//! # async fn main() {
//! let (tx, mut rx) = watch::channel("starting");
//! let watcher = weft::spawn(async move {
//!     let mut seen = vec![*rx.borrow_and_update()];
//!     while rx.changed().await.is_ok() {
//!         seen.push(*rx.borrow_and_update());
//!     }
//!     seen
//! });
//! weft::task::yield_now().await;
//! tx.send("running").unwrap();
//! weft::task::yield_now().await;
//! drop(tx);
//! assert_eq!(watcher.await.unwrap(), ["starting", "running"]);
//! # }
//! ```
//!
//! # Closing
//!
//! [`Sender::is_closed`] and [`Sender::closed`] tell a producer that every
//! receiver is gone. The value itself lives until the last handle of
//! either kind is dropped.
//!
//! # How it works
//!
//! The value sits behind a read-write lock; a state word holds a version
//! (bumped by each send while the write lock is held, so a reader under the
//! read lock sees the version of the value it reads) and a closed bit.
//! Receivers wait on a [`Notify`], which every send
//! and the last sender's drop notify.

use std::fmt;
use std::mem;
use std::ops;
use std::panic;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::Arc;

use crate::sync::Notify;
use crate::sys::lock::{read, write};
use crate::sys::loom::{AtomicUsize, RwLock, RwLockReadGuard};
use crate::task::coop::cooperative;

/// The errors of watch channels (tokio's types and `Display` texts).
pub mod error {
    use std::error::Error;
    use std::fmt;

    /// Nobody would see the value: every receiver is gone. Holds the value.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::watch::channel(0);
    /// drop(rx);
    /// assert_eq!(tx.send(1).unwrap_err().0, 1);
    /// ```
    #[derive(PartialEq, Eq, Clone, Copy)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SendError").finish_non_exhaustive()
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl<T> Error for SendError<T> {}

    /// Every sender is gone (and, for `changed`, the current value was
    /// seen).
    #[derive(Debug, Clone)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl Error for RecvError {}
}

use self::error::{RecvError, SendError};

/// The closed bit of the state word; versions step by 2 above it.
const CLOSED: usize = 1;
const STEP: usize = 2;

/// Sends new values to the [`Receiver`]s; cheap to clone. Made by
/// [`channel`] or [`Sender::new`].
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// Reads the latest value and waits for changes; clone it for another
/// watcher (the clone has seen what this one has). Made by [`channel`],
/// [`Sender::subscribe`] or `clone`.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The version this receiver has seen (without the closed bit).
    version: usize,
}

/// A read-locked view of the value, from `borrow` and friends: holding it
/// blocks senders (and may deadlock a thread that sends while holding
/// one), so keep it short and never across an `.await`.
pub struct Ref<'a, T> {
    inner: RwLockReadGuard<'a, T>,
    has_changed: bool,
}

struct Shared<T> {
    value: RwLock<T>,
    /// `version | CLOSED`; the version changes only under the write lock.
    state: AtomicUsize,
    ref_count_rx: AtomicUsize,
    ref_count_tx: AtomicUsize,
    /// Receivers waiting in `changed`.
    notify_rx: Notify,
    /// Senders waiting in `closed`.
    notify_tx: Notify,
}

/// Creates a watch channel holding `init`, with one sender and one
/// receiver.
///
/// ```
/// let (tx, rx) = weft::sync::watch::channel(1);
/// tx.send(2).unwrap();
/// assert_eq!(*rx.borrow(), 2);
/// ```
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(init),
        state: AtomicUsize::new(0),
        ref_count_rx: AtomicUsize::new(1),
        ref_count_tx: AtomicUsize::new(1),
        notify_rx: Notify::new(),
        notify_tx: Notify::new(),
    });
    (
        Sender {
            shared: Arc::clone(&shared),
        },
        Receiver { shared, version: 0 },
    )
}

impl<T> Shared<T> {
    fn state(&self) -> usize {
        self.state.load(Acquire)
    }

    /// The value and whether it is newer than `seen`; the version read under
    /// the read lock is the one of the value read.
    fn read(&self, seen: usize) -> (RwLockReadGuard<'_, T>, usize, bool) {
        let inner = read(&self.value);
        let version = self.state() & !CLOSED;
        (inner, version, version != seen)
    }
}

impl<'a, T> Ref<'a, T> {
    /// Whether the value was unseen by the receiver when borrowed (always
    /// false from [`Sender::borrow`] and for a value already seen).
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::watch::channel(0);
    /// tx.send(1).unwrap();
    /// assert!(rx.borrow_and_update().has_changed());
    /// assert!(!rx.borrow_and_update().has_changed());
    /// ```
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> ops::Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T> Receiver<T> {
    fn from_shared(version: usize, shared: Arc<Shared<T>>) -> Self {
        shared.ref_count_rx.fetch_add(1, Relaxed);
        Receiver { shared, version }
    }

    /// The current value, without marking it seen. The [`Ref`] holds a read
    /// lock: keep it short.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::watch::channel("a");
    /// tx.send("b").unwrap();
    /// let current = rx.borrow();
    /// assert_eq!(*current, "b");
    /// assert!(current.has_changed());
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        let (inner, _, has_changed) = self.shared.read(self.version);
        Ref { inner, has_changed }
    }

    /// The current value, marking it seen.
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::watch::channel(0);
    /// tx.send(5).unwrap();
    /// assert_eq!(*rx.borrow_and_update(), 5);
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let (inner, version, has_changed) = self.shared.read(self.version);
        self.version = version;
        Ref { inner, has_changed }
    }

    /// Whether the current value is unseen; fails once every sender is
    /// gone (even if it is unseen: [`changed`](Self::changed) would still
    /// return it). Marks nothing.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::watch::channel(0);
    /// assert!(!rx.has_changed().unwrap());
    /// tx.send(1).unwrap();
    /// assert!(rx.has_changed().unwrap());
    /// drop(tx);
    /// assert!(rx.has_changed().is_err());
    /// ```
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let state = self.shared.state();
        if state & CLOSED != 0 {
            return Err(RecvError(()));
        }
        Ok(state & !CLOSED != self.version)
    }

    /// Whether every sender is gone.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::watch::channel(());
    /// assert!(!rx.is_closed());
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.state() & CLOSED != 0
    }

    /// Marks the current value unseen: `has_changed` is then true and
    /// `changed` completes at once (to treat the value a new receiver
    /// starts with as news, say).
    pub fn mark_changed(&mut self) {
        self.version = self.version.wrapping_sub(STEP);
    }

    /// Marks the current value seen without reading it.
    pub fn mark_unchanged(&mut self) {
        self.version = self.shared.state() & !CLOSED;
    }

    /// Waits until the value is unseen (at once if it already is) and
    /// marks it seen; then read it with
    /// [`borrow_and_update`](Self::borrow_and_update). Fails once every
    /// sender is gone and the current value was seen.
    ///
    /// Cancel safe. Spends a unit of the task's
    /// [budget](crate::task::coop) when it completes.
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, mut rx) = weft::sync::watch::channel(0);
    /// weft::spawn(async move { tx.send(1).unwrap() });
    /// rx.changed().await.unwrap();
    /// assert_eq!(*rx.borrow_and_update(), 1);
    /// assert!(rx.changed().await.is_err()); // the sender is gone
    /// # }
    /// ```
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        cooperative(changed(&self.shared, &mut self.version)).await
    }

    /// Waits until the value satisfies `f`, checking the current value
    /// first (seen or not) and then each new one; returns it (marked seen)
    /// under a read lock. Fails if every sender goes before a value
    /// satisfies `f`. A panic in `f` is passed on after the lock is
    /// released.
    ///
    /// Cancel safe. Spends a unit of the task's budget when it completes.
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, mut rx) = weft::sync::watch::channel(0);
    /// weft::spawn(async move {
    ///     for i in 1..=5 {
    ///         tx.send(i).unwrap();
    ///         weft::task::yield_now().await;
    ///     }
    /// });
    /// let value = rx.wait_for(|v| *v >= 3).await.unwrap();
    /// assert!(*value >= 3);
    /// # }
    /// ```
    pub async fn wait_for(&mut self, f: impl FnMut(&T) -> bool) -> Result<Ref<'_, T>, RecvError> {
        cooperative(self.wait_for_inner(f)).await
    }

    async fn wait_for_inner(
        &mut self,
        mut f: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        let mut closed = false;
        loop {
            {
                let (inner, version, has_changed) = self.shared.read(self.version);
                self.version = version;
                // After the close, only a value not yet checked is worth
                // checking.
                if !closed || has_changed {
                    match panic::catch_unwind(panic::AssertUnwindSafe(|| f(&inner))) {
                        Ok(true) => return Ok(Ref { inner, has_changed }),
                        Ok(false) => {}
                        Err(panicked) => {
                            drop(inner);
                            panic::resume_unwind(panicked);
                        }
                    }
                }
            }
            if closed {
                return Err(RecvError(()));
            }
            closed = changed(&self.shared, &mut self.version).await.is_err();
        }
    }

    /// Whether both receivers watch the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

/// `changed`'s check: a newer version (marked seen), or the close.
fn check<T>(shared: &Shared<T>, version: &mut usize) -> Option<Result<(), RecvError>> {
    let state = shared.state();
    let current = state & !CLOSED;
    if current != *version {
        *version = current;
        return Some(Ok(()));
    }
    if state & CLOSED != 0 {
        return Some(Err(RecvError(())));
    }
    None
}

async fn changed<T>(shared: &Shared<T>, version: &mut usize) -> Result<(), RecvError> {
    loop {
        // Ask for the notification first, then look: a send in between
        // is then not missed.
        let notified = shared.notify_rx.notified();
        if let Some(result) = check(shared, version) {
            return result;
        }
        notified.await;
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver::from_shared(self.version, Arc::clone(&self.shared))
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if self.shared.ref_count_rx.fetch_sub(1, AcqRel) == 1 {
            self.shared.notify_tx.notify_waiters();
        }
    }
}

impl<T> Sender<T> {
    /// A sender holding `init`, with no receiver yet
    /// ([`subscribe`](Self::subscribe) makes them).
    ///
    /// ```
    /// let tx = weft::sync::watch::Sender::new(0);
    /// assert!(tx.is_closed());
    /// let rx = tx.subscribe();
    /// tx.send(1).unwrap();
    /// assert_eq!(*rx.borrow(), 1);
    /// ```
    pub fn new(init: T) -> Self {
        let (tx, _) = channel(init);
        tx
    }

    /// Replaces the value and notifies the receivers; fails (giving the
    /// value back, and changing nothing) if there is no receiver. Use
    /// [`send_replace`](Self::send_replace) to update the value anyway.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::watch::channel(0);
    /// tx.send(1).unwrap();
    /// drop(rx);
    /// assert!(tx.send(2).is_err());
    /// assert_eq!(*tx.borrow(), 1);
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.receiver_count() == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Modifies the value in place (under the write lock) and notifies the
    /// receivers, with or without receivers. A panic in `modify` is passed
    /// on, and the receivers are then not notified.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::watch::channel(vec![1]);
    /// tx.send_modify(|v| v.push(2));
    /// assert_eq!(*rx.borrow(), [1, 2]);
    /// ```
    pub fn send_modify<F>(&self, modify: F)
    where
        F: FnOnce(&mut T),
    {
        self.send_if_modified(|value| {
            modify(value);
            true
        });
    }

    /// Modifies the value in place; if `modify` returns true, notifies the
    /// receivers (and returns true). A `false` must mean the value was not
    /// changed: receivers are not told. A panic in `modify` is passed on
    /// (the lock released, nobody notified).
    ///
    /// ```
    /// let (tx, rx) = weft::sync::watch::channel(0);
    /// assert!(!tx.send_if_modified(|v| *v == 1));
    /// assert!(!rx.has_changed().unwrap());
    /// assert!(tx.send_if_modified(|v| {
    ///     *v = 1;
    ///     true
    /// }));
    /// assert!(rx.has_changed().unwrap());
    /// ```
    pub fn send_if_modified<F>(&self, modify: F) -> bool
    where
        F: FnOnce(&mut T) -> bool,
    {
        {
            let mut value = write(&self.shared.value);
            match panic::catch_unwind(panic::AssertUnwindSafe(|| modify(&mut value))) {
                Ok(true) => {}
                Ok(false) => return false,
                Err(panicked) => {
                    // Released before unwinding on: the lock stays usable.
                    drop(value);
                    panic::resume_unwind(panicked);
                }
            }
            // Under the write lock: a reader sees the version of the value
            // it reads.
            self.shared.state.fetch_add(STEP, Release);
        }
        self.shared.notify_rx.notify_waiters();
        true
    }

    /// Replaces the value (with or without receivers), notifies the
    /// receivers and returns the old value.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::watch::channel(1);
    /// assert_eq!(tx.send_replace(2), 1);
    /// ```
    pub fn send_replace(&self, mut value: T) -> T {
        self.send_modify(|old| mem::swap(old, &mut value));
        value
    }

    /// The current value (its `has_changed` is always false). Holds a read
    /// lock: do not send while holding it.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            inner: read(&self.shared.value),
            has_changed: false,
        }
    }

    /// Whether every receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Completes once every receiver is gone. Spends a unit of the task's
    /// budget when it completes.
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = weft::sync::watch::channel(());
    /// weft::spawn(async move { drop(rx) });
    /// tx.closed().await;
    /// assert!(tx.is_closed());
    /// # }
    /// ```
    pub async fn closed(&self) {
        cooperative(async {
            while self.receiver_count() > 0 {
                let notified = self.shared.notify_tx.notified();
                if self.receiver_count() == 0 {
                    return;
                }
                notified.await;
            }
        })
        .await
    }

    /// A new receiver, which counts the current value as seen.
    ///
    /// ```
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, _rx) = weft::sync::watch::channel(0);
    /// let mut rx2 = tx.subscribe();
    /// assert!(!rx2.has_changed().unwrap());
    /// tx.send(1).unwrap();
    /// rx2.changed().await.unwrap();
    /// # }
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        let version = self.shared.state() & !CLOSED;
        Receiver::from_shared(version, Arc::clone(&self.shared))
    }

    /// The number of live receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.ref_count_rx.load(Relaxed)
    }

    /// The number of live senders.
    pub fn sender_count(&self) -> usize {
        self.shared.ref_count_tx.load(Relaxed)
    }

    /// Whether both senders send to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.ref_count_tx.fetch_add(1, Relaxed);
        Sender {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T: Default> Default for Sender<T> {
    /// [`Sender::new`] with `T::default()`.
    fn default() -> Self {
        Sender::new(T::default())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.ref_count_tx.fetch_sub(1, AcqRel) == 1 {
            self.shared.state.fetch_or(CLOSED, Release);
            self.shared.notify_rx.notify_waiters();
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.load(Relaxed);
        f.debug_struct("Shared")
            .field("value", &self.value)
            .field("version", &(state & !CLOSED))
            .field("is_closed", &(state & CLOSED != 0))
            .field("ref_count_rx", &self.ref_count_rx)
            .finish()
    }
}

/// As tokio's (a derive there): `T: Debug` is required.
impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("shared", &self.shared)
            .finish()
    }
}

/// As tokio's (a derive there): `T: Debug` is required.
impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("shared", &self.shared)
            .field("version", &self.version)
            .finish()
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ref")
            .field("inner", &*self.inner)
            .field("has_changed", &self.has_changed)
            .finish()
    }
}
