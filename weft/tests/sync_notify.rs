//! `weft::sync::Notify`, following tokio's tests/sync_notify.rs,
//! tests/sync_notify_owned.rs (the same tests through `notified_owned`) and
//! src/sync/tests/notify.rs (renamed; `futures::task::ArcWake` becomes
//! `std::task::Wake`), plus notify_waiters' edges, FIFO order and the coop
//! budget.

mod common;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, RawWaker, RawWakerVTable, Waker};

use common::{rt, within};
use tokio_test::task::spawn;
use tokio_test::*;
use weft::sync::Notify;

#[allow(unused)]
trait AssertSend: Send + Sync {}
impl AssertSend for Notify {}
impl AssertSend for weft::sync::futures::Notified<'_> {}
impl AssertSend for weft::sync::futures::OwnedNotified {}

#[test]
fn notify_notified_one() {
    let notify = Notify::new();
    let mut notified = spawn(async { notify.notified().await });

    notify.notify_one();
    assert_ready!(notified.poll());
}

#[test]
fn notify_multi_notified_one() {
    let notify = Notify::new();
    let mut notified1 = spawn(async { notify.notified().await });
    let mut notified2 = spawn(async { notify.notified().await });

    // add two waiters into the queue
    assert_pending!(notified1.poll());
    assert_pending!(notified2.poll());

    // should wakeup the first one
    notify.notify_one();
    assert_ready!(notified1.poll());
    assert_pending!(notified2.poll());
}

#[test]
fn notify_multi_notified_last() {
    let notify = Notify::new();
    let mut notified1 = spawn(async { notify.notified().await });
    let mut notified2 = spawn(async { notify.notified().await });

    // add two waiters into the queue
    assert_pending!(notified1.poll());
    assert_pending!(notified2.poll());

    // should wakeup the last one
    notify.notify_last();
    assert_pending!(notified1.poll());
    assert_ready!(notified2.poll());
}

#[test]
fn notified_one_notify() {
    let notify = Notify::new();
    let mut notified = spawn(async { notify.notified().await });

    assert_pending!(notified.poll());

    notify.notify_one();
    assert!(notified.is_woken());
    assert_ready!(notified.poll());
}

#[test]
fn notified_multi_notify() {
    let notify = Notify::new();
    let mut notified1 = spawn(async { notify.notified().await });
    let mut notified2 = spawn(async { notify.notified().await });

    assert_pending!(notified1.poll());
    assert_pending!(notified2.poll());

    notify.notify_one();
    assert!(notified1.is_woken());
    assert!(!notified2.is_woken());

    assert_ready!(notified1.poll());
    assert_pending!(notified2.poll());
}

#[test]
fn notify_notified_multi() {
    let notify = Notify::new();

    notify.notify_one();

    let mut notified1 = spawn(async { notify.notified().await });
    let mut notified2 = spawn(async { notify.notified().await });

    assert_ready!(notified1.poll());
    assert_pending!(notified2.poll());

    notify.notify_one();

    assert!(notified2.is_woken());
    assert_ready!(notified2.poll());
}

#[test]
fn notified_drop_notified_notify() {
    let notify = Notify::new();
    let mut notified1 = spawn(async { notify.notified().await });
    let mut notified2 = spawn(async { notify.notified().await });

    assert_pending!(notified1.poll());

    drop(notified1);

    assert_pending!(notified2.poll());

    notify.notify_one();
    assert!(notified2.is_woken());
    assert_ready!(notified2.poll());
}

#[test]
fn notified_multi_notify_drop_one() {
    let notify = Notify::new();
    let mut notified1 = spawn(async { notify.notified().await });
    let mut notified2 = spawn(async { notify.notified().await });

    assert_pending!(notified1.poll());
    assert_pending!(notified2.poll());

    notify.notify_one();

    assert!(notified1.is_woken());
    assert!(!notified2.is_woken());

    drop(notified1);

    assert!(notified2.is_woken());
    assert_ready!(notified2.poll());
}

#[test]
fn notified_multi_notify_one_drop() {
    let notify = Notify::new();
    let mut notified1 = spawn(async { notify.notified().await });
    let mut notified2 = spawn(async { notify.notified().await });
    let mut notified3 = spawn(async { notify.notified().await });

    // add waiters by order of poll execution
    assert_pending!(notified1.poll());
    assert_pending!(notified2.poll());
    assert_pending!(notified3.poll());

    // by default fifo
    notify.notify_one();

    drop(notified1);

    // next waiter should be the one to be to woken up
    assert_ready!(notified2.poll());
    assert_pending!(notified3.poll());
}

