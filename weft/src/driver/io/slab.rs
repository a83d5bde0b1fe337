//! The readiness slab: one slot per registered file descriptor.
//!
//! A slot's state is one `AtomicU64`, so the driver and the task that owns the
//! resource agree on readiness without a lock:
//!
//! ```text
//! | readiness 8 | tick 24 | generation 32 |   (low bits first)
//! ```
//!
//! * **readiness** — what the kernel last reported (see [`Ready`]).
//! * **tick** — the driver turn that last set readiness. An operation that hit
//!   `WouldBlock` clears only the readiness it observed *at that tick*, so an
//!   event that arrived in between is never erased. 24 bits: a clear would
//!   wrongly match only if its thread stalled for exactly a multiple of
//!   16,777,216 driver turns between the observation and the clear.
//! * **generation** — bumped each time the slot is released. It is part of the
//!   epoll token, so an event that was already in flight for a closed fd is
//!   dropped instead of waking whoever owns the slot (and maybe the same fd
//!   number) now.
//!
//! Slots live in fixed pages that are never moved or freed while the driver
//! lives, so a registration keeps a reference to its page and touches its slot
//! without going through the allocator's lock.

use std::io;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{AcqRel, Acquire};
use std::sync::{Arc, Mutex, OnceLock};

use super::ready::Ready;
use super::waiter::Waiter;
use crate::sys::lock::lock;

/// A bit field inside the slot state word.
#[derive(Clone, Copy)]
struct Field {
    shift: u32,
    width: u32,
}

impl Field {
    const fn low(width: u32) -> Field {
        Field { shift: 0, width }
    }
    const fn next(self, width: u32) -> Field {
        Field {
            shift: self.shift + self.width,
            width,
        }
    }
    const fn mask(self) -> u64 {
        ((1u64 << self.width) - 1) << self.shift
    }
    const fn get(self, word: u64) -> u64 {
        (word & self.mask()) >> self.shift
    }
    const fn set(self, word: u64, value: u64) -> u64 {
        (word & !self.mask()) | ((value << self.shift) & self.mask())
    }
}

const READY: Field = Field::low(8);
const TICK: Field = READY.next(24);
const GENERATION: Field = TICK.next(32);

/// Slots per page. Pages are allocated on first use.
const PAGE_SIZE: usize = 512;
/// Pages the slab can hold: 2,097,152 registrations in all, more than the
/// file-descriptor limit of any ordinary process.
const MAX_PAGES: usize = 4096;
/// Slots in all: every slot index is below this (a backend may use the
/// index's higher bits of a token as flags).
pub(super) const MAX_SLOTS: usize = PAGE_SIZE * MAX_PAGES;

/// Readiness as a driver tick saw it; returned by `Slot::poll_ready` and
/// handed back to `Slot::clear` after a `WouldBlock`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyEvent {
    pub(crate) ready: Ready,
    tick: u32,
}

impl ReadyEvent {
    /// The same observation restricted to `mask` (what a clear may erase).
    pub(crate) fn only(self, mask: Ready) -> ReadyEvent {
        ReadyEvent {
            ready: self.ready & mask,
            tick: self.tick,
        }
    }
}

/// What happened when the driver offered an event to a slot.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Dispatch {
    /// The slot took the event; these bits were not set before it. Only
    /// they can end a wait: a waiter registers only after seeing its bits
    /// clear, and a clear that races a newer event fails on the tick.
    Applied(Ready),
    /// The event was for an older generation of this slot; it was dropped.
    Stale,
}

