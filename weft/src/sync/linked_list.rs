//! An intrusive doubly linked list of pinned wait nodes, and a fixed-size
//! batch of wakers to wake once the lock is released.
//!
//! Every `weft::sync` primitive keeps its waiters in one of these: the node
//! lives inside the waiting future (so waiting allocates nothing), is linked
//! in when the future first has to wait and unlinked by whoever holds the
//! primitive's lock — the waker when it grants, the future itself when it is
//! dropped. All list operations happen under that lock; the list itself
//! does no locking.
//!
//! Nodes are pushed at the front and popped from the back, so the back is
//! the oldest waiter (FIFO); [`List::pop_front`] takes the newest (LIFO, for
//! `Notify::notify_last`).
//!
//! [`List::take_guarded`] moves every node into a circular list closed by a
//! guard node that lives on the caller's stack (`notify_waiters` drains it
//! in batches, releasing the lock between them to wake). Nodes in a guarded
//! list always have both neighbours, so [`List::remove`] on the primitive's
//! own list unlinks them too, without touching that list's ends.

use std::cell::UnsafeCell;
use std::marker::PhantomPinned;
use std::ptr::NonNull;
use std::task::Waker;

/// Implemented by node types: where a node keeps its [`Pointers`].
///
/// # Safety
///
/// `pointers` must return the node's own `Pointers` field, and the node
/// type must be `!Unpin`: a node is referenced from the list by address
/// for as long as it is linked.
pub(crate) unsafe trait Link {
    /// The node's link field.
    fn pointers(&self) -> &Pointers<Self>
    where
        Self: Sized;
}

/// A node's links. Read and written only by the holder of the lock that
/// guards the list the node is in.
pub(crate) struct Pointers<T> {
    inner: UnsafeCell<Links<T>>,
    _pinned: PhantomPinned,
}

struct Links<T> {
    prev: Option<NonNull<T>>,
    next: Option<NonNull<T>>,
}

// SAFETY: the links are only touched by the holder of the list's lock, so
// sending or sharing a node across threads never races on them.
unsafe impl<T> Send for Pointers<T> {}
// SAFETY: as for `Send`.
unsafe impl<T> Sync for Pointers<T> {}

impl<T> Pointers<T> {
    pub(crate) const fn new() -> Pointers<T> {
        Pointers {
            inner: UnsafeCell::new(Links {
                prev: None,
                next: None,
            }),
            _pinned: PhantomPinned,
        }
    }
}

impl<T> std::fmt::Debug for Pointers<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pointers")
    }
}

/// The links of the node at `node`.
///
/// # Safety
///
/// `node` points to a live node, and the caller holds the list's lock (no
/// one else reads or writes any links meanwhile).
#[allow(clippy::mut_from_ref)]
unsafe fn links<'a, T: Link>(node: NonNull<T>) -> &'a mut Links<T> {
    // SAFETY: the node is live (caller), and the links are only accessed
    // under the lock the caller holds, so this is the only reference.
    unsafe { &mut *(*node.as_ptr()).pointers().inner.get() }
}

/// The list's ends. `head` is the newest node, `tail` the oldest.
pub(crate) struct List<T: Link> {
    head: Option<NonNull<T>>,
    tail: Option<NonNull<T>>,
}

// SAFETY: the list holds pointers to nodes that are themselves `Send`
// (checked by the primitives that use it) and only touched under a lock.
unsafe impl<T: Link> Send for List<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Link> Sync for List<T> {}

