//! A worker's run queue: a fixed ring its owner pushes to and pops from, and
//! other workers steal half of.
//!
//! `head` packs two positions: the *real* head (the next item to pop) and the
//! *steal* head (the first item a stealer is still copying out; equal to the
//! real head when no steal is in flight). A stealer claims items by moving
//! the real head alone, copies them, then moves the steal head up to it. The
//! owner's capacity check counts from the steal head, so it never overwrites
//! a slot that is still being copied; and only one steal runs at a time.
//!
//! Positions are `u32`s that wrap; the buffer index is `position & MASK`.

use std::mem::MaybeUninit;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::Arc;

use crate::sys::loom::{AtomicU32, AtomicU64, UnsafeCell};

/// Slots in the ring. Small under loom so the models reach "full".
#[cfg(not(weft_loom))]
pub(crate) const CAPACITY: usize = 256;
#[cfg(weft_loom)]
pub(crate) const CAPACITY: usize = 4;

const MASK: u32 = CAPACITY as u32 - 1;

struct Inner<T> {
    /// `steal << 32 | real`.
    head: AtomicU64,
    /// Written only by the owner.
    tail: AtomicU32,
    /// A fixed-size array: the masked index needs no bounds check.
    buffer: Box<[UnsafeCell<MaybeUninit<T>>; CAPACITY]>,
}

// SAFETY: items move between threads (owner to stealer) and are never shared:
// each slot is read by exactly one thread, after the head CAS that gave that
// thread the slot, and written only by the owner while no claim covers it.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: shared access (`&Inner`) reaches a slot only after a head CAS gave
// this thread that slot (stealers) or while no claim covers it (the owner),
// so no two threads ever touch one slot at once; the items are `Send`.
unsafe impl<T: Send> Sync for Inner<T> {}

/// The owner's end: push and pop. Not `Clone`: one owner.
pub(crate) struct Local<T> {
    inner: Arc<Inner<T>>,
}

/// The other workers' end: steal half.
pub(crate) struct Steal<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for Steal<T> {
    fn clone(&self) -> Self {
        Steal {
            inner: Arc::clone(&self.inner),
        }
    }
}

fn unpack(head: u64) -> (u32, u32) {
    ((head >> 32) as u32, head as u32)
}

fn pack(steal: u32, real: u32) -> u64 {
    (u64::from(steal) << 32) | u64::from(real)
}

/// A new queue: the owner's end and the stealers' end.
pub(crate) fn new<T>() -> (Local<T>, Steal<T>) {
    let buffer: Box<[UnsafeCell<MaybeUninit<T>>]> = (0..CAPACITY)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect();
    let Ok(buffer) = buffer.try_into() else {
        unreachable!("the buffer has CAPACITY slots");
    };
    let inner = Arc::new(Inner {
        head: AtomicU64::new(0),
        tail: AtomicU32::new(0),
        buffer,
    });
    (
        Local {
            inner: Arc::clone(&inner),
        },
        Steal { inner },
    )
}

impl<T> Inner<T> {
    /// Moves the item out of slot `position`.
    ///
    /// # Safety
    ///
    /// The caller owns the slot: it claimed it with a head CAS (or is the
    /// owner and no claim covers it), and the slot holds an item.
    unsafe fn take(&self, position: u32) -> T {
        self.buffer[(position & MASK) as usize]
            // SAFETY: per the caller's contract, no other thread touches
            // this slot now and it is initialised.
            .with(|slot| unsafe { (*slot).assume_init_read() })
    }

    /// Writes `item` into slot `position`.
    ///
    /// # Safety
    ///
    /// The caller is the owner (or a stealer writing into its own queue, of
    /// which it is the owner), and the slot is outside `[steal, tail)`.
    unsafe fn put(&self, position: u32, item: T) {
        self.buffer[(position & MASK) as usize]
            // SAFETY: per the caller's contract, no other thread reads this
            // slot until a later `tail` store publishes it.
            .with_mut(|slot| unsafe { (*slot).write(item) });
    }

