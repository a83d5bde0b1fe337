//! The wait list every `weft::sync` primitive queues on: a fair semaphore
//! whose waiters may ask for several permits at once.
//!
//! The permit count lives in one atomic word (shifted left by two; the low
//! bits say "closed" and "someone waits"), so an acquire that finds enough
//! permits, and a release while nobody waits, is a single compare-and-swap
//! that never touches the lock. An acquire that does not
//! takes the lock, drains what is there into its own request and links its
//! node (inside the `Acquire` future: no allocation) at the front of an
//! intrusive list. Released permits go to the oldest waiter first (the back
//! of the list), and reach the counter only when the list is empty: so
//! while anyone waits, the counter is zero and a newcomer queues behind
//! them, and a waiter at the head asking for many permits keeps those
//! behind it waiting (FIFO, as tokio's).
//!
//! A waiter's `needed` word counts the permits it still lacks; releasers
//! lower it under the lock. A releaser that completes a waiter unlinks the
//! node and takes its waker *before* storing `needed = 0` (release): from
//! then on it never touches the node, so the future may see the zero
//! without the lock and finish (or be dropped) at once. A dropped future
//! that is still queued unlinks itself under the lock and hands back the
//! permits it had been given, which may complete the waiters behind it.
//! Wakers are collected under the lock and woken after it is released.

use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{self, AcqRel, Release};

/// `Ordering::Acquire` (the name `Acquire` is the future's).
const ACQUIRE: Ordering = Ordering::Acquire;
use std::task::{ready, Context, Poll, Waker};

use super::linked_list::{Link, List, Pointers, WakeList};
use crate::sys::lock::lock;
use crate::sys::loom::{AtomicUsize, Mutex, MutexGuard, UnsafeCell};
use crate::task::coop;

/// The low-level semaphore (see the module docs).
pub(crate) struct Semaphore {
    /// Available permits `<< PERMIT_SHIFT`, `| CLOSED` once closed,
    /// `| WAITERS` while the wait list is not empty (both bits change only
    /// under the lock). While `WAITERS` is set the count is zero.
    permits: AtomicUsize,
    waiters: Mutex<Waitlist>,
}

struct Waitlist {
    queue: List<Waiter>,
    closed: bool,
}

/// Error returned from the [`Semaphore::try_acquire`] function (and the
/// `try_*` methods of the types built on the semaphore).
///
/// [`Semaphore::try_acquire`]: crate::sync::Semaphore::try_acquire
#[derive(Debug, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore has been [closed] and cannot issue new permits.
    ///
    /// [closed]: crate::sync::Semaphore::close
    Closed,

    /// The semaphore has no available permits.
    NoPermits,
}

/// Error returned from the [`Semaphore::acquire`] function.
///
/// An `acquire` operation can only fail if the semaphore has been
/// [closed].
///
/// [closed]: crate::sync::Semaphore::close
/// [`Semaphore::acquire`]: crate::sync::Semaphore::acquire
#[derive(Debug)]
pub struct AcquireError(());

/// A queue entry: lives inside its [`Acquire`] future.
struct Waiter {
    /// Permits this waiter still lacks. Lowered by releasers under the
    /// lock; read by the future, also without it (a zero means "granted
    /// and unlinked", and nobody touches the node after storing it).
    needed: AtomicUsize,
    /// The task to wake. Accessed only under the lock, or by the future
    /// after it has seen `needed == 0` (the releaser is done with it).
    waker: UnsafeCell<Option<Waker>>,
    pointers: Pointers<Waiter>,
    _pinned: PhantomPinned,
}

// SAFETY: `pointers` is `Waiter`'s own link field, and `Waiter` is `!Unpin`.
unsafe impl Link for Waiter {
    fn pointers(&self) -> &Pointers<Waiter> {
        &self.pointers
    }
}

/// The future returned by [`Semaphore::acquire`]: resolves once `n`
/// permits have been assigned to it (or with an error when the semaphore
/// closes). Dropping it while queued gives back what it had been assigned.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub(crate) struct Acquire<'a> {
    node: Waiter,
    semaphore: &'a Semaphore,
    num_permits: usize,
    /// The node is (or was, until a releaser granted it) in the wait list;
    /// `Drop` must then settle with the semaphore.
    queued: bool,
}

