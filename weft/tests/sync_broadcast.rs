//! `sync::broadcast`, following tokio's tests/sync_broadcast.rs and
//! tests/sync_broadcast_weak.rs (renamed to weft; each test runs bounded in
//! time).
#![allow(clippy::cognitive_complexity)]
#![allow(clippy::redundant_clone)]
#![warn(rust_2018_idioms)]

mod common;

use common::within;
use tokio_test::task;
use tokio_test::{
    assert_err, assert_ok, assert_pending, assert_ready, assert_ready_err, assert_ready_ok,
};
use weft::sync::broadcast;

use std::sync::Arc;

/// Runs a test body on a current-thread runtime, bounded in time.
fn run(body: impl std::future::Future<Output = ()> + Send + 'static) {
    within(30, move || common::rt().block_on(body))
}

macro_rules! assert_recv {
    ($e:expr) => {
        match $e.try_recv() {
            Ok(value) => value,
            Err(e) => panic!("expected recv; got = {:?}", e),
        }
    };
}

macro_rules! assert_empty {
    ($e:expr) => {
        match $e.try_recv() {
            Ok(value) => panic!("expected empty; got = {:?}", value),
            Err(broadcast::error::TryRecvError::Empty) => {}
            Err(e) => panic!("expected empty; got = {:?}", e),
        }
    };
}

macro_rules! assert_lagged {
    ($e:expr, $n:expr) => {
        match assert_err!($e) {
            broadcast::error::TryRecvError::Lagged(n) => {
                assert_eq!(n, $n);
            }
            _ => panic!("did not lag"),
        }
    };
}

macro_rules! assert_closed {
    ($e:expr) => {
        match assert_err!($e) {
            broadcast::error::TryRecvError::Closed => {}
            _ => panic!("is not closed"),
        }
    };
}

#[allow(unused)]
trait AssertSend: Send + Sync {}
impl AssertSend for broadcast::Sender<i32> {}
impl AssertSend for broadcast::Receiver<i32> {}
impl AssertSend for broadcast::WeakSender<i32> {}

#[test]
fn send_try_recv_bounded() {
    within(30, || {
        let (tx, mut rx) = broadcast::channel(16);

        assert_empty!(rx);

        let n = assert_ok!(tx.send("hello"));
        assert_eq!(n, 1);

        let val = assert_recv!(rx);
        assert_eq!(val, "hello");

        assert_empty!(rx);
    })
}

#[test]
fn send_two_recv() {
    within(30, || {
        let (tx, mut rx1) = broadcast::channel(16);
        let mut rx2 = tx.subscribe();

        assert_empty!(rx1);
        assert_empty!(rx2);

        let n = assert_ok!(tx.send("hello"));
        assert_eq!(n, 2);

        let val = assert_recv!(rx1);
        assert_eq!(val, "hello");

        let val = assert_recv!(rx2);
        assert_eq!(val, "hello");

        assert_empty!(rx1);
        assert_empty!(rx2);
    })
}

#[test]
fn send_recv_bounded() {
    within(30, || {
        let (tx, mut rx) = broadcast::channel(16);

        let mut recv = task::spawn(rx.recv());

        assert_pending!(recv.poll());

        assert_ok!(tx.send("hello"));

        assert!(recv.is_woken());
        let val = assert_ready_ok!(recv.poll());
        assert_eq!(val, "hello");
    })
}

#[test]
fn send_two_recv_bounded() {
    within(30, || {
        let (tx, mut rx1) = broadcast::channel(16);
        let mut rx2 = tx.subscribe();

        let mut recv1 = task::spawn(rx1.recv());
        let mut recv2 = task::spawn(rx2.recv());

        assert_pending!(recv1.poll());
        assert_pending!(recv2.poll());

        assert_ok!(tx.send("hello"));

        assert!(recv1.is_woken());
        assert!(recv2.is_woken());

        let val1 = assert_ready_ok!(recv1.poll());
        let val2 = assert_ready_ok!(recv2.poll());
        assert_eq!(val1, "hello");
        assert_eq!(val2, "hello");

        drop((recv1, recv2));

        let mut recv1 = task::spawn(rx1.recv());
        let mut recv2 = task::spawn(rx2.recv());

        assert_pending!(recv1.poll());

        assert_ok!(tx.send("world"));

        assert!(recv1.is_woken());
        assert!(!recv2.is_woken());

        let val1 = assert_ready_ok!(recv1.poll());
        let val2 = assert_ready_ok!(recv2.poll());
        assert_eq!(val1, "world");
        assert_eq!(val2, "world");
    })
}

#[test]
fn change_tasks() {
    within(30, || {
        let (tx, mut rx) = broadcast::channel(1);

        let mut recv = Box::pin(rx.recv());

        let mut task1 = task::spawn(&mut recv);
        assert_pending!(task1.poll());

        let mut task2 = task::spawn(&mut recv);
        assert_pending!(task2.poll());

        tx.send("hello").unwrap();

        assert!(task2.is_woken());
    })
}

