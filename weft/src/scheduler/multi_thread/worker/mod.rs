//! A worker thread's loop, and what wakes and spawns on a worker do.
//!
//! One turn: take the next task (the LIFO slot, the local ring, every other
//! turn the pinned local queue, every `global_queue_interval` turns the
//! global queue first); if there is none, steal half of a random victim's
//! ring, then a batch of the global queue; if still nothing, sleep. Every
//! `event_interval` polls the worker lets the driver in without blocking
//! (when no other worker holds it; with an io_uring ring per worker, its
//! own ring whatever), so I/O and timers are never starved by busy tasks.
//!
//! While a worker runs, its [`Core`] sits in a `RefCell` of its [`WorkerCx`],
//! which a thread-local points at; a wake on the worker's own thread borrows
//! it for the push and nothing else. The loop never holds that borrow across
//! a poll or a park, which is what lets `block_in_place` take the core away
//! in the middle of a poll and hand it to a stand-in thread.

mod handoff;
mod pinned;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

pub(crate) use handoff::block_in_place;
use handoff::GiveBack;
pub(crate) use pinned::{pinned_finished, spawn_local};

use super::{park, queue, Shared};
use crate::driver::{Driver, YieldPacer};
use crate::scheduler::context;
use crate::scheduler::registry::Registry;
use crate::scheduler::Handle;
use crate::scheduler::TaskRef;
use crate::sys::lock::lock;

/// Polls of the LIFO slot in a row before its task goes to the back of the
/// ring: two tasks waking each other cannot keep the rest waiting.
const MAX_LIFO_POLLS: u32 = 3;

/// What a worker owns while it runs; handed between threads only whole.
pub(crate) struct Core {
    /// Turns of the loop (LIFO polls excluded); its parity alternates the
    /// pinned queue with the ring.
    tick: u32,
    /// Turns left until the next `maintenance` / global-queue-first turn:
    /// countdowns, not `tick % interval`, so a turn costs no division.
    until_maintenance: u32,
    until_global: u32,
    /// The task woken last on this worker: run next.
    lifo: Option<TaskRef>,
    /// False once the LIFO slot ran `MAX_LIFO_POLLS` times in a row; wakes
    /// then go to the ring until the next task from it.
    lifo_enabled: bool,
    queue: queue::Local<TaskRef>,
    /// Tasks that woke themselves during their own poll (a yield, a spent
    /// budget): they join the ring after the driver's next turn, behind
    /// whatever I/O and timers it woke. Never stolen while here.
    deferred: Vec<TaskRef>,
    /// This worker counts as searching in `Idle`.
    searching: bool,
    /// Wakes are being dispatched from the driver: the worker will look at
    /// its queue right after, so they notify nobody one by one.
    in_driver: bool,
    /// When yields get a turn of the worker's own io_uring ring (a ring per
    /// worker) while another worker holds the driver.
    ring_pacer: YieldPacer,
    rng: u32,
}

impl Core {
    pub(super) fn new(index: usize, queue: queue::Local<TaskRef>) -> Box<Core> {
        Box::new(Core {
            tick: 0,
            until_maintenance: 0,
            until_global: 0,
            lifo: None,
            lifo_enabled: true,
            queue,
            deferred: Vec::new(),
            searching: false,
            in_driver: false,
            ring_pacer: YieldPacer::new(),
            // Any non-zero seed differing per worker.
            rng: 0x9E37_79B9 ^ (index as u32).wrapping_mul(0x85EB_CA6B) | 1,
        })
    }

    fn has_tasks(&self) -> bool {
        self.lifo.is_some() || !self.queue.is_empty() || !self.deferred.is_empty()
    }

    /// Moves the deferred tasks to the back of the ring.
    fn release_deferred(&mut self, overflow: &mut Option<Vec<TaskRef>>) {
        for task in std::mem::take(&mut self.deferred) {
            // The ring's overflow hands half of it to the global queue in
            // one batch; a second overflow in this loop appends to it.
            let mut spilled = None;
            self.push_back(task, &mut spilled);
            if let Some(batch) = spilled {
                overflow.get_or_insert_with(Vec::new).extend(batch);
            }
        }
    }

    /// A random number below `n` (xorshift32).
    fn random(&mut self, n: usize) -> usize {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        (x as usize) % n
    }

