//! The blocking pool: threads that run work which would block the loop —
//! file system calls, name lookups, user code given to
//! [`spawn_blocking`](crate::task::spawn_blocking) — and hand the result
//! back through a [`JoinHandle`].
//!
//! Owns: the pool's threads and queues. Calls: tasks (`run`, `shutdown`),
//! and the runtime that owns the pool through [`Owner`] (entered around
//! each job): the pool knows no scheduler.
//!
//! Threads start on demand, up to `max_blocking_threads`, and exit after
//! `thread_keep_alive` without work. Work comes in three kinds, as libuv has
//! them ([`BlockingKind`]): CPU, fast I/O and slow I/O. Slow I/O (name
//! lookups, and whatever the user marks slow) may occupy at most half of
//! the threads; the rest of its queue waits, so a flood of slow lookups can
//! never starve fast file I/O.
//!
//! Shutdown refuses new work (its `JoinHandle`s report cancelled) and waits,
//! up to the runtime's `shutdown_timeout`, for the work already handed in:
//! jobs queued before the shutdown still run, as tokio's do (a final
//! `spawn_blocking` flush at the end of `main` is not lost), and the pool's
//! threads drain the queue before they exit, also after a timeout or
//! `shutdown_background`. A `File`'s write-behind goes to a queue of its
//! own (*must run*), which takes turns with the others, so a burst of
//! writes cannot hold up opens and lookups.

use std::cell::Cell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

#[cfg(feature = "test-util")]
use crate::driver;
use crate::sys::hooks::Hooks;
use crate::sys::lock::{lock, wait, wait_timeout};
use crate::task::id::Id;
use crate::task::join::JoinHandle;
use crate::task::raw::{Schedule, TaskRef};

/// What the pool needs of the runtime whose jobs it runs: the scheduler
/// layer's handle implements it. A job is a task of that runtime that
/// completes in one poll.
pub(crate) trait Owner: Schedule + Clone {
    /// What keeps the runtime entered on this thread until it drops.
    type Entered;

    /// Makes the runtime this thread's current one, around each job (so a
    /// job may spawn onto it, or use its timers and sockets).
    fn enter(&self) -> Self::Entered;

    /// The runtime's driver: a job in flight holds a paused clock's
    /// auto-advance back.
    #[cfg(feature = "test-util")]
    fn driver(&self) -> &driver::Handle;
}

/// What kind of blocking work a job is, for [`spawn_blocking_with`]:
/// libuv's three classes.
///
/// [`spawn_blocking_with`]: crate::task::spawn_blocking_with
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BlockingKind {
    /// Computation: runs as soon as a thread is free.
    Cpu,
    /// Short I/O (file system calls): runs as soon as a thread is free. The
    /// default of [`spawn_blocking`](crate::task::spawn_blocking).
    FastIo,
    /// I/O that may take long (name lookups, network file systems): at most
    /// half of the pool's threads run it at once.
    SlowIo,
}

/// How the pool's threads are made.
#[derive(Clone)]
pub(crate) struct PoolConfig {
    pub(crate) max_threads: usize,
    pub(crate) keep_alive: Duration,
    /// How long dropping the runtime waits for running jobs.
    pub(crate) drop_timeout: Duration,
    pub(crate) name: Arc<dyn Fn() -> String + Send + Sync>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) hooks: Hooks,
}

pub(crate) struct Pool<S> {
    state: Mutex<State<S>>,
    /// Idle threads wait here for work.
    work: Condvar,
    /// Shutdown waits here for the threads to exit.
    exited: Condvar,
    config: PoolConfig,
    /// At most this many slow jobs run at once.
    max_slow: usize,
    /// Jobs queued (both queues), updated under the lock, read by a
    /// spinning thread without it.
    queued: AtomicUsize,
    /// Jobs handed in and not yet run to the end (queued or running).
    outstanding: AtomicUsize,
    /// More than one CPU to run on: only then can a spinning loop and the
    /// job it waits for both make progress.
    may_spin: bool,
}

