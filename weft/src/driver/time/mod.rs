//! The time driver: timer wheels in shards, and the clock they run on.
//!
//! Owns: the shards' wheels, the runtime's clock origin and what the parked
//! driver knows of them. Calls: wakers, and the driver's unpark.
//!
//! Ticks are whole milliseconds since the driver started. A deadline is
//! rounded *up* to a tick, so a timer never fires before its deadline. The
//! loop reads the clock after each `epoll_wait` to fire timers
//! ([`TimeShared::process`]), and once more before a blocking wait to compute
//! its timeout ([`TimeShared::parking`]); inserting or cancelling a timer
//! never reads it.
//!
//! **Shards.** The timers live in [`TimerShard`]s, each a wheel behind its
//! own lock: one per worker of a multi-thread runtime plus one for every
//! other thread (a current-thread runtime has one). A `Sleep` takes the
//! shard of the thread that creates it (`driver::enter_worker`: a worker's
//! thread names its worker; every other thread takes the last shard) and keeps it for its life, so timers on different
//! workers never take the same lock, and the driver's turn visits every
//! shard. Within a shard timers fire in deadline order; one turn fires the
//! shards one after another. How an insert from another thread wakes a
//! parked driver, only when it must: see [`shard`].
//!
//! With the `test-util` feature the clock is a [`clock::Clock`], which can
//! be paused: then every reading here is virtual, the driver jumps it to the
//! next exact deadline when the runtime is idle (`Driver::park_idle`), and a
//! reading inside a millisecond fires the timers of the next tick due by it.

#[cfg(feature = "test-util")]
pub(crate) mod clock;
mod shard;
mod wheel;

use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::sys::loom::AtomicU64;
#[cfg(feature = "test-util")]
use crate::sys::loom::MutexGuard;
use shard::AWAKE;
pub(crate) use shard::{Reset, TimerKey, TimerShard, Unpark};
pub(crate) use wheel::Inserted;

/// About 30 years: how far ahead `sleep(Duration::MAX)` and other
/// unrepresentable deadlines are clamped to.
pub(crate) const FAR_AWAY: Duration = Duration::from_secs(86_400 * 365 * 30);

/// What every shard shares: the clock, and what the parked driver knows.
pub(crate) struct TimeBase {
    origin: Instant,
    #[cfg(feature = "test-util")]
    clock: clock::Clock,
    /// What the driver knows while it blocks (see [`shard`]): `AWAKE`,
    /// `u64::MAX` (no timer), or the tick it will wake by anyway.
    next_wake: AtomicU64,
    /// Wakes the driver's blocking wait.
    unpark: Arc<dyn Unpark>,
}

impl TimeBase {
    /// The tick at or after `instant`.
    pub(crate) fn deadline_to_tick(&self, instant: Instant) -> u64 {
        let since = instant.saturating_duration_since(self.origin);
        let ms = since.as_millis();
        let ceil = if since.subsec_nanos() % 1_000_000 == 0 {
            ms
        } else {
            ms + 1
        };
        u64::try_from(ceil).unwrap_or(u64::MAX)
    }

    /// `instant` in nanoseconds since the origin (saturating).
    #[cfg(feature = "test-util")]
    pub(crate) fn nanos_since_origin(&self, instant: Instant) -> u64 {
        u64::try_from(instant.saturating_duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX)
    }
}

/// The clock and the shards, as the driver and the runtime's handles see
/// them.
pub(crate) struct TimeShared {
    base: Arc<TimeBase>,
    shards: Box<[Arc<TimerShard>]>,
}

impl TimeShared {
    fn with_base(base: TimeBase) -> TimeShared {
        let base = Arc::new(base);
        TimeShared {
            shards: Box::new([Arc::new(TimerShard::new(Arc::clone(&base)))]),
            base,
        }
    }

    /// One shard; `unpark` wakes the driver's blocking wait.
    #[cfg(not(feature = "test-util"))]
    pub(crate) fn new(unpark: Arc<dyn Unpark>) -> TimeShared {
        TimeShared::with_base(TimeBase {
            origin: Instant::now(),
            next_wake: AtomicU64::new(AWAKE),
            unpark,
        })
    }

    /// One shard, on a clock that starts paused if `start_paused`.
    #[cfg(feature = "test-util")]
    pub(crate) fn new(unpark: Arc<dyn Unpark>, start_paused: bool) -> TimeShared {
        let clock = clock::Clock::new(start_paused);
        TimeShared::with_base(TimeBase {
            origin: clock.now(),
            clock,
            next_wake: AtomicU64::new(AWAKE),
            unpark,
        })
    }