    /// Drops the queue's references at shutdown; true if there were any.
    pub(super) fn drain(&mut self) -> bool {
        let mut any = false;
        for task in std::mem::take(&mut self.deferred) {
            task.shutdown();
            any = true;
        }
        while let Some(task) = self.lifo.take().or_else(|| self.queue.pop()) {
            task.shutdown();
            any = true;
        }
        any
    }

    #[inline]
    fn push_back(&mut self, task: TaskRef, overflow: &mut Option<Vec<TaskRef>>) {
        self.queue.push_back(task, |batch| *overflow = Some(batch));
    }
}

/// A worker thread's context, on that thread's stack while it runs.
struct WorkerCx {
    shared: Arc<Shared>,
    index: usize,
    /// False on a `block_in_place` stand-in: it runs the core but not the
    /// pinned tasks, which stay with the home thread.
    home: bool,
    core: RefCell<Option<Box<Core>>>,
    /// `spawn_local` tasks of this worker ready to run (home thread only).
    pinned: RefCell<VecDeque<TaskRef>>,
    /// Pinned tasks that yielded: they join `pinned` after the driver's
    /// next turn, as `Core::deferred` joins the ring (home thread only;
    /// never handed to a stand-in, as the pinned queue is not).
    pinned_deferred: RefCell<VecDeque<TaskRef>>,
    /// Every `spawn_local` task of this worker not yet completed.
    pinned_registry: RefCell<Registry>,
    /// True while a task is being polled: only then may `block_in_place`
    /// hand the core away (the loop around the poll copes with its absence).
    in_poll: Cell<bool>,
    /// A stand-in still counted in `Shared::stand_ins`.
    counted_stand_in: Cell<bool>,
    /// Inside `block_in_place`'s `f`: this thread runs no loop now, so it
    /// may block (a `Handle::block_on` there is allowed).
    lent: Cell<bool>,
    /// This thread's task went on without the worker's core
    /// (`block_in_place`) and holds a paused clock's auto-advance back until
    /// the thread is back in its loop.
    #[cfg(feature = "test-util")]
    holds_clock: Cell<bool>,
}

thread_local! {
    /// The worker context this thread runs, or null. No destructor, so a
    /// read is a plain load.
    static WORKER: Cell<*const WorkerCx> = const { Cell::new(ptr::null()) };
    /// True while this thread waits in a multi-thread `block_on`.
    static BLOCK_ON: Cell<bool> = const { Cell::new(false) };
}

/// True if this thread is one of `shared`'s worker threads (a home thread
/// or a stand-in), e.g. inside `block_in_place` on it.
pub(super) fn is_thread_of(shared: &Arc<Shared>) -> bool {
    current().is_some_and(|cx| Arc::ptr_eq(&cx.shared, shared))
}

fn current() -> Option<&'static WorkerCx> {
    let cx = WORKER.get();
    if cx.is_null() {
        return None;
    }
    // `WORKER` is non-null only while `run_thread`'s frame, which owns the
    // `WorkerCx` it points at, is live on this thread (`Installed` resets it
    // before the frame ends, unwinding included).
    // SAFETY: so `cx` points at a live `WorkerCx`; every caller is inside that
    // loop's polls and wakes, so the 'static never outlives the frame.
    Some(unsafe { &*cx })
}

/// True on a worker thread (or a `block_in_place` stand-in) of any
/// multi-thread runtime.
pub(crate) fn is_worker() -> bool {
    !WORKER.get().is_null()
}

/// True while this thread runs a worker loop that must not block: a worker
/// not inside `block_in_place`'s `f`.
pub(crate) fn in_worker_loop() -> bool {
    current().is_some_and(|cx| !cx.lent.get())
}

/// True while this thread waits in a multi-thread `block_on`.
pub(crate) fn in_block_on() -> bool {
    BLOCK_ON.get()
}

/// Marks this thread as inside a multi-thread `block_on`.
pub(crate) struct BlockOnGuard(bool);

impl BlockOnGuard {
    pub(crate) fn enter() -> BlockOnGuard {
        BlockOnGuard(BLOCK_ON.replace(true))
    }

    /// Marks this thread as not inside a `block_on` until the guard drops
    /// (`block_in_place` on a `block_on` thread).
    fn leave() -> BlockOnGuard {
        BlockOnGuard(BLOCK_ON.replace(false))
    }
}

