//! `block_in_place`: the worker's core handed to a stand-in thread while
//! this thread blocks, and handed back.
//!
//! A worker's core (its queues, its LIFO slot, its deferred tasks) is run by
//! exactly one thread at a time: its *home* thread, or a *stand-in* started
//! by `block_in_place`. The hand-off protocol, over the worker's `Remote`
//! (`handoff`: the core while no thread runs it; `handoff_ready`: its
//! condvar; `want_back`; `handed_in`):
//!
//! 1. **Lend.** Inside a task's poll, the home thread takes its core out of
//!    its `WorkerCx`, clears `want_back`, puts the core in `handoff` and
//!    starts a stand-in, which takes it from there. The home thread then
//!    runs the blocking closure with no core: it runs no loop, so it may
//!    block, and it holds a paused clock's auto-advance back meanwhile.
//! 2. **Ask back.** When the closure returns or unwinds, the home thread
//!    sets `want_back` and unparks the worker. It finishes the poll it is in
//!    without the core (the loop around a poll copes with its absence).
//! 3. **Give back.** The stand-in checks `want_back` at each task boundary
//!    (`try_hand_back`), under `handoff`'s lock: it stops counting as a
//!    blocking thread, puts the core in `handoff`, notifies `handoff_ready`
//!    and ends. The home thread waits on `handoff_ready` for it
//!    (`reclaim_core`) and goes on with its loop.
//! 4. **Shutdown.** If the runtime closes while the home thread is still
//!    inside the closure (which may wait for tasks that only the end of
//!    shutdown cancels), the stand-in hands the core in to the shutdown
//!    instead and sets `handed_in` under the lock: the home thread must not
//!    wait for the core then.
//!
//! Invariants: the core is in exactly one place (a `WorkerCx` or
//! `handoff`); `want_back` is written by the home thread only, and cleared
//! under the lock by a second `block_in_place` in the same poll (which
//! takes the request back: the stand-in keeps the core); a stand-in's own
//! `block_in_place` lends the core on to a further stand-in and ends after
//! its poll; outside a poll, or nested inside another `block_in_place`'s
//! closure, `block_in_place` just runs the closure on this thread.

use std::sync::atomic::Ordering::{Acquire, Relaxed, SeqCst};

use super::{current, spawn_thread, BlockOnGuard, Core, WorkerCx};
use crate::sys::lock::{lock, wait};

impl WorkerCx {
    /// This thread's task goes on without the worker's core: hold a paused
    /// clock's auto-advance back (the stand-in running the core may sleep
    /// meanwhile, and this thread is nobody's worker) until
    /// [`release_clock`](Self::release_clock).
    pub(super) fn hold_clock(&self) {
        #[cfg(feature = "test-util")]
        if !self.holds_clock.replace(true) {
            self.shared.driver_handle.inhibit_auto_advance();
        }
    }

    /// Back in the loop (or leaving it): gives back [`hold_clock`](Self::hold_clock).
    pub(super) fn release_clock(&self) {
        #[cfg(feature = "test-util")]
        if self.holds_clock.replace(false) {
            self.shared.driver_handle.allow_auto_advance();
        }
    }

    /// The home thread, back from `block_in_place`, waits for its stand-in
    /// to hand the core back (at its next task boundary). False if the
    /// stand-in handed it in for shutdown instead.
    pub(super) fn reclaim_core(&self) -> bool {
        let remote = self.remote();
        let mut slot = lock(&remote.handoff);
        let core = loop {
            if let Some(core) = slot.take() {
                break core;
            }
            if remote.handed_in.load(SeqCst) {
                return false;
            }
            slot = wait(&remote.handoff_ready, slot);
        };
        drop(slot);
        *self.core.borrow_mut() = Some(core);
        true
    }

    /// A stand-in asked to stop: under the handoff lock, unless the home
    /// thread took the request back (a second `block_in_place` in the same
    /// poll clears `want_back` under that lock), put the core in the slot.
    /// False: keep running.
    pub(super) fn try_hand_back(&self) -> bool {
        let remote = self.remote();
        let mut slot = lock(&remote.handoff);
        if !self.shared.is_closed() && !remote.want_back.load(Acquire) {
            return false;
        }
        self.stop_counting_stand_in();
        if let Some(core) = self.take_core() {
            if self.shared.is_closed() && !remote.want_back.load(SeqCst) {
                // Shutting down while the home thread is still inside
                // `block_in_place`'s closure, which may wait for tasks that
                // only the end of shutdown (all cores in) cancels: hand the
                // core in now rather than wait for the home thread.
                remote.handed_in.store(true, SeqCst);
                drop(slot);
                remote.handoff_ready.notify_all();
                // Futures may be dropped in there: no lock held.
                self.shared.hand_in_core(core);
                return true;
            }
            *slot = Some(core);
            remote.handoff_ready.notify_all();
        }
        true
    }

    /// A stand-in stops counting as a blocking thread (before the home
    /// thread can see its core back).
    pub(super) fn stop_counting_stand_in(&self) {
        if self.counted_stand_in.replace(false) {
            self.shared.stand_ins.fetch_sub(1, Relaxed);
        }
    }