    /// Splits the timers into `shards` shards (at least one), before any
    /// timer exists: a multi-thread runtime's workers and one more.
    pub(crate) fn set_shards(&mut self, shards: usize) {
        debug_assert!(self.shards.iter().all(|s| s.wheel().is_empty()));
        self.shards = (0..shards.max(1))
            .map(|_| Arc::new(TimerShard::new(Arc::clone(&self.base))))
            .collect();
    }

    /// The shard for a timer made on this thread (see
    /// [`enter_worker`](crate::driver::enter_worker)).
    #[inline]
    pub(crate) fn shard_here(&self) -> &Arc<TimerShard> {
        match &*self.shards {
            // A current-thread runtime: no thread-local to read.
            [only] => only,
            shards => &shards[crate::driver::worker_index().min(shards.len() - 1)],
        }
    }

    /// Shard `index` (for tests and models).
    #[cfg(test)]
    pub(crate) fn shard(&self, index: usize) -> &Arc<TimerShard> {
        &self.shards[index]
    }

    /// The clock's origin (tick 0).
    #[cfg(test)]
    pub(crate) fn origin(&self) -> Instant {
        self.base.origin
    }

    /// The runtime's clock.
    #[cfg(feature = "test-util")]
    pub(crate) fn clock(&self) -> &clock::Clock {
        &self.base.clock
    }

