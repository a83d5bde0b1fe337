//! One timer shard: a wheel behind its own lock, and the path every `Sleep`
//! takes to it.
//!
//! Owns: its wheel. Calls: the driver's unpark (through [`Unpark`]), never
//! a waker (the driver wakes what fires, outside every lock).
//!
//! A `Sleep` holds an `Arc` of the shard of the thread that created it
//! (its worker's, see [`crate::driver::enter_worker`]) and inserts, re-arms and
//! cancels there, whichever thread it is polled or dropped on later. So
//! timers made on different workers take different locks and count
//! references on different cache lines; only the driver's turn visits every
//! shard.
//!
//! **Waking a parked driver.** The driver blocks with a timeout computed
//! from every shard's next deadline. A timer inserted from another thread
//! that is due before that must cut the wait short, and only then: an
//! unpark is a syscall and a wake-up. [`TimeBase::next_wake`] says what the
//! driver knows:
//!
//! * `AWAKE` (0): it is not blocked; it reads every shard before it next
//!   blocks, so an insert needs nothing more.
//! * `u64::MAX`: it is blocked (or about to be) and knows of no timer.
//! * `n`: it will wake by tick `n` anyway: an unpark was sent for a timer of
//!   tick `n`, or `n` was its earliest deadline when it read the shards.
//!   Only with a running clock: a park with the clock paused wakes by no
//!   tick, so it keeps `u64::MAX` from before its auto-advance looks at the
//!   wheels to its end (`TimeShared::parking_unbounded`), and every insert
//!   meanwhile unparks it.
//!
//! The driver stores `u64::MAX` *before* it reads the shards, lowers the
//! word to its earliest deadline after (`fetch_min`, keeping a lower claim
//! an insert made meanwhile), blocks, and stores `AWAKE` when it wakes. An
//! insert of a timer due at tick `t` lowers the word to `t` (`fetch_min`)
//! and unparks only if the word was above `t`. Either the driver's read of
//! the shard came after the insert (it sees the timer), or its `u64::MAX`
//! store came before the insert, so the insert's `fetch_min` sees that
//! store or a later value: `u64::MAX`, a deadline the driver read without
//! this timer, a lower claim whose unpark is already on its way, or `AWAKE`
//! (the driver woke meanwhile, and its next park's read comes after this
//! insert). Each case either unparks or leaves a driver that wakes by `t`.
//! (The loom models below check it, shards and claims included.)

use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::task::Waker;
use std::time::Instant;

use super::wheel::{Inserted, Key, Wheel};
use super::TimeBase;
use crate::sys::lock::lock;
use crate::sys::loom::{Mutex, MutexGuard};

/// [`TimeBase::next_wake`]: the driver is not blocked.
pub(super) const AWAKE: u64 = 0;

/// Wakes the thread blocked in the driver (the I/O driver's eventfd).
/// `RefUnwindSafe`, so that a `Sleep` (which reaches it through its shard)
/// stays `UnwindSafe` as before the shards.
pub(crate) trait Unpark: Send + Sync + std::panic::RefUnwindSafe + 'static {
    fn unpark(&self);
}

/// A shard: a wheel and its lock. Aligned apart from its neighbours, so two
/// workers' shards never share a cache line.
#[repr(align(128))]
pub(crate) struct TimerShard {
    base: Arc<TimeBase>,
    wheel: Mutex<Wheel>,
}

/// A timer's place: which shard's wheel, and its key there.
pub(crate) type TimerKey = Key;

/// What [`TimerShard::reset`] did.
pub(crate) enum Reset {
    /// The timer had fired (or was gone): nothing is registered now.
    Gone,
    /// Re-armed under a new key.
    Pending(TimerKey),
    /// The new deadline has passed already: the timer is gone, and here is
    /// its waker to wake.
    Elapsed(Waker),
}

