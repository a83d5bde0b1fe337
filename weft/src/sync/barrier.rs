//! `Barrier`: makes a set number of tasks wait for each other.

use std::sync::atomic::Ordering::{Acquire, Release};

use super::Notify;
use crate::sys::lock::lock;
use crate::sys::loom::{AtomicUsize, Mutex};

/// A barrier enables multiple tasks to synchronize the beginning of some
/// computation.
///
/// ```
/// # #[weft::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::sync::Arc;
/// use weft::sync::Barrier;
///
/// let mut handles = Vec::with_capacity(10);
/// let barrier = Arc::new(Barrier::new(10));
/// for _ in 0..10 {
///     let c = barrier.clone();
///     // The same messages will be printed together.
///     // You will NOT see any interleaving.
///     handles.push(weft::spawn(async move {
///         println!("before wait");
///         let wait_result = c.wait().await;
///         println!("after wait");
///         wait_result
///     }));
/// }
///
/// // Will not resolve until all "after wait" messages have been printed
/// let mut num_leaders = 0;
/// for handle in handles {
///     let wait_result = handle.await.unwrap();
///     if wait_result.is_leader() {
///         num_leaders += 1;
///     }
/// }
///
/// // Exactly one barrier will resolve as the "leader"
/// assert_eq!(num_leaders, 1);
/// # }
/// ```
#[derive(Debug)]
pub struct Barrier {
    state: Mutex<BarrierState>,
    /// Generations completed so far (the leader of generation `g` stores
    /// `g` before waking everyone).
    released: AtomicUsize,
    notify: Notify,
    n: usize,
}

#[derive(Debug)]
struct BarrierState {
    arrived: usize,
    generation: usize,
}

impl Barrier {
    /// Creates a new barrier that can block a given number of tasks.
    ///
    /// A barrier will block `n`-1 tasks which call [`Barrier::wait`] and
    /// then wake up all tasks at once when the `n`th task calls `wait`.
    /// (A barrier of 0 behaves as one of 1, as `std::sync::Barrier`'s.)
    #[track_caller]
    pub fn new(mut n: usize) -> Barrier {
        if n == 0 {
            n = 1;
        }
        Barrier {
            state: Mutex::new(BarrierState {
                arrived: 0,
                generation: 1,
            }),
            released: AtomicUsize::new(0),
            notify: Notify::new(),
            n,
        }
    }

    /// Does not resolve until all tasks have rendezvoused here.
    ///
    /// Barriers are re-usable after all tasks have rendezvoused once, and
    /// can be used continuously.
    ///
    /// A single (arbitrary) future will receive a [`BarrierWaitResult`] that
    /// returns `true` from [`BarrierWaitResult::is_leader`] when returning
    /// from this function, and all other tasks will receive a result that
    /// will return `false` from `is_leader`.
    ///
    /// # Cancel safety
    ///
    /// This method is not cancel safe.
    pub async fn wait(&self) -> BarrierWaitResult {
        // The critical section never yields, so a std lock is right here.
        let generation = {
            let mut state = lock(&self.state);
            let generation = state.generation;
            state.arrived += 1;
            if state.arrived == self.n {
                // The leader: release this generation and wake everyone.
                state.arrived = 0;
                state.generation += 1;
                // Stored under the lock, so the count only grows.
                self.released.store(generation, Release);
                drop(state);
                self.notify.notify_waiters();
                return BarrierWaitResult(true);
            }
            generation
        };
        loop {
            // Created before the check: a `notify_waiters` after it wakes
            // it even though it was not polled yet.
            let notified = self.notify.notified();
            if self.released.load(Acquire) >= generation {
                return BarrierWaitResult(false);
            }
            notified.await;
        }
    }
}

/// A `BarrierWaitResult` is returned by `wait` when all tasks in the
/// `Barrier` have rendezvoused.
#[derive(Debug, Clone)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Returns `true` if this task from wait is the "leader task".
    ///
    /// Only one task will have `true` returned from their result, all other
    /// tasks will have `false` returned.
    pub fn is_leader(&self) -> bool {
        self.0
    }
}
