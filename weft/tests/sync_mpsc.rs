//! `sync::mpsc`, following tokio's tests/sync_mpsc.rs (renamed to weft;
//! each test runs bounded in time on a current-thread runtime).
#![allow(clippy::redundant_clone)]
#![warn(rust_2018_idioms)]

mod common;

use common::within;
use std::fmt;
use std::panic;
use std::sync::Arc;
use tokio_test::*;
use weft::sync::mpsc;
use weft::sync::mpsc::error::{TryRecvError, TrySendError};

/// Runs a test body on a current-thread runtime, bounded in time.
fn run(body: impl std::future::Future<Output = ()> + Send + 'static) {
    within(30, move || common::rt().block_on(body))
}

/// As [`run`], on a runtime whose clock starts paused (tokio's
/// `#[tokio::test(start_paused = true)]`).
fn run_paused(body: impl std::future::Future<Output = ()> + Send + 'static) {
    within(30, move || {
        weft::runtime::Builder::new_current_thread()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(body)
    })
}

/// tokio's tests/support/mpsc_stream.rs: the receivers as `Stream`s.
mod support {
    pub(crate) mod mpsc_stream {
        use futures_core::Stream;
        use std::pin::Pin;
        use std::task::{Context, Poll};
        use weft::sync::mpsc::{self, Receiver, Sender, UnboundedReceiver, UnboundedSender};

        struct UnboundedStream<T> {
            recv: UnboundedReceiver<T>,
        }
        impl<T> Stream for UnboundedStream<T> {
            type Item = T;
            fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
                Pin::into_inner(self).recv.poll_recv(cx)
            }
        }

        pub fn unbounded_channel_stream<T: Unpin>() -> (UnboundedSender<T>, impl Stream<Item = T>) {
            let (tx, rx) = mpsc::unbounded_channel();
            (tx, UnboundedStream { recv: rx })
        }

        struct BoundedStream<T> {
            recv: Receiver<T>,
        }
        impl<T> Stream for BoundedStream<T> {
            type Item = T;
            fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
                Pin::into_inner(self).recv.poll_recv(cx)
            }
        }

        pub fn channel_stream<T: Unpin>(size: usize) -> (Sender<T>, impl Stream<Item = T>) {
            let (tx, rx) = mpsc::channel(size);
            (tx, BoundedStream { recv: rx })
        }
    }
}

#[allow(unused)]
trait AssertRefUnwindSafe: panic::RefUnwindSafe {}
impl<T> AssertRefUnwindSafe for mpsc::OwnedPermit<T> {}
impl<'a, T> AssertRefUnwindSafe for mpsc::Permit<'a, T> {}
impl<'a, T> AssertRefUnwindSafe for mpsc::PermitIterator<'a, T> {}
impl<T> AssertRefUnwindSafe for mpsc::Receiver<T> {}
impl<T> AssertRefUnwindSafe for mpsc::Sender<T> {}
impl<T> AssertRefUnwindSafe for mpsc::UnboundedReceiver<T> {}
impl<T> AssertRefUnwindSafe for mpsc::UnboundedSender<T> {}
impl<T> AssertRefUnwindSafe for mpsc::WeakSender<T> {}
impl<T> AssertRefUnwindSafe for mpsc::WeakUnboundedSender<T> {}

#[allow(unused)]
trait AssertUnwindSafe: panic::UnwindSafe {}
impl<T> AssertUnwindSafe for mpsc::OwnedPermit<T> {}
impl<'a, T> AssertUnwindSafe for mpsc::Permit<'a, T> {}
impl<'a, T> AssertUnwindSafe for mpsc::PermitIterator<'a, T> {}
impl<T> AssertUnwindSafe for mpsc::Receiver<T> {}
impl<T> AssertUnwindSafe for mpsc::Sender<T> {}
impl<T> AssertUnwindSafe for mpsc::UnboundedReceiver<T> {}
impl<T> AssertUnwindSafe for mpsc::UnboundedSender<T> {}
impl<T> AssertUnwindSafe for mpsc::WeakSender<T> {}
impl<T> AssertUnwindSafe for mpsc::WeakUnboundedSender<T> {}

#[test]
fn send_recv_with_buffer() {
    run(async move {
        let (tx, mut rx) = mpsc::channel::<i32>(16);

        // Using poll_ready / try_send
        // let permit assert_ready_ok!(tx.reserve());
        let permit = tx.reserve().await.unwrap();
        permit.send(1);

        // Without poll_ready
        tx.try_send(2).unwrap();

        drop(tx);

        let val = rx.recv().await;
        assert_eq!(val, Some(1));

        let val = rx.recv().await;
        assert_eq!(val, Some(2));

        let val = rx.recv().await;
        assert!(val.is_none());
    })
}

#[test]
fn reserve_disarm() {
    run(async move {
        let (tx, mut rx) = mpsc::channel::<i32>(2);
        let tx1 = tx.clone();
        let tx2 = tx.clone();
        let tx3 = tx.clone();
        let tx4 = tx;

        // We should be able to `poll_ready` two handles without problem
        let permit1 = assert_ok!(tx1.reserve().await);
        let permit2 = assert_ok!(tx2.reserve().await);

        // But a third should not be ready
        let mut r3 = tokio_test::task::spawn(tx3.reserve());
        assert_pending!(r3.poll());

        let mut r4 = tokio_test::task::spawn(tx4.reserve());
        assert_pending!(r4.poll());

        // Using one of the reserved slots should allow a new handle to become ready
        permit1.send(1);

        // We also need to receive for the slot to be free
        assert!(!r3.is_woken());
        rx.recv().await.unwrap();
        // Now there's a free slot!
        assert!(r3.is_woken());
        assert!(!r4.is_woken());

        // Dropping a permit should also open up a slot
        drop(permit2);
        assert!(r4.is_woken());

        let mut r1 = tokio_test::task::spawn(tx1.reserve());
        assert_pending!(r1.poll());
    })
}

#[test]
fn send_recv_stream_with_buffer() {
    run(async move {
        use futures_util::StreamExt;

        let (tx, rx) = support::mpsc_stream::channel_stream::<i32>(16);
        let mut rx = Box::pin(rx);

        weft::spawn(async move {
            assert_ok!(tx.send(1).await);
            assert_ok!(tx.send(2).await);
        });

        assert_eq!(Some(1), rx.next().await);
        assert_eq!(Some(2), rx.next().await);
        assert_eq!(None, rx.next().await);
    })
}

#[test]
fn async_send_recv_with_buffer() {
    run(async move {
        let (tx, mut rx) = mpsc::channel(16);

        weft::spawn(async move {
            assert_ok!(tx.send(1).await);
            assert_ok!(tx.send(2).await);
        });

        assert_eq!(Some(1), rx.recv().await);
        assert_eq!(Some(2), rx.recv().await);
        assert_eq!(None, rx.recv().await);
    })
}

#[test]
fn async_send_recv_many_with_buffer() {
    run(async move {
        let (tx, mut rx) = mpsc::channel(2);
        let mut buffer = Vec::<i32>::with_capacity(3);

        // With `limit=0` does not sleep, returns immediately
        assert_eq!(0, rx.recv_many(&mut buffer, 0).await);

        let handle = weft::spawn(async move {
            assert_ok!(tx.send(1).await);
            assert_ok!(tx.send(2).await);
            assert_ok!(tx.send(7).await);
            assert_ok!(tx.send(0).await);
        });

        let limit = 3;
        let mut recv_count = 0usize;
        while recv_count < 4 {
            recv_count += rx.recv_many(&mut buffer, limit).await;
            assert_eq!(buffer.len(), recv_count);
        }

        assert_eq!(vec![1, 2, 7, 0], buffer);
        assert_eq!(0, rx.recv_many(&mut buffer, limit).await);
        handle.await.unwrap();
    })
}

#[test]
fn start_send_past_cap() {
    run(async move {
        use std::future::Future;

        let mut t1 = tokio_test::task::spawn(());

        let (tx1, mut rx) = mpsc::channel(1);
        let tx2 = tx1.clone();

        assert_ok!(tx1.try_send(()));

        let mut r1 = Box::pin(tx1.reserve());
        t1.enter(|cx, _| assert_pending!(r1.as_mut().poll(cx)));

        {
            let mut r2 = tokio_test::task::spawn(tx2.reserve());
            assert_pending!(r2.poll());

            drop(r1);

            assert!(rx.recv().await.is_some());

            assert!(r2.is_woken());
            assert!(!t1.is_woken());
        }

        drop(tx1);
        drop(tx2);

        assert!(rx.recv().await.is_none());
    })
}

