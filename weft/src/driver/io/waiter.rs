//! `Waiter`: the waker slot of one direction of one resource.
//!
//! Like `futures`' `AtomicWaker`, but the driver wakes the stored waker *by
//! reference* and leaves it in place. A task that waits on the same
//! resource again — every read after every message on a connection — then
//! finds its own waker already stored (`will_wake`) and registers without
//! cloning it, and the wake costs no reference-count traffic either.
//!
//! Several tasks may wait on one direction (acceptors sharing a listener,
//! receivers sharing a UDP socket): a task that registers while another's
//! waker is stored moves that one to a list of earlier waiters, which the
//! next wake wakes and empties. So every waiting task is woken; a task that
//! stopped waiting meanwhile gets one spurious wake. Registering never
//! wakes anybody, so two waiting tasks cannot keep waking each other.
//!
//! The state word serialises access to the waker cell:
//!
//! | state       | who holds the cell                                    |
//! |-------------|-------------------------------------------------------|
//! | IDLE        | nobody                                                |
//! | REGISTERING | `register`, storing a waker                           |
//! | WAKING      | `wake` or `take`, reading the waker                   |
//! | both        | `register`, which must deliver the wake it overlapped |
//! | + DISCARD   | `take` found a wake running: the waker must go when it ends |
//!
//! Every exit from a held state goes through a guard, so a waker that
//! panics (in `clone`, `drop` or `wake_by_ref`) never leaves the slot stuck.
//! A `register` that finds the cell held looks again briefly, yielding its
//! CPU once, before it falls back to waking its own waker
//! (`claim_for_register` says why).

use std::sync::atomic::Ordering::{AcqRel, Acquire};
use std::task::Waker;

use crate::sys::loom::{spin_loop, yield_now, AtomicU8, UnsafeCell};

const IDLE: u8 = 0;
const REGISTERING: u8 = 1;
const WAKING: u8 = 2;
/// Set by `take` while a wake holds the cell: the waking thread drops the
/// waker before it lets go, so a released slot keeps no task alive.
const DISCARD: u8 = 4;

/// How many more times `register` tries for a cell a wake holds (spinning,
/// then yielding its CPU once) before it gives up and wakes its own waker.
const CLAIM_RETRIES: usize = if cfg!(weft_loom) { 1 } else { 64 };

pub(crate) struct Waiter {
    state: AtomicU8,
    waker: UnsafeCell<Slot>,
}

/// The wakers of one direction.
#[derive(Default)]
struct Slot {
    /// The latest task to wait; kept across wakes.
    latest: Option<Waker>,
    /// Earlier tasks still waiting (or not any more: they get one spurious
    /// wake); the next wake wakes and drops them. Empty, unallocated, while
    /// one task uses the direction.
    earlier: Vec<Waker>,
}

impl Slot {
    /// Stores a waker that is not the latest one: a first waiter, or a
    /// task waiting beside another (which is kept for the next wake).
    #[inline(never)]
    fn store(&mut self, waker: &Waker) {
        match self.latest.replace(waker.clone()) {
            None => {}
            Some(displaced) => {
                self.earlier.retain(|earlier| !earlier.will_wake(waker));
                self.earlier.push(displaced);
            }
        }
    }
}

// SAFETY: the cell is only touched by the thread that moved `state` out of
// IDLE (see the table above), so accesses never overlap; `Waker` is `Send +
// Sync`.
unsafe impl Sync for Waiter {}
// SAFETY: moving a `Waiter` moves its stored `Waker`s, which are `Send`;
// the `UnsafeCell` holds no thread-bound state.
unsafe impl Send for Waiter {}

/// A panic cannot leave a `Waiter` half-updated for whoever looks next: its
/// guards put the state word back (IDLE, with DISCARD honoured) on every
/// path out, unwinding included, and the cell holds only wakers. So the
/// sockets that hold one stay `UnwindSafe`, as tokio's are.
impl std::panic::RefUnwindSafe for Waiter {}

