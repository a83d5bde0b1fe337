//! The paused clock and work off the loop: the paused-clock tests of
//! tokio's tests/task_blocking.rs, converted by renaming (each on a
//! current-thread runtime and on multi-thread ones with one and two
//! workers), plus weft's: a `spawn_blocking` job or a `block_in_place` body
//! in flight holds auto-advance back, checked after the loop has looked.

mod common;
#[macro_use]
mod paused;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::within;
use paused::{driver_turns, each_flavour, ms, paused_rt, wait_for_driver_turns};
use weft::task;
use weft::time::{self, Instant};

// ---- tokio's task_blocking.rs (the paused-clock ones) ----
// tokio's also check that the test took under 10 s of real time; here
// `within` bounds each run instead (a runtime that is not woken never
// finishes: its clock does not move).

#[test]
fn blocking_when_paused() {
    each_flavour(true, || async {
        // Do not auto-advance time when we have started a blocking task that has
        // not yet finished.
        time::timeout(
            Duration::from_secs(3),
            task::spawn_blocking(|| thread::sleep(Duration::from_millis(1))),
        )
        .await
        .expect("timeout should not trigger")
        .expect("blocking task should finish");

        // Really: Do not auto-advance time, even if the timeout is short and the
        // blocking task runs for longer than that. It doesn't matter: weft time
        // is paused; system time is not.
        time::timeout(
            Duration::from_millis(1),
            task::spawn_blocking(|| thread::sleep(Duration::from_millis(50))),
        )
        .await
        .expect("timeout should not trigger")
        .expect("blocking task should finish");
    });
}

#[test]
fn blocking_task_wakes_paused_runtime() {
    each_flavour(true, || async {
        time::timeout(
            Duration::from_secs(15),
            task::spawn_blocking(|| thread::sleep(Duration::from_millis(1))),
        )
        .await
        .expect("timeout should not trigger")
        .expect("blocking task should finish");
    });
}

#[test]
fn unawaited_blocking_task_wakes_paused_runtime() {
    each_flavour(true, || async {
        // When this task finishes, time should auto-advance, even though the
        // JoinHandle has not been awaited yet.
        let a = task::spawn_blocking(|| {
            thread::sleep(Duration::from_millis(1));
        });
        time::sleep(Duration::from_secs(15)).await;
        a.await.expect("blocking task should finish");
    });
}

#[test]
fn panicking_blocking_task_wakes_paused_runtime() {
    each_flavour(true, || async {
        let result = time::timeout(
            Duration::from_secs(15),
            task::spawn_blocking(|| {
                thread::sleep(Duration::from_millis(1));
                panic!("blocking task panicked");
            }),
        )
        .await
        .expect("timeout should not trigger");
        assert!(result.is_err(), "blocking task should have panicked");
    });
}

// ---- weft's own ----

/// A job in flight holds auto-advance back: it returns only after the loop
/// went idle with it running (two driver turns: the zero-timeout look,
/// then the blocking wait instead of a jump), and the 1 ms timeout around
/// it never fires; the clock has not moved.
#[test]
fn a_job_in_flight_holds_auto_advance_back() {
    each_flavour(true, || async {
        let start = Instant::now();
        let turns = driver_turns();
        let handle = weft::runtime::Handle::current();
        let job = task::spawn_blocking(move || wait_for_driver_turns(&handle, turns + 2));
        time::timeout(ms(1), job)
            .await
            .expect("the clock moved while a job was in flight")
            .unwrap();
        assert_eq!(start.elapsed(), Duration::ZERO);
        // Once it is done, auto-advance goes on.
        time::sleep(ms(1)).await;
        assert_eq!(start.elapsed(), ms(1));
    });
}

/// File-system calls run as jobs on the pool too: the clock waits for them.
#[test]
fn file_system_calls_hold_auto_advance_back() {
    each_flavour(true, || async {
        let start = Instant::now();
        let dir = std::env::temp_dir();
        let read = time::timeout(ms(1), weft::fs::read_dir(dir))
            .await
            .expect("the clock moved during a file-system call");
        assert!(read.is_ok());
        assert_eq!(start.elapsed(), Duration::ZERO);
    });
}

/// On the multi-thread runtime, a task inside `block_in_place` holds
/// auto-advance back: the worker's core goes to a stand-in thread, which
/// may sleep, but the task is still running. A ticker sleeping 1 ms at a
/// time does not move meanwhile.
#[test]
fn block_in_place_holds_auto_advance_back() {
    for workers in [1, 2] {
        within(30, move || {
            paused_rt(workers).block_on(async {
                let ticks = Arc::new(AtomicUsize::new(0));
                let ticker = {
                    let ticks = Arc::clone(&ticks);
                    weft::spawn(async move {
                        for _ in 0..50 {
                            time::sleep(ms(1)).await;
                            ticks.fetch_add(1, SeqCst);
                        }
                    })
                };
                let blocker = {
                    let ticks = Arc::clone(&ticks);
                    weft::spawn(async move {
                        let start = Instant::now();
                        let seen = ticks.load(SeqCst);
                        let turns = driver_turns();
                        let handle = weft::runtime::Handle::current();
                        task::block_in_place(|| wait_for_driver_turns(&handle, turns + 2));
                        // Still on the same virtual instant, after the
                        // rest of the poll too.
                        assert_eq!(Instant::now(), start);
                        assert_eq!(ticks.load(SeqCst), seen);
                        time::sleep(ms(3)).await;
                        assert_eq!(start.elapsed(), ms(3));
                    })
                };
                blocker.await.unwrap();
                ticker.await.unwrap();
                assert_eq!(ticks.load(SeqCst), 50);
            })
        });
    }
}