#[test]
fn notified_multi_notify_last_drop() {
    let notify = Notify::new();
    let mut notified1 = spawn(async { notify.notified().await });
    let mut notified2 = spawn(async { notify.notified().await });
    let mut notified3 = spawn(async { notify.notified().await });

    // add waiters by order of poll execution
    assert_pending!(notified1.poll());
    assert_pending!(notified2.poll());
    assert_pending!(notified3.poll());

    notify.notify_last();

    drop(notified3);

    // latest waiter added should be the one to woken up
    assert_ready!(notified2.poll());
    assert_pending!(notified1.poll());
}

#[test]
fn notify_in_drop_after_wake() {
    use std::future::Future;
    use std::task::Wake;

    let notify = Arc::new(Notify::new());

    struct NotifyOnDrop(Arc<Notify>);

    impl Wake for NotifyOnDrop {
        fn wake(self: Arc<Self>) {}
    }

    impl Drop for NotifyOnDrop {
        fn drop(&mut self) {
            self.0.notify_waiters();
        }
    }

    let mut fut = Box::pin(async {
        notify.notified().await;
    });

    {
        let waker = std::task::Waker::from(Arc::new(NotifyOnDrop(notify.clone())));
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }

    // Now, notifying **should not** deadlock
    notify.notify_waiters();
}

#[test]
fn notify_one_after_dropped_all() {
    let notify = Notify::new();
    let mut notified1 = spawn(async { notify.notified().await });

    assert_pending!(notified1.poll());

    notify.notify_waiters();
    notify.notify_one();

    drop(notified1);

    let mut notified2 = spawn(async { notify.notified().await });

    assert_ready!(notified2.poll());
}

#[test]
fn test_notify_one_not_enabled() {
    let notify = Notify::new();
    let mut future = spawn(notify.notified());

    notify.notify_one();
    assert_ready!(future.poll());
}

#[test]
fn test_notify_one_after_enable() {
    let notify = Notify::new();
    let mut future = spawn(notify.notified());

    future.enter(|_, fut| assert!(!fut.enable()));

    notify.notify_one();
    assert_ready!(future.poll());
    future.enter(|_, fut| assert!(fut.enable()));
}

#[test]
fn test_poll_after_enable() {
    let notify = Notify::new();
    let mut future = spawn(notify.notified());

    future.enter(|_, fut| assert!(!fut.enable()));
    assert_pending!(future.poll());
}

#[test]
fn test_enable_after_poll() {
    let notify = Notify::new();
    let mut future = spawn(notify.notified());

    assert_pending!(future.poll());
    future.enter(|_, fut| assert!(!fut.enable()));
}

#[test]
fn test_enable_consumes_permit() {
    let notify = Notify::new();

    // Add a permit.
    notify.notify_one();

    let mut future1 = spawn(notify.notified());
    future1.enter(|_, fut| assert!(fut.enable()));

    let mut future2 = spawn(notify.notified());
    future2.enter(|_, fut| assert!(!fut.enable()));
}

#[test]
fn test_waker_update() {
    use std::future::Future;
    use std::task::Context;

    let notify = Notify::new();
    let mut future = spawn(notify.notified());

    let noop = std::task::Waker::noop();
    future.enter(|_, fut| assert_pending!(fut.poll(&mut Context::from_waker(noop))));

    assert_pending!(future.poll());
    notify.notify_one();

    assert!(future.is_woken());
}

#[test]
fn unpolled_future_completed_by_notify_waiters_preserves_notify_one_permit() {
    use futures_util::FutureExt;
    let notify = Notify::new();
    let notified1 = notify.notified();
    notify.notify_waiters();
    notify.notify_one();
    assert!(notified1.now_or_never().is_some());
    let notified2 = notify.notified();
    assert!(notified2.now_or_never().is_some());
}

/// tokio's sync_notify_owned.rs: the same tests through `notified_owned`.
mod owned {
    use super::*;

    #[test]
    fn notify_notified_one() {
        let notify = Arc::new(Notify::new());
        let mut notified = spawn(async { notify.clone().notified_owned().await });

        notify.notify_one();
        assert_ready!(notified.poll());
    }

