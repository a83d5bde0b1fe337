//! Leak checks with a counting global allocator: a scenario that leaks
//! leaves allocations behind on every run, so after a warm-up run, twenty
//! more runs must not raise the live-allocation count by twenty or more.
//! (One-time lazy allocations — thread-locals, the spare descriptor's
//! bookkeeping — happen in the warm-up.) One test at a time: the counter is
//! process-wide. A dropped runtime's threads have stopped running tasks but
//! may still be exiting (freeing their thread-locals and handles) when the
//! drop returns, so each count is read once they are all gone.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards every call to `System` unchanged; the counter has no
// effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(1, SeqCst);
        // SAFETY: the caller upholds `alloc`'s contract, passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(1, SeqCst);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(1, SeqCst);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The names of this process's runtime threads (workers and blocking-pool
/// threads are named `weft-worker` by default; the scenarios here keep the
/// default, and no other thread of this test is named `weft-…`).
fn runtime_threads() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("weft-"))
        .collect()
}

/// Waits until every runtime thread has exited (a dropped runtime's threads
/// finish exiting just after its drop returns), for at most ten seconds.
fn settle() {
    let give_up = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = runtime_threads();
        if left.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < give_up,
            "runtime threads still running ten seconds after their runtime was dropped: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Runs `scenario` once to warm up, then 20 times, and fails if the live
/// allocation count grew by 20 or more over those 20 runs.
fn assert_no_leak(what: &str, scenario: impl Fn()) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    scenario();
    settle();
    let before = LIVE.load(SeqCst);
    for _ in 0..20 {
        scenario();
    }
    settle();
    let grown = LIVE.load(SeqCst) - before;
    assert!(
        grown < 20,
        "{what}: {grown} allocations left behind over 20 runs"
    );
}

fn runtimes() -> [weft::runtime::Runtime; 2] {
    [
        common::rt(),
        weft::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
    ]
}

#[test]
fn a_waker_woken_after_its_runtime_is_gone_leaks_nothing() {
    assert_no_leak("late waker", || {
        for rt in runtimes() {
            let stolen: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
            let (slot, stored) = (Arc::clone(&stolen), Arc::clone(&stolen));
            rt.block_on(async move {
                weft::spawn(std::future::poll_fn(move |cx| {
                    *slot.lock().unwrap() = Some(cx.waker().clone());
                    Poll::<()>::Pending
                }));
                // Until the task has run (no fixed delay: machines are busy).
                while stored.lock().unwrap().is_none() {
                    weft::time::sleep(Duration::from_millis(1)).await;
                }
            });
            drop(rt);
            let waker = stolen.lock().unwrap().take().expect("stored");
            std::thread::spawn(move || waker.wake()).join().unwrap();
        }
    });
}

#[test]
fn dropping_a_runtime_with_pending_tasks_leaks_nothing() {
    assert_no_leak("pending tasks at shutdown", || {
        for rt in runtimes() {
            rt.block_on(async {
                for _ in 0..10 {
                    weft::spawn(std::future::pending::<()>());
                    let (a, b) = weft::net::UnixStream::pair().unwrap();
                    weft::spawn(async move {
                        let _keep = b;
                        let mut buf = [0u8; 4];
                        let _ = weft::io::AsyncReadExt::read(&mut &a, &mut buf).await;
                    });
                    weft::spawn(weft::time::sleep(Duration::from_secs(3600)));
                }
                weft::task::yield_now().await;
            });
        }
    });
}

#[test]
fn aborted_and_finished_coroutines_leak_nothing() {
    assert_no_leak("coroutines", || {
        let rt = common::rt();
        rt.block_on(async {
            let sleeper = weft::coro::spawn(|| weft::coro::sleep(Duration::from_secs(3600)));
            let done = weft::coro::spawn(|| 1);
            let failed = weft::coro::spawn(|| -> u32 { panic!("leak check") });
            weft::task::yield_now().await;
            sleeper.abort();
            assert!(sleeper.await.unwrap_err().is_cancelled());
            assert_eq!(done.await.unwrap(), 1);
            assert!(failed.await.unwrap_err().is_panic());
            // Suspended at runtime drop.
            weft::coro::spawn(|| weft::coro::sleep(Duration::from_secs(3600)));
            weft::task::yield_now().await;
        });
    });
}