// SAFETY: the node's non-atomic fields (`waker`, `pointers`) are accessed
// only under the wait list's lock, or through `&mut Acquire` once no
// releaser can reach the node any more; a shared `&Acquire` exposes
// nothing.
unsafe impl Sync for Acquire<'_> {}

impl Semaphore {
    /// The most permits a semaphore can hold (three high bits are kept free,
    /// as tokio's).
    pub(crate) const MAX_PERMITS: usize = usize::MAX >> 3;
    const CLOSED: usize = 1;
    /// Someone waits: a release must go through the lock to reach them.
    const WAITERS: usize = 2;
    const PERMIT_SHIFT: u32 = 2;

    /// A semaphore with `permits` permits.
    ///
    /// # Panics
    ///
    /// If `permits` exceeds [`MAX_PERMITS`](Self::MAX_PERMITS).
    #[track_caller]
    pub(crate) fn new(permits: usize) -> Semaphore {
        assert!(
            permits <= Self::MAX_PERMITS,
            "a semaphore may not have more than MAX_PERMITS permits ({})",
            Self::MAX_PERMITS
        );
        Semaphore {
            permits: AtomicUsize::new(permits << Self::PERMIT_SHIFT),
            waiters: Mutex::new(Waitlist {
                queue: List::new(),
                closed: false,
            }),
        }
    }

    /// [`new`](Self::new) in a `const` context (statics).
    #[cfg(not(weft_loom))]
    pub(crate) const fn const_new(permits: usize) -> Semaphore {
        assert!(
            permits <= Self::MAX_PERMITS,
            "a semaphore may not have more than MAX_PERMITS permits"
        );
        Semaphore {
            permits: AtomicUsize::new(permits << Self::PERMIT_SHIFT),
            waiters: Mutex::new(Waitlist {
                queue: List::new(),
                closed: false,
            }),
        }
    }

    /// A closed semaphore with no permits (a `OnceCell` born full).
    pub(crate) fn new_closed() -> Semaphore {
        Semaphore {
            permits: AtomicUsize::new(Self::CLOSED),
            waiters: Mutex::new(Waitlist {
                queue: List::new(),
                closed: true,
            }),
        }
    }

    /// [`new_closed`](Self::new_closed) in a `const` context.
    #[cfg(not(weft_loom))]
    pub(crate) const fn const_new_closed() -> Semaphore {
        Semaphore {
            permits: AtomicUsize::new(Self::CLOSED),
            waiters: Mutex::new(Waitlist {
                queue: List::new(),
                closed: true,
            }),
        }
    }

    /// Permits available right now.
    pub(crate) fn available_permits(&self) -> usize {
        self.permits.load(ACQUIRE) >> Self::PERMIT_SHIFT
    }

