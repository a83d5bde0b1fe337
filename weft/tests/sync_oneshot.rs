//! `sync::oneshot`, following tokio's tests/sync_oneshot.rs (renamed to
//! weft; each test runs bounded in time).
#![warn(rust_2018_idioms)]

mod common;

use common::within;
use tokio_test::*;
use weft::sync::oneshot;
use weft::sync::oneshot::error::TryRecvError;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs a test body on a current-thread runtime, bounded in time.
fn run(body: impl std::future::Future<Output = ()> + Send + 'static) {
    within(30, move || common::rt().block_on(body))
}

#[allow(unused)]
trait AssertSend: Send {}
impl AssertSend for oneshot::Sender<i32> {}
impl AssertSend for oneshot::Receiver<i32> {}

#[allow(unused)]
trait SenderExt {
    fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()>;
}

impl<T> SenderExt for oneshot::Sender<T> {
    fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        weft::pin! {
            let fut = self.closed();
        }
        fut.poll(cx)
    }
}

#[test]
fn send_recv() {
    within(30, || {
        let (tx, rx) = oneshot::channel();
        let mut rx = task::spawn(rx);

        assert_pending!(rx.poll());

        assert_ok!(tx.send(1));

        assert!(rx.is_woken());

        let val = assert_ready_ok!(rx.poll());
        assert_eq!(val, 1);
    })
}

#[test]
fn async_send_recv() {
    run(async move {
        let (tx, rx) = oneshot::channel();

        assert_ok!(tx.send(1));
        assert_eq!(1, assert_ok!(rx.await));
    })
}

#[test]
fn close_tx() {
    within(30, || {
        let (tx, rx) = oneshot::channel::<i32>();
        let mut rx = task::spawn(rx);

        assert_pending!(rx.poll());

        drop(tx);

        assert!(rx.is_woken());
        assert_ready_err!(rx.poll());
    })
}

#[test]
fn close_rx() {
    within(30, || {
        // First, without checking poll_closed()
        //
        let (tx, _) = oneshot::channel();

        assert_err!(tx.send(1));

        // Second, via poll_closed();

        let (tx, rx) = oneshot::channel();
        let mut tx = task::spawn(tx);

        assert_pending!(tx.enter(|cx, mut tx| tx.poll_closed(cx)));

        drop(rx);

        assert!(tx.is_woken());
        assert!(tx.is_closed());
        assert_ready!(tx.enter(|cx, mut tx| tx.poll_closed(cx)));

        assert_err!(tx.into_inner().send(1));
    })
}

#[test]
fn async_rx_closed() {
    run(async move {
        let (mut tx, rx) = oneshot::channel::<()>();

        weft::spawn(async move {
            drop(rx);
        });

        tx.closed().await;
    })
}

#[test]
fn explicit_close_poll() {
    within(30, || {
        // First, with message sent
        let (tx, rx) = oneshot::channel();
        let mut rx = task::spawn(rx);

        assert_ok!(tx.send(1));

        rx.close();

        let value = assert_ready_ok!(rx.poll());
        assert_eq!(value, 1);

        // Second, without the message sent
        let (tx, rx) = oneshot::channel::<i32>();
        let mut tx = task::spawn(tx);
        let mut rx = task::spawn(rx);

        assert_pending!(tx.enter(|cx, mut tx| tx.poll_closed(cx)));

        rx.close();

        assert!(tx.is_woken());
        assert!(tx.is_closed());
        assert_ready!(tx.enter(|cx, mut tx| tx.poll_closed(cx)));

        assert_err!(tx.into_inner().send(1));
        assert_ready_err!(rx.poll());

        // Again, but without sending the value this time
        let (tx, rx) = oneshot::channel::<i32>();
        let mut tx = task::spawn(tx);
        let mut rx = task::spawn(rx);

        assert_pending!(tx.enter(|cx, mut tx| tx.poll_closed(cx)));

        rx.close();

        assert!(tx.is_woken());
        assert!(tx.is_closed());
        assert_ready!(tx.enter(|cx, mut tx| tx.poll_closed(cx)));

        assert_ready_err!(rx.poll());
    })
}