    /// The clock's reading: the system's monotonic clock, or (feature
    /// `test-util`) the runtime's clock, virtual while paused.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        #[cfg(feature = "test-util")]
        {
            self.base.clock.now()
        }
        #[cfg(not(feature = "test-util"))]
        {
            Instant::now()
        }
    }

    /// `instant` in nanoseconds since the origin (saturating).
    #[cfg(feature = "test-util")]
    pub(crate) fn nanos_since_origin(&self, instant: Instant) -> u64 {
        self.base.nanos_since_origin(instant)
    }

    /// The tick at or after `instant`.
    #[cfg(test)]
    pub(crate) fn deadline_to_tick(&self, instant: Instant) -> u64 {
        self.base.deadline_to_tick(instant)
    }

    /// Timers waiting in every shard.
    #[cfg(all(test, not(weft_loom)))]
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len()).sum()
    }

    /// Every shard's wheel locked, in shard order (the one order anything
    /// takes more than one shard's lock in).
    #[cfg(feature = "test-util")]
    fn lock_all(&self) -> Vec<MutexGuard<'_, wheel::Wheel>> {
        self.shards.iter().map(|s| s.wheel()).collect()
    }

    /// The earliest exact deadline of a waiting timer (for tests; the
    /// driver uses [`jump_to_next_timer`](Self::jump_to_next_timer)).
    #[cfg(all(test, feature = "test-util", not(weft_loom)))]
    pub(crate) fn next_exact_deadline(&self) -> Option<Instant> {
        let nanos = self
            .lock_all()
            .iter()
            .filter_map(|w| w.next_exact())
            .min()?;
        self.base.origin.checked_add(Duration::from_nanos(nanos))
    }

    /// Paused and idle: jumps the clock to the earliest exact timer
    /// deadline unless something holds auto-advance back; true if it
    /// jumped. One look with every shard locked, so no timer is added or
    /// removed between reading the deadline, checking the inhibit count and
    /// moving the clock: whoever may still add or drop a timer (a poll in
    /// progress, a finished `block_on` future not yet dropped) holds a count
    /// from before its insert until after its removal. (Checking the count
    /// first and reading the deadline after let a `block_on` register a
    /// timer in between and see the clock jump to it.) Lock order: the
    /// shards in order, then the clock; the clock never takes a shard's
    /// lock.
    #[cfg(feature = "test-util")]
    pub(crate) fn jump_to_next_timer(&self) -> bool {
        let wheels = self.lock_all();
        let Some(nanos) = wheels.iter().filter_map(|w| w.next_exact()).min() else {
            return false;
        };
        let Some(next) = self.base.origin.checked_add(Duration::from_nanos(nanos)) else {
            return false;
        };
        self.clock().auto_advance_allowed() && self.clock().advance_to(next)
    }

    /// The tick `instant` falls in (rounded down).
    fn now_to_tick(&self, instant: Instant) -> u64 {
        u64::try_from(
            instant
                .saturating_duration_since(self.base.origin)
                .as_millis(),
        )
        .unwrap_or(u64::MAX)
    }

    /// Fires every timer due by `now`; returns their wakers in `fired` (woken
    /// by the caller, outside the locks). Each shard in turn, under its own
    /// lock: every shard's wheel moves to `now`'s tick.
    pub(crate) fn process(&self, now: Instant, fired: &mut Vec<Waker>) {
        let tick = self.now_to_tick(now);
        // A paused reading inside a millisecond (an exact deadline the
        // auto-advance jumped to, an `advance` by a fraction): the timers of
        // the next tick due by it fire too. A running clock keeps to whole
        // ticks, as without the feature.
        #[cfg(feature = "test-util")]
        let within = Some(self.nanos_since_origin(now))
            .filter(|exact| self.base.clock.is_paused() && exact % wheel::NANOS_PER_TICK != 0);
        for shard in self.shards.iter() {
            let mut wheel = shard.wheel();
            if wheel.next_deadline().is_some_and(|d| d <= tick) || wheel.elapsed() < tick {
                wheel.advance(tick, fired);
            }
            #[cfg(feature = "test-util")]
            if let Some(exact) = within {
                wheel.fire_within_next_tick(tick, exact, fired);
            }
        }
    }

    /// The runtime is shutting down: fire every timer, and make every later
    /// one due at once (each wheel's clock jumps to the end of time), so
    /// nothing waits forever on a clock that no longer runs.
    pub(crate) fn shutdown(&self, fired: &mut Vec<Waker>) {
        for shard in self.shards.iter() {
            shard.wheel().advance(u64::MAX, fired);
        }
    }

    /// The driver is about to block: tells inserts from other threads so
    /// (see [`shard`]), and returns how long it may sleep before the next
    /// timer is due, measured from `now`; `None` when no timer waits. The
    /// blocking wait must end with [`unparked`](Self::unparked).
    pub(crate) fn parking(&self, now: Instant) -> Option<Duration> {
        let next_wake = &self.base.next_wake;
        // Before reading any shard: an insert this read misses sees it.
        next_wake.store(u64::MAX, SeqCst);
        let deadline = self
            .shards
            .iter()
            .filter_map(|s| s.wheel().next_deadline())
            .min()?;
        // A claim an insert made meanwhile may be lower: it is kept (that
        // insert unparks).
        next_wake.fetch_min(deadline, SeqCst);
        let at = self.base.origin + Duration::from_millis(deadline);
        Some(at.saturating_duration_since(now))
    }

    /// The driver may block with a paused clock, which wakes it by no tick:
    /// until [`unparked`](Self::unparked), every insert unparks it (no
    /// claim "it wakes by then anyway" holds; see [`shard`]). Stored before
    /// the driver's last look at the wheels (the auto-advance), so an insert
    /// after that look sees it.
    #[cfg(feature = "test-util")]
    pub(crate) fn parking_unbounded(&self) {
        self.base.next_wake.store(u64::MAX, SeqCst);
    }

    /// How long until the next timer is due, from `now` (`None`: no timer
    /// waits), leaving what inserts see as it is.
    #[cfg(feature = "test-util")]
    pub(crate) fn next_timeout(&self, now: Instant) -> Option<Duration> {
        let deadline = self
            .shards
            .iter()
            .filter_map(|s| s.wheel().next_deadline())
            .min()?;
        let at = self.base.origin + Duration::from_millis(deadline);
        Some(at.saturating_duration_since(now))
    }

    /// The blocking wait announced by [`parking`](Self::parking) (or
    /// [`parking_unbounded`](Self::parking_unbounded)) is over: inserts need
    /// not unpark until the next one.
    pub(crate) fn unparked(&self) {
        self.base.next_wake.store(AWAKE, SeqCst);
    }
}

/// An [`Unpark`] for tests with no driver to wake.
#[cfg(test)]
pub(crate) struct NoDriver;

#[cfg(test)]
impl Unpark for NoDriver {
    fn unpark(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(feature = "test-util"))]
    fn time() -> TimeShared {
        TimeShared::new(Arc::new(NoDriver))
    }

    #[cfg(feature = "test-util")]
    fn time() -> TimeShared {
        TimeShared::new(Arc::new(NoDriver), false)
    }

    #[test]
    fn deadlines_round_up_and_saturate() {
        let time = time();
        let o = time.origin();
        assert_eq!(time.deadline_to_tick(o), 0);
        assert_eq!(time.deadline_to_tick(o + Duration::from_micros(1)), 1);
        assert_eq!(time.deadline_to_tick(o + Duration::from_millis(5)), 5);
        assert_eq!(time.deadline_to_tick(o + Duration::from_micros(5001)), 6);
        assert_eq!(time.now_to_tick(o + Duration::from_micros(5999)), 5);
    }
}

