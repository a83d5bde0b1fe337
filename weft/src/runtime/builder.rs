//! Runtime configuration.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use super::{Handle, Runtime};
use crate::driver::io::IoDriver;
use crate::driver::Driver;
use crate::scheduler::{self, current_thread, multi_thread, Callback, Config, Hooks};

/// Builds a [`Runtime`].
///
/// Drivers (I/O, time) are always on: [`enable_all`](Builder::enable_all),
/// [`enable_io`](Builder::enable_io) and [`enable_time`](Builder::enable_time)
/// exist so that tokio code compiles, and do nothing.
///
/// ```
/// use weft::runtime::Builder;
///
/// let rt = Builder::new_multi_thread()
///     .worker_threads(2)
///     .thread_name("my-worker")
///     .build()?;
/// let answer = rt.block_on(async { weft::spawn(async { 6 * 7 }).await.unwrap() });
/// assert_eq!(answer, 42);
///
/// let rt = Builder::new_current_thread().event_interval(31).build()?;
/// rt.block_on(async { weft::time::sleep(std::time::Duration::from_millis(1)).await });
/// # std::io::Result::Ok(())
/// ```
#[derive(Clone)]
pub struct Builder {
    kind: Kind,
    event_interval: u32,
    global_queue_interval: u32,
    worker_threads: Option<usize>,
    thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    thread_stack_size: Option<usize>,
    hooks: Hooks,
    max_blocking_threads: usize,
    thread_keep_alive: Duration,
    drop_timeout: Duration,
    max_io_events_per_tick: usize,
    io_driver: Option<IoDriver>,
    name: Option<String>,
    #[cfg(feature = "test-util")]
    start_paused: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    CurrentThread,
    MultiThread,
}

/// The environment variable that sets the default worker count of
/// multi-thread runtimes (when [`Builder::worker_threads`] is not called).
pub const WORKER_THREADS_ENV: &str = "WEFT_WORKER_THREADS";

/// The environment variable that chooses the I/O driver backend (`epoll`,
/// `uring` or `auto`) of runtimes whose builder does not
/// ([`Builder::io_driver`]).
pub const IO_DRIVER_ENV: &str = "WEFT_IO_DRIVER";

impl Builder {
    fn new(kind: Kind, global_queue_interval: u32) -> Builder {
        Builder {
            kind,
            event_interval: 61,
            global_queue_interval,
            worker_threads: None,
            thread_name: Arc::new(|| "weft-worker".to_owned()),
            thread_stack_size: None,
            hooks: Hooks::default(),
            max_blocking_threads: 512,
            thread_keep_alive: Duration::from_secs(10),
            drop_timeout: Duration::from_secs(30),
            max_io_events_per_tick: crate::driver::io::DEFAULT_EVENTS_PER_TURN,
            io_driver: None,
            name: None,
            #[cfg(feature = "test-util")]
            start_paused: false,
        }
    }

    /// Does nothing: weft's I/O and time drivers are always on. Kept so
    /// that tokio's `Builder::new_multi_thread().enable_all()` compiles.
    ///
    /// ```
    /// let rt = weft::runtime::Builder::new_multi_thread().enable_all().build()?;
    /// rt.block_on(async { weft::time::sleep(std::time::Duration::from_millis(1)).await });
    /// # std::io::Result::Ok(())
    /// ```
    pub fn enable_all(&mut self) -> &mut Builder {
        self
    }

    /// Does nothing: weft's I/O driver is always on (sockets, signals and
    /// child processes work on every runtime). Kept for tokio code.
    pub fn enable_io(&mut self) -> &mut Builder {
        self
    }

    /// Does nothing: weft's time driver is always on (`weft::time` works
    /// on every runtime). Kept for tokio code.
    pub fn enable_time(&mut self) -> &mut Builder {
        self
    }