#[test]
fn send_slow_rx() {
    within(30, || {
        let (tx, mut rx1) = broadcast::channel(16);
        let mut rx2 = tx.subscribe();

        {
            let mut recv2 = task::spawn(rx2.recv());

            {
                let mut recv1 = task::spawn(rx1.recv());

                assert_pending!(recv1.poll());
                assert_pending!(recv2.poll());

                assert_ok!(tx.send("one"));

                assert!(recv1.is_woken());
                assert!(recv2.is_woken());

                assert_ok!(tx.send("two"));

                let val = assert_ready_ok!(recv1.poll());
                assert_eq!(val, "one");
            }

            let val = assert_ready_ok!(task::spawn(rx1.recv()).poll());
            assert_eq!(val, "two");

            let mut recv1 = task::spawn(rx1.recv());

            assert_pending!(recv1.poll());

            assert_ok!(tx.send("three"));

            assert!(recv1.is_woken());

            let val = assert_ready_ok!(recv1.poll());
            assert_eq!(val, "three");

            let val = assert_ready_ok!(recv2.poll());
            assert_eq!(val, "one");
        }

        let val = assert_recv!(rx2);
        assert_eq!(val, "two");

        let val = assert_recv!(rx2);
        assert_eq!(val, "three");
    })
}

#[test]
fn drop_rx_while_values_remain() {
    within(30, || {
        let (tx, mut rx1) = broadcast::channel(16);
        let mut rx2 = tx.subscribe();

        assert_ok!(tx.send("one"));
        assert_ok!(tx.send("two"));

        assert_recv!(rx1);
        assert_recv!(rx2);

        drop(rx2);
        drop(rx1);
    })
}

#[test]
fn lagging_rx() {
    within(30, || {
        let (tx, mut rx1) = broadcast::channel(2);
        let mut rx2 = tx.subscribe();

        assert_ok!(tx.send("one"));
        assert_ok!(tx.send("two"));

        assert_eq!("one", assert_recv!(rx1));

        assert_ok!(tx.send("three"));

        // Lagged too far
        let x = dbg!(rx2.try_recv());
        assert_lagged!(x, 1);

        // Calling again gets the next value
        assert_eq!("two", assert_recv!(rx2));

        assert_eq!("two", assert_recv!(rx1));
        assert_eq!("three", assert_recv!(rx1));

        assert_ok!(tx.send("four"));
        assert_ok!(tx.send("five"));

        assert_lagged!(rx2.try_recv(), 1);

        assert_ok!(tx.send("six"));

        assert_lagged!(rx2.try_recv(), 1);
    })
}

#[test]
fn send_no_rx() {
    within(30, || {
        let (tx, _) = broadcast::channel(16);

        assert_err!(tx.send("hello"));

        let mut rx = tx.subscribe();

        assert_ok!(tx.send("world"));

        let val = assert_recv!(rx);
        assert_eq!("world", val);
    })
}

#[test]
#[should_panic(expected = "broadcast channel capacity cannot be zero")]
fn zero_capacity() {
    within(30, || {
        broadcast::channel::<()>(0);
    })
}

#[test]
#[should_panic(expected = "broadcast channel capacity exceeded")]
fn capacity_too_big() {
    within(30, || {
        broadcast::channel::<()>(1 + (usize::MAX >> 1));
    })
}

#[test]
#[cfg(panic = "unwind")]
fn panic_in_clone() {
    within(30, || {
        use std::panic::{self, AssertUnwindSafe};

        #[derive(Eq, PartialEq, Debug)]
        struct MyVal(usize);

        impl Clone for MyVal {
            fn clone(&self) -> MyVal {
                assert_ne!(0, self.0);
                MyVal(self.0)
            }
        }

        let (tx, mut rx) = broadcast::channel(16);

        assert_ok!(tx.send(MyVal(0)));
        assert_ok!(tx.send(MyVal(1)));

        let res = panic::catch_unwind(AssertUnwindSafe(|| {
            let _ = rx.try_recv();
        }));

        assert_err!(res);

        let val = assert_recv!(rx);
        assert_eq!(val, MyVal(1));
    })
}

#[test]
fn dropping_tx_notifies_rx() {
    within(30, || {
        let (tx, mut rx1) = broadcast::channel::<()>(16);
        let mut rx2 = tx.subscribe();

        let tx2 = tx.clone();

        let mut recv1 = task::spawn(rx1.recv());
        let mut recv2 = task::spawn(rx2.recv());

        assert_pending!(recv1.poll());
        assert_pending!(recv2.poll());

        drop(tx);

        assert_pending!(recv1.poll());
        assert_pending!(recv2.poll());

        drop(tx2);

        assert!(recv1.is_woken());
        assert!(recv2.is_woken());

        let err = assert_ready_err!(recv1.poll());
        assert!(is_closed(err));

        let err = assert_ready_err!(recv2.poll());
        assert!(is_closed(err));
    })
}