/// Sharding and the parked driver's wake, one thread at a time (the races
/// are the loom models' in `shard.rs`).
#[cfg(all(test, not(weft_loom)))]
mod shard_tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[derive(Default)]
    struct CountUnparks(AtomicUsize);

    impl Unpark for CountUnparks {
        fn unpark(&self) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    fn time(shards: usize) -> (TimeShared, Arc<CountUnparks>) {
        let unparks = Arc::new(CountUnparks::default());
        let unpark: Arc<dyn Unpark> = unparks.clone();
        #[cfg(feature = "test-util")]
        let mut time = TimeShared::new(unpark, false);
        #[cfg(not(feature = "test-util"))]
        let mut time = TimeShared::new(unpark);
        time.set_shards(shards);
        (time, unparks)
    }

    fn at(time: &TimeShared, ms: u64) -> Instant {
        time.origin() + Duration::from_millis(ms)
    }

    #[test]
    fn each_worker_thread_has_its_shard_and_others_share_the_last() {
        let (time, _) = time(3);
        let on = |index: Option<usize>| {
            std::thread::scope(|s| {
                s.spawn(|| {
                    let _shard = index.map(crate::driver::enter_worker);
                    Arc::as_ptr(time.shard_here()) as usize
                })
                .join()
                .unwrap() as *const TimerShard
            })
        };
        assert_eq!(on(Some(0)), Arc::as_ptr(time.shard(0)));
        assert_eq!(on(Some(1)), Arc::as_ptr(time.shard(1)));
        assert_eq!(on(None), Arc::as_ptr(time.shard(2)));
        // Another runtime's worker index past this runtime's workers.
        assert_eq!(on(Some(7)), Arc::as_ptr(time.shard(2)));
        // A guard restores what was there.
        let outer = crate::driver::enter_worker(0);
        drop(crate::driver::enter_worker(1));
        assert_eq!(Arc::as_ptr(time.shard_here()), Arc::as_ptr(time.shard(0)));
        drop(outer);
        assert_eq!(Arc::as_ptr(time.shard_here()), Arc::as_ptr(time.shard(2)));
    }

    #[test]
    fn the_driver_turn_covers_every_shard() {
        let (time, _) = time(3);
        let count = crate::test_util::Count::new();
        let waker = || Waker::from(Arc::clone(&count));
        for (shard, ms) in [(0, 30), (1, 10), (2, 20), (1, 40)] {
            let inserted = time.shard(shard).insert(at(&time, ms), waker());
            assert!(matches!(inserted, Inserted::Pending(_)));
        }
        assert_eq!(time.len(), 4);
        // The park's timeout is the earliest deadline over the shards.
        assert_eq!(time.parking(time.origin()), Some(Duration::from_millis(10)));
        time.unparked();
        let mut fired = Vec::new();
        time.process(at(&time, 25), &mut fired);
        assert_eq!(fired.len(), 2, "the 10 and 20 ms timers of shards 1 and 2");
        // Every wheel moved on: a deadline now past is elapsed in any shard.
        for shard in 0..3 {
            assert_eq!(
                time.shard(shard).insert(at(&time, 24), waker()),
                Inserted::Elapsed
            );
        }
        time.shutdown(&mut fired);
        assert_eq!(fired.len(), 4);
        assert_eq!(time.len(), 0);
    }

    #[test]
    fn an_insert_unparks_only_a_parked_driver_that_would_sleep_past_it() {
        let (time, unparks) = time(2);
        let unparked = || unparks.0.load(SeqCst);
        let insert = |shard: usize, ms| {
            let _ = time
                .shard(shard)
                .insert(at(&time, ms), Waker::noop().clone());
        };
        // (Deadlines within the wheel's first 64 ms, where the next slot's
        // tick is the timer's own.)
        // Not parked: the driver reads every shard before it blocks.
        insert(0, 40);
        assert_eq!(unparked(), 0);
        // Parked until 40 ms: a later timer, in either shard, needs nothing.
        assert_eq!(time.parking(time.origin()), Some(Duration::from_millis(40)));
        insert(1, 50);
        insert(0, 40);
        assert_eq!(unparked(), 0);
        // An earlier one unparks it, once: later inserts see the claim.
        insert(1, 30);
        assert_eq!(unparked(), 1);
        insert(0, 35);
        insert(1, 30);
        assert_eq!(unparked(), 1);
        // Earlier than the claim: unparks again.
        insert(0, 20);
        assert_eq!(unparked(), 2);
        // Awake again: nothing unparks.
        time.unparked();
        insert(1, 1);
        assert_eq!(unparked(), 2);
        // Parked with no timer at all: any insert unparks.
        let (empty, unparks) = self::time(2);
        assert_eq!(empty.parking(empty.origin()), None);
        let _ = empty
            .shard(1)
            .insert(at(&empty, 3_600_000), Waker::noop().clone());
        assert_eq!(unparks.0.load(SeqCst), 1);
    }
}

