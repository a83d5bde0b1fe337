//! The multi-thread scheduler: work-stealing workers, one of which at a time
//! owns the I/O and time driver.
//!
//! Each worker has a fixed ring of tasks ([`queue`]) that it pushes to and
//! pops from and that idle workers steal half of, plus a LIFO slot holding
//! the task it woke last (run next, for message-passing locality, at most
//! three times in a row so two tasks ping-ponging cannot starve the ring).
//! Tasks spawned or woken from outside the workers go to the global queue
//! ([`Inject`]), which every worker checks every `global_queue_interval`
//! polls and whenever its own queues are empty. [`idle`] decides whom a new
//! task unparks; [`park`] how a worker sleeps (in the driver or on a
//! condvar) and is woken.
//!
//! `spawn_local` tasks are pinned to the worker thread that spawned them: they
//! sit in a queue no one steals from, and a wake from another thread goes to
//! that worker's own inbox and unparks it.
//!
//! Shutdown: the runtime closes the global queue and unparks every worker;
//! each drops its own local tasks (on its thread, as `!Send` futures need)
//! and hands its core in. The last worker to do so drops every other task's
//! future, once, then the driver.

mod block_on;
pub(crate) mod idle;
mod park;
pub(crate) mod queue;
mod worker;

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use self::idle::Idle;
use self::park::{Parker, Unpark};
use self::worker::Core;
use super::inject::Inject;
use super::{registry, Config, Counts, WorkerCounts};
use crate::driver::{self, Driver};
use crate::scheduler::context;
use crate::scheduler::{BlockingPool, Header, TaskRef};
use crate::sys::counter::Counter;
use crate::sys::lock::{lock, try_lock, wait, wait_timeout};
use crate::task::id::Id;
use crate::task::join::JoinHandle;
use crate::task::raw::NOT_OWNED;

pub(crate) use block_on::block_on;
pub(crate) use worker::{
    block_in_place, in_block_on, in_worker_loop, is_worker, schedule, spawn_local, BlockOnGuard,
};

/// How worker threads are made.
#[derive(Clone)]
pub(crate) struct ThreadConfig {
    pub(crate) workers: usize,
    pub(crate) name: Arc<dyn Fn() -> String + Send + Sync>,
    pub(crate) stack_size: Option<usize>,
}

impl fmt::Debug for ThreadConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadConfig")
            .field("workers", &self.workers)
            .field("stack_size", &self.stack_size)
            .finish()
    }
}

/// What every worker, handle and task of one multi-thread runtime shares.
pub(crate) struct Shared {
    driver_handle: driver::Handle,
    /// With `test-util`: the `block_on` calls in progress. A paused clock
    /// auto-advances only while one is (as on a current-thread runtime,
    /// where nothing runs outside `block_on`): virtual time does not race
    /// ahead while the test's thread does something else between calls.
    #[cfg(feature = "test-util")]
    block_ons: AtomicUsize,
    pub(crate) pool: Arc<BlockingPool>,
    /// Taken (`try_lock`) by the worker that parks in it.
    driver: Mutex<Option<Driver>>,
    inject: Inject,
    remotes: Box<[Remote]>,
    idle: Idle,
    /// CPUs this process may use: with one, a `block_on` never spins.
    cpus: usize,
    /// Set while a `block_on` thread spins for a wake (one at a time).
    spinner: AtomicBool,
    owned: registry::Shared,
    config: Config,
    threads: ThreadConfig,
    /// Set once the runtime is dropped; workers stop at their next check.
    closed: AtomicBool,
    /// Cores handed in at shutdown; the last one in finishes it. (Boxed:
    /// cores move between threads whole, and are big.)
    #[allow(clippy::vec_box)]
    shutdown_cores: Mutex<Vec<Box<Core>>>,
    /// Threads of this runtime still running (workers and `block_in_place`
    /// stand-ins), and the condvar `Runtime::drop` waits on.
    live_threads: Mutex<usize>,
    threads_done: Condvar,
    /// `block_in_place` stand-in threads running now.
    stand_ins: AtomicUsize,
}