#[test]
#[should_panic(expected = "mpsc bounded channel requires buffer > 0")]
fn buffer_gteq_one() {
    within(30, || {
        mpsc::channel::<i32>(0);
    })
}

#[test]
fn send_recv_unbounded() {
    run(async move {
        let (tx, mut rx) = mpsc::unbounded_channel::<i32>();

        // Using `try_send`
        assert_ok!(tx.send(1));
        assert_ok!(tx.send(2));

        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));

        drop(tx);

        assert!(rx.recv().await.is_none());
    })
}

#[test]
fn send_recv_many_unbounded() {
    run(async move {
        let (tx, mut rx) = mpsc::unbounded_channel::<i32>();

        let mut buffer: Vec<i32> = Vec::new();

        // With `limit=0` does not sleep, returns immediately
        rx.recv_many(&mut buffer, 0).await;
        assert_eq!(0, buffer.len());

        assert_ok!(tx.send(7));
        assert_ok!(tx.send(13));
        assert_ok!(tx.send(100));
        assert_ok!(tx.send(1002));

        rx.recv_many(&mut buffer, 0).await;
        assert_eq!(0, buffer.len());

        let mut count = 0;
        while count < 4 {
            count += rx.recv_many(&mut buffer, 1).await;
        }
        assert_eq!(count, 4);
        assert_eq!(vec![7, 13, 100, 1002], buffer);
        let final_capacity = buffer.capacity();
        assert!(final_capacity > 0);

        buffer.clear();

        assert_ok!(tx.send(5));
        assert_ok!(tx.send(6));
        assert_ok!(tx.send(7));
        assert_ok!(tx.send(2));

        // Re-use existing capacity
        count = rx.recv_many(&mut buffer, 32).await;

        assert_eq!(final_capacity, buffer.capacity());
        assert_eq!(count, 4);
        assert_eq!(vec![5, 6, 7, 2], buffer);

        drop(tx);

        // recv_many will immediately return zero if the channel
        // is closed and no more messages are waiting
        assert_eq!(0, rx.recv_many(&mut buffer, 4).await);
        assert!(rx.recv().await.is_none());
    })
}

#[test]
fn send_recv_many_bounded_capacity() {
    run(async move {
        let mut buffer: Vec<String> = Vec::with_capacity(9);
        let limit = buffer.capacity();
        let (tx, mut rx) = mpsc::channel(100);

        let mut expected: Vec<String> = (0..limit)
            .map(|x: usize| format!("{x}"))
            .collect::<Vec<_>>();
        for x in expected.clone() {
            tx.send(x).await.unwrap()
        }
        tx.send("one more".to_string()).await.unwrap();

        // Here `recv_many` receives all but the last value;
        // the initial capacity is adequate, so the buffer does
        // not increase in side.
        assert_eq!(buffer.capacity(), rx.recv_many(&mut buffer, limit).await);
        assert_eq!(expected, buffer);
        assert_eq!(limit, buffer.capacity());

        // Receive up more values:
        assert_eq!(1, rx.recv_many(&mut buffer, limit).await);
        assert!(buffer.capacity() > limit);
        expected.push("one more".to_string());
        assert_eq!(expected, buffer);

        weft::spawn(async move {
            tx.send("final".to_string()).await.unwrap();
        });

        // 'tx' is dropped, but `recv_many` is guaranteed not
        // to return 0 as the channel has outstanding permits
        assert_eq!(1, rx.recv_many(&mut buffer, limit).await);
        expected.push("final".to_string());
        assert_eq!(expected, buffer);
        // The channel is now closed and `recv_many` returns 0.
        assert_eq!(0, rx.recv_many(&mut buffer, limit).await);
        assert_eq!(expected, buffer);
    })
}

#[test]
fn send_recv_many_unbounded_capacity() {
    run(async move {
        let mut buffer: Vec<String> = Vec::with_capacity(9); // capacity >= 9
        let limit = buffer.capacity();
        let (tx, mut rx) = mpsc::unbounded_channel();

        let mut expected: Vec<String> = (0..limit)
            .map(|x: usize| format!("{x}"))
            .collect::<Vec<_>>();
        for x in expected.clone() {
            tx.send(x).unwrap()
        }
        tx.send("one more".to_string()).unwrap();

        // Here `recv_many` receives all but the last value;
        // the initial capacity is adequate, so the buffer does
        // not increase in side.
        assert_eq!(buffer.capacity(), rx.recv_many(&mut buffer, limit).await);
        assert_eq!(expected, buffer);
        assert_eq!(limit, buffer.capacity());

        // Receive up more values:
        assert_eq!(1, rx.recv_many(&mut buffer, limit).await);
        assert!(buffer.capacity() > limit);
        expected.push("one more".to_string());
        assert_eq!(expected, buffer);

        weft::spawn(async move {
            tx.send("final".to_string()).unwrap();
        });

        // 'tx' is dropped, but `recv_many` is guaranteed not
        // to return 0 as the channel has outstanding permits
        assert_eq!(1, rx.recv_many(&mut buffer, limit).await);
        expected.push("final".to_string());
        assert_eq!(expected, buffer);
        // The channel is now closed and `recv_many` returns 0.
        assert_eq!(0, rx.recv_many(&mut buffer, limit).await);
        assert_eq!(expected, buffer);
    })
}

#[test]
fn recv_many_with_non_empty_buffer_bounded_rx_closed_and_idle() {
    run(async move {
        let (_tx, mut rx) = mpsc::channel::<i32>(1);

        let mut buffer: Vec<i32> = vec![1];

        rx.close();

        assert_eq!(0, rx.recv_many(&mut buffer, 1).await);
        assert_eq!(vec![1], buffer);
    })
}

#[test]
fn recv_many_with_non_empty_buffer_unbounded_rx_closed_and_idle() {
    run(async move {
        let (_tx, mut rx) = mpsc::unbounded_channel::<i32>();

        let mut buffer: Vec<i32> = vec![1];

        rx.close();

        assert_eq!(0, rx.recv_many(&mut buffer, 1).await);
        assert_eq!(vec![1], buffer);
    })
}

#[test]
fn async_send_recv_unbounded() {
    run(async move {
        let (tx, mut rx) = mpsc::unbounded_channel();

        weft::spawn(async move {
            assert_ok!(tx.send(1));
            assert_ok!(tx.send(2));
        });

        assert_eq!(Some(1), rx.recv().await);
        assert_eq!(Some(2), rx.recv().await);
        assert_eq!(None, rx.recv().await);
    })
}

#[test]
fn send_recv_stream_unbounded() {
    run(async move {
        use futures_util::StreamExt;

        let (tx, rx) = support::mpsc_stream::unbounded_channel_stream::<i32>();

        let mut rx = Box::pin(rx);

        weft::spawn(async move {
            assert_ok!(tx.send(1));
            assert_ok!(tx.send(2));
        });

        assert_eq!(Some(1), rx.next().await);
        assert_eq!(Some(2), rx.next().await);
        assert_eq!(None, rx.next().await);
    })
}

#[test]
fn no_t_bounds_buffer() {
    run(async move {
        struct NoImpls;

        let (tx, mut rx) = mpsc::channel(100);

        // sender should be Debug even though T isn't Debug
        is_debug(&tx);
        // same with Receiver
        is_debug(&rx);
        // and sender should be Clone even though T isn't Clone
        assert!(tx.clone().try_send(NoImpls).is_ok());

        assert!(rx.recv().await.is_some());
    })
}

#[test]
fn no_t_bounds_unbounded() {
    run(async move {
        struct NoImpls;

        let (tx, mut rx) = mpsc::unbounded_channel();

        // sender should be Debug even though T isn't Debug
        is_debug(&tx);
        // same with Receiver
        is_debug(&rx);
        // and sender should be Clone even though T isn't Clone
        assert!(tx.clone().send(NoImpls).is_ok());

        assert!(rx.recv().await.is_some());
    })
}

