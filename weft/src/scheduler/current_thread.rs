//! The current-thread scheduler: one run queue, one thread, libuv's phases.
//!
//! One turn of the loop:
//!
//! 1. poll the `block_on` future if it was woken;
//! 2. run queued tasks until `event_interval` polls (of tasks or of the
//!    `block_on` future) have happened since the driver's last turn (the
//!    inject queue of tasks woken from other threads is checked every
//!    `global_queue_interval` tasks, and whenever the local queue is empty);
//! 3. poll the driver: with timeout 0 after a full batch (so I/O and timers
//!    are never starved by busy tasks), otherwise, once nothing is queued
//!    and the `block_on` future is not woken, blocking until an event, the
//!    next timer, or an unpark from another thread. The driver reads the
//!    clock after the wait and fires every timer due.
//!
//! While a thread runs the loop, the run queue lives in a thread-local, so a
//! wake on that thread (the common case: an I/O event or timer dispatched by
//! the driver, or a task waking another) is a push onto a `VecDeque` with no
//! lock and no syscall. Wakes from other threads go through the inject queue
//! and an eventfd write.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::ptr;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread, ThreadId};
use std::time::Duration;

use super::inject::Inject;
use super::registry::Registry;
use super::Config;
use super::TaskRef;
use crate::driver::{self, Driver};
use crate::scheduler::context;
use crate::sys::counter::Counter;
use crate::sys::lock::lock;
use crate::task::coop;
use crate::task::id::Id;
use crate::task::join::JoinHandle;
use crate::task::raw::{LocalOwner, Ran, Task, NOT_OWNED};

/// The part of the scheduler every handle and task shares.
pub(crate) struct Shared {
    driver: driver::Handle,
    pub(crate) pool: Arc<super::BlockingPool>,
    inject: Inject,
    /// The loop's state, held by whichever thread is running the loop.
    core: Mutex<Option<Box<Core>>>,
    /// Threads in `block_on` waiting for `core` to come back.
    core_waiters: Mutex<Vec<Thread>>,
    /// `core_waiters.len()`, written under its lock: `put_core` takes that
    /// lock only when someone waits. A waiter counts itself before it tries
    /// `take_core` again, and the core's lock orders that try against the
    /// put: a try that fails came before the put, so the put sees the count.
    waiting: AtomicUsize,
    /// The thread that owns `spawn_local` tasks, once there are any. Only it
    /// may run the loop from then on.
    local_owner: OnceLock<ThreadId>,
    /// Set when the runtime is dropped: new spawns are cancelled at once,
    /// and whichever thread holds the core drops every task's future (a
    /// thread inside `Handle::block_on` does so at its next turn, woken by
    /// the shutdown's unpark).
    closed: AtomicBool,
    config: Config,
    /// Tasks spawned and not yet completed.
    alive: AtomicUsize,
    /// Tasks polled, and blocking parks, for metrics.
    polls: Counter,
    parks: Counter,
    busy: super::BusyClock,
}

/// The loop's run queue.
#[derive(Default)]
struct RunQueue {
    /// Tasks to run, in order.
    ready: VecDeque<TaskRef>,
    /// Tasks that woke themselves during their own poll (a yield, a spent
    /// budget): they join `ready` after the driver's next turn, so that
    /// whatever I/O and timers made ready by then runs before them.
    deferred: VecDeque<TaskRef>,
}

impl RunQueue {
    const fn new() -> RunQueue {
        RunQueue {
            ready: VecDeque::new(),
            deferred: VecDeque::new(),
        }
    }

    /// Moves the deferred tasks behind the ready ones: a swap of the two
    /// buffers when nothing else is ready (a task that only yields).
    fn release_deferred(&mut self) {
        if self.ready.is_empty() {
            std::mem::swap(&mut self.ready, &mut self.deferred);
        } else if !self.deferred.is_empty() {
            self.ready.append(&mut self.deferred);
        }
    }