    fn len(&self) -> usize {
        let (_, real) = unpack(self.head.load(Acquire));
        self.tail.load(Acquire).wrapping_sub(real) as usize
    }
}

impl<T> Local<T> {
    /// Items waiting (exact for the owner, up to concurrent steals).
    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Room for at least this many pushes without overflow.
    pub(crate) fn remaining(&self) -> usize {
        let (steal, _) = unpack(self.inner.head.load(Acquire));
        CAPACITY - self.inner.tail.load(Relaxed).wrapping_sub(steal) as usize
    }

    /// Pushes `item` at the back. When the ring is full, half of it plus
    /// `item` go to `overflow` (the global queue) in one batch; while a
    /// steal is in flight the ring cannot be halved, so `item` alone goes.
    #[inline]
    pub(crate) fn push_back(&mut self, mut item: T, overflow: impl FnOnce(Vec<T>)) {
        loop {
            let (steal, real) = unpack(self.inner.head.load(Acquire));
            let tail = self.inner.tail.load(Relaxed);
            if (tail.wrapping_sub(steal) as usize) < CAPACITY {
                // SAFETY: we are the owner and `tail` is outside
                // `[steal, tail)`: nobody reads it until the store below.
                unsafe { self.inner.put(tail, item) };
                self.inner.tail.store(tail.wrapping_add(1), Release);
                return;
            }
            if steal != real {
                overflow(vec![item]);
                return;
            }
            match self.push_overflow(item, real) {
                Ok(batch) => {
                    overflow(batch);
                    return;
                }
                // A pop or a steal moved the head: there may be room now.
                Err(back) => item = back,
            }
        }
    }

    /// Claims the older half of a full ring and returns it with `item`.
    #[cold]
    fn push_overflow(&mut self, item: T, real: u32) -> Result<Vec<T>, T> {
        let half = (CAPACITY / 2) as u32;
        let claimed = pack(real.wrapping_add(half), real.wrapping_add(half));
        if self
            .inner
            .head
            .compare_exchange(pack(real, real), claimed, AcqRel, Acquire)
            .is_err()
        {
            return Err(item);
        }
        let mut batch = Vec::with_capacity(half as usize + 1);
        for i in 0..half {
            // SAFETY: the CAS moved both heads past these slots, so no
            // stealer can claim them, and they held items.
            batch.push(unsafe { self.inner.take(real.wrapping_add(i)) });
        }
        batch.push(item);
        Ok(batch)
    }

    /// Pops the oldest item.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<T> {
        let mut head = self.inner.head.load(Acquire);
        loop {
            let (steal, real) = unpack(head);
            if real == self.inner.tail.load(Relaxed) {
                return None;
            }
            let next_real = real.wrapping_add(1);
            let next = if steal == real {
                pack(next_real, next_real)
            } else {
                pack(steal, next_real)
            };
            match self
                .inner
                .head
                .compare_exchange_weak(head, next, AcqRel, Acquire)
            {
                // SAFETY: the CAS gave us slot `real`, which held an item.
                Ok(_) => return Some(unsafe { self.inner.take(real) }),
                Err(actual) => head = actual,
            }
        }
    }
}

