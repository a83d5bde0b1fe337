//! The provided buffer ring an owned ring receives into ([`Pool`]).
//!
//! `count` buffers of `SIZE` bytes, and the ring of entries through which
//! the kernel takes them: a receive that selects a buffer takes the entry
//! at the ring's head; a buffer goes back with a userspace store of an
//! entry at the tail and of the tail itself (no syscall). Any thread may
//! give a buffer back (under the pool's lock); the kernel only reads the
//! entries between its head and the published tail.
//!
//! Sizes. A ring's first pool has two buffers per TCP stream registered
//! when a receive first needs one (at least `MIN_COUNT`); a receive that
//! finds none (`ENOBUFS`, no error: the reader reads the socket directly)
//! makes the next receive take a pool twice as large (up to `MAX_COUNT`),
//! a new buffer group, while the old pool keeps serving the buffers it
//! lent. Only a waiting read holds a buffer, so this follows the number of
//! readers, not of bytes in flight.
//!
//! Lifetime. A received chunk holds its pool (`Arc`), so the memory stays
//! while any chunk points into it. The backend lets go of a ring's pools
//! only after the ring is closed (a new driving thread's ring, or the
//! driver's drop). The kernel writes into a buffer
//! only while it runs a receive in the owner thread's completion work
//! (`DEFER_TASKRUN`), which needs the ring open: once the ring's file is
//! closed no receive is issued again. A completion-work item still queued
//! then runs in a kernel thread, where the kernel fails it instead of
//! issuing it, from Linux 6.13 on; before 6.13 it could run later on the
//! owner thread, so streams read through the ring only from 6.13
//! (`probe::ring_reads`).

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::io;
use std::sync::atomic::{AtomicU16, Ordering::Release};
use std::sync::Mutex;

use io_uring::{types::BufRingEntry, IoUring};

use crate::sys::lock::lock;

/// Bytes per buffer: what one receive delivers at most.
pub(crate) const SIZE: usize = 4096;
/// Buffers in a ring's first pool (a power of two): 2 MiB, or two per TCP
/// stream registered when it is made, if more. A receive finding none
/// completes with `ENOBUFS`, which is no error (the reader reads the
/// socket directly then), and makes the next pool twice as large.
pub(crate) const MIN_COUNT: u16 = 512;
/// The largest pool: 32 MiB. Past it, `ENOBUFS` only falls back.
pub(crate) const MAX_COUNT: u16 = 8192;
const _: () = assert!(
    std::mem::size_of::<BufRingEntry>() == 16,
    "the kernel's io_uring_buf: addr u64, len u32, bid u16, resv/tail u16"
);

/// The ring's memory: entries and buffers, allocated once.
struct Memory {
    entries: *mut BufRingEntry,
    bufs: *mut u8,
    count: u16,
}

/// A provided buffer ring (see the module's docs).
pub(crate) struct Pool {
    memory: Memory,
    /// Buffers (a power of two).
    count: u16,
    /// The buffer group its receives select from.
    group: u16,
    /// The tail not yet published (`publish` writes it where the kernel
    /// reads it); held while an entry is written.
    tail: Mutex<u16>,
}

// SAFETY: `Memory`'s pointers are to allocations the pool owns; the entries
// are written only under `tail`'s lock, and a buffer is read only by the
// holder of the chunk the kernel filled it for (`Chunk` in `recv.rs`).
unsafe impl Send for Pool {}
// SAFETY: as for `Send`: every shared access goes through `tail`'s lock or
// a chunk's exclusive claim on its buffer.
unsafe impl Sync for Pool {}

fn entries_layout(count: u16) -> Layout {
    // Page-aligned, as the kernel requires of a buffer ring.
    Layout::from_size_align(count as usize * std::mem::size_of::<BufRingEntry>(), 4096)
        .expect("a valid layout")
}

fn bufs_layout(count: u16) -> Layout {
    Layout::from_size_align(count as usize * SIZE, 4096).expect("a valid layout")
}

