//! Which workers are parked and how many are searching for work.
//!
//! One word counts the workers that are *unparked* and, of those, the ones
//! *searching* (looking through the other queues after their own ran dry).
//! A spawn or a remote wake unparks a sleeper only when nobody is searching
//! (a searcher will find the task) and somebody sleeps; and it unparks at
//! most one, counting it as searching at once so the next notifier does not
//! wake a second. At most half the workers search at a time, so a burst of
//! wakes does not send every worker stealing from every other.
//!
//! The lost-wake argument: a notifier pushes the task, then, after a SeqCst
//! fence, reads the word; a worker going to sleep decrements the word, then,
//! after a SeqCst fence, if it was the last searcher, checks every queue
//! once more. (The fences matter: a push into a ring is a plain store, which
//! x86 may otherwise let a later load overtake.) Either the
//! notifier sees the worker still counted (someone unparked will run the
//! task: its owner, or the searcher that then re-checks) or the worker's
//! re-check sees the task.

use std::sync::atomic::Ordering::SeqCst;

use crate::sys::lock::lock;
use crate::sys::loom::{fence, AtomicUsize, Mutex};

const UNPARKED_SHIFT: usize = 16;
const SEARCHING_MASK: usize = (1 << UNPARKED_SHIFT) - 1;

pub(crate) struct Idle {
    /// `unparked << 16 | searching`.
    state: AtomicUsize,
    /// Indices of the parked workers.
    sleepers: Mutex<Vec<usize>>,
    workers: usize,
}

fn searching(state: usize) -> usize {
    state & SEARCHING_MASK
}

fn unparked(state: usize) -> usize {
    state >> UNPARKED_SHIFT
}

impl Idle {
    /// All `workers` start unparked and not searching.
    pub(crate) fn new(workers: usize) -> Idle {
        assert!(workers < SEARCHING_MASK, "worker count fits the state word");
        Idle {
            state: AtomicUsize::new(workers << UNPARKED_SHIFT),
            sleepers: Mutex::new(Vec::with_capacity(workers)),
            workers,
        }
    }

    fn should_notify(&self) -> bool {
        let state = self.state.load(SeqCst);
        searching(state) == 0 && unparked(state) < self.workers
    }

    /// Picks a sleeper to unpark for new work, marking it unparked and
    /// searching; `None` if a searcher exists or nobody sleeps.
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        // Orders the caller's push before the read of the word.
        fence(SeqCst);
        if !self.should_notify() {
            return None;
        }
        let mut sleepers = lock(&self.sleepers);
        if !self.should_notify() {
            return None;
        }
        let worker = sleepers.pop()?;
        self.state.fetch_add((1 << UNPARKED_SHIFT) | 1, SeqCst);
        Some(worker)
    }

    /// Worker `index` goes to sleep. Returns true if it was the last
    /// searcher: it must then look at every queue once more.
    pub(crate) fn transition_to_parked(&self, index: usize, searching_now: bool) -> bool {
        let mut sleepers = lock(&self.sleepers);
        let dec = (1 << UNPARKED_SHIFT) | usize::from(searching_now);
        let previous = self.state.fetch_sub(dec, SeqCst);
        sleepers.push(index);
        drop(sleepers);
        // Orders the decrement before the caller's re-check of the queues.
        fence(SeqCst);
        searching_now && searching(previous) == 1
    }

    /// A worker whose own queues are empty asks to search; refused when
    /// half the workers already do.
    pub(crate) fn transition_to_searching(&self) -> bool {
        let state = self.state.load(SeqCst);
        if 2 * searching(state) >= self.workers {
            return false;
        }
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// A searcher found work. Returns true if it was the last searcher: it
    /// should wake another to keep looking.
    pub(crate) fn transition_from_searching(&self) -> bool {
        let previous = self.state.fetch_sub(1, SeqCst);
        searching(previous) == 1
    }

    /// Worker `index` woke up on its own (its parker was unparked directly,
    /// or the driver gave it work). Returns true if it was still listed as
    /// a sleeper (and now is not); false if a notifier had already picked
    /// it, which counted it as searching.
    pub(crate) fn unpark_worker_by_id(&self, index: usize) -> bool {
        let mut sleepers = lock(&self.sleepers);
        match sleepers.iter().position(|&w| w == index) {
            Some(position) => {
                sleepers.swap_remove(position);
                self.state.fetch_add(1 << UNPARKED_SHIFT, SeqCst);
                true
            }
            None => false,
        }
    }

    /// True if every worker is parked (the paused clock's idle check).
    #[cfg(feature = "test-util")]
    pub(crate) fn all_parked(&self) -> bool {
        self.unparked() == 0
    }

    /// How many workers are awake (running, searching, or about to park).
    pub(crate) fn unparked(&self) -> usize {
        unparked(self.state.load(SeqCst))
    }

    /// True while worker `index` is listed as a sleeper.
    pub(crate) fn is_parked(&self, index: usize) -> bool {
        lock(&self.sleepers).contains(&index)
    }

    /// Workers searching now.
    #[cfg(test)]
    pub(crate) fn num_searching(&self) -> usize {
        searching(self.state.load(SeqCst))
    }
}

#[cfg(all(test, not(weft_loom)))]
mod tests {
    use super::*;

    #[test]
    fn notifies_one_sleeper_at_a_time() {
        let idle = Idle::new(3);
        assert_eq!(idle.worker_to_notify(), None, "nobody sleeps");
        assert!(!idle.transition_to_parked(0, false));
        assert!(!idle.transition_to_parked(1, false));
        let first = idle.worker_to_notify().expect("a sleeper");
        assert_eq!(idle.num_searching(), 1);
        assert_eq!(
            idle.worker_to_notify(),
            None,
            "the woken worker searches; no second wake"
        );
        assert!(!idle.is_parked(first));
        assert!(idle.transition_from_searching(), "it was the last searcher");
        assert!(idle.worker_to_notify().is_some());
    }

    #[test]
    fn at_most_half_search() {
        let idle = Idle::new(4);
        assert!(idle.transition_to_searching());
        assert!(idle.transition_to_searching());
        assert!(!idle.transition_to_searching());
        assert!(!idle.transition_to_parked(0, true), "one searcher left");
        assert!(idle.transition_to_parked(1, true), "the last searcher");
    }

    #[test]
    fn self_unpark_is_counted_once() {
        let idle = Idle::new(2);
        assert!(!idle.transition_to_parked(1, false));
        assert!(idle.is_parked(1));
        assert!(idle.unpark_worker_by_id(1));
        assert!(!idle.unpark_worker_by_id(1));
        assert_eq!(idle.worker_to_notify(), None, "all unparked again");
    }
}