    /// The most I/O events the driver takes from the kernel in one turn
    /// (one `epoll_wait`; default 256, tokio's is 1024). Further ready
    /// descriptors are picked up at the next turn, so a smaller figure
    /// bounds the work between two looks at the run queue, a larger one
    /// saves `epoll_wait` calls when many sockets are busy at once. Unlike
    /// tokio's, this does not switch anything on: the driver always is.
    ///
    /// ```
    /// let rt = weft::runtime::Builder::new_current_thread()
    ///     .max_io_events_per_tick(1024)
    ///     .build()?;
    /// # drop(rt);
    /// let err = weft::runtime::Builder::new_current_thread()
    ///     .max_io_events_per_tick(0)
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn max_io_events_per_tick(&mut self, capacity: usize) -> &mut Builder {
        self.max_io_events_per_tick = capacity;
        self
    }

    /// Chooses the backend the I/O driver polls descriptors with: epoll,
    /// io_uring, or the best this process can run ([`IoDriver`]). Where this
    /// is not called, the environment variable `WEFT_IO_DRIVER`
    /// ([`IO_DRIVER_ENV`]: `epoll`, `uring` or `auto`) chooses, so the user
    /// of a binary can; where neither says, epoll. An explicit call here
    /// wins over the variable, as `worker_threads` does over
    /// `WEFT_WORKER_THREADS`.
    ///
    /// ```
    /// use weft::runtime::{Builder, IoDriver};
    ///
    /// let rt = Builder::new_multi_thread().io_driver(IoDriver::Epoll).build()?;
    /// assert_eq!(rt.metrics().io_driver(), IoDriver::Epoll);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn io_driver(&mut self, driver: IoDriver) -> &mut Builder {
        self.io_driver = Some(driver);
        self
    }

    /// The backend asked for: the builder's, else `WEFT_IO_DRIVER`'s, else
    /// epoll.
    fn chosen_io_driver(&self) -> io::Result<IoDriver> {
        if let Some(driver) = self.io_driver {
            return Ok(driver);
        }
        match std::env::var(IO_DRIVER_ENV) {
            Ok(value) => IoDriver::parse(&value).ok_or_else(|| {
                Builder::invalid(format!(
                    "{IO_DRIVER_ENV}={value:?} is not an I/O driver (one of epoll, uring, auto)"
                ))
            }),
            Err(_) => Ok(IoDriver::Epoll),
        }
    }

    /// Names the runtime; [`Handle::name`](super::Handle::name) returns it.
    /// It does not name the runtime's threads (see
    /// [`thread_name`](Self::thread_name)).
    ///
    /// A name that is empty or only whitespace makes [`build`](Self::build)
    /// fail with `InvalidInput` (tokio's panics here).
    ///
    /// ```
    /// let rt = weft::runtime::Builder::new_current_thread().name("ingest").build()?;
    /// assert_eq!(rt.handle().name(), Some("ingest"));
    /// # std::io::Result::Ok(())
    /// ```
    pub fn name(&mut self, name: impl Into<String>) -> &mut Builder {
        self.name = Some(name.into());
        self
    }

    /// The most threads the blocking pool (for
    /// [`spawn_blocking`](crate::task::spawn_blocking), files and name
    /// lookups) may run at once (default 512). They start on demand; slow
    /// I/O may use at most half of them (with a single thread, it runs all
    /// work in turn).
    pub fn max_blocking_threads(&mut self, threads: usize) -> &mut Builder {
        self.max_blocking_threads = threads;
        self
    }

    /// How long an idle blocking-pool thread waits for work before it
    /// exits (default 10 s).
    pub fn thread_keep_alive(&mut self, keep_alive: Duration) -> &mut Builder {
        self.thread_keep_alive = keep_alive;
        self
    }

    /// How long dropping the runtime waits for blocking-pool jobs that are
    /// still running (and for `File` writes it must still make) before it
    /// gives up on them, prints a warning and returns; the jobs go on in
    /// their threads (default 30 s). A job that never returns (a read that
    /// never completes, say) so delays exit by this much, not forever.
    /// `Duration::MAX` waits as long as they take, as tokio's drop does.
    /// [`Runtime::shutdown_timeout`] sets its own bound.
    ///
    /// ```
    /// let rt = weft::runtime::Builder::new_current_thread()
    ///     .shutdown_timeout(std::time::Duration::from_millis(100))
    ///     .build()
    ///     .unwrap();
    /// let (_release, stuck) = std::sync::mpsc::channel::<()>();
    /// let _job = rt.spawn_blocking(move || stuck.recv()); // never returns
    /// drop(rt); // returns after 100 ms, with a warning on stderr
    /// ```
    pub fn shutdown_timeout(&mut self, timeout: Duration) -> &mut Builder {
        self.drop_timeout = timeout;
        self
    }

    /// Whether the runtime's clock starts paused (feature `test-util`; see
    /// [`time::pause`](crate::time::pause)). Paused, [`Instant::now`] stands
    /// still and the clock moves only by
    /// [`time::advance`](crate::time::advance) or, when the runtime has
    /// nothing to run, by jumping to the next timer's deadline.
    ///
    /// Unlike tokio's, this works on the multi-thread runtime too: the
    /// clock jumps only when every worker is asleep with empty queues and
    /// some thread is inside `block_on`.
    ///
    /// [`Instant::now`]: crate::time::Instant::now
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::time::{sleep, Instant};
    ///
    /// let rt = weft::runtime::Builder::new_current_thread()
    ///     .start_paused(true)
    ///     .build()?;
    /// rt.block_on(async {
    ///     let start = Instant::now();
    ///     sleep(Duration::from_secs(3600)).await; // returns at once
    ///     assert_eq!(start.elapsed(), Duration::from_secs(3600));
    /// });
    /// # std::io::Result::Ok(())
    /// ```
    #[cfg(feature = "test-util")]
    pub fn start_paused(&mut self, start_paused: bool) -> &mut Builder {
        self.start_paused = start_paused;
        self
    }

    /// A builder for a runtime that runs every task on the thread that calls
    /// [`Runtime::block_on`].
    pub fn new_current_thread() -> Builder {
        Builder::new(Kind::CurrentThread, 31)
    }

    /// A builder for a work-stealing runtime with a pool of worker threads
    /// (by default one per CPU the process may use).
    pub fn new_multi_thread() -> Builder {
        Builder::new(Kind::MultiThread, 61)
    }

    /// Worker threads of a multi-thread runtime (default: the
    /// `WEFT_WORKER_THREADS` environment variable if set, else one per CPU
    /// the process may use). No effect on a current-thread runtime.
    pub fn worker_threads(&mut self, workers: usize) -> &mut Builder {
        self.worker_threads = Some(workers);
        self
    }

    /// Name of the runtime's threads (default `weft-worker`).
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Builder {
        let name = name.into();
        self.thread_name = Arc::new(move || name.clone());
        self
    }

    /// Names each new runtime thread by calling `name`.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// let rt = weft::runtime::Builder::new_multi_thread()
    ///     .worker_threads(2)
    ///     .thread_name_fn(|| {
    ///         static NEXT: AtomicUsize = AtomicUsize::new(0);
    ///         format!("worker-{}", NEXT.fetch_add(1, Ordering::Relaxed))
    ///     })
    ///     .build()?;
    /// let name = rt.block_on(async {
    ///     weft::spawn(async { std::thread::current().name().map(str::to_owned) }).await.unwrap()
    /// });
    /// assert!(name.unwrap().starts_with("worker-"));
    /// # std::io::Result::Ok(())
    /// ```
    pub fn thread_name_fn<F>(&mut self, name: F) -> &mut Builder
    where
        F: Fn() -> String + Send + Sync + 'static,
    {
        self.thread_name = Arc::new(name);
        self
    }

    /// Stack size of the runtime's threads, in bytes (default: std's, 2 MiB).
    pub fn thread_stack_size(&mut self, bytes: usize) -> &mut Builder {
        self.thread_stack_size = Some(bytes);
        self
    }

    /// Called on each thread the runtime starts, before it runs any task.
    pub fn on_thread_start<F: Fn() + Send + Sync + 'static>(&mut self, f: F) -> &mut Builder {
        self.hooks.on_thread_start = Some(Arc::new(f) as Callback);
        self
    }

    /// Called on each runtime thread as it exits.
    pub fn on_thread_stop<F: Fn() + Send + Sync + 'static>(&mut self, f: F) -> &mut Builder {
        self.hooks.on_thread_stop = Some(Arc::new(f) as Callback);
        self
    }

    /// Called each time a thread running the loop is about to sleep because
    /// it has nothing to run (libuv's "prepare" phase). On a current-thread
    /// runtime it runs on the thread in `block_on`.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let parks = Arc::new(AtomicUsize::new(0));
    /// let counter = Arc::clone(&parks);
    /// let rt = weft::runtime::Builder::new_current_thread()
    ///     .on_thread_park(move || {
    ///         counter.fetch_add(1, Ordering::Relaxed);
    ///     })
    ///     .build()?;
    /// rt.block_on(async { weft::time::sleep(std::time::Duration::from_millis(5)).await });
    /// assert!(parks.load(Ordering::Relaxed) >= 1);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn on_thread_park<F: Fn() + Send + Sync + 'static>(&mut self, f: F) -> &mut Builder {
        self.hooks.on_thread_park = Some(Arc::new(f) as Callback);
        self
    }

    /// Called each time a sleeping runtime thread wakes up, before it runs
    /// anything (libuv's "check" phase).
    pub fn on_thread_unpark<F: Fn() + Send + Sync + 'static>(&mut self, f: F) -> &mut Builder {
        self.hooks.on_thread_unpark = Some(Arc::new(f) as Callback);
        self
    }

    /// How many tasks run between two non-blocking polls of the I/O and time
    /// drivers while tasks keep being ready (default 61). Lower means fresher
    /// I/O under load, higher means fewer `epoll_wait` calls.
    pub fn event_interval(&mut self, tasks: u32) -> &mut Builder {
        self.event_interval = tasks;
        self
    }

    /// How many tasks run between two checks of the global queue (tasks
    /// spawned or woken from outside the runtime's threads) while local tasks
    /// keep being ready (default 31 on current-thread, 61 on multi-thread).
    pub fn global_queue_interval(&mut self, tasks: u32) -> &mut Builder {
        self.global_queue_interval = tasks;
        self
    }

    fn invalid(message: String) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("weft::runtime::Builder: {message}"),
        )
    }

    fn workers(&self) -> io::Result<usize> {
        let workers = match self.worker_threads {
            Some(workers) => workers,
            None => match std::env::var(WORKER_THREADS_ENV) {
                Ok(value) => value.trim().parse::<usize>().map_err(|_| {
                    Builder::invalid(format!(
                        "{WORKER_THREADS_ENV}={value:?} is not a worker count"
                    ))
                })?,
                Err(_) => std::thread::available_parallelism().map_or(1, |n| n.get()),
            },
        };
        if workers == 0 {
            return Err(Builder::invalid(
                "`worker_threads` must be at least 1, got 0".to_owned(),
            ));
        }
        if workers > 4096 {
            return Err(Builder::invalid(format!(
                "`worker_threads` is at most 4096, got {workers}"
            )));
        }
        Ok(workers)
    }

    /// Creates the runtime: an epoll instance, an eventfd, the timer wheel,
    /// and for a multi-thread runtime its worker threads.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if an interval, the worker count, `max_blocking_threads`
    /// or `max_io_events_per_tick` is 0 (or `WEFT_WORKER_THREADS` is not a
    /// number, or `WEFT_IO_DRIVER` names no backend), or the `name` is
    /// empty; `Unsupported`, saying why, if [`IoDriver::Uring`] was asked for
    /// and this process cannot run it; the kernel's error if epoll or the
    /// ring, the eventfd or a thread cannot be created (for example when out
    /// of file descriptors).
    pub fn build(&mut self) -> io::Result<Runtime> {
        for (name, value) in [
            ("event_interval", self.event_interval),
            ("global_queue_interval", self.global_queue_interval),
        ] {
            if value == 0 {
                return Err(Builder::invalid(format!(
                    "`{name}` must be at least 1, got 0"
                )));
            }
        }
        for (name, value) in [
            ("max_blocking_threads", self.max_blocking_threads),
            ("max_io_events_per_tick", self.max_io_events_per_tick),
        ] {
            if value == 0 {
                return Err(Builder::invalid(format!(
                    "`{name}` must be at least 1, got 0"
                )));
            }
        }
        if let Some(name) = &self.name {
            if name.trim().is_empty() {
                return Err(Builder::invalid(format!(
                    "the runtime's `name` must not be empty, got {name:?}"
                )));
            }
        }
        let io_driver = self.chosen_io_driver()?;
        let driver_config = |workers| crate::driver::Config {
            events_per_tick: self.max_io_events_per_tick,
            io_driver,
            workers,
            runtime_id: super::Id::next().as_raw(),
            runtime_name: self.name.as_deref().map(Arc::from),
            #[cfg(feature = "test-util")]
            start_paused: self.start_paused,
        };
        let config = Config {
            event_interval: self.event_interval,
            global_queue_interval: self.global_queue_interval,
            hooks: self.hooks.clone(),
        };
        let pool = crate::blocking::Pool::new(crate::blocking::PoolConfig {
            max_threads: self.max_blocking_threads,
            keep_alive: self.thread_keep_alive,
            drop_timeout: self.drop_timeout,
            name: Arc::clone(&self.thread_name),
            stack_size: self.thread_stack_size,
            hooks: Hooks {
                on_thread_park: None,
                on_thread_unpark: None,
                ..self.hooks.clone()
            },
        });
        let inner = match self.kind {
            Kind::CurrentThread => {
                let driver = Driver::new(driver_config(None))?;
                scheduler::Handle::CurrentThread(current_thread::Shared::new(driver, config, pool))
            }
            Kind::MultiThread => {
                let workers = self.workers()?;
                let threads = multi_thread::ThreadConfig {
                    workers,
                    name: Arc::clone(&self.thread_name),
                    stack_size: self.thread_stack_size,
                };
                let driver = Driver::new(driver_config(Some(workers)))?;
                scheduler::Handle::MultiThread(multi_thread::Shared::start(
                    driver, config, threads, pool,
                )?)
            }
        };
        Ok(Runtime::from_handle(Handle { inner }))
    }
}