impl Waiter {
    pub(crate) fn new() -> Waiter {
        Waiter {
            state: AtomicU8::new(IDLE),
            waker: UnsafeCell::new(Slot::default()),
        }
    }

    /// Stores `waker` to be woken by the next [`wake`](Self::wake).
    pub(crate) fn register(&self, waker: &Waker) {
        if !self.claim_for_register() {
            // A wake is still running (or another task registers at the
            // same time, which only happens when two tasks share a
            // direction, or this thread is inside the wake): wake this
            // waker so its task polls again rather than sleep through the
            // event.
            waker.wake_by_ref();
            return;
        }
        /// Leaves REGISTERING, delivering a wake that arrived meanwhile;
        /// also on unwind.
        struct Finish<'a> {
            waiter: &'a Waiter,
            waker: &'a Waker,
        }
        impl Drop for Finish<'_> {
            fn drop(&mut self) {
                let state = &self.waiter.state;
                if state
                    .compare_exchange(REGISTERING, IDLE, AcqRel, Acquire)
                    .is_err()
                {
                    // A wake came while we held the cell and left its
                    // delivery to us: to this task, and to the earlier
                    // waiters it would have woken (taken while we still
                    // hold the cell, woken once we let go). The swap (not a
                    // store) pairs with that wake's `fetch_or`, so its
                    // readiness is visible to the tasks we wake. The state
                    // is released before any waker runs, and each wake is
                    // contained (this may run while a panic unwinds), so a
                    // panicking waker can neither leave the waiter stuck
                    // nor cost the others their wake.
                    let earlier = self.waiter.waker.with_mut(|slot| {
                        // SAFETY: REGISTERING is still held.
                        let slot = unsafe { &mut *slot };
                        std::mem::take(&mut slot.earlier)
                    });
                    state.swap(IDLE, AcqRel);
                    earlier.into_iter().for_each(crate::driver::wake_contained);
                    let own = self.waker;
                    crate::driver::each_contained(std::iter::once(()), |()| own.wake_by_ref());
                }
            }
        }
        let _finish = Finish {
            waiter: self,
            waker,
        };
        self.waker.with_mut(|slot| {
            // SAFETY: we moved the state from IDLE to REGISTERING, so we hold
            // the cell until `_finish` moves it back.
            let slot = unsafe { &mut *slot };
            if !slot
                .latest
                .as_ref()
                .is_some_and(|stored| stored.will_wake(waker))
            {
                slot.store(waker);
            }
        });
    }

    /// Moves the state from IDLE to REGISTERING: true if this thread holds
    /// the cell now. A wake holds it only while it calls a waker, but the
    /// thread waking can be switched out right there (the waker's own
    /// `unpark` of a thread on the same CPU does it), and a task that woke
    /// itself at once and came back would find the cell held again and
    /// again, spinning through that thread's whole time slice (measured:
    /// `block_on` accepting on a multi-thread runtime pinned to one CPU,
    /// 4 × tokio's user CPU per connection). So it looks again a few times,
    /// then yields its CPU once, for the waking thread to finish.
    fn claim_for_register(&self) -> bool {
        for attempt in 0..=CLAIM_RETRIES {
            if self
                .state
                .compare_exchange(IDLE, REGISTERING, Acquire, Acquire)
                .is_ok()
            {
                return true;
            }
            match CLAIM_RETRIES - attempt {
                0 => {}
                1 => yield_now(),
                _ => spin_loop(),
            }
        }
        false
    }

    /// Wakes the stored waker, leaving it stored.
    pub(crate) fn wake(&self) {
        if self.state.fetch_or(WAKING, AcqRel) != IDLE {
            // A `register` holds the cell and will see WAKING, or another
            // wake is delivering already.
            return;
        }
        /// Leaves WAKING (also if the waker panics), dropping the waker
        /// first if a `take` asked for it meanwhile.
        struct Finish<'a>(&'a Waiter);
        impl Drop for Finish<'_> {
            fn drop(&mut self) {
                let state = &self.0.state;
                // While we hold WAKING only `take` changes the state, by
                // adding DISCARD; so this fails only when the waker must go.
                if state
                    .compare_exchange(WAKING, IDLE, AcqRel, Acquire)
                    .is_err()
                {
                    let discarded = self.0.waker.with_mut(|slot| {
                        // SAFETY: we still hold WAKING.
                        unsafe { std::mem::take(&mut *slot) }
                    });
                    state.store(IDLE, std::sync::atomic::Ordering::Release);
                    drop(discarded);
                }
            }
        }
        let _finish = Finish(self);
        // If the latest waker panics, the earlier waiters are still woken
        // (dropped while unwinding, after the cell's use below has ended and
        // before `_finish` lets go of WAKING); the driver then contains the
        // panic and goes on with its batch. Forgotten on the normal path.
        let earlier_on_unwind = EarlierOnUnwind(self);
        let earlier = self.waker.with(|slot| {
            // SAFETY: we moved the state from IDLE to WAKING, so nobody else
            // touches the cell until `_finish` clears WAKING.
            let slot = unsafe { &*slot };
            if let Some(waker) = &slot.latest {
                waker.wake_by_ref();
            }
            !slot.earlier.is_empty()
        });
        std::mem::forget(earlier_on_unwind);
        if earlier {
            self.wake_earlier();
        }
    }
}