#[test]
fn send_recv_buffer_limited() {
    run(async move {
        let (tx, mut rx) = mpsc::channel::<i32>(1);

        // Reserve capacity
        let p1 = assert_ok!(tx.reserve().await);

        // Send first message
        p1.send(1);

        // Not ready
        let mut p2 = tokio_test::task::spawn(tx.reserve());
        assert_pending!(p2.poll());

        // Take the value
        assert!(rx.recv().await.is_some());

        // Notified
        assert!(p2.is_woken());

        // Trying to send fails
        assert_err!(tx.try_send(1337));

        // Send second
        let permit = assert_ready_ok!(p2.poll());
        permit.send(2);

        assert!(rx.recv().await.is_some());
    })
}

#[test]
fn recv_close_gets_none_idle() {
    run(async move {
        let (tx, mut rx) = mpsc::channel::<i32>(10);

        rx.close();

        assert!(rx.recv().await.is_none());

        assert_err!(tx.send(1).await);
    })
}

#[test]
fn recv_close_gets_none_reserved() {
    run(async move {
        let (tx1, mut rx) = mpsc::channel::<i32>(1);
        let tx2 = tx1.clone();

        let permit1 = assert_ok!(tx1.reserve().await);
        let mut permit2 = tokio_test::task::spawn(tx2.reserve());
        assert_pending!(permit2.poll());

        rx.close();

        assert!(permit2.is_woken());
        assert_ready_err!(permit2.poll());

        {
            let mut recv = tokio_test::task::spawn(rx.recv());
            assert_pending!(recv.poll());

            permit1.send(123);
            assert!(recv.is_woken());

            let v = assert_ready!(recv.poll());
            assert_eq!(v, Some(123));
        }

        assert!(rx.recv().await.is_none());
    })
}

#[test]
fn failed_reserve_many_wakes_closed_receiver() {
    within(30, || {
        let (tx, mut rx) = mpsc::channel::<()>(2);

        // Hold one of the two slots so the reservation can only take the other one
        // and has to queue for the second.
        let permit = tx.try_reserve().unwrap();

        let mut reserve = tokio_test::task::spawn(tx.reserve_many(2));
        assert_pending!(reserve.poll());

        rx.close();

        let mut recv = tokio_test::task::spawn(rx.recv());
        assert_pending!(recv.poll());

        // One slot is still outstanding, so the channel is not idle and the
        // receiver must not be woken yet.
        drop(permit);
        assert!(!recv.is_woken());

        // The reservation fails on the closed channel and returns the slot it had
        // already acquired, leaving the channel idle. The receiver must be woken.
        assert_ready_err!(reserve.poll());
        assert!(recv.is_woken());
        assert_ready!(recv.poll());
    })
}

#[test]
fn cancelled_reserve_many_wakes_closed_receiver() {
    within(30, || {
        let (tx, mut rx) = mpsc::channel::<()>(2);

        let permit = tx.try_reserve().unwrap();

        let mut reserve = tokio_test::task::spawn(tx.reserve_many(2));
        assert_pending!(reserve.poll());

        rx.close();

        let mut recv = tokio_test::task::spawn(rx.recv());
        assert_pending!(recv.poll());

        drop(permit);
        assert!(!recv.is_woken());

        // Cancelling the reservation returns the slot it had already acquired,
        // leaving the channel idle. The receiver must be woken.
        drop(reserve);
        assert!(recv.is_woken());
        assert_ready!(recv.poll());
    })
}

#[test]
fn failed_reserve_wakes_closed_receiver() {
    within(30, || {
        let (tx, mut rx) = mpsc::channel::<()>(1);

        // Hold the only slot so the reservation below has to queue.
        let permit = tx.try_reserve().unwrap();

        let mut reserve = tokio_test::task::spawn(tx.reserve());
        assert_pending!(reserve.poll());

        // Returning the slot assigns it to the queued reservation, which is woken
        // but not yet polled, so the channel stays non-idle.
        drop(permit);
        assert!(reserve.is_woken());

        rx.close();

        let mut recv = tokio_test::task::spawn(rx.recv());
        assert_pending!(recv.poll());

        // The reservation fails on the closed channel despite holding the
        // assigned slot; returning it leaves the channel idle. The receiver must
        // be woken.
        assert_ready_err!(reserve.poll());
        assert!(recv.is_woken());
        assert_ready!(recv.poll());
    })
}

#[test]
fn cancelled_reserve_wakes_closed_receiver() {
    within(30, || {
        let (tx, mut rx) = mpsc::channel::<()>(1);

        let permit = tx.try_reserve().unwrap();

        let mut reserve = tokio_test::task::spawn(tx.reserve());
        assert_pending!(reserve.poll());

        drop(permit);
        assert!(reserve.is_woken());

        rx.close();

        let mut recv = tokio_test::task::spawn(rx.recv());
        assert_pending!(recv.poll());

        // Cancelling the reservation returns the slot it was assigned, leaving
        // the channel idle. The receiver must be woken.
        drop(reserve);
        assert!(recv.is_woken());
        assert_ready!(recv.poll());
    })
}

#[test]
fn tx_close_gets_none() {
    run(async move {
        let (_, mut rx) = mpsc::channel::<i32>(10);
        assert!(rx.recv().await.is_none());
    })
}

#[test]
fn try_send_fail() {
    run(async move {
        let (tx, mut rx) = mpsc::channel(1);

        tx.try_send("hello").unwrap();

        // This should fail
        match assert_err!(tx.try_send("fail")) {
            TrySendError::Full(..) => {}
            _ => panic!(),
        }

        assert_eq!(rx.recv().await, Some("hello"));

        assert_ok!(tx.try_send("goodbye"));
        drop(tx);

        assert_eq!(rx.recv().await, Some("goodbye"));
        assert!(rx.recv().await.is_none());
    })
}

#[test]
fn try_send_fail_with_try_recv() {
    run(async move {
        let (tx, mut rx) = mpsc::channel(1);

        tx.try_send("hello").unwrap();

        // This should fail
        match assert_err!(tx.try_send("fail")) {
            TrySendError::Full(..) => {}
            _ => panic!(),
        }

        assert_eq!(rx.try_recv(), Ok("hello"));

        assert_ok!(tx.try_send("goodbye"));
        drop(tx);

        assert_eq!(rx.try_recv(), Ok("goodbye"));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    })
}

#[test]
fn reserve_many_above_cap() {
    run(async move {
        const MAX_PERMITS: usize = weft::sync::Semaphore::MAX_PERMITS;
        let (tx, _rx) = mpsc::channel::<()>(1);

        assert_err!(tx.reserve_many(2).await);
        assert_err!(tx.reserve_many(MAX_PERMITS + 1).await);
        assert_err!(tx.reserve_many(usize::MAX).await);
    })
}

#[test]
fn try_reserve_many_zero() {
    within(30, || {
        let (tx, rx) = mpsc::channel::<()>(1);

        // Succeeds when not closed.
        assert!(assert_ok!(tx.try_reserve_many(0)).next().is_none());

        // Even when channel is full.
        tx.try_send(()).unwrap();
        assert!(assert_ok!(tx.try_reserve_many(0)).next().is_none());

        drop(rx);

        // Closed error when closed.
        assert_eq!(
            assert_err!(tx.try_reserve_many(0)),
            TrySendError::Closed(())
        );
    })
}

#[test]
fn reserve_many_zero() {
    run(async move {
        let (tx, rx) = mpsc::channel::<()>(1);

        // Succeeds when not closed.
        assert!(assert_ok!(tx.reserve_many(0).await).next().is_none());

        // Even when channel is full.
        tx.send(()).await.unwrap();
        assert!(assert_ok!(tx.reserve_many(0).await).next().is_none());

        drop(rx);

        // Closed error when closed.
        assert_err!(tx.reserve_many(0).await);
    })
}