impl Drop for BlockOnGuard {
    fn drop(&mut self) {
        BLOCK_ON.set(self.0);
    }
}

/// Queues a task of the scheduler at `target`: on this worker when this
/// thread is one of that scheduler's workers (the LIFO slot for a wake, the
/// back of the ring for a yield), otherwise through the global queue.
pub(crate) fn schedule(target: *const Shared, task: TaskRef, yielded: bool) {
    if let Some(cx) = current() {
        if Arc::as_ptr(&cx.shared) == target {
            if let Err(task) = cx.schedule_here(task, yielded) {
                cx.shared.schedule_remote(task);
            }
            return;
        }
    }
    let Handle::MultiThread(shared) = &task.header().scheduler else {
        unreachable!("a multi-thread target names a multi-thread task");
    };
    let shared = Arc::clone(shared);
    shared.schedule_remote(task);
}

/// Starts a thread running worker `index`: its home thread, or (`home`
/// false) a stand-in while the home thread is in `block_in_place`. The core
/// must be in the worker's handoff slot.
pub(super) fn spawn_thread(shared: &Arc<Shared>, index: usize, home: bool) -> io::Result<()> {
    shared.thread_started();
    let mut builder = thread::Builder::new().name((shared.threads.name)());
    if let Some(size) = shared.threads.stack_size {
        builder = builder.stack_size(size);
    }
    let for_thread = Arc::clone(shared);
    match builder.spawn(move || run_thread(for_thread, index, home)) {
        Ok(_) => Ok(()),
        Err(e) => {
            shared.thread_stopped();
            Err(e)
        }
    }
}

fn run_thread(shared: Arc<Shared>, index: usize, home: bool) {
    let _stopped = Stopped(&shared);
    if !home {
        shared.stand_ins.fetch_add(1, Relaxed);
    }
    let remote = &shared.remotes[index];
    let Some(core) = lock(&remote.handoff).take() else {
        // A stand-in that started after its `block_in_place` ended: the
        // home thread took its core back already.
        if !home {
            shared.stand_ins.fetch_sub(1, Relaxed);
        }
        return;
    };
    shared.config.hooks.thread_start();
    let cx = WorkerCx {
        shared: Arc::clone(&shared),
        index,
        home,
        core: RefCell::new(Some(core)),
        pinned: RefCell::new(VecDeque::new()),
        pinned_deferred: RefCell::new(VecDeque::new()),
        pinned_registry: RefCell::new(Registry::default()),
        in_poll: Cell::new(false),
        counted_stand_in: Cell::new(!home),
        lent: Cell::new(false),
        #[cfg(feature = "test-util")]
        holds_clock: Cell::new(false),
    };
    {
        let _enter = context::enter(Handle::MultiThread(Arc::clone(&shared)));
        // Timers made on this thread go to the worker's own shard, and
        // (a ring per worker) descriptors registered here to its ring (a
        // stand-in's too: it runs the same worker's tasks).
        let _worker = crate::driver::enter_worker(index);
        let _installed = Installed::new(&cx);
        // Hands the core on however the loop ends, a weft bug's panic
        // included: a lost core would hang shutdown.
        let _give_back = GiveBack(&cx);
        cx.run();
    }
    shared.config.hooks.thread_stop();
}

/// Counts the thread out however it ends.
struct Stopped<'a>(&'a Shared);

impl Drop for Stopped<'_> {
    fn drop(&mut self) {
        self.0.thread_stopped();
    }
}

/// Points `WORKER` at a context for as long as it lives.
struct Installed(*const WorkerCx);

impl Installed {
    fn new(cx: &WorkerCx) -> Installed {
        Installed(WORKER.replace(cx))
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        WORKER.set(self.0);
    }
}

/// The driver, as the parker sees it.
struct DriverPark<'a> {
    driver: &'a mut Driver,
    shared: &'a Shared,
}

impl park::Driver for DriverPark<'_> {
    fn park(&mut self) {
        let shared = self.shared;
        self.driver.park_idle(|| shared.quiescent());
    }
}

/// A worker's own ring (a ring per worker), as the parker sees it: what a
/// worker that does not hold the driver parks in.
struct RingPark<'a>(&'a crate::driver::Handle);

