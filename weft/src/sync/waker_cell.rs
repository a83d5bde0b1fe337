//! `WakerCell`: one task's waker, stored by that task and woken by others
//! (an mpsc receiver's).
//!
//! Like `futures`' `AtomicWaker`, with two differences for a channel's hot
//! path. Registering the waker that is already stored (the same task
//! waiting again, the common case) writes nothing. And a wake holds the
//! cell only to clone the waker: the wake itself (which may be a syscall
//! to unpark a thread) runs after the cell is released, so a receiver that
//! was woken and comes back to register again does not find the cell busy
//! and spin on self-wakes meanwhile.
//!
//! | state       | who holds the cell                                  |
//! |-------------|-----------------------------------------------------|
//! | IDLE        | nobody                                              |
//! | REGISTERING | `register`, storing a waker                         |
//! | WAKING      | `wake` (cloning the waker) or `take`                |
//! | both        | `register`, which must deliver the wake it overlapped |

use std::sync::atomic::Ordering::{AcqRel, Acquire};
use std::task::Waker;

use crate::sys::loom::{AtomicU8, UnsafeCell};

const IDLE: u8 = 0;
const REGISTERING: u8 = 1;
const WAKING: u8 = 2;

pub(crate) struct WakerCell {
    state: AtomicU8,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cell is only touched by the thread that moved `state` out of
// IDLE (see the table above), so accesses never overlap; `Waker` is `Send +
// Sync`.
unsafe impl Sync for WakerCell {}
// SAFETY: as above; the cell holds only a `Waker`.
unsafe impl Send for WakerCell {}

/// Puts the state back to IDLE when dropped (also while a panicking waker
/// unwinds), so a panic never leaves the cell held.
struct Unhold<'a>(&'a AtomicU8);

impl Drop for Unhold<'_> {
    fn drop(&mut self) {
        // A swap, not a store: it reads (acquires) the `fetch_or` of any
        // wake that found the cell held and left its event to us, so the
        // task we wake next sees that event too.
        self.0.swap(IDLE, AcqRel);
    }
}

impl WakerCell {
    pub(crate) fn new() -> WakerCell {
        WakerCell {
            state: AtomicU8::new(IDLE),
            waker: UnsafeCell::new(None),
        }
    }

    /// Stores `waker` for the next [`wake`](Self::wake). If a wake is
    /// being delivered right now, wakes `waker` instead (its task polls
    /// again rather than miss the event).
    pub(crate) fn register(&self, waker: &Waker) {
        match self
            .state
            .compare_exchange(IDLE, REGISTERING, Acquire, Acquire)
        {
            Ok(_) => {}
            Err(_) => {
                // A wake holds the cell for a moment: have the task polled
                // again (a spin at worst, for the length of a clone; under
                // loom the hint lets the waking thread finish).
                waker.wake_by_ref();
                crate::sys::loom::spin_loop();
                return;
            }
        }
        let displaced = {
            let _finish = RegisterGuard { cell: self, waker };
            self.waker.with_mut(|slot| {
                // SAFETY: we moved the state from IDLE to REGISTERING, so we
                // hold the cell until the guard lets go.
                let slot = unsafe { &mut *slot };
                if slot.as_ref().is_some_and(|stored| stored.will_wake(waker)) {
                    None
                } else {
                    slot.replace(waker.clone())
                }
            })
        };
        // Dropped outside the held state: a waker's drop may run anything.
        drop(displaced);
    }

    /// Wakes the stored waker (a clone of it, after releasing the cell;
    /// the waker stays stored for the next wake).
    pub(crate) fn wake(&self) {
        if self.state.fetch_or(WAKING, AcqRel) != IDLE {
            // A `register` holds the cell and will see WAKING, or another
            // wake is delivering already.
            return;
        }
        let waker = {
            let _unhold = Unhold(&self.state);
            self.waker.with(|slot| {
                // SAFETY: we moved the state from IDLE to WAKING; nobody
                // writes the cell until `_unhold` clears it.
                unsafe { (*slot).clone() }
            })
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Removes the stored waker (nothing will wait any more). `None` if a
    /// wake holds the cell right now: the waker then stays until the cell
    /// is dropped.
    pub(crate) fn take(&self) -> Option<Waker> {
        if self
            .state
            .compare_exchange(IDLE, WAKING, Acquire, Acquire)
            .is_err()
        {
            return None;
        }
        let _unhold = Unhold(&self.state);
        // SAFETY: we moved the state from IDLE to WAKING.
        self.waker.with_mut(|slot| unsafe { (*slot).take() })
    }
}

/// Leaves REGISTERING (also on unwind); if a wake arrived meanwhile, it
/// was left to us: wake the task that registered.
struct RegisterGuard<'a> {
    cell: &'a WakerCell,
    waker: &'a Waker,
}

impl Drop for RegisterGuard<'_> {
    fn drop(&mut self) {
        let state = &self.cell.state;
        if state
            .compare_exchange(REGISTERING, IDLE, AcqRel, Acquire)
            .is_err()
        {
            // REGISTERING | WAKING: the swap (acquire) pairs with the
            // wake's `fetch_or`, so the event it announced is visible to
            // the task we wake.
            state.swap(IDLE, AcqRel);
            self.waker.wake_by_ref();
        }
    }
}