#[test]
fn try_reserve_many_edge_cases() {
    run(async move {
        const MAX_PERMITS: usize = weft::sync::Semaphore::MAX_PERMITS;

        let (tx, rx) = mpsc::channel::<()>(1);

        let mut permit = assert_ok!(tx.try_reserve_many(0));
        assert!(permit.next().is_none());

        let permit = tx.try_reserve_many(MAX_PERMITS + 1);
        match assert_err!(permit) {
            TrySendError::Full(..) => {}
            _ => panic!(),
        }

        let permit = tx.try_reserve_many(usize::MAX);
        match assert_err!(permit) {
            TrySendError::Full(..) => {}
            _ => panic!(),
        }

        // Dropping the receiver should close the channel
        drop(rx);
        assert_err!(tx.reserve_many(0).await);
    })
}

#[test]
fn try_reserve_fails() {
    run(async move {
        let (tx, mut rx) = mpsc::channel(1);

        let permit = tx.try_reserve().unwrap();

        // This should fail
        match assert_err!(tx.try_reserve()) {
            TrySendError::Full(()) => {}
            _ => panic!(),
        }

        permit.send("foo");

        assert_eq!(rx.recv().await, Some("foo"));

        // Dropping permit releases the slot.
        let permit = tx.try_reserve().unwrap();
        drop(permit);

        let _permit = tx.try_reserve().unwrap();
    })
}

#[test]
fn reserve_many_and_send() {
    run(async move {
        let (tx, mut rx) = mpsc::channel(100);
        for i in 0..100 {
            for permit in assert_ok!(tx.reserve_many(i).await) {
                permit.send("foo");
                assert_eq!(rx.recv().await, Some("foo"));
            }
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        }
    })
}
#[test]
fn try_reserve_many_and_send() {
    run(async move {
        let (tx, mut rx) = mpsc::channel(100);
        for i in 0..100 {
            for permit in assert_ok!(tx.try_reserve_many(i)) {
                permit.send("foo");
                assert_eq!(rx.recv().await, Some("foo"));
            }
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        }
    })
}

#[test]
fn reserve_many_on_closed_channel() {
    run(async move {
        let (tx, rx) = mpsc::channel::<()>(100);
        drop(rx);
        assert_err!(tx.reserve_many(10).await);
    })
}

#[test]
fn try_reserve_many_on_closed_channel() {
    run(async move {
        let (tx, rx) = mpsc::channel::<usize>(100);
        drop(rx);
        match assert_err!(tx.try_reserve_many(10)) {
            TrySendError::Closed(()) => {}
            _ => panic!(),
        };
    })
}

#[test]
#[cfg_attr(miri, ignore)] // Too slow on miri.
fn try_reserve_many_full() {
    run(async move {
        // Reserve n capacity and send k messages
        for n in 1..100 {
            for k in 0..n {
                let (tx, mut rx) = mpsc::channel::<usize>(n);
                let permits = assert_ok!(tx.try_reserve_many(n));

                assert_eq!(permits.len(), n);
                assert_eq!(tx.capacity(), 0);

                match assert_err!(tx.try_reserve_many(1)) {
                    TrySendError::Full(..) => {}
                    _ => panic!(),
                };

                for permit in permits.take(k) {
                    permit.send(0);
                }
                // We only used k permits on the n reserved
                assert_eq!(tx.capacity(), n - k);

                // We can reserve more permits
                assert_ok!(tx.try_reserve_many(1));

                // But not more than the current capacity
                match assert_err!(tx.try_reserve_many(n - k + 1)) {
                    TrySendError::Full(..) => {}
                    _ => panic!(),
                };

                for _i in 0..k {
                    assert_eq!(rx.recv().await, Some(0));
                }

                // Now that we've received everything, capacity should be back to n
                assert_eq!(tx.capacity(), n);
            }
        }
    })
}

#[test]
fn drop_permit_releases_permit() {
    run(async move {
        // poll_ready reserves capacity, ensure that the capacity is released if tx
        // is dropped w/o sending a value.
        let (tx1, _rx) = mpsc::channel::<i32>(1);
        let tx2 = tx1.clone();

        let permit = assert_ok!(tx1.reserve().await);

        let mut reserve2 = tokio_test::task::spawn(tx2.reserve());
        assert_pending!(reserve2.poll());

        drop(permit);

        assert!(reserve2.is_woken());
        assert_ready_ok!(reserve2.poll());
    })
}

#[test]
fn drop_permit_iterator_releases_permits() {
    run(async move {
        // poll_ready reserves capacity, ensure that the capacity is released if tx
        // is dropped w/o sending a value.
        for n in 1..100 {
            let (tx1, _rx) = mpsc::channel::<i32>(n);
            let tx2 = tx1.clone();

            let permits = assert_ok!(tx1.reserve_many(n).await);

            let mut reserve2 = tokio_test::task::spawn(tx2.reserve_many(n));
            assert_pending!(reserve2.poll());

            drop(permits);

            assert!(reserve2.is_woken());

            let permits = assert_ready_ok!(reserve2.poll());
            drop(permits);

            assert_eq!(tx1.capacity(), n);
        }
    })
}

#[test]
fn dropping_last_permit_wakes_closed_receiver() {
    within(30, || {
        let (tx, mut rx) = mpsc::channel::<()>(100);

        let permit = tx.try_reserve().unwrap();
        rx.close();

        let mut recv = tokio_test::task::spawn(rx.recv());
        assert_pending!(recv.poll());
        drop(permit);
        assert!(recv.is_woken());
        assert_ready!(recv.poll());
    })
}

#[test]
fn dropping_last_owned_permit_wakes_closed_receiver() {
    within(30, || {
        let (tx, mut rx) = mpsc::channel::<()>(100);

        let permit = tx.try_reserve_owned().unwrap();
        rx.close();

        let mut recv = tokio_test::task::spawn(rx.recv());
        assert_pending!(recv.poll());
        drop(permit);
        assert!(recv.is_woken());
        assert_ready!(recv.poll());
    })
}

#[test]
fn dropping_last_permit_iterator_wakes_closed_receiver() {
    within(30, || {
        let (tx, mut rx) = mpsc::channel::<()>(100);

        let permits = tx.try_reserve_many(1).unwrap();
        rx.close();

        let mut recv = tokio_test::task::spawn(rx.recv());
        assert_pending!(recv.poll());
        drop(permits);
        assert!(recv.is_woken());
        assert_ready!(recv.poll());
    })
}

#[test]
fn sending_last_permit_wakes_closed_receiver() {
    within(30, || {
        let (tx, mut rx) = mpsc::channel::<()>(100);

        let permit = tx.try_reserve().unwrap();
        rx.close();

        let mut recv = tokio_test::task::spawn(rx.recv());
        assert_pending!(recv.poll());
        permit.send(());
        assert!(recv.is_woken());
        assert_ready!(recv.poll());
    })
}

#[test]
fn sending_last_owned_permit_wakes_closed_receiver() {
    within(30, || {
        let (tx, mut rx) = mpsc::channel::<()>(100);

        let permit = tx.try_reserve_owned().unwrap();
        rx.close();

        let mut recv = tokio_test::task::spawn(rx.recv());
        assert_pending!(recv.poll());
        permit.send(());
        assert!(recv.is_woken());
        assert_ready!(recv.poll());
    })
}

#[test]
fn releasing_last_owned_permit_wakes_closed_receiver() {
    within(30, || {
        let (tx, mut rx) = mpsc::channel::<()>(100);

        let permit = tx.try_reserve_owned().unwrap();
        rx.close();

        let mut recv = tokio_test::task::spawn(rx.recv());
        assert_pending!(recv.poll());
        let inert_sender = permit.release();
        assert!(recv.is_woken());
        assert_ready!(recv.poll());
        drop(inert_sender);
    })
}

#[test]
fn dropping_rx_closes_channel() {
    run(async move {
        let (tx, rx) = mpsc::channel(100);

        let msg = Arc::new(());
        assert_ok!(tx.try_send(msg.clone()));

        drop(rx);
        assert_err!(tx.reserve().await);
        assert_err!(tx.reserve_many(10).await);
        assert_eq!(1, Arc::strong_count(&msg));
    })
}

#[test]
fn dropping_rx_closes_channel_for_try() {
    within(30, || {
        let (tx, rx) = mpsc::channel(100);

        let msg = Arc::new(());
        tx.try_send(msg.clone()).unwrap();

        drop(rx);

        assert!(matches!(
            tx.try_send(msg.clone()),
            Err(TrySendError::Closed(_))
        ));
        assert!(matches!(tx.try_reserve(), Err(TrySendError::Closed(_))));
        assert!(matches!(
            tx.try_reserve_owned(),
            Err(TrySendError::Closed(_))
        ));

        assert_eq!(1, Arc::strong_count(&msg));
    })
}

