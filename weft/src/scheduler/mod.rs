//! Schedulers decide which task runs next and when the loop parks.
//!
//! Owns: run queues, the registries of live tasks, the loops themselves.
//! Calls: tasks (`run`, `shutdown`) and the driver (`park`, `unpark`).
//! Two schedulers: [`current_thread`] (one loop, run by the thread in
//! `block_on`) and [`multi_thread`] (work-stealing workers, one of which at a
//! time owns the driver).

pub(crate) mod context;
pub(crate) mod current_thread;
mod inject;
pub(crate) mod multi_thread;
mod registry;

use std::future::Future;
use std::io;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use crate::driver;
pub(crate) use crate::sys::hooks::{Callback, Hooks};
use crate::task::join::JoinHandle;
use crate::task::raw::{self, Schedule};

/// A task of a weft scheduler, as its queues hold it.
pub(crate) type TaskRef = raw::TaskRef<Handle>;
/// A task's header, with its scheduler handle.
pub(crate) type Header = raw::Header<Handle>;
/// The runtime's blocking pool.
pub(crate) type BlockingPool = crate::blocking::Pool<Handle>;

/// Tunables, set through the runtime `Builder`.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// Tasks run between two non-blocking polls of the driver.
    pub(crate) event_interval: u32,
    /// Tasks run between two checks of the global queue.
    pub(crate) global_queue_interval: u32,
    pub(crate) hooks: Hooks,
}

/// Runtime-wide counts, for `RuntimeMetrics`.
pub(crate) struct Counts {
    pub(crate) workers: usize,
    pub(crate) alive: usize,
    pub(crate) global_queue: usize,
    /// `block_in_place` stand-ins (the pool's threads are counted apart).
    pub(crate) stand_ins: usize,
}

/// One worker's counts, for `RuntimeMetrics`.
pub(crate) struct WorkerCounts {
    pub(crate) polls: u64,
    pub(crate) steals: u64,
    pub(crate) parks: u64,
    pub(crate) park_unpark: u64,
    pub(crate) busy: std::time::Duration,
    pub(crate) local_queue: usize,
}

/// One worker's park/unpark count and busy time (tokio's
/// `worker_park_unpark_count` and `worker_total_busy_duration`). Written by
/// the thread running the worker, and for a moment also by a
/// `block_in_place` stand-in on its way out, so the updates are atomic
/// adds. Two clock reads per park, none per poll.
#[derive(Default)]
pub(crate) struct BusyClock {
    /// One more on each park and on each unpark: odd while parked.
    park_unpark: AtomicU64,
    /// Nanoseconds spent awake (running tasks, the driver, hooks) up to the
    /// last park or the end of the last run.
    busy_nanos: AtomicU64,
}

impl BusyClock {
    /// The worker starts running: busy from now until the next park, and
    /// until the guard drops.
    pub(crate) fn start(&self) -> Busy<'_> {
        Busy {
            clock: self,
            since: std::cell::Cell::new(std::time::Instant::now()),
            counts_time: true,
        }
    }

    /// For a `block_in_place` stand-in: its parks count, its time does not
    /// (the home thread, inside `block_in_place`, is counted busy already).
    pub(crate) fn start_parks_only(&self) -> Busy<'_> {
        Busy {
            clock: self,
            since: std::cell::Cell::new(std::time::Instant::now()),
            counts_time: false,
        }
    }

    /// Acquire pairs with the count's Release store: whoever sees a park
    /// counted also sees the busy time added just before it.
    pub(crate) fn park_unpark_count(&self) -> u64 {
        self.park_unpark.load(std::sync::atomic::Ordering::Acquire)
    }

    fn count_park_or_unpark(&self) {
        self.park_unpark
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    pub(crate) fn busy_duration(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.busy_nanos.load(Relaxed))
    }

    fn add_busy(&self, since: std::time::Instant) {
        let nanos = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.busy_nanos.fetch_add(nanos, Relaxed);
    }
}

/// A worker's stretch of busy time; each park ends one and starts the next,
/// and the last is counted when the guard drops.
pub(crate) struct Busy<'a> {
    clock: &'a BusyClock,
    since: std::cell::Cell<std::time::Instant>,
    /// False on a stand-in (see [`BusyClock::start_parks_only`]).
    counts_time: bool,
}

impl Busy<'_> {
    /// Runs `park` (the worker sleeps) between a park count and an unpark
    /// count; the time inside is not busy time.
    pub(crate) fn parked<R>(&self, park: impl FnOnce() -> R) -> R {
        if self.counts_time {
            self.clock.add_busy(self.since.get());
        }
        self.clock.count_park_or_unpark();
        let out = park();
        self.clock.count_park_or_unpark();
        self.since.set(std::time::Instant::now());
        out
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        if self.counts_time {
            self.clock.add_busy(self.since.get());
        }
    }
}

/// A reference to a scheduler, held by runtime handles and by every task.
#[derive(Clone)]
pub(crate) enum Handle {
    CurrentThread(Arc<current_thread::Shared>),
    MultiThread(Arc<multi_thread::Shared>),
}

impl Handle {
    pub(crate) fn driver(&self) -> &driver::Handle {
        match self {
            Handle::CurrentThread(shared) => shared.driver(),
            Handle::MultiThread(shared) => shared.driver(),
        }
    }