impl park::Driver for RingPark<'_> {
    fn park(&mut self) {
        // Under a paused clock the ring submits its requests before it
        // counts as quiet (`IoShared::turn_worker`).
        #[cfg(feature = "test-util")]
        let paused = self.0.time.clock().is_paused();
        #[cfg(not(feature = "test-util"))]
        let paused = false;
        self.0.io.turn_worker(None, paused);
    }
}

impl WorkerCx {
    fn remote(&self) -> &super::Remote {
        &self.shared.remotes[self.index]
    }

    fn should_stop(&self) -> bool {
        self.shared.is_closed() || (!self.home && self.remote().want_back.load(Acquire))
    }

    fn run(&self) {
        // This thread's busy time, up to each park and to the way out (a
        // stand-in's is not counted: the home thread is, meanwhile).
        let busy = if self.home {
            self.remote().busy.start()
        } else {
            self.remote().busy.start_parks_only()
        };
        loop {
            if self.core.borrow().is_none() {
                // A `block_in_place` in the last poll handed the core on.
                if !self.home {
                    // A stand-in is done: the core has a new holder.
                    self.release_clock();
                    return;
                }
                let reclaimed = self.reclaim_core();
                self.release_clock();
                if !reclaimed {
                    // Handed in for shutdown meanwhile: nothing to run.
                    return;
                }
                continue;
            }
            if self.should_stop() {
                if !self.home && !self.try_hand_back() {
                    // The home thread asked for the core again meanwhile.
                    continue;
                }
                return;
            }
            if let Some(task) = self.next_task() {
                self.run_task(task);
            } else if let Some(task) = self.steal_work() {
                self.run_task(task);
            } else if !self.spin_for_pool() {
                self.park(&busy);
            }
        }
    }

    /// Queues `task` on this worker. `Err` gives it back when this thread
    /// cannot take it (it is pinned elsewhere, or the core is away).
    fn schedule_here(&self, task: TaskRef, yielded: bool) -> Result<(), TaskRef> {
        if let Some(owner) = task.header().local_owner {
            if self.home && owner.worker == self.index {
                if yielded {
                    self.pinned_deferred.borrow_mut().push_back(task);
                } else {
                    self.pinned.borrow_mut().push_back(task);
                }
                return Ok(());
            }
            return Err(task);
        }
        let Ok(mut guard) = self.core.try_borrow_mut() else {
            return Err(task);
        };
        let Some(core) = guard.as_mut() else {
            return Err(task);
        };
        if yielded {
            // A yield needs nobody else: this worker runs it after its
            // driver's next turn (or after another worker's, if one holds
            // the driver).
            core.deferred.push(task);
            return Ok(());
        }
        let mut overflow = None;
        let pushed_to_ring = if !core.lifo_enabled {
            core.push_back(task, &mut overflow);
            true
        } else {
            match core.lifo.replace(task) {
                Some(previous) => {
                    core.push_back(previous, &mut overflow);
                    true
                }
                None => false,
            }
        };
        // Maintenance spreads a long queue to idle workers every
        // `event_interval` polls.
        let notify = pushed_to_ring && !core.in_driver && self.shared.remotes.len() > 1;
        drop(guard);
        if let Some(batch) = overflow {
            self.shared.inject.push_batch(batch);
        }
        if notify {
            self.shared.notify_parked();
        }
        Ok(())
    }

    fn next_task(&self) -> Option<TaskRef> {
        let config = &self.shared.config;
        let (tick, maintain, global_first) = {
            let mut guard = self.core.borrow_mut();
            let core = guard.as_mut()?;
            core.tick = core.tick.wrapping_add(1);
            let countdown = |left: &mut u32, interval: u32| match left.checked_sub(1) {
                Some(n) => {
                    *left = n;
                    false
                }
                None => {
                    *left = interval - 1;
                    true
                }
            };
            (
                core.tick,
                countdown(&mut core.until_maintenance, config.event_interval),
                countdown(&mut core.until_global, config.global_queue_interval),
            )
        };
        if maintain {
            self.maintenance();
        }
        if self.home && tick & 1 == 0 {
            if let Some(task) = self.pop_pinned() {
                return Some(task);
            }
        }
        if global_first {
            // A fair share of the global queue, not just one task: while
            // local tasks keep yielding, remote spawns still drain.
            if let Some(task) = self.pop_inject_batch() {
                return Some(task);
            }
        }
        let local = {
            let mut guard = self.core.borrow_mut();
            let core = guard.as_mut()?;
            core.lifo.take().or_else(|| core.queue.pop())
        };
        local
            .or_else(|| if self.home { self.pop_pinned() } else { None })
            .or_else(|| self.pop_inject_batch())
            .or_else(|| self.after_yield_turn())
    }