#[test]
fn unconsumed_messages_are_dropped() {
    within(30, || {
        let msg = Arc::new(());

        let (tx, rx) = mpsc::channel(100);

        tx.try_send(msg.clone()).unwrap();

        assert_eq!(2, Arc::strong_count(&msg));

        drop((tx, rx));

        assert_eq!(1, Arc::strong_count(&msg));
    })
}

#[test]
fn blocking_recv() {
    within(30, || {
        let (tx, mut rx) = mpsc::channel::<u8>(1);

        let sync_code = std::thread::spawn(move || {
            assert_eq!(Some(10), rx.blocking_recv());
        });

        weft::runtime::Runtime::new().unwrap().block_on(async move {
            let _ = tx.send(10).await;
        });
        sync_code.join().unwrap()
    })
}

#[test]
#[should_panic(expected = "Cannot block the current thread from within a runtime")]
fn blocking_recv_async() {
    run(async move {
        let (_tx, mut rx) = mpsc::channel::<()>(1);
        let _ = rx.blocking_recv();
    })
}

#[test]
fn blocking_send() {
    within(30, || {
        let (tx, mut rx) = mpsc::channel::<u8>(1);

        let sync_code = std::thread::spawn(move || {
            tx.blocking_send(10).unwrap();
        });

        weft::runtime::Runtime::new().unwrap().block_on(async move {
            assert_eq!(Some(10), rx.recv().await);
        });
        sync_code.join().unwrap()
    })
}

#[test]
#[should_panic(expected = "Cannot block the current thread from within a runtime")]
fn blocking_send_async() {
    run(async move {
        let (tx, _rx) = mpsc::channel::<()>(1);
        let _ = tx.blocking_send(());
    })
}

#[test]
fn ready_close_cancel_bounded() {
    run(async move {
        let (tx, mut rx) = mpsc::channel::<()>(100);
        let _tx2 = tx.clone();

        let permit = assert_ok!(tx.reserve().await);

        rx.close();

        let mut recv = tokio_test::task::spawn(rx.recv());
        assert_pending!(recv.poll());

        drop(permit);

        assert!(recv.is_woken());
        let val = assert_ready!(recv.poll());
        assert!(val.is_none());
    })
}

#[test]
fn permit_available_not_acquired_close() {
    run(async move {
        let (tx1, mut rx) = mpsc::channel::<()>(1);
        let tx2 = tx1.clone();

        let permit1 = assert_ok!(tx1.reserve().await);

        let mut permit2 = tokio_test::task::spawn(tx2.reserve());
        assert_pending!(permit2.poll());

        rx.close();

        drop(permit1);
        assert!(permit2.is_woken());

        drop(permit2);
        assert!(rx.recv().await.is_none());
    })
}

#[test]
fn try_recv_bounded() {
    within(30, || {
        let (tx, mut rx) = mpsc::channel(5);

        tx.try_send("hello").unwrap();
        tx.try_send("hello").unwrap();
        tx.try_send("hello").unwrap();
        tx.try_send("hello").unwrap();
        tx.try_send("hello").unwrap();
        assert!(tx.try_send("hello").is_err());

        assert_eq!(Ok("hello"), rx.try_recv());
        assert_eq!(Ok("hello"), rx.try_recv());
        assert_eq!(Ok("hello"), rx.try_recv());
        assert_eq!(Ok("hello"), rx.try_recv());
        assert_eq!(Ok("hello"), rx.try_recv());
        assert_eq!(Err(TryRecvError::Empty), rx.try_recv());

        tx.try_send("hello").unwrap();
        tx.try_send("hello").unwrap();
        tx.try_send("hello").unwrap();
        tx.try_send("hello").unwrap();
        assert_eq!(Ok("hello"), rx.try_recv());
        tx.try_send("hello").unwrap();
        tx.try_send("hello").unwrap();
        assert!(tx.try_send("hello").is_err());
        assert_eq!(Ok("hello"), rx.try_recv());
        assert_eq!(Ok("hello"), rx.try_recv());
        assert_eq!(Ok("hello"), rx.try_recv());
        assert_eq!(Ok("hello"), rx.try_recv());
        assert_eq!(Ok("hello"), rx.try_recv());
        assert_eq!(Err(TryRecvError::Empty), rx.try_recv());

        tx.try_send("hello").unwrap();
        tx.try_send("hello").unwrap();
        tx.try_send("hello").unwrap();
        drop(tx);
        assert_eq!(Ok("hello"), rx.try_recv());
        assert_eq!(Ok("hello"), rx.try_recv());
        assert_eq!(Ok("hello"), rx.try_recv());
        assert_eq!(Err(TryRecvError::Disconnected), rx.try_recv());
    })
}

#[test]
fn try_recv_unbounded() {
    within(30, || {
        for num in 0..100 {
            let (tx, mut rx) = mpsc::unbounded_channel();

            for i in 0..num {
                tx.send(i).unwrap();
            }

            for i in 0..num {
                assert_eq!(rx.try_recv(), Ok(i));
            }

            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            drop(tx);
            assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
        }
    })
}

#[test]
fn try_recv_after_receiver_close() {
    within(30, || {
        let (_tx, mut rx) = mpsc::channel::<()>(5);

        assert_eq!(Err(TryRecvError::Empty), rx.try_recv());
        rx.close();
        assert_eq!(Err(TryRecvError::Disconnected), rx.try_recv());
    })
}

#[test]
fn try_recv_after_receiver_close_with_permit() {
    within(30, || {
        let (tx, mut rx) = mpsc::channel::<()>(5);

        let permit = tx.try_reserve().unwrap();

        assert_eq!(Err(TryRecvError::Empty), rx.try_recv());
        rx.close();
        assert_eq!(Err(TryRecvError::Empty), rx.try_recv());
        drop(permit);
        assert_eq!(Err(TryRecvError::Disconnected), rx.try_recv());
    })
}

#[test]
fn try_recv_close_while_empty_bounded() {
    within(30, || {
        let (tx, mut rx) = mpsc::channel::<()>(5);

        assert_eq!(Err(TryRecvError::Empty), rx.try_recv());
        drop(tx);
        assert_eq!(Err(TryRecvError::Disconnected), rx.try_recv());
    })
}

#[test]
fn try_recv_close_while_empty_unbounded() {
    within(30, || {
        let (tx, mut rx) = mpsc::unbounded_channel::<()>();

        assert_eq!(Err(TryRecvError::Empty), rx.try_recv());
        drop(tx);
        assert_eq!(Err(TryRecvError::Disconnected), rx.try_recv());
    })
}

#[test]
fn recv_timeout() {
    run_paused(async move {
        use weft::sync::mpsc::error::SendTimeoutError::{Closed, Timeout};
        use weft::time::Duration;

        let (tx, rx) = mpsc::channel(5);

        assert_eq!(tx.send_timeout(10, Duration::from_secs(1)).await, Ok(()));
        assert_eq!(tx.send_timeout(20, Duration::from_secs(1)).await, Ok(()));
        assert_eq!(tx.send_timeout(30, Duration::from_secs(1)).await, Ok(()));
        assert_eq!(tx.send_timeout(40, Duration::from_secs(1)).await, Ok(()));
        assert_eq!(tx.send_timeout(50, Duration::from_secs(1)).await, Ok(()));
        assert_eq!(
            tx.send_timeout(60, Duration::from_secs(1)).await,
            Err(Timeout(60))
        );

        drop(rx);
        assert_eq!(
            tx.send_timeout(70, Duration::from_secs(1)).await,
            Err(Closed(70))
        );
    })
}

#[test]
#[should_panic = "a timer needs a runtime"]
fn recv_timeout_panic() {
    within(30, || {
        use futures_util::future::FutureExt;
        use std::time::Duration;

        let (tx, _rx) = mpsc::channel(5);
        tx.send_timeout(10, Duration::from_secs(1)).now_or_never();
    })
}

