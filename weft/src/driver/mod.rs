//! Drivers turn kernel events and the clock into wake-ups.
//!
//! Owns: the I/O driver ([`io`]) and the time driver ([`time`]).
//! Calls: the kernel and wakers only. The scheduler calls [`Driver::park`]
//! when it has nothing to run (or every `event_interval` tasks), and
//! [`Handle::unpark`] from other threads.

pub(crate) mod io;
pub(crate) mod time;

use std::cell::Cell;
use std::num::NonZeroU64;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use self::io::{IoCore, IoShared};
use self::time::TimeShared;

thread_local! {
    /// The worker of a multi-thread runtime this thread runs, or
    /// [`OUTSIDE`]. No destructor: a plain load.
    static WORKER: Cell<usize> = const { Cell::new(OUTSIDE) };
}

/// [`worker_index`] on a thread that runs no runtime's worker.
const OUTSIDE: usize = usize::MAX;

/// Marks this thread as running worker `index` of a multi-thread runtime
/// until the guard drops: its timers go to the worker's timer shard and,
/// on the io_uring backend, the descriptors it registers to the worker's
/// ring. (A runtime with fewer workers, whose timers or sockets are made
/// on this thread, treats it as outside.)
pub(crate) fn enter_worker(index: usize) -> WorkerGuard {
    WorkerGuard(WORKER.replace(index))
}

/// The worker this thread runs (see [`enter_worker`]), or [`OUTSIDE`].
#[inline]
pub(crate) fn worker_index() -> usize {
    WORKER.get()
}

/// Restores the thread's previous worker on drop.
pub(crate) struct WorkerGuard(usize);

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        WORKER.set(self.0);
    }
}

/// What every handle to a runtime can reach: registration, timers, and
/// the runtime's id and name (kept here because every scheduler handle
/// reaches its driver's handle; copying them costs a `Sleep` nothing when
/// the runtime has no name, one reference count when it has).
#[derive(Clone)]
pub(crate) struct Handle {
    pub(crate) io: Arc<IoShared>,
    pub(crate) time: Arc<TimeShared>,
    /// The runtime's id (`runtime::Id`).
    pub(crate) runtime_id: NonZeroU64,
    /// The runtime's name, from `Builder::name`.
    pub(crate) runtime_name: Option<Arc<str>>,
}

/// What the runtime's `Builder` decides about the driver.
pub(crate) struct Config {
    /// Events fetched by one `epoll_wait` (at least 1).
    pub(crate) events_per_tick: usize,
    /// The backend asked for (`Builder::io_driver`, `WEFT_IO_DRIVER`).
    pub(crate) io_driver: io::IoDriver,
    /// `None`: one thread drives the loop, mostly the same one (a
    /// current-thread runtime), and the io_uring backend takes a ring that
    /// thread owns. A multi-thread runtime's worker count otherwise: the
    /// io_uring backend takes a ring per worker.
    pub(crate) workers: Option<usize>,
    pub(crate) runtime_id: NonZeroU64,
    pub(crate) runtime_name: Option<Arc<str>>,
    /// `Builder::start_paused`.
    #[cfg(feature = "test-util")]
    pub(crate) start_paused: bool,
}

impl Handle {
    /// Wakes the thread parked in [`Driver::park`], if any.
    pub(crate) fn unpark(&self) {
        self.io.unpark();
    }

    /// Holds the paused clock's auto-advance back (a blocking job in
    /// flight, a `block_on` future woken, a `block_in_place` body) until
    /// the matching [`allow_auto_advance`](Self::allow_auto_advance).
    #[cfg(feature = "test-util")]
    pub(crate) fn inhibit_auto_advance(&self) {
        self.time.clock().inhibit();
    }

    /// Gives back an [`inhibit_auto_advance`](Self::inhibit_auto_advance),
    /// after the work it covered has queued whatever it woke; the thread
    /// parked in the driver then looks again.
    #[cfg(feature = "test-util")]
    pub(crate) fn allow_auto_advance(&self) {
        self.time.clock().allow();
        self.kick_if_paused();
    }

    /// With the clock paused, wakes the thread parked in the driver so that
    /// it checks again whether the runtime is idle (a worker just went to
    /// sleep, a count holding auto-advance back was given back).
    #[cfg(feature = "test-util")]
    pub(crate) fn kick_if_paused(&self) {
        if self.time.clock().is_paused() {
            self.io.unpark();
        }
    }

