//! A hierarchical timing wheel: 6 levels of 64 slots, 1 ms per tick.
//!
//! | level | slot width   | level span     |
//! |-------|--------------|----------------|
//! | 0     | 1 ms         | 64 ms          |
//! | 1     | 64 ms        | ~4 s           |
//! | 2     | ~4 s         | ~4.4 min       |
//! | 3     | ~4.4 min     | ~4.7 h         |
//! | 4     | ~4.7 h       | ~12.4 days     |
//! | 5     | ~12.4 days   | ~2.2 years     |
//!
//! An entry due at tick `when` sits at the level of the highest 6-bit group in
//! which `when` differs from `elapsed` (the wheel's current tick), in the slot
//! that group of `when` names. Because every entry of level *n* shares all
//! higher groups with `elapsed`, it is due before any entry of level *n + 1*,
//! so the next expiration is the first occupied slot of the lowest occupied
//! level. When that slot's time comes its entries either fire or move down to
//! a finer level. Insert and cancel are O(1): entries live in a slab and each
//! slot is a doubly linked list of slab indices.
//!
//! Deadlines further away than the top level spans are placed in the top
//! level and moved again each time they come round; deadlines beyond about 35
//! years (`Duration::MAX`, say) are clamped to that. Nothing overflows.
//!
//! With the `test-util` feature each entry also keeps its exact deadline in
//! nanoseconds (`exact`), for the paused clock: its auto-advance jumps to the
//! earliest exact deadline ([`Wheel::next_exact`]), and a paused reading
//! that falls inside a millisecond fires the entries of the next tick that
//! are due by it ([`Wheel::fire_within_next_tick`]), so a paused
//! `sleep(d)` completes after exactly `d`.

use std::task::Waker;

const LEVELS: usize = 6;
const SLOTS: usize = 64;
const SLOT_BITS: u32 = 6;
/// The furthest a deadline can be placed directly: 64^6 ms.
const MAX_SPAN: u64 = 1 << (SLOT_BITS * LEVELS as u32);
const NIL: u32 = u32::MAX;
/// The furthest ahead a timer can be due: about 35 years after the wheel's
/// current tick. Later deadlines are clamped to it, which keeps every sum in the
/// wheel far from overflow and bounds the work of moving a far timer down.
const MAX_WHEN: u64 = 1 << 40;
/// Nanoseconds per tick.
#[cfg(feature = "test-util")]
pub(crate) const NANOS_PER_TICK: u64 = 1_000_000;

/// The level an entry due at `when` belongs to while the wheel is at
/// `elapsed`. Pure, so it is tested alone.
pub(crate) fn level_for(elapsed: u64, when: u64) -> usize {
    let mut masked = (elapsed ^ when) | (SLOTS as u64 - 1);
    if masked >= MAX_SPAN {
        masked = MAX_SPAN - 1;
    }
    let significant = 63 - masked.leading_zeros();
    (significant / SLOT_BITS) as usize
}

fn slot_for(when: u64, level: usize) -> usize {
    ((when >> (level as u32 * SLOT_BITS)) as usize) & (SLOTS - 1)
}

/// A handle on an inserted timer: slab index and the entry's generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    index: u32,
    generation: u32,
}

#[derive(Debug, PartialEq, Eq)]
enum Place {
    /// In the slab's free list.
    Free,
    /// Linked into `levels[level].slots[slot]`.
    Wheel { level: u8, slot: u8 },
    /// Due; its waker has been (or is being) woken.
    Fired,
}

struct Entry {
    when: u64,
    /// The exact deadline, in nanoseconds on the wheel's clock: within the
    /// millisecond before `when` (`when` is it rounded up), or `when`'s
    /// start for clamped and tick-only insertions.
    #[cfg(feature = "test-util")]
    exact: u64,
    generation: u32,
    place: Place,
    prev: u32,
    next: u32,
    waker: Option<Waker>,
}