// Tests that channel `capacity` changes and `max_capacity` stays the same
#[test]
fn test_tx_capacity() {
    run(async move {
        let (tx, _rx) = mpsc::channel::<()>(10);
        // both capacities are same before
        assert_eq!(tx.capacity(), 10);
        assert_eq!(tx.max_capacity(), 10);

        let _permit = tx.reserve().await.unwrap();
        // after reserve, only capacity should drop by one
        assert_eq!(tx.capacity(), 9);
        assert_eq!(tx.max_capacity(), 10);

        tx.send(()).await.unwrap();
        // after send, capacity should drop by one again
        assert_eq!(tx.capacity(), 8);
        assert_eq!(tx.max_capacity(), 10);
    })
}

#[test]
fn test_rx_is_closed_when_calling_close_with_sender() {
    run(async move {
        // is_closed should return true after calling close but still has a sender
        let (_tx, mut rx) = mpsc::channel::<()>(10);
        rx.close();

        assert!(rx.is_closed());
    })
}

#[test]
fn test_rx_is_closed_when_dropping_all_senders() {
    run(async move {
        // is_closed should return true after dropping all senders
        let (tx, rx) = mpsc::channel::<()>(10);
        let another_tx = tx.clone();
        let task = weft::spawn(async move {
            drop(another_tx);
        });

        drop(tx);
        let _ = task.await;

        assert!(rx.is_closed());
    })
}

#[test]
fn test_rx_is_not_closed_when_there_are_senders() {
    run(async move {
        // is_closed should return false when there is a sender
        let (_tx, rx) = mpsc::channel::<()>(10);
        assert!(!rx.is_closed());
    })
}

#[test]
fn test_rx_is_not_closed_when_there_are_senders_and_buffer_filled() {
    run(async move {
        // is_closed should return false when there is a sender, even if enough messages have been sent to fill the channel
        let (tx, rx) = mpsc::channel(10);
        for i in 0..10 {
            assert!(tx.send(i).await.is_ok());
        }
        assert!(!rx.is_closed());
    })
}

#[test]
fn test_rx_is_closed_when_there_are_no_senders_and_there_are_messages() {
    run(async move {
        // is_closed should return true when there are messages in the buffer, but no senders
        let (tx, rx) = mpsc::channel(10);
        for i in 0..10 {
            assert!(tx.send(i).await.is_ok());
        }
        drop(tx);
        assert!(rx.is_closed());
    })
}

#[test]
fn test_rx_is_closed_when_there_are_messages_and_close_is_called() {
    run(async move {
        // is_closed should return true when there are messages in the buffer, and close is called
        let (tx, mut rx) = mpsc::channel(10);
        for i in 0..10 {
            assert!(tx.send(i).await.is_ok());
        }
        rx.close();
        assert!(rx.is_closed());
    })
}

#[test]
fn test_rx_is_not_closed_when_there_are_permits_but_not_senders() {
    run(async move {
        // is_closed should return false when there is a permit (but no senders)
        let (tx, rx) = mpsc::channel::<()>(10);
        let _permit = tx.reserve_owned().await.expect("Failed to reserve permit");
        assert!(!rx.is_closed());
    })
}

#[test]
fn test_rx_is_empty_when_no_messages_were_sent() {
    run(async move {
        let (_tx, rx) = mpsc::channel::<()>(10);
        assert!(rx.is_empty())
    })
}

#[test]
fn test_rx_is_not_empty_when_there_are_messages_in_the_buffer() {
    run(async move {
        let (tx, rx) = mpsc::channel::<()>(10);
        assert!(tx.send(()).await.is_ok());
        assert!(!rx.is_empty())
    })
}

#[test]
fn test_rx_is_not_empty_when_the_buffer_is_full() {
    run(async move {
        let (tx, rx) = mpsc::channel(10);
        for i in 0..10 {
            assert!(tx.send(i).await.is_ok());
        }
        assert!(!rx.is_empty())
    })
}

#[test]
fn test_rx_is_not_empty_when_all_but_one_messages_are_consumed() {
    run(async move {
        let (tx, mut rx) = mpsc::channel(10);
        for i in 0..10 {
            assert!(tx.send(i).await.is_ok());
        }

        for _ in 0..9 {
            assert!(rx.recv().await.is_some());
        }

        assert!(!rx.is_empty())
    })
}

#[test]
fn test_rx_is_empty_when_all_messages_are_consumed() {
    run(async move {
        let (tx, mut rx) = mpsc::channel(10);
        for i in 0..10 {
            assert!(tx.send(i).await.is_ok());
        }
        while rx.try_recv().is_ok() {}
        assert!(rx.is_empty())
    })
}

#[test]
fn test_rx_is_empty_all_senders_are_dropped_and_messages_consumed() {
    run(async move {
        let (tx, mut rx) = mpsc::channel(10);
        for i in 0..10 {
            assert!(tx.send(i).await.is_ok());
        }
        drop(tx);

        for _ in 0..10 {
            assert!(rx.recv().await.is_some());
        }

        assert!(rx.is_empty())
    })
}

#[test]
fn test_rx_len_on_empty_channel() {
    run(async move {
        let (_tx, rx) = mpsc::channel::<()>(100);
        assert_eq!(rx.len(), 0);
    })
}

#[test]
fn test_rx_len_on_empty_channel_without_senders() {
    run(async move {
        // when all senders are dropped, a "closed" value is added to the end of the linked list.
        // here we test that the "closed" value does not change the len of the channel.

        let (tx, rx) = mpsc::channel::<()>(100);
        drop(tx);
        assert_eq!(rx.len(), 0);
    })
}

#[test]
fn test_rx_len_on_filled_channel() {
    run(async move {
        let (tx, rx) = mpsc::channel(100);

        for i in 0..100 {
            assert!(tx.send(i).await.is_ok());
        }
        assert_eq!(rx.len(), 100);
    })
}

#[test]
fn test_rx_len_on_filled_channel_without_senders() {
    run(async move {
        let (tx, rx) = mpsc::channel(100);

        for i in 0..100 {
            assert!(tx.send(i).await.is_ok());
        }
        drop(tx);
        assert_eq!(rx.len(), 100);
    })
}

#[test]
fn test_rx_len_when_consuming_all_messages() {
    run(async move {
        let (tx, mut rx) = mpsc::channel(100);

        for i in 0..100 {
            assert!(tx.send(i).await.is_ok());
            assert_eq!(rx.len(), i + 1);
        }

        drop(tx);

        for i in (0..100).rev() {
            assert!(rx.recv().await.is_some());
            assert_eq!(rx.len(), i);
        }
    })
}

#[test]
fn test_rx_len_when_close_is_called() {
    run(async move {
        let (tx, mut rx) = mpsc::channel(100);
        tx.send(()).await.unwrap();
        rx.close();

        assert_eq!(rx.len(), 1);
    })
}

#[test]
fn test_rx_len_when_close_is_called_before_dropping_sender() {
    run(async move {
        let (tx, mut rx) = mpsc::channel(100);
        tx.send(()).await.unwrap();
        rx.close();
        drop(tx);

        assert_eq!(rx.len(), 1);
    })
}

#[test]
fn test_rx_len_when_close_is_called_after_dropping_sender() {
    run(async move {
        let (tx, mut rx) = mpsc::channel(100);
        tx.send(()).await.unwrap();
        drop(tx);
        rx.close();

        assert_eq!(rx.len(), 1);
    })
}

#[test]
fn test_rx_unbounded_is_closed_when_calling_close_with_sender() {
    run(async move {
        // is_closed should return true after calling close but still has a sender
        let (_tx, mut rx) = mpsc::unbounded_channel::<()>();
        rx.close();

        assert!(rx.is_closed());
    })
}

#[test]
fn test_rx_unbounded_is_closed_when_dropping_all_senders() {
    run(async move {
        // is_closed should return true after dropping all senders
        let (tx, rx) = mpsc::unbounded_channel::<()>();
        let another_tx = tx.clone();
        let task = weft::spawn(async move {
            drop(another_tx);
        });

        drop(tx);
        let _ = task.await;

        assert!(rx.is_closed());
    })
}