/// Wakes a waiter's earlier waiters if dropped, which happens only while a
/// panic from its latest waker unwinds (the normal path forgets it). Made
/// while holding WAKING, dropped before it is released.
struct EarlierOnUnwind<'a>(&'a Waiter);

impl Drop for EarlierOnUnwind<'_> {
    fn drop(&mut self) {
        self.0.wake_earlier();
    }
}

impl Waiter {
    /// The rest of a wake when several tasks wait: wakes and drops the
    /// earlier waiters, each contained (this also runs while a panic from
    /// the latest waker unwinds). Called holding WAKING.
    #[cold]
    #[inline(never)]
    fn wake_earlier(&self) {
        let earlier = self.waker.with_mut(|slot| {
            // SAFETY: the caller holds WAKING, so nobody else touches the
            // cell.
            let slot = unsafe { &mut *slot };
            std::mem::take(&mut slot.earlier)
        });
        // Outside the cell's use, still inside WAKING. A panicking waker is
        // reported and the rest are still woken.
        earlier.into_iter().for_each(crate::driver::wake_contained);
    }

    /// Removes the stored waker (the resource is going away). Never waits:
    /// if a wake is being delivered right now — possibly by this very
    /// thread, from inside that wake — it marks the waker for that wake to
    /// drop when it finishes, and returns `None`.
    pub(crate) fn take(&self) -> Option<Waker> {
        let mut current = IDLE;
        loop {
            if current & WAKING != 0 {
                match self
                    .state
                    .compare_exchange(current, current | DISCARD, AcqRel, Acquire)
                {
                    Ok(_) => return None,
                    Err(actual) => current = actual,
                }
                continue;
            }
            match self.state.compare_exchange(IDLE, WAKING, Acquire, Acquire) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        let slot = self.waker.with_mut(|slot| {
            // SAFETY: we hold the cell (IDLE -> WAKING) until the store below.
            unsafe { std::mem::take(&mut *slot) }
        });
        self.state.store(IDLE, std::sync::atomic::Ordering::Release);
        drop(slot.earlier);
        slot.latest
    }
}

#[cfg(all(test, not(weft_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use crate::test_util::Count;