impl<T> Steal<T> {
    /// Items waiting, as a racy snapshot.
    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Steals half (rounded up) of this queue into `dst`, returning one of
    /// the stolen items to run at once. `None` if there is nothing to steal,
    /// another steal is in flight, or `dst` is more than half full.
    pub(crate) fn steal_into(&self, dst: &mut Local<T>) -> Option<T> {
        let dst_tail = dst.inner.tail.load(Relaxed);
        let (dst_steal, _) = unpack(dst.inner.head.load(Acquire));
        if dst_tail.wrapping_sub(dst_steal) as usize > CAPACITY / 2 {
            return None;
        }
        // Claim: move the real head, keep the steal head where it was.
        let mut head = self.inner.head.load(Acquire);
        let (first, count) = loop {
            let (steal, real) = unpack(head);
            if steal != real {
                return None;
            }
            let available = self.inner.tail.load(Acquire).wrapping_sub(real);
            let count = available - available / 2;
            if count == 0 {
                return None;
            }
            let claimed = pack(steal, real.wrapping_add(count));
            match self
                .inner
                .head
                .compare_exchange_weak(head, claimed, AcqRel, Acquire)
            {
                Ok(_) => break (real, count),
                Err(actual) => head = actual,
            }
        };
        // Copy. `count <= CAPACITY / 2` fits: `dst` was at most half full.
        for i in 0..count {
            // SAFETY: our claim covers `first + i` (the owner cannot reuse it
            // until the steal head moves); `dst` is ours and the slot is past
            // its tail.
            unsafe {
                let item = self.inner.take(first.wrapping_add(i));
                dst.inner.put(dst_tail.wrapping_add(i), item);
            }
        }
        // Release the claim: the steal head catches up with the real head
        // (which the owner may have moved meanwhile).
        let mut head = self.inner.head.load(Acquire);
        loop {
            let (_, real) = unpack(head);
            match self
                .inner
                .head
                .compare_exchange_weak(head, pack(real, real), AcqRel, Acquire)
            {
                Ok(_) => break,
                Err(actual) => head = actual,
            }
        }
        // Run the last one now; publish the others.
        let last = dst_tail.wrapping_add(count - 1);
        // SAFETY: we just wrote this slot of our own queue and have not
        // published it.
        let item = unsafe { dst.inner.take(last) };
        if count > 1 {
            dst.inner.tail.store(last, Release);
        }
        Some(item)
    }
}

impl<T> Drop for Inner<T> {
    fn drop(&mut self) {
        let (_, real) = unpack(self.head.load(Relaxed));
        let tail = self.tail.load(Relaxed);
        let mut position = real;
        while position != tail {
            // SAFETY: `&mut self`: nobody else is left; `[real, tail)` hold
            // items (a steal cannot be in flight without an `Arc`).
            drop(unsafe { self.take(position) });
            position = position.wrapping_add(1);
        }
    }
}

#[cfg(all(test, not(weft_loom)))]
mod tests {
    use super::*;

    #[test]
    fn fifo_for_the_owner() {
        let (mut local, _steal) = new();
        for i in 0..10 {
            local.push_back(i, |_| panic!("no overflow"));
        }
        assert_eq!(local.len(), 10);
        let popped: Vec<_> = std::iter::from_fn(|| local.pop()).collect();
        assert_eq!(popped, (0..10).collect::<Vec<_>>());
        assert!(local.is_empty());
    }

    #[test]
    fn overflow_moves_the_older_half_plus_the_new_item() {
        let (mut local, _steal) = new();
        for i in 0..CAPACITY {
            local.push_back(i, |_| panic!("no overflow yet"));
        }
        let mut moved = Vec::new();
        local.push_back(CAPACITY, |batch| moved = batch);
        let mut expected: Vec<_> = (0..CAPACITY / 2).collect();
        expected.push(CAPACITY);
        assert_eq!(moved, expected);
        assert_eq!(local.len(), CAPACITY / 2);
        assert_eq!(local.pop(), Some(CAPACITY / 2));
    }

    #[test]
    fn steal_takes_half_rounded_up_and_returns_one() {
        let (mut victim, steal) = new();
        let (mut thief, _) = new();
        for i in 0..5 {
            victim.push_back(i, |_| unreachable!());
        }
        assert_eq!(steal.steal_into(&mut thief), Some(2));
        assert_eq!(thief.len(), 2);
        assert_eq!(victim.len(), 2);
        assert_eq!(thief.pop(), Some(0));
        assert_eq!(thief.pop(), Some(1));
        assert_eq!(victim.pop(), Some(3));
        // Empty victims give nothing.
        let (_, empty) = new::<u32>();
        assert_eq!(empty.steal_into(&mut new().0), None);
    }