#[derive(Clone, Copy)]
struct Level {
    occupied: u64,
    heads: [u32; SLOTS],
}

/// Where the next expiration is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expiration {
    level: usize,
    slot: usize,
    deadline: u64,
}

/// The outcome of inserting a timer.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Inserted {
    /// Waiting in the wheel.
    Pending(Key),
    /// Already due: nothing was stored.
    Elapsed,
}

/// The wheel with its entry slab.
pub(crate) struct Wheel {
    elapsed: u64,
    levels: [Level; LEVELS],
    entries: Vec<Entry>,
    free: u32,
    len: usize,
}

impl Wheel {
    pub(crate) fn new() -> Wheel {
        Wheel {
            elapsed: 0,
            levels: [Level {
                occupied: 0,
                heads: [NIL; SLOTS],
            }; LEVELS],
            entries: Vec::new(),
            free: NIL,
            len: 0,
        }
    }

    /// The tick the wheel has advanced to.
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Timers waiting in the wheel.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// True when no timer waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a timer due at tick `when`, to wake `waker`.
    #[cfg(not(feature = "test-util"))]
    pub(crate) fn insert(&mut self, when: u64, waker: Waker) -> Inserted {
        self.insert_entry(when, waker)
    }

    /// Adds a timer due at tick `when`, to wake `waker`; its exact deadline
    /// is the start of that tick.
    #[cfg(all(test, feature = "test-util"))]
    pub(crate) fn insert(&mut self, when: u64, waker: Waker) -> Inserted {
        self.insert_exact(when, when.saturating_mul(NANOS_PER_TICK), waker)
    }

    /// Adds a timer due at tick `when` whose exact deadline is `exact`
    /// nanoseconds (`when` is `exact` rounded up to a tick).
    #[cfg(feature = "test-util")]
    pub(crate) fn insert_exact(&mut self, when: u64, exact: u64, waker: Waker) -> Inserted {
        let inserted = self.insert_entry(when, waker);
        if let Inserted::Pending(key) = inserted {
            let entry = &mut self.entries[key.index as usize];
            // A clamped `when` clamps the exact deadline with it.
            entry.exact = exact.min(entry.when.saturating_mul(NANOS_PER_TICK));
        }
        inserted
    }

    fn insert_entry(&mut self, when: u64, waker: Waker) -> Inserted {
        // Clamped relative to now: an absolute cap would turn every timer
        // set after ~35 years of uptime into an already-elapsed one (found
        // by the model test below).
        let when = when.min(self.elapsed.saturating_add(MAX_WHEN));
        if when <= self.elapsed {
            return Inserted::Elapsed;
        }
        let index = if self.free != NIL {
            let index = self.free;
            self.free = self.entries[index as usize].next;
            index
        } else {
            self.entries.push(Entry {
                when: 0,
                #[cfg(feature = "test-util")]
                exact: 0,
                generation: 0,
                place: Place::Free,
                prev: NIL,
                next: NIL,
                waker: None,
            });
            (self.entries.len() - 1) as u32
        };
        let entry = &mut self.entries[index as usize];
        entry.when = when;
        entry.waker = Some(waker);
        let generation = entry.generation;
        self.link(index);
        self.len += 1;
        Inserted::Pending(Key { index, generation })
    }

    fn entry(&self, key: Key) -> Option<&Entry> {
        self.entries
            .get(key.index as usize)
            .filter(|e| e.generation == key.generation)
    }

    /// True once the timer's deadline has been reached.
    pub(crate) fn is_fired(&self, key: Key) -> bool {
        self.entry(key).is_none_or(|e| e.place == Place::Fired)
    }

    /// Replaces the waker a pending timer will wake.
    pub(crate) fn set_waker(&mut self, key: Key, waker: &Waker) {
        if let Some(entry) = self.entries.get_mut(key.index as usize) {
            if entry.generation == key.generation && entry.place != Place::Fired {
                match &mut entry.waker {
                    Some(old) if old.will_wake(waker) => {}
                    slot => *slot = Some(waker.clone()),
                }
            }
        }
    }