    fn pop(&mut self) -> Option<TaskRef> {
        self.ready.pop_front()
    }

    fn is_empty(&self) -> bool {
        self.ready.is_empty() && self.deferred.is_empty()
    }
}

/// What the thread running the loop owns.
struct Core {
    /// The run queue while no thread runs the loop (while one does, it is
    /// in the thread-local `QUEUE`).
    queue: RunQueue,
    registry: Registry,
    driver: Driver,
    tick: u32,
}

thread_local! {
    /// The scheduler whose loop this thread is running; null when none.
    /// It has no destructor, so reading it is a plain load.
    static LOOP: Cell<*const Shared> = const { Cell::new(ptr::null()) };
    /// That loop's run queue.
    static QUEUE: RefCell<RunQueue> = const { RefCell::new(RunQueue::new()) };
}

fn is_running_here(shared: *const Shared) -> bool {
    LOOP.get() == shared
}

/// True while this thread runs some current-thread loop.
pub(crate) fn is_running_any() -> bool {
    !LOOP.get().is_null()
}

impl Shared {
    pub(crate) fn new(
        driver: Driver,
        config: Config,
        pool: Arc<super::BlockingPool>,
    ) -> Arc<Shared> {
        let handle = driver.handle().clone();
        let core = Core {
            queue: RunQueue::default(),
            registry: Registry::default(),
            driver,
            tick: 0,
        };
        Arc::new(Shared {
            driver: handle,
            pool,
            inject: Inject::new(),
            core: Mutex::new(Some(Box::new(core))),
            core_waiters: Mutex::new(Vec::new()),
            waiting: AtomicUsize::new(0),
            local_owner: OnceLock::new(),
            closed: AtomicBool::new(false),
            config,
            alive: AtomicUsize::new(0),
            polls: Counter::default(),
            parks: Counter::default(),
            busy: super::BusyClock::default(),
        })
    }

    pub(crate) fn driver(&self) -> &driver::Handle {
        &self.driver
    }

    /// Spins while a file call's job handed in moments ago may finish (see
    /// `Pool::spin_deadline`), instead of sleeping in the driver: true as
    /// soon as a task or the `block_on` future is woken from another
    /// thread, false when the window closes or no job is left with nothing
    /// woken. I/O and timers wait for the spin's end (at most 50 µs after
    /// the call).
    fn spin_for_pool(&self, main: &MainWake) -> bool {
        self.pool
            .spin_for_job(|| !self.inject.is_empty() || main.woken.load(SeqCst))
    }

    fn push_inject(&self, task: TaskRef) {
        if self.inject.push(task) {
            self.driver.unpark();
        }
    }

    pub(crate) fn task_finished(&self) {
        self.alive.fetch_sub(1, Relaxed);
    }

    pub(crate) fn metrics(&self) -> super::Counts {
        super::Counts {
            workers: 1,
            alive: self.alive.load(Relaxed),
            global_queue: self.inject.len(),
            stand_ins: 0,
        }
    }

    pub(crate) fn worker_metrics(&self, worker: usize) -> Option<super::WorkerCounts> {
        (worker == 0).then(|| super::WorkerCounts {
            polls: self.polls.get(),
            steals: 0,
            parks: self.parks.get(),
            park_unpark: self.busy.park_unpark_count(),
            busy: self.busy.busy_duration(),
            local_queue: 0,
        })
    }

    /// With the loop about to park and nothing queued locally: true if
    /// nothing else can run either, so a paused clock may auto-advance. No
    /// blocking job in flight (read first: a job gives its count back only
    /// after queueing what it woke), nothing in the inject queue, and the
    /// `block_on` future not woken. A task queued after this look unparks
    /// the driver, which then runs it at the time it was queued.
    #[cfg(feature = "test-util")]
    fn quiescent(&self, main: &MainWake) -> bool {
        self.driver.time.clock().auto_advance_allowed()
            && self.inject.is_empty()
            && !main.woken.load(SeqCst)
    }