    #[cfg_attr(feature = "console", track_caller)]
    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Handle::CurrentThread(shared) => current_thread::spawn(shared, future, None),
            Handle::MultiThread(shared) => multi_thread::spawn(shared, future),
        }
    }

    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        match self {
            Handle::CurrentThread(shared) => current_thread::block_on(shared, future),
            Handle::MultiThread(shared) => multi_thread::block_on(shared, future),
        }
    }

    pub(crate) fn metrics(&self) -> Counts {
        match self {
            Handle::CurrentThread(shared) => shared.metrics(),
            Handle::MultiThread(shared) => shared.metrics(),
        }
    }

    pub(crate) fn worker_metrics(&self, worker: usize) -> Option<WorkerCounts> {
        match self {
            Handle::CurrentThread(shared) => shared.worker_metrics(worker),
            Handle::MultiThread(shared) => shared.worker_metrics(worker),
        }
    }

    /// The runtime's blocking pool.
    pub(crate) fn blocking_pool(&self) -> &Arc<BlockingPool> {
        match self {
            Handle::CurrentThread(shared) => &shared.pool,
            Handle::MultiThread(shared) => &shared.pool,
        }
    }

    pub(crate) fn is_multi_thread(&self) -> bool {
        matches!(self, Handle::MultiThread(_))
    }

    pub(crate) fn target(&self) -> Target {
        match self {
            Handle::CurrentThread(shared) => Target::CurrentThread(Arc::as_ptr(shared)),
            Handle::MultiThread(shared) => Target::MultiThread(Arc::as_ptr(shared)),
        }
    }
}

/// Which scheduler a task belongs to, as a plain pointer: cheap to compare
/// with the loop a thread runs.
#[derive(Clone, Copy)]
pub(crate) enum Target {
    CurrentThread(*const current_thread::Shared),
    MultiThread(*const multi_thread::Shared),
}

/// The blocking pool enters its runtime through this.
impl crate::blocking::Owner for Handle {
    type Entered = context::SetCurrent;

    fn enter(&self) -> context::SetCurrent {
        context::enter(self.clone())
    }

    #[cfg(feature = "test-util")]
    fn driver(&self) -> &driver::Handle {
        Handle::driver(self)
    }
}

/// The harness reaches its scheduler through this, and only this.
impl Schedule for Handle {
    type Target = Target;

    fn target(&self) -> Target {
        Handle::target(self)
    }

    fn schedule(target: Target, task: TaskRef, yielded: bool) {
        match target {
            Target::CurrentThread(shared) => current_thread::schedule(shared, task, yielded),
            Target::MultiThread(shared) => multi_thread::schedule(shared, task, yielded),
        }
    }

    fn task_finished(&self, task: &Header) {
        if task.pool_job {
            return;
        }
        match self {
            Handle::CurrentThread(shared) => shared.task_finished(),
            Handle::MultiThread(shared) => shared.task_finished(task),
        }
    }
}

/// Spawns a `!Send` future on the scheduler this thread is running.
#[cfg_attr(feature = "console", track_caller)]
pub(crate) fn spawn_local<F>(future: F) -> io::Result<JoinHandle<F::Output>>
where
    F: Future + 'static,
    F::Output: 'static,
{
    if multi_thread::is_worker() {
        return multi_thread::spawn_local(future);
    }
    if current_thread::is_running_any() || !multi_thread::in_block_on() {
        return current_thread::spawn_local(future);
    }
    Err(io::Error::other(
        "this thread waits in a multi-thread runtime's `block_on`, which runs no tasks; \
             call it from a task on a worker (inside `weft::spawn(async { .. })`), or use a \
             current-thread runtime (`#[weft::main(flavor = \"current_thread\")]`)",
    ))
}

thread_local! {
    /// True while this thread drops a runtime's tasks at its shutdown.
    static DROPPING_TASKS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks this thread, while alive, as dropping a runtime's tasks at its
/// shutdown: no loop runs here meanwhile, so a runtime owned by one of
/// those futures may wait for its threads when it is dropped there.
pub(crate) struct DroppingTasks(bool);

impl DroppingTasks {
    pub(crate) fn enter() -> DroppingTasks {
        DroppingTasks(DROPPING_TASKS.replace(true))
    }
}

impl Drop for DroppingTasks {
    fn drop(&mut self) {
        DROPPING_TASKS.set(self.0);
    }
}

/// True while this thread drops a runtime's tasks at its shutdown.
pub(crate) fn dropping_tasks() -> bool {
    DROPPING_TASKS.get()
}

/// True when this thread runs a weft loop or waits in a `block_on`: blocking
/// it (or waiting for a runtime's threads) would stall tasks, or deadlock.
pub(crate) fn in_async_context() -> bool {
    multi_thread::in_worker_loop()
        || current_thread::is_running_any()
        || multi_thread::in_block_on()
}

/// Panics if this thread may not block in a `block_on`: it runs a weft loop
/// or already waits in a `block_on`, and blocking would stall it.
#[track_caller]
pub(crate) fn refuse_nested_block_on() {
    if in_async_context() {
        panic!(
            "weft: cannot block_on inside a runtime: this thread is already running a weft \
             loop (in `block_on` or one of its tasks); `.await` the future or `spawn` it instead"
        );
    }
}