    /// Only yielded tasks are left: the driver's turn first (unless another
    /// worker holds the driver, which then does it, or the last turn was
    /// just now; with a ring per worker, the worker's own ring's turn
    /// then, paced the same way), then the deferred tasks go to the ring
    /// and the first runs.
    fn after_yield_turn(&self) -> Option<TaskRef> {
        let deferred = !self.core.borrow().as_ref()?.deferred.is_empty()
            || !self.pinned_deferred.borrow().is_empty();
        if !deferred {
            return None;
        }
        let turned = self.turn_now(Driver::yield_turn, |cx| cx.ring_yield_due());
        if turned {
            // What the turn woke landed here without notifying anyone
            // (counted before the yielders join the ring: they need no one).
            self.spread_work();
        }
        self.release_deferred();
        let local = {
            let mut guard = self.core.borrow_mut();
            let core = guard.as_mut()?;
            core.lifo.take().or_else(|| core.queue.pop())
        };
        local.or_else(|| if self.home { self.pop_pinned() } else { None })
    }

    /// The deferred tasks join the ring (its overflow the global queue).
    fn release_deferred(&self) {
        {
            let mut yielded = self.pinned_deferred.borrow_mut();
            if !yielded.is_empty() {
                self.pinned.borrow_mut().append(&mut yielded);
            }
        }
        let mut overflow = None;
        if let Some(core) = self.core.borrow_mut().as_mut() {
            core.release_deferred(&mut overflow);
        }
        if let Some(batch) = overflow {
            self.shared.inject.push_batch(batch);
        }
    }

    /// Takes a fair share of the global queue: one task to run, the rest
    /// into the ring.
    fn pop_inject_batch(&self) -> Option<TaskRef> {
        let inject = &self.shared.inject;
        if inject.is_empty() {
            return None;
        }
        let mut guard = self.core.borrow_mut();
        let core = guard.as_mut()?;
        let share = inject.len() / self.shared.remotes.len() + 1;
        let max = share.min(core.queue.remaining() / 2).max(1);
        inject.pop_batch(max, |task| {
            // `max` is below the ring's free room: no overflow.
            core.queue.push_back(task, |_| {
                unreachable!("weft: ring overflow while taking a batch that fits")
            });
        })
    }

    /// Looks for work elsewhere: half of a random victim's ring, then the
    /// global queue. Only when fewer than half the workers search already.
    ///
    /// A lone worker has no victims but still counts itself searching: the
    /// searcher that parks last re-checks the global queue, and that
    /// re-check is what catches a spawn that saw every worker unparked
    /// (and so woke nobody) just before this one went to sleep.
    fn steal_work(&self) -> Option<TaskRef> {
        let shared = &self.shared;
        let workers = shared.remotes.len();
        {
            let mut guard = self.core.borrow_mut();
            let core = guard.as_mut()?;
            if !core.searching {
                if !shared.idle.transition_to_searching() {
                    return None;
                }
                core.searching = true;
            }
            let start = core.random(workers);
            for offset in 0..workers {
                let victim = (start + offset) % workers;
                if victim == self.index {
                    continue;
                }
                if let Some(task) = shared.remotes[victim].steal.steal_into(&mut core.queue) {
                    self.remote().steals.bump();
                    return Some(task);
                }
            }
        }
        self.pop_inject_batch()
    }