    #[test]
    fn wakes_by_reference_and_keeps_the_waker() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&count));
        let waiter = Waiter::new();
        waiter.wake(); // nothing stored: nothing happens
        waiter.register(&waker);
        assert_eq!(Arc::strong_count(&count), 3, "one clone stored");
        waiter.wake();
        waiter.wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        waiter.register(&waker);
        assert_eq!(
            Arc::strong_count(&count),
            3,
            "the same waker is not cloned again"
        );
        assert!(waiter.take().is_some());
        assert_eq!(Arc::strong_count(&count), 2);
        waiter.wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn every_waiting_task_is_woken_once_then_only_the_latest_stays() {
        let (a, b) = (
            Arc::new(Count(AtomicUsize::new(0))),
            Arc::new(Count(AtomicUsize::new(0))),
        );
        let (waker_a, waker_b) = (Waker::from(Arc::clone(&a)), Waker::from(Arc::clone(&b)));
        let waiter = Waiter::new();
        waiter.register(&waker_a);
        waiter.register(&waker_b);
        waiter.register(&waker_a); // back to latest: not kept twice
        waiter.register(&waker_b);
        waiter.wake();
        assert_eq!(a.0.load(Ordering::SeqCst), 1, "the earlier waiter is woken");
        assert_eq!(b.0.load(Ordering::SeqCst), 1, "the latest is woken");
        waiter.wake();
        assert_eq!(
            a.0.load(Ordering::SeqCst),
            1,
            "the earlier one went with the wake"
        );
        assert_eq!(b.0.load(Ordering::SeqCst), 2, "the latest stays");
        waiter.register(&waker_a);
        assert!(waiter.take().unwrap().will_wake(&waker_a));
        drop((waker_a, waker_b));
        assert_eq!(Arc::strong_count(&a), 1, "take dropped every stored waker");
        assert_eq!(Arc::strong_count(&b), 1);
    }

    #[test]
    fn a_wake_racing_a_registration_is_never_lost() {
        // Lockstep with another thread that sets a flag and then wakes. If
        // the flag was still unset after `register` returned, the wake came
        // after the registration and must reach our waker. The waits yield
        // rather than spin: under valgrind (CI's memcheck step) threads run
        // one at a time, and a spinner would hold the CPU for its whole
        // time slice while the thread it waits for cannot run.
        use std::sync::atomic::AtomicU64;
        use std::time::{Duration, Instant};

        // (The loom model `loom_register_races_wake` covers every
        // interleaving; this is the same race on real threads, kept short
        // enough for valgrind, where the two threads take turns with every
        // other test's.)
        const ROUNDS: u64 = 5_000;
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&count));
        let waiter = Arc::new(Waiter::new());
        let (go, flag, done) = (
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicU64::new(0)),
        );
        let other = {
            let (waiter, go, flag, done) = (
                Arc::clone(&waiter),
                Arc::clone(&go),
                Arc::clone(&flag),
                Arc::clone(&done),
            );
            std::thread::spawn(move || {
                for i in 1..=ROUNDS {
                    let deadline = Instant::now() + Duration::from_secs(60);
                    while go.load(Ordering::SeqCst) != i {
                        assert!(Instant::now() < deadline, "lockstep stalled");
                        std::thread::yield_now();
                    }
                    flag.store(i, Ordering::SeqCst);
                    waiter.wake();
                    done.store(i, Ordering::SeqCst);
                }
            })
        };
        let wait_for = |what: &dyn Fn() -> bool, message: &str| {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !what() {
                assert!(Instant::now() < deadline, "{message}");
                std::thread::yield_now();
            }
        };
        for i in 1..=ROUNDS {
            let before = count.0.load(Ordering::SeqCst);
            go.store(i, Ordering::SeqCst);
            waiter.register(&waker);
            if flag.load(Ordering::SeqCst) != i {
                wait_for(
                    &|| count.0.load(Ordering::SeqCst) > before,
                    "a wake was lost",
                );
            }
            wait_for(
                &|| done.load(Ordering::SeqCst) == i,
                "the waking thread stalled",
            );
        }
        other.join().unwrap();
    }
}

#[cfg(all(test, weft_loom))]
mod loom_models {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use crate::test_util::Count;

