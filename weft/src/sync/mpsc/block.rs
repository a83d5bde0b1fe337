//! One block of the channel's list: [`BLOCK_CAP`] message slots and one
//! state word.
//!
//! The state word holds a ready bit per slot (set by the sender that wrote
//! the slot), the receiver's [`RX_WAITING`] flag and the senders'
//! [`RELEASED`] flag. The receiver waits on the block that holds the slot it
//! wants next by setting `RX_WAITING` in that block's word, and a sender that
//! sets a ready bit sees the flag in the same read-modify-write: the two
//! sides meet on one word, so neither needs a fence, and a send into a
//! channel whose receiver is busy costs no more than that one `fetch_or`.

use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

use crate::sys::loom::{AtomicPtr, AtomicUsize, UnsafeCell};

/// Slots per block: a power of two, and smaller than the bits of `usize`
/// minus the two flags.
#[cfg(all(target_pointer_width = "64", not(weft_loom)))]
pub(super) const BLOCK_CAP: usize = 32;
#[cfg(all(not(target_pointer_width = "64"), not(weft_loom)))]
pub(super) const BLOCK_CAP: usize = 16;
/// Small blocks under loom, so a model crosses a block boundary in a few
/// sends.
#[cfg(weft_loom)]
pub(super) const BLOCK_CAP: usize = 2;

const SLOT_MASK: usize = BLOCK_CAP - 1;
/// Every slot's ready bit.
const ALL_READY: usize = (1 << BLOCK_CAP) - 1;
/// The receiver waits for a slot of this block: the sender that next sets a
/// ready bit here clears the flag and wakes it.
const RX_WAITING: usize = 1 << BLOCK_CAP;
/// Senders moved the tail hint past this block (it was full) and stored the
/// tail index they saw then in `observed_tail`; see `list.rs`.
const RELEASED: usize = 1 << (BLOCK_CAP + 1);

/// The first index of the block holding `index`.
#[inline]
pub(super) fn start_of(index: usize) -> usize {
    index & !SLOT_MASK
}

/// The slot of `index` within its block.
#[inline]
pub(super) fn offset_of(index: usize) -> usize {
    index & SLOT_MASK
}

pub(super) struct Block<T> {
    /// The index of slot 0. Set by whoever links the block in, before it is
    /// published (the `next` CAS releases it); constant while linked.
    start: AtomicUsize,
    /// The following block, or null.
    next: AtomicPtr<Block<T>>,
    /// Ready bits, `RX_WAITING`, `RELEASED`.
    state: AtomicUsize,
    /// The tail index seen after the tail hint moved past this block; read
    /// only after `RELEASED` was seen (acquire), written before it (release).
    observed_tail: AtomicUsize,
    slots: [UnsafeCell<MaybeUninit<T>>; BLOCK_CAP],
}

impl<T> Block<T> {
    /// Allocates an empty, unlinked block starting at `start`.
    pub(super) fn alloc(start: usize) -> NonNull<Block<T>> {
        let mut block = Box::<Block<T>>::new_uninit();
        let raw = block.as_mut_ptr();
        // SAFETY: `raw` points to the fresh allocation; each header field is
        // written once, through a raw field pointer (no reference to the
        // uninitialised whole is made).
        unsafe {
            ptr::addr_of_mut!((*raw).start).write(AtomicUsize::new(start));
            ptr::addr_of_mut!((*raw).next).write(AtomicPtr::new(ptr::null_mut()));
            ptr::addr_of_mut!((*raw).state).write(AtomicUsize::new(0));
            ptr::addr_of_mut!((*raw).observed_tail).write(AtomicUsize::new(0));
        }
        // Outside loom the slots need no initialisation: an
        // `UnsafeCell<MaybeUninit<T>>` may hold any bytes. Loom's cell
        // tracks accesses, so it must be constructed.
        #[cfg(weft_loom)]
        for i in 0..BLOCK_CAP {
            // SAFETY: as above, a raw pointer to one slot of the allocation.
            unsafe {
                ptr::addr_of_mut!((*raw).slots[i]).write(UnsafeCell::new(MaybeUninit::uninit()));
            }
        }
        // SAFETY: every field is initialised (the slots need none, see above).
        let block = unsafe { block.assume_init() };
        NonNull::from(Box::leak(block))
    }

    /// Frees a block made by [`alloc`](Self::alloc).
    ///
    /// # Safety
    ///
    /// Nobody else can reach `block` any more, and its slots hold no value
    /// (or only values already moved out).
    pub(super) unsafe fn free(block: NonNull<Block<T>>) {
        // SAFETY: the block came from `Box::leak` in `alloc`, and the caller
        // guarantees exclusive ownership. `MaybeUninit` slots drop nothing.
        drop(unsafe { Box::from_raw(block.as_ptr()) });
    }