    /// Polls `task`, then whatever it woke into the LIFO slot (a few times
    /// at most).
    fn run_task(&self, task: TaskRef) {
        let notify = match self.core.borrow_mut().as_mut() {
            Some(core) => {
                core.lifo_enabled = true;
                // Found work: stop searching; the last searcher wakes
                // another so someone keeps looking.
                std::mem::take(&mut core.searching) && self.shared.idle.transition_from_searching()
            }
            // The core left (a hand-off outside a poll cannot happen, but a
            // popped task must be polled whatever happens).
            None => false,
        };
        if notify {
            self.shared.notify_parked();
        }
        self.poll(task);
        let mut lifo_polls = 0;
        loop {
            if self.shared.is_closed() {
                // Shutdown drops whatever is left in the slot.
                return;
            }
            let mut guard = self.core.borrow_mut();
            let Some(core) = guard.as_mut() else { return };
            let Some(task) = core.lifo.take() else { return };
            if lifo_polls >= MAX_LIFO_POLLS {
                core.lifo_enabled = false;
                let mut overflow = None;
                core.push_back(task, &mut overflow);
                drop(guard);
                if let Some(batch) = overflow {
                    self.shared.inject.push_batch(batch);
                }
                self.shared.notify_parked();
                return;
            }
            // LIFO polls leave `tick` alone: the interval checks in
            // `next_task` must see every value of it.
            drop(guard);
            lifo_polls += 1;
            self.poll(task);
        }
    }

    fn poll(&self, task: TaskRef) {
        self.remote().polls.bump();
        let outer = self.in_poll.replace(true);
        // A completed task leaves its registry in `Shared::task_finished`.
        let _ = task.run();
        self.in_poll.set(outer);
    }

    /// Every `event_interval` polls: let the driver in without blocking,
    /// unless another worker holds it (it is polling or parked in it).
    /// Deferred (yielded) tasks join the ring afterwards either way: if
    /// another worker holds the driver, that worker lets I/O in.
    ///
    /// With a ring per worker, a worker that does not get the driver turns
    /// its own ring instead: nobody else can reap it.
    fn maintenance(&self) {
        self.turn_now(
            |driver| {
                driver.park(Some(Duration::ZERO));
                true
            },
            |_| true,
        );
        self.release_deferred();
        self.spread_work();
    }

    /// A turn that does not block: of the driver (`driver_turn`, which
    /// says whether it turned) if this worker gets it; else, with a ring
    /// per worker, of the worker's own ring if `ring_due`. Returns whether
    /// anything turned.
    fn turn_now(
        &self,
        driver_turn: impl FnOnce(&mut Driver) -> bool,
        ring_due: impl FnOnce(&Self) -> bool,
    ) -> bool {
        let io = &self.shared.driver_handle.io;
        let held = self
            .shared
            .try_lock_driver()
            .filter(|guard| guard.is_some());
        match held {
            Some(mut guard) => {
                let driver = guard.as_mut().expect("filtered just above");
                self.set_in_driver(true);
                let turned = driver_turn(driver);
                self.set_in_driver(false);
                turned
            }
            None if io.ring_per_worker() && ring_due(self) => {
                self.set_in_driver(true);
                io.turn_worker(Some(Duration::ZERO), false);
                self.set_in_driver(false);
                true
            }
            None => false,
        }
    }

    /// A yield's turn of the worker's own ring is due (paced as the
    /// driver's yield turns); if so, it counts as taken now.
    fn ring_yield_due(&self) -> bool {
        let mut guard = self.core.borrow_mut();
        let Some(core) = guard.as_mut() else {
            return false;
        };
        let due = core.ring_pacer.due();
        if due {
            core.ring_pacer.turned(std::time::Instant::now());
        }
        due
    }

    fn set_in_driver(&self, in_driver: bool) {
        if let Some(core) = self.core.borrow_mut().as_mut() {
            core.in_driver = in_driver;
        }
    }

    /// After the driver filled the queue: if there is more than this worker
    /// will run next, wake another to share it.
    fn spread_work(&self) {
        let more = self
            .core
            .borrow()
            .as_ref()
            .is_some_and(|core| core.queue.len() + usize::from(core.lifo.is_some()) > 1);
        if more {
            self.shared.notify_parked();
        }
    }

    fn has_work(&self) -> bool {
        let queued = self
            .core
            .borrow()
            .as_ref()
            .is_some_and(|core| core.has_tasks());
        // Queued local tasks matter only while some are alive (a wake that
        // raced a completion can leave a stale entry, which must not keep
        // the worker from sleeping).
        let remote = self.remote();
        queued
            || (self.home
                && remote.pinned_alive.load(Relaxed) > 0
                && (!self.pinned.borrow().is_empty()
                    || !self.pinned_deferred.borrow().is_empty()
                    || remote.pinned_len.load(Acquire) > 0))
    }