    #[test]
    fn notify_multi_notified_one() {
        let notify = Arc::new(Notify::new());
        let mut notified1 = spawn(async { notify.clone().notified_owned().await });
        let mut notified2 = spawn(async { notify.clone().notified_owned().await });

        // add two waiters into the queue
        assert_pending!(notified1.poll());
        assert_pending!(notified2.poll());

        // should wakeup the first one
        notify.notify_one();
        assert_ready!(notified1.poll());
        assert_pending!(notified2.poll());
    }

    #[test]
    fn notify_multi_notified_last() {
        let notify = Arc::new(Notify::new());
        let mut notified1 = spawn(async { notify.clone().notified_owned().await });
        let mut notified2 = spawn(async { notify.clone().notified_owned().await });

        // add two waiters into the queue
        assert_pending!(notified1.poll());
        assert_pending!(notified2.poll());

        // should wakeup the last one
        notify.notify_last();
        assert_pending!(notified1.poll());
        assert_ready!(notified2.poll());
    }

    #[test]
    fn notified_one_notify() {
        let notify = Arc::new(Notify::new());
        let mut notified = spawn(async { notify.clone().notified_owned().await });

        assert_pending!(notified.poll());

        notify.notify_one();
        assert!(notified.is_woken());
        assert_ready!(notified.poll());
    }

    #[test]
    fn notified_multi_notify() {
        let notify = Arc::new(Notify::new());
        let mut notified1 = spawn(async { notify.clone().notified_owned().await });
        let mut notified2 = spawn(async { notify.clone().notified_owned().await });

        assert_pending!(notified1.poll());
        assert_pending!(notified2.poll());

        notify.notify_one();
        assert!(notified1.is_woken());
        assert!(!notified2.is_woken());

        assert_ready!(notified1.poll());
        assert_pending!(notified2.poll());
    }

    #[test]
    fn notify_notified_multi() {
        let notify = Arc::new(Notify::new());

        notify.notify_one();

        let mut notified1 = spawn(async { notify.clone().notified_owned().await });
        let mut notified2 = spawn(async { notify.clone().notified_owned().await });

        assert_ready!(notified1.poll());
        assert_pending!(notified2.poll());

        notify.notify_one();

        assert!(notified2.is_woken());
        assert_ready!(notified2.poll());
    }

    #[test]
    fn notified_drop_notified_notify() {
        let notify = Arc::new(Notify::new());
        let mut notified1 = spawn(async { notify.clone().notified_owned().await });
        let mut notified2 = spawn(async { notify.clone().notified_owned().await });

        assert_pending!(notified1.poll());

        drop(notified1);

        assert_pending!(notified2.poll());

        notify.notify_one();
        assert!(notified2.is_woken());
        assert_ready!(notified2.poll());
    }

    #[test]
    fn notified_multi_notify_drop_one() {
        let notify = Arc::new(Notify::new());
        let mut notified1 = spawn(async { notify.clone().notified_owned().await });
        let mut notified2 = spawn(async { notify.clone().notified_owned().await });

        assert_pending!(notified1.poll());
        assert_pending!(notified2.poll());

        notify.notify_one();

        assert!(notified1.is_woken());
        assert!(!notified2.is_woken());

        drop(notified1);

        assert!(notified2.is_woken());
        assert_ready!(notified2.poll());
    }

    #[test]
    fn notified_multi_notify_one_drop() {
        let notify = Arc::new(Notify::new());
        let mut notified1 = spawn(async { notify.clone().notified_owned().await });
        let mut notified2 = spawn(async { notify.clone().notified_owned().await });
        let mut notified3 = spawn(async { notify.clone().notified_owned().await });

        // add waiters by order of poll execution
        assert_pending!(notified1.poll());
        assert_pending!(notified2.poll());
        assert_pending!(notified3.poll());

        // by default fifo
        notify.notify_one();

        drop(notified1);

        // next waiter should be the one to be to woken up
        assert_ready!(notified2.poll());
        assert_pending!(notified3.poll());
    }

    #[test]
    fn notified_multi_notify_last_drop() {
        let notify = Arc::new(Notify::new());
        let mut notified1 = spawn(async { notify.clone().notified_owned().await });
        let mut notified2 = spawn(async { notify.clone().notified_owned().await });
        let mut notified3 = spawn(async { notify.clone().notified_owned().await });

        // add waiters by order of poll execution
        assert_pending!(notified1.poll());
        assert_pending!(notified2.poll());
        assert_pending!(notified3.poll());

        notify.notify_last();

        drop(notified3);

        // latest waiter added should be the one to woken up
        assert_ready!(notified2.poll());
        assert_pending!(notified1.poll());
    }