impl<T: Link> List<T> {
    pub(crate) const fn new() -> List<T> {
        List {
            head: None,
            tail: None,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// Links `node` in as the newest.
    ///
    /// # Safety
    ///
    /// `node` is live, pinned, not in any list, and stays live until it is
    /// unlinked (popped or removed); the caller holds the list's lock.
    pub(crate) unsafe fn push_front(&mut self, node: NonNull<T>) {
        // SAFETY: caller: the node is live and we hold the lock.
        let l = unsafe { links(node) };
        l.prev = None;
        l.next = self.head;
        match self.head {
            // SAFETY: linked nodes are live (push_front's contract).
            Some(head) => unsafe { links(head) }.prev = Some(node),
            None => self.tail = Some(node),
        }
        self.head = Some(node);
    }

    /// The oldest node, still linked.
    pub(crate) fn back(&self) -> Option<NonNull<T>> {
        self.tail
    }

    /// Unlinks and returns the oldest node.
    pub(crate) fn pop_back(&mut self) -> Option<NonNull<T>> {
        let node = self.tail?;
        // SAFETY: linked nodes are live and the caller holds the lock
        // (`&mut self` is only reachable through it).
        unsafe { self.remove(node) };
        Some(node)
    }

    /// Unlinks and returns the newest node.
    pub(crate) fn pop_front(&mut self) -> Option<NonNull<T>> {
        let node = self.head?;
        // SAFETY: as in `pop_back`.
        unsafe { self.remove(node) };
        Some(node)
    }

    /// Unlinks `node` if it is in this list or in a guarded list made from
    /// it; returns whether it was linked. A node in no list is left alone.
    ///
    /// # Safety
    ///
    /// `node` is live, is in this list, a guarded list made from it, or no
    /// list; the caller holds the list's lock.
    pub(crate) unsafe fn remove(&mut self, node: NonNull<T>) -> bool {
        // SAFETY: caller: live, and we hold the lock.
        let l = unsafe { links(node) };
        let (prev, next) = (l.prev, l.next);
        if prev.is_none() && self.head != Some(node) {
            // Not linked: a node with no predecessor is linked only as the
            // head of this list (guarded lists have no ends).
            return false;
        }
        match prev {
            // SAFETY: neighbours of a linked node are live.
            Some(p) => unsafe { links(p) }.next = next,
            None => self.head = next,
        }
        match next {
            // SAFETY: as above.
            Some(n) => unsafe { links(n) }.prev = prev,
            None => self.tail = prev,
        }
        l.prev = None;
        l.next = None;
        true
    }

    /// Moves every node into a circular list closed by `guard`, leaving
    /// this list empty.
    ///
    /// # Safety
    ///
    /// `guard` is live, pinned, in no list, and outlives the returned list's
    /// use (the caller empties it, under the lock, before `guard` goes);
    /// the caller holds the lock.
    pub(crate) unsafe fn take_guarded(&mut self, guard: NonNull<T>) -> GuardedList<T> {
        let g = {
            // SAFETY: caller: live, lock held.
            unsafe { links(guard) }
        };
        match (self.head.take(), self.tail.take()) {
            (Some(head), Some(tail)) => {
                g.next = Some(head);
                g.prev = Some(tail);
                // SAFETY: linked nodes are live; lock held.
                unsafe { links(head) }.prev = Some(guard);
                // SAFETY: as above.
                unsafe { links(tail) }.next = Some(guard);
            }
            _ => {
                g.next = Some(guard);
                g.prev = Some(guard);
            }
        }
        GuardedList { guard }
    }
}

impl<T: Link> std::fmt::Debug for List<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("List")
            .field("empty", &self.is_empty())
            .finish()
    }
}

/// A circular list closed by a guard node (see [`List::take_guarded`]).
pub(crate) struct GuardedList<T: Link> {
    guard: NonNull<T>,
}

impl<T: Link> GuardedList<T> {
    /// Unlinks and returns the oldest node, or `None` when only the guard
    /// is left.
    ///
    /// # Safety
    ///
    /// The caller holds the lock of the list this one was made from, and
    /// the guard is live.
    pub(crate) unsafe fn pop_back(&mut self) -> Option<NonNull<T>> {
        // SAFETY: caller: the guard is live and we hold the lock.
        let g = unsafe { links(self.guard) };
        let last = g.prev.expect("a guarded list is circular");
        if last == self.guard {
            return None;
        }
        // SAFETY: linked nodes are live; lock held.
        let l = unsafe { links(last) };
        let before = l.prev.expect("a guarded list is circular");
        g.prev = Some(before);
        // SAFETY: as above (`before` may be the guard itself).
        unsafe { links(before) }.next = Some(self.guard);
        l.prev = None;
        l.next = None;
        Some(last)
    }
}

/// Up to [`WakeList::CAPACITY`] wakers collected under a lock, woken after
/// it is released. A waker that panics in `wake` drops the rest unwoken
/// and the panic propagates: the waiters already taken off their list stay
/// off it, but the caller's loop stops, so waiters it had not reached yet
/// (a `close` past the first batch) are not woken, and permits a release
/// had not handed out yet are lost, as in tokio.
pub(crate) struct WakeList {
    wakers: [Option<Waker>; WakeList::CAPACITY],
    len: usize,
}

impl WakeList {
    pub(crate) const CAPACITY: usize = 32;

    pub(crate) fn new() -> WakeList {
        WakeList {
            wakers: [const { None }; WakeList::CAPACITY],
            len: 0,
        }
    }

    pub(crate) fn can_push(&self) -> bool {
        self.len < WakeList::CAPACITY
    }

    pub(crate) fn push(&mut self, waker: Waker) {
        self.wakers[self.len] = Some(waker);
        self.len += 1;
    }

    pub(crate) fn wake_all(&mut self) {
        let len = std::mem::take(&mut self.len);
        for slot in &mut self.wakers[..len] {
            if let Some(waker) = slot.take() {
                waker.wake();
            }
        }
    }
}