/// The paused clock's auto-advance against a model: timers with exact
/// deadlines at every level (sub-millisecond ones included), some inserted
/// while the clock moves; each jump to the next exact deadline fires exactly
/// the timers due by then (at least one), so each fires at its own deadline,
/// in deadline order.
#[cfg(all(test, feature = "test-util", not(weft_loom)))]
mod paused_tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::Arc;
    use std::task::Wake;

    /// A waker that logs its id and the clock's reading when woken.
    struct Log {
        id: usize,
        time: Arc<TimeShared>,
        log: Arc<std::sync::Mutex<Vec<(usize, Instant)>>>,
    }

    impl Wake for Log {
        fn wake(self: Arc<Self>) {
            let now = self.time.now();
            self.log.lock().unwrap().push((self.id, now));
        }
    }

    /// Timers go to the model's three shards in turn: the jump looks at
    /// all of them.
    fn insert(time: &Arc<TimeShared>, id: usize, deadline: Instant, waker: Waker) -> Inserted {
        time.shard(id % 3).insert(deadline, waker)
    }

    /// Nanosecond offsets: within a millisecond, on millisecond edges, at
    /// every level of the wheel.
    fn offset() -> impl Strategy<Value = u64> {
        prop_oneof![
            0u64..2_000_000,
            (0u64..70).prop_map(|ms| ms * 1_000_000),
            0u64..5_000_000_000,
            0u64..400_000_000_000,
            (0u64..300_000).prop_map(|ms| ms * 1_000_000 + 999_999),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn auto_advance_fires_each_timer_at_its_exact_deadline(
            first in proptest::collection::vec(offset(), 1..60),
            later in proptest::collection::vec((offset(), 0usize..60), 0..30),
            start in 0u64..3_000_000,
        ) {
            let mut time = TimeShared::new(Arc::new(NoDriver), true);
            time.set_shards(3);
            let time = Arc::new(time);
            let log = Arc::new(std::sync::Mutex::new(Vec::new()));
            let waker = |id| Waker::from(Arc::new(Log { id, time: Arc::clone(&time), log: Arc::clone(&log) }));
            let mut fired = Vec::new();
            // Start inside a millisecond, as a test that paused late does.
            time.clock().advance(Duration::from_nanos(start)).unwrap();
            time.process(time.now(), &mut fired);
            let mut deadlines = Vec::new();
            for offset in &first {
                let deadline = time.now() + Duration::from_nanos(*offset);
                let id = deadlines.len();
                deadlines.push(deadline);
                if insert(&time, id, deadline, waker(id)) == Inserted::Elapsed {
                    log.lock().unwrap().push((id, time.now()));
                }
            }
            let mut later = later.into_iter();
            let mut steps = 0;
            while let Some(next) = time.next_exact_deadline() {
                steps += 1;
                prop_assert!(steps < 1000, "auto-advance does not get anywhere");
                prop_assert!(time.clock().advance_to(next));
                let before = log.lock().unwrap().len();
                time.process(time.now(), &mut fired);
                fired.drain(..).for_each(Waker::wake);
                prop_assert!(log.lock().unwrap().len() > before, "a jump fired nothing");
                // Now and then a timer is set from the new reading.
                if let Some((offset, every)) = later.next() {
                    if every % 3 == 0 {
                        let deadline = time.now() + Duration::from_nanos(offset);
                        let id = deadlines.len();
                        deadlines.push(deadline);
                        if insert(&time, id, deadline, waker(id)) == Inserted::Elapsed {
                            log.lock().unwrap().push((id, time.now()));
                        }
                    }
                }
            }
            let log = log.lock().unwrap().clone();
            prop_assert_eq!(log.len(), deadlines.len());
            for (id, at) in &log {
                prop_assert_eq!(*at, deadlines[*id], "timer {} fired off its deadline", id);
            }
            prop_assert!(log.windows(2).all(|w| w[0].1 <= w[1].1), "fired out of deadline order");
        }
    }
}