    #[test]
    fn notify_in_drop_after_wake() {
        use std::future::Future;
        use std::task::Wake;

        let notify = Arc::new(Notify::new());

        struct NotifyOnDrop(Arc<Notify>);

        impl Wake for NotifyOnDrop {
            fn wake(self: Arc<Self>) {}
        }

        impl Drop for NotifyOnDrop {
            fn drop(&mut self) {
                self.0.notify_waiters();
            }
        }

        let mut fut = Box::pin(async {
            notify.clone().notified_owned().await;
        });

        {
            let waker = std::task::Waker::from(Arc::new(NotifyOnDrop(notify.clone())));
            let mut cx = std::task::Context::from_waker(&waker);
            assert!(fut.as_mut().poll(&mut cx).is_pending());
        }

        // Now, notifying **should not** deadlock
        notify.notify_waiters();
    }

    #[test]
    fn notify_one_after_dropped_all() {
        let notify = Arc::new(Notify::new());
        let mut notified1 = spawn(async { notify.clone().notified_owned().await });

        assert_pending!(notified1.poll());

        notify.notify_waiters();
        notify.notify_one();

        drop(notified1);

        let mut notified2 = spawn(async { notify.clone().notified_owned().await });

        assert_ready!(notified2.poll());
    }

    #[test]
    fn test_notify_one_not_enabled() {
        let notify = Arc::new(Notify::new());
        let mut future = spawn(notify.clone().notified_owned());

        notify.notify_one();
        assert_ready!(future.poll());
    }

    #[test]
    fn test_notify_one_after_enable() {
        let notify = Arc::new(Notify::new());
        let mut future = spawn(notify.clone().notified_owned());

        future.enter(|_, fut| assert!(!fut.enable()));

        notify.notify_one();
        assert_ready!(future.poll());
        future.enter(|_, fut| assert!(fut.enable()));
    }

    #[test]
    fn test_poll_after_enable() {
        let notify = Arc::new(Notify::new());
        let mut future = spawn(notify.clone().notified_owned());

        future.enter(|_, fut| assert!(!fut.enable()));
        assert_pending!(future.poll());
    }

    #[test]
    fn test_enable_after_poll() {
        let notify = Arc::new(Notify::new());
        let mut future = spawn(notify.clone().notified_owned());

        assert_pending!(future.poll());
        future.enter(|_, fut| assert!(!fut.enable()));
    }

    #[test]
    fn test_enable_consumes_permit() {
        let notify = Arc::new(Notify::new());

        // Add a permit.
        notify.notify_one();

        let mut future1 = spawn(notify.clone().notified_owned());
        future1.enter(|_, fut| assert!(fut.enable()));

        let mut future2 = spawn(notify.clone().notified_owned());
        future2.enter(|_, fut| assert!(!fut.enable()));
    }

    #[test]
    fn test_waker_update() {
        use std::future::Future;
        use std::task::Context;

        let notify = Arc::new(Notify::new());
        let mut future = spawn(notify.clone().notified_owned());

        let noop = std::task::Waker::noop();
        future.enter(|_, fut| assert_pending!(fut.poll(&mut Context::from_waker(noop))));

        assert_pending!(future.poll());
        notify.notify_one();

        assert!(future.is_woken());
    }

    #[test]
    fn unpolled_future_completed_by_notify_waiters_preserves_notify_one_permit() {
        use futures_util::FutureExt;
        let notify = Arc::new(Notify::new());
        let notified1 = notify.clone().notified_owned();
        notify.notify_waiters();
        notify.notify_one();
        assert!(notified1.now_or_never().is_some());
        let notified2 = notify.clone().notified_owned();
        assert!(notified2.now_or_never().is_some());
    }
}

// ===== tokio's src/sync/tests/notify.rs =====

