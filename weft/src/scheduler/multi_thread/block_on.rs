//! `block_on` on a multi-thread runtime: the future runs on the calling
//! thread, the workers run the tasks, and the calling thread sleeps between
//! polls until a waker marks the future woken.
//!
//! Waiting is spin-then-park. A `block_on` whose future just handed work to
//! a worker (sent a request, notified a task) is usually woken again within
//! microseconds; parking the thread for that costs a futex sleep and, on a
//! virtual machine, an idle virtual CPU's wake-up, which on the 2-vCPU VM of
//! BENCHMARKS.md made such round trips 2–2.5 × slower. So before parking,
//! the thread watches its state word for up to [`SPIN`], when (1) some worker
//! is awake, so a quick wake is likely (with every worker asleep, a wake
//! can only come from I/O, a timer, a blocking job or another thread, and
//! the thread parks at once), (2)
//! the process may use more than one CPU, and (3) no other `block_on` of
//! the runtime spins. With as many workers as CPUs (the default) a spin can
//! take a CPU from an awake worker; if that makes it miss, the misses back
//! off. Spinning only while fewer workers than CPUs were awake, tried, kept
//! the thread from spinning in the very round trips it is for. A wake
//! that finds the thread spinning only flips the word: no `unpark`, no
//! syscall. A program whose `block_on` waits on a socket or a timer with
//! every worker asleep never spins, and a thread whose spins keep missing
//! their wakes spins for fewer and fewer of its waits ([`SpinPolicy`]).
//! One exception: a file call this thread's future just handed to the
//! blocking pool (`blocking::expect_soon`) is woken from a pool thread, so
//! it is spun for with every worker asleep too, until its window closes.

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Release};
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
/// Long enough to cover a round trip through a worker that is awake (5–10 µs
/// on the 2-vCPU VM of BENCHMARKS.md), short enough that a wait which will
/// be long wastes little.
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
    loop {
        if wake.state.take_wake() {
            let polled = PollDone::new(&wake);
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                polled.hand_to(&done);
                return output;
            }
        } else {
            let mut policy = POLICY.get();
            // A file call's job this thread just handed to the pool: its
            // wake comes from a pool thread even with every worker asleep,
            // so spin for it too, up to the window's end (`blocking`).
            let job = shared.pool.spin_deadline();
            let spinner = Spinner::claim(shared, job.is_some());
            // A file call's window has its own back-off (`blocking`): the
            // thread's policy, kept for the other waits, neither holds it
            // back nor learns from it.
            let mut for_job = SpinPolicy::new();
            let spun = wait_for_wake(
                &wake.state,
                spinner,
                if job.is_some() {
                    &mut for_job
                } else {
                    &mut policy
                },
                SPIN_CHECKS,
                spin_expired(job, &shared.pool),
                thread::park,
            );
            if job.is_some() {
                // Ran out: nothing woke it before the window closed, with
                // the job still outstanding.
                let ran_out = spun == Some(Spun::Missed) && !shared.pool.is_idle();
                crate::blocking::spin_ended(ran_out);
            }
            POLICY.set(policy);
        }
    }
}

thread_local! {
    /// This thread's [`SpinPolicy`], kept across `block_on` calls: a
    /// program calling `block_on` in a loop backs off like one long call.
    static POLICY: Cell<SpinPolicy> = const { Cell::new(SpinPolicy::new()) };
}

/// Looks at the state word this many times between looks at the clock.
const SPIN_CHECKS: usize = 16;

/// True once [`SPIN`] has passed since the first call, and `job` (a file
/// call's spin window) has closed; with a window, also as soon as `pool`
/// has no job outstanding (one whose wake would have come by now, or one
/// nobody waits for, such as a write behind).
fn spin_expired<'a>(
    job: Option<Instant>,
    pool: &'a crate::scheduler::BlockingPool,
) -> impl FnMut() -> bool + 'a {
    let mut start = None;
    move || {
        let start = *start.get_or_insert_with(Instant::now);
        let now = Instant::now();
        match job {
            None => now.duration_since(start) >= SPIN,
            Some(until) => pool.is_idle() || (now.duration_since(start) >= SPIN && now >= until),
        }
    }
}

/// The right to spin in one `block_on` wait: held by at most one thread of
/// a runtime at a time, only while some worker is awake, and only where the
/// process may use more than one CPU.
struct Spinner<'a>(&'a AtomicBool);