    #[test]
    fn positions_wrap() {
        let (mut local, steal) = new();
        let (mut thief, _) = new();
        let mut next = 0u64;
        let mut seen = 0u64;
        // Far more pushes than 2^32 / CAPACITY would need is too slow; walk
        // the ring many times instead and start near the wrap point.
        local
            .inner
            .head
            .store(pack(u32::MAX - 3, u32::MAX - 3), Relaxed);
        local.inner.tail.store(u32::MAX - 3, Relaxed);
        for _ in 0..2_000 {
            local.push_back(next, |_| unreachable!());
            next += 1;
            if next % 3 == 0 {
                seen += u64::from(steal.steal_into(&mut thief).is_some());
                while thief.pop().is_some() {
                    seen += 1;
                }
            }
            while local.len() > 2 {
                local.pop().unwrap();
                seen += 1;
            }
        }
        while local.pop().is_some() {
            seen += 1;
        }
        assert_eq!(seen, next);
    }

    #[test]
    fn dropping_the_queue_drops_its_items() {
        let item = Arc::new(());
        let (mut local, steal) = new();
        for _ in 0..3 {
            local.push_back(Arc::clone(&item), |_| unreachable!());
        }
        drop(local.pop());
        drop(local);
        drop(steal);
        assert_eq!(Arc::strong_count(&item), 1);
    }

    #[test]
    fn concurrent_steals_lose_and_duplicate_nothing() {
        use std::sync::atomic::{AtomicBool, AtomicUsize};
        const ITEMS: usize = 200_000;
        let (mut local, steal) = new::<usize>();
        let done = Arc::new(AtomicBool::new(false));
        let sum = Arc::new(AtomicUsize::new(0));
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let steal = steal.clone();
                let done = Arc::clone(&done);
                let sum = Arc::clone(&sum);
                std::thread::spawn(move || {
                    let (mut mine, _) = new();
                    let mut count = 0usize;
                    loop {
                        let finished = done.load(Acquire);
                        if let Some(item) = steal.steal_into(&mut mine) {
                            sum.fetch_add(item, Relaxed);
                            count += 1;
                        } else {
                            // Nothing to take: let the owner (and, under
                            // valgrind, which runs one thread at a time, the
                            // other tests' threads) run rather than spin
                            // through this thread's whole time slice.
                            std::thread::yield_now();
                        }
                        while let Some(item) = mine.pop() {
                            sum.fetch_add(item, Relaxed);
                            count += 1;
                        }
                        if finished && steal.is_empty() {
                            return count;
                        }
                    }
                })
            })
            .collect();
        let mut count = 0;
        let mut overflowed = Vec::new();
        for i in 1..=ITEMS {
            local.push_back(i, |batch| overflowed.extend(batch));
            if i % 3 == 0 {
                if let Some(item) = local.pop() {
                    sum.fetch_add(item, Relaxed);
                    count += 1;
                }
            }
        }
        while let Some(item) = local.pop() {
            sum.fetch_add(item, Relaxed);
            count += 1;
        }
        done.store(true, Release);
        for thief in thieves {
            count += thief.join().unwrap();
        }
        count += overflowed.len();
        sum.fetch_add(overflowed.iter().sum::<usize>(), Relaxed);
        assert_eq!(count, ITEMS);
        assert_eq!(sum.load(Relaxed), ITEMS * (ITEMS + 1) / 2);
    }

    mod model {
        //! The ring over random push / pop / steal sequences on one thread
        //! (the concurrent interleavings are loom's job): nothing is lost or
        //! duplicated, and the owner sees its own items in FIFO order.
        use super::super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Op {
            Push(usize),
            PopA,
            PopB,
            /// B steals from A.
            StealAtoB,
            /// A steals from B.
            StealBtoA,
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                4 => (1usize..300).prop_map(Op::Push),
                2 => Just(Op::PopA),
                1 => Just(Op::PopB),
                1 => Just(Op::StealAtoB),
                1 => Just(Op::StealBtoA),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn nothing_lost_or_duplicated(ops in proptest::collection::vec(op(), 1..80)) {
                let (mut a, steal_a) = new::<u64>();
                let (mut b, steal_b) = new::<u64>();
                let mut next = 0u64;
                let mut out: Vec<u64> = Vec::new();
                let mut overflowed: Vec<u64> = Vec::new();
                let mut last_popped_a: Option<u64> = None;
                for op in ops {
                    match op {
                        Op::Push(n) => {
                            for _ in 0..n {
                                a.push_back(next, |batch| overflowed.extend(batch));
                                next += 1;
                            }
                        }
                        Op::PopA => {
                            if let Some(v) = a.pop() {
                                // Items are pushed in increasing order and
                                // only ever taken from the front.
                                prop_assert!(last_popped_a.is_none_or(|l| v > l), "FIFO");
                                last_popped_a = Some(v);
                                out.push(v);
                            }
                        }
                        Op::PopB => out.extend(b.pop()),
                        Op::StealAtoB => out.extend(steal_a.steal_into(&mut b)),
                        Op::StealBtoA => {
                            // A only steals when its own queue is empty, as a
                            // worker does, so its items stay in order.
                            if a.is_empty() {
                                out.extend(steal_b.steal_into(&mut a));
                                last_popped_a = None;
                            }
                        }
                    }
                    prop_assert!(a.len() <= 256 && b.len() <= 256);
                }
                out.extend(std::iter::from_fn(|| a.pop()));
                out.extend(std::iter::from_fn(|| b.pop()));
                out.extend(overflowed);
                out.sort_unstable();
                prop_assert_eq!(out, (0..next).collect::<Vec<_>>(), "every item exactly once");
            }
        }
    }
}