    /// Takes the core out of this thread, to hand it to another; it stops
    /// counting as searching here (the new holder starts afresh).
    pub(super) fn take_core(&self) -> Option<Box<Core>> {
        let mut core = self.core.borrow_mut().take()?;
        core.in_driver = false;
        if std::mem::take(&mut core.searching) && self.shared.idle.transition_from_searching() {
            self.shared.notify_parked();
        }
        Some(core)
    }
}

/// Runs `f`, which may block, on this worker thread after handing the
/// worker's core (its queues) to a stand-in thread, so the other tasks keep
/// running. When `f` returns (or unwinds) the stand-in is asked for the core
/// back; this thread finishes the poll it is in without it, then waits for
/// the stand-in's next task boundary. A stand-in's own `block_in_place`
/// hands the core to a further stand-in and then ends.
pub(crate) fn block_in_place<F: FnOnce() -> R, R>(f: F) -> R {
    let f = || {
        // While `f` runs this thread runs no loop: it may block.
        let lent = current().map(|cx| (cx, cx.lent.replace(true)));
        struct Restore(Option<(&'static WorkerCx, bool)>);
        impl Drop for Restore {
            fn drop(&mut self) {
                if let Some((cx, was)) = self.0 {
                    cx.lent.set(was);
                }
            }
        }
        let _restore = Restore(lent);
        f()
    };
    let Some(cx) = current() else {
        // (On a current-thread loop's thread `task::block_in_place` has
        // panicked already, pointing at its caller.)
        // Not a worker: a multi-thread runtime's `block_on` thread (the
        // body of `#[weft::main]`), or no runtime. Blocking stalls only this
        // thread's own future, so inside `f` it may block, and even run
        // another runtime's `block_on` (as in tokio).
        let _outside = BlockOnGuard::leave();
        return f();
    };
    if !cx.in_poll.get() {
        // Outside a task's poll (a hook, a waker fired by the driver, a
        // future dropped at shutdown): the loop around this call holds the
        // core in hand, so it cannot go; block this worker.
        return f();
    }
    if cx.lent.get() {
        // Inside another `block_in_place`'s `f` on this thread: the core is
        // with a stand-in already, and must stay there until that outer
        // `f` returns (asking for it back now would leave the worker's
        // queues with nobody to run them while the outer `f` blocks).
        return f();
    }
    let shared = &cx.shared;
    let remote = cx.remote();
    match cx.take_core() {
        Some(core) => {
            if cx.home {
                remote.want_back.store(false, SeqCst);
            }
            *lock(&remote.handoff) = Some(core);
            // The home thread may be waiting for it (a stand-in handing on).
            remote.handoff_ready.notify_all();
        }
        None => {
            // A second `block_in_place` in the same poll on the home thread:
            // the core is still with a stand-in, or back in the slot.
            if !cx.home {
                return f();
            }
            let slot = lock(&remote.handoff);
            remote.want_back.store(false, SeqCst);
            if slot.is_none() {
                // The stand-in still runs it and will keep doing so (unless
                // it was already on its way back: then the core waits in the
                // slot until this poll ends).
                drop(slot);
                return with_reclaim(cx, f);
            }
        }
    }
    // The core is away from this thread until its loop takes it back.
    cx.hold_clock();
    if spawn_thread(shared, cx.index, false).is_err() {
        // No thread to stand in: keep the core and block this worker.
        match lock(&remote.handoff).take() {
            Some(core) => {
                *cx.core.borrow_mut() = Some(core);
                cx.release_clock();
                return f();
            }
            // A stand-in from an earlier call, started late, took it: it is
            // running the worker; ask for it back afterwards as usual.
            None if cx.home => return with_reclaim(cx, f),
            None => return f(),
        }
    }
    if cx.home {
        with_reclaim(cx, f)
    } else {
        // This stand-in ends after the poll it is in.
        f()
    }
}

/// Runs `f`, then (also on unwind) asks the stand-in for the core back.
fn with_reclaim<F: FnOnce() -> R, R>(cx: &WorkerCx, f: F) -> R {
    struct AskBack<'a>(&'a WorkerCx);
    impl Drop for AskBack<'_> {
        fn drop(&mut self) {
            let remote = self.0.remote();
            remote.want_back.store(true, SeqCst);
            self.0.shared.unpark(self.0.index);
        }
    }
    let _ask_back = AskBack(cx);
    f()
}

/// On the way out of a worker thread: the home thread drops its pinned tasks
/// and hands its core in for shutdown; a stand-in gives the core back to the
/// home thread (if it still has it: normally `try_hand_back` did already).
pub(super) struct GiveBack<'a>(pub(super) &'a WorkerCx);

impl Drop for GiveBack<'_> {
    fn drop(&mut self) {
        let cx = self.0;
        if cx.home {
            // Not in a poll: a `block_in_place` in a dropped future's `Drop`
            // runs inline, so the core stays here.
            cx.shutdown_pinned();
            if cx.core.borrow().is_none() {
                // Unwinding from a poll whose `block_in_place` handed the core
                // on and already got it back into the slot.
                *cx.core.borrow_mut() = lock(&cx.remote().handoff).take();
            }
            if let Some(core) = cx.take_core() {
                cx.shared.hand_in_core(core);
            }
        } else {
            cx.stop_counting_stand_in();
            if let Some(core) = cx.take_core() {
                let remote = cx.remote();
                *lock(&remote.handoff) = Some(core);
                remote.handoff_ready.notify_all();
            }
        }
        cx.stop_counting_stand_in();
        cx.release_clock();
    }
}