    /// Never asked without the `test-util` feature (the clock cannot pause).
    #[cfg(not(feature = "test-util"))]
    fn quiescent(&self, _main: &MainWake) -> bool {
        false
    }

    /// Takes the loop's core, unless another thread has it or local tasks
    /// tie it to another thread.
    fn take_core(&self) -> Option<Box<Core>> {
        let mut core = lock(&self.core);
        // Checked under the lock: `spawn_local` sets the owner while its
        // thread holds the core, so the lock orders the two.
        if self
            .local_owner
            .get()
            .is_some_and(|owner| *owner != thread::current().id())
        {
            return None;
        }
        core.take()
    }

    /// Gives the core back after running the loop, or shuts it down if the
    /// runtime was closed meanwhile. `closed` is read under the core lock,
    /// which `shutdown` also takes, so exactly one of the two drops the
    /// tasks.
    fn put_core(self: &Arc<Self>, core: Box<Core>) {
        let mut slot = lock(&self.core);
        if self.closed.load(Acquire) {
            drop(slot);
            shutdown_core(self, core);
        } else {
            *slot = Some(core);
            drop(slot);
        }
        if self.waiting.load(SeqCst) == 0 {
            return;
        }
        let waiters = {
            let mut waiters = lock(&self.core_waiters);
            self.waiting.store(0, SeqCst);
            std::mem::take(&mut *waiters)
        };
        waiters.iter().for_each(Thread::unpark);
    }
}

/// Queues a woken task of the scheduler at `target`: locally when this
/// thread runs that scheduler's loop (a load, a compare and a push), otherwise
/// through the inject queue and an unpark. `yielded`: the task woke itself
/// during its own poll; it waits for the driver's next turn.
pub(crate) fn schedule(target: *const Shared, task: TaskRef, yielded: bool) {
    // Wakes go to the back: one FIFO queue keeps the loop fair. Yields go
    // behind whatever the driver's next turn wakes.
    if LOOP.get() == target {
        // `LOOP` is set only inside `InLoop`, never while thread-locals are
        // torn down, so `QUEUE` is alive.
        QUEUE.with(|queue| {
            let mut queue = queue.borrow_mut();
            if yielded {
                queue.deferred.push_back(task);
            } else {
                queue.ready.push_back(task);
            }
        });
        return;
    }
    let crate::scheduler::Handle::CurrentThread(shared) = &task.header().scheduler else {
        unreachable!("a current-thread target names a current-thread task");
    };
    let shared = Arc::clone(shared);
    shared.push_inject(task);
}

#[cfg_attr(feature = "console", track_caller)]
pub(crate) fn spawn<F>(
    shared: &Arc<Shared>,
    future: F,
    local_owner: Option<LocalOwner>,
) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let handle = crate::scheduler::Handle::CurrentThread(Arc::clone(shared));
    let task = crate::task::raw::spawned(future, Id::next(), handle, local_owner);
    let join = JoinHandle::new(task.clone());
    shared.alive.fetch_add(1, Relaxed);
    if shared.closed.load(Acquire) {
        Task::shutdown(task);
    } else {
        schedule(Arc::as_ptr(shared), task, false);
    }
    join
}

#[cfg_attr(feature = "console", track_caller)]
pub(crate) fn spawn_local<F>(future: F) -> io::Result<JoinHandle<F::Output>>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let running = LOOP.get();
    let not_running = || {
        io::Error::other(
            "this thread is not running a weft runtime; call it from inside `block_on` or one of \
             its tasks",
        )
    };
    if running.is_null() {
        return Err(not_running());
    }
    let shared = context::with_current(|handle| match handle {
        crate::scheduler::Handle::CurrentThread(shared) => Some(Arc::clone(shared)),
        _ => None,
    })
    .ok()
    .flatten()
    .ok_or_else(not_running)?;
    if Arc::as_ptr(&shared) != running {
        return Err(not_running());
    }
    let me = thread::current().id();
    if *shared.local_owner.get_or_init(|| me) != me {
        return Err(io::Error::other(
            "this runtime's local tasks belong to another thread",
        ));
    }
    let owner = LocalOwner {
        thread: me,
        worker: 0,
    };
    Ok(spawn(&shared, future, Some(owner)))
}