impl<'a> Spinner<'a> {
    /// `for_job`: a file call's job is outstanding, whose wake comes from
    /// the pool even with every worker asleep.
    fn claim(shared: &'a Shared, for_job: bool) -> Option<Spinner<'a>> {
        if shared.cpus < 2 || (shared.idle.unparked() == 0 && !for_job) {
            return None;
        }
        (!shared.spinner.swap(true, Acquire)).then_some(Spinner(&shared.spinner))
    }
}

impl Drop for Spinner<'_> {
    fn drop(&mut self) {
        self.0.store(false, Release);
    }
}

/// The waiting half of `block_on`'s loop, after `take_wake` found no wake:
/// spins (if `spinner` allows it and `policy` agrees) until a wake or until
/// `expired`, then lets go of `spinner` and parks unless a wake came. The
/// caller's loop then takes the wake, or comes back here (a park may return
/// for nothing).
fn wait_for_wake<S>(
    state: &WakeState,
    spinner: Option<S>,
    policy: &mut SpinPolicy,
    checks: usize,
    expired: impl FnMut() -> bool,
    park: impl FnOnce(),
) -> Option<Spun> {
    if spinner.is_some() && policy.try_spin() {
        match spin_for_wake(state, checks, expired) {
            Spun::Caught => {
                policy.caught();
                return Some(Spun::Caught);
            }
            Spun::Early => return Some(Spun::Early),
            Spun::Missed => policy.missed(),
        }
        drop(spinner);
        park();
        return Some(Spun::Missed);
    }
    drop(spinner);
    park();
    None
}

/// How a spin ended.
#[derive(Debug, PartialEq)]
enum Spun {
    /// A wake came while spinning.
    Caught,
    /// A wake came before the spin began (not the spin's doing).
    Early,
    /// None came in time; the state is IDLE again, so a later wake unparks.
    Missed,
}

/// Watches `state` until a wake comes or `expired` says to stop, looking at
/// the word `checks` times between calls of `expired`.
fn spin_for_wake(state: &WakeState, checks: usize, mut expired: impl FnMut() -> bool) -> Spun {
    if !state.start_spin() {
        return Spun::Early;
    }
    loop {
        for _ in 0..checks {
            if !state.spinning() {
                return Spun::Caught;
            }
            spin_loop();
        }
        if expired() {
            // A wake between the last look and this exchange wins: then
            // the thread must not park (no unpark is on its way).
            return if state.stop_spin() {
                Spun::Missed
            } else {
                Spun::Caught
            };
        }
    }
}

/// When missed spins stop `block_on` spinning. After a miss the thread
/// parks at once for the next `backoff` waits; `backoff` doubles with each
/// miss in a row (1, 2, 4 … [`MAX_SKIP`]), and a spin that catches its wake
/// sets it back to nothing. Wakes that always come just later than [`SPIN`]
/// (every 30 µs, say) would otherwise keep a CPU spinning in vain most of
/// the time; with this, one wait in `MAX_SKIP + 1` spins (under 5 % of a CPU
/// at that rate). Quick and late wakes mixed spin on most waits, and each
/// late one costs up to `SPIN`: the price of not parking for the quick ones.
/// (Halving the backoff on a catch instead, tried, lost most of the gain on
/// `bench sync`'s request/reply shapes: a few misses kept the thread parking,
/// which is what makes the next wakes slow.)
#[derive(Debug, Clone, Copy)]
struct SpinPolicy {
    /// Waits left to park without spinning.
    skip: u32,
    /// Waits to skip after the next miss.
    backoff: u32,
}

/// The most waits a run of missed spins skips before spinning again.
const MAX_SKIP: u32 = 16;

impl SpinPolicy {
    const fn new() -> SpinPolicy {
        SpinPolicy {
            skip: 0,
            backoff: 0,
        }
    }

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

    fn caught(&mut self) {
        self.backoff = 0;
    }

