//! Runtime metrics: counters kept with relaxed atomics, cheap enough to be
//! always on.

use std::fmt;

use crate::scheduler;

/// A view of a runtime's counters, from
/// [`Handle::metrics`](super::Handle::metrics). Each call reads the current
/// values; nothing is snapshotted.
///
/// Per-worker counters take a worker index (`0..num_workers()`) and return
/// `None` for an index out of range. A current-thread runtime counts as one
/// worker.
///
/// ```
/// let rt = weft::runtime::Builder::new_multi_thread().worker_threads(2).build()?;
/// rt.block_on(async {
///     let tasks: Vec<_> = (0..100).map(|i| weft::spawn(async move { i })).collect();
///     for task in tasks {
///         task.await.unwrap();
///     }
/// });
/// let metrics = rt.metrics();
/// let polls: u64 = (0..metrics.num_workers())
///     .map(|w| metrics.worker_poll_count(w).unwrap())
///     .sum();
/// assert!(polls >= 100);
/// assert_eq!(metrics.worker_poll_count(2), None);
/// # std::io::Result::Ok(())
/// ```
#[derive(Clone)]
pub struct RuntimeMetrics {
    handle: scheduler::Handle,
}

impl RuntimeMetrics {
    pub(crate) fn new(handle: scheduler::Handle) -> RuntimeMetrics {
        RuntimeMetrics { handle }
    }

    /// Worker threads (1 for a current-thread runtime).
    pub fn num_workers(&self) -> usize {
        self.handle.metrics().workers
    }

    /// Tasks spawned and not yet completed (including `spawn_local` ones).
    pub fn num_alive_tasks(&self) -> usize {
        self.handle.metrics().alive
    }

    /// Tasks waiting in the global queue (spawned or woken from outside the
    /// runtime's threads, or overflowed from a full local queue).
    pub fn global_queue_depth(&self) -> usize {
        self.handle.metrics().global_queue
    }

    /// Threads of the blocking pool (busy or idle) plus the stand-ins of
    /// workers inside [`block_in_place`](crate::task::block_in_place).
    pub fn num_blocking_threads(&self) -> usize {
        self.handle.metrics().stand_ins + self.handle.blocking_pool().threads()
    }

    /// Blocking-pool jobs waiting for a thread.
    pub fn blocking_queue_depth(&self) -> usize {
        self.handle.blocking_pool().queue_depth()
    }

    /// Times the I/O driver has polled epoll (`epoll_wait` calls, blocking
    /// or not) since the runtime started: one driver turn each. On
    /// io_uring, its waits on the ring; a multi-thread runtime's ring per
    /// worker counts the turns of the worker holding the driver (the one
    /// that also fires timers), not the other workers' turns of their own
    /// rings.
    pub fn io_driver_turns(&self) -> u64 {
        self.handle.driver().io.turns()
    }

    /// The backend the runtime's I/O driver runs on: [`IoDriver::Epoll`](super::IoDriver::Epoll) or
    /// [`IoDriver::Uring`](super::IoDriver::Uring) (an `Auto` choice resolved), as chosen by
    /// [`Builder::io_driver`](super::Builder::io_driver) or `WEFT_IO_DRIVER`.
    /// tokio has no such method.
    ///
    /// ```
    /// let rt = weft::runtime::Builder::new_current_thread()
    ///     .io_driver(weft::runtime::IoDriver::Epoll)
    ///     .build()?;
    /// assert_eq!(rt.metrics().io_driver(), weft::runtime::IoDriver::Epoll);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn io_driver(&self) -> super::IoDriver {
        self.handle.driver().io.io_driver()
    }

    /// Task polls made by worker `worker` since the runtime started.
    pub fn worker_poll_count(&self, worker: usize) -> Option<u64> {
        self.handle.worker_metrics(worker).map(|w| w.polls)
    }

    /// Successful steals (each takes half of a victim's queue) made by
    /// worker `worker`.
    pub fn worker_steal_count(&self, worker: usize) -> Option<u64> {
        self.handle.worker_metrics(worker).map(|w| w.steals)
    }

    /// Times worker `worker` went to sleep for lack of work.
    pub fn worker_park_count(&self, worker: usize) -> Option<u64> {
        self.handle.worker_metrics(worker).map(|w| w.parks)
    }

    /// Times worker `worker` parked plus times it unparked: odd while it
    /// sleeps, even while it runs (tokio's `worker_park_unpark_count`).
    pub fn worker_park_unpark_count(&self, worker: usize) -> Option<u64> {
        self.handle.worker_metrics(worker).map(|w| w.park_unpark)
    }

    /// Time worker `worker` has spent awake (running tasks, polling the
    /// driver, running hooks) since the runtime started, up to its last
    /// park (tokio's `worker_total_busy_duration`). Never decreases. A
    /// worker's time inside `block_in_place` counts as busy. On the
    /// current-thread runtime the first poll of each `block_on`'s future is
    /// not counted (so that a `block_on` whose future is ready at once reads
    /// no clock); its later polls, tasks, the driver and hooks are.
    ///
    /// ```
    /// let rt = weft::runtime::Builder::new_current_thread().build()?;
    /// rt.block_on(async {
    ///     weft::time::sleep(std::time::Duration::from_millis(5)).await;
    /// });
    /// let metrics = rt.metrics();
    /// // It slept once in the driver: parked and unparked.
    /// assert!(metrics.worker_park_unpark_count(0).unwrap() >= 2);
    /// assert!(metrics.worker_total_busy_duration(0).is_some());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn worker_total_busy_duration(&self, worker: usize) -> Option<std::time::Duration> {
        self.handle.worker_metrics(worker).map(|w| w.busy)
    }

    /// Tasks in worker `worker`'s local (stealable) queue now.
    pub fn worker_local_queue_depth(&self, worker: usize) -> Option<usize> {
        self.handle.worker_metrics(worker).map(|w| w.local_queue)
    }
}

impl fmt::Debug for RuntimeMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts = self.handle.metrics();
        f.debug_struct("RuntimeMetrics")
            .field("num_workers", &counts.workers)
            .field("num_alive_tasks", &counts.alive)
            .field("global_queue_depth", &counts.global_queue)
            .field("num_blocking_threads", &self.num_blocking_threads())
            .finish_non_exhaustive()
    }
}