#[test]
fn notify_clones_waker_before_lock() {
    const VTABLE: &RawWakerVTable = &RawWakerVTable::new(clone_w, wake, wake_by_ref, drop_w);

    unsafe fn clone_w(data: *const ()) -> RawWaker {
        let ptr = data as *const Notify;
        // SAFETY: `data` came from `Arc::into_raw` below.
        unsafe { Arc::<Notify>::increment_strong_count(ptr) };
        // Or some other arbitrary code that shouldn't be executed while the
        // Notify wait list is locked.
        // SAFETY: the Arc keeps the Notify alive.
        unsafe { (*ptr).notify_one() };
        RawWaker::new(data, VTABLE)
    }

    unsafe fn drop_w(data: *const ()) {
        // SAFETY: one strong count per waker.
        drop(unsafe { Arc::<Notify>::from_raw(data as *const Notify) });
    }

    unsafe fn wake(_data: *const ()) {
        unreachable!()
    }

    unsafe fn wake_by_ref(_data: *const ()) {
        unreachable!()
    }

    let notify = Arc::new(Notify::new());
    let notify2 = notify.clone();

    // SAFETY: the vtable's functions keep the strong count balanced.
    let waker =
        unsafe { Waker::from_raw(RawWaker::new(Arc::into_raw(notify2) as *const _, VTABLE)) };
    let mut cx = Context::from_waker(&waker);

    let future = pin!(notify.notified());

    // The result doesn't matter, we're just testing that we don't deadlock.
    let _ = future.poll(&mut cx);
}