impl std::fmt::Debug for WakerCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WakerCell").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(weft_loom)))]
mod tests {
    use super::*;
    use crate::test_util::Count;
    use std::sync::atomic::Ordering::SeqCst;
    use std::sync::Arc;

    #[test]
    fn wakes_the_registered_waker_and_keeps_it() {
        let count = Count::new();
        let cell = WakerCell::new();
        cell.wake();
        cell.register(&Waker::from(Arc::clone(&count)));
        cell.wake();
        cell.wake();
        assert_eq!(count.0.load(SeqCst), 2);
        assert!(cell.take().is_some());
        cell.wake();
        assert_eq!(count.0.load(SeqCst), 2);
    }

    #[test]
    fn a_new_waker_replaces_the_old_one() {
        let (first, second) = (Count::new(), Count::new());
        let cell = WakerCell::new();
        cell.register(&Waker::from(Arc::clone(&first)));
        cell.register(&Waker::from(Arc::clone(&second)));
        cell.wake();
        assert_eq!(first.0.load(SeqCst), 0);
        assert_eq!(second.0.load(SeqCst), 1);
        // The displaced waker was dropped.
        assert_eq!(Arc::strong_count(&first), 1);
    }
}

#[cfg(all(test, weft_loom))]
mod loom_models {
    use super::*;
    use crate::test_util::Count;
    use std::sync::atomic::Ordering::SeqCst;
    use std::sync::Arc;

    /// A registration racing a wake that follows an event: if the
    /// registering side missed the event, the wake reached its waker.
    #[test]
    fn loom_chan_waker_register_races_wake() {
        loom::model(|| {
            let count = Count::new();
            let cell = loom::sync::Arc::new(WakerCell::new());
            let event = loom::sync::Arc::new(loom::sync::atomic::AtomicBool::new(false));
            let waker_side = {
                let (cell, event) = (cell.clone(), event.clone());
                loom::thread::spawn(move || {
                    event.store(true, SeqCst);
                    cell.wake();
                })
            };
            cell.register(&Waker::from(Arc::clone(&count)));
            let saw = event.load(SeqCst);
            waker_side.join().unwrap();
            if !saw {
                assert!(count.0.load(SeqCst) >= 1, "the wake was lost");
            }
            drop(cell.take());
        });
    }

    /// Two events, each followed by a wake; the second wake may find the
    /// first delivering and leave its event to it. The task the first wake
    /// wakes must then see the second event too (found by review: with a
    /// plain store in `Unhold`, this deadlocked).
    #[test]
    fn loom_chan_waker_two_wakes_overlap() {
        use loom::sync::atomic::AtomicBool;
        use std::sync::atomic::Ordering::{Acquire, Release};
        loom::model(|| {
            let cell = loom::sync::Arc::new(WakerCell::new());
            let flags = loom::sync::Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
            let threads: Vec<_> = (0..2)
                .map(|i| {
                    let (cell, flags) = (cell.clone(), flags.clone());
                    loom::thread::spawn(move || {
                        flags[i].store(true, Release);
                        cell.wake();
                    })
                })
                .collect();
            loom::future::block_on(std::future::poll_fn(|cx| {
                cell.register(cx.waker());
                if flags[0].load(Acquire) && flags[1].load(Acquire) {
                    std::task::Poll::Ready(())
                } else {
                    std::task::Poll::Pending
                }
            }));
            for t in threads {
                t.join().unwrap();
            }
            drop(cell.take());
        });
    }
}
