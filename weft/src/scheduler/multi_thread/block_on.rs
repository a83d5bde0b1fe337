//! `block_on` on a multi-thread runtime: the future runs on the calling
//! thread, the workers run the tasks, and the calling thread sleeps between
//! polls until a waker marks the future woken.
//!
//! Waiting is spin-then-park. A `block_on` whose future just handed work to
//! a worker (sent a request, notified a task) is usually woken again within
//! microseconds; parking the thread for that costs a futex sleep and, on a
//! virtual machine, an idle CPU's wake-up, which measured 2–3 × the round
//! trip itself. So before parking, the thread watches its state word for up
//! to [`SPIN`], and only while (1) some worker is awake, the only place a
//! quick wake can come from, and (2) the machine has more than one CPU, so
//! the spin cannot hold off the very worker it waits for. A wake that finds
//! the thread spinning only flips the word: no `unpark`, no syscall. A
//! program whose `block_on` waits on a socket or a timer with every worker
//! asleep never spins, and one whose spins keep missing their wakes spins
//! for fewer and fewer of its waits ([`SpinPolicy`]).

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::Ordering::{AcqRel, Acquire};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

#[cfg(feature = "test-util")]
use std::sync::atomic::AtomicUsize;

use super::{worker, Shared};
#[cfg(feature = "test-util")]
use crate::driver;
use crate::scheduler::context;
use crate::sys::loom::{spin_loop, AtomicU8};

/// The longest a `block_on` thread watches for a wake before it parks.
/// Long enough to cover a round trip through a worker that is awake
/// (5–10 µs here), short enough that a wait which will be long wastes little.
const SPIN: Duration = Duration::from_micros(25);

/// [`WakeState`]'s values: nothing to do (the thread polls or is parked),
/// woken, the thread is spinning for a wake, `block_on` returned.
const IDLE: u8 = 0;
const WOKEN: u8 = 1;
const SPINNING: u8 = 3;
/// (`block_on` returned: only tracked with `test-util`.)
#[cfg(feature = "test-util")]
const DONE: u8 = 2;

/// The word a `block_on` thread and its wakers share: whether the future
/// was woken since its last poll, and whether the thread spins (a wake
/// needs no unpark) or may be parked (it does).
struct WakeState(AtomicU8);

impl WakeState {
    /// Woken: the first poll runs at once.
    fn woken() -> WakeState {
        WakeState(AtomicU8::new(WOKEN))
    }

    /// The thread takes the wake before a poll; false if there was none.
    fn take_wake(&self) -> bool {
        self.0
            .compare_exchange(WOKEN, IDLE, AcqRel, Acquire)
            .is_ok()
    }

    /// A waker marks the future woken. `None` if it was woken already (or
    /// `block_on` returned); otherwise whether the thread may be parked,
    /// so that the waker must unpark it.
    fn mark_woken(&self) -> Option<bool> {
        let mut state = self.0.load(Acquire);
        loop {
            if state != IDLE && state != SPINNING {
                return None;
            }
            match self.0.compare_exchange_weak(state, WOKEN, AcqRel, Acquire) {
                Ok(was) => return Some(was == IDLE),
                Err(now) => state = now,
            }
        }
    }

    /// The thread starts spinning; false if a wake came first.
    fn start_spin(&self) -> bool {
        self.0
            .compare_exchange(IDLE, SPINNING, AcqRel, Acquire)
            .is_ok()
    }

    /// While spinning: true until a wake comes.
    fn spinning(&self) -> bool {
        self.0.load(Acquire) == SPINNING
    }

    /// The thread stops spinning to park; false if a wake came first
    /// (then it must not park: no unpark is on its way).
    fn stop_spin(&self) -> bool {
        self.0
            .compare_exchange(SPINNING, IDLE, AcqRel, Acquire)
            .is_ok()
    }

    /// `block_on` returns: later wakes do nothing. True if a wake was
    /// pending.
    #[cfg(feature = "test-util")]
    fn finish(&self) -> bool {
        self.0.swap(DONE, AcqRel) == WOKEN
    }
}

/// Wakes a thread blocked in [`block_on`].
///
/// With the `test-util` feature, the future counts as something that may
/// still run (holding a paused clock's auto-advance back) from each wake
/// until the poll after it ends: a waker takes a count before it marks the
/// future woken (a wake that finds it woken already, or `block_on` gone,
/// gives it back), and the poll that consumes the mark gives it back after.
struct ThreadWake {
    state: WakeState,
    thread: Thread,
    #[cfg(feature = "test-util")]
    driver: driver::Handle,
}