#[test]
fn unconsumed_messages_are_dropped() {
    within(30, || {
        let (tx, rx) = broadcast::channel(16);

        let msg = Arc::new(());

        assert_ok!(tx.send(msg.clone()));

        assert_eq!(2, Arc::strong_count(&msg));

        drop(rx);

        assert_eq!(1, Arc::strong_count(&msg));
    })
}

#[test]
fn single_capacity_recvs() {
    within(30, || {
        let (tx, mut rx) = broadcast::channel(1);

        assert_ok!(tx.send(1));

        assert_eq!(assert_recv!(rx), 1);
        assert_empty!(rx);
    })
}

#[test]
fn single_capacity_recvs_after_drop_1() {
    within(30, || {
        let (tx, mut rx) = broadcast::channel(1);

        assert_ok!(tx.send(1));
        drop(tx);

        assert_eq!(assert_recv!(rx), 1);
        assert_closed!(rx.try_recv());
    })
}

#[test]
fn single_capacity_recvs_after_drop_2() {
    within(30, || {
        let (tx, mut rx) = broadcast::channel(1);

        assert_ok!(tx.send(1));
        assert_ok!(tx.send(2));
        drop(tx);

        assert_lagged!(rx.try_recv(), 1);
        assert_eq!(assert_recv!(rx), 2);
        assert_closed!(rx.try_recv());
    })
}

#[test]
fn dropping_sender_does_not_overwrite() {
    within(30, || {
        let (tx, mut rx) = broadcast::channel(2);

        assert_ok!(tx.send(1));
        assert_ok!(tx.send(2));
        drop(tx);

        assert_eq!(assert_recv!(rx), 1);
        assert_eq!(assert_recv!(rx), 2);
        assert_closed!(rx.try_recv());
    })
}

#[test]
fn lagging_receiver_recovers_after_wrap_closed_1() {
    within(30, || {
        let (tx, mut rx) = broadcast::channel(2);

        assert_ok!(tx.send(1));
        assert_ok!(tx.send(2));
        assert_ok!(tx.send(3));
        drop(tx);

        assert_lagged!(rx.try_recv(), 1);
        assert_eq!(assert_recv!(rx), 2);
        assert_eq!(assert_recv!(rx), 3);
        assert_closed!(rx.try_recv());
    })
}

#[test]
fn lagging_receiver_recovers_after_wrap_closed_2() {
    within(30, || {
        let (tx, mut rx) = broadcast::channel(2);

        assert_ok!(tx.send(1));
        assert_ok!(tx.send(2));
        assert_ok!(tx.send(3));
        assert_ok!(tx.send(4));
        drop(tx);

        assert_lagged!(rx.try_recv(), 2);
        assert_eq!(assert_recv!(rx), 3);
        assert_eq!(assert_recv!(rx), 4);
        assert_closed!(rx.try_recv());
    })
}

#[test]
fn lagging_receiver_recovers_after_wrap_open() {
    within(30, || {
        let (tx, mut rx) = broadcast::channel(2);

        assert_ok!(tx.send(1));
        assert_ok!(tx.send(2));
        assert_ok!(tx.send(3));

        assert_lagged!(rx.try_recv(), 1);
        assert_eq!(assert_recv!(rx), 2);
        assert_eq!(assert_recv!(rx), 3);
        assert_empty!(rx);
    })
}

#[test]
fn receiver_len_with_lagged() {
    within(30, || {
        let (tx, mut rx) = broadcast::channel(3);

        tx.send(10).unwrap();
        tx.send(20).unwrap();
        tx.send(30).unwrap();
        tx.send(40).unwrap();

        assert_eq!(rx.len(), 4);
        assert_eq!(assert_recv!(rx), 10);

        tx.send(50).unwrap();
        tx.send(60).unwrap();

        assert_eq!(rx.len(), 5);
        assert_lagged!(rx.try_recv(), 1);
    })
}

fn is_closed(err: broadcast::error::RecvError) -> bool {
    matches!(err, broadcast::error::RecvError::Closed)
}

#[test]
fn resubscribe_points_to_tail() {
    within(30, || {
        let (tx, mut rx) = broadcast::channel(3);
        tx.send(1).unwrap();

        let mut rx_resub = rx.resubscribe();

        // verify we're one behind at the start
        assert_empty!(rx_resub);
        assert_eq!(assert_recv!(rx), 1);

        // verify we do not affect rx
        tx.send(2).unwrap();
        assert_eq!(assert_recv!(rx_resub), 2);
        tx.send(3).unwrap();
        assert_eq!(assert_recv!(rx), 2);
        assert_eq!(assert_recv!(rx), 3);
        assert_empty!(rx);

        assert_eq!(assert_recv!(rx_resub), 3);
        assert_empty!(rx_resub);
    })
}