/// `start_paused = ..` in `#[weft::main]` / `#[weft::test]`: the builder
/// with `start_paused`, or (without weft's `test-util` feature) a compile
/// error saying how to turn the feature on. Not public API.
#[cfg(feature = "test-util")]
#[doc(hidden)]
#[macro_export]
macro_rules! __start_paused {
    ($builder:expr, $paused:expr) => {
        $builder.start_paused($paused)
    };
}

/// `start_paused = ..` in `#[weft::main]` / `#[weft::test]` without the
/// `test-util` feature: a compile error saying how to turn it on.
#[cfg(not(feature = "test-util"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __start_paused {
    ($builder:expr, $paused:expr) => {{
        ::core::compile_error!(
            "`start_paused` needs weft's `test-util` feature: depend on weft with \
             `features = [\"test-util\"]` (for tests, under `[dev-dependencies]`)"
        );
        $builder
    }};
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("event_interval", &self.event_interval)
            .field("global_queue_interval", &self.global_queue_interval)
            .field("worker_threads", &self.worker_threads)
            .field("thread_stack_size", &self.thread_stack_size)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("thread_keep_alive", &self.thread_keep_alive)
            .field("max_io_events_per_tick", &self.max_io_events_per_tick)
            .field("io_driver", &self.io_driver)
            .field("hooks", &self.hooks)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_intervals_are_rejected_with_their_name() {
        let err = Builder::new_current_thread()
            .event_interval(0)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("event_interval"), "{err}");
        let err = Builder::new_multi_thread()
            .global_queue_interval(0)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("global_queue_interval"), "{err}");
    }

    #[test]
    fn zero_or_absurd_worker_counts_are_rejected() {
        let err = Builder::new_multi_thread()
            .worker_threads(0)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("worker_threads"), "{err}");
        let err = Builder::new_multi_thread()
            .worker_threads(1 << 20)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("at most"), "{err}");
    }
}