/// Per-worker state other threads reach.
struct Remote {
    steal: queue::Steal<TaskRef>,
    parker: Parker,
    /// `spawn_local` tasks of this worker woken from other threads.
    pinned_inbox: Mutex<PinnedInbox>,
    pinned_len: AtomicUsize,
    /// `spawn_local` tasks of this worker not yet completed.
    pinned_alive: AtomicUsize,
    /// The worker's core while no thread runs it: before its thread starts,
    /// and when a `block_in_place` stand-in gives it back.
    handoff: Mutex<Option<Box<Core>>>,
    handoff_ready: Condvar,
    /// Set by a thread leaving `block_in_place`: the stand-in running this
    /// worker's core must hand it back.
    want_back: AtomicBool,
    /// Set (under `handoff`'s lock) when, at shutdown, a stand-in handed
    /// this worker's core in while the home thread was still inside
    /// `block_in_place`: the home thread must not wait for it.
    handed_in: AtomicBool,
    polls: Counter,
    steals: Counter,
    parks: Counter,
    busy: crate::scheduler::BusyClock,
}

#[derive(Default)]
struct PinnedInbox {
    tasks: VecDeque<TaskRef>,
    closed: bool,
}

/// How an unpark reaches worker `.1` parked in the driver: the one driver
/// (which it holds), or, with a ring per worker, its own ring.
struct WorkerWake<'a>(&'a driver::Handle, usize);

impl Unpark for WorkerWake<'_> {
    fn unpark_driver(&self) {
        self.0.io.unpark_worker(self.1);
    }
}

impl Shared {
    /// Builds the scheduler and starts its worker threads.
    pub(crate) fn start(
        mut driver: Driver,
        config: Config,
        threads: ThreadConfig,
        pool: Arc<BlockingPool>,
    ) -> io::Result<Arc<Shared>> {
        let workers = threads.workers;
        // A timer shard per worker (each worker's thread uses its own, see
        // `worker::run_thread`), and one for every other thread.
        driver.shard_timers(workers + 1);
        let mut cores = Vec::with_capacity(workers);
        let mut remotes = Vec::with_capacity(workers);
        for index in 0..workers {
            let (local, steal) = queue::new();
            cores.push(Core::new(index, local));
            remotes.push(Remote {
                steal,
                parker: Parker::new(),
                pinned_inbox: Mutex::default(),
                pinned_len: AtomicUsize::new(0),
                pinned_alive: AtomicUsize::new(0),
                handoff: Mutex::new(None),
                handoff_ready: Condvar::new(),
                want_back: AtomicBool::new(false),
                handed_in: AtomicBool::new(false),
                polls: Counter::default(),
                steals: Counter::default(),
                parks: Counter::default(),
                busy: crate::scheduler::BusyClock::default(),
            });
        }
        let shared = Arc::new(Shared {
            driver_handle: driver.handle().clone(),
            #[cfg(feature = "test-util")]
            block_ons: AtomicUsize::new(0),
            pool,
            driver: Mutex::new(Some(driver)),
            inject: Inject::new(),
            remotes: remotes.into_boxed_slice(),
            idle: Idle::new(workers),
            cpus: thread::available_parallelism().map_or(1, |n| n.get()),
            spinner: AtomicBool::new(false),
            owned: registry::Shared::new(workers * 4),
            config,
            threads,
            closed: AtomicBool::new(false),
            shutdown_cores: Mutex::new(Vec::with_capacity(workers)),
            live_threads: Mutex::new(0),
            threads_done: Condvar::new(),
            stand_ins: AtomicUsize::new(0),
        });
        for (index, core) in cores.into_iter().enumerate() {
            *lock(&shared.remotes[index].handoff) = Some(core);
            if let Err(e) = worker::spawn_thread(&shared, index, true) {
                // Stop the workers already started; the caller gets the error.
                shutdown(&shared, Some(Duration::from_secs(5)));
                return Err(io::Error::new(
                    e.kind(),
                    format!("weft: could not start worker thread {index}: {e}"),
                ));
            }
        }
        Ok(shared)
    }

    pub(crate) fn driver(&self) -> &driver::Handle {
        &self.driver_handle
    }