#[cfg(all(test, weft_loom))]
mod loom_models {
    use super::*;
    use loom::thread;

    /// Owner pushes and pops while another worker steals: every item is
    /// taken exactly once.
    #[test]
    fn loom_queue_push_pop_steal() {
        loom::model(|| {
            let (mut local, steal) = new::<u32>();
            let thief = thread::spawn(move || {
                let (mut mine, _) = new();
                let mut got = Vec::new();
                got.extend(steal.steal_into(&mut mine));
                got.extend(std::iter::from_fn(|| mine.pop()));
                got
            });
            let mut got = Vec::new();
            let mut overflow = Vec::new();
            for i in 0..3 {
                local.push_back(i, |batch| overflow.extend(batch));
            }
            got.extend(local.pop());
            local.push_back(3, |batch| overflow.extend(batch));
            got.extend(std::iter::from_fn(|| local.pop()));
            got.extend(thief.join().unwrap());
            got.extend(overflow);
            got.sort_unstable();
            assert_eq!(got, vec![0, 1, 2, 3]);
        });
    }

    /// Two stealers and an owner that overflows: nothing lost, nothing
    /// duplicated, no slot read while written (loom checks the cells).
    #[test]
    fn loom_queue_two_stealers_and_overflow() {
        loom::model(|| {
            let (mut local, steal) = new::<u32>();
            for i in 0..CAPACITY as u32 {
                local.push_back(i, |_| unreachable!());
            }
            let thieves: Vec<_> = (0..2)
                .map(|_| {
                    let steal = steal.clone();
                    thread::spawn(move || {
                        let (mut mine, _) = new();
                        let mut got = Vec::new();
                        got.extend(steal.steal_into(&mut mine));
                        got.extend(std::iter::from_fn(|| mine.pop()));
                        got
                    })
                })
                .collect();
            let mut got = Vec::new();
            local.push_back(CAPACITY as u32, |batch| got.extend(batch));
            got.extend(std::iter::from_fn(|| local.pop()));
            for thief in thieves {
                got.extend(thief.join().unwrap());
            }
            got.sort_unstable();
            assert_eq!(got, (0..=CAPACITY as u32).collect::<Vec<_>>());
        });
    }
}