/// Wakes a `block_on` future: a flag, plus an unpark of whatever the thread
/// sleeps in (the driver while it runs the loop, its own park otherwise).
struct MainWake {
    woken: AtomicBool,
    /// True while the `block_on` thread runs the loop.
    driving: AtomicBool,
    /// With `test-util`: a wake that found the thread not driving took an
    /// auto-advance count (another thread runs the loop and cannot see
    /// `woken`); the next poll of the future gives it back. `FINISHED` once
    /// `block_on` has returned: a late wake (a timer that fired as the
    /// future completed) takes no count, which nothing would give back.
    #[cfg(feature = "test-util")]
    counted: std::sync::atomic::AtomicU8,
    shared: Arc<Shared>,
    thread: Thread,
}

impl MainWake {
    /// After a poll of the `block_on` future (and on the way out of
    /// `block_on`): gives back the count a wake took while this thread was
    /// not driving the loop.
    fn polled(&self) {
        #[cfg(feature = "test-util")]
        if self
            .counted
            .compare_exchange(COUNTED, NOT_COUNTED, SeqCst, SeqCst)
            .is_ok()
        {
            self.shared.driver.allow_auto_advance();
        }
    }

    /// On the way out of `block_on`: gives back a count still held, and
    /// makes later wakes take none.
    fn finished(&self) {
        #[cfg(feature = "test-util")]
        if self.counted.swap(FINISHED, SeqCst) == COUNTED {
            self.shared.driver.allow_auto_advance();
        }
    }
}

/// `MainWake::counted`'s states.
#[cfg(feature = "test-util")]
const NOT_COUNTED: u8 = 0;
#[cfg(feature = "test-util")]
const COUNTED: u8 = 1;
#[cfg(feature = "test-util")]
const FINISHED: u8 = 2;

/// Calls [`MainWake::polled`] when `block_on` returns, after the future is
/// dropped (it is declared before the future).
struct MainDone<'a>(&'a MainWake);

impl Drop for MainDone<'_> {
    fn drop(&mut self) {
        self.0.finished();
    }
}

impl Wake for MainWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Another thread runs the loop: hold a paused clock back until
        // this thread has polled the future (counted before `woken` is set).
        // The count is taken first and kept only if this wake is the one
        // that marks it taken: never given back before it was taken, and
        // never taken once `block_on` has returned.
        #[cfg(feature = "test-util")]
        if !self.driving.load(SeqCst) && self.counted.load(SeqCst) == NOT_COUNTED {
            self.shared.driver.inhibit_auto_advance();
            if self
                .counted
                .compare_exchange(NOT_COUNTED, COUNTED, SeqCst, SeqCst)
                .is_err()
            {
                self.shared.driver.allow_auto_advance();
            }
        }
        // SeqCst: see `drive`.
        self.woken.store(true, SeqCst);
        if self.driving.load(SeqCst) {
            if !is_running_here(Arc::as_ptr(&self.shared)) {
                self.shared.driver.unpark();
            }
        } else {
            self.thread.unpark();
        }
    }
}