#[test]
fn notify_waiters_handles_panicking_waker() {
    use std::task::Wake;

    let notify = Arc::new(Notify::new());

    struct PanickingWaker(#[allow(dead_code)] Arc<Notify>);

    impl Wake for PanickingWaker {
        fn wake(self: Arc<Self>) {
            panic!("waker panicked");
        }
    }

    let mut bad_fut = pin!(notify.notified());

    let waker = Waker::from(Arc::new(PanickingWaker(notify.clone())));
    let mut cx = Context::from_waker(&waker);
    let _ = bad_fut.as_mut().poll(&mut cx);

    let mut futs = Vec::new();
    for _ in 0..32 {
        let mut fut = tokio_test::task::spawn(notify.notified());
        assert!(fut.poll().is_pending());
        futs.push(fut);
    }

    assert!(std::panic::catch_unwind(|| {
        notify.notify_waiters();
    })
    .is_err());

    for mut fut in futs {
        assert!(fut.poll().is_ready());
    }
}

#[test]
fn notify_simple() {
    let notify = Notify::new();

    let mut fut1 = tokio_test::task::spawn(notify.notified());
    assert!(fut1.poll().is_pending());

    let mut fut2 = tokio_test::task::spawn(notify.notified());
    assert!(fut2.poll().is_pending());

    notify.notify_waiters();

    assert!(fut1.poll().is_ready());
    assert!(fut2.poll().is_ready());
}

#[test]
fn watch_test() {
    within(10, || {
        let rt = weft::runtime::Builder::new_current_thread()
            .build()
            .unwrap();

        rt.block_on(async {
            let (tx, mut rx) = weft::sync::watch::channel(());

            weft::spawn(async move {
                let _ = tx.send(());
            });

            let _ = rx.changed().await;
        });
    });
}

// ===== weft's own =====

#[test]
fn notify_one_wakes_waiters_in_fifo_order_and_notify_last_in_lifo() {
    let notify = Notify::new();
    let mut waiters: Vec<_> = (0..4).map(|_| spawn(notify.notified())).collect();
    for w in &mut waiters {
        assert_pending!(w.poll());
    }
    notify.notify_one();
    assert!(waiters[0].is_woken());
    assert_ready!(waiters[0].poll());
    notify.notify_last();
    assert!(waiters[3].is_woken());
    assert_ready!(waiters[3].poll());
    notify.notify_one();
    assert_ready!(waiters[1].poll());
    assert_pending!(waiters[2].poll());
}

#[test]
fn notify_waiters_wakes_only_those_registered_before_it_and_stores_no_permit() {
    let notify = Notify::new();
    let mut before: Vec<_> = (0..100).map(|_| spawn(notify.notified())).collect();
    for w in before.iter_mut().take(50) {
        assert_pending!(w.poll());
    }
    // The other 50 were created (not polled) before the call: they count.
    notify.notify_waiters();
    let mut after = spawn(notify.notified());
    for w in &mut before {
        assert_ready!(w.poll());
    }
    assert_pending!(after.poll());
    notify.notify_one();
    assert_ready!(after.poll());
}

#[test]
fn a_waiter_registering_during_notify_waiters_is_not_woken_by_it() {
    use std::sync::Mutex;
    use std::task::Wake;

    // A waker that, when woken by notify_waiters, registers a new waiter:
    // the new one must stay pending.
    struct Register(Arc<Notify>, Mutex<Option<bool>>);
    impl Wake for Register {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            let mut late = Box::pin(self.0.notified());
            let mut cx = Context::from_waker(Waker::noop());
            let pending = late.as_mut().poll(&mut cx).is_pending();
            *self.1.lock().unwrap() = Some(pending);
        }
    }
    let notify = Arc::new(Notify::new());
    let register = Arc::new(Register(notify.clone(), Mutex::new(None)));
    let waker = Waker::from(register.clone());
    let mut first = Box::pin(notify.notified());
    assert!(first
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    // 40 more, so that the wake happens between batches too.
    let mut more: Vec<_> = (0..40).map(|_| spawn(notify.notified())).collect();
    for w in &mut more {
        assert_pending!(w.poll());
    }
    notify.notify_waiters();
    assert_eq!(*register.1.lock().unwrap(), Some(true));
    assert!(first
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_ready());
    for w in &mut more {
        assert_ready!(w.poll());
    }
}

#[test]
fn a_notify_one_between_notify_waiters_batches_is_not_lost() {
    use std::task::Wake;

    // The first waker woken by notify_waiters calls notify_one: with every
    // old waiter already taken, it must be stored as a permit.
    struct NotifyOne(Arc<Notify>);
    impl Wake for NotifyOne {
        fn wake(self: Arc<Self>) {
            self.0.notify_one();
        }
    }
    let notify = Arc::new(Notify::new());
    let waker = Waker::from(Arc::new(NotifyOne(notify.clone())));
    let mut first = Box::pin(notify.notified());
    assert!(first
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    let mut more: Vec<_> = (0..40).map(|_| spawn(notify.notified())).collect();
    for w in &mut more {
        assert_pending!(w.poll());
    }
    notify.notify_waiters();
    for w in &mut more {
        assert_ready!(w.poll());
    }
    let mut next = spawn(notify.notified());
    assert_ready!(next.poll());
}

#[test]
fn a_dropped_waiter_picked_by_notify_last_passes_it_on() {
    let notify = Notify::new();
    let mut a = spawn(notify.notified());
    let mut b = spawn(notify.notified());
    assert_pending!(a.poll());
    assert_pending!(b.poll());
    notify.notify_last();
    assert!(b.is_woken());
    drop(b);
    assert!(a.is_woken());
    assert_ready!(a.poll());
}

#[test]
fn a_dropped_notified_with_nobody_behind_it_stores_the_permit() {
    let notify = Notify::new();
    let mut a = spawn(notify.notified());
    assert_pending!(a.poll());
    notify.notify_one();
    drop(a);
    let mut b = spawn(notify.notified());
    assert_ready!(b.poll());
}

#[test]
fn only_one_permit_is_stored() {
    let notify = Notify::new();
    notify.notify_one();
    notify.notify_one();
    assert_ready!(spawn(notify.notified()).poll());
    assert_pending!(spawn(notify.notified()).poll());
}

#[test]
fn const_new_works_in_a_static() {
    static NOTIFY: Notify = Notify::const_new();
    NOTIFY.notify_one();
    assert_ready!(spawn(NOTIFY.notified()).poll());
}

#[test]
fn tasks_wait_and_are_notified_across_threads() {
    within(20, || {
        let rt = weft::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(async {
            let notify = Arc::new(Notify::new());
            let done = Arc::new(Notify::new());
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let (notify, done) = (notify.clone(), done.clone());
                    weft::spawn(async move {
                        for _ in 0..200 {
                            notify.notified().await;
                            done.notify_one();
                        }
                    })
                })
                .collect();
            for _ in 0..8 * 200 {
                notify.notify_one();
                done.notified().await;
            }
            for task in tasks {
                task.await.unwrap();
            }
        });
    })
}

#[test]
fn an_always_ready_notified_loop_does_not_starve_a_timer() {
    within(10, || {
        rt().block_on(async {
            let notify = Arc::new(Notify::new());
            let spinner = weft::spawn({
                let notify = notify.clone();
                async move {
                    loop {
                        notify.notify_one();
                        notify.notified().await;
                    }
                }
            });
            weft::time::sleep(std::time::Duration::from_millis(10)).await;
            spinner.abort();
        })
    })
}
