//! For tests converted from tokio's: [`bounded`], `#[tokio::test]` with a
//! time bound, and a hand-polled task ([`spawn`]), as tokio-test's
//! `task::spawn`: tests poll a future step by step and check whether it was
//! woken in between. Included with `#[path = "common/harness.rs"] mod
//! harness;` next to `mod common;`.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Runs the future `make` returns on a current-thread runtime, failing the
/// test if it has not finished within 30 s (`common::within`): what
/// `#[weft::test]` does, bounded in time.
pub fn bounded<F>(make: impl FnOnce() -> F + Send + 'static)
where
    F: Future,
    F::Output: Send + 'static,
{
    crate::common::within(30, move || crate::common::rt().block_on(make()));
}

#[derive(Default)]
struct Flag {
    woken: AtomicBool,
    wakes: AtomicUsize,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// A future polled by hand with a waker that records wakes.
pub struct Spawn<F> {
    future: Pin<Box<F>>,
    flag: Arc<Flag>,
    waker: Waker,
}

/// Wraps `future` to be polled by hand (tokio-test's `task::spawn`).
pub fn spawn<F: Future>(future: F) -> Spawn<F> {
    let flag = Arc::new(Flag::default());
    Spawn {
        future: Box::pin(future),
        waker: Waker::from(flag.clone()),
        flag,
    }
}

impl<F: Future> Spawn<F> {
    /// Polls once; clears the "woken" flag first.
    pub fn poll(&mut self) -> Poll<F::Output> {
        self.flag.woken.store(false, Ordering::SeqCst);
        let mut cx = Context::from_waker(&self.waker);
        self.future.as_mut().poll(&mut cx)
    }

    /// Whether the waker was woken since the last poll began.
    pub fn is_woken(&self) -> bool {
        self.flag.woken.load(Ordering::SeqCst)
    }

    /// How many times the waker was woken in all.
    pub fn wake_count(&self) -> usize {
        self.flag.wakes.load(Ordering::SeqCst)
    }
}

/// The value of a `Ready` poll; panics on `Pending` (tokio-test's
/// `assert_ready!`).
#[track_caller]
pub fn ready<T>(poll: Poll<T>) -> T {
    match poll {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("expected Ready, got Pending"),
    }
}

/// Panics unless `poll` is `Pending` (tokio-test's `assert_pending!`).
#[track_caller]
pub fn pending<T>(poll: Poll<T>) {
    assert!(poll.is_pending(), "expected Pending, got Ready");
}
