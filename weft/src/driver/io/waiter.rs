//! `Waiter`: the waker slot of one direction of one resource.
//!
//! Like `futures`' `AtomicWaker`, but the driver wakes the stored waker *by
//! reference* and leaves it in place. A task that waits on the same
//! resource again — every read after every message on a connection — then
//! finds its own waker already stored (`will_wake`) and registers without
//! cloning it, and the wake costs no reference-count traffic either.
//!
//! The state word serialises access to the waker cell:
//!
//! | state       | who holds the cell                                    |
//! |-------------|-------------------------------------------------------|
//! | IDLE        | nobody                                                |
//! | REGISTERING | `register`, storing a waker                           |
//! | WAKING      | `wake` or `take`, reading the waker                   |
//! | both        | `register`, which must deliver the wake it overlapped |

use std::cell::UnsafeCell;
use std::sync::atomic::AtomicU8;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Release};
use std::task::Waker;

const IDLE: u8 = 0;
const REGISTERING: u8 = 1;
const WAKING: u8 = 2;

pub(crate) struct Waiter {
    state: AtomicU8,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cell is only touched by the thread that moved `state` out of
// IDLE (see the table above), so accesses never overlap; `Waker` is `Send +
// Sync`.
unsafe impl Sync for Waiter {}
// SAFETY: as above.
unsafe impl Send for Waiter {}

impl Waiter {
    pub(crate) fn new() -> Waiter {
        Waiter {
            state: AtomicU8::new(IDLE),
            waker: UnsafeCell::new(None),
        }
    }

    /// Stores `waker` to be woken by the next [`wake`](Self::wake).
    pub(crate) fn register(&self, waker: &Waker) {
        match self
            .state
            .compare_exchange(IDLE, REGISTERING, Acquire, Acquire)
        {
            Ok(_) => {
                // SAFETY: we moved the state from IDLE to REGISTERING, so we
                // hold the cell until we move it back.
                let slot = unsafe { &mut *self.waker.get() };
                if !slot.as_ref().is_some_and(|stored| stored.will_wake(waker)) {
                    *slot = Some(waker.clone());
                }
                if self
                    .state
                    .compare_exchange(REGISTERING, IDLE, AcqRel, Acquire)
                    .is_err()
                {
                    // A wake arrived while we held the cell and left it to
                    // us: deliver it, then release.
                    waker.wake_by_ref();
                    self.state.store(IDLE, Release);
                }
            }
            // A wake is running (or another task registers at the same
            // time, which only happens when two tasks share a direction):
            // wake this waker so its task polls again rather than sleep
            // through the event.
            Err(_) => waker.wake_by_ref(),
        }
    }

    /// Wakes the stored waker, leaving it stored.
    pub(crate) fn wake(&self) {
        if self.state.fetch_or(WAKING, AcqRel) == IDLE {
            // SAFETY: we moved the state from IDLE to WAKING, so nobody else
            // touches the cell until we clear WAKING.
            if let Some(waker) = unsafe { &*self.waker.get() } {
                waker.wake_by_ref();
            }
            self.state.fetch_and(!WAKING, Release);
        }
        // Otherwise a `register` holds the cell and will see WAKING, or
        // another wake is delivering already.
    }

    /// Removes the stored waker (the resource is going away).
    pub(crate) fn take(&self) -> Option<Waker> {
        loop {
            match self.state.compare_exchange(IDLE, WAKING, Acquire, Acquire) {
                Ok(_) => {
                    // SAFETY: we hold the cell (IDLE -> WAKING).
                    let waker = unsafe { (*self.waker.get()).take() };
                    self.state.store(IDLE, Release);
                    return waker;
                }
                // A wake is being delivered right now; it is short.
                Err(_) => std::hint::spin_loop(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

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
}