impl Wake for ThreadWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        #[cfg(feature = "test-util")]
        self.driver.inhibit_auto_advance();
        match self.state.mark_woken() {
            Some(true) => self.thread.unpark(),
            // Spinning: it sees the mark.
            Some(false) => {}
            None => {
                #[cfg(feature = "test-util")]
                self.driver.allow_auto_advance();
            }
        }
    }
}

/// At the end of a poll of the `block_on` future (also when it panics):
/// gives back the count its wake took. A poll that returned `Ready` hands
/// its count to [`BlockOnDone`] instead, which gives it back once the
/// future is dropped: a timer the finished future still holds (a
/// `timeout`'s sleep) must not be jumped to in between.
struct PollDone<'a> {
    #[cfg(feature = "test-util")]
    wake: &'a ThreadWake,
    #[cfg(feature = "test-util")]
    armed: bool,
    #[cfg(not(feature = "test-util"))]
    _wake: std::marker::PhantomData<&'a ThreadWake>,
}

impl<'a> PollDone<'a> {
    fn new(_wake: &'a ThreadWake) -> PollDone<'a> {
        PollDone {
            #[cfg(feature = "test-util")]
            wake: _wake,
            #[cfg(feature = "test-util")]
            armed: true,
            #[cfg(not(feature = "test-util"))]
            _wake: std::marker::PhantomData,
        }
    }

    /// The poll returned `Ready`: `done` gives the count back after the
    /// future is dropped.
    fn hand_to(self, _done: &BlockOnDone<'_>) {
        #[cfg(feature = "test-util")]
        {
            let mut this = self;
            this.armed = false;
            _done.ready_count.set(true);
        }
    }
}

impl Drop for PollDone<'_> {
    fn drop(&mut self) {
        #[cfg(feature = "test-util")]
        if self.armed {
            self.wake.driver.allow_auto_advance();
        }
    }
}

/// On the way out of `block_on`, after the future is dropped (it is
/// declared before the future): later wakes do nothing; the count of a
/// wake that came after the last poll, and that of the `Ready` poll, go
/// back. Without `test-util` there is nothing to give back, and a late
/// wake's stray unpark is harmless (`thread::park` may return spuriously).
struct BlockOnDone<'a> {
    #[cfg(feature = "test-util")]
    wake: &'a ThreadWake,
    #[cfg(feature = "test-util")]
    block_ons: &'a AtomicUsize,
    #[cfg(feature = "test-util")]
    ready_count: std::cell::Cell<bool>,
    #[cfg(not(feature = "test-util"))]
    _wake: std::marker::PhantomData<&'a ThreadWake>,
}

impl<'a> BlockOnDone<'a> {
    fn new(_shared: &'a Shared, _wake: &'a ThreadWake) -> BlockOnDone<'a> {
        BlockOnDone {
            #[cfg(feature = "test-util")]
            wake: _wake,
            #[cfg(feature = "test-util")]
            block_ons: &_shared.block_ons,
            #[cfg(feature = "test-util")]
            ready_count: std::cell::Cell::new(false),
            #[cfg(not(feature = "test-util"))]
            _wake: std::marker::PhantomData,
        }
    }
}