#[test]
fn resubscribe_lagged() {
    within(30, || {
        let (tx, mut rx) = broadcast::channel(1);
        tx.send(1).unwrap();
        tx.send(2).unwrap();

        let mut rx_resub = rx.resubscribe();
        assert_lagged!(rx.try_recv(), 1);
        assert_empty!(rx_resub);

        assert_eq!(assert_recv!(rx), 2);
        assert_empty!(rx);
        assert_empty!(rx_resub);
    })
}

#[test]
fn resubscribe_to_closed_channel() {
    within(30, || {
        let (tx, rx) = weft::sync::broadcast::channel::<u32>(2);
        drop(tx);

        let mut rx_resub = rx.resubscribe();
        assert_closed!(rx_resub.try_recv());
    })
}

#[test]
fn sender_len() {
    within(30, || {
        let (tx, mut rx1) = broadcast::channel(4);
        let mut rx2 = tx.subscribe();

        assert_eq!(tx.len(), 0);
        assert!(tx.is_empty());

        tx.send(1).unwrap();
        tx.send(2).unwrap();
        tx.send(3).unwrap();

        assert_eq!(tx.len(), 3);
        assert!(!tx.is_empty());

        assert_recv!(rx1);
        assert_recv!(rx1);

        assert_eq!(tx.len(), 3);
        assert!(!tx.is_empty());

        assert_recv!(rx2);

        assert_eq!(tx.len(), 2);
        assert!(!tx.is_empty());

        tx.send(4).unwrap();
        tx.send(5).unwrap();
        tx.send(6).unwrap();

        assert_eq!(tx.len(), 4);
        assert!(!tx.is_empty());
    })
}

#[test]
fn sender_len_random() {
    within(30, || {
        let (tx, mut rx1) = broadcast::channel(16);
        let mut rx2 = tx.subscribe();

        // tokio draws from `rand`; a seeded xorshift here.
        let mut rng = common::Rng(0x5eed_1234_abcd);
        for _ in 0..1000 {
            match rng.below(4) {
                0 => {
                    let _ = rx1.try_recv();
                }
                1 => {
                    let _ = rx2.try_recv();
                }
                _ => {
                    tx.send(0).unwrap();
                }
            }

            let expected_len = usize::min(usize::max(rx1.len(), rx2.len()), 16);
            assert_eq!(tx.len(), expected_len);
        }
    })
}

#[test]
fn send_in_waker_drop() {
    within(30, || {
        use futures_util::task::ArcWake;
        use std::future::Future;
        use std::task::Context;

        struct SendOnDrop(broadcast::Sender<()>);

        impl Drop for SendOnDrop {
            fn drop(&mut self) {
                let _ = self.0.send(());
            }
        }

        impl ArcWake for SendOnDrop {
            fn wake_by_ref(_arc_self: &Arc<Self>) {}
        }

        // Test if there is no deadlock when replacing the old waker.

        let (tx, mut rx) = broadcast::channel(16);

        let mut fut = Box::pin(async {
            let _ = rx.recv().await;
        });

        // Store our special waker in the receiving future.
        let waker = futures_util::task::waker(Arc::new(SendOnDrop(tx)));
        let mut cx = Context::from_waker(&waker);
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        drop(waker);

        // Second poll shouldn't deadlock.
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        let _ = fut.as_mut().poll(&mut cx);

        // Test if there is no deadlock when calling waker.wake().

        let (tx, mut rx) = broadcast::channel(16);

        let mut fut = Box::pin(async {
            let _ = rx.recv().await;
        });

        // Store our special waker in the receiving future.
        let waker = futures_util::task::waker(Arc::new(SendOnDrop(tx.clone())));
        let mut cx = Context::from_waker(&waker);
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        drop(waker);

        // Shouldn't deadlock.
        let _ = tx.send(());
    })
}

#[test]
fn receiver_recv_is_cooperative() {
    run(async move {
        let (tx, mut rx) = broadcast::channel(8);

        weft::select! {
            biased;
            _ = async {
                loop {
                    assert!(tx.send(()).is_ok());
                    assert!(rx.recv().await.is_ok());
                }
            } => {},
            _ = weft::task::yield_now() => {},
        }
    })
}

#[test]
fn broadcast_sender_closed() {
    within(30, || {
        let (tx, rx) = broadcast::channel::<()>(1);
        let rx2 = tx.subscribe();

        let mut task = task::spawn(tx.closed());
        assert_pending!(task.poll());

        drop(rx);
        assert!(!task.is_woken());
        assert_pending!(task.poll());

        drop(rx2);
        assert!(task.is_woken());
        assert_ready!(task.poll());
    })
}

#[test]
fn broadcast_sender_closed_with_extra_subscribe() {
    within(30, || {
        let (tx, rx) = broadcast::channel::<()>(1);
        let rx2 = tx.subscribe();

        let mut task = task::spawn(tx.closed());
        assert_pending!(task.poll());

        drop(rx);
        assert!(!task.is_woken());
        assert_pending!(task.poll());

        drop(rx2);
        assert!(task.is_woken());

        let rx3 = tx.subscribe();
        assert_pending!(task.poll());

        drop(rx3);
        assert!(task.is_woken());
        assert_ready!(task.poll());

        let mut task2 = task::spawn(tx.closed());
        assert_ready!(task2.poll());

        let rx4 = tx.subscribe();
        let mut task3 = task::spawn(tx.closed());
        assert_pending!(task3.poll());

        drop(rx4);
        assert!(task3.is_woken());
        assert_ready!(task3.poll());
    })
}

