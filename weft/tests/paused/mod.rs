//! Helpers shared by the paused-clock tests: a mock task (tokio-test's
//! `task::spawn`, runtime-independent), its assertions, and paused runtimes.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// A future polled by hand with a waker that records whether it was woken
/// since the last poll (tokio-test's `task::Spawn`).
pub struct Spawn<F> {
    future: Pin<Box<F>>,
    woken: Arc<Woken>,
}

struct Woken(AtomicBool);

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}

/// Wraps `future` (or anything to poll by hand, an `Interval` say) for
/// polling with a waker that records wakes (tokio-test's `task::spawn`).
pub fn spawn<F>(future: F) -> Spawn<F> {
    Spawn {
        future: Box::pin(future),
        woken: Arc::new(Woken(AtomicBool::new(false))),
    }
}

impl<F: Unpin> Spawn<F> {
    /// The future back (tokio-test's `into_inner`).
    pub fn into_inner(self) -> F {
        *Pin::into_inner(self.future)
    }
}

impl<F: Unpin> std::ops::Deref for Spawn<F> {
    type Target = F;

    fn deref(&self) -> &F {
        &self.future
    }
}

impl<F: Unpin> std::ops::DerefMut for Spawn<F> {
    fn deref_mut(&mut self) -> &mut F {
        &mut self.future
    }
}

impl<F: Future> Spawn<F> {
    /// Polls the future once with this task's waker.
    pub fn poll(&mut self) -> Poll<F::Output> {
        let future = self.future.as_mut();
        Self::with_cx(&self.woken, |cx| future.poll(cx))
    }
}

impl<F> Spawn<F> {
    /// Runs `f` with this task's context and the pinned future.
    pub fn enter<R>(&mut self, f: impl FnOnce(&mut Context<'_>, Pin<&mut F>) -> R) -> R {
        let future = self.future.as_mut();
        Self::with_cx(&self.woken, |cx| f(cx, future))
    }

    /// True if the future's waker was woken since the last poll.
    pub fn is_woken(&self) -> bool {
        self.woken.0.load(SeqCst)
    }

    fn with_cx<R>(woken: &Arc<Woken>, f: impl FnOnce(&mut Context<'_>) -> R) -> R {
        woken.0.store(false, SeqCst);
        let waker = Waker::from(Arc::clone(woken));
        f(&mut Context::from_waker(&waker))
    }
}

#[macro_export]
macro_rules! assert_pending {
    ($poll:expr) => {
        match $poll {
            ::std::task::Poll::Pending => {}
            ::std::task::Poll::Ready(_) => panic!("ready; expected pending"),
        }
    };
}

#[macro_export]
macro_rules! assert_ready {
    ($poll:expr) => {
        match $poll {
            ::std::task::Poll::Ready(value) => value,
            ::std::task::Poll::Pending => panic!("pending; expected ready"),
        }
    };
}

#[macro_export]
macro_rules! assert_ready_eq {
    ($poll:expr, $expected:expr) => {
        assert_eq!($crate::assert_ready!($poll), $expected)
    };
}

/// tokio-test's `assert_elapsed!`, made exact: the paused clock moved by
/// `$dur`, not a millisecond more.
#[macro_export]
macro_rules! assert_elapsed {
    ($start:expr, $dur:expr) => {
        assert_eq!($start.elapsed(), $dur)
    };
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A builder: multi-thread with `workers` workers, or current-thread when
/// `workers` is 0.
pub fn builder(workers: usize) -> weft::runtime::Builder {
    if workers == 0 {
        weft::runtime::Builder::new_current_thread()
    } else {
        let mut builder = weft::runtime::Builder::new_multi_thread();
        builder.worker_threads(workers);
        builder
    }
}

/// A runtime whose clock starts paused (see [`builder`]).
pub fn paused_rt(workers: usize) -> weft::runtime::Runtime {
    builder(workers)
        .start_paused(true)
        .build()
        .expect("runtime")
}

/// The flavours every paused test runs on: current-thread, one worker,
/// two workers.
pub const FLAVOURS: [usize; 3] = [0, 1, 2];

/// Runs `test` on a runtime of each flavour (its clock paused from the
/// start if `start_paused`), each run bounded by `within`.
pub fn each_flavour<F: Future<Output = ()> + 'static>(start_paused: bool, test: fn() -> F) {
    for workers in FLAVOURS {
        crate::common::within(30, move || {
            builder(workers)
                .start_paused(start_paused)
                .build()
                .expect("runtime")
                .block_on(test())
        });
    }
}

/// The driver's turns so far (the paused tests wait on these: a loop that
/// went idle with something holding auto-advance back turned twice, a
/// zero-timeout look and the blocking wait).
pub fn driver_turns() -> u64 {
    weft::runtime::Handle::current().metrics().io_driver_turns()
}

/// Waits (on a blocking thread) until the driver turned `turns` times in
/// all: for code that must hold the runtime idle until its loop has looked.
pub fn wait_for_driver_turns(handle: &weft::runtime::Handle, turns: u64) {
    while handle.metrics().io_driver_turns() < turns {
        std::thread::yield_now();
    }
}

/// tokio-test's paths: `task::spawn`, `task::Spawn`.
pub mod task {
    #[allow(unused_imports)]
    pub use super::{spawn, Spawn};
}