#[test]
fn explicit_close_try_recv() {
    within(30, || {
        // First, with message sent
        let (tx, mut rx) = oneshot::channel();

        assert_ok!(tx.send(1));

        rx.close();

        let val = assert_ok!(rx.try_recv());
        assert_eq!(1, val);

        // Second, without the message sent
        let (tx, mut rx) = oneshot::channel::<i32>();
        let mut tx = task::spawn(tx);

        assert_pending!(tx.enter(|cx, mut tx| tx.poll_closed(cx)));

        rx.close();

        assert!(tx.is_woken());
        assert!(tx.is_closed());
        assert_ready!(tx.enter(|cx, mut tx| tx.poll_closed(cx)));

        assert_err!(rx.try_recv());
    })
}

#[test]
#[should_panic(expected = "called after complete")]
fn close_try_recv_poll() {
    within(30, || {
        let (_tx, rx) = oneshot::channel::<i32>();
        let mut rx = task::spawn(rx);

        rx.close();

        assert_err!(rx.try_recv());

        let _ = rx.poll();
    })
}

#[test]
fn close_after_recv() {
    within(30, || {
        let (tx, mut rx) = oneshot::channel::<i32>();

        tx.send(17).unwrap();

        assert_eq!(17, rx.try_recv().unwrap());
        rx.close();
    })
}

#[test]
fn try_recv_after_completion() {
    within(30, || {
        let (tx, mut rx) = oneshot::channel::<i32>();

        tx.send(17).unwrap();

        assert_eq!(17, rx.try_recv().unwrap());
        assert_eq!(Err(TryRecvError::Closed), rx.try_recv());
        rx.close();
    })
}

#[test]
fn try_recv_after_completion_await() {
    within(30, || {
        let (tx, rx) = oneshot::channel::<i32>();
        let mut rx = task::spawn(rx);

        tx.send(17).unwrap();

        assert_eq!(Ok(17), assert_ready!(rx.poll()));
        assert_eq!(Err(TryRecvError::Closed), rx.try_recv());
        rx.close();
    })
}

#[test]
fn drops_tasks() {
    within(30, || {
        let (mut tx, mut rx) = oneshot::channel::<i32>();
        let mut tx_task = task::spawn(());
        let mut rx_task = task::spawn(());

        assert_pending!(tx_task.enter(|cx, _| tx.poll_closed(cx)));
        assert_pending!(rx_task.enter(|cx, _| Pin::new(&mut rx).poll(cx)));

        drop(tx);
        drop(rx);

        assert_eq!(1, tx_task.waker_ref_count());
        assert_eq!(1, rx_task.waker_ref_count());
    })
}

#[test]
fn receiver_changes_task() {
    within(30, || {
        let (tx, mut rx) = oneshot::channel();

        let mut task1 = task::spawn(());
        let mut task2 = task::spawn(());

        assert_pending!(task1.enter(|cx, _| Pin::new(&mut rx).poll(cx)));

        assert_eq!(2, task1.waker_ref_count());
        assert_eq!(1, task2.waker_ref_count());

        assert_pending!(task2.enter(|cx, _| Pin::new(&mut rx).poll(cx)));

        assert_eq!(1, task1.waker_ref_count());
        assert_eq!(2, task2.waker_ref_count());

        assert_ok!(tx.send(1));

        assert!(!task1.is_woken());
        assert!(task2.is_woken());

        assert_ready_ok!(task2.enter(|cx, _| Pin::new(&mut rx).poll(cx)));
    })
}

#[test]
fn sender_changes_task() {
    within(30, || {
        let (mut tx, rx) = oneshot::channel::<i32>();

        let mut task1 = task::spawn(());
        let mut task2 = task::spawn(());

        assert_pending!(task1.enter(|cx, _| tx.poll_closed(cx)));

        assert_eq!(2, task1.waker_ref_count());
        assert_eq!(1, task2.waker_ref_count());

        assert_pending!(task2.enter(|cx, _| tx.poll_closed(cx)));

        assert_eq!(1, task1.waker_ref_count());
        assert_eq!(2, task2.waker_ref_count());

        drop(rx);

        assert!(!task1.is_woken());
        assert!(task2.is_woken());

        assert_ready!(task2.enter(|cx, _| tx.poll_closed(cx)));
    })
}