#[test]
fn broadcast_sender_new_must_be_closed() {
    run(async move {
        let capacity = 1;
        let tx: broadcast::Sender<()> = broadcast::Sender::new(capacity);

        let mut task = task::spawn(tx.closed());
        assert_ready!(task.poll());

        let _rx = tx.subscribe();

        let mut task2 = task::spawn(tx.closed());
        assert_pending!(task2.poll());
    })
}

// --- Lagging semantics -------------------------------------------------------
//
// Capacity is rounded up to the next power of two. That buffer length is the
// maximum number of messages retained; exceeding it overwrites the oldest
// message and causes RecvError::Lagged / TryRecvError::Lagged on the slow
// receiver. After Lagged, the cursor points at the oldest retained message.

/// A slow receiver that stays within the ring buffer receives every message
/// in order; lagging only begins once the buffer wraps past the receiver.
#[test]
fn slow_receiver_within_capacity_does_not_lag() {
    within(30, || {
        // capacity 2 → buffer length 2
        let (tx, mut slow) = broadcast::channel(2);
        let mut fast = tx.subscribe();

        assert_ok!(tx.send(1));
        assert_ok!(tx.send(2));

        // Fast keeps up; slow has not read yet but both messages are still retained.
        assert_eq!(assert_recv!(fast), 1);
        assert_eq!(assert_recv!(fast), 2);
        assert_empty!(fast);

        assert_eq!(assert_recv!(slow), 1);
        assert_eq!(assert_recv!(slow), 2);
        assert_empty!(slow);
    })
}

/// When sends overwrite the oldest retained values, the slow receiver sees
/// Lagged(n) with the correct miss count, then resumes from the oldest
/// retained message in send order.
#[test]
fn capacity_overflow_reports_lagged_then_oldest_retained() {
    within(30, || {
        // capacity 2 → buffer length 2; third send overwrites the first.
        let (tx, mut rx) = broadcast::channel(2);

        assert_ok!(tx.send(10));
        assert_ok!(tx.send(20));
        assert_ok!(tx.send(30));

        assert_lagged!(rx.try_recv(), 1);
        // After Lagged, cursor is at oldest retained (20).
        assert_eq!(assert_recv!(rx), 20);
        assert_eq!(assert_recv!(rx), 30);
        assert_empty!(rx);
    })
}

/// Lagged(n) counts every overwritten message since the receiver's previous
/// cursor, not merely "at least one".
#[test]
fn lagged_count_matches_number_of_overwritten_messages() {
    within(30, || {
        // capacity 4 → buffer length 4
        let (tx, mut rx) = broadcast::channel(4);

        for i in 1..=4 {
            assert_ok!(tx.send(i));
        }
        // Still within capacity: no lag.
        assert_eq!(assert_recv!(rx), 1);

        // Send four more without reading: overwrites 2, 3, 4, and then the slot
        // that held 1 (already consumed). Receiver still owed 2,3,4 — all gone —
        // so it missed 3 messages; oldest retained is 5.
        for i in 5..=8 {
            assert_ok!(tx.send(i));
        }

        assert_lagged!(rx.try_recv(), 3);
        assert_eq!(assert_recv!(rx), 5);
        assert_eq!(assert_recv!(rx), 6);
        assert_eq!(assert_recv!(rx), 7);
        assert_eq!(assert_recv!(rx), 8);
        assert_empty!(rx);
    })
}

/// Non-power-of-two capacity is rounded up; lag detection uses the rounded
/// buffer length (e.g. capacity 3 → buffer 4).
#[test]
fn lag_uses_power_of_two_buffer_length() {
    within(30, || {
        // capacity 3 → buffer length 4
        let (tx, mut rx) = broadcast::channel(3);

        for i in 1..=4 {
            assert_ok!(tx.send(i));
        }
        // Four messages fit in the rounded buffer; no lag yet.
        assert_eq!(rx.len(), 4);
        assert_eq!(assert_recv!(rx), 1);

        // After reading 1, next points at 2. Buffer holds 2,3,4,5 — still no lag.
        assert_ok!(tx.send(5));
        assert_eq!(rx.len(), 4);

        // Overwrites 2; receiver still wants 2 → Lagged(1), resume at 3.
        assert_ok!(tx.send(6));
        assert_eq!(rx.len(), 5);
        assert_lagged!(rx.try_recv(), 1);
        assert_eq!(assert_recv!(rx), 3);
        assert_eq!(assert_recv!(rx), 4);
        assert_eq!(assert_recv!(rx), 5);
        assert_eq!(assert_recv!(rx), 6);
        assert_empty!(rx);
    })
}