#[cfg(feature = "test-util")]
impl Drop for BlockOnDone<'_> {
    fn drop(&mut self) {
        if self.wake.state.finish() {
            self.wake.driver.allow_auto_advance();
        }
        if self.ready_count.get() {
            self.wake.driver.allow_auto_advance();
        }
        self.block_ons
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Runs `future` on this (non-worker) thread; the workers run the tasks.
#[track_caller]
pub(crate) fn block_on<F: Future>(shared: &Arc<Shared>, future: F) -> F::Output {
    crate::scheduler::refuse_nested_block_on();
    let _enter = context::enter(crate::scheduler::Handle::MultiThread(Arc::clone(shared)));
    let _blocking = worker::BlockOnGuard::enter();
    // Starts woken, with the count a wake would have taken.
    #[cfg(feature = "test-util")]
    {
        shared.driver_handle.inhibit_auto_advance();
        shared
            .block_ons
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    let wake = Arc::new(ThreadWake {
        state: WakeState::woken(),
        thread: thread::current(),
        #[cfg(feature = "test-util")]
        driver: shared.driver_handle.clone(),
    });
    // Declared before the future, so dropped after it.
    let done = BlockOnDone::new(shared, &wake);
    let mut future = pin!(future);
    let waker = Waker::from(Arc::clone(&wake));
    let mut cx = Context::from_waker(&waker);
    let mut policy = SpinPolicy::default();
    loop {
        if wake.state.take_wake() {
            let polled = PollDone::new(&wake);
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                polled.hand_to(&done);
                return output;
            }
        } else {
            let spin = shared.spin_before_park && shared.idle.any_unparked() && policy.try_spin();
            if !(spin && policy.spun(spin_for_wake(&wake.state))) {
                thread::park();
            }
        }
    }
}

/// When a failed spin stops `block_on` spinning: after `n` failures in a
/// row it parks straight away for the next `n` waits (doubling, up to
/// [`MAX_SKIP`]); one spin that catches its wake resets that. Wakes that
/// come just later than [`SPIN`] (every 30 µs, say) would otherwise keep a
/// CPU spinning in vain most of the time; with this, one wait in
/// `MAX_SKIP + 1` spins (under 5 % of a CPU at that rate).
#[derive(Debug, Default)]
struct SpinPolicy {
    /// Waits left to park without spinning.
    skip: u32,
    /// Waits to skip after the next failure.
    backoff: u32,
}

/// The most waits a run of failed spins skips before spinning again.
const MAX_SKIP: u32 = 16;

impl SpinPolicy {
    /// Whether this wait may spin.
    fn try_spin(&mut self) -> bool {
        match self.skip {
            0 => true,
            _ => {
                self.skip -= 1;
                false
            }
        }
    }

    /// Records whether the spin caught its wake; returns `caught`.
    fn spun(&mut self, caught: bool) -> bool {
        if caught {
            self.backoff = 0;
        } else {
            self.backoff = (self.backoff * 2).clamp(1, MAX_SKIP);
            self.skip = self.backoff;
        }
        caught
    }
}

/// Watches `wake`'s state for up to [`SPIN`]. True if a wake came (the
/// state is WOKEN); false if none did, with the state IDLE again, so a
/// later wake unparks the thread.
fn spin_for_wake(state: &WakeState) -> bool {
    if !state.start_spin() {
        // Woken since the check in the caller's loop.
        return true;
    }
    let start = Instant::now();
    loop {
        for _ in 0..16 {
            if !state.spinning() {
                return true;
            }
            spin_loop();
        }
        if start.elapsed() >= SPIN {
            return !state.stop_spin();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_spins_back_off_and_a_caught_wake_resets() {
        let mut policy = SpinPolicy::default();
        assert!(policy.try_spin());
        assert!(policy.spun(true));
        assert!(policy.try_spin(), "a caught wake keeps spinning");
        assert!(!policy.spun(false));
        // One failure skips one wait, the next two, then four ...
        for skipped in [1, 2, 4, 8, 16, 16] {
            for _ in 0..skipped {
                assert!(!policy.try_spin());
            }
            assert!(policy.try_spin(), "spins again after {skipped} skipped");
            policy.spun(false);
        }
        for _ in 0..MAX_SKIP {
            assert!(!policy.try_spin());
        }
        assert!(policy.try_spin());
        policy.spun(true);
        assert!(policy.try_spin(), "reset by the caught wake");
        policy.spun(false);
        assert!(!policy.try_spin(), "backoff starts over at one");
        assert!(policy.try_spin());
    }
}

#[cfg(all(test, weft_loom))]
mod loom_models {
    use super::WakeState;
    use loom::sync::Arc;
    use loom::thread;

    /// A `block_on` thread that spins (or not), gives up and parks, against
    /// a waker on another thread: the thread always ends up woken, and never
    /// waits for an unpark nobody sends (loom fails a thread blocked
    /// forever).
    fn model(spin: bool) {
        loom::model(move || {
            let state = Arc::new(WakeState::woken());
            assert!(state.take_wake(), "starts woken");
            let waiter = thread::current();
            let waker = {
                let state = Arc::clone(&state);
                thread::spawn(move || {
                    if state.mark_woken() == Some(true) {
                        waiter.unpark();
                    }
                })
            };
            let caught = spin && (!state.start_spin() || !state.spinning() || !state.stop_spin());
            if !caught {
                while !state.take_wake() {
                    thread::park();
                }
            }
            waker.join().unwrap();
            if caught {
                assert!(state.take_wake(), "a caught wake is left for the poll");
            }
            assert!(state.mark_woken().is_some(), "idle again after the wake");
        });
    }

    #[test]
    fn loom_block_on_spin_then_park_loses_no_wake() {
        model(true);
    }

    #[test]
    fn loom_block_on_park_loses_no_wake() {
        model(false);
    }
}
