//! `weft::sync::Semaphore`, following tokio's tests/sync_semaphore.rs and
//! tests/sync_semaphore_owned.rs (renamed; the async tests run under
//! `within`), plus FIFO order, cancellation and the coop budget.

mod common;

use std::future::Future;
use std::sync::Arc;

use common::{rt, within};
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready_err, assert_ready_ok};
use weft::sync::{Semaphore, TryAcquireError};

/// Runs `f` on a current-thread runtime, failing after 10 s.
fn run<F>(f: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send,
{
    within(10, || rt().block_on(f))
}

#[test]
fn no_permits() {
    // this should not panic
    Semaphore::new(0);
}

#[test]
fn try_acquire() {
    let sem = Semaphore::new(1);
    {
        let p1 = sem.try_acquire();
        assert!(p1.is_ok());
        let p2 = sem.try_acquire();
        assert!(p2.is_err());
    }
    let p3 = sem.try_acquire();
    assert!(p3.is_ok());
}

#[test]
fn acquire() {
    run(async {
        let sem = Arc::new(Semaphore::new(1));
        let p1 = sem.try_acquire().unwrap();
        let sem_clone = sem.clone();
        let j = weft::spawn(async move {
            let _p2 = sem_clone.acquire().await;
        });
        drop(p1);
        j.await.unwrap();
    })
}

#[test]
fn add_permits() {
    run(async {
        let sem = Arc::new(Semaphore::new(0));
        let sem_clone = sem.clone();
        let j = weft::spawn(async move {
            let _p2 = sem_clone.acquire().await;
        });
        sem.add_permits(1);
        j.await.unwrap();
    })
}

#[test]
fn add_permits_open() {
    for size in 0..4 {
        for add in 0..4 {
            let sem = Arc::new(Semaphore::new(size));
            sem.add_permits(add);
            assert_eq!(sem.available_permits(), size + add);
            assert!(!sem.is_closed());
        }
    }
}

#[test]
fn add_permits_closed() {
    for size in 0..4 {
        for add in 0..4 {
            let sem = Arc::new(Semaphore::new(size));
            sem.close();
            sem.add_permits(add);
            assert_eq!(sem.available_permits(), size + add);
            assert!(sem.is_closed());
        }
    }
}

#[test]
fn forget() {
    let sem = Arc::new(Semaphore::new(1));
    {
        let p = sem.try_acquire().unwrap();
        assert_eq!(sem.available_permits(), 0);
        p.forget();
        assert_eq!(sem.available_permits(), 0);
    }
    assert_eq!(sem.available_permits(), 0);
    assert!(sem.try_acquire().is_err());
}

#[test]
fn forget_open() {
    for size in 0..4 {
        for sub in 0..4 {
            let sem = Arc::new(Semaphore::new(size));
            let actual_sub = sem.forget_permits(sub);
            let expected = size.saturating_sub(sub);
            assert_eq!(sem.available_permits(), expected, "case: {size}-{sub}");
            assert_eq!(actual_sub, size - expected);
            assert!(!sem.is_closed());
        }
    }
}

#[test]
fn forget_closed() {
    for size in 0..4 {
        for sub in 0..4 {
            let sem = Arc::new(Semaphore::new(size));
            sem.close();
            let actual_sub = sem.forget_permits(sub);
            let expected = size.saturating_sub(sub);
            assert_eq!(sem.available_permits(), expected, "case: {size}-{sub}");
            assert_eq!(actual_sub, size - expected);
            assert!(sem.is_closed());
        }
    }
}

#[test]
fn merge() {
    let sem = Arc::new(Semaphore::new(3));
    {
        let mut p1 = sem.try_acquire().unwrap();
        assert_eq!(sem.available_permits(), 2);
        let p2 = sem.try_acquire_many(2).unwrap();
        assert_eq!(sem.available_permits(), 0);
        p1.merge(p2);
        assert_eq!(sem.available_permits(), 0);
    }
    assert_eq!(sem.available_permits(), 3);
}

#[test]
#[should_panic = "merging permits from different semaphore instances"]
fn merge_unrelated_permits() {
    let sem1 = Arc::new(Semaphore::new(3));
    let sem2 = Arc::new(Semaphore::new(3));
    let mut p1 = sem1.try_acquire().unwrap();
    let p2 = sem2.try_acquire().unwrap();
    p1.merge(p2);
}

#[test]
fn split() {
    let sem = Semaphore::new(5);
    let mut p1 = sem.try_acquire_many(3).unwrap();
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(p1.num_permits(), 3);
    let mut p2 = p1.split(1).unwrap();
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(p1.num_permits(), 2);
    assert_eq!(p2.num_permits(), 1);
    let p3 = p1.split(0).unwrap();
    assert_eq!(p3.num_permits(), 0);
    drop(p1);
    assert_eq!(sem.available_permits(), 4);
    let p4 = p2.split(1).unwrap();
    assert_eq!(p2.num_permits(), 0);
    assert_eq!(p4.num_permits(), 1);
    assert!(p2.split(1).is_none());
    drop(p2);
    assert_eq!(sem.available_permits(), 4);
    drop(p3);
    assert_eq!(sem.available_permits(), 4);
    drop(p4);
    assert_eq!(sem.available_permits(), 5);
}

#[test]
fn stress_test() {
    run(async {
        let sem = Arc::new(Semaphore::new(5));
        let mut join_handles = Vec::new();
        for _ in 0..1000 {
            let sem_clone = sem.clone();
            join_handles.push(weft::spawn(async move {
                let _p = sem_clone.acquire().await;
            }));
        }
        for j in join_handles {
            j.await.unwrap();
        }
        // there should be exactly 5 semaphores available now
        let _p1 = sem.try_acquire().unwrap();
        let _p2 = sem.try_acquire().unwrap();
        let _p3 = sem.try_acquire().unwrap();
        let _p4 = sem.try_acquire().unwrap();
        let _p5 = sem.try_acquire().unwrap();
        assert!(sem.try_acquire().is_err());
    })
}

#[test]
fn add_max_amount_permits() {
    let s = weft::sync::Semaphore::new(0);
    s.add_permits(weft::sync::Semaphore::MAX_PERMITS);
    assert_eq!(s.available_permits(), weft::sync::Semaphore::MAX_PERMITS);
}

#[test]
#[should_panic = "would overflow MAX_PERMITS"]
fn add_more_than_max_amount_permits1() {
    let s = weft::sync::Semaphore::new(1);
    s.add_permits(weft::sync::Semaphore::MAX_PERMITS);
}

#[test]
#[should_panic = "would overflow MAX_PERMITS"]
fn add_more_than_max_amount_permits2() {
    let s = Semaphore::new(Semaphore::MAX_PERMITS - 1);
    s.add_permits(1);
    s.add_permits(1);
}

#[test]
#[should_panic = "a semaphore may not have more than MAX_PERMITS permits"]
fn panic_when_exceeds_maxpermits() {
    let _ = Semaphore::new(Semaphore::MAX_PERMITS + 1);
}

#[test]
fn no_panic_at_maxpermits() {
    let _ = Semaphore::new(Semaphore::MAX_PERMITS);
    let s = Semaphore::new(Semaphore::MAX_PERMITS - 1);
    s.add_permits(1);
}

#[test]
fn blocking_acquire() {
    let sem = Semaphore::new(1);
    let permit = sem.blocking_acquire().unwrap();
    assert_eq!(sem.available_permits(), 0);
    drop(permit);
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn blocking_acquire_waits_for_permit() {
    within(10, || {
        let sem = Arc::new(Semaphore::new(0));
        let sem2 = sem.clone();
        let handle = std::thread::spawn(move || {
            // Blocks until a permit becomes available.
            let _permit = sem2.blocking_acquire().unwrap();
        });
        sem.add_permits(1);
        handle.join().unwrap();
    })
}

#[test]
fn blocking_acquire_many() {
    let sem = Semaphore::new(5);
    let permit = sem.blocking_acquire_many(3).unwrap();
    assert_eq!(sem.available_permits(), 2);
    drop(permit);
    assert_eq!(sem.available_permits(), 5);
}

#[test]
fn blocking_acquire_owned() {
    let sem = Arc::new(Semaphore::new(1));
    let permit = sem.clone().blocking_acquire_owned().unwrap();
    assert_eq!(sem.available_permits(), 0);
    drop(permit);
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn blocking_acquire_many_owned() {
    let sem = Arc::new(Semaphore::new(5));
    let permit = sem.clone().blocking_acquire_many_owned(3).unwrap();
    assert_eq!(sem.available_permits(), 2);
    drop(permit);
    assert_eq!(sem.available_permits(), 5);
}

#[test]
fn blocking_acquire_closed() {
    let sem = Arc::new(Semaphore::new(1));
    sem.close();
    assert!(sem.blocking_acquire().is_err());
    assert!(sem.blocking_acquire_many(2).is_err());
    assert!(sem.clone().blocking_acquire_owned().is_err());
    assert!(sem.clone().blocking_acquire_many_owned(2).is_err());
}

#[weft::test]
#[should_panic = "Cannot block the current thread from within a runtime"]
async fn blocking_acquire_in_async_context() {
    let sem = Semaphore::new(1);
    // Calling a blocking method from an async context must panic.
    let _permit = sem.blocking_acquire();
}

#[weft::test]
#[should_panic = "Cannot block the current thread from within a runtime"]
async fn blocking_acquire_many_in_async_context() {
    let sem = Semaphore::new(1);
    let _permit = sem.blocking_acquire_many(1);
}

#[weft::test]
#[should_panic = "Cannot block the current thread from within a runtime"]
async fn blocking_acquire_owned_in_async_context() {
    let sem = Arc::new(Semaphore::new(1));
    let _permit = sem.blocking_acquire_owned();
}

#[weft::test]
#[should_panic = "Cannot block the current thread from within a runtime"]
async fn blocking_acquire_many_owned_in_async_context() {
    let sem = Arc::new(Semaphore::new(1));
    let _permit = sem.blocking_acquire_many_owned(1);
}

// ===== tokio's sync_semaphore_owned.rs =====

#[test]
fn owned_try_acquire() {
    let sem = Arc::new(Semaphore::new(1));
    {
        let p1 = sem.clone().try_acquire_owned();
        assert!(p1.is_ok());
        let p2 = sem.clone().try_acquire_owned();
        assert!(p2.is_err());
    }
    let p3 = sem.try_acquire_owned();
    assert!(p3.is_ok());
}

#[test]
fn owned_try_acquire_many() {
    let sem = Arc::new(Semaphore::new(42));
    {
        let p1 = sem.clone().try_acquire_many_owned(42);
        assert!(p1.is_ok());
        let p2 = sem.clone().try_acquire_owned();
        assert!(p2.is_err());
    }
    let p3 = sem.clone().try_acquire_many_owned(32);
    assert!(p3.is_ok());
    let p4 = sem.clone().try_acquire_many_owned(10);
    assert!(p4.is_ok());
    assert!(sem.try_acquire_owned().is_err());
}

#[test]
fn owned_acquire() {
    run(async {
        let sem = Arc::new(Semaphore::new(1));
        let p1 = sem.clone().try_acquire_owned().unwrap();
        let sem_clone = sem.clone();
        let j = weft::spawn(async move {
            let _p2 = sem_clone.acquire_owned().await;
        });
        drop(p1);
        j.await.unwrap();
    })
}

#[test]
fn owned_acquire_many() {
    run(async {
        let semaphore = Arc::new(Semaphore::new(42));
        let permit32 = semaphore.clone().try_acquire_many_owned(32).unwrap();
        let (sender, receiver) = weft::sync::oneshot::channel();
        let join_handle = weft::spawn(async move {
            let _permit10 = semaphore.clone().acquire_many_owned(10).await.unwrap();
            sender.send(()).unwrap();
            let _permit32 = semaphore.acquire_many_owned(32).await.unwrap();
        });
        receiver.await.unwrap();
        drop(permit32);
        join_handle.await.unwrap();
    })
}

#[test]
fn owned_add_permits() {
    run(async {
        let sem = Arc::new(Semaphore::new(0));
        let sem_clone = sem.clone();
        let j = weft::spawn(async move {
            let _p2 = sem_clone.acquire_owned().await;
        });
        sem.add_permits(1);
        j.await.unwrap();
    })
}

#[test]
fn owned_forget() {
    let sem = Arc::new(Semaphore::new(1));
    {
        let p = sem.clone().try_acquire_owned().unwrap();
        assert_eq!(sem.available_permits(), 0);
        p.forget();
        assert_eq!(sem.available_permits(), 0);
    }
    assert_eq!(sem.available_permits(), 0);
    assert!(sem.try_acquire_owned().is_err());
}

#[test]
fn owned_merge() {
    let sem = Arc::new(Semaphore::new(3));
    {
        let mut p1 = sem.clone().try_acquire_owned().unwrap();
        assert_eq!(sem.available_permits(), 2);
        let p2 = sem.clone().try_acquire_many_owned(2).unwrap();
        assert_eq!(sem.available_permits(), 0);
        p1.merge(p2);
        assert_eq!(sem.available_permits(), 0);
    }
    assert_eq!(sem.available_permits(), 3);
}

#[test]
#[should_panic = "merging permits from different semaphore instances"]
fn owned_merge_unrelated_permits() {
    let sem1 = Arc::new(Semaphore::new(3));
    let sem2 = Arc::new(Semaphore::new(3));
    let mut p1 = sem1.try_acquire_owned().unwrap();
    let p2 = sem2.try_acquire_owned().unwrap();
    p1.merge(p2)
}

#[test]
fn owned_split() {
    let sem = Arc::new(Semaphore::new(5));
    let mut p1 = sem.clone().try_acquire_many_owned(3).unwrap();
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(p1.num_permits(), 3);
    let mut p2 = p1.split(1).unwrap();
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(p1.num_permits(), 2);
    assert_eq!(p2.num_permits(), 1);
    let p3 = p1.split(0).unwrap();
    assert_eq!(p3.num_permits(), 0);
    assert!(Arc::ptr_eq(p3.semaphore(), &sem));
    drop(p1);
    assert_eq!(sem.available_permits(), 4);
    let p4 = p2.split(1).unwrap();
    assert_eq!(p2.num_permits(), 0);
    assert_eq!(p4.num_permits(), 1);
    assert!(p2.split(1).is_none());
    drop(p2);
    assert_eq!(sem.available_permits(), 4);
    drop(p3);
    assert_eq!(sem.available_permits(), 4);
    drop(p4);
    assert_eq!(sem.available_permits(), 5);
}

#[test]
fn owned_stress_test() {
    run(async {
        let sem = Arc::new(Semaphore::new(5));
        let mut join_handles = Vec::new();
        for _ in 0..1000 {
            let sem_clone = sem.clone();
            join_handles.push(weft::spawn(async move {
                let _p = sem_clone.acquire_owned().await;
            }));
        }
        for j in join_handles {
            j.await.unwrap();
        }
        let _p1 = sem.clone().try_acquire_owned().unwrap();
        let _p2 = sem.clone().try_acquire_owned().unwrap();
        let _p3 = sem.clone().try_acquire_owned().unwrap();
        let _p4 = sem.clone().try_acquire_owned().unwrap();
        let _p5 = sem.clone().try_acquire_owned().unwrap();
        assert!(sem.try_acquire_owned().is_err());
    })
}

// ===== weft's own =====

#[test]
fn error_texts_match_tokio() {
    let sem = Semaphore::new(0);
    assert_eq!(
        sem.try_acquire().unwrap_err().to_string(),
        "no permits available"
    );
    sem.close();
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
    assert_eq!(
        sem.try_acquire().unwrap_err().to_string(),
        "semaphore closed"
    );
    let mut acquire = spawn(sem.acquire());
    let err = assert_ready_err!(acquire.poll());
    assert_eq!(err.to_string(), "semaphore closed");
}

#[test]
fn waiters_are_served_in_fifo_order() {
    let sem = Semaphore::new(0);
    let mut waiters: Vec<_> = (0..5).map(|_| spawn(sem.acquire())).collect();
    for w in &mut waiters {
        assert_pending!(w.poll());
    }
    for i in 0..5 {
        sem.add_permits(1);
        for (j, w) in waiters.iter_mut().enumerate().skip(i) {
            assert_eq!(w.is_woken(), j == i, "release {i}: waiter {j}");
        }
        let permit = assert_ready_ok!(waiters[i].poll());
        permit.forget();
    }
}

#[test]
fn a_large_request_at_the_head_holds_back_smaller_ones() {
    let sem = Semaphore::new(1);
    let mut big = spawn(sem.acquire_many(3));
    let mut small = spawn(sem.acquire());
    assert_pending!(big.poll());
    // The one available permit went to `big`: `small` queues behind it.
    assert_eq!(sem.available_permits(), 0);
    assert_pending!(small.poll());
    sem.add_permits(1);
    assert!(!small.is_woken());
    assert_pending!(small.poll());
    sem.add_permits(2);
    assert!(big.is_woken());
    assert!(small.is_woken());
    assert_eq!(assert_ready_ok!(big.poll()).num_permits(), 3);
    assert_ready_ok!(small.poll()).forget();
}

#[test]
fn a_cancelled_partial_acquire_hands_its_permits_to_the_next_waiter() {
    let sem = Semaphore::new(2);
    let mut big = spawn(sem.acquire_many(4));
    let mut small = spawn(sem.acquire_many(2));
    assert_pending!(big.poll());
    assert_pending!(small.poll());
    assert_eq!(sem.available_permits(), 0);
    drop(big);
    assert!(small.is_woken());
    assert_eq!(assert_ready_ok!(small.poll()).num_permits(), 2);
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn a_granted_acquire_dropped_before_its_poll_returns_its_permits() {
    let sem = Semaphore::new(0);
    let mut first = spawn(sem.acquire_many(2));
    let mut second = spawn(sem.acquire());
    assert_pending!(first.poll());
    assert_pending!(second.poll());
    sem.add_permits(2);
    assert!(first.is_woken());
    drop(first);
    assert!(second.is_woken());
    assert_ready_ok!(second.poll()).forget();
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn close_wakes_every_waiter_with_an_error() {
    let sem = Semaphore::new(0);
    let mut waiters: Vec<_> = (0..40).map(|_| spawn(sem.acquire())).collect();
    for w in &mut waiters {
        assert_pending!(w.poll());
    }
    sem.close();
    for w in &mut waiters {
        assert!(w.is_woken());
        assert_ready_err!(w.poll());
    }
}

#[test]
fn releasing_many_permits_wakes_more_waiters_than_one_batch() {
    let sem = Semaphore::new(0);
    let mut waiters: Vec<_> = (0..100).map(|_| spawn(sem.acquire())).collect();
    for w in &mut waiters {
        assert_pending!(w.poll());
    }
    sem.add_permits(150);
    for w in &mut waiters {
        assert!(w.is_woken());
        assert_ready_ok!(w.poll()).forget();
    }
    assert_eq!(sem.available_permits(), 50);
}

#[test]
fn an_always_ready_acquire_loop_does_not_starve_a_timer() {
    run(async {
        let sem = Arc::new(Semaphore::new(1));
        let spinner = weft::spawn({
            let sem = sem.clone();
            async move {
                loop {
                    drop(sem.acquire().await.unwrap());
                }
            }
        });
        weft::time::sleep(std::time::Duration::from_millis(10)).await;
        spinner.abort();
    })
}

#[test]
fn const_new_works_in_a_static() {
    static SEM: Semaphore = Semaphore::const_new(2);
    let p = SEM.try_acquire_many(2).unwrap();
    assert_eq!(SEM.available_permits(), 0);
    drop(p);
    assert_eq!(SEM.available_permits(), 2);
}

#[test]
fn types_are_send_sync_unpin() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn unpin<T: Unpin>() {}
    unpin::<Semaphore>();
    unpin::<weft::sync::SemaphorePermit<'_>>();
    unpin::<weft::sync::OwnedSemaphorePermit>();
    let sem = Semaphore::new(1);
    send_sync(&sem);
    send_sync(&sem.acquire());
    send_sync(&sem.try_acquire().unwrap());
}

/// A waker whose `clone` panics (a hostile or buggy executor).
fn waker_whose_clone_panics() -> std::task::Waker {
    use std::task::{RawWaker, RawWakerVTable, Waker};
    fn clone(_: *const ()) -> RawWaker {
        panic!("this waker's clone panics")
    }
    fn noop(_: *const ()) {}
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
    // SAFETY: every vtable function ignores the (null) data pointer.
    unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) }
}

#[test]
fn a_panicking_waker_clone_takes_no_permit() {
    use std::future::Future;
    use std::task::Context;

    let waker = waker_whose_clone_panics();
    let s = Semaphore::new(1);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut acquire = std::pin::pin!(s.acquire_many(2));
        let _ = acquire.as_mut().poll(&mut Context::from_waker(&waker));
    }));
    assert!(panicked.is_err(), "the clone's panic propagates");
    assert_eq!(s.available_permits(), 1, "the permit is still there");
    assert!(s.try_acquire().is_ok());

    // The same through an RwLock: a writer queued behind a reader.
    let lock = weft::sync::RwLock::with_max_readers(0u8, 3);
    let reader = lock.try_read().unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut write = std::pin::pin!(lock.write());
        let _ = write.as_mut().poll(&mut Context::from_waker(&waker));
    }));
    assert!(panicked.is_err());
    drop(reader);
    assert!(lock.try_write().is_ok(), "no reader permit leaked");
}