    /// `time::advance`: fires every timer due by the clock's reading `now`,
    /// here, on the caller's thread.
    #[cfg(feature = "test-util")]
    pub(crate) fn fire_due(&self, now: Instant) {
        let mut fired = Vec::new();
        self.time.process(now, &mut fired);
        wake_all(&mut fired);
    }
}

/// A timer inserted from another thread wakes the loop's blocking wait
/// through the I/O driver's eventfd.
impl time::Unpark for IoShared {
    fn unpark(&self) {
        IoShared::unpark(self);
    }
}

/// The driver proper, owned by whichever thread runs the loop.
pub(crate) struct Driver {
    io: IoCore,
    handle: Handle,
    /// Reused buffer of timer wakers fired in one turn.
    fired: Vec<Waker>,
    /// When yields get a turn (see `yield_turn`).
    pacer: YieldPacer,
}

/// Paces the turns yields ask for ([`Driver::yield_turn`]; a worker's own
/// io_uring ring, when another worker holds the driver, the same way).
pub(crate) struct YieldPacer {
    /// When the last turn read the clock.
    last_turn: Instant,
    /// Yield turns asked for since the clock was last read for one, and how
    /// many to let pass before reading it again.
    yields_unchecked: u32,
    check_every: u32,
    last_check: Instant,
}

impl YieldPacer {
    pub(crate) fn new() -> YieldPacer {
        YieldPacer {
            last_turn: Instant::now(),
            yields_unchecked: 0,
            check_every: 1,
            last_check: Instant::now(),
        }
    }

    /// A yield asks for a turn: true if one is due (the last was at least
    /// [`YIELD_TURN_GAP`] ago). Reading the clock costs about as much as a
    /// bare yield, so when yields come quickly the clock is read only every
    /// few of them: after each read, `check_every` is set so that the next
    /// read comes about a quarter of the gap later at the rate yields just
    /// came (1 when each yield takes longer than that, at most
    /// [`MAX_UNCHECKED_YIELDS`]).
    pub(crate) fn due(&mut self) -> bool {
        self.yields_unchecked += 1;
        if self.yields_unchecked < self.check_every {
            return false;
        }
        let now = Instant::now();
        let per_yield = now.saturating_duration_since(self.last_check) / self.yields_unchecked;
        let wanted = (YIELD_TURN_GAP / 4).as_nanos() / per_yield.as_nanos().max(1);
        self.check_every = u32::try_from(wanted)
            .unwrap_or(u32::MAX)
            .clamp(1, MAX_UNCHECKED_YIELDS);
        self.yields_unchecked = 0;
        self.last_check = now;
        now.saturating_duration_since(self.last_turn) >= YIELD_TURN_GAP
    }

    /// A turn was taken at `at`.
    pub(crate) fn turned(&mut self, at: Instant) {
        self.last_turn = at;
    }
}

/// A turn asked for by a yield ([`Driver::yield_turn`]) is skipped when the
/// last turn was more recent than this: a task that does nothing but yield
/// then costs no syscall per yield, while a task that did real work between
/// two yields (tens of microseconds) lets I/O in on each.
pub(crate) const YIELD_TURN_GAP: Duration = Duration::from_micros(20);

/// How soon a paused clock's auto-advance looks again when an io_uring
/// ring held an event nobody had handled yet (`Driver::park_paused`).
#[cfg(feature = "test-util")]
const SETTLE_LOOK: Duration = Duration::from_millis(1);

/// At most this many yield turns in a row skip the clock read (when yields
/// come much faster than `YIELD_TURN_GAP`).
const MAX_UNCHECKED_YIELDS: u32 = 8;