impl TimerShard {
    pub(super) fn new(base: Arc<TimeBase>) -> TimerShard {
        TimerShard {
            base,
            wheel: Mutex::new(Wheel::new()),
        }
    }

    pub(super) fn wheel(&self) -> MutexGuard<'_, Wheel> {
        // A panic cannot leave the wheel half-updated (no user code runs
        // under the lock), so a poisoned lock is still consistent.
        lock(&self.wheel)
    }

    /// Inserts a timer due at `deadline`, to wake `waker`; unparks the
    /// driver if it is blocked past that deadline (see the module docs).
    pub(crate) fn insert(&self, deadline: Instant, waker: Waker) -> Inserted {
        let when = self.base.deadline_to_tick(deadline);
        let mut wheel = self.wheel();
        let inserted = self.insert_locked(&mut wheel, when, deadline, waker);
        drop(wheel);
        if matches!(inserted, Inserted::Pending(_)) {
            self.wake_driver_for(when);
        }
        inserted
    }

    fn insert_locked(
        &self,
        wheel: &mut Wheel,
        when: u64,
        _deadline: Instant,
        waker: Waker,
    ) -> Inserted {
        #[cfg(not(feature = "test-util"))]
        {
            wheel.insert(when, waker)
        }
        #[cfg(feature = "test-util")]
        {
            wheel.insert_exact(when, self.base.nanos_since_origin(_deadline), waker)
        }
    }

    /// A timer of tick `when` was just inserted: unparks the driver if it
    /// is blocked and would not wake by `when` on its own.
    fn wake_driver_for(&self, when: u64) {
        let next_wake = &self.base.next_wake;
        // The load first: while the driver is awake (or waits for something
        // earlier) an insert reads a line it does not write.
        if when < next_wake.load(SeqCst) && when < next_wake.fetch_min(when, SeqCst) {
            self.base.unpark.unpark();
        }
    }

    /// `Sleep::poll` with a registered timer: true (and the entry freed) if
    /// it has fired; otherwise the timer will wake `waker`.
    pub(crate) fn poll_fired(&self, key: TimerKey, waker: &Waker) -> bool {
        let mut wheel = self.wheel();
        if wheel.is_fired(key) {
            wheel.remove(key);
            true
        } else {
            wheel.set_waker(key, waker);
            false
        }
    }

    /// Removes a timer, fired or not; returns its waker if it had not fired.
    pub(crate) fn remove(&self, key: TimerKey) -> Option<Waker> {
        self.wheel().remove(key)
    }

    /// Moves a timer to `deadline`, under one lock.
    pub(crate) fn reset(&self, key: TimerKey, deadline: Instant) -> Reset {
        let when = self.base.deadline_to_tick(deadline);
        let mut wheel = self.wheel();
        let Some(waker) = wheel.remove(key) else {
            return Reset::Gone;
        };
        match self.insert_locked(&mut wheel, when, deadline, waker.clone()) {
            Inserted::Pending(key) => {
                drop(wheel);
                self.wake_driver_for(when);
                Reset::Pending(key)
            }
            Inserted::Elapsed => Reset::Elapsed(waker),
        }
    }

    /// Timers waiting in this shard.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.wheel().len()
    }
}

#[cfg(all(test, weft_loom))]
mod loom_models {
    use super::super::TimeShared;
    use super::*;
    use crate::sys::lock::wait;
    use crate::sys::loom::Condvar;
    use loom::thread;
    use std::time::Duration;

    /// A stand-in for the I/O driver's wait: blocks until unparked (a
    /// sticky flag, as the eventfd is).
    struct FakeIo {
        woken: Mutex<bool>,
        condvar: Condvar,
    }

    impl Unpark for FakeIo {
        fn unpark(&self) {
            *lock(&self.woken) = true;
            self.condvar.notify_one();
        }
    }

    impl FakeIo {
        fn new() -> Arc<FakeIo> {
            Arc::new(FakeIo {
                woken: Mutex::new(false),
                condvar: Condvar::new(),
            })
        }