    /// Whether [`close`](Self::close) was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.permits.load(ACQUIRE) & Self::CLOSED == Self::CLOSED
    }

    /// Takes `n` permits now, or fails without waiting.
    ///
    /// # Panics
    ///
    /// If `n` exceeds [`MAX_PERMITS`](Self::MAX_PERMITS).
    #[track_caller]
    pub(crate) fn try_acquire(&self, n: usize) -> Result<(), TryAcquireError> {
        assert!(
            n <= Self::MAX_PERMITS,
            "a semaphore may not have more than MAX_PERMITS permits ({})",
            Self::MAX_PERMITS
        );
        let mut curr = self.permits.load(ACQUIRE);
        loop {
            if curr & Self::CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            if curr >> Self::PERMIT_SHIFT < n {
                return Err(TryAcquireError::NoPermits);
            }
            let next = curr - (n << Self::PERMIT_SHIFT);
            match self
                .permits
                .compare_exchange_weak(curr, next, AcqRel, ACQUIRE)
            {
                Ok(_) => return Ok(()),
                Err(actual) => curr = actual,
            }
        }
    }

    /// Waits for `n` permits, in FIFO order with the other waiters.
    ///
    /// # Panics
    ///
    /// If `n` exceeds [`MAX_PERMITS`](Self::MAX_PERMITS).
    #[track_caller]
    pub(crate) fn acquire(&self, n: usize) -> Acquire<'_> {
        assert!(
            n <= Self::MAX_PERMITS,
            "a semaphore may not have more than MAX_PERMITS permits ({})",
            Self::MAX_PERMITS
        );
        Acquire {
            node: Waiter {
                needed: AtomicUsize::new(n),
                waker: UnsafeCell::new(None),
                pointers: Pointers::new(),
                _pinned: PhantomPinned,
            },
            semaphore: self,
            num_permits: n,
            queued: false,
        }
    }

    /// Gives `n` permits back (or adds new ones): to the waiters first,
    /// oldest first, the rest to the counter.
    ///
    /// # Panics
    ///
    /// If the counter would exceed [`MAX_PERMITS`](Self::MAX_PERMITS).
    #[track_caller]
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        // Fast path: nobody waits, so the permits go to the counter with
        // one CAS (which fails if a waiter queues meanwhile).
        let mut curr = self.permits.load(ACQUIRE);
        while curr & Self::WAITERS == 0 && n <= Self::MAX_PERMITS - (curr >> Self::PERMIT_SHIFT) {
            match self.permits.compare_exchange_weak(
                curr,
                curr + (n << Self::PERMIT_SHIFT),
                AcqRel,
                ACQUIRE,
            ) {
                Ok(_) => return,
                Err(actual) => curr = actual,
            }
        }
        // Waiters (or an overflow, which the slow path reports).
        self.release_locked(n, lock(&self.waiters));
    }

    /// Removes up to `n` available permits; returns how many it removed.
    pub(crate) fn forget_permits(&self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let mut curr = self.permits.load(ACQUIRE);
        loop {
            let available = curr >> Self::PERMIT_SHIFT;
            let taken = available.min(n);
            let next = curr - (taken << Self::PERMIT_SHIFT);
            match self
                .permits
                .compare_exchange_weak(curr, next, AcqRel, ACQUIRE)
            {
                Ok(_) => return taken,
                Err(actual) => curr = actual,
            }
        }
    }

    /// Closes the semaphore: no more permits are handed out, and every
    /// waiter (now and later) gets an error.
    pub(crate) fn close(&self) {
        let mut wakers = WakeList::new();
        let mut waiters = lock(&self.waiters);
        // Set the bit under the lock, so that no waiter can queue after
        // seeing it clear but before `closed` is set.
        self.permits.fetch_or(Self::CLOSED, Release);
        waiters.closed = true;
        loop {
            while wakers.can_push() {
                let Some(node) = waiters.queue.pop_back() else {
                    break;
                };
                // SAFETY: a linked node is live (its future unlinks it
                // before going away, under the lock we hold), and its waker
                // is ours to take while we hold the lock.
                if let Some(waker) = unsafe { take_waker(node) } {
                    wakers.push(waker);
                }
            }
            let done = waiters.queue.is_empty();
            if done {
                self.permits.fetch_and(!Self::WAITERS, Release);
            }
            drop(waiters);
            wakers.wake_all();
            if done {
                return;
            }
            waiters = lock(&self.waiters);
        }
    }

    /// Assigns `rem` permits to the waiters, oldest first; what is left
    /// goes to the counter, and `WAITERS` is cleared if the list is (or
    /// became) empty. Wakes the completed waiters with the lock released
    /// (re-taking it every [`WakeList::CAPACITY`] wakers).
    #[track_caller]
    fn release_locked<'a>(&'a self, mut rem: usize, mut waiters: MutexGuard<'a, Waitlist>) {
        let mut wakers = WakeList::new();
        loop {
            while rem > 0 && wakers.can_push() {
                let Some(node) = waiters.queue.back() else {
                    break;
                };
                // SAFETY: a linked node is live, and we hold the lock.
                let waiter = unsafe { node.as_ref() };
                let needed = waiter.needed.load(ACQUIRE);
                if needed > rem {
                    waiter.needed.store(needed - rem, Release);
                    rem = 0;
                    break;
                }
                rem -= needed;
                waiters.queue.pop_back();
                // SAFETY: as above; the node is now unlinked, and we have
                // not yet told its future so.
                if let Some(waker) = unsafe { take_waker(node) } {
                    wakers.push(waker);
                }
                // The last touch: from here the future may finish.
                waiter.needed.store(0, Release);
            }
            if waiters.queue.is_empty() {
                // Nobody waits: the rest goes to the counter. Fast-path
                // releasers may add permits meanwhile (`WAITERS` may be
                // clear), so the overflow check is part of the CAS loop.
                let mut curr = self.permits.load(ACQUIRE);
                loop {
                    let available = curr >> Self::PERMIT_SHIFT;
                    if rem > Self::MAX_PERMITS - available {
                        // Wake whoever was completed before refusing.
                        self.permits.fetch_and(!Self::WAITERS, Release);
                        drop(waiters);
                        wakers.wake_all();
                        panic!(
                            "number of added permits ({rem}) would overflow MAX_PERMITS ({})",
                            Self::MAX_PERMITS
                        );
                    }
                    match self.permits.compare_exchange_weak(
                        curr,
                        (curr & !Self::WAITERS) + (rem << Self::PERMIT_SHIFT),
                        AcqRel,
                        ACQUIRE,
                    ) {
                        Ok(_) => break,
                        Err(actual) => curr = actual,
                    }
                }
                rem = 0;
            }
            drop(waiters);
            wakers.wake_all();
            if rem == 0 {
                return;
            }
            waiters = lock(&self.waiters);
        }
    }

    /// The first poll of an acquire that found too few permits, or any poll
    /// of a queued one: takes the lock and either completes or queues.
    fn poll_acquire_slow(
        &self,
        cx: &mut Context<'_>,
        node: &Waiter,
        queued: bool,
    ) -> Poll<Result<(), AcquireError>> {
        // A first poll clones its waker before it takes any permit (and
        // before the lock): a panicking `clone` then leaves nothing taken
        // and runs no user code under the lock.
        let mut new_waker = (!queued).then(|| cx.waker().clone());
        let mut waiters = lock(&self.waiters);
        if waiters.closed {
            return Poll::Ready(Err(AcquireError::closed()));
        }
        let needed = node.needed.load(ACQUIRE);
        if needed == 0 {
            // Granted between the caller's check and our lock.
            return Poll::Ready(Ok(()));
        }
        let mut old_waker = None;
        if !queued {
            // Drain what the counter has into this request. While anyone
            // waits the counter is zero, so this never jumps the queue.
            let mut curr = self.permits.load(ACQUIRE);
            loop {
                let available = curr >> Self::PERMIT_SHIFT;
                if available >= needed {
                    // Released since the fast path looked: take them all.
                    match self.permits.compare_exchange_weak(
                        curr,
                        curr - (needed << Self::PERMIT_SHIFT),
                        AcqRel,
                        ACQUIRE,
                    ) {
                        Ok(_) => {
                            node.needed.store(0, Release);
                            return Poll::Ready(Ok(()));
                        }
                        Err(actual) => curr = actual,
                    }
                } else {
                    // Take what is there and mark the list non-empty.
                    match self.permits.compare_exchange_weak(
                        curr,
                        (curr & Self::CLOSED) | Self::WAITERS,
                        AcqRel,
                        ACQUIRE,
                    ) {
                        Ok(_) => {
                            node.needed.store(needed - available, Release);
                            break;
                        }
                        Err(actual) => curr = actual,
                    }
                }
            }
            // SAFETY: we hold the lock, and the node is in no list.
            node.waker.with_mut(|w| unsafe { *w = new_waker.take() });
            // SAFETY: the node is pinned inside its `Acquire` future, whose
            // `Drop` unlinks it (under this lock) before it goes away.
            unsafe { waiters.queue.push_front(NonNull::from(node)) };
        } else {
            // SAFETY: we hold the lock, so no releaser is touching the
            // waker.
            node.waker.with_mut(|w| unsafe {
                match &*w {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => old_waker = (*w).replace(cx.waker().clone()),
                }
            });
        }
        drop(waiters);
        drop(old_waker);
        Poll::Pending
    }
}