impl Driver {
    pub(crate) fn new(config: Config) -> std::io::Result<Driver> {
        let io = IoCore::new(config.events_per_tick, config.io_driver, config.workers)?;
        let unpark: Arc<dyn time::Unpark> = Arc::clone(io.shared()) as Arc<IoShared>;
        #[cfg(not(feature = "test-util"))]
        let time = TimeShared::new(unpark);
        #[cfg(feature = "test-util")]
        let time = TimeShared::new(unpark, config.start_paused);
        let handle = Handle {
            io: Arc::clone(io.shared()),
            time: Arc::new(time),
            runtime_id: config.runtime_id,
            runtime_name: config.runtime_name,
        };
        Ok(Driver {
            io,
            handle,
            fired: Vec::new(),
            pacer: YieldPacer::new(),
        })
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Splits the timers into `shards` shards: a multi-thread runtime's
    /// workers each get one, and one more serves every other thread. Only
    /// before the driver's handle is shared (no timer can exist yet).
    pub(crate) fn shard_timers(&mut self, shards: usize) {
        Arc::get_mut(&mut self.handle.time)
            .expect("weft: timers are sharded before the driver's handle is shared")
            .set_shards(shards);
    }

    /// One turn of the loop's driver phase: poll I/O for at most `timeout`
    /// (shortened to the next timer; `None`: no limit), then read the clock
    /// once and fire every timer due.
    pub(crate) fn park(&mut self, timeout: Option<Duration>) {
        let time = &self.handle.time;
        let blocking = timeout != Some(Duration::ZERO);
        if blocking {
            // Before the timers are read: an insert after that read wakes
            // this thread's wait.
            self.handle.io.claim_unpark();
        }
        let timeout = if blocking {
            // Announces the park while it reads the shards: a timer inserted
            // from another thread is either seen here or unparks this wait
            // if it is due before the timeout (see `time::shard`).
            match (timeout, time.parking(time.now())) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
            .map(ceil_millis)
        } else {
            timeout
        };
        turn_io(&mut self.io, timeout);
        if blocking {
            time.unparked();
        }
        self.fire_timers();
    }

    /// Reads the clock once and fires every timer due; the turn's end.
    fn fire_timers(&mut self) {
        let time = &self.handle.time;
        let now = time.now();
        self.pacer.turned(real_now(now));
        time.process(now, &mut self.fired);
        wake_all(&mut self.fired);
    }

    /// The park of a loop with nothing to run: blocks until an I/O event,
    /// the next timer or an unpark, as `park(None)`.
    ///
    /// With the clock paused (feature `test-util`) a timer's deadline never
    /// comes by waiting. The driver polls I/O without blocking and fires
    /// what is due; if that woke nothing and `quiet()` says nothing else of
    /// the runtime can run (every worker asleep with empty queues, no
    /// blocking job in flight, no `block_on` future awake), the clock jumps
    /// to the earliest exact timer deadline and the timers due then fire
    /// (auto-advance). Otherwise it blocks until an event or an unpark:
    /// whoever makes `quiet()` true afterwards kicks it (see
    /// `Handle::kick_if_paused`).
    pub(crate) fn park_idle(&mut self, quiet: impl Fn() -> bool) {
        #[cfg(feature = "test-util")]
        if self.handle.time.clock().is_paused() {
            self.park_paused(quiet);
            return;
        }
        let _ = quiet;
        self.park(None);
    }

    #[cfg(feature = "test-util")]
    fn park_paused(&mut self, quiet: impl Fn() -> bool) {
        let time = &self.handle.time;
        self.handle.io.claim_unpark();
        // From here to the end of this park every timer insert unparks:
        // one that comes after the auto-advance below looked at the wheels
        // must end a wait that no tick of a paused clock would end.
        time.parking_unbounded();
        // Kicks (an unpark with nothing queued) do not count as events:
        // they only ask for this look.
        let (events, unparked) = turn_io(&mut self.io, Some(Duration::ZERO));
        time.process(time.now(), &mut self.fired);
        if events == 0 && self.fired.is_empty() {
            // An io_uring ring may hold an event nobody has handled yet (a
            // request that turn submitted completes through completion
            // work; another worker's ring, only its worker reaps): not
            // idle yet, and looked at again shortly, since the worker that
            // settles its ring does not kick this wait. (The rings' epoch
            // is read before the workers' states: one woken meanwhile
            // makes the look no snapshot.)
            let epoch = self.handle.io.settle_epoch();
            let idle = quiet();
            let settled =
                !idle || (self.handle.io.settled() && self.handle.io.settle_epoch() == epoch);
            let jumped = idle && settled && time.jump_to_next_timer();
            // Something else may still run, or no timer waits: wait for
            // I/O or an unpark. Not after an unpark, though: one that came
            // while that turn drained the eventfd wrote nothing, and only
            // the caller's own look (its queues, a shutdown) sees it; the
            // caller parks again if it finds nothing.
            if !jumped && !unparked {
                // Resumed meanwhile: to the next timer, as a running clock.
                let timeout = if !settled {
                    Some(SETTLE_LOOK)
                } else if time.clock().is_paused() {
                    None
                } else {
                    time.next_timeout(time.now()).map(ceil_millis)
                };
                turn_io(&mut self.io, timeout);
            }
        }
        time.unparked();
        self.fire_timers();
    }

    /// The turn a yield asks for: polls I/O without blocking and fires due
    /// timers, unless the last turn was less than [`YIELD_TURN_GAP`] ago
    /// ([`YieldPacer::due`] says how the clock is read for that). A task
    /// that yields after real work (the rate that matters for I/O) gets a
    /// clock read, and a turn if due, on every yield — after a burst of
    /// fast yields, from its next check on (the schedulers' own turn every
    /// `event_interval` polls bounds that too).
    ///
    /// Returns whether the driver turned.
    pub(crate) fn yield_turn(&mut self) -> bool {
        if self.pacer.due() {
            self.park(Some(Duration::ZERO));
            return true;
        }
        false
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.handle.time.shutdown(&mut self.fired);
        wake_all(&mut self.fired);
    }
}

/// Wakes every waker in `fired`, emptying it. A waker that panics (a
/// user's `Wake` impl) is reported on stderr and the rest are still woken:
/// one bad waker must not strand the other timers' tasks.
fn wake_all(fired: &mut Vec<Waker>) {
    each_contained(fired.drain(..), Waker::wake);
}

/// Calls `f` on every item in turn. A panic in `f` (a waker's, typically)
/// is caught, reported on stderr, and the loop goes on with the next item:
/// the driver's batches of wake-ups survive one bad waker. One
/// `catch_unwind` per batch, not one per item (the hot path pays nothing
/// per wake).
pub(crate) fn each_contained<I: Iterator>(mut items: I, mut f: impl FnMut(I::Item)) {
    loop {
        // The `for` takes an item out of `items` before `f` sees it, so
        // after a panic the next round starts with the item after it.
        let round = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for item in &mut items {
                f(item);
            }
        }));
        match round {
            Ok(()) => return,
            Err(payload) => report_waker_panic(&*payload),
        }
    }
}