/// Async `recv` reports the same Lagged semantics as `try_recv`.
#[test]
fn async_recv_lagged_then_resumes_from_oldest_retained() {
    run(async move {
        use broadcast::error::RecvError;

        let (tx, mut rx) = broadcast::channel(2);

        assert_ok!(tx.send(10));
        assert_ok!(tx.send(20));
        assert_ok!(tx.send(30));

        assert!(matches!(rx.recv().await, Err(RecvError::Lagged(1))));
        assert_eq!(rx.recv().await.unwrap(), 20);
        assert_eq!(rx.recv().await.unwrap(), 30);
    })
}

/// A receiver that lags, catches up, then lags again reports a fresh miss
/// count based on the new gap only.
#[test]
fn lag_catch_up_then_lag_again() {
    within(30, || {
        let (tx, mut rx) = broadcast::channel(2);

        assert_ok!(tx.send(1));
        assert_ok!(tx.send(2));
        assert_ok!(tx.send(3));

        assert_lagged!(rx.try_recv(), 1);
        assert_eq!(assert_recv!(rx), 2);
        assert_eq!(assert_recv!(rx), 3);
        assert_empty!(rx);

        // Fully caught up; another overflow lags again from a clean cursor.
        assert_ok!(tx.send(4));
        assert_ok!(tx.send(5));
        assert_ok!(tx.send(6));

        assert_lagged!(rx.try_recv(), 1);
        assert_eq!(assert_recv!(rx), 5);
        assert_eq!(assert_recv!(rx), 6);
        assert_empty!(rx);
    })
}

/// Only the slow receiver lags; a caught-up receiver is unaffected.
#[test]
fn lag_is_per_receiver() {
    within(30, || {
        let (tx, mut slow) = broadcast::channel(2);
        let mut fast = tx.subscribe();

        assert_ok!(tx.send(1));
        assert_ok!(tx.send(2));

        assert_eq!(assert_recv!(fast), 1);
        assert_eq!(assert_recv!(fast), 2);

        assert_ok!(tx.send(3));
        assert_ok!(tx.send(4));
        // Fast has read through 2; buffer holds 3,4 — no lag.
        assert_eq!(assert_recv!(fast), 3);
        assert_eq!(assert_recv!(fast), 4);

        // Slow never read; 1 and 2 were overwritten → Lagged(2), oldest is 3.
        assert_lagged!(slow.try_recv(), 2);
        assert_eq!(assert_recv!(slow), 3);
        assert_eq!(assert_recv!(slow), 4);
        assert_empty!(slow);
        assert_empty!(fast);
    })
}

/// If the receiver lags and more messages are sent before it reads the
/// Lagged error's "resume" position, a second Lagged reflects the additional
/// overwrites since the cursor was advanced.
#[test]
fn lag_again_before_reading_retained_messages() {
    within(30, || {
        let (tx, mut rx) = broadcast::channel(2);

        assert_ok!(tx.send(1));
        assert_ok!(tx.send(2));
        assert_ok!(tx.send(3));

        // First lag: miss 1, cursor advances to oldest retained (value 2).
        assert_lagged!(rx.try_recv(), 1);

        // Before reading 2/3, send enough to overwrite them (and one more).
        assert_ok!(tx.send(4));
        assert_ok!(tx.send(5));
        assert_ok!(tx.send(6));

        // Cursor was at value 2; values 2, 3, and 4 are gone; oldest retained is 5.
        assert_lagged!(rx.try_recv(), 3);
        assert_eq!(assert_recv!(rx), 5);
        assert_eq!(assert_recv!(rx), 6);
        assert_empty!(rx);
    })
}

/// With capacity 1 (buffer length 1), every send after the first unread one
/// causes a lag of exactly one when the receiver finally reads.
#[test]
fn single_slot_capacity_lag_semantics() {
    within(30, || {
        let (tx, mut rx) = broadcast::channel(1);

        assert_ok!(tx.send(1));
        assert_eq!(assert_recv!(rx), 1);

        assert_ok!(tx.send(2));
        assert_ok!(tx.send(3));

        assert_lagged!(rx.try_recv(), 1);
        assert_eq!(assert_recv!(rx), 3);
        assert_empty!(rx);
    })
}

/// `len` after lagging still counts from the old cursor until Lagged is
/// observed and the cursor advances; then `len` reflects retained messages.
#[test]
fn receiver_len_after_lag_error_advances_cursor() {
    within(30, || {
        let (tx, mut rx) = broadcast::channel(2);

        assert_ok!(tx.send(1));
        assert_ok!(tx.send(2));
        assert_ok!(tx.send(3));
        assert_ok!(tx.send(4));

        // Missed 1 and 2; buffer holds 3,4. len counts from old cursor.
        assert_eq!(rx.len(), 4);
        assert_lagged!(rx.try_recv(), 2);
        // Cursor now at oldest retained (3); two messages remain.
        assert_eq!(rx.len(), 2);
        assert_eq!(assert_recv!(rx), 3);
        assert_eq!(rx.len(), 1);
        assert_eq!(assert_recv!(rx), 4);
        assert_eq!(rx.len(), 0);
    })
}