#[track_caller]
pub(crate) fn block_on<F: Future>(shared: &Arc<Shared>, future: F) -> F::Output {
    crate::scheduler::refuse_nested_block_on();
    let _enter = context::enter(crate::scheduler::Handle::CurrentThread(Arc::clone(shared)));
    // Also while polling without the loop (another thread drives it).
    let _blocking = crate::scheduler::multi_thread::BlockOnGuard::enter();
    let main = Arc::new(MainWake {
        woken: AtomicBool::new(true),
        driving: AtomicBool::new(false),
        #[cfg(feature = "test-util")]
        counted: std::sync::atomic::AtomicU8::new(NOT_COUNTED),
        shared: Arc::clone(shared),
        thread: thread::current(),
    });
    // Declared before the future, so dropped after it.
    let _done = MainDone(&main);
    let mut future = pin!(future);
    let waker = Waker::from(Arc::clone(&main));
    loop {
        if let Some(core) = shared.take_core() {
            match drive(shared, core, future.as_mut(), &main, &waker) {
                Some(output) => return output,
                None => continue,
            }
        }
        // Another thread runs the loop (or the runtime has shut down and
        // no loop will run again): poll our future here between parks.
        if !shared.closed.load(Acquire) {
            let mut waiters = lock(&shared.core_waiters);
            let me = thread::current();
            if !waiters.iter().any(|t| t.id() == me.id()) {
                waiters.push(me);
                shared.waiting.store(waiters.len(), SeqCst);
            }
        }
        if let Some(core) = shared.take_core() {
            match drive(shared, core, future.as_mut(), &main, &waker) {
                Some(output) => return output,
                None => continue,
            }
        }
        if main.woken.swap(false, AcqRel) {
            let poll = future.as_mut().poll(&mut Context::from_waker(&waker));
            if let Poll::Ready(output) = poll {
                return output;
            }
            main.polled();
        } else {
            thread::park();
        }
    }
}

/// While alive, this thread runs `shared`'s loop: the run queue is in
/// `QUEUE`. On drop (also when the `block_on` future panics) the queue goes
/// back into the core and the core back to `shared` — or, if the runtime
/// was closed meanwhile, it is shut down here.
struct InLoop<'a> {
    shared: &'a Arc<Shared>,
    core: Option<Box<Core>>,
    previous: *const Shared,
    /// False when this thread's `QUEUE` is already destroyed (a runtime kept
    /// in a thread-local, dropped at thread exit): the queue then stays in
    /// the core and `LOOP` is not set, so wakes go through the inject queue.
    installed: bool,
}

impl<'a> InLoop<'a> {
    fn enter(shared: &'a Arc<Shared>, mut core: Box<Core>) -> InLoop<'a> {
        // The loop's queue and whatever this thread's slot held trade
        // places (the slot's, usually empty, waits in the core).
        let swapped =
            QUEUE.try_with(|local| std::mem::swap(&mut *local.borrow_mut(), &mut core.queue));
        let (installed, previous) = match swapped {
            Ok(()) => (true, LOOP.replace(Arc::as_ptr(shared))),
            Err(_) => (false, ptr::null()),
        };
        InLoop {
            shared,
            core: Some(core),
            previous,
            installed,
        }
    }

    fn core(&mut self) -> &mut Core {
        self.core.as_mut().expect("the core is held while running")
    }

    /// Runs `f` on this loop's run queue.
    fn with_queue<R>(&mut self, f: impl FnOnce(&mut RunQueue) -> R) -> R {
        if self.installed {
            QUEUE.with(|queue| f(&mut queue.borrow_mut()))
        } else {
            f(&mut self.core().queue)
        }
    }

    /// Pops the next task of this loop's run queue.
    fn pop_local(&mut self) -> Option<TaskRef> {
        self.with_queue(RunQueue::pop)
    }

    /// True if this loop's run queue holds a task (deferred ones included).
    fn has_local(&mut self) -> bool {
        self.with_queue(|queue| !queue.is_empty())
    }

    /// True if tasks wait for the driver's next turn.
    fn has_deferred(&mut self) -> bool {
        self.with_queue(|queue| !queue.deferred.is_empty())
    }

    /// One turn of the driver (`timeout` as for [`Driver::park`]), then the
    /// deferred tasks join the run queue behind whatever it woke.
    fn turn_driver(&mut self, timeout: Option<Duration>) {
        self.core().driver.park(timeout);
        self.with_queue(RunQueue::release_deferred);
    }

    /// The driver's blocking park with nothing to run ([`Driver::park_idle`];
    /// `quiet`: nothing else can run, for a paused clock's auto-advance).
    fn park_driver(&mut self, quiet: impl Fn() -> bool) {
        self.core().driver.park_idle(quiet);
        self.with_queue(RunQueue::release_deferred);
    }

    /// The turn a yield asks for ([`Driver::yield_turn`]), then the
    /// deferred tasks join the run queue. Returns whether the driver turned.
    fn yield_turn(&mut self) -> bool {
        let turned = self.core().driver.yield_turn();
        self.with_queue(RunQueue::release_deferred);
        turned
    }

    fn leave(&mut self) -> Option<Box<Core>> {
        let mut core = self.core.take()?;
        if self.installed {
            QUEUE.with(|local| std::mem::swap(&mut *local.borrow_mut(), &mut core.queue));
            LOOP.set(self.previous);
        }
        Some(core)
    }
}

impl Drop for InLoop<'_> {
    fn drop(&mut self) {
        if let Some(core) = self.leave() {
            self.shared.put_core(core);
        }
    }
}