    /// Every interleaving of a registration with a wake that follows a flag:
    /// if the registering thread did not see the flag after registering,
    /// the wake must reach its waker.
    #[test]
    fn loom_register_races_wake() {
        loom::model(|| {
            let count = Arc::new(Count(AtomicUsize::new(0)));
            let waker = Waker::from(Arc::clone(&count));
            let waiter = loom::sync::Arc::new(Waiter::new());
            let flag = loom::sync::Arc::new(loom::sync::atomic::AtomicBool::new(false));
            let other = {
                let (waiter, flag) = (waiter.clone(), flag.clone());
                loom::thread::spawn(move || {
                    flag.store(true, Ordering::SeqCst);
                    waiter.wake();
                })
            };
            waiter.register(&waker);
            let saw_flag = flag.load(Ordering::SeqCst);
            other.join().unwrap();
            if !saw_flag {
                assert!(count.0.load(Ordering::SeqCst) >= 1, "the wake was lost");
            }
            drop(waiter.take());
        });
    }

    /// A task already waiting while a second one registers, racing a wake:
    /// whichever way they interleave, the first task is woken (directly,
    /// through the second's registration, or from the earlier list).
    #[test]
    fn loom_second_waiter_races_wake_and_the_first_is_still_woken() {
        loom::model(|| {
            let (first, second) = (
                Arc::new(Count(AtomicUsize::new(0))),
                Arc::new(Count(AtomicUsize::new(0))),
            );
            let waiter = loom::sync::Arc::new(Waiter::new());
            waiter.register(&Waker::from(Arc::clone(&first)));
            let other = {
                let waiter = waiter.clone();
                loom::thread::spawn(move || waiter.wake())
            };
            waiter.register(&Waker::from(Arc::clone(&second)));
            other.join().unwrap();
            assert!(
                first.0.load(Ordering::SeqCst) >= 1,
                "the first waiter was lost"
            );
            drop(waiter.take());
        });
    }

    /// Two wakes (each after its own flag) race one registration: if the
    /// registering thread missed either flag, a wake reached its waker.
    #[test]
    fn loom_register_races_two_wakes() {
        loom::model(|| {
            let count = Arc::new(Count(AtomicUsize::new(0)));
            let waker = Waker::from(Arc::clone(&count));
            let waiter = loom::sync::Arc::new(Waiter::new());
            let flags = loom::sync::Arc::new([
                loom::sync::atomic::AtomicBool::new(false),
                loom::sync::atomic::AtomicBool::new(false),
            ]);
            let others: Vec<_> = (0..2)
                .map(|i| {
                    let (waiter, flags) = (waiter.clone(), flags.clone());
                    loom::thread::spawn(move || {
                        flags[i].store(true, Ordering::SeqCst);
                        waiter.wake();
                    })
                })
                .collect();
            waiter.register(&waker);
            let saw_all = flags.iter().all(|f| f.load(Ordering::SeqCst));
            for other in others {
                other.join().unwrap();
            }
            if !saw_all {
                assert!(count.0.load(Ordering::SeqCst) >= 1, "a wake was lost");
            }
        });
    }

    /// `take` while a wake runs returns the waker exactly once and never
    /// overlaps the wake's use of the cell.
    #[test]
    fn loom_take_alone() {
        loom::model(|| {
            let count = Arc::new(Count(AtomicUsize::new(0)));
            let waker = Waker::from(Arc::clone(&count));
            let waiter = Waiter::new();
            waiter.register(&waker);
            assert!(waiter.take().is_some());
        });
    }

    #[test]
    fn loom_take_races_wake() {
        loom::model(|| {
            let count = Arc::new(Count(AtomicUsize::new(0)));
            let waker = Waker::from(Arc::clone(&count));
            let waiter = loom::sync::Arc::new(Waiter::new());
            waiter.register(&waker);
            let other = {
                let waiter = waiter.clone();
                loom::thread::spawn(move || waiter.wake())
            };
            let taken = waiter.take();
            other.join().unwrap();
            // Either `take` got the waker, or the wake was running and
            // dropped it on the way out: either way the slot holds none.
            drop(taken);
            assert!(waiter.take().is_none());
            assert_eq!(
                Arc::strong_count(&count),
                2,
                "the slot still holds the waker"
            );
        });
    }
}
