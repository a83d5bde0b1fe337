//! `weft::sync::SetOnce`, following tokio's tests/sync_set_once.rs
//! (renamed; the async tests run under `within`), plus waiters woken by a
//! set from another thread and a cancelled wait.

mod common;

use std::future::Future;
use std::sync::{
    atomic::{AtomicU32, Ordering},
    Arc,
};

use common::{rt, within};
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready};
use weft::sync::{SetOnce, SetOnceError};

/// Runs `f` on a current-thread runtime, failing after 10 s.
fn run<F>(f: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send,
{
    within(10, || rt().block_on(f))
}

#[derive(Clone)]
struct DropCounter {
    drops: Arc<AtomicU32>,
}

impl DropCounter {
    fn new() -> Self {
        DropCounter {
            drops: Arc::new(AtomicU32::new(0)),
        }
    }

    fn assert_num_drops(&self, value: u32) {
        assert_eq!(value, self.drops.load(Ordering::Relaxed));
    }
}

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn drop_cell() {
    let fooer = DropCounter::new();
    let fooer_cl = fooer.clone();

    {
        let once_cell = SetOnce::new();
        let prev = once_cell.set(fooer_cl);
        assert!(prev.is_ok())
    }

    fooer.assert_num_drops(1);
}

#[test]
fn drop_cell_new_with() {
    let fooer = DropCounter::new();

    {
        let once_cell = SetOnce::new_with(Some(fooer.clone()));
        assert!(once_cell.initialized());
    }

    fooer.assert_num_drops(1);
}

#[test]
fn drop_into_inner() {
    let fooer = DropCounter::new();

    let once_cell = SetOnce::new();
    assert!(once_cell.set(fooer.clone()).is_ok());
    let val = once_cell.into_inner();
    fooer.assert_num_drops(0);
    drop(val);
    fooer.assert_num_drops(1);
}

#[test]
fn drop_into_inner_new_with() {
    let fooer = DropCounter::new();

    let once_cell = SetOnce::new_with(Some(fooer.clone()));
    let val = once_cell.into_inner();
    fooer.assert_num_drops(0);
    drop(val);
    fooer.assert_num_drops(1);
}

#[test]
fn from() {
    let cell = SetOnce::from(2);
    assert_eq!(*cell.get().unwrap(), 2);
}

#[test]
fn set_and_get() {
    static ONCE: SetOnce<u32> = SetOnce::const_new();

    ONCE.set(5).unwrap();
    let value = ONCE.get().unwrap();
    assert_eq!(*value, 5);
}

#[test]
fn set_and_wait() {
    run(async {
        static ONCE: SetOnce<u32> = SetOnce::const_new();

        weft::spawn(async { ONCE.set(5) });

        let value = ONCE.wait().await;
        assert_eq!(*value, 5);
    })
}

#[test]
fn set_and_wait_multiple_threads() {
    static ONCE: SetOnce<u32> = SetOnce::const_new();

    let res1 = std::thread::spawn(|| ONCE.set(4));

    let res2 = std::thread::spawn(|| ONCE.set(3));

    let result_first = res1.join().unwrap().is_err();
    let result_two = res2.join().unwrap().is_err();

    assert!(result_first != result_two);
}

#[test]
fn set_and_wait_threads() {
    run(async {
        static ONCE: SetOnce<u32> = SetOnce::const_new();

        let thread = std::thread::spawn(|| {
            ONCE.set(4).unwrap();
        });

        let value = ONCE.wait().await;
        thread.join().unwrap();
        assert_eq!(*value, 4);
    })
}

#[test]
fn get_uninit() {
    static ONCE: SetOnce<u32> = SetOnce::const_new();
    let uninit = ONCE.get();
    assert!(uninit.is_none());
}

#[test]
fn set_twice() {
    static ONCE: SetOnce<u32> = SetOnce::const_new();

    let first = ONCE.set(5);
    assert_eq!(first, Ok(()));
    let second = ONCE.set(6);
    assert!(second.is_err());
}

#[test]
fn is_none_initializing() {
    static ONCE: SetOnce<u32> = SetOnce::const_new();

    assert_eq!(ONCE.get(), None);

    ONCE.set(20).unwrap();

    assert!(ONCE.set(10).is_err());
}

#[test]
fn is_some_initializing() {
    run(async {
        static ONCE: SetOnce<u32> = SetOnce::const_new();

        weft::spawn(async { ONCE.set(20) });

        assert_eq!(*ONCE.wait().await, 20);
    })
}

#[test]
fn into_inner_int_empty_setonce() {
    let once = SetOnce::<u32>::new();

    let val = once.into_inner();

    assert!(val.is_none());
}

// ===== weft's own =====

#[test]
fn every_waiter_is_woken_by_the_set_and_a_dropped_wait_is_harmless() {
    let once = SetOnce::new();
    let mut waiters: Vec<_> = (0..40).map(|_| spawn(once.wait())).collect();
    for w in &mut waiters {
        assert_pending!(w.poll());
    }
    let cancelled = waiters.pop().unwrap();
    drop(cancelled);
    once.set(7u8).unwrap();
    for w in &mut waiters {
        assert!(w.is_woken());
        assert_eq!(*assert_ready!(w.poll()), 7);
    }
    assert_eq!(once.set(8).unwrap_err(), SetOnceError(8));
    assert_eq!(SetOnceError(8).to_string(), "SetOnceError");
}

#[test]
fn traits_match_tokio() {
    let a = SetOnce::new_with(Some(3));
    let b = a.clone();
    assert_eq!(a, b);
    assert_eq!(format!("{a:?}"), "SetOnce { value: Some(3) }");
    assert_ne!(a, SetOnce::default());
    static CONST: SetOnce<u8> = SetOnce::const_new_with(1);
    assert_eq!(CONST.get(), Some(&1));
    fn send_sync<T: Send + Sync>() {}
    send_sync::<SetOnce<u8>>();
}

#[test]
fn waiters_on_several_threads_see_the_value() {
    within(20, || {
        let rt = weft::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .build()
            .unwrap();
        for _ in 0..50 {
            let once = Arc::new(SetOnce::new());
            rt.block_on(async {
                let tasks: Vec<_> = (0..8)
                    .map(|_| {
                        let once = once.clone();
                        weft::spawn(async move { *once.wait().await })
                    })
                    .collect();
                let setter = std::thread::spawn({
                    let once = once.clone();
                    move || once.set(9u32).unwrap()
                });
                for t in tasks {
                    assert_eq!(t.await.unwrap(), 9);
                }
                setter.join().unwrap();
            });
        }
    })
}
