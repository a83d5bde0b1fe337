//! The channel's store: a linked list of [`Block`]s, many senders at the
//! tail, one receiver at the head, no locks.
//!
//! **Claiming.** The tail word is `index << 1 | closed`. A sender claims a
//! slot with one `fetch_add(2)`, which also tells it whether the receiver
//! closed the channel (an unbounded send then fails, and its claimed index
//! is never used: the receiver knows where the closed channel ends). No
//! other counter exists: the number of queued messages is the tail index
//! minus the receiver's index.
//!
//! **Finding the block.** Senders start from `tail_block`, a hint that is
//! at or before the block of every unwritten claimed slot, and walk `next`
//! pointers; a missing block is allocated (or taken from the spares) and
//! linked with a CAS by whoever needs it first, sender or receiver, so
//! nobody ever waits for another thread to grow the list. The hint only
//! moves past *full* blocks (every slot written), so no sender still looking
//! for its slot can be left behind it.
//!
//! **Reusing blocks.** A sender that moves the hint past a block reads the
//! tail index with a `fetch_add(0)` and stores it in the block
//! (`release`). Any sender that may still hold the old hint claimed its
//! index before that read (a later claim acquires it and so sees the moved
//! hint), so once the receiver has read every index below the recorded
//! one, no sender touches the block again and the receiver recycles it into
//! a small pool of spares. A message costs no allocation in a steady stream;
//! a burst allocates blocks, and the pool keeps a few for the next one.

use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

use super::block::{offset_of, start_of, Block, BLOCK_CAP};
use crate::sys::loom::{AtomicPtr, AtomicUsize};

/// Blocks kept for reuse.
const SPARES: usize = 4;

/// `a <= b` for indices that may wrap around `usize`.
fn wrapping_le(a: usize, b: usize) -> bool {
    b.wrapping_sub(a) as isize >= 0
}

/// The senders' half, shared by all of them (and read by the receiver).
pub(super) struct Tx<T> {
    /// `next index << 1 | closed`.
    tail: AtomicUsize,
    /// A block at or before the block of every claimed, unwritten slot.
    tail_block: AtomicPtr<Block<T>>,
    /// Emptied blocks waiting to be linked in again.
    spares: [AtomicPtr<Block<T>>; SPARES],
}

/// The receiver's half; only the receiver touches it.
pub(super) struct Rx<T> {
    /// The block holding `index`, or the one before it when `index` is the
    /// first slot of a block not linked yet.
    head: NonNull<Block<T>>,
    /// The next index to read.
    index: usize,
    /// The oldest block not yet recycled (`head` or before it).
    free_head: NonNull<Block<T>>,
    /// Where a closed channel ends: the tail index when the receiver closed
    /// it. No send succeeds at or after it.
    closed_at: Option<usize>,
}

/// A fresh list: one block, shared by both halves.
pub(super) fn list<T>() -> (Tx<T>, Rx<T>) {
    let first = Block::alloc(0);
    let tx = Tx {
        tail: AtomicUsize::new(0),
        tail_block: AtomicPtr::new(first.as_ptr()),
        spares: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
    };
    let rx = Rx {
        head: first,
        index: 0,
        free_head: first,
        closed_at: None,
    };
    (tx, rx)
}

impl<T> Tx<T> {
    /// Appends `value` even if the receiver closed the list (a bounded
    /// channel's permit was taken before). Returns true if the receiver was
    /// waiting for this slot and must be woken.
    pub(super) fn push(&self, value: T) -> bool {
        let index = self.tail.fetch_add(2, AcqRel) >> 1;
        self.write(index, value)
    }

    /// Appends `value` unless the receiver closed the list. `Ok(true)`: the
    /// receiver must be woken.
    pub(super) fn try_push(&self, value: T) -> Result<bool, T> {
        let tail = self.tail.fetch_add(2, AcqRel);
        if tail & 1 != 0 {
            // The index is left unused: the receiver stops before it.
            return Err(value);
        }
        Ok(self.write(tail >> 1, value))
    }

    fn write(&self, index: usize, value: T) -> bool {
        let block = self.find_block(index);
        // The write's one atomic step (ready bit and `RX_WAITING` together) is
        // this sender's last touch of the block.
        // SAFETY: `index` was claimed by this sender alone, and its block stays
        // alive until the slot is written and read.
        unsafe { block.as_ref().write(offset_of(index), value) }
    }