#[test]
fn test_rx_unbounded_is_not_closed_when_there_are_senders() {
    run(async move {
        // is_closed should return false when there is a sender
        let (_tx, rx) = mpsc::unbounded_channel::<()>();
        assert!(!rx.is_closed());
    })
}

#[test]
fn test_rx_unbounded_is_closed_when_there_are_no_senders_and_there_are_messages() {
    run(async move {
        // is_closed should return true when there are messages in the buffer, but no senders
        let (tx, rx) = mpsc::unbounded_channel();
        for i in 0..10 {
            assert!(tx.send(i).is_ok());
        }
        drop(tx);
        assert!(rx.is_closed());
    })
}

#[test]
fn test_rx_unbounded_is_closed_when_there_are_messages_and_close_is_called() {
    run(async move {
        // is_closed should return true when there are messages in the buffer, and close is called
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..10 {
            assert!(tx.send(i).is_ok());
        }
        rx.close();
        assert!(rx.is_closed());
    })
}

#[test]
fn test_rx_unbounded_is_empty_when_no_messages_were_sent() {
    run(async move {
        let (_tx, rx) = mpsc::unbounded_channel::<()>();
        assert!(rx.is_empty())
    })
}

#[test]
fn test_rx_unbounded_is_not_empty_when_there_are_messages_in_the_buffer() {
    run(async move {
        let (tx, rx) = mpsc::unbounded_channel();
        assert!(tx.send(()).is_ok());
        assert!(!rx.is_empty())
    })
}

#[test]
fn test_rx_unbounded_is_not_empty_when_all_but_one_messages_are_consumed() {
    run(async move {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..10 {
            assert!(tx.send(i).is_ok());
        }

        for _ in 0..9 {
            assert!(rx.recv().await.is_some());
        }

        assert!(!rx.is_empty())
    })
}

#[test]
fn test_rx_unbounded_is_empty_when_all_messages_are_consumed() {
    run(async move {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..10 {
            assert!(tx.send(i).is_ok());
        }
        while rx.try_recv().is_ok() {}
        assert!(rx.is_empty())
    })
}

#[test]
fn test_rx_unbounded_is_empty_all_senders_are_dropped_and_messages_consumed() {
    run(async move {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..10 {
            assert!(tx.send(i).is_ok());
        }
        drop(tx);

        for _ in 0..10 {
            assert!(rx.recv().await.is_some());
        }

        assert!(rx.is_empty())
    })
}

#[test]
fn test_rx_unbounded_len_on_empty_channel() {
    run(async move {
        let (_tx, rx) = mpsc::unbounded_channel::<()>();
        assert_eq!(rx.len(), 0);
    })
}

#[test]
fn test_rx_unbounded_len_on_empty_channel_without_senders() {
    run(async move {
        // when all senders are dropped, a "closed" value is added to the end of the linked list.
        // here we test that the "closed" value does not change the len of the channel.

        let (tx, rx) = mpsc::unbounded_channel::<()>();
        drop(tx);
        assert_eq!(rx.len(), 0);
    })
}

#[test]
fn test_rx_unbounded_len_with_multiple_messages() {
    run(async move {
        let (tx, rx) = mpsc::unbounded_channel();

        for i in 0..100 {
            assert!(tx.send(i).is_ok());
        }
        assert_eq!(rx.len(), 100);
    })
}

#[test]
fn test_rx_unbounded_len_with_multiple_messages_and_dropped_senders() {
    run(async move {
        let (tx, rx) = mpsc::unbounded_channel();

        for i in 0..100 {
            assert!(tx.send(i).is_ok());
        }
        drop(tx);
        assert_eq!(rx.len(), 100);
    })
}

#[test]
fn test_rx_unbounded_len_when_consuming_all_messages() {
    run(async move {
        let (tx, mut rx) = mpsc::unbounded_channel();

        for i in 0..100 {
            assert!(tx.send(i).is_ok());
            assert_eq!(rx.len(), i + 1);
        }

        drop(tx);

        for i in (0..100).rev() {
            assert!(rx.recv().await.is_some());
            assert_eq!(rx.len(), i);
        }
    })
}

#[test]
fn test_rx_unbounded_len_when_close_is_called() {
    run(async move {
        let (tx, mut rx) = mpsc::unbounded_channel();
        tx.send(()).unwrap();
        rx.close();

        assert_eq!(rx.len(), 1);
    })
}

#[test]
fn test_rx_unbounded_len_when_close_is_called_before_dropping_sender() {
    run(async move {
        let (tx, mut rx) = mpsc::unbounded_channel();
        tx.send(()).unwrap();
        rx.close();
        drop(tx);

        assert_eq!(rx.len(), 1);
    })
}

#[test]
fn test_rx_unbounded_len_when_close_is_called_after_dropping_sender() {
    run(async move {
        let (tx, mut rx) = mpsc::unbounded_channel();
        tx.send(()).unwrap();
        drop(tx);
        rx.close();

        assert_eq!(rx.len(), 1);
    })
}

// Regression test for https://github.com/tokio-rs/tokio/issues/6602
#[test]
fn test_is_empty_32_msgs() {
    run(async move {
        let (sender, mut receiver) = mpsc::channel(33);

        for value in 1..257 {
            sender.send(value).await.unwrap();
            receiver.recv().await.unwrap();
            assert!(receiver.is_empty(), "{value}. len: {}", receiver.len());
        }
    })
}

#[test]
#[cfg(not(panic = "abort"))]
fn drop_all_elements_during_panic() {
    within(30, || {
        use std::sync::atomic::AtomicUsize;
        use std::sync::atomic::Ordering::Relaxed;
        use weft::sync::mpsc::UnboundedReceiver;
        use weft::sync::mpsc::UnboundedSender;

        static COUNTER: AtomicUsize = AtomicUsize::new(0);

        struct A(bool);
        impl Drop for A {
            // cause a panic when inner value is `true`.
            fn drop(&mut self) {
                COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if self.0 {
                    panic!("panic!")
                }
            }
        }

        fn func(tx: UnboundedSender<A>, rx: UnboundedReceiver<A>) {
            tx.send(A(true)).unwrap();
            tx.send(A(false)).unwrap();
            tx.send(A(false)).unwrap();

            drop(rx);

            // `mpsc::Rx`'s drop is called and gets panicked while dropping the first value,
            // but will keep dropping following elements.
        }

        let (tx, rx) = mpsc::unbounded_channel();

        let _ = panic::catch_unwind(panic::AssertUnwindSafe(|| {
            func(tx.clone(), rx);
        }));

        // all A's destructor should be called at this point, even before `mpsc::Chan`'s
        // drop gets called.
        assert_eq!(COUNTER.load(Relaxed), 3);

        drop(tx);
        // `mpsc::Chan`'s drop is called, freeing the `Block` memory allocation.
    })
}

/// A task's wakers keep its memory allocation alive. This test ensures
/// `mpsc::channel` releases the rx waker immediately upon drop to potentially
/// free up resources.
#[test]
fn release_waker_on_rx_drop() {
    within(30, || {
        use std::task::{Context, Wake, Waker};

        struct DummyWaker;
        impl Wake for DummyWaker {
            fn wake(self: Arc<Self>) {}
        }

        // Create a dummy Arc<impl Wake> to count waker references
        let dummy = Arc::new(DummyWaker);
        let waker = Waker::from(dummy.clone());
        let mut cx = Context::from_waker(&waker);

        // Baseline: 2 references (`dummy` and `waker`)
        assert_eq!(Arc::strong_count(&dummy), 2);

        // Register `waker` in rx
        let (_tx, mut rx) = mpsc::channel::<()>(1);
        assert_pending!(rx.poll_recv(&mut cx));
        assert_eq!(Arc::strong_count(&dummy), 3);

        // Drop rx, releasing the stored waker
        drop(rx);
        assert_eq!(
            Arc::strong_count(&dummy),
            2,
            "dropping rx did not drop its waker",
        );
    })
}

fn is_debug<T: fmt::Debug>(_: &T) {}

// ---- weft's own tests ----