thread_local! {
    /// The pool this thread belongs to (its address), or null.
    static IN_POOL: std::cell::Cell<*const ()> = const { std::cell::Cell::new(std::ptr::null()) };
}

thread_local! {
    /// Until when the loop on this thread may spin for a job of a file call
    /// it handed in ([`expect_soon`]).
    static SPIN_WINDOW: Cell<Option<Instant>> = const { Cell::new(None) };
    /// Windows still to skip after one ran out ([`spin_ended`]).
    static SPIN_SKIP: Cell<u8> = const { Cell::new(0) };
}

/// Called by weft's file calls as they hand a job in, on the thread whose
/// loop will wait for it: that loop may spin for it for up to [`SPIN`]
/// instead of sleeping (see [`Pool::spin_deadline`]).
pub(crate) fn expect_soon() {
    match SPIN_SKIP.get() {
        0 => SPIN_WINDOW.set(Instant::now().checked_add(SPIN)),
        left => SPIN_SKIP.set(left - 1),
    }
}

/// The loop's spin ended: closes the window; if nothing was woken before
/// it closed (`ran_out`), the job takes longer than a window, as the next
/// ones likely will (a slow disk), so the next fifteen windows are not
/// opened: such a workload spins one window in sixteen.
pub(crate) fn spin_ended(ran_out: bool) {
    SPIN_WINDOW.set(None);
    if ran_out {
        SPIN_SKIP.set(15);
    }
}

/// How long a thread that ran out of work spins for the next job before it
/// sleeps: a loop issuing file calls back to back gets each picked up
/// without a condvar wake-up (tens of microseconds on a VM). One thread
/// spins at a time.
const SPIN: Duration = Duration::from_micros(50);

struct State<S> {
    /// CPU and fast I/O jobs.
    queue: VecDeque<TaskRef<S>>,
    slow: VecDeque<TaskRef<S>>,
    /// Fast I/O jobs that shutdown does not cancel.
    must_run: VecDeque<TaskRef<S>>,
    threads: usize,
    idle: usize,
    /// Idle threads already notified of a job and not yet awake.
    notified: usize,
    /// Threads spinning for a job, not yet promised one by a `spawn`.
    spinning_free: usize,
    /// Threads spinning at all.
    spinning: usize,
    slow_running: usize,
    /// Which queue goes first next (0 must-run, 1 slow, 2 the others), in
    /// turn, so a steady stream of one kind cannot starve the others.
    turn: u8,
    shutdown: bool,
}

impl<S> Default for State<S> {
    fn default() -> State<S> {
        State {
            queue: VecDeque::new(),
            slow: VecDeque::new(),
            must_run: VecDeque::new(),
            threads: 0,
            idle: 0,
            notified: 0,
            spinning_free: 0,
            spinning: 0,
            slow_running: 0,
            turn: 0,
            shutdown: false,
        }
    }
}

impl<S> State<S> {
    fn has_runnable(&self, max_slow: usize) -> bool {
        self.runnable(max_slow) > 0
    }

    /// Jobs a thread could start now (slow ones only while a slow slot is
    /// free): what a spinning thread watches for.
    fn runnable(&self, max_slow: usize) -> usize {
        let slow = if self.slow_running < max_slow {
            self.slow.len()
        } else {
            0
        };
        self.must_run.len() + self.queue.len() + slow
    }

    /// Takes every queued job (nobody is left to run them).
    fn drain(&mut self) -> Vec<TaskRef<S>> {
        let mut jobs: Vec<TaskRef<S>> = self.queue.drain(..).collect();
        jobs.extend(self.slow.drain(..));
        jobs.extend(self.must_run.drain(..));
        jobs
    }