    /// Makes a block taken out of the list fit for reuse (unlinked, no
    /// ready bits). The caller owns it alone.
    pub(super) fn reset(&self) {
        self.next.store(ptr::null_mut(), Relaxed);
        self.state.store(0, Relaxed);
        self.observed_tail.store(0, Relaxed);
    }

    pub(super) fn start(&self) -> usize {
        self.start.load(Relaxed)
    }

    pub(super) fn set_start(&self, start: usize) {
        self.start.store(start, Relaxed);
    }

    /// The following block, if linked.
    pub(super) fn next(&self) -> Option<NonNull<Block<T>>> {
        NonNull::new(self.next.load(Acquire))
    }

    /// Links `block` after this one unless another block got there first;
    /// returns the block that is next now (`Err` carries the winner, and
    /// `block` stays the caller's).
    pub(super) fn try_link(&self, block: NonNull<Block<T>>) -> Result<(), NonNull<Block<T>>> {
        match self
            .next
            .compare_exchange(ptr::null_mut(), block.as_ptr(), AcqRel, Acquire)
        {
            Ok(_) => Ok(()),
            Err(winner) => {
                // SAFETY: the CAS from null failed, so `winner` is not null.
                Err(unsafe { NonNull::new_unchecked(winner) })
            }
        }
    }

    /// Writes `value` into slot `offset` and marks it ready. Returns true if
    /// the receiver was waiting on this block and this sender must wake it.
    ///
    /// # Safety
    ///
    /// The caller claimed slot `offset` of this block (it is the only
    /// writer, and nobody reads it before the ready bit).
    pub(super) unsafe fn write(&self, offset: usize, value: T) -> bool {
        self.slots[offset].with_mut(|slot| {
            // SAFETY: the caller owns the slot until its ready bit is set.
            unsafe { (*slot).write(value) };
        });
        // One atomic step sets the ready bit and takes `RX_WAITING`: it is
        // this sender's last touch of the block. (A second step after the
        // bit was published could land on a block the receiver has read
        // to the end and recycled meanwhile.) Release: the receiver that
        // sees the bit sees the value.
        let mut curr = self.state.load(Relaxed);
        loop {
            let next = (curr | (1 << offset)) & !RX_WAITING;
            match self
                .state
                .compare_exchange_weak(curr, next, AcqRel, Relaxed)
            {
                Ok(_) => return curr & RX_WAITING != 0,
                Err(actual) => curr = actual,
            }
        }
    }

    /// Clears `RX_WAITING`; true if this call cleared it (the caller wakes
    /// the receiver: exactly one of several racing senders does).
    fn take_waiting(&self) -> bool {
        self.state.fetch_and(!RX_WAITING, AcqRel) & RX_WAITING != 0
    }

    /// Whether slot `offset` holds a value (acquire: its write is visible).
    pub(super) fn is_ready(&self, offset: usize) -> bool {
        self.state.load(Acquire) & (1 << offset) != 0
    }

    /// The receiver is about to sleep until slot `offset` is written: sets
    /// `RX_WAITING`. Returns true if the slot became ready meanwhile (then
    /// nobody will wake the receiver for it, and the flag is taken back).
    pub(super) fn wait_for(&self, offset: usize) -> bool {
        let prev = self.state.fetch_or(RX_WAITING, AcqRel);
        if prev & (1 << offset) != 0 {
            // A later sender into this block would wake the receiver for
            // nothing; take the flag back (if it already did, the receiver
            // gets one spurious wake).
            self.take_waiting();
            return true;
        }
        false
    }

    /// Moves the value out of slot `offset`.
    ///
    /// # Safety
    ///
    /// [`is_ready(offset)`](Self::is_ready) returned true, and the value
    /// was not read before.
    pub(super) unsafe fn read(&self, offset: usize) -> T {
        self.slots[offset].with(|slot| {
            // SAFETY: the ready bit (acquired) says the slot was written; the
            // caller reads it once.
            unsafe { (*slot).assume_init_read() }
        })
    }

    /// Every slot was written.
    pub(super) fn is_full(&self) -> bool {
        self.state.load(Acquire) & ALL_READY == ALL_READY
    }

    /// The tail hint moved past this block; `tail` is the tail index read
    /// after that. The last access of the senders' side to this block.
    pub(super) fn release(&self, tail: usize) {
        self.observed_tail.store(tail, Relaxed);
        self.state.fetch_or(RELEASED, Release);
    }

    /// The tail index recorded by [`release`](Self::release), if released.
    pub(super) fn observed_tail(&self) -> Option<usize> {
        if self.state.load(Acquire) & RELEASED == 0 {
            return None;
        }
        Some(self.observed_tail.load(Relaxed))
    }
}