    /// Marks the list closed; returns where it ends.
    pub(super) fn close(&self) -> usize {
        self.tail.fetch_or(1, AcqRel) >> 1
    }

    /// The receiver closed the list.
    pub(super) fn is_closed(&self) -> bool {
        self.tail.load(Acquire) & 1 != 0
    }

    fn tail_index(&self) -> usize {
        self.tail.load(Acquire) >> 1
    }

    /// The block for the claimed, unwritten `index`.
    fn find_block(&self, index: usize) -> NonNull<Block<T>> {
        let start = start_of(index);
        let mut current = self.tail_block.load(Acquire);
        // The hint may follow us only past full blocks, the first ones.
        let mut advance = true;
        loop {
            // The hint is at or before our block, which cannot be recycled
            // while our slot is unwritten (see the module docs).
            // SAFETY: `current` is the hint or a block linked after it, and
            // none of those is recycled while our slot is unwritten.
            let block = unsafe { &*current };
            if block.start() == start {
                // SAFETY: `current` is never null (the hint and linked blocks).
                return unsafe { NonNull::new_unchecked(current) };
            }
            let next = self.next_or_grow(block);
            advance = advance && block.is_full();
            if advance {
                if self
                    .tail_block
                    .compare_exchange(current, next.as_ptr(), Release, Relaxed)
                    .is_ok()
                {
                    // The `fetch_add(0)` (not a load) is ordered with every
                    // claim: a claim after it acquires the moved hint.
                    let tail = self.tail.fetch_add(0, Release) >> 1;
                    block.release(tail);
                } else {
                    advance = false;
                }
            }
            current = next.as_ptr();
        }
    }

    /// The block after `block`, linking one in if there is none yet.
    fn next_or_grow(&self, block: &Block<T>) -> NonNull<Block<T>> {
        if let Some(next) = block.next() {
            return next;
        }
        let start = block.start().wrapping_add(BLOCK_CAP);
        let fresh = self.take_spare().unwrap_or_else(|| Block::alloc(start));
        // SAFETY: `fresh` is ours alone until linked.
        unsafe { fresh.as_ref() }.set_start(start);
        match block.try_link(fresh) {
            Ok(()) => fresh,
            Err(winner) => {
                // SAFETY: the link failed, so `fresh` is still ours alone.
                unsafe { self.put_spare(fresh) };
                winner
            }
        }
    }

    fn take_spare(&self) -> Option<NonNull<Block<T>>> {
        self.spares.iter().find_map(|spare| {
            if spare.load(Relaxed).is_null() {
                return None;
            }
            NonNull::new(spare.swap(ptr::null_mut(), Acquire))
        })
    }

    /// Keeps an unlinked block for reuse, or frees it if the pool is full.
    ///
    /// # Safety
    ///
    /// Nobody else can reach `block`, and it holds no value.
    unsafe fn put_spare(&self, block: NonNull<Block<T>>) {
        // SAFETY: the caller owns it.
        unsafe { block.as_ref() }.reset();
        for spare in &self.spares {
            if spare
                .compare_exchange(ptr::null_mut(), block.as_ptr(), Release, Relaxed)
                .is_ok()
            {
                return;
            }
        }
        // SAFETY: the caller's guarantee.
        unsafe { Block::free(block) };
    }
}

impl<T> Drop for Tx<T> {
    fn drop(&mut self) {
        for spare in &self.spares {
            if let Some(block) = NonNull::new(spare.swap(ptr::null_mut(), Acquire)) {
                // SAFETY: a spare is linked nowhere and holds no value.
                unsafe { Block::free(block) };
            }
        }
    }
}

/// What the receiver found at its index.
pub(super) enum Pop<T> {
    Value(T),
    /// Nothing written there yet.
    Empty,
    /// The receiver closed the list and read everything before its end.
    Ended,
}