    /// The next job this thread may run, and whether it is slow. The three
    /// queues take turns at going first (must-run `File` writes, slow jobs,
    /// other fast jobs), so a burst in one cannot hold up the others; when
    /// the first has nothing (or slow jobs have no free slot), the rest go
    /// in that order.
    fn next_job(&mut self, max_slow: usize) -> Option<(TaskRef<S>, bool)> {
        self.turn = (self.turn + 1) % 3;
        for queue in [self.turn, 0, 1, 2] {
            match queue {
                0 => {
                    if let Some(task) = self.must_run.pop_front() {
                        return Some((task, false));
                    }
                }
                1 => {
                    if self.slow_running < max_slow {
                        if let Some(task) = self.slow.pop_front() {
                            self.slow_running += 1;
                            return Some((task, true));
                        }
                    }
                }
                _ => {
                    if let Some(task) = self.queue.pop_front() {
                        return Some((task, false));
                    }
                }
            }
        }
        None
    }
}

/// The future a blocking job runs as: `f`, called once.
struct Blocking<F>(Option<F>);

impl<F> Unpin for Blocking<F> {}

impl<F: FnOnce() -> R, R> Future for Blocking<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<R> {
        let f = self.0.take().expect("weft: a blocking job is polled once");
        // No cooperative budget here: the job is not a task on the loop,
        // and a `block_on` inside it must not run out of budget.
        Poll::Ready(crate::task::coop::with_unconstrained(f))
    }
}

impl<S: Owner> Pool<S> {
    pub(crate) fn new(config: PoolConfig) -> Arc<Pool<S>> {
        let max_slow = (config.max_threads / 2).max(1);
        Arc::new(Pool {
            state: Mutex::default(),
            work: Condvar::new(),
            exited: Condvar::new(),
            config,
            max_slow,
            queued: AtomicUsize::new(0),
            outstanding: AtomicUsize::new(0),
            may_spin: std::thread::available_parallelism().is_ok_and(|n| n.get() > 1),
        })
    }

    /// Until when the loop on this thread, with nothing to run, should spin
    /// rather than sleep, waiting for a job: the window [`expect_soon`]
    /// opened, while it lasts and while any job is outstanding (`None`
    /// otherwise, and always with one CPU).
    ///
    /// A file call is a job of tens of microseconds; the loop that handed
    /// it in usually has nothing to do but wait for it, and on a VM a
    /// sleeping thread takes tens of microseconds more to wake than the
    /// job took (measured: `bench fs` small_files per cycle about halved).
    /// Only weft's own file calls open the window (a `spawn_blocking` of
    /// the user's may run for seconds), each for at most [`SPIN`] from the
    /// moment it was handed in, and one that runs out skips the next
    /// fifteen ([`spin_ended`]).
    pub(crate) fn spin_deadline(&self) -> Option<Instant> {
        self.spin_deadline_at(Instant::now())
    }

    /// [`spin_deadline`](Self::spin_deadline) as of `now`.
    fn spin_deadline_at(&self, now: Instant) -> Option<Instant> {
        if !self.may_spin || self.is_idle() {
            return None;
        }
        let deadline = SPIN_WINDOW.get()?;
        if deadline <= now {
            SPIN_WINDOW.set(None);
            return None;
        }
        Some(deadline)
    }

    /// A scheduler's spin before it parks, while
    /// [`spin_deadline`](Self::spin_deadline) allows: calls `sched_yield` (so a job's thread
    /// sharing this CPU runs at once) until `woken()` (a task or a waiting
    /// future was woken, or the scheduler must stop: true), no job is left
    /// (`woken()` asked once more: a job queues its wake before it gives its
    /// count back), or the window closes (false, and the next windows are
    /// skipped). Closes the window either way.
    pub(crate) fn spin_for_job(&self, woken: impl Fn() -> bool) -> bool {
        let Some(deadline) = self.spin_deadline() else {
            return false;
        };
        loop {
            if woken() {
                spin_ended(false);
                return true;
            }
            if self.is_idle() {
                spin_ended(false);
                return woken();
            }
            if Instant::now() >= deadline {
                spin_ended(true);
                return false;
            }
            std::thread::yield_now();
        }
    }