/// tokio's tests/sync_broadcast_weak.rs.
mod weak {
    use super::{run, within};
    use weft::sync::broadcast::{self, channel};

    #[test]
    fn weak_sender() {
        run(async move {
            let (tx, mut rx) = channel(11);

            let tx_weak = weft::spawn(async move {
                let tx_weak = tx.clone().downgrade();

                for i in 0..10 {
                    if tx.send(i).is_err() {
                        return None;
                    }
                }

                let tx2 = tx_weak
                    .upgrade()
                    .expect("expected to be able to upgrade tx_weak");
                let _ = tx2.send(20);
                let tx_weak = tx2.downgrade();

                Some(tx_weak)
            })
            .await
            .unwrap();

            for i in 0..12 {
                let recvd = rx.recv().await;

                match recvd {
                    Ok(msg) => {
                        if i == 10 {
                            assert_eq!(msg, 20);
                        }
                    }
                    Err(_) => {
                        assert_eq!(i, 11);
                        break;
                    }
                }
            }

            let tx_weak = tx_weak.unwrap();
            let upgraded = tx_weak.upgrade();
            assert!(upgraded.is_none());
        })
    }

    // Tests that a `WeakSender` fails to upgrade when no other `Sender` exists.
    #[test]
    fn downgrade_upgrade_sender_failure() {
        within(30, || {
            let (tx, _rx) = broadcast::channel::<i32>(1);
            let weak_tx = tx.downgrade();
            drop(tx);
            assert!(weak_tx.upgrade().is_none());
        })
    }

    // Tests that a `WeakSender` cannot be upgraded after a `Sender` was dropped,
    // which existed at the time of the `downgrade` call.
    #[test]
    fn downgrade_drop_upgrade() {
        within(30, || {
            let (tx, _rx) = broadcast::channel::<i32>(1);

            // the cloned `Tx` is dropped right away
            let weak_tx = tx.clone().downgrade();
            drop(tx);
            assert!(weak_tx.upgrade().is_none());
        })
    }

    // Tests that `downgrade` does not change the `strong_count` of the channel.
    #[test]
    fn test_tx_count_weak_sender() {
        within(30, || {
            let (tx, _rx) = broadcast::channel::<i32>(1);
            let tx_weak = tx.downgrade();
            let tx_weak2 = tx.downgrade();
            assert_eq!(tx.strong_count(), 1);
            assert_eq!(tx.weak_count(), 2);

            drop(tx);

            assert!(tx_weak.upgrade().is_none());
            assert!(tx_weak2.upgrade().is_none());
            assert_eq!(tx_weak.strong_count(), 0);
            assert_eq!(tx_weak.weak_count(), 2);
        })
    }

    #[test]
    fn test_rx_is_closed_when_dropping_all_senders_except_weak_senders() {
        run(async move {
            let (tx, rx) = broadcast::channel::<()>(10);
            let weak_sender = tx.clone().downgrade();
            drop(tx);
            // is_closed should return true after dropping all senders except for a weak sender.
            // The strong count should be 0 while the weak count should remain at 1.
            assert_eq!(weak_sender.strong_count(), 0);
            assert_eq!(weak_sender.weak_count(), 1);
            assert!(rx.is_closed());
        })
    }

    #[test]
    fn sender_strong_count_when_cloned() {
        run(async move {
            let (tx, rx) = broadcast::channel::<()>(1);

            let tx2 = tx.clone();

            assert_eq!(tx.strong_count(), 2);
            assert_eq!(tx2.strong_count(), 2);
            assert_eq!(rx.sender_strong_count(), 2);
        })
    }

    #[test]
    fn sender_weak_count_when_downgraded() {
        run(async move {
            let (tx, _rx) = broadcast::channel::<()>(1);

            let weak = tx.downgrade();

            assert_eq!(tx.weak_count(), 1);
            assert_eq!(weak.weak_count(), 1);
        })
    }

    #[test]
    fn sender_strong_count_when_dropped() {
        run(async move {
            let (tx, rx) = broadcast::channel::<()>(1);

            let tx2 = tx.clone();

            drop(tx2);

            assert_eq!(tx.strong_count(), 1);
            assert_eq!(rx.sender_strong_count(), 1);
        })
    }

    #[test]
    fn sender_weak_count_when_dropped() {
        run(async move {
            let (tx, rx) = broadcast::channel::<()>(1);

            let weak = tx.downgrade();

            drop(weak);

            assert_eq!(tx.weak_count(), 0);
            assert_eq!(rx.sender_weak_count(), 0);
        })
    }