/// Takes the waker out of a node.
///
/// # Safety
///
/// `node` is live and the caller holds the wait list's lock (or is the
/// node's future after it was granted).
unsafe fn take_waker(node: NonNull<Waiter>) -> Option<Waker> {
    // SAFETY: caller: the node is live.
    let node = unsafe { node.as_ref() };
    node.waker.with_mut(|w| {
        // SAFETY: caller: exclusive access to the node's waker.
        unsafe { (*w).take() }
    })
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("permits", &self.available_permits())
            .finish()
    }
}

impl Acquire<'_> {
    fn project(self: Pin<&mut Self>) -> (&Waiter, &Semaphore, &mut bool) {
        // SAFETY: only `node` must stay pinned, and we hand it out by
        // shared reference only; the other fields are plain data.
        let this = unsafe { self.get_unchecked_mut() };
        (&this.node, this.semaphore, &mut this.queued)
    }
}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let coop = ready!(coop::proceed(cx));
        let (node, semaphore, queued) = self.project();
        let result = if !*queued {
            // Fast path: one CAS when the permits are there.
            let n = node.needed.load(ACQUIRE);
            let mut curr = semaphore.permits.load(ACQUIRE);
            loop {
                if curr & Semaphore::CLOSED != 0 {
                    return Poll::Ready(Err(AcquireError::closed()));
                }
                if curr >> Semaphore::PERMIT_SHIFT < n {
                    let r = semaphore.poll_acquire_slow(cx, node, false);
                    *queued = r.is_pending();
                    break r;
                }
                match semaphore.permits.compare_exchange(
                    curr,
                    curr - (n << Semaphore::PERMIT_SHIFT),
                    AcqRel,
                    ACQUIRE,
                ) {
                    Ok(_) => {
                        node.needed.store(0, Release);
                        break Poll::Ready(Ok(()));
                    }
                    Err(actual) => curr = actual,
                }
            }
        } else if node.needed.load(ACQUIRE) == 0 {
            // Granted and unlinked by a releaser, which is done with the
            // node; the closed check matches a poll that takes the lock.
            if semaphore.is_closed() {
                return Poll::Ready(Err(AcquireError::closed()));
            }
            // (The releaser took the waker before storing the zero.)
            *queued = false;
            Poll::Ready(Ok(()))
        } else {
            let r = semaphore.poll_acquire_slow(cx, node, true);
            if let Poll::Ready(Ok(())) = r {
                *queued = false;
            }
            r
        };
        if result.is_ready() {
            coop.made_progress();
        }
        result
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if !self.queued {
            return;
        }
        let mut waiters = lock(&self.semaphore.waiters);
        // SAFETY: the node is in this semaphore's list or in none, and we
        // hold its lock.
        unsafe { waiters.queue.remove(NonNull::from(&self.node)) };
        let assigned = self.num_permits - self.node.needed.load(ACQUIRE);
        // Hand back what we were given: it may complete the waiters behind
        // us (and clears `WAITERS` if we were the last).
        self.semaphore.release_locked(assigned, waiters);
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("num_permits", &self.num_permits)
            .field("queued", &self.queued)
            .finish()
    }
}

impl AcquireError {
    pub(crate) fn closed() -> AcquireError {
        AcquireError(())
    }
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

impl TryAcquireError {
    /// Whether the semaphore was closed.
    #[allow(dead_code)]
    pub(crate) fn is_closed(&self) -> bool {
        matches!(self, TryAcquireError::Closed)
    }

    /// Whether there were too few permits.
    #[allow(dead_code)]
    pub(crate) fn is_no_permits(&self) -> bool {
        matches!(self, TryAcquireError::NoPermits)
    }
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}
