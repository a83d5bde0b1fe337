//! `weft::sync::RwLock`, following tokio's tests/sync_rwlock.rs (renamed;
//! the async tests run under `within`), plus fairness, the owned and
//! mapped guards, `blocking_*` and the panic locations of tokio's
//! sync_panic.rs.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

use common::{rt, within};
use futures_util::future::FutureExt;
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready};
use weft::sync::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};

/// Runs `f` on a current-thread runtime, failing after 10 s.
fn run<F>(f: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send,
{
    within(10, || rt().block_on(f))
}

#[test]
fn into_inner() {
    let rwlock = RwLock::new(42);
    assert_eq!(rwlock.into_inner(), 42);
}

// multiple reads should be Ready
#[test]
fn read_shared() {
    let rwlock = RwLock::new(100);

    let mut t1 = spawn(rwlock.read());
    let _g1 = assert_ready!(t1.poll());
    let mut t2 = spawn(rwlock.read());
    let _g2 = assert_ready!(t2.poll());
}

// When there is an active shared owner, exclusive access should not be possible
#[test]
fn write_shared_pending() {
    let rwlock = RwLock::new(100);
    let mut t1 = spawn(rwlock.read());

    let _g1 = assert_ready!(t1.poll());
    let mut t2 = spawn(rwlock.write());
    assert_pending!(t2.poll());
}

// When there is an active exclusive owner, subsequent exclusive access should not be possible
#[test]
fn read_exclusive_pending() {
    let rwlock = RwLock::new(100);
    let mut t1 = spawn(rwlock.write());

    let _g1 = assert_ready!(t1.poll());
    let mut t2 = spawn(rwlock.read());
    assert_pending!(t2.poll());
}

// If the max shared access is reached and subsequent shared access is pending
// should be made available when one of the shared accesses is dropped
#[test]
fn exhaust_reading() {
    let rwlock = RwLock::with_max_readers(100, 1024);
    let mut reads = Vec::new();
    loop {
        let mut t = spawn(rwlock.read());
        match t.poll() {
            Poll::Ready(guard) => reads.push(guard),
            Poll::Pending => break,
        }
    }

    let mut t1 = spawn(rwlock.read());
    assert_pending!(t1.poll());
    let g2 = reads.pop().unwrap();
    drop(g2);
    assert!(t1.is_woken());
    let _g1 = assert_ready!(t1.poll());
}

#[test]
#[should_panic(expected = "a RwLock may not be created with 0 readers")]
fn zero_max_readers() {
    RwLock::with_max_readers(100, 0);
}

#[test]
#[should_panic(expected = "a RwLock may not be created with 0 readers")]
fn zero_max_readers_const() {
    RwLock::const_with_max_readers(100, 0);
}

// When there is an active exclusive owner, subsequent exclusive access should not be possible
#[test]
fn write_exclusive_pending() {
    let rwlock = RwLock::new(100);
    let mut t1 = spawn(rwlock.write());

    let _g1 = assert_ready!(t1.poll());
    let mut t2 = spawn(rwlock.write());
    assert_pending!(t2.poll());
}

// When there is an active shared owner, exclusive access should be possible after shared is dropped
#[test]
fn write_shared_drop() {
    let rwlock = RwLock::new(100);
    let mut t1 = spawn(rwlock.read());

    let g1 = assert_ready!(t1.poll());
    let mut t2 = spawn(rwlock.write());
    assert_pending!(t2.poll());
    drop(g1);
    assert!(t2.is_woken());
    let _g2 = assert_ready!(t2.poll());
}

// when there is an active shared owner, and exclusive access is triggered,
// subsequent shared access should not be possible as write gathers all the available semaphore permits
#[test]
fn write_read_shared_pending() {
    let rwlock = RwLock::new(100);
    let mut t1 = spawn(rwlock.read());
    let _g1 = assert_ready!(t1.poll());

    let mut t2 = spawn(rwlock.read());
    let _g2 = assert_ready!(t2.poll());

    let mut t3 = spawn(rwlock.write());
    assert_pending!(t3.poll());

    let mut t4 = spawn(rwlock.read());
    assert_pending!(t4.poll());
}

// when there is an active shared owner, and exclusive access is triggered,
// reading should be possible after pending exclusive access is dropped
#[test]
fn write_read_shared_drop_pending() {
    let rwlock = RwLock::new(100);
    let mut t1 = spawn(rwlock.read());
    let _g1 = assert_ready!(t1.poll());

    let mut t2 = spawn(rwlock.write());
    assert_pending!(t2.poll());

    let mut t3 = spawn(rwlock.read());
    assert_pending!(t3.poll());
    drop(t2);

    assert!(t3.is_woken());
    let _t3 = assert_ready!(t3.poll());
}

// Acquire an RwLock nonexclusively by a single task
#[weft::test]
async fn read_uncontested() {
    let rwlock = RwLock::new(100);
    let result = *rwlock.read().await;

    assert_eq!(result, 100);
}

// Acquire an uncontested RwLock in exclusive mode
#[weft::test]
async fn write_uncontested() {
    let rwlock = RwLock::new(100);
    let mut result = rwlock.write().await;
    *result += 50;
    assert_eq!(*result, 150);
}

// RwLocks should be acquired in the order that their Futures are waited upon.
#[weft::test]
async fn write_order() {
    let rwlock = RwLock::<Vec<u32>>::new(vec![]);
    let fut2 = rwlock.write().map(|mut guard| guard.push(2));
    let fut1 = rwlock.write().map(|mut guard| guard.push(1));
    fut1.await;
    fut2.await;

    let g = rwlock.read().await;
    assert_eq!(*g, vec![1, 2]);
}

// A single RwLock is contested by tasks in multiple threads
#[test]
fn multithreaded() {
    use futures_util::stream::{self, StreamExt};
    use weft::sync::Barrier;

    within(30, || {
        let rt = weft::runtime::Builder::new_multi_thread()
            .worker_threads(8)
            .build()
            .unwrap();
        rt.block_on(async {
            let barrier = Arc::new(Barrier::new(5));
            let rwlock = Arc::new(RwLock::<u32>::new(0));
            for add in [2, 3, 5, 7] {
                let rwlock = rwlock.clone();
                let b = barrier.clone();
                weft::spawn(async move {
                    stream::iter(0..1000)
                        .for_each(move |_| {
                            let rwlock = rwlock.clone();
                            async move {
                                let mut guard = rwlock.write().await;
                                *guard += add;
                            }
                        })
                        .await;
                    b.wait().await;
                });
            }

            barrier.wait().await;
            let g = rwlock.read().await;
            assert_eq!(*g, 17_000);
        })
    })
}

#[weft::test]
async fn try_write() {
    let lock = RwLock::new(0);
    let read_guard = lock.read().await;
    assert!(lock.try_write().is_err());
    drop(read_guard);
    assert!(lock.try_write().is_ok());
}

#[test]
fn try_read_try_write() {
    let lock: RwLock<usize> = RwLock::new(15);

    {
        let rg1 = lock.try_read().unwrap();
        assert_eq!(*rg1, 15);

        assert!(lock.try_write().is_err());

        let rg2 = lock.try_read().unwrap();
        assert_eq!(*rg2, 15)
    }

    {
        let mut wg = lock.try_write().unwrap();
        *wg = 1515;

        assert!(lock.try_read().is_err())
    }

    assert_eq!(*lock.try_read().unwrap(), 1515);
}

#[weft::test]
async fn downgrade_map() {
    let lock = RwLock::new(0);
    let write_guard = lock.write().await;
    let mut read_t = spawn(lock.read());

    // We can't create a read when a write exists
    assert_pending!(read_t.poll());

    // During the call to `f`, `read_t` doesn't have access yet.
    let read_guard1 = RwLockWriteGuard::downgrade_map(write_guard, |v| {
        assert_pending!(read_t.poll());
        v
    });

    // After the downgrade, `read_t` got the lock
    let read_guard2 = assert_ready!(read_t.poll());

    // Ensure they're equal, as we return the original value
    assert_eq!(&*read_guard1 as *const _, &*read_guard2 as *const _);
}

#[weft::test]
async fn try_downgrade_map() {
    let lock = RwLock::new(0);
    let write_guard = lock.write().await;
    let mut read_t = spawn(lock.read());

    // We can't create a read when a write exists
    assert_pending!(read_t.poll());

    // During the call to `f`, `read_t` doesn't have access yet.
    let write_guard = RwLockWriteGuard::try_downgrade_map(write_guard, |_| {
        assert_pending!(read_t.poll());
        None::<&()>
    })
    .expect_err("downgrade didn't fail");

    // After `f` returns `None`, `read_t` doesn't have access
    assert_pending!(read_t.poll());

    // After `f` returns `Some`, `read_t` does have access
    let read_guard1 = RwLockWriteGuard::try_downgrade_map(write_guard, |v| Some(v))
        .expect("downgrade didn't succeed");
    let read_guard2 = assert_ready!(read_t.poll());

    // Ensure they're equal, as we return the original value
    assert_eq!(&*read_guard1 as *const _, &*read_guard2 as *const _);
}

// ===== weft's own =====

#[test]
fn a_waiting_writer_holds_back_later_readers_until_it_is_done() {
    let lock = RwLock::new(0);
    let r1 = lock.try_read().unwrap();
    let mut w = spawn(lock.write());
    assert_pending!(w.poll());
    let mut r2 = spawn(lock.read());
    assert_pending!(r2.poll());
    drop(r1);
    assert!(w.is_woken());
    let mut g = assert_ready!(w.poll());
    *g = 1;
    assert!(!r2.is_woken());
    drop(g);
    assert!(r2.is_woken());
    assert_eq!(*assert_ready!(r2.poll()), 1);
}

#[test]
fn downgrade_lets_readers_in_but_not_writers() {
    let lock = RwLock::new(5);
    let g = lock.try_write().unwrap();
    let g = g.downgrade();
    assert_eq!(*lock.try_read().unwrap(), 5);
    assert!(lock.try_write().is_err());
    drop(g);
    assert!(lock.try_write().is_ok());
}

#[test]
fn owned_guards_and_mapping() {
    let lock = Arc::new(RwLock::new((1u8, 2u16)));
    let r = lock.clone().try_read_owned().unwrap();
    assert!(Arc::ptr_eq(OwnedRwLockReadGuard::rwlock(&r), &lock));
    let r = OwnedRwLockReadGuard::map(r, |v| &v.1);
    assert_eq!(*r, 2);
    let r = OwnedRwLockReadGuard::try_map(r, |_| None::<&u8>).unwrap_err();
    assert!(lock.clone().try_write_owned().is_err());
    drop(r);

    let w = lock.clone().try_write_owned().unwrap();
    assert!(Arc::ptr_eq(OwnedRwLockWriteGuard::rwlock(&w), &lock));
    let mut w: OwnedRwLockMappedWriteGuard<(u8, u16), u16> =
        OwnedRwLockWriteGuard::map(w, |v| &mut v.1);
    *w = 20;
    let w = OwnedRwLockMappedWriteGuard::try_map(w, |_| None::<&mut u8>).unwrap_err();
    assert!(Arc::ptr_eq(OwnedRwLockMappedWriteGuard::rwlock(&w), &lock));
    assert!(lock.try_read().is_err());
    drop(w);

    let w = lock.clone().try_write_owned().unwrap();
    let r = OwnedRwLockWriteGuard::downgrade_map(w, |v| &v.0);
    assert_eq!(*r, 1);
    assert_eq!(lock.try_read().unwrap().1, 20);
    drop(r);
    let w = lock.clone().try_write_owned().unwrap();
    let w = OwnedRwLockWriteGuard::try_downgrade_map(w, |_| None::<&u8>).unwrap_err();
    let w = OwnedRwLockWriteGuard::into_mapped(w);
    drop(w);
    let w = lock.clone().try_write_owned().unwrap();
    let r = w.downgrade();
    assert_eq!(r.0, 1);
    drop(r);
    assert!(lock.try_write().is_ok());
}

#[test]
fn mapped_write_guards() {
    let lock = RwLock::new((1u8, (2u16, 3u32)));
    let w = lock.try_write().unwrap();
    let w: RwLockMappedWriteGuard<'_, (u16, u32)> = RwLockWriteGuard::map(w, |v| &mut v.1);
    let mut w = RwLockMappedWriteGuard::map(w, |v| &mut v.1);
    *w = 30;
    let w = RwLockMappedWriteGuard::try_map(w, |_| None::<&mut u8>).unwrap_err();
    assert!(lock.try_read().is_err());
    drop(w);
    let w = RwLockWriteGuard::into_mapped(lock.try_write().unwrap());
    assert!(lock.try_read().is_err());
    drop(w);
    let w = RwLockWriteGuard::try_map(lock.try_write().unwrap(), |v| Some(&mut v.0)).unwrap();
    drop(w);
    let r = RwLockReadGuard::map(lock.try_read().unwrap(), |v| &v.1 .1);
    assert_eq!(*r, 30);
    let r = RwLockReadGuard::try_map(r, |_| None::<&u8>).unwrap_err();
    drop(r);
    assert!(lock.try_write().is_ok());
}

#[test]
fn with_max_readers_limits_readers() {
    let lock = RwLock::with_max_readers(0, 2);
    let a = lock.try_read().unwrap();
    let b = lock.try_read().unwrap();
    assert!(lock.try_read().is_err());
    drop((a, b));
    assert!(lock.try_write().is_ok());
}

#[test]
fn debug_and_conversions() {
    let lock = RwLock::from(3);
    assert_eq!(format!("{lock:?}"), "RwLock { data: 3 }");
    let g = lock.try_write().unwrap();
    assert_eq!(format!("{lock:?}"), "RwLock { data: <locked> }");
    assert_eq!(format!("{g:?} {g}"), "3 3");
    drop(g);
    let mut lock: RwLock<Vec<u8>> = RwLock::default();
    lock.get_mut().push(1);
    assert_eq!(lock.into_inner(), vec![1]);
    static STATIC: RwLock<u8> = RwLock::const_new(1);
    static BOUNDED: RwLock<u8> = RwLock::const_with_max_readers(1, 1);
    assert_eq!(*STATIC.try_read().unwrap(), 1);
    let r = BOUNDED.try_read().unwrap();
    assert!(BOUNDED.try_read().is_err());
    drop(r);
}

#[test]
fn blocking_read_and_write_on_a_plain_thread() {
    within(10, || {
        let lock = Arc::new(RwLock::new(0));
        let r = lock.try_read().unwrap();
        let thread = std::thread::spawn({
            let lock = lock.clone();
            move || {
                *lock.blocking_write() += 1;
                *lock.blocking_read()
            }
        });
        drop(r);
        assert_eq!(thread.join().unwrap(), 1);
    })
}

fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let err = std::panic::catch_unwind(f).unwrap_err();
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn blocking_read_and_write_panic_inside_a_runtime() {
    let msg = panic_message(|| {
        rt().block_on(async {
            let lock = RwLock::<u8>::new(0);
            let _ = lock.blocking_read();
        })
    });
    assert!(msg.contains("Cannot block the current thread from within a runtime"));
    let msg = panic_message(|| {
        rt().block_on(async {
            let lock = RwLock::<u8>::new(0);
            let _ = lock.blocking_write();
        })
    });
    assert!(msg.contains("RwLock::blocking_write"));
}

#[test]
#[should_panic(expected = "a RwLock may not be created with more than")]
fn too_many_max_readers() {
    let _ = RwLock::<u8>::with_max_readers(0, (u32::MAX >> 3) + 1);
}

#[test]
fn an_always_ready_read_loop_does_not_starve_a_timer() {
    run(async {
        let lock = Arc::new(RwLock::new(0u64));
        let spinner = weft::spawn({
            let lock = lock.clone();
            async move {
                loop {
                    *lock.write().await += 1;
                    drop(lock.read().await);
                }
            }
        });
        weft::time::sleep(std::time::Duration::from_millis(10)).await;
        spinner.abort();
    })
}

#[test]
fn bounds() {
    fn check_send<T: Send>() {}
    fn check_sync<T: Sync>() {}
    fn check_unpin<T: Unpin>() {}
    fn check_send_sync_val<T: Send + Sync>(_t: T) {}

    check_send::<RwLock<u32>>();
    check_sync::<RwLock<u32>>();
    check_unpin::<RwLock<u32>>();

    check_send::<RwLockReadGuard<'_, u32>>();
    check_sync::<RwLockReadGuard<'_, u32>>();
    check_unpin::<RwLockReadGuard<'_, u32>>();

    check_send::<OwnedRwLockReadGuard<u32, i32>>();
    check_sync::<OwnedRwLockReadGuard<u32, i32>>();
    check_unpin::<OwnedRwLockReadGuard<u32, i32>>();

    check_send::<RwLockWriteGuard<'_, u32>>();
    check_sync::<RwLockWriteGuard<'_, u32>>();
    check_unpin::<RwLockWriteGuard<'_, u32>>();

    check_send::<RwLockMappedWriteGuard<'_, u32>>();
    check_sync::<RwLockMappedWriteGuard<'_, u32>>();
    check_unpin::<RwLockMappedWriteGuard<'_, u32>>();

    check_send::<OwnedRwLockWriteGuard<u32>>();
    check_sync::<OwnedRwLockWriteGuard<u32>>();
    check_unpin::<OwnedRwLockWriteGuard<u32>>();

    check_send::<OwnedRwLockMappedWriteGuard<u32, i32>>();
    check_sync::<OwnedRwLockMappedWriteGuard<u32, i32>>();
    check_unpin::<OwnedRwLockMappedWriteGuard<u32, i32>>();

    let rwlock = Arc::new(RwLock::new(0));
    check_send_sync_val(rwlock.read());
    check_send_sync_val(Arc::clone(&rwlock).read_owned());
    check_send_sync_val(rwlock.write());
    check_send_sync_val(Arc::clone(&rwlock).write_owned());
}