    /// Queues a task from outside the workers (or a task whose worker is
    /// busy elsewhere) and unparks a worker for it.
    fn schedule_remote(&self, task: TaskRef) {
        if let Some(owner) = task.header().local_owner {
            self.schedule_pinned(owner.worker, task);
            return;
        }
        if self.inject.push(task) {
            self.notify_parked();
        }
    }

    /// Queues a `spawn_local` task for its owner worker and wakes it.
    fn schedule_pinned(&self, worker: usize, task: TaskRef) {
        let remote = &self.remotes[worker];
        let mut inbox = lock(&remote.pinned_inbox);
        if inbox.closed {
            drop(inbox);
            // The owner has shut its local tasks down already.
            task.shutdown();
            return;
        }
        inbox.tasks.push_back(task);
        remote.pinned_len.store(inbox.tasks.len(), Release);
        drop(inbox);
        self.unpark(worker);
    }

    /// Wakes worker `index`, or makes its next park return at once.
    fn unpark(&self, index: usize) {
        let wake = WorkerWake(&self.driver_handle, index);
        self.remotes[index].parker.unpark(&wake);
    }

    /// Unparks one sleeping worker if nobody is searching for work.
    fn notify_parked(&self) {
        if let Some(index) = self.idle.worker_to_notify() {
            self.unpark(index);
        }
    }

    /// Called by the last searcher before it sleeps: if any queue has work,
    /// keep (or make) a worker awake for it.
    fn notify_if_work_pending(&self) {
        let pending = !self.inject.is_empty() || self.remotes.iter().any(|r| !r.steal.is_empty());
        if pending {
            self.notify_parked();
        }
    }

    /// The driver's holder, about to park with its own queues empty: true
    /// if nothing else of the runtime can run, so a paused clock may
    /// auto-advance. Nothing holds auto-advance back (read first: a
    /// blocking job or a `block_on` waker gives its count back only after
    /// queueing what it woke, so the looks below see that), every worker is
    /// parked (a parked worker's own queues are empty, and the holder
    /// counts itself unparked before letting go of the driver when it found
    /// work), and the queues others push to are empty: the global queue,
    /// the pinned inboxes, the rings. Whoever makes this true later kicks
    /// the driver (`driver::Handle::kick_if_paused`). (With an io_uring
    /// ring per worker, the driver then also asks whether every ring has
    /// settled: `IoShared::settled`.)
    #[cfg(feature = "test-util")]
    fn quiescent(&self) -> bool {
        self.driver_handle.time.clock().auto_advance_allowed()
            && self.block_ons.load(std::sync::atomic::Ordering::SeqCst) > 0
            && self.idle.all_parked()
            && self.inject.is_empty()
            && self.remotes.iter().all(|r| {
                r.pinned_len.load(std::sync::atomic::Ordering::SeqCst) == 0 && r.steal.is_empty()
            })
    }

    /// Never asked without the `test-util` feature (the clock cannot pause).
    #[cfg(not(feature = "test-util"))]
    fn quiescent(&self) -> bool {
        false
    }

    /// Takes a finished task out of the registry it is in.
    pub(crate) fn task_finished(&self, task: &Header) {
        let index = task.owned_index.load(Relaxed);
        if index == NOT_OWNED {
            return;
        }
        if task.local_owner.is_some() {
            // Local tasks finish on their owner thread, in its registry.
            worker::pinned_finished(index);
        } else {
            self.owned.remove_at(task.id.as_u64(), index);
        }
    }