impl<T> Rx<T> {
    /// Takes the next value if it was written.
    pub(super) fn pop(&mut self, tx: &Tx<T>) -> Pop<T> {
        if self.closed_at == Some(self.index) {
            return Pop::Ended;
        }
        let Some(block) = self.head_block(tx, false) else {
            return Pop::Empty;
        };
        let offset = offset_of(self.index);
        // SAFETY: the receiver never recycles its head block.
        let block = unsafe { block.as_ref() };
        if !block.is_ready(offset) {
            return Pop::Empty;
        }
        self.index = self.index.wrapping_add(1);
        // SAFETY: the slot is ready and this receiver reads each index once.
        Pop::Value(unsafe { block.read(offset) })
    }

    /// The receiver is going to sleep: asks the sender of the next slot to
    /// wake it. Returns true if that slot was written meanwhile (do not
    /// sleep, pop again).
    pub(super) fn wait(&mut self, tx: &Tx<T>) -> bool {
        let Some(block) = self.head_block(tx, true) else {
            unreachable!("the head block is grown on demand");
        };
        // SAFETY: the receiver never recycles its head block.
        unsafe { block.as_ref() }.wait_for(offset_of(self.index))
    }

    /// Moves `head` to the block of `index`, linking it if `grow` (the
    /// receiver must be able to wait on it); `None` if it is not linked yet
    /// and `grow` is false.
    fn head_block(&mut self, tx: &Tx<T>, grow: bool) -> Option<NonNull<Block<T>>> {
        let start = start_of(self.index);
        // SAFETY: the receiver's blocks from `free_head` on are alive.
        let head = unsafe { self.head.as_ref() };
        if head.start() == start {
            return Some(self.head);
        }
        // `index` just left `head`: its block is the next one.
        let next = match head.next() {
            Some(next) => next,
            None if grow => tx.next_or_grow(head),
            None => return None,
        };
        self.head = next;
        self.recycle(tx);
        Some(next)
    }

    /// Hands the blocks before `head` that no sender can touch any more
    /// back to the senders.
    fn recycle(&mut self, tx: &Tx<T>) {
        while self.free_head != self.head {
            // SAFETY: blocks from `free_head` on are alive and ours to free
            // once released.
            let block = unsafe { self.free_head.as_ref() };
            match block.observed_tail() {
                Some(tail) if wrapping_le(tail, self.index) => {}
                _ => return,
            }
            let next = block.next().expect("a block before the head is linked");
            let done = std::mem::replace(&mut self.free_head, next);
            // SAFETY: every index of the block was read and every sender
            // that could reach it is done (its observed tail is behind us),
            // so nobody else can reach it.
            unsafe { tx.put_spare(done) };
        }
    }

    /// Closes the list (no `try_push` succeeds after this) and remembers
    /// where it ends.
    pub(super) fn close(&mut self, tx: &Tx<T>) {
        if self.closed_at.is_none() {
            self.closed_at = Some(tx.close());
        }
    }

    /// The number of claimed slots not read yet (a slot being written
    /// counts).
    pub(super) fn len(&self, tx: &Tx<T>) -> usize {
        let end = self.closed_at.unwrap_or_else(|| tx.tail_index());
        end.wrapping_sub(self.index)
    }

    /// Whether some sender claimed the next slot (it may still be writing).
    pub(super) fn is_claimed(&self, tx: &Tx<T>) -> bool {
        self.len(tx) != 0
    }

    /// Drops every written value still queued and frees every block.
    ///
    /// # Safety
    ///
    /// Called once, when the channel goes away: no sender can touch the
    /// list any more.
    pub(super) unsafe fn free_all(&mut self, tx: &Tx<T>) {
        while let Pop::Value(value) = self.pop(tx) {
            drop(value);
        }
        let mut block = Some(self.free_head);
        while let Some(current) = block {
            // SAFETY: the chain from `free_head` is ours alone now.
            block = unsafe { current.as_ref() }.next();
            // SAFETY: no value is left in it (popped above, or never written).
            unsafe { Block::free(current) };
        }
    }
}

impl<T> std::fmt::Debug for Rx<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rx")
            .field("index", &self.index)
            .field("closed_at", &self.closed_at)
            .finish()
    }
}

impl<T> std::fmt::Debug for Tx<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tail = self.tail.load(Relaxed);
        f.debug_struct("Tx")
            .field("tail", &(tail >> 1))
            .field("closed", &(tail & 1 != 0))
            .finish()
    }
}
