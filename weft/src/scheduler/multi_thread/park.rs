//! Parking a worker: in the driver if it can get it, on a condvar if not.
//!
//! One worker at a time owns the I/O and time driver and blocks in
//! `epoll_wait`; the others sleep on their own condvar. (With an io_uring
//! ring per worker, every worker blocks in its own ring instead, the
//! driver's holder with the timers' timeout: "in the driver" then means in
//! the worker's ring.) The state word says which, so an unpark reaches
//! each the matching way: a condvar notify, or a write to the driver's
//! (the worker's ring's) eventfd. An unpark that arrives before the park
//! leaves NOTIFIED behind and the park returns at once, as
//! `std::thread::park` does, so no wake-up is lost between "nothing to do"
//! and "asleep".

use std::sync::atomic::Ordering::SeqCst;

use crate::sys::lock::{lock, wait};
use crate::sys::loom::{AtomicUsize, Condvar, Mutex};

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

/// What the parker needs of the driver.
pub(crate) trait Driver {
    /// Blocks until an event, the next timer, or [`Unpark::unpark_driver`].
    fn park(&mut self);
}

/// Wakes whichever thread blocks in the driver.
pub(crate) trait Unpark {
    fn unpark_driver(&self);
}

/// One per worker.
pub(crate) struct Parker {
    state: AtomicUsize,
    lock: Mutex<()>,
    condvar: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker {
            state: AtomicUsize::new(EMPTY),
            lock: Mutex::new(()),
            condvar: Condvar::new(),
        }
    }

    /// Sleeps until [`unpark`](Self::unpark) (or returns at once if one came
    /// since the last park), blocking in `driver` when this worker holds it.
    /// May return spuriously (the driver saw an event, or a stale eventfd
    /// write): callers re-check their queues.
    pub(crate) fn park(&self, driver: Option<&mut dyn Driver>) {
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        match driver {
            Some(driver) => self.park_driver(driver),
            None => self.park_condvar(),
        }
    }

    fn park_driver(&self, driver: &mut dyn Driver) {
        match self
            .state
            .compare_exchange(EMPTY, PARKED_DRIVER, SeqCst, SeqCst)
        {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.store(EMPTY, SeqCst);
                return;
            }
            Err(other) => unreachable!("weft: parker in state {other} while parking"),
        }
        driver.park();
        // NOTIFIED if unparked, PARKED_DRIVER if an event (or someone
        // else's unpark) woke the driver.
        self.state.store(EMPTY, SeqCst);
    }

    fn park_condvar(&self) {
        let mut guard = lock(&self.lock);
        match self
            .state
            .compare_exchange(EMPTY, PARKED_CONDVAR, SeqCst, SeqCst)
        {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.store(EMPTY, SeqCst);
                return;
            }
            Err(other) => unreachable!("weft: parker in state {other} while parking"),
        }
        loop {
            guard = wait(&self.condvar, guard);
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                .is_ok()
            {
                return;
            }
            // Spurious condvar wake-up: sleep again.
        }
    }

    /// Wakes the worker, or makes its next park return at once.
    pub(crate) fn unpark(&self, driver: &dyn Unpark) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED_CONDVAR => {
                // Taking the lock orders this notify after the parker's
                // wait began (it set PARKED_CONDVAR under the lock).
                drop(lock(&self.lock));
                self.condvar.notify_one();
            }
            PARKED_DRIVER => driver.unpark_driver(),
            other => unreachable!("weft: parker in state {other}"),
        }
    }
}

#[cfg(all(test, weft_loom))]
mod loom_models {
    use super::super::idle::Idle;
    use super::*;
    use loom::sync::atomic::AtomicUsize;
    use loom::sync::Arc;
    use loom::thread;
    use std::sync::atomic::Ordering::SeqCst;

    /// A stand-in driver: blocks until its flag is set.
    struct FakeDriver {
        woken: Mutex<bool>,
        condvar: Condvar,
    }

    impl FakeDriver {
        fn new() -> FakeDriver {
            FakeDriver {
                woken: Mutex::new(false),
                condvar: Condvar::new(),
            }
        }
    }