/// Runs the loop and the `block_on` future. `None`: the runtime was closed
/// (dropped on another thread) while this thread ran its loop; the tasks and
/// the driver are shut down on the way out, and the caller goes on polling
/// `future` without a loop (its I/O now fails, its timers fire).
fn drive<F: Future>(
    shared: &Arc<Shared>,
    core: Box<Core>,
    mut future: Pin<&mut F>,
    main: &MainWake,
    waker: &Waker,
) -> Option<F::Output> {
    let mut running = InLoop::enter(shared, core);
    // SeqCst pairs with `MainWake::wake_by_ref`: either the waker sees
    // `driving` and unparks the driver, or this thread sees `woken`.
    main.driving.store(true, SeqCst);
    struct NotDriving<'a>(&'a MainWake);
    impl Drop for NotDriving<'_> {
        fn drop(&mut self) {
            self.0.driving.store(false, SeqCst);
        }
    }
    let _not_driving = NotDriving(main);
    let mut cx = Context::from_waker(waker);
    let config = &shared.config;
    // Polls (of tasks or of the `block_on` future) since the driver was last
    // polled: the driver is polled at least every `event_interval` of them.
    let mut since_driver = 0u32;
    // Busy time (the loop running tasks, the driver and hooks) runs from the
    // loop's first turn past the `block_on` future to the next park, and to
    // the way out. Started then, not here: a `block_on` whose future is
    // ready at its first poll runs no loop, and reads no clock for it.
    let mut busy = None;
    // The `block_on` future woke itself during its last poll (a yield): it
    // waits for the driver's next turn, as a yielded task does.
    let mut main_yielded = false;
    'turn: loop {
        if shared.closed.load(Acquire) {
            // Leaving drops `running`, whose `put_core` sees `closed` and
            // shuts the tasks and the driver down here and now.
            main.woken.store(true, SeqCst);
            return None;
        }
        if main.woken.swap(false, SeqCst) {
            since_driver += 1;
            if let Poll::Ready(output) = coop::budget(|| future.as_mut().poll(&mut cx)) {
                return Some(output);
            }
            main.polled();
            main_yielded = main.woken.load(SeqCst);
            if since_driver >= config.event_interval {
                busy.get_or_insert_with(|| shared.busy.start());
                running.turn_driver(Some(Duration::ZERO));
                since_driver = 0;
                main_yielded = false;
            }
        }
        let busy = busy.get_or_insert_with(|| shared.busy.start());
        // The `block_on` future is polled once per batch, not between
        // tasks: a future that keeps waking itself cannot starve the tasks.
        // A batch ends after `event_interval` polls since the driver's last.
        loop {
            let tick = {
                let core = running.core();
                core.tick = core.tick.wrapping_add(1);
                core.tick
            };
            let task = if tick % config.global_queue_interval == 0 {
                shared.inject.pop().or_else(|| running.pop_local())
            } else {
                running.pop_local().or_else(|| shared.inject.pop())
            };
            let Some(task) = task else {
                if running.has_deferred() || main_yielded {
                    // Only yielders are left: the driver's turn first (unless
                    // it just had one), then they run again.
                    if running.yield_turn() {
                        since_driver = 0;
                    }
                    if !std::mem::take(&mut main_yielded) && !main.woken.load(SeqCst) {
                        // Only tasks yielded: straight back to them.
                        continue;
                    }
                } else if !main.woken.load(SeqCst) {
                    if shared.spin_for_pool(main) {
                        // A job's completion woke something.
                        continue 'turn;
                    }
                    // Nothing to run: sleep until an event, a timer or an
                    // unpark.
                    shared.parks.bump();
                    config.hooks.before_park();
                    // The hook may have spawned or woken something: then
                    // only poll the driver, do not block.
                    let idle = !running.has_local()
                        && shared.inject.is_empty()
                        && !main.woken.load(SeqCst);
                    busy.parked(|| {
                        if idle {
                            running.park_driver(|| shared.quiescent(main));
                        } else {
                            running.turn_driver(Some(Duration::ZERO));
                        }
                    });
                    config.hooks.after_unpark();
                    since_driver = 0;
                } else if since_driver >= config.event_interval {
                    // Only the `block_on` future is ready, and it has been
                    // for a while: a future that keeps waking itself must
                    // not starve I/O and timers.
                    running.turn_driver(Some(Duration::ZERO));
                    since_driver = 0;
                }
                continue 'turn;
            };
            run_task(running.core(), task);
            shared.polls.bump();
            since_driver += 1;
            if since_driver >= config.event_interval {
                break;
            }
        }
        // A full batch ran: let the driver in without blocking.
        running.turn_driver(Some(Duration::ZERO));
        since_driver = 0;
        main_yielded = false;
    }
}

