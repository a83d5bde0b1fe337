//! `weft::sync::Mutex`, following tokio's tests/sync_mutex.rs and
//! tests/sync_mutex_owned.rs (renamed; the async tests run under `within`),
//! plus FIFO order, the mapped guards, the panic location of
//! `blocking_lock` (tokio's sync_panic.rs) and the coop budget.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use common::{rt, within};
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready};
use weft::sync::{
    MappedMutexGuard, Mutex, MutexGuard, OwnedMappedMutexGuard, OwnedMutexGuard, TryLockError,
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
fn straight_execution() {
    let l = Mutex::new(100);

    {
        let mut t = spawn(l.lock());
        let mut g = assert_ready!(t.poll());
        assert_eq!(&*g, &100);
        *g = 99;
    }
    {
        let mut t = spawn(l.lock());
        let mut g = assert_ready!(t.poll());
        assert_eq!(&*g, &99);
        *g = 98;
    }
    {
        let mut t = spawn(l.lock());
        let g = assert_ready!(t.poll());
        assert_eq!(&*g, &98);
    }
}

#[test]
fn readiness() {
    let l1 = Arc::new(Mutex::new(100));
    let l2 = Arc::clone(&l1);
    let mut t1 = spawn(l1.lock());
    let mut t2 = spawn(l2.lock());

    let g = assert_ready!(t1.poll());

    // We can't now acquire the lease since it's already held in g
    assert_pending!(t2.poll());

    // But once g unlocks, we can acquire it
    drop(g);
    assert!(t2.is_woken());
    let _t2 = assert_ready!(t2.poll());
}

/// Ensure a mutex is unlocked if a future holding the lock
/// is aborted prematurely.
#[test]
fn aborted_future_1() {
    run(async {
        use weft::time::{interval, timeout};

        let m1: Arc<Mutex<usize>> = Arc::new(Mutex::new(0));
        {
            let m2 = m1.clone();
            // Try to lock mutex in a future that is aborted prematurely
            timeout(Duration::from_millis(1u64), async move {
                let iv = interval(Duration::from_millis(1000));
                weft::pin!(iv);
                let _g = m2.lock().await;
                iv.as_mut().tick().await;
                iv.as_mut().tick().await;
            })
            .await
            .unwrap_err();
        }
        // This should succeed as there is no lock left for the mutex.
        timeout(Duration::from_millis(1u64), async move {
            let _g = m1.lock().await;
        })
        .await
        .expect("Mutex is locked");
    })
}

/// This test is similar to `aborted_future_1` but this time the
/// aborted future is waiting for the lock.
#[test]
fn aborted_future_2() {
    run(async {
        use weft::time::timeout;

        let m1: Arc<Mutex<usize>> = Arc::new(Mutex::new(0));
        {
            // Lock mutex
            let _lock = m1.lock().await;
            {
                let m2 = m1.clone();
                // Try to lock mutex in a future that is aborted prematurely
                timeout(Duration::from_millis(1u64), async move {
                    let _g = m2.lock().await;
                })
                .await
                .unwrap_err();
            }
        }
        // This should succeed as there is no lock left for the mutex.
        timeout(Duration::from_millis(1u64), async move {
            let _g = m1.lock().await;
        })
        .await
        .expect("Mutex is locked");
    })
}

#[test]
fn try_lock() {
    let m: Mutex<usize> = Mutex::new(0);
    {
        let g1 = m.try_lock();
        assert!(g1.is_ok());
        let g2 = m.try_lock();
        assert!(g2.is_err());
    }
    let g3 = m.try_lock();
    assert!(g3.is_ok());
}

#[weft::test]
async fn debug_format() {
    let s = "debug";
    let m = Mutex::new(s.to_string());
    assert_eq!(format!("{s:?}"), format!("{:?}", m.lock().await));
}

#[weft::test]
async fn mutex_debug() {
    let s = "data";
    let m = Mutex::new(s.to_string());
    assert_eq!(format!("{m:?}"), r#"Mutex { data: "data" }"#);
    let _guard = m.lock().await;
    assert_eq!(format!("{m:?}"), r#"Mutex { data: <locked> }"#)
}

// ===== tokio's sync_mutex_owned.rs =====

#[test]
fn owned_straight_execution() {
    let l = Arc::new(Mutex::new(100));

    {
        let mut t = spawn(l.clone().lock_owned());
        let mut g = assert_ready!(t.poll());
        assert_eq!(&*g, &100);
        *g = 99;
    }
    {
        let mut t = spawn(l.clone().lock_owned());
        let mut g = assert_ready!(t.poll());
        assert_eq!(&*g, &99);
        *g = 98;
    }
    {
        let mut t = spawn(l.lock_owned());
        let g = assert_ready!(t.poll());
        assert_eq!(&*g, &98);
    }
}

#[test]
fn owned_readiness() {
    let l = Arc::new(Mutex::new(100));
    let mut t1 = spawn(l.clone().lock_owned());
    let mut t2 = spawn(l.lock_owned());

    let g = assert_ready!(t1.poll());

    // We can't now acquire the lease since it's already held in g
    assert_pending!(t2.poll());

    // But once g unlocks, we can acquire it
    drop(g);
    assert!(t2.is_woken());
    assert_ready!(t2.poll());
}

#[test]
fn owned_aborted_future_1() {
    run(async {
        use weft::time::{interval, timeout};

        let m1: Arc<Mutex<usize>> = Arc::new(Mutex::new(0));
        {
            let m2 = m1.clone();
            // Try to lock mutex in a future that is aborted prematurely
            timeout(Duration::from_millis(1u64), async move {
                let iv = interval(Duration::from_millis(1000));
                weft::pin!(iv);
                m2.lock_owned().await;
                iv.as_mut().tick().await;
                iv.as_mut().tick().await;
            })
            .await
            .unwrap_err();
        }
        // This should succeed as there is no lock left for the mutex.
        timeout(Duration::from_millis(1u64), async move {
            m1.lock_owned().await;
        })
        .await
        .expect("Mutex is locked");
    })
}

#[test]
fn owned_aborted_future_2() {
    run(async {
        use weft::time::timeout;

        let m1: Arc<Mutex<usize>> = Arc::new(Mutex::new(0));
        {
            // Lock mutex
            let _lock = m1.clone().lock_owned().await;
            {
                let m2 = m1.clone();
                // Try to lock mutex in a future that is aborted prematurely
                timeout(Duration::from_millis(1u64), async move {
                    m2.lock_owned().await;
                })
                .await
                .unwrap_err();
            }
        }
        // This should succeed as there is no lock left for the mutex.
        timeout(Duration::from_millis(1u64), async move {
            m1.lock_owned().await;
        })
        .await
        .expect("Mutex is locked");
    })
}

#[test]
fn try_lock_owned() {
    let m: Arc<Mutex<usize>> = Arc::new(Mutex::new(0));
    {
        let g1 = m.clone().try_lock_owned();
        assert!(g1.is_ok());
        let g2 = m.clone().try_lock_owned();
        assert!(g2.is_err());
    }
    let g3 = m.try_lock_owned();
    assert!(g3.is_ok());
}

#[weft::test]
async fn owned_debug_format() {
    let s = "debug";
    let m = Arc::new(Mutex::new(s.to_string()));
    assert_eq!(format!("{s:?}"), format!("{:?}", m.lock_owned().await));
}

// ===== weft's own =====

#[test]
fn waiters_get_the_lock_in_fifo_order() {
    let m = Mutex::new(Vec::new());
    let first = m.try_lock().unwrap();
    let mut waiters: Vec<_> = (0..5)
        .map(|i| {
            let m = &m;
            spawn(async move { m.lock().await.push(i) })
        })
        .collect();
    for w in &mut waiters {
        assert_pending!(w.poll());
    }
    drop(first);
    for (i, w) in waiters.iter_mut().enumerate() {
        assert!(w.is_woken(), "waiter {i} is next");
        assert_ready!(w.poll());
    }
    assert_eq!(*m.try_lock().unwrap(), vec![0, 1, 2, 3, 4]);
}

#[test]
fn fifo_holds_across_threads() {
    within(20, || {
        let rt = weft::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(async {
            let m = Arc::new(Mutex::new(0u64));
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let m = m.clone();
                    weft::spawn(async move {
                        for _ in 0..500 {
                            let mut g = m.lock().await;
                            *g += 1;
                            weft::task::yield_now().await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(*m.lock().await, 4000);
        });
    })
}

#[test]
fn mapped_guards_keep_the_lock_until_dropped() {
    let m = Mutex::new((1, (2u16, String::from("a"))));
    let g: MappedMutexGuard<'_, (u16, String)> =
        MutexGuard::map(m.try_lock().unwrap(), |v| &mut v.1);
    assert!(m.try_lock().is_err());
    let mut g = MappedMutexGuard::map(g, |t| &mut t.1);
    g.push('b');
    let g = MappedMutexGuard::try_map(g, |_| None::<&mut u8>).unwrap_err();
    assert_eq!(*g, "ab");
    drop(g);
    assert_eq!(m.try_lock().unwrap().1 .1, "ab");

    let g = m.try_lock().unwrap();
    let g = MutexGuard::try_map(g, |_| None::<&mut u8>).unwrap_err();
    assert!(std::ptr::eq(MutexGuard::mutex(&g), &m));
    drop(g);

    let m = Arc::new(Mutex::new(vec![1, 2, 3]));
    let g = m.clone().try_lock_owned().unwrap();
    assert!(Arc::ptr_eq(OwnedMutexGuard::mutex(&g), &m));
    let mut g: OwnedMappedMutexGuard<Vec<i32>, i32> = OwnedMutexGuard::map(g, |v| &mut v[1]);
    *g = 20;
    let g = OwnedMappedMutexGuard::try_map(g, |_| None::<&mut u8>).unwrap_err();
    assert!(m.try_lock().is_err());
    drop(g);
    assert_eq!(*m.try_lock().unwrap(), vec![1, 20, 3]);
}

#[test]
fn unsized_data_and_conversions() {
    let m: Box<Mutex<[u8]>> = Box::new(Mutex::new([1, 2, 3]));
    assert_eq!(m.try_lock().unwrap().len(), 3);
    let mut m: Mutex<u8> = Mutex::from(7);
    *m.get_mut() += 1;
    assert_eq!(m.into_inner(), 8);
    let m: Mutex<Vec<u8>> = Mutex::default();
    assert!(m.try_lock().unwrap().is_empty());
    assert_eq!(
        TryLockError::to_string(&m_try_lock_err()),
        "operation would block"
    );
}

fn m_try_lock_err() -> TryLockError {
    let m = Mutex::new(());
    let _g = m.try_lock().unwrap();
    m.try_lock().unwrap_err()
}

#[test]
fn const_new_works_in_a_static() {
    static M: Mutex<u32> = Mutex::const_new(5);
    *M.try_lock().unwrap() += 1;
    assert_eq!(*M.try_lock().unwrap(), 6);
}

#[test]
fn blocking_lock_waits_on_a_plain_thread() {
    within(10, || {
        let m = Arc::new(Mutex::new(0));
        let g = m.try_lock().unwrap();
        let thread = std::thread::spawn({
            let m = m.clone();
            move || {
                *m.blocking_lock() += 1;
                *m.clone().blocking_lock_owned() += 1;
            }
        });
        drop(g);
        thread.join().unwrap();
        assert_eq!(*m.try_lock().unwrap(), 2);
    })
}

#[test]
fn blocking_lock_panics_inside_a_runtime_at_the_caller() {
    let result = std::panic::catch_unwind(|| {
        rt().block_on(async {
            let mutex = Mutex::new(5_u32);
            let _g = mutex.blocking_lock();
        })
    });
    let err = result.unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(
        msg.contains("Cannot block the current thread from within a runtime")
            && msg.contains("Mutex::blocking_lock"),
        "{msg}"
    );
}

#[test]
fn an_always_ready_lock_loop_does_not_starve_a_timer() {
    // One task locks an uncontended mutex forever; the 10 ms sleep on the
    // same current-thread runtime must still complete.
    run(async {
        let m = Arc::new(Mutex::new(0u64));
        let spinner = weft::spawn({
            let m = m.clone();
            async move {
                loop {
                    *m.lock().await += 1;
                }
            }
        });
        weft::time::sleep(Duration::from_millis(10)).await;
        spinner.abort();
        assert!(*m.lock().await > 0);
    })
}

#[test]
fn types_have_tokio_s_auto_traits() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    fn unpin<T: Unpin>() {}
    fn send_sync_val<T: Send + Sync>(_: &T) {}
    send::<MutexGuard<'_, u32>>();
    send::<OwnedMutexGuard<u32>>();
    sync::<MutexGuard<'_, u32>>();
    send::<MappedMutexGuard<'_, u32>>();
    send::<OwnedMappedMutexGuard<u32, u8>>();
    unpin::<Mutex<u32>>();
    send::<Mutex<u32>>();
    sync::<Mutex<std::cell::Cell<u32>>>();
    let m = Mutex::new(1);
    send_sync_val(&m.lock());
    let m = Arc::new(Mutex::new(1));
    send_sync_val(&m.lock_owned());
}