#[test]
fn receiver_is_terminated_send() {
    within(30, || {
        let (tx, mut rx) = oneshot::channel::<i32>();

        assert!(
            !rx.is_terminated(),
            "channel is NOT terminated before value is sent"
        );
        tx.send(17).unwrap();
        assert!(
            !rx.is_terminated(),
            "channel is NOT terminated after value is sent"
        );

        let mut task = task::spawn(());
        let poll = task.enter(|cx, _| Pin::new(&mut rx).poll(cx));
        assert_ready_eq!(poll, Ok(17));

        assert!(
            rx.is_terminated(),
            "channel IS terminated after value is read"
        );
    })
}

#[test]
fn receiver_is_terminated_try_recv() {
    within(30, || {
        let (tx, mut rx) = oneshot::channel::<i32>();

        assert!(
            !rx.is_terminated(),
            "channel is NOT terminated before value is sent"
        );
        tx.send(17).unwrap();
        assert!(
            !rx.is_terminated(),
            "channel is NOT terminated after value is sent"
        );

        let value = rx.try_recv().expect("value is waiting");
        assert_eq!(value, 17);

        assert!(
            rx.is_terminated(),
            "channel IS terminated after value is read"
        );
    })
}

#[test]
fn receiver_is_terminated_drop() {
    within(30, || {
        let (tx, mut rx) = oneshot::channel::<i32>();

        assert!(
            !rx.is_terminated(),
            "channel is NOT terminated before sender is dropped"
        );
        drop(tx);
        assert!(
            !rx.is_terminated(),
            "channel is NOT terminated after sender is dropped"
        );

        let mut task = task::spawn(());
        let poll = task.enter(|cx, _| Pin::new(&mut rx).poll(cx));
        assert_ready_err!(poll);

        assert!(
            rx.is_terminated(),
            "channel IS terminated after value is read"
        );
    })
}

#[test]
fn receiver_is_terminated_rx_close() {
    within(30, || {
        let (_tx, mut rx) = oneshot::channel::<i32>();
        assert!(
            !rx.is_terminated(),
            "channel is NOT terminated before closing"
        );
        rx.close();
        assert!(
            !rx.is_terminated(),
            "channel is NOT terminated before closing"
        );

        let mut task = task::spawn(());
        let poll = task.enter(|cx, _| Pin::new(&mut rx).poll(cx));
        assert_ready_err!(poll);

        assert!(
            rx.is_terminated(),
            "channel IS terminated after value is read"
        );
    })
}

#[test]
fn receiver_is_empty_send() {
    within(30, || {
        let (tx, mut rx) = oneshot::channel::<i32>();

        assert!(rx.is_empty(), "channel IS empty before value is sent");
        tx.send(17).unwrap();
        assert!(!rx.is_empty(), "channel is NOT empty after value is sent");

        let mut task = task::spawn(());
        let poll = task.enter(|cx, _| Pin::new(&mut rx).poll(cx));
        assert_ready_eq!(poll, Ok(17));

        assert!(rx.is_empty(), "channel IS empty after value is read");
    })
}

#[test]
fn receiver_is_empty_try_recv() {
    within(30, || {
        let (tx, mut rx) = oneshot::channel::<i32>();

        assert!(rx.is_empty(), "channel IS empty before value is sent");
        tx.send(17).unwrap();
        assert!(!rx.is_empty(), "channel is NOT empty after value is sent");

        let value = rx.try_recv().expect("value is waiting");
        assert_eq!(value, 17);

        assert!(rx.is_empty(), "channel IS empty after value is read");
    })
}

#[test]
fn receiver_is_empty_drop() {
    within(30, || {
        let (tx, mut rx) = oneshot::channel::<i32>();

        assert!(rx.is_empty(), "channel IS empty before sender is dropped");
        drop(tx);
        assert!(rx.is_empty(), "channel IS empty after sender is dropped");

        let mut task = task::spawn(());
        let poll = task.enter(|cx, _| Pin::new(&mut rx).poll(cx));
        assert_ready_err!(poll);

        assert!(rx.is_empty(), "channel IS empty after value is read");
    })
}

#[test]
fn receiver_is_empty_rx_close() {
    within(30, || {
        let (_tx, mut rx) = oneshot::channel::<i32>();
        assert!(rx.is_empty());
        rx.close();
        assert!(rx.is_empty());
    })
}