    /// Removes a timer, fired or not, and frees its entry. Returns its waker.
    pub(crate) fn remove(&mut self, key: Key) -> Option<Waker> {
        let entry = self.entries.get(key.index as usize)?;
        if entry.generation != key.generation {
            return None;
        }
        if matches!(entry.place, Place::Wheel { .. }) {
            self.unlink(key.index);
            self.len -= 1;
        }
        let free = self.free;
        let entry = &mut self.entries[key.index as usize];
        entry.generation = entry.generation.wrapping_add(1);
        entry.place = Place::Free;
        entry.next = free;
        self.free = key.index;
        entry.waker.take()
    }

    /// The tick of the next slot to process, if any timer is waiting. For a
    /// coarse slot this can be earlier than the timers in it: processing it
    /// then moves them to finer levels.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.next_expiration().map(|e| e.deadline)
    }

    fn next_expiration(&self) -> Option<Expiration> {
        (0..LEVELS).find_map(|level| self.level_expiration(level))
    }

    fn level_expiration(&self, level: usize) -> Option<Expiration> {
        let occupied = self.levels[level].occupied;
        if occupied == 0 {
            return None;
        }
        let now_slot = slot_for(self.elapsed, level);
        // Above level 0, entries in the current slot are never due within
        // it (they were placed a whole rotation ahead, as clamped far
        // deadlines are): that slot is the farthest, after every other.
        let search = if level > 0 && occupied != 1 << now_slot {
            occupied & !(1 << now_slot)
        } else {
            occupied
        };
        let distance = search.rotate_right(now_slot as u32).trailing_zeros() as usize;
        let slot = (now_slot + distance) % SLOTS;
        let slot_span = 1u64 << (level as u32 * SLOT_BITS);
        let level_span = slot_span << SLOT_BITS;
        let level_start = self.elapsed & !(level_span - 1);
        let mut deadline = level_start + slot as u64 * slot_span;
        // A slot behind the current one (or the current one, above level 0)
        // comes round next rotation.
        if slot < now_slot || (slot == now_slot && level > 0) {
            deadline += level_span;
        }
        Some(Expiration {
            level,
            slot,
            deadline,
        })
    }

    /// Advances the wheel to tick `now`, pushing the waker of every timer due
    /// by then into `fired`.
    pub(crate) fn advance(&mut self, now: u64, fired: &mut Vec<Waker>) {
        while let Some(expiration) = self.next_expiration() {
            if expiration.deadline > now {
                break;
            }
            self.elapsed = self.elapsed.max(expiration.deadline);
            let level = &mut self.levels[expiration.level];
            let mut index = level.heads[expiration.slot];
            level.heads[expiration.slot] = NIL;
            level.occupied &= !(1 << expiration.slot);
            while index != NIL {
                let entry = &mut self.entries[index as usize];
                let next = entry.next;
                entry.prev = NIL;
                entry.next = NIL;
                // Fire only what is due at this slot's own time; the rest
                // moves to a finer level and fires from there, in order, even
                // when the wheel is far behind `now` (firing everything due
                // by `now` straight from a coarse slot would fire it in list
                // order, not deadline order).
                if entry.when <= self.elapsed {
                    entry.place = Place::Fired;
                    self.len -= 1;
                    fired.extend(entry.waker.take());
                } else {
                    self.link(index);
                }
                index = next;
            }
        }
        self.elapsed = self.elapsed.max(now);
    }

    /// The earliest exact deadline of a waiting timer, in nanoseconds.
    ///
    /// The next expiration's slot holds the timers of the earliest tick
    /// (possibly with later ones, if it is a coarse slot), and exact
    /// deadlines order as ticks do, so the minimum over that one list is
    /// the minimum of the wheel.
    #[cfg(feature = "test-util")]
    pub(crate) fn next_exact(&self) -> Option<u64> {
        let expiration = self.next_expiration()?;
        let mut index = self.levels[expiration.level].heads[expiration.slot];
        let mut earliest = u64::MAX;
        while index != NIL {
            let entry = &self.entries[index as usize];
            earliest = earliest.min(entry.exact);
            index = entry.next;
        }
        Some(earliest)
    }

    /// With the wheel at tick `now` (just advanced there), fires the timers
    /// of tick `now + 1` whose exact deadline is at or before `exact_now`
    /// nanoseconds: the paused clock's reading `exact_now` lies inside that
    /// millisecond. The wheel's tick does not move, so later timers of the
    /// same tick still fire from their slot.
    ///
    /// Every waiting timer of tick `now + 1` is in one slot: at the level of
    /// the lowest non-zero 6-bit group of `now + 1` (wherever `elapsed` was
    /// when it was linked, the highest group it differed in from `now + 1`
    /// is at least that one; and a higher level would have put it in a slot
    /// that starts at or before `now`, which `advance(now)` processed).
    #[cfg(feature = "test-util")]
    pub(crate) fn fire_within_next_tick(
        &mut self,
        now: u64,
        exact_now: u64,
        fired: &mut Vec<Waker>,
    ) {
        if self.elapsed != now {
            return;
        }
        let when = now.saturating_add(1);
        let level = level_for(now, when);
        let slot = slot_for(when, level);
        let mut index = self.levels[level].heads[slot];
        while index != NIL {
            let entry = &self.entries[index as usize];
            let next = entry.next;
            if entry.when == when && entry.exact <= exact_now {
                self.unlink(index);
                let entry = &mut self.entries[index as usize];
                entry.prev = NIL;
                entry.next = NIL;
                entry.place = Place::Fired;
                self.len -= 1;
                fired.extend(entry.waker.take());
            }
            index = next;
        }
    }

    fn link(&mut self, index: u32) {
        let when = self.entries[index as usize].when;
        let level = level_for(self.elapsed, when);
        let slot = slot_for(when, level);
        let head = self.levels[level].heads[slot];
        if head != NIL {
            self.entries[head as usize].prev = index;
        }
        let entry = &mut self.entries[index as usize];
        entry.place = Place::Wheel {
            level: level as u8,
            slot: slot as u8,
        };
        entry.prev = NIL;
        entry.next = head;
        let level = &mut self.levels[level];
        level.heads[slot] = index;
        level.occupied |= 1 << slot;
    }

    fn unlink(&mut self, index: u32) {
        let Entry {
            place, prev, next, ..
        } = &self.entries[index as usize];
        let Place::Wheel { level, slot } = *place else {
            return;
        };
        let (prev, next, level, slot) = (*prev, *next, level as usize, slot as usize);
        if prev != NIL {
            self.entries[prev as usize].next = next;
        } else {
            self.levels[level].heads[slot] = next;
            if next == NIL {
                self.levels[level].occupied &= !(1 << slot);
            }
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::Arc;
    use std::task::Wake;

    #[test]
    fn level_table() {
        // (elapsed, when, level)
        let table = [
            (0, 1, 0),
            (0, 63, 0),
            (0, 64, 1),
            (63, 64, 1),
            (64, 127, 0),
            (0, 4095, 1),
            (0, 4096, 2),
            (0, 1 << 30, 5),
            (0, (1 << 36) - 1, 5),
            (0, u64::MAX, 5),
            (5, 5 + (1 << 40), 5),
        ];
        for (elapsed, when, level) in table {
            assert_eq!(
                level_for(elapsed, when),
                level,
                "elapsed {elapsed} when {when}"
            );
        }
    }

    /// A waker that records its id in a shared log when woken.
    struct Log {
        id: usize,
        log: Arc<std::sync::Mutex<Vec<usize>>>,
    }
    impl Wake for Log {
        fn wake(self: Arc<Self>) {
            self.log.lock().unwrap().push(self.id);
        }
    }

    fn waker(id: usize, log: &Arc<std::sync::Mutex<Vec<usize>>>) -> Waker {
        Waker::from(Arc::new(Log {
            id,
            log: Arc::clone(log),
        }))
    }

    #[test]
    fn fires_in_deadline_order_across_levels() {
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        let deadlines = [5u64, 70, 64, 4100, 1, 300_000, 63, 65, 4096, 10_000_000];
        for (id, when) in deadlines.iter().enumerate() {
            assert!(matches!(
                wheel.insert(*when, waker(id, &log)),
                Inserted::Pending(_)
            ));
        }
        let mut fired = Vec::new();
        let mut now = 0;
        // Step through time the way the driver does: jump to each deadline.
        while let Some(next) = wheel.next_deadline() {
            now = next;
            wheel.advance(now, &mut fired);
            fired.drain(..).for_each(Waker::wake);
        }
        let order = log.lock().unwrap().clone();
        let mut expected: Vec<usize> = (0..deadlines.len()).collect();
        expected.sort_by_key(|&id| deadlines[id]);
        assert_eq!(order, expected);
        assert_eq!(now, 10_000_000);
        assert_eq!(wheel.len(), 0);
    }

    #[test]
    fn fires_in_deadline_order_when_far_behind() {
        // Timers inserted while the wheel moves, then one big jump: several
        // coarse slots come due in one `advance`, and their entries must
        // still fire in deadline order.
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        let mut fired = Vec::new();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut deadlines = Vec::new();
        for i in 0..5000 {
            if i % 500 == 0 {
                let now = wheel.elapsed() + 3;
                wheel.advance(now, &mut fired);
            }
            let when = 40 + next() % 400;
            deadlines.push(when);
            let _ = wheel.insert(when, waker(i, &log));
        }
        assert!(fired.is_empty());
        wheel.advance(10_000, &mut fired);
        fired.drain(..).for_each(Waker::wake);
        let order: Vec<u64> = log
            .lock()
            .unwrap()
            .iter()
            .map(|&id| deadlines[id])
            .collect();
        assert_eq!(order.len(), 5000);
        assert!(
            order.windows(2).all(|w| w[0] <= w[1]),
            "fired out of deadline order"
        );
    }

    #[test]
    fn a_clamped_far_timer_does_not_hide_nearer_top_level_slots() {
        // A far deadline is clamped into level 5's current slot; timers in
        // the next level-5 slot must still be found when it comes round.
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        let mut fired = Vec::new();
        let _ = wheel.insert(u64::MAX, waker(0, &log));
        wheel.advance((1 << 30) - 100, &mut fired);
        let Inserted::Pending(near) = wheel.insert((1 << 30) + 100, waker(1, &log)) else {
            panic!("not due yet")
        };
        assert_eq!(wheel.next_deadline(), Some(1 << 30));
        let mut now = (1 << 30) - 100;
        while now < (1 << 30) + 1000 {
            now += 7;
            wheel.advance(now, &mut fired);
        }
        assert!(wheel.is_fired(near), "the near timer never fired");
        assert_eq!(fired.len(), 1);
    }

    #[test]
    fn never_fires_early() {
        let count = crate::test_util::Count::new();
        let mut wheel = Wheel::new();
        let _ = wheel.insert(1000, Waker::from(Arc::clone(&count)));
        let mut fired = Vec::new();
        for now in [1, 63, 64, 500, 999] {
            wheel.advance(now, &mut fired);
            assert!(fired.is_empty(), "fired at {now}");
        }
        wheel.advance(1000, &mut fired);
        assert_eq!(fired.len(), 1);
    }

    #[test]
    fn remove_unlinks_and_reuses() {
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        let Inserted::Pending(a) = wheel.insert(10, waker(0, &log)) else {
            panic!()
        };
        let Inserted::Pending(b) = wheel.insert(10, waker(1, &log)) else {
            panic!()
        };
        let Inserted::Pending(c) = wheel.insert(10, waker(2, &log)) else {
            panic!()
        };
        assert!(wheel.remove(b).is_some());
        assert!(wheel.remove(b).is_none(), "stale key removes nothing");
        assert_eq!(wheel.len(), 2);
        let mut fired = Vec::new();
        wheel.advance(10, &mut fired);
        fired.drain(..).for_each(Waker::wake);
        let mut order = log.lock().unwrap().clone();
        order.sort();
        assert_eq!(order, vec![0, 2]);
        assert!(wheel.is_fired(a) && wheel.is_fired(c));
        // A fired entry's waker is gone; removing it frees the entry.
        assert!(wheel.remove(a).is_none());
        // The freed entry is reused under a new generation.
        let Inserted::Pending(d) = wheel.insert(20, waker(3, &log)) else {
            panic!()
        };
        assert_ne!(d, a);
        assert!(!wheel.is_fired(d));
    }

    #[test]
    fn far_deadlines_do_not_overflow() {
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        let Inserted::Pending(key) = wheel.insert(u64::MAX, waker(0, &log)) else {
            panic!()
        };
        let mut fired = Vec::new();
        wheel.advance(MAX_SPAN * 3, &mut fired);
        assert!(fired.is_empty());
        assert!(!wheel.is_fired(key));
        assert!(wheel.next_deadline().unwrap() > MAX_SPAN * 3);
        assert!(wheel.remove(key).is_some());
        assert_eq!(wheel.next_deadline(), None);
    }

    #[test]
    fn elapsed_deadline_is_not_stored() {
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        let mut fired = Vec::new();
        wheel.advance(50, &mut fired);
        assert_eq!(wheel.insert(50, waker(0, &log)), Inserted::Elapsed);
        assert_eq!(wheel.insert(10, waker(0, &log)), Inserted::Elapsed);
        assert_eq!(wheel.len(), 0);
    }

    #[test]
    fn a_timer_set_after_decades_of_uptime_still_waits() {
        // Regression (found by the model test): the cap on far deadlines was
        // absolute, so once the wheel had run ~35 years every new timer
        // counted as already elapsed.
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        let mut fired = Vec::new();
        wheel.advance(MAX_WHEN + 5, &mut fired);
        assert!(matches!(
            wheel.insert(MAX_WHEN + 6, waker(0, &log)),
            Inserted::Pending(_)
        ));
        assert!(matches!(
            wheel.insert(u64::MAX, waker(1, &log)),
            Inserted::Pending(_)
        ));
        wheel.advance(MAX_WHEN + 6, &mut fired);
        assert_eq!(fired.len(), 1);
    }

    mod model {
        //! The wheel against a reference model: a map of live timers
        //! (id → deadline), over random insert / cancel / reset / advance
        //! sequences with deadlines at every level and past the wheel's span.
        use super::super::*;
        use super::{waker, Arc};
        use proptest::prelude::*;
        use std::collections::BTreeMap;

        #[derive(Debug, Clone)]
        enum Op {
            /// Insert a timer `delta` ticks after `elapsed`.
            Insert(u64),
            /// Cancel the n-th live timer (mod the count).
            Cancel(usize),
            /// Move the n-th live timer to `delta` after `elapsed`.
            Reset(usize, u64),
            /// Advance time by `delta`.
            Advance(u64),
            /// Advance to the wheel's next deadline, as the driver does.
            ToNext,
        }

        /// Deltas at every level: within a slot, a level, the whole span,
        /// and past it (clamped at `MAX_WHEN`).
        fn delta() -> impl Strategy<Value = u64> {
            prop_oneof![
                0u64..70,
                60u64..5_000,
                4_000u64..300_000,
                (0u32..43).prop_flat_map(|bits| 0u64..=(1u64 << bits)),
                Just(MAX_SPAN),
                Just(u64::MAX / 4),
            ]
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                4 => delta().prop_map(Op::Insert),
                1 => any::<usize>().prop_map(Op::Cancel),
                1 => (any::<usize>(), delta()).prop_map(|(n, d)| Op::Reset(n, d)),
                2 => delta().prop_map(Op::Advance),
                2 => Just(Op::ToNext),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn wheel_matches_the_model(ops in proptest::collection::vec(op(), 1..120)) {
                let log = Arc::new(std::sync::Mutex::new(Vec::new()));
                let mut wheel = Wheel::new();
                // id -> (key, clamped deadline)
                let mut live: BTreeMap<usize, (Key, u64)> = BTreeMap::new();
                let mut next_id = 0usize;
                let mut fired = Vec::new();
                let mut insert = |wheel: &mut Wheel, live: &mut BTreeMap<usize, (Key, u64)>, d: u64| {
                    let when = wheel.elapsed().saturating_add(d);
                    let clamped = when.min(wheel.elapsed() + MAX_WHEN);
                    let id = next_id;
                    next_id += 1;
                    match wheel.insert(when, waker(id, &log)) {
                        Inserted::Pending(key) => {
                            prop_assert!(clamped > wheel.elapsed());
                            live.insert(id, (key, clamped));
                        }
                        Inserted::Elapsed => prop_assert!(when <= wheel.elapsed()),
                    }
                    Ok(())
                };
                for op in ops {
                    match op {
                        Op::Insert(d) => insert(&mut wheel, &mut live, d)?,
                        Op::Cancel(n) | Op::Reset(n, _) if live.is_empty() => { let _ = n; }
                        Op::Cancel(n) => {
                            let id = *live.keys().nth(n % live.len()).unwrap();
                            let (key, _) = live.remove(&id).unwrap();
                            prop_assert!(wheel.remove(key).is_some(), "a live timer can be removed");
                            prop_assert!(wheel.remove(key).is_none(), "but only once");
                        }
                        Op::Reset(n, d) => {
                            let id = *live.keys().nth(n % live.len()).unwrap();
                            let (key, _) = live.remove(&id).unwrap();
                            prop_assert!(wheel.remove(key).is_some());
                            insert(&mut wheel, &mut live, d)?;
                        }
                        Op::Advance(_) | Op::ToNext => {
                            let now = match op {
                                Op::Advance(d) => wheel.elapsed().saturating_add(d.min(MAX_WHEN)),
                                _ => match wheel.next_deadline() {
                                    Some(next) => next,
                                    None => continue,
                                },
                            };
                            // The model's next deadline is the wheel's.
                            let model_next = live.values().map(|(_, when)| *when).min();
                            prop_assert_eq!(wheel.next_deadline().map(|n| n.max(wheel.elapsed())).is_some(), model_next.is_some());
                            if let (Some(ours), Some(model)) = (wheel.next_deadline(), model_next) {
                                prop_assert!(ours <= model, "next deadline {} is after the model's {}", ours, model);
                            }
                            log.lock().unwrap().clear();
                            wheel.advance(now, &mut fired);
                            fired.drain(..).for_each(Waker::wake);
                            let order = std::mem::take(&mut *log.lock().unwrap());
                            let mut due: Vec<usize> = live
                                .iter()
                                .filter(|(_, (_, when))| *when <= now)
                                .map(|(id, _)| *id)
                                .collect();
                            // Same timers fire...
                            let mut got = order.clone();
                            got.sort_unstable();
                            due.sort_unstable();
                            prop_assert_eq!(&got, &due, "at {}", now);
                            // ...in deadline order.
                            let deadlines: Vec<u64> = order.iter().map(|id| live[id].1).collect();
                            prop_assert!(deadlines.windows(2).all(|w| w[0] <= w[1]), "order {:?}", deadlines);
                            for id in &order {
                                let (key, _) = live.remove(id).unwrap();
                                prop_assert!(wheel.is_fired(key));
                            }
                            for (key, _) in live.values() {
                                prop_assert!(!wheel.is_fired(*key));
                            }
                        }
                    }
                    prop_assert_eq!(wheel.len(), live.len());
                }
            }
        }
    }
}