    /// Before parking: spins while a file call's job handed in moments ago
    /// on this worker may finish (see `blocking::Pool::spin_deadline`),
    /// instead of sleeping, if this worker is searching. True as soon as
    /// work shows anywhere (the job's wake queues its task globally, and
    /// wakes no sleeper while this worker counts as searching); false when
    /// the window closes or no job is left.
    fn spin_for_pool(&self) -> bool {
        let shared = &self.shared;
        // Only a searcher spins: a worker that is not one could leave a task
        // another worker queued locally unstolen for the whole window, and
        // would park without the last searcher's re-check. (At most half
        // the workers search, so at most half spin.)
        let searching = self
            .core
            .borrow()
            .as_ref()
            .is_some_and(|core| core.searching);
        if !searching {
            return false;
        }
        // Work in any queue, or a stop (which `run` then sees) ends it.
        shared.pool.spin_for_job(|| {
            !shared.inject.is_empty()
                || self.has_work()
                || shared.remotes.iter().any(|remote| !remote.steal.is_empty())
                || self.should_stop()
        })
    }

    /// Nothing to run anywhere: sleep until woken.
    fn park(&self, busy: &crate::scheduler::Busy<'_>) {
        let shared = &self.shared;
        let hooks = &shared.config.hooks;
        // The hook runs first: it may spawn or wake tasks, which must then
        // keep this worker awake.
        hooks.before_park();
        if self.has_work() {
            hooks.after_unpark();
            return;
        }
        let was_searching = self
            .core
            .borrow_mut()
            .as_mut()
            .is_some_and(|core| std::mem::take(&mut core.searching));
        if shared.idle.transition_to_parked(self.index, was_searching) {
            // The last searcher re-checks every queue: a task queued while
            // it decided to sleep must not wait for the next wake.
            shared.notify_if_work_pending();
        }
        // A paused clock auto-advances once every worker sleeps: the one
        // parked in the driver looks again now that this one does.
        #[cfg(feature = "test-util")]
        shared.driver_handle.kick_if_paused();
        let remote = self.remote();
        let searching = loop {
            if self.should_stop() {
                break !shared.idle.unpark_worker_by_id(self.index);
            }
            remote.parks.bump();
            let woke = busy.parked(|| match shared.try_lock_driver().filter(|g| g.is_some()) {
                Some(mut guard) => {
                    let driver = guard.as_mut().expect("filtered just above");
                    self.set_in_driver(true);
                    let mut park = DriverPark { driver, shared };
                    remote.parker.park(Some(&mut park as &mut dyn park::Driver));
                    self.set_in_driver(false);
                    // Counted unparked before the driver is let go: what it
                    // just woke sits in this worker's own queues, which the
                    // next holder's idle check (a paused clock's
                    // auto-advance) cannot see.
                    self.has_work()
                        .then(|| shared.idle.unpark_worker_by_id(self.index))
                }
                // Another worker holds the driver: a ring per worker parks
                // in its own ring (its sockets' completions wake it, and an
                // unpark is a write to the ring's eventfd), else on the
                // parker's condvar.
                None if shared.driver_handle.io.ring_per_worker() => {
                    self.set_in_driver(true);
                    let mut park = RingPark(&shared.driver_handle);
                    remote.parker.park(Some(&mut park as &mut dyn park::Driver));
                    self.set_in_driver(false);
                    self.has_work()
                        .then(|| shared.idle.unpark_worker_by_id(self.index))
                }
                None => {
                    remote.parker.park(None);
                    None
                }
            });
            if let Some(was_listed) = woke {
                // Woken by the driver: not a notifier's pick, unless one
                // picked this worker meanwhile.
                break !was_listed;
            }
            if self.has_work() {
                // Woken by the driver or a pinned task: not a notifier's
                // pick, unless one picked this worker meanwhile.
                break !shared.idle.unpark_worker_by_id(self.index);
            }
            if !shared.idle.is_parked(self.index) {
                // A notifier picked this worker and counted it searching.
                break true;
            }
        };
        if let Some(core) = self.core.borrow_mut().as_mut() {
            core.searching = searching;
        }
        self.spread_work();
        hooks.after_unpark();
    }
}