    /// No job outstanding: one a loop spins for has ended (and woken its
    /// `JoinHandle` first).
    pub(crate) fn is_idle(&self) -> bool {
        self.outstanding.load(Acquire) == 0
    }

    /// Queues `f` as a job of `kind` for the runtime `handle`.
    #[cfg_attr(feature = "console", track_caller)]
    pub(crate) fn spawn<F, R>(
        self: &Arc<Self>,
        handle: S,
        kind: BlockingKind,
        f: F,
    ) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.spawn_in(handle, Some(kind), f).0
    }

    /// Queues `f` as a fast I/O job that runs even if the runtime shuts
    /// down before it starts; `None` (and `f` dropped, never run) if it has
    /// shut down already.
    pub(crate) fn spawn_must_run<F, R>(self: &Arc<Self>, handle: S, f: F) -> Option<JoinHandle<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        match self.spawn_in(handle, None, f) {
            (join, true) => Some(join),
            (_, false) => None,
        }
    }

    /// Queues `f` in the queue of `kind`, or the must-run queue (`None`).
    /// False with the handle if the pool is shut down: the job is then
    /// cancelled, never run.
    #[cfg_attr(feature = "console", track_caller)]
    fn spawn_in<F, R>(
        self: &Arc<Self>,
        handle: S,
        kind: Option<BlockingKind>,
        f: F,
    ) -> (JoinHandle<R>, bool)
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let task = crate::task::raw::spawned_blocking(Blocking(Some(f)), Id::next(), handle);
        let join = JoinHandle::new(task.clone());
        let task: TaskRef<S> = task;
        let mut state = lock(&self.state);
        if state.shutdown {
            drop(state);
            // The runtime is gone: the job is cancelled, never run.
            task.shutdown();
            return (join, false);
        }
        // A job in flight holds a paused clock's auto-advance back until
        // it has finished and woken its `JoinHandle` (see `run`), as
        // tokio's do.
        #[cfg(feature = "test-util")]
        task.header().scheduler.driver().inhibit_auto_advance();
        match kind {
            Some(BlockingKind::SlowIo) => state.slow.push_back(task),
            Some(BlockingKind::Cpu | BlockingKind::FastIo) => state.queue.push_back(task),
            None => state.must_run.push_back(task),
        }
        self.queued.store(state.runnable(self.max_slow), Release);
        self.outstanding.fetch_add(1, Relaxed);
        if !state.has_runnable(self.max_slow) {
            // A slow job waiting for a slow slot: a finishing slow job will
            // pick it up.
            return (join, true);
        }
        if state.spinning_free > 0 {
            // A spinning thread takes it: no wake-up needed.
            state.spinning_free -= 1;
        } else if state.idle > state.notified {
            state.notified += 1;
            drop(state);
            self.work.notify_one();
        } else if state.threads < self.config.max_threads {
            state.threads += 1;
            drop(state);
            self.start_thread();
        }
        // Otherwise every thread is busy: the job waits its turn.
        (join, true)
    }

    fn start_thread(self: &Arc<Self>) {
        let mut builder = std::thread::Builder::new().name((self.config.name)());
        if let Some(size) = self.config.stack_size {
            builder = builder.stack_size(size);
        }
        let pool = Arc::clone(self);
        if let Err(e) = builder.spawn(move || pool.run()) {
            let mut state = lock(&self.state);
            state.threads -= 1;
            if state.threads == 0 {
                // Nobody will run the queue: fail its jobs rather than let
                // them wait forever.
                let jobs = state.drain();
                self.queued.store(0, Release);
                self.outstanding.fetch_sub(jobs.len(), Release);
                drop(state);
                eprintln!(
                    "weft: could not start a blocking-pool thread ({e}); its jobs are cancelled"
                );
                jobs.into_iter().for_each(|task| {
                    #[cfg(feature = "test-util")]
                    let driver = task.header().scheduler.driver().clone();
                    task.shutdown();
                    #[cfg(feature = "test-util")]
                    driver.allow_auto_advance();
                });
                self.exited.notify_all();
            }
        }
    }

    /// A pool thread: run jobs until idle for `keep_alive` or shut down.
    fn run(self: Arc<Self>) {
        IN_POOL.set(Arc::as_ptr(&self).cast());
        self.config.hooks.thread_start();
        let mut state = lock(&self.state);
        loop {
            if let Some((task, slow)) = state.next_job(self.max_slow) {
                self.queued.store(state.runnable(self.max_slow), Release);
                drop(state);
                #[cfg(feature = "test-util")]
                let driver = task.header().scheduler.driver().clone();
                let _enter = task.header().scheduler.enter();
                // The job's own panic becomes its JoinError inside `run`; a
                // panic from a foreign waker woken on completion is caught
                // here so the thread's bookkeeping below still happens.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task.run()));
                drop(_enter);
                // After the `JoinHandle`'s wake: a loop that sees no job
                // outstanding has the wake to see too.
                self.outstanding.fetch_sub(1, Release);
                // Done and its `JoinHandle` woken: the count taken in
                // `spawn_in` goes back, and a paused loop looks again.
                #[cfg(feature = "test-util")]
                driver.allow_auto_advance();
                state = lock(&self.state);
                if slow {
                    state.slow_running -= 1;
                    self.queued.store(state.runnable(self.max_slow), Release);
                    // A slow slot is free: an idle thread may take the next
                    // slow job while this one goes on.
                    if !state.slow.is_empty() && state.idle > state.notified {
                        state.notified += 1;
                        self.work.notify_one();
                    }
                }
                continue;
            }
            if state.shutdown {
                break;
            }
            if state.spinning == 0 {
                state = self.spin(state);
                if state.has_runnable(self.max_slow) || state.shutdown {
                    // A job, or a shutdown whose wake-up came while this
                    // thread was spinning rather than waiting.
                    continue;
                }
            }
            state.idle += 1;
            let (next, timed_out) = wait_timeout(&self.work, state, self.config.keep_alive);
            state = next;
            state.idle -= 1;
            if state.notified > 0 {
                state.notified -= 1;
            }
            if timed_out && !state.has_runnable(self.max_slow) && !state.shutdown {
                break;
            }
        }
        state.threads -= 1;
        drop(state);
        // Every exit, not just the last: a shutdown called from one of this
        // pool's own jobs waits for the others only (`threads > 1`).
        self.exited.notify_all();
        self.config.hooks.thread_stop();
    }

    /// Spins up to `SPIN` for a job to be queued, outside the lock; counts
    /// itself as a spinner meanwhile so `spawn` skips the wake-up.
    fn spin<'a>(&'a self, mut state: MutexGuard<'a, State<S>>) -> MutexGuard<'a, State<S>> {
        state.spinning += 1;
        state.spinning_free += 1;
        drop(state);
        let start = Instant::now();
        while self.queued.load(Acquire) == 0 && start.elapsed() < SPIN {
            std::hint::spin_loop();
        }
        let mut state = lock(&self.state);
        state.spinning -= 1;
        // If no `spawn` promised this thread a job, take back its offer (a
        // promised job is in the queue, or was taken by another thread).
        if state.spinning_free > 0 {
            state.spinning_free -= 1;
        }
        state
    }

    /// Threads alive now.
    pub(crate) fn threads(&self) -> usize {
        lock(&self.state).threads
    }

    /// Shutdown for a dropped runtime: waits for the running jobs up to
    /// the builder's `shutdown_timeout`, then warns and leaves them.
    pub(crate) fn shutdown_on_drop(&self) {
        let timeout = self.config.drop_timeout;
        if !self.shutdown(Some(timeout)) {
            let state = lock(&self.state);
            eprintln!(
                "weft: the runtime was dropped with {} blocking job(s) still running after {timeout:?} \
                 (Builder::shutdown_timeout); leaving them to finish on their own",
                state.threads.saturating_sub(state.idle + state.spinning)
            );
        }
    }

    /// Jobs waiting for a thread.
    pub(crate) fn queue_depth(&self) -> usize {
        let state = lock(&self.state);
        state.must_run.len() + state.queue.len() + state.slow.len()
    }

    /// Stops taking jobs and waits for the ones handed in (queued or
    /// running) to finish, up to `timeout` (`None`: as long as they take).
    /// Returns false if the wait timed out; the threads then finish the
    /// queue on their own. Queued jobs are not cancelled: a job spawned
    /// before the shutdown runs, as tokio's do.
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) -> bool {
        let mut state = lock(&self.state);
        state.shutdown = true;
        drop(state);
        // Idle threads wake to run what is queued, then exit.
        self.work.notify_all();
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        // Shut down from one of this pool's own jobs (the last handle to the
        // runtime dropped there): that thread cannot wait for itself.
        let me = usize::from(std::ptr::eq(IN_POOL.get(), (self as *const Self).cast()));
        let mut state = lock(&self.state);
        while state.threads > me {
            state = match (timeout, deadline) {
                (None, _) | (Some(_), None) => wait(&self.exited, state),
                (Some(_), Some(deadline)) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return false;
                    }
                    wait_timeout(&self.exited, state, left).0
                }
            };
        }
        true
    }
}