    /// The driver, unless another worker has it. A poisoned lock (a panic
    /// in a waker the driver fired) is taken anyway: the driver's own state
    /// is updated before it wakes anyone.
    fn try_lock_driver(&self) -> Option<MutexGuard<'_, Option<Driver>>> {
        try_lock(&self.driver)
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Acquire)
    }

    pub(crate) fn metrics(&self) -> Counts {
        Counts {
            workers: self.remotes.len(),
            alive: self.owned.len()
                + self
                    .remotes
                    .iter()
                    .map(|r| r.pinned_alive.load(Relaxed))
                    .sum::<usize>(),
            global_queue: self.inject.len(),
            stand_ins: self.stand_ins.load(Relaxed),
        }
    }

    pub(crate) fn worker_metrics(&self, worker: usize) -> Option<WorkerCounts> {
        let remote = self.remotes.get(worker)?;
        Some(WorkerCounts {
            polls: remote.polls.get(),
            steals: remote.steals.get(),
            parks: remote.parks.get(),
            park_unpark: remote.busy.park_unpark_count(),
            busy: remote.busy.busy_duration(),
            local_queue: remote.steal.len(),
        })
    }

    fn thread_started(&self) {
        *lock(&self.live_threads) += 1;
    }

    fn thread_stopped(&self) {
        let mut live = lock(&self.live_threads);
        *live -= 1;
        // Every stop, not only the last: a shutdown called from one of
        // these threads waits for the count to reach 1.
        drop(live);
        self.threads_done.notify_all();
    }

    /// A worker's core, handed in at shutdown. The last one in drops every
    /// remaining task and the driver.
    fn hand_in_core(self: &Arc<Self>, core: Box<Core>) {
        let mut slot = lock(&self.shutdown_cores);
        slot.push(core);
        if slot.len() < self.remotes.len() {
            return;
        }
        let cores = std::mem::take(&mut *slot);
        // Futures are dropped below: no scheduler lock may be held.
        drop(slot);
        self.finish_shutdown(cores);
    }

    #[allow(clippy::vec_box)]
    fn finish_shutdown(self: &Arc<Self>, cores: Vec<Box<Core>>) {
        let _enter = context::enter(crate::scheduler::Handle::MultiThread(Arc::clone(self)));
        let _dropping = crate::scheduler::DroppingTasks::enter();
        // Dropping a future can wake or spawn others; go round until quiet.
        // Wakes from here go to the global queue (no core is installed).
        let mut cores = cores;
        loop {
            let mut dropped = false;
            for task in self.owned.close_and_drain() {
                task.shutdown();
                dropped = true;
            }
            for core in &mut cores {
                dropped |= core.drain();
            }
            while let Some(task) = self.inject.pop() {
                task.shutdown();
                dropped = true;
            }
            if !dropped && self.inject.close_if_empty() {
                break;
            }
        }
        drop(cores);
        // The driver goes last: futures dropped above may deregister I/O.
        let driver = lock(&self.driver).take();
        drop(driver);
    }
}

/// Spawns `future` on the runtime: onto this worker's queue when called on
/// one of its workers, otherwise onto the global queue.
#[cfg_attr(feature = "console", track_caller)]
pub(crate) fn spawn<F>(shared: &Arc<Shared>, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handle = crate::scheduler::Handle::MultiThread(Arc::clone(shared));
    let task = crate::task::raw::spawned(future, Id::next(), handle, None);
    let join = JoinHandle::new(task.clone());
    let task: TaskRef = task;
    if shared.owned.insert(&task) {
        schedule(Arc::as_ptr(shared), task, false);
    } else {
        // The runtime is shut down: the task completes as cancelled.
        task.shutdown();
    }
    join
}

/// Closes the runtime: workers stop after their current poll, drop their
/// tasks and exit. Waits for them up to `timeout` (`None`: as long as it
/// takes). Returns false if the wait timed out.
pub(crate) fn shutdown(shared: &Arc<Shared>, timeout: Option<Duration>) -> bool {
    shared.closed.store(true, Release);
    for index in 0..shared.remotes.len() {
        shared.unpark(index);
    }
    let deadline = timeout.map(|t| Instant::now().checked_add(t));
    // Called from one of the runtime's own threads (inside
    // `block_in_place`, where blocking is allowed): that thread cannot exit
    // while it waits here, so it is not waited for; it stops after its
    // poll, like the others.
    let me = usize::from(worker::is_thread_of(shared));
    let mut live = lock(&shared.live_threads);
    while *live > me {
        live = match deadline {
            None | Some(None) => wait(&shared.threads_done, live),
            Some(Some(deadline)) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return false;
                }
                wait_timeout(&shared.threads_done, live, left).0
            }
        };
    }
    true
}