impl Pool {
    /// A pool of `count` buffers (a power of two, from `MIN_COUNT` to
    /// `MAX_COUNT`), all in its ring, registered with `ring` as buffer
    /// group `group`.
    pub(crate) fn new(ring: &IoUring, count: u16, group: u16) -> io::Result<Pool> {
        assert!(count.is_power_of_two() && (MIN_COUNT..=MAX_COUNT).contains(&count));
        // SAFETY: both layouts have a non-zero size.
        let (entries, bufs) = unsafe {
            (
                alloc_zeroed(entries_layout(count)),
                alloc_zeroed(bufs_layout(count)),
            )
        };
        let pool = Pool {
            memory: Memory {
                entries: entries.cast(),
                bufs,
                count,
            },
            count,
            group,
            tail: Mutex::new(0),
        };
        if entries.is_null() || bufs.is_null() {
            return Err(io::ErrorKind::OutOfMemory.into());
        }
        {
            let mut tail = lock(&pool.tail);
            for bid in 0..count {
                pool.put(&mut tail, bid);
            }
            pool.publish(*tail);
        }
        // SAFETY: the entries are a page-aligned array of `count` entries,
        // alive as long as the pool, which outlives the ring's use of them
        // (see the module's docs).
        unsafe {
            ring.submitter().register_buf_ring_with_flags(
                pool.memory.entries as u64,
                count,
                group,
                0,
            )?;
        }
        Ok(pool)
    }

    /// How many buffers it has.
    pub(crate) fn count(&self) -> u16 {
        self.count
    }

    /// The buffer group its receives select from.
    pub(crate) fn group(&self) -> u16 {
        self.group
    }

    /// The first `len` bytes of buffer `bid`, which a receive filled.
    ///
    /// # Safety
    ///
    /// The caller holds the completion that handed buffer `bid` out, and
    /// has not given it back; `len` is at most that completion's result.
    pub(crate) unsafe fn bytes(&self, bid: u16, len: usize) -> &[u8] {
        debug_assert!(bid < self.count && len <= SIZE);
        // SAFETY: (the caller's contract) the kernel wrote these bytes and
        // does not touch the buffer until it is given back.
        unsafe { std::slice::from_raw_parts(self.memory.bufs.add(bid as usize * SIZE), len) }
    }

    /// Gives buffer `bid` back to the ring.
    pub(crate) fn give(&self, bid: u16) {
        let mut tail = lock(&self.tail);
        self.put(&mut tail, bid);
        self.publish(*tail);
    }

    /// Writes the entry for `bid` at the tail and moves the tail on
    /// (unpublished).
    fn put(&self, tail: &mut u16, bid: u16) {
        let slot = (*tail & (self.count - 1)) as usize;
        // `bid < count` (every bid comes from a completion of this pool,
        // the group its `user_data` names, or from `new`): the buffer lies
        // inside the allocation.
        let addr = self.memory.bufs as u64 + u64::from(bid) * SIZE as u64;
        // The entry at `slot < count` lies past the published tail, so the
        // kernel reads none of the fields written (`addr` at 0, `len` at 8,
        // `bid` at 12 of its 16-byte `io_uring_buf`); the tail (at 14 of the
        // first entry) is left alone, written only by `publish`; raw writes,
        // so no reference covers it; `tail`'s lock is held.
        // SAFETY: so these writes are in bounds and race with nothing.
        unsafe {
            let entry = self.memory.entries.add(slot).cast::<u8>();
            entry.cast::<u64>().write(addr);
            entry.add(8).cast::<u32>().write(SIZE as u32);
            entry.add(12).cast::<u16>().write(bid);
        }
        *tail = tail.wrapping_add(1);
    }

    /// Publishes `tail`: the entries before it are the kernel's to take.
    fn publish(&self, tail: u16) {
        // SAFETY: the tail field of the ring's first entry, a `u16` the
        // kernel reads with acquire ordering; we write it only under
        // `tail`'s lock.
        let shared = unsafe { &*(BufRingEntry::tail(self.memory.entries).cast::<AtomicU16>()) };
        shared.store(tail, Release);
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        // SAFETY: allocated in `Pool::new` with these layouts (a null one
        // was never allocated).
        unsafe {
            if !self.entries.is_null() {
                dealloc(self.entries.cast(), entries_layout(self.count));
            }
            if !self.bufs.is_null() {
                dealloc(self.bufs, bufs_layout(self.count));
            }
        }
    }
}