impl<S> fmt::Debug for Pool<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("max_threads", &self.config.max_threads)
            .field("max_slow", &self.max_slow)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The window: opened only by a file call's job, gone once no job is
    /// outstanding, and skipped after one that ran out. (Looked at as of a
    /// moment before each window could open, so that a slow machine, or
    /// valgrind, cannot close one before it is looked at.)
    #[test]
    fn the_loop_spins_only_for_a_file_call_s_job_still_outstanding() {
        let rt = crate::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let pool = Arc::clone(rt.handle().inner.blocking_pool());
        if !pool.may_spin {
            println!("one CPU: the loop never spins (nothing else to check)");
            return;
        }
        rt.block_on(async {
            spin_ended(false);
            let before = Instant::now();
            assert!(pool.spin_deadline_at(before).is_none(), "nothing handed in");
            // A job of the user's (it may run for seconds): no window.
            let (release, released) = std::sync::mpsc::channel::<()>();
            let users = crate::task::spawn_blocking(move || released.recv().is_ok());
            assert!(!pool.is_idle());
            assert!(pool.spin_deadline_at(before).is_none(), "a user's job");
            // A file call's job: a window, while a job is outstanding.
            let before = Instant::now();
            expect_soon();
            let deadline = pool.spin_deadline_at(before).expect("a file call's job");
            assert!(deadline >= before + SPIN && deadline <= Instant::now() + SPIN);
            release.send(()).unwrap();
            assert!(users.await.unwrap());
            while !pool.is_idle() {
                crate::task::yield_now().await;
            }
            assert!(
                pool.spin_deadline_at(before).is_none(),
                "no job outstanding"
            );
            // One that ran out: the next fifteen open no window.
            spin_ended(true);
            let (release, released) = std::sync::mpsc::channel::<()>();
            let held = crate::task::spawn_blocking(move || released.recv().is_ok());
            for _ in 0..15 {
                let before = Instant::now();
                expect_soon();
                assert!(pool.spin_deadline_at(before).is_none(), "skipped");
            }
            let before = Instant::now();
            expect_soon();
            assert!(
                pool.spin_deadline_at(before).is_some(),
                "the sixteenth opens one"
            );
            release.send(()).unwrap();
            assert!(held.await.unwrap());
        });
    }
}
