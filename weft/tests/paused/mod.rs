//! Helpers shared by the paused-clock tests: an exact `assert_elapsed!`
//! and paused runtimes. The mock task and the other assertions are
//! tokio-test's (`tokio_test::{task, assert_pending, ...}`), used as tokio's
//! tests use them.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

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