    #[test]
    fn sender_strong_and_weak_conut() {
        run(async move {
            let (tx, rx) = broadcast::channel::<()>(1);

            let tx2 = tx.clone();

            let weak = tx.downgrade();
            let weak2 = tx2.downgrade();

            assert_eq!(tx.strong_count(), 2);
            assert_eq!(tx2.strong_count(), 2);
            assert_eq!(weak.strong_count(), 2);
            assert_eq!(weak2.strong_count(), 2);
            assert_eq!(rx.sender_strong_count(), 2);

            assert_eq!(tx.weak_count(), 2);
            assert_eq!(tx2.weak_count(), 2);
            assert_eq!(weak.weak_count(), 2);
            assert_eq!(weak2.weak_count(), 2);
            assert_eq!(rx.sender_weak_count(), 2);

            drop(tx2);
            drop(weak2);

            assert_eq!(tx.strong_count(), 1);
            assert_eq!(weak.strong_count(), 1);
            assert_eq!(rx.sender_strong_count(), 1);

            assert_eq!(tx.weak_count(), 1);
            assert_eq!(weak.weak_count(), 1);
            assert_eq!(rx.sender_weak_count(), 1);
        })
    }
}

// ---- weft's own tests ----

/// Four receivers on their own threads, a small ring and a fast sender:
/// each receiver sees the values in order, and every value it did not see
/// is accounted for by a `Lagged(n)` (values seen + lagged = values sent).
#[test]
fn lagging_receivers_account_for_every_value_across_threads() {
    use weft::sync::broadcast::error::RecvError;
    const SENT: u64 = 20_000;
    within(60, || {
        let (tx, rx) = broadcast::channel::<u64>(16);
        let receivers: Vec<_> = (0..4)
            .map(|_| {
                let mut rx = rx.resubscribe();
                std::thread::spawn(move || {
                    let (mut expected, mut seen) = (0u64, 0u64);
                    loop {
                        match rx.blocking_recv() {
                            Ok(value) => {
                                assert_eq!(value, expected);
                                expected += 1;
                                seen += 1;
                            }
                            Err(RecvError::Lagged(n)) => expected += n,
                            Err(RecvError::Closed) => break,
                        }
                    }
                    assert_eq!(expected, SENT);
                    seen
                })
            })
            .collect();
        drop(rx);
        for i in 0..SENT {
            tx.send(i).unwrap();
            if i % 64 == 0 {
                std::thread::yield_now();
            }
        }
        drop(tx);
        for receiver in receivers {
            assert!(receiver.join().unwrap() > 0);
        }
    });
}

/// Every value is dropped exactly once: when the last receiver reads it,
/// when it is overwritten, or when the last handle goes.
#[test]
fn values_are_dropped_once_read_overwritten_or_abandoned() {
    within(30, || {
        let value = Arc::new(());
        let (tx, mut rx1) = broadcast::channel(4);
        let mut rx2 = tx.subscribe();
        for _ in 0..4 {
            tx.send(value.clone()).unwrap();
        }
        assert_eq!(Arc::strong_count(&value), 5);
        rx1.try_recv().unwrap();
        assert_eq!(Arc::strong_count(&value), 5);
        rx2.try_recv().unwrap();
        // Both read the first one: the channel dropped it.
        assert_eq!(Arc::strong_count(&value), 4);
        // Overwriting drops the oldest kept.
        tx.send(value.clone()).unwrap();
        tx.send(value.clone()).unwrap();
        assert_eq!(Arc::strong_count(&value), 5);
        drop(rx1);
        drop(rx2);
        assert_eq!(Arc::strong_count(&value), 1);
        drop(tx);
        assert_eq!(Arc::strong_count(&value), 1);
    });
}

/// A receiver dropped while a sender laps the ring counts itself out of
/// the values it was owed and no others: a live receiver never sees
/// `Closed` while a sender lives, and no value leaks (found by review: the
/// drop walk followed a `Lagged` jump past where it should stop).
#[test]
fn dropping_a_lagging_receiver_while_senders_lap_the_ring() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    within(120, || {
        let token = Arc::new(());
        let (tx, mut keeper) = broadcast::channel::<Arc<()>>(2);
        let stop = Arc::new(AtomicBool::new(false));
        let sender = {
            let (tx, stop, token) = (tx.clone(), Arc::clone(&stop), Arc::clone(&token));
            std::thread::spawn(move || {
                while !stop.load(SeqCst) {
                    tx.send(Arc::clone(&token)).unwrap();
                }
            })
        };
        let mut closed = 0u64;
        for _ in 0..20_000 {
            let rx = tx.subscribe();
            std::hint::spin_loop();
            drop(rx);
            loop {
                match keeper.try_recv() {
                    Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) => {}
                    Err(broadcast::error::TryRecvError::Empty) => break,
                    Err(broadcast::error::TryRecvError::Closed) => closed += 1,
                }
            }
        }
        stop.store(true, SeqCst);
        sender.join().unwrap();
        drop((tx, keeper));
        let leaked = Arc::strong_count(&token) - 1;
        assert_eq!((closed, leaked), (0, 0), "(spurious Closed, leaked values)");
    });
}