fn run_task(core: &mut Core, task: TaskRef) {
    let index = match task.header().owned_index.load(Relaxed) {
        NOT_OWNED => core.registry.insert(&task),
        index => index,
    };
    if task.run() != Ran::Pending {
        core.registry.remove(index);
    }
}

/// Closes the runtime: every task's future is dropped, here if this thread
/// can take the loop's core, or by the thread that holds it when it lets go.
pub(crate) fn shutdown(shared: &Arc<Shared>) {
    let core = {
        let mut slot = lock(&shared.core);
        shared.closed.store(true, Release);
        slot.take()
    };
    match core {
        Some(core) => shutdown_core(shared, core),
        // Another thread is running the loop: its next turn sees `closed`
        // and shuts the tasks and the driver down there; wake it for that.
        None => shared.driver.unpark(),
    }
}

fn shutdown_core(shared: &Arc<Shared>, core: Box<Core>) {
    // Only a thread that runs no other loop may wait while a task's future
    // drops a runtime it owns (not one inside another runtime's task,
    // calling `shutdown_background` say).
    let _dropping = (!super::in_async_context()).then(super::DroppingTasks::enter);
    let _enter = context::enter(crate::scheduler::Handle::CurrentThread(Arc::clone(shared)));
    let mut running = InLoop::enter(shared, core);
    // Dropping a future can wake or spawn others; go round until quiet.
    loop {
        let mut dropped = false;
        running.with_queue(RunQueue::release_deferred);
        while let Some(task) = running.pop_local().or_else(|| shared.inject.pop()) {
            task.shutdown();
            dropped = true;
        }
        for task in running.core().registry.drain() {
            task.shutdown();
            dropped = true;
        }
        if !dropped {
            // Quiet: close the inject queue, so later wakes and racing
            // spawns are dropped by whoever makes them.
            if shared.inject.close_if_empty() {
                break;
            }
        }
    }
    let core = running.leave();
    // The driver goes last: futures dropped above may deregister I/O.
    drop(core);
}