        fn wait(&self) {
            let mut woken = lock(&self.woken);
            while !*woken {
                woken = wait(&self.condvar, woken);
            }
            *woken = false;
        }
    }

    fn time(io: &Arc<FakeIo>, shards: usize) -> Arc<TimeShared> {
        let unpark: Arc<dyn Unpark> = io.clone();
        #[cfg(feature = "test-util")]
        let mut time = TimeShared::new(unpark, false);
        #[cfg(not(feature = "test-util"))]
        let mut time = TimeShared::new(unpark);
        time.set_shards(shards);
        Arc::new(time)
    }

    /// The driver's park, `rounds` times: announce, read every shard, and
    /// block unless it knows of a deadline at or before `earliest` (the
    /// earliest timer the model leaves in the wheels, which the driver must
    /// wake for: by its own timeout if it read it, otherwise by an unpark).
    /// A lost unpark leaves it blocked: loom reports the deadlock.
    fn drive(time: &TimeShared, io: &FakeIo, rounds: usize, earliest: u64) {
        for _ in 0..rounds {
            let timeout = time.parking(time.origin());
            let knows = timeout.map(|t| t.as_millis() as u64);
            if knows.is_none_or(|tick| tick > earliest) {
                io.wait();
            }
            time.unparked();
        }
    }

    fn at(time: &TimeShared, tick: u64) -> Instant {
        time.origin() + Duration::from_millis(tick)
    }

    /// One insert from another thread, into another shard than the one
    /// holding a later timer, races the driver's park.
    #[test]
    fn loom_insert_from_another_thread_wakes_a_parked_driver() {
        loom::model(|| {
            let io = FakeIo::new();
            let time = time(&io, 2);
            let _ = time.shard(0).insert(at(&time, 50), Waker::noop().clone());
            let inserter = {
                let time = Arc::clone(&time);
                thread::spawn(move || {
                    let _ = time.shard(1).insert(at(&time, 10), Waker::noop().clone());
                })
            };
            drive(&time, &io, 1, 10);
            inserter.join().unwrap();
        });
    }

    /// A stale deadline from an earlier park must not hold back the unpark
    /// for a later one: the driver parks knowing of an early timer, that
    /// timer is cancelled, the driver parks again while a later timer is
    /// inserted.
    #[test]
    fn loom_a_cancelled_timer_does_not_hide_a_new_one() {
        loom::model(|| {
            let io = FakeIo::new();
            let time = time(&io, 2);
            let Inserted::Pending(early) =
                time.shard(0).insert(at(&time, 5), Waker::noop().clone())
            else {
                panic!("not due yet")
            };
            let inserter = {
                let time = Arc::clone(&time);
                thread::spawn(move || {
                    time.shard(0).remove(early);
                    let _ = time.shard(1).insert(at(&time, 20), Waker::noop().clone());
                })
            };
            // Round one may see the early timer (and wake for it by its own
            // timeout); then the new one must wake it, whoever reads what.
            drive(&time, &io, 2, 20);
            inserter.join().unwrap();
        });
    }

    /// Two inserts race the park: the first to claim the wake unparks, the
    /// other (later) relies on that claim; the driver's next park still
    /// sees whatever it must wake for.
    #[test]
    fn loom_claims_from_two_threads() {
        loom::model(|| {
            let io = FakeIo::new();
            let time = time(&io, 3);
            let inserters: Vec<_> = [(1, 30), (2, 40)]
                .into_iter()
                .map(|(shard, tick)| {
                    let time = Arc::clone(&time);
                    thread::spawn(move || {
                        let _ = time
                            .shard(shard)
                            .insert(at(&time, tick), Waker::noop().clone());
                    })
                })
                .collect();
            drive(&time, &io, 2, 30);
            for inserter in inserters {
                inserter.join().unwrap();
            }
        });
    }
}