/// Eight threads send 20,000 numbered values each, through an unbounded
/// and a small bounded channel, while the receiver drains them on a
/// runtime: every value arrives exactly once, each sender's in order.
#[test]
fn many_threads_send_and_each_senders_order_holds() {
    const SENDERS: usize = 8;
    const EACH: u64 = 20_000;
    fn check(mut next: impl FnMut() -> Option<(usize, u64)>) {
        let mut expected = [0u64; SENDERS];
        let mut total = 0;
        while let Some((id, seq)) = next() {
            assert_eq!(seq, expected[id], "sender {id} out of order");
            expected[id] += 1;
            total += 1;
        }
        assert_eq!(total, SENDERS as u64 * EACH);
    }
    within(60, || {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let threads: Vec<_> = (0..SENDERS)
            .map(|id| {
                let tx = tx.clone();
                std::thread::spawn(move || (0..EACH).for_each(|seq| tx.send((id, seq)).unwrap()))
            })
            .collect();
        drop(tx);
        let rt = common::rt();
        let mut buffer = Vec::new();
        check(|| {
            if buffer.is_empty() {
                rt.block_on(rx.recv_many(&mut buffer, 100));
                buffer.reverse();
            }
            buffer.pop()
        });
        threads.into_iter().for_each(|t| t.join().unwrap());

        let (tx, mut rx) = mpsc::channel(16);
        let threads: Vec<_> = (0..SENDERS)
            .map(|id| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    (0..EACH).for_each(|seq| tx.blocking_send((id, seq)).unwrap())
                })
            })
            .collect();
        drop(tx);
        check(|| rt.block_on(rx.recv()));
        threads.into_iter().for_each(|t| t.join().unwrap());
    });
}

/// Senders on other threads racing `try_recv`: once a send has returned
/// (the sender then bumps a counter), `try_recv` never reports `Empty`
/// while fewer values were taken than sent.
#[test]
fn try_recv_sees_every_completed_send() {
    use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
    within(60, || {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let sent = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (tx, sent) = (tx.clone(), sent.clone());
                std::thread::spawn(move || {
                    for i in 0..20_000u64 {
                        tx.send(i).unwrap();
                        sent.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        drop(tx);
        let mut taken = 0;
        loop {
            let before = sent.load(SeqCst);
            match rx.try_recv() {
                Ok(_) => taken += 1,
                Err(TryRecvError::Empty) => {
                    assert!(taken >= before, "Empty with {before} sent, {taken} taken")
                }
                Err(TryRecvError::Disconnected) => break,
            }
        }
        assert_eq!(taken, 80_000);
        threads.into_iter().for_each(|t| t.join().unwrap());
    });
}

/// The receiver closes while four threads keep sending (unbounded, and
/// bounded with permits reserved before the close): every send that
/// reported success is received, then the end.
#[test]
fn close_racing_sends_loses_no_successful_send() {
    use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
    within(60, || {
        for round in 0..20 {
            let ok = Arc::new(AtomicU64::new(0));
            let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let (tx, ok) = (tx.clone(), ok.clone());
                    std::thread::spawn(move || {
                        while tx.send(1).is_ok() {
                            ok.fetch_add(1, SeqCst);
                        }
                    })
                })
                .collect();
            drop(tx);
            let mut received = 0u64;
            while received < 1_000 + round {
                received += rx.blocking_recv().unwrap();
            }
            rx.close();
            while let Some(v) = rx.blocking_recv() {
                received += v;
            }
            threads.into_iter().for_each(|t| t.join().unwrap());
            assert_eq!(received, ok.load(SeqCst));

            let ok = Arc::new(AtomicU64::new(0));
            let (tx, mut rx) = mpsc::channel::<u64>(8);
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let (tx, ok) = (tx.clone(), ok.clone());
                    std::thread::spawn(move || loop {
                        match tx.try_reserve() {
                            Ok(permit) => {
                                permit.send(1);
                                ok.fetch_add(1, SeqCst);
                            }
                            Err(TrySendError::Full(())) => std::thread::yield_now(),
                            Err(TrySendError::Closed(())) => break,
                        }
                    })
                })
                .collect();
            drop(tx);
            let mut received = 0u64;
            while received < 500 {
                received += rx.blocking_recv().unwrap();
            }
            rx.close();
            while let Some(v) = rx.blocking_recv() {
                received += v;
            }
            threads.into_iter().for_each(|t| t.join().unwrap());
            assert_eq!(received, ok.load(SeqCst));
        }
    });
}

/// Ten sender tasks and the receiver on a two-worker runtime, through a
/// channel of 4 slots (senders queue for room most of the time): every
/// value arrives once, each sender's in order.
#[test]
fn bounded_senders_queue_for_room_on_two_workers() {
    within(60, || {
        let rt = weft::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel::<(usize, u32)>(4);
            for id in 0..10 {
                let tx = tx.clone();
                weft::spawn(async move {
                    for seq in 0..2_000 {
                        tx.send((id, seq)).await.unwrap();
                    }
                });
            }
            drop(tx);
            let receiver = weft::spawn(async move {
                let mut next = [0u32; 10];
                while let Some((id, seq)) = rx.recv().await {
                    assert_eq!(seq, next[id]);
                    next[id] += 1;
                }
                next
            });
            assert_eq!(receiver.await.unwrap(), [2_000; 10]);
        });
    });
}

/// A value's destructor sees the channel drop it exactly once, whether it
/// was queued when the receiver went, or sent through a permit after.
#[test]
fn queued_values_are_dropped_once_when_the_receiver_goes() {
    within(30, || {
        let msg = Arc::new(());
        let (tx, rx) = mpsc::channel(100);
        let permit = tx.try_reserve().unwrap();
        for _ in 0..70 {
            tx.try_send(msg.clone()).unwrap();
        }
        drop(rx);
        permit.send(msg.clone());
        assert_eq!(Arc::strong_count(&msg), 2);
        drop(tx);
        assert_eq!(Arc::strong_count(&msg), 1);

        let (tx, mut rx) = mpsc::unbounded_channel();
        for _ in 0..100 {
            tx.send(msg.clone()).unwrap();
        }
        for _ in 0..40 {
            rx.try_recv().unwrap();
        }
        drop(rx);
        assert_eq!(Arc::strong_count(&msg), 1);
        assert!(tx.send(msg.clone()).is_err());
        assert_eq!(Arc::strong_count(&msg), 1);
    });
}

/// After `close`, values sent before it are still received, then `None`.
#[test]
fn values_sent_before_close_are_received() {
    run(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..100 {
            tx.send(i).unwrap();
        }
        rx.close();
        assert!(tx.send(100).is_err());
        assert_eq!(rx.len(), 100);
        for i in 0..100 {
            assert_eq!(rx.recv().await, Some(i));
        }
        assert_eq!(rx.recv().await, None);
        assert!(tx.is_closed());
    });
}

#[test]
#[should_panic(expected = "Receiver::blocking_recv")]
fn blocking_recv_inside_a_runtime_names_the_async_method() {
    run(async {
        let (_tx, mut rx) = mpsc::channel::<()>(1);
        let _ = rx.blocking_recv();
    });
}

/// A task that loops forever on an always-ready `recv` (it sends each value
/// back, so the channel is never empty and `recv` never waits) yields when
/// its budget is spent, so a 10 ms timer and a TCP echo on the same
/// current-thread runtime still run. Without the budget this would hang.
#[test]
fn an_always_ready_recv_loop_does_not_starve_timers_or_io() {
    use futures_util::{AsyncReadExt, AsyncWriteExt};
    within(30, || {
        let rt = common::rt();
        rt.block_on(async {
            let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
            for i in 0..64 {
                tx.send(i).unwrap();
            }
            let spinner = weft::spawn(async move {
                let mut received = 0u64;
                while let Some(value) = rx.recv().await {
                    received += 1;
                    tx.send(value).unwrap();
                }
                received
            });

            weft::time::sleep(std::time::Duration::from_millis(10)).await;

            let (mut client, mut server) = common::pair().await;
            let echo = weft::spawn(async move {
                let mut buf = [0u8; 4];
                server.read_exact(&mut buf).await.unwrap();
                server.write_all(&buf).await.unwrap();
            });
            client.write_all(b"ping").await.unwrap();
            let mut reply = [0u8; 4];
            client.read_exact(&mut reply).await.unwrap();
            assert_eq!(&reply, b"ping");
            echo.await.unwrap();
            assert!(!spinner.is_finished());
            spinner.abort();
        });
    });
}
