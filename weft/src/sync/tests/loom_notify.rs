//! loom models of `Notify`'s wait list.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::SeqCst;
use std::task::{Context, Poll, Waker};

use loom::sync::atomic::AtomicBool;
use loom::sync::Arc;
use loom::thread;

use crate::sync::Notify;

fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

/// `notify_waiters` on one thread while another registers a new waiter: the
/// waiter registered before the call is woken, one created after the call
/// returned is not (and still gets a later `notify_one`), and no permit is
/// left behind.
#[test]
fn loom_sync_notify_waiters_vs_new_waiter() {
    loom::model(|| {
        let notify = Arc::new(Notify::new());
        let done = Arc::new(AtomicBool::new(false));
        let mut first = Box::pin(notify.notified());
        assert!(poll_once(first.as_mut()).is_pending());

        let notifier = {
            let (notify, done) = (notify.clone(), done.clone());
            thread::spawn(move || {
                notify.notify_waiters();
                done.store(true, SeqCst);
            })
        };
        let after = done.load(SeqCst);
        let mut second = Box::pin(notify.notified());
        let second_ready = poll_once(second.as_mut()).is_ready();
        if after {
            assert!(!second_ready, "woken by a notify_waiters that had returned");
        }
        notifier.join().unwrap();

        assert!(poll_once(first.as_mut()).is_ready());
        if !poll_once(second.as_mut()).is_ready() {
            notify.notify_one();
            assert!(poll_once(second.as_mut()).is_ready());
        }
        let mut third = Box::pin(notify.notified());
        assert!(
            poll_once(third.as_mut()).is_pending(),
            "a permit was stored"
        );
    });
}

/// `notify_one` races the drop of the first of two waiters: the second is
/// notified either way (directly, or passed on by the dropped one), and the
/// notification is not duplicated into a stored permit.
#[test]
fn loom_sync_notify_one_vs_dropped_notified() {
    loom::model(|| {
        let notify = Arc::new(Notify::new());
        let mut first = Box::pin(notify.notified());
        let mut second = Box::pin(notify.notified());
        assert!(poll_once(first.as_mut()).is_pending());
        assert!(poll_once(second.as_mut()).is_pending());

        let notifier = {
            let notify = notify.clone();
            thread::spawn(move || notify.notify_one())
        };
        drop(first);
        notifier.join().unwrap();

        assert!(poll_once(second.as_mut()).is_ready());
        let mut third = Box::pin(notify.notified());
        assert!(
            poll_once(third.as_mut()).is_pending(),
            "a permit was stored"
        );
    });
}
