//! loom models of the batch semaphore's wait list.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use loom::sync::Arc;
use loom::thread;

use crate::sync::batch_semaphore::Semaphore;

fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

/// Two tasks contend for one permit and give it back: whichever way the
/// fast path, the queue and the hand-over interleave, both get it and the
/// permit is back at the end.
#[test]
fn loom_sync_semaphore_two_acquirers_and_a_release() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let other = {
            let sem = sem.clone();
            thread::spawn(move || {
                loom::future::block_on(sem.acquire(1)).unwrap();
                sem.release(1);
            })
        };
        loom::future::block_on(sem.acquire(1)).unwrap();
        sem.release(1);
        other.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
    });
}

/// A queued acquire of 2 is dropped while another thread releases 2 (which
/// may grant it fully, partly or not at all); a waiter behind it must get
/// its permit either way, and no permit is lost or made up.
#[test]
fn loom_sync_semaphore_acquire_cancelled_while_granted() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let mut big = Box::pin(sem.acquire(2));
        assert!(poll_once(big.as_mut()).is_pending());
        let mut small = pin!(sem.acquire(1));
        assert!(poll_once(small.as_mut()).is_pending());

        let releaser = {
            let sem = sem.clone();
            thread::spawn(move || sem.release(2))
        };
        drop(big);
        releaser.join().unwrap();

        assert!(matches!(poll_once(small.as_mut()), Poll::Ready(Ok(()))));
        assert_eq!(sem.available_permits(), 1);
    });
}