    fn missed(&mut self) {
        self.backoff = (self.backoff * 2).clamp(1, MAX_SKIP);
        self.skip = self.backoff;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missed_spins_back_off_and_caught_wakes_come_back() {
        let mut policy = SpinPolicy::new();
        assert!(policy.try_spin());
        policy.caught();
        assert!(policy.try_spin(), "a caught wake keeps spinning");
        // Each miss doubles the waits skipped: 1, 2, 4, 8, 16, then 16.
        for skipped in [1, 2, 4, 8, 16, 16] {
            policy.missed();
            for _ in 0..skipped {
                assert!(!policy.try_spin());
            }
            assert!(policy.try_spin(), "spins again after {skipped} skipped");
        }
        // A catch resets the backoff: the next miss skips one wait.
        policy.caught();
        policy.missed();
        assert!(!policy.try_spin());
        assert!(policy.try_spin());
    }

    #[test]
    fn a_spin_reports_how_it_ended() {
        let never = || false;
        let state = WakeState::woken();
        assert_eq!(spin_for_wake(&state, 1, never), Spun::Early);
        assert!(state.take_wake());
        assert_eq!(spin_for_wake(&state, 1, || true), Spun::Missed);
        assert_eq!(state.mark_woken(), Some(true), "idle again: a wake unparks");
        assert!(state.take_wake());
        let mut looks = 0;
        let spun = spin_for_wake(&state, 1, || {
            looks += 1;
            if looks == 3 {
                assert_eq!(state.mark_woken(), Some(false), "spinning: no unpark");
            }
            false
        });
        assert_eq!(spun, Spun::Caught);
        assert!(state.take_wake());
    }

    #[test]
    fn no_spinner_or_a_skipped_spin_parks_at_once() {
        let state = WakeState::woken();
        assert!(state.take_wake());
        let mut policy = SpinPolicy::new();
        let mut parked = false;
        wait_for_wake::<()>(
            &state,
            None,
            &mut policy,
            1,
            || panic!("spun"),
            || parked = true,
        );
        assert!(parked);
        policy.missed();
        parked = false;
        wait_for_wake(
            &state,
            Some(()),
            &mut policy,
            1,
            || panic!("spun"),
            || parked = true,
        );
        assert!(parked, "the skipped wait parks");
        parked = false;
        wait_for_wake(&state, Some(()), &mut policy, 1, || true, || parked = true);
        assert!(parked, "a missed spin parks");
    }
}

#[cfg(all(test, weft_loom))]
mod loom_models {
    use super::{wait_for_wake, SpinPolicy, WakeState};
    use loom::sync::atomic::AtomicUsize;
    use loom::sync::Arc;
    use loom::thread;
    use std::sync::atomic::Ordering::SeqCst;

    /// `block_on`'s loop (`take_wake`, else `wait_for_wake` with the real
    /// spin and park) against `wakers` threads waking it the way
    /// `ThreadWake` does: the thread always ends up woken and never waits
    /// for an unpark nobody sends (loom fails a thread blocked forever).
    fn model(spin: bool, wakers: usize) {
        loom::model(move || {
            let state = Arc::new(WakeState::woken());
            assert!(state.take_wake(), "starts woken");
            let waiter = thread::current();
            let done = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..wakers)
                .map(|_| {
                    let (state, waiter) = (Arc::clone(&state), waiter.clone());
                    let done = Arc::clone(&done);
                    thread::spawn(move || {
                        if state.mark_woken() == Some(true) {
                            waiter.unpark();
                        }
                        done.fetch_add(1, SeqCst);
                    })
                })
                .collect();
            let mut policy = SpinPolicy::new();
            while !state.take_wake() {
                let mut looks = 0;
                let expired = move || {
                    looks += 1;
                    looks > 1
                };
                wait_for_wake(
                    &state,
                    spin.then_some(()),
                    &mut policy,
                    1,
                    expired,
                    thread::park,
                );
            }
            // (Waits for the wakers without blocking: loom's `join` would
            // take a late unpark for its own wake-up.)
            while done.load(SeqCst) < wakers {
                thread::yield_now();
            }
            for handle in handles {
                handle.join().unwrap();
            }
            // Idle or woken again (a second waker after the take), never
            // left spinning.
            assert!(!state.spinning());
        });
    }

    #[test]
    fn loom_block_on_spin_then_park_loses_no_wake() {
        model(true, 1);
    }

    #[test]
    fn loom_block_on_park_loses_no_wake() {
        model(false, 1);
    }

    #[test]
    fn loom_block_on_two_wakers_spin_then_park() {
        model(true, 2);
    }
}
