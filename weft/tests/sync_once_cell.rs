//! `weft::sync::OnceCell`, following tokio's tests/sync_once_cell.rs
//! (renamed). tokio drives its `get_or_init` races with the paused clock
//! (`start_paused`, `time::advance`); here the same races are ordered by
//! `Notify` signals instead, so they do not depend on timing either.

mod common;

use std::future::Future;
use std::mem;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use common::{rt, within};
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready};
use weft::sync::{Notify, OnceCell, SetError};

/// Runs `f` on a current-thread runtime, failing after 10 s.
fn run<F>(f: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send,
{
    within(10, || rt().block_on(f))
}

struct Foo {
    value: Arc<AtomicU32>,
}

impl Drop for Foo {
    fn drop(&mut self) {
        self.value.fetch_add(1, Ordering::Release);
    }
}

impl From<Arc<AtomicU32>> for Foo {
    fn from(value: Arc<AtomicU32>) -> Self {
        Foo { value }
    }
}

#[test]
fn drop_cell() {
    let num_drops = Arc::new(AtomicU32::new(0));
    {
        let once_cell = OnceCell::new();
        let prev = once_cell.set(Foo::from(num_drops.clone()));
        assert!(prev.is_ok())
    }
    assert!(num_drops.load(Ordering::Acquire) == 1);
}

#[test]
fn drop_cell_new_with() {
    let num_drops = Arc::new(AtomicU32::new(0));
    {
        let once_cell = OnceCell::new_with(Some(Foo::from(num_drops.clone())));
        assert!(once_cell.initialized());
    }
    assert!(num_drops.load(Ordering::Acquire) == 1);
}

#[test]
fn drop_into_inner() {
    let num_drops = Arc::new(AtomicU32::new(0));

    let once_cell = OnceCell::new();
    assert!(once_cell.set(Foo::from(num_drops.clone())).is_ok());
    let fooer = once_cell.into_inner();
    let count = num_drops.load(Ordering::Acquire);
    assert!(count == 0);
    drop(fooer);
    let count = num_drops.load(Ordering::Acquire);
    assert!(count == 1);
}

#[test]
fn drop_into_inner_new_with() {
    let num_drops = Arc::new(AtomicU32::new(0));
    let fooer = Foo::from(num_drops.clone());

    let once_cell = OnceCell::new_with(Some(fooer));
    let fooer = once_cell.into_inner();
    let count = num_drops.load(Ordering::Acquire);
    assert!(count == 0);
    mem::drop(fooer);
    let count = num_drops.load(Ordering::Acquire);
    assert!(count == 1);
}

#[test]
fn from() {
    let cell = OnceCell::from(2);
    assert_eq!(*cell.get().unwrap(), 2);
}

async fn func1() -> u32 {
    5
}

async fn func_err() -> Result<u32, ()> {
    Err(())
}

async fn func_ok() -> Result<u32, ()> {
    Ok(10)
}

#[test]
fn get_or_init() {
    static ONCE: OnceCell<u32> = OnceCell::const_new();
    static GO: Notify = Notify::const_new();

    run(async {
        // The second initializer would wait for `GO`, but the first one
        // finishes first and the second reads its value.
        let handle1 = weft::spawn(async { ONCE.get_or_init(func1).await });
        let handle2 = weft::spawn(async {
            ONCE.get_or_init(|| async {
                GO.notified().await;
                10
            })
            .await
        });

        let result1 = handle1.await.unwrap();
        // (Had the second run first, it would now finish with 10 and the
        // assertions below would fail rather than hang.)
        GO.notify_one();
        let result2 = handle2.await.unwrap();

        assert_eq!(*result1, 5);
        assert_eq!(*result2, 5);
    });
}

#[test]
fn get_or_init_panic() {
    static ONCE: OnceCell<u32> = OnceCell::const_new();

    run(async {
        // The first initializer panics: its permit goes to the second,
        // which initializes the cell.
        let handle1 = weft::spawn(async {
            ONCE.get_or_init(|| async {
                weft::task::yield_now().await;
                panic!("initializer panicked")
            })
            .await
        });
        let handle2 = weft::spawn(async { ONCE.get_or_init(func1).await });

        assert!(handle1.await.unwrap_err().is_panic());
        let result2 = handle2.await.unwrap();
        assert_eq!(*result2, 5);
    });
}

#[test]
fn set_and_get() {
    static ONCE: OnceCell<u32> = OnceCell::const_new();

    run(async {
        let _ = weft::spawn(async { ONCE.set(5) }).await;
        let value = ONCE.get().unwrap();
        assert_eq!(*value, 5);
    });
}

#[test]
fn get_uninit() {
    static ONCE: OnceCell<u32> = OnceCell::const_new();
    let uninit = ONCE.get();
    assert!(uninit.is_none());
}

#[test]
fn set_twice() {
    static ONCE: OnceCell<u32> = OnceCell::const_new();

    let first = ONCE.set(5);
    assert_eq!(first, Ok(()));
    let second = ONCE.set(6);
    assert!(second.err().unwrap().is_already_init_err());
}

#[test]
fn set_while_initializing() {
    static ONCE: OnceCell<u32> = OnceCell::const_new();
    static STARTED: Notify = Notify::const_new();
    static GO: Notify = Notify::const_new();

    run(async {
        let handle1 = weft::spawn(async {
            ONCE.get_or_init(|| async {
                STARTED.notify_one();
                GO.notified().await;
                5
            })
            .await
        });
        let handle2 = weft::spawn(async {
            STARTED.notified().await;
            let result = ONCE.set(10);
            GO.notify_one();
            result
        });

        let result1 = handle1.await.unwrap();
        let result2: Result<(), SetError<u32>> = handle2.await.unwrap();

        assert_eq!(*result1, 5);
        assert!(result2.err().unwrap().is_initializing_err());
    });
}

#[test]
fn get_or_try_init() {
    static ONCE: OnceCell<u32> = OnceCell::const_new();

    run(async {
        let handle1 = weft::spawn(async { ONCE.get_or_try_init(func_err).await });
        let handle2 = weft::spawn(async { ONCE.get_or_try_init(func_ok).await });

        let result1 = handle1.await.unwrap();
        assert!(result1.is_err());

        let result2 = handle2.await.unwrap();
        assert_eq!(*result2.unwrap(), 10);
    });
}

// ===== weft's own =====

#[test]
fn a_cancelled_initializer_hands_over_to_the_next_waiter() {
    let cell = OnceCell::new();
    let go = Notify::new();
    let mut first = spawn(cell.get_or_init(|| async {
        go.notified().await;
        1
    }));
    let mut second = spawn(cell.get_or_init(|| async { 2 }));
    assert_pending!(first.poll());
    assert_pending!(second.poll());
    drop(first);
    assert!(second.is_woken());
    assert_eq!(*assert_ready!(second.poll()), 2);
    assert_eq!(cell.get(), Some(&2));
}

#[test]
fn waiters_read_the_value_once_it_is_set() {
    let cell = OnceCell::new();
    let go = Notify::new();
    let mut init = spawn(cell.get_or_init(|| async {
        go.notified().await;
        7
    }));
    assert_pending!(init.poll());
    let mut waiters: Vec<_> = (0..40)
        .map(|i| spawn(cell.get_or_init(move || async move { i })))
        .collect();
    for w in &mut waiters {
        assert_pending!(w.poll());
    }
    go.notify_one();
    assert_eq!(*assert_ready!(init.poll()), 7);
    for w in &mut waiters {
        assert!(w.is_woken());
        assert_eq!(*assert_ready!(w.poll()), 7);
    }
}

#[test]
fn mutable_access_take_and_traits() {
    let mut cell = OnceCell::new();
    assert_eq!(cell.get_mut(), None);
    cell.set(String::from("a")).unwrap();
    cell.get_mut().unwrap().push('b');
    let clone = cell.clone();
    assert_eq!(clone, cell);
    assert_eq!(format!("{cell:?}"), r#"OnceCell { value: Some("ab") }"#);
    assert_eq!(cell.take().as_deref(), Some("ab"));
    assert!(!cell.initialized());
    cell.set(String::from("c")).unwrap();
    assert_eq!(cell.get().map(String::as_str), Some("c"));
    let err = cell.set(String::from("d")).unwrap_err();
    assert_eq!(err.to_string(), "AlreadyInitializedError");
    assert!(!err.is_initializing_err());
    static WITH: OnceCell<u8> = OnceCell::const_new_with(1);
    assert_eq!(WITH.get(), Some(&1));
    fn send_sync<T: Send + Sync>() {}
    send_sync::<OnceCell<u8>>();
}