/// One registered resource's readiness and its two waiters.
pub(crate) struct Slot {
    state: AtomicU64,
    /// The task waiting for read-side readiness (readable, read-closed, error).
    pub(crate) reader: Waiter,
    /// The task waiting for write-side readiness (writable, write-closed, error).
    pub(crate) writer: Waiter,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            state: AtomicU64::new(0),
            reader: Waiter::new(),
            writer: Waiter::new(),
        }
    }

    /// Current readiness restricted to `mask`, with the tick it was set at.
    pub(crate) fn readiness(&self, mask: Ready) -> ReadyEvent {
        let state = self.state.load(Acquire);
        ReadyEvent {
            ready: Ready::from_bits(READY.get(state) as u8) & mask,
            tick: TICK.get(state) as u32,
        }
    }

    /// Records readiness reported by the kernel at driver turn `tick`, if the
    /// event belongs to the slot's current `generation`.
    pub(crate) fn set_readiness(&self, generation: u32, ready: Ready, tick: u32) -> Dispatch {
        let mut current = self.state.load(Acquire);
        loop {
            if GENERATION.get(current) as u32 != generation {
                return Dispatch::Stale;
            }
            let bits = READY.get(current) as u8 | ready.bits();
            let next = TICK.set(READY.set(current, u64::from(bits)), u64::from(tick));
            match self
                .state
                .compare_exchange_weak(current, next, AcqRel, Acquire)
            {
                Ok(_) => {
                    let before = READY.get(current) as u8;
                    return Dispatch::Applied(Ready::from_bits(ready.bits() & !before));
                }
                Err(actual) => current = actual,
            }
        }
    }

    /// Clears the readiness in `event` (never the closed or error bits) unless
    /// the driver has set readiness again since `event` was observed.
    pub(crate) fn clear(&self, event: ReadyEvent) {
        let clearable = event.ready & Ready::CLEARABLE;
        let mut current = self.state.load(Acquire);
        loop {
            if TICK.get(current) as u32 != event.tick {
                return;
            }
            let bits = READY.get(current) as u8 & !clearable.bits();
            let next = READY.set(current, u64::from(bits));
            if next == current {
                return;
            }
            match self
                .state
                .compare_exchange_weak(current, next, AcqRel, Acquire)
            {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    fn generation(&self) -> u32 {
        GENERATION.get(self.state.load(Acquire)) as u32
    }

    /// Empties the slot for its next owner: a new generation, no readiness, no
    /// waiters.
    fn reset(&self) {
        let mut current = self.state.load(Acquire);
        loop {
            let generation = (GENERATION.get(current) + 1) & GENERATION.mask() >> GENERATION.shift;
            let next = GENERATION.set(0, generation);
            match self
                .state
                .compare_exchange_weak(current, next, AcqRel, Acquire)
            {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        drop(self.reader.take());
        drop(self.writer.take());
    }
}

/// A claim on one slot, held by a registration until it is released.
pub(crate) struct SlotRef {
    page: Arc<[Slot]>,
    offset: usize,
    /// Index of the slot in the whole slab.
    pub(crate) index: u32,
    /// The slot's generation while this claim holds it.
    pub(crate) generation: u32,
}

impl SlotRef {
    pub(crate) fn slot(&self) -> &Slot {
        &self.page[self.offset]
    }

    /// The epoll token for this claim: generation above, index below.
    pub(crate) fn token(&self) -> u64 {
        encode_token(self.index, self.generation)
    }
}

pub(crate) fn encode_token(index: u32, generation: u32) -> u64 {
    (u64::from(generation) << 32) | u64::from(index)
}

pub(crate) fn decode_token(token: u64) -> (u32, u32) {
    (token as u32, (token >> 32) as u32)
}

struct FreeList {
    /// Released slots, reused last-in first-out (their pages are warm).
    free: Vec<u32>,
    /// Slots below this index have been handed out at least once.
    next_unused: usize,
}

/// All slots of one driver.
pub(crate) struct Slab {
    pages: Box<[OnceLock<Arc<[Slot]>>]>,
    free: Mutex<FreeList>,
}

impl Slab {
    pub(crate) fn new() -> Slab {
        Slab {
            pages: (0..MAX_PAGES).map(|_| OnceLock::new()).collect(),
            free: Mutex::new(FreeList {
                free: Vec::new(),
                next_unused: 0,
            }),
        }
    }

    fn page(&self, page: usize) -> &Arc<[Slot]> {
        self.pages[page].get_or_init(|| (0..PAGE_SIZE).map(|_| Slot::new()).collect())
    }

    /// Claims a free slot.
    pub(crate) fn allocate(&self) -> io::Result<SlotRef> {
        let index = {
            let mut list = lock(&self.free);
            match list.free.pop() {
                Some(index) => index as usize,
                None if list.next_unused < PAGE_SIZE * MAX_PAGES => {
                    list.next_unused += 1;
                    list.next_unused - 1
                }
                None => {
                    return Err(io::Error::other(format!(
                        "weft's I/O driver is full: {} resources are registered at once",
                        PAGE_SIZE * MAX_PAGES
                    )))
                }
            }
        };
        let page = Arc::clone(self.page(index / PAGE_SIZE));
        let offset = index % PAGE_SIZE;
        let generation = page[offset].generation();
        Ok(SlotRef {
            page,
            offset,
            index: index as u32,
            generation,
        })
    }

    /// Returns a slot for reuse. Any event still in flight for it carries the
    /// old generation and will be dropped as stale.
    pub(crate) fn release(&self, slot: &SlotRef) {
        slot.slot().reset();
        let mut list = lock(&self.free);
        list.free.push(slot.index);
    }

    /// The slot at `index`, if its page exists.
    pub(crate) fn get(&self, index: u32) -> Option<&Slot> {
        let index = index as usize;
        self.pages
            .get(index / PAGE_SIZE)?
            .get()
            .map(|page| &page[index % PAGE_SIZE])
    }

    /// Calls `f` on every slot that was ever handed out.
    pub(crate) fn for_each<'a>(&'a self, mut f: impl FnMut(&'a Slot)) {
        for page in self.pages.iter().map_while(|p| p.get()) {
            page.iter().for_each(&mut f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_do_not_overlap() {
        assert_eq!(READY.mask() & TICK.mask(), 0);
        assert_eq!(TICK.mask() & GENERATION.mask(), 0);
        assert_eq!(GENERATION.shift + GENERATION.width, 64);
        let word = GENERATION.set(TICK.set(READY.set(0, 0xff), 0xff_ffff), 0xdead_beef);
        assert_eq!(READY.get(word), 0xff);
        assert_eq!(TICK.get(word), 0xff_ffff);
        // A driver tick past 24 bits wraps within the field.
        assert_eq!(TICK.get(TICK.set(0, 0x100_0001)), 1);
        assert_eq!(GENERATION.get(word), 0xdead_beef);
    }

    #[test]
    fn token_round_trips() {
        assert_eq!(decode_token(encode_token(7, 9)), (7, 9));
        assert_eq!(
            decode_token(encode_token(u32::MAX, u32::MAX)),
            (u32::MAX, u32::MAX)
        );
    }

    #[test]
    fn clear_keeps_newer_readiness() {
        let slab = Slab::new();
        let slot = slab.allocate().unwrap();
        let s = slot.slot();
        assert!(matches!(
            s.set_readiness(slot.generation, Ready::READABLE, 1),
            Dispatch::Applied(_)
        ));
        let seen = s.readiness(Ready::READ_INTEREST);
        assert!(seen.ready.is_readable());
        // A new event arrives at tick 2 before the WouldBlock is handled.
        assert!(matches!(
            s.set_readiness(slot.generation, Ready::READABLE, 2),
            Dispatch::Applied(_)
        ));
        s.clear(seen);
        assert!(
            s.readiness(Ready::READ_INTEREST).ready.is_readable(),
            "newer event was erased"
        );
        // Cleared at the right tick it goes away, but read-closed stays.
        assert!(matches!(
            s.set_readiness(slot.generation, Ready::READ_CLOSED, 2),
            Dispatch::Applied(_)
        ));
        s.clear(s.readiness(Ready::READ_INTEREST));
        let after = s.readiness(Ready::READ_INTEREST).ready;
        assert!(!after.is_readable());
        assert!(after.is_read_closed());
    }

    #[test]
    fn only_newly_set_bits_are_reported() {
        let slab = Slab::new();
        let slot = slab.allocate().unwrap();
        let s = slot.slot();
        let both = Ready::READABLE | Ready::WRITABLE;
        assert_eq!(
            s.set_readiness(slot.generation, both, 1),
            Dispatch::Applied(both)
        );
        // Still writable, newly readable again after a clear.
        s.clear(s.readiness(Ready::READ_INTEREST));
        assert_eq!(
            s.set_readiness(slot.generation, both, 2),
            Dispatch::Applied(Ready::READABLE)
        );
        assert_eq!(
            s.set_readiness(slot.generation, both, 3),
            Dispatch::Applied(Ready::EMPTY)
        );
    }

    #[test]
    fn released_slot_drops_stale_events() {
        let slab = Slab::new();
        let old = slab.allocate().unwrap();
        let old_token = old.token();
        slab.release(&old);
        let new = slab.allocate().unwrap();
        assert_eq!(new.index, old.index, "slot is reused");
        assert_ne!(new.token(), old_token);
        let (index, generation) = decode_token(old_token);
        let slot = slab.get(index).unwrap();
        assert_eq!(
            slot.set_readiness(generation, Ready::READABLE, 1),
            Dispatch::Stale
        );
        assert!(new.slot().readiness(Ready::ALL).ready.is_empty());
    }

    mod model {
        //! The slab over random register / deregister / event / reuse
        //! sequences: an event carrying an old token never reaches the slot's
        //! next owner, and a new owner starts with no readiness.
        use super::super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Op {
            Register,
            /// Deregister the n-th live registration.
            Deregister(usize),
            /// Deliver an event for the n-th token ever issued.
            Event(usize, u8),
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                3 => Just(Op::Register),
                2 => any::<usize>().prop_map(Op::Deregister),
                4 => (any::<usize>(), 1u8..16).prop_map(|(n, bits)| Op::Event(n, bits)),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn stale_events_never_reach_a_later_generation(ops in proptest::collection::vec(op(), 1..200)) {
                let slab = Slab::new();
                let mut live: Vec<SlotRef> = Vec::new();
                // Every token ever issued, and whether it is still live.
                let mut issued: Vec<(u64, bool)> = Vec::new();
                let mut tick = 0u32;
                for op in ops {
                    match op {
                        Op::Register => {
                            let slot = slab.allocate().unwrap();
                            prop_assert!(
                                slot.slot().readiness(Ready::ALL).ready.is_empty(),
                                "a reused slot starts with no readiness"
                            );
                            issued.push((slot.token(), true));
                            live.push(slot);
                        }
                        Op::Deregister(_) if live.is_empty() => {}
                        Op::Deregister(n) => {
                            let slot = live.swap_remove(n % live.len());
                            let token = slot.token();
                            slab.release(&slot);
                            issued.iter_mut().filter(|(t, _)| *t == token).for_each(|e| e.1 = false);
                        }
                        Op::Event(_, _) if issued.is_empty() => {}
                        Op::Event(n, bits) => {
                            let (token, is_live) = issued[n % issued.len()];
                            let (index, generation) = decode_token(token);
                            tick = tick.wrapping_add(1);
                            let ready = Ready::from_bits(bits) & Ready::ALL;
                            let slot = slab.get(index).expect("issued slots exist");
                            match slot.set_readiness(generation, ready, tick) {
                                Dispatch::Stale => prop_assert!(!is_live, "a live token's event was dropped"),
                                Dispatch::Applied(_) => {
                                    prop_assert!(is_live, "a stale token's event reached the slot");
                                    prop_assert_eq!(slot.readiness(ready).ready.bits(), ready.bits());
                                }
                            }
                        }
                    }
                }
                for slot in &live {
                    slab.release(slot);
                }
            }
        }
    }
}