/// Wakes `waker`, containing a panic from its `wake` (reported on stderr):
/// for the rare paths that run while a panic is already unwinding (where
/// a second one would abort).
pub(crate) fn wake_contained(waker: Waker) {
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake())) {
        report_waker_panic(&*payload);
    }
}

fn report_waker_panic(payload: &(dyn std::any::Any + Send)) {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a non-string payload)");
    eprintln!(
        "weft: a waker panicked while the driver woke it (the other wake-ups go on): {message}"
    );
}

/// One I/O turn (see [`IoCore::turn`]); returns the I/O events it
/// dispatched and whether it drained an unpark.
fn turn_io(io: &mut IoCore, timeout: Option<Duration>) -> (usize, bool) {
    match io.turn(timeout) {
        Ok(events) => events,
        // epoll_wait fails only on a broken epoll fd or a bad buffer:
        // neither can be fixed by retrying, and spinning would hide it.
        Err(e) => panic!("weft: the I/O driver's wait failed: {e}"),
    }
}

/// The real time of a turn that read the clock as `read`: the same reading
/// without `test-util`; with it, the system clock (the clock may be
/// virtual, and the yield heuristics measure real time).
#[inline]
fn real_now(read: Instant) -> Instant {
    #[cfg(feature = "test-util")]
    {
        let _ = read;
        Instant::now()
    }
    #[cfg(not(feature = "test-util"))]
    {
        read
    }
}

/// Rounds up to whole milliseconds: epoll_wait counts in milliseconds, and a
/// timeout rounded down to zero would spin until the timer is due.
fn ceil_millis(d: Duration) -> Duration {
    let ms = d.as_millis() + u128::from(d.subsec_nanos() % 1_000_000 != 0);
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up_to_milliseconds() {
        assert_eq!(ceil_millis(Duration::ZERO), Duration::ZERO);
        assert_eq!(
            ceil_millis(Duration::from_micros(300)),
            Duration::from_millis(1)
        );
        assert_eq!(
            ceil_millis(Duration::from_millis(7)),
            Duration::from_millis(7)
        );
        assert_eq!(ceil_millis(Duration::MAX), Duration::from_millis(u64::MAX));
    }
}