    struct Parking<'a>(&'a FakeDriver);

    impl Driver for Parking<'_> {
        fn park(&mut self) {
            let mut woken = lock(&self.0.woken);
            while !*woken {
                woken = wait(&self.0.condvar, woken);
            }
            *woken = false;
        }
    }

    impl Unpark for FakeDriver {
        fn unpark_driver(&self) {
            *lock(&self.woken) = true;
            self.condvar.notify_one();
        }
    }

    /// An unpark racing a park, either way round, always ends the park
    /// (loom fails the model if a thread blocks forever).
    #[test]
    fn loom_park_unpark_condvar_and_driver() {
        for in_driver in [false, true] {
            loom::model(move || {
                let parker = Arc::new(Parker::new());
                let driver = Arc::new(FakeDriver::new());
                let unparker = {
                    let (parker, driver) = (parker.clone(), driver.clone());
                    thread::spawn(move || parker.unpark(&*driver))
                };
                if in_driver {
                    parker.park(Some(&mut Parking(&driver)));
                } else {
                    parker.park(None);
                }
                unparker.join().unwrap();
            });
        }
    }

    /// The scheduler's sleep protocol (worker.rs, `Worker::park` and
    /// `Shared::notify_parked`) with an atomic counter standing in for the
    /// global queue: a task pushed while the only worker decides to sleep
    /// is always run. If the wake were lost the worker would sleep forever
    /// and loom would report the deadlock.
    #[test]
    fn loom_no_lost_wake_between_empty_and_parked() {
        loom::model(|| {
            let idle = Arc::new(Idle::new(1));
            let parker = Arc::new(Parker::new());
            let driver = Arc::new(FakeDriver::new());
            let queue = Arc::new(AtomicUsize::new(0));
            let notifier = {
                let (idle, parker, driver, queue) =
                    (idle.clone(), parker.clone(), driver.clone(), queue.clone());
                thread::spawn(move || {
                    queue.fetch_add(1, SeqCst);
                    if let Some(worker) = idle.worker_to_notify() {
                        assert_eq!(worker, 0);
                        parker.unpark(&*driver);
                    }
                })
            };
            let pop = || {
                queue
                    .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
                    .is_ok()
            };
            // The worker's loop, reduced to its queue checks and its sleep.
            let mut searching = false;
            loop {
                if pop() {
                    break;
                }
                if !searching {
                    searching = idle.transition_to_searching();
                    if searching {
                        continue;
                    }
                }
                if idle.transition_to_parked(0, searching) && queue.load(SeqCst) > 0 {
                    if let Some(worker) = idle.worker_to_notify() {
                        parker.unpark(&*driver);
                        assert_eq!(worker, 0);
                    }
                }
                loop {
                    parker.park(Some(&mut Parking(&driver)));
                    if !idle.is_parked(0) {
                        searching = true;
                        break;
                    }
                }
            }
            if searching {
                idle.transition_from_searching();
            }
            notifier.join().unwrap();
        });
    }

    /// The same protocol with two workers and shutdown: one task is pushed
    /// from outside while both workers go to sleep; whichever runs it then
    /// shuts the other down. A lost wake leaves both asleep (deadlock).
    #[test]
    fn loom_two_workers_no_lost_wake() {
        loom::model(|| {
            let idle = Arc::new(Idle::new(2));
            let parkers = Arc::new([Parker::new(), Parker::new()]);
            let driver = Arc::new(FakeDriver::new());
            let queue = Arc::new(AtomicUsize::new(0));
            let closed = Arc::new(AtomicUsize::new(0));
            let workers: Vec<_> = (0..2)
                .map(|index| {
                    let (idle, parkers, driver, queue, closed) = (
                        idle.clone(),
                        parkers.clone(),
                        driver.clone(),
                        queue.clone(),
                        closed.clone(),
                    );
                    thread::spawn(move || {
                        let notify = || {
                            if let Some(worker) = idle.worker_to_notify() {
                                parkers[worker].unpark(&*driver);
                            }
                        };
                        let mut searching = false;
                        loop {
                            if closed.load(SeqCst) == 1 {
                                return false;
                            }
                            // next_task / steal_work: the global queue.
                            if !searching {
                                searching = idle.transition_to_searching();
                            }
                            let got = queue
                                .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
                                .is_ok();
                            if got {
                                if searching && idle.transition_from_searching() {
                                    notify();
                                }
                                // "Run" it: shut the runtime down.
                                closed.store(1, SeqCst);
                                parkers[1 - index].unpark(&*driver);
                                return true;
                            }
                            // park()
                            if idle.transition_to_parked(index, std::mem::take(&mut searching))
                                && queue.load(SeqCst) > 0
                            {
                                notify();
                            }
                            loop {
                                if closed.load(SeqCst) == 1 {
                                    return false;
                                }
                                parkers[index].park(None);
                                if closed.load(SeqCst) == 1 {
                                    return false;
                                }
                                if !idle.is_parked(index) {
                                    searching = true;
                                    break;
                                }
                            }
                        }
                    })
                })
                .collect();
            queue.fetch_add(1, SeqCst);
            if let Some(worker) = idle.worker_to_notify() {
                parkers[worker].unpark(&*driver);
            }
            let ran: usize = workers
                .into_iter()
                .map(|w| usize::from(w.join().unwrap()))
                .sum();
            assert_eq!(ran, 1, "the task ran exactly once");
        });
    }
}
