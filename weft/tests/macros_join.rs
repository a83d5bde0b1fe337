//! `weft::join!`: tokio's tests/macros_join.rs converted by renaming, then
//! weft's own checks.
#![allow(clippy::disallowed_names)]
// The expansions hold no `unsafe` (the pinned tuple's projection is in weft).
#![forbid(unsafe_code)]

mod common;
#[path = "common/harness.rs"]
mod harness;

use harness::bounded;
use tokio_test::{assert_pending, assert_ready, task};

use std::cell::RefCell;
use std::sync::Arc;

use weft::sync::{oneshot, Semaphore};

#[test]
fn sync_one_lit_expr_comma() {
    bounded(|| async {
        let foo = weft::join!(async { 1 },);
        assert_eq!(foo, (1,));

        let foo = weft::join!(biased; async { 1 },);
        assert_eq!(foo, (1,));
    });
}

#[test]
fn sync_one_lit_expr_no_comma() {
    bounded(|| async {
        let foo = weft::join!(async { 1 });
        assert_eq!(foo, (1,));

        let foo = weft::join!(biased; async { 1 });
        assert_eq!(foo, (1,));
    });
}

#[test]
fn sync_two_lit_expr_comma() {
    bounded(|| async {
        let foo = weft::join!(async { 1 }, async { 2 },);
        assert_eq!(foo, (1, 2));

        let foo = weft::join!(biased; async { 1 }, async { 2 },);
        assert_eq!(foo, (1, 2));
    });
}

#[test]
fn sync_two_lit_expr_no_comma() {
    bounded(|| async {
        let foo = weft::join!(async { 1 }, async { 2 });
        assert_eq!(foo, (1, 2));

        let foo = weft::join!(biased; async { 1 }, async { 2 });
        assert_eq!(foo, (1, 2));
    });
}

#[test]
fn two_await() {
    bounded(|| async {
        let (tx1, rx1) = oneshot::channel::<&str>();
        let (tx2, rx2) = oneshot::channel::<u32>();

        let mut join = task::spawn(async {
            weft::join!(async { rx1.await.unwrap() }, async { rx2.await.unwrap() })
        });

        assert_pending!(join.poll());

        tx2.send(123).unwrap();
        assert!(join.is_woken());
        assert_pending!(join.poll());

        tx1.send("hello").unwrap();
        assert!(join.is_woken());
        let res = assert_ready!(join.poll());

        assert_eq!(("hello", 123), res);
    });
}

/// weft's expansion is no larger than tokio's (whose sizes the comments
/// give): one `MaybeDone` per future, the pinned pointer, and the rotation
/// counter only when it is needed (not with `biased;` or one future).
#[test]
#[cfg(target_pointer_width = "64")]
fn join_size() {
    use futures_util::future;
    use std::mem;

    let fut = async {
        let ready = future::ready(0i32);
        weft::join!(ready)
    };
    assert_eq!(mem::size_of_val(&fut), 24); // tokio: 32

    let fut = async {
        let ready1 = future::ready(0i32);
        let ready2 = future::ready(0i32);
        weft::join!(ready1, ready2)
    };
    assert_eq!(mem::size_of_val(&fut), 40); // tokio: 48
}

async fn non_cooperative_task(permits: Arc<Semaphore>) -> usize {
    let mut exceeded_budget = 0;

    for _ in 0..5 {
        // Another task should run after this task uses its whole budget
        for _ in 0..128 {
            let _permit = permits.clone().acquire_owned().await.unwrap();
        }

        exceeded_budget += 1;
    }

    exceeded_budget
}

async fn poor_little_task(permits: Arc<Semaphore>) -> usize {
    let mut how_many_times_i_got_to_run = 0;

    for _ in 0..5 {
        let _permit = permits.clone().acquire_owned().await.unwrap();
        how_many_times_i_got_to_run += 1;
    }

    how_many_times_i_got_to_run
}

#[test]
fn join_does_not_allow_tasks_to_starve() {
    bounded(|| async {
        let permits = Arc::new(Semaphore::new(1));

        // non_cooperative_task should yield after its budget is exceeded and then poor_little_task should run.
        let result = weft::join!(
            non_cooperative_task(Arc::clone(&permits)),
            poor_little_task(permits)
        );

        let (non_cooperative_result, little_task_result) = result;

        assert_eq!(5, non_cooperative_result);
        assert_eq!(5, little_task_result);
    });
}

// weft's own: the same shapes spending the budget directly, recording
// which finishes first (the rotation lets the little one finish first).
async fn budget_hog(finished: &RefCell<Vec<&'static str>>) -> usize {
    let mut exceeded_budget = 0;

    for _ in 0..5 {
        // Another task should run after this task uses its whole budget
        for _ in 0..128 {
            weft::task::consume_budget().await;
        }

        exceeded_budget += 1;
    }

    finished.borrow_mut().push("non_cooperative");
    exceeded_budget
}

async fn budget_sipper(finished: &RefCell<Vec<&'static str>>) -> usize {
    let mut how_many_times_i_got_to_run = 0;

    for _ in 0..5 {
        weft::task::consume_budget().await;
        how_many_times_i_got_to_run += 1;
    }

    finished.borrow_mut().push("poor_little");
    how_many_times_i_got_to_run
}

#[test]
fn join_rotation_lets_the_light_future_finish_first() {
    bounded(|| async {
        let finished = RefCell::new(Vec::new());

        // non_cooperative_task should yield after its budget is exceeded and then poor_little_task should run.
        let (non_cooperative_result, little_task_result) =
            weft::join!(budget_hog(&finished), budget_sipper(&finished));

        assert_eq!(5, non_cooperative_result);
        assert_eq!(5, little_task_result);
        // The rotation polled the little task first on the join's second poll.
        assert_eq!(*finished.borrow(), ["poor_little", "non_cooperative"]);
    });
}

#[test]
fn biased_join_lets_the_first_future_spend_the_budget() {
    bounded(|| async {
        let finished = RefCell::new(Vec::new());

        let (a, b) = weft::join!(
            biased;
            budget_hog(&finished),
            budget_sipper(&finished)
        );

        assert_eq!((a, b), (5, 5));
        // Without rotation the first future takes each fresh budget first.
        assert_eq!(*finished.borrow(), ["non_cooperative", "poor_little"]);
    });
}

#[test]
fn a_different_future_is_polled_first_every_time_poll_fn_is_polled() {
    bounded(|| async {
        let poll_order = Arc::new(std::sync::Mutex::new(vec![]));

        let fut = |x, poll_order: Arc<std::sync::Mutex<Vec<i32>>>| async move {
            for _ in 0..4 {
                {
                    let mut guard = poll_order.lock().unwrap();

                    guard.push(x);
                }

                weft::task::yield_now().await;
            }
        };

        weft::join!(
            fut(1, Arc::clone(&poll_order)),
            fut(2, Arc::clone(&poll_order)),
            fut(3, Arc::clone(&poll_order)),
        );

        // Each time the future created by join! is polled, it should start
        // by polling a different future first.
        assert_eq!(
            vec![1, 2, 3, 2, 3, 1, 3, 1, 2, 1, 2, 3],
            *poll_order.lock().unwrap()
        );
    });
}

#[test]
fn futures_are_polled_in_order_in_biased_mode() {
    bounded(|| async {
        let poll_order = Arc::new(std::sync::Mutex::new(vec![]));

        let fut = |x, poll_order: Arc<std::sync::Mutex<Vec<i32>>>| async move {
            for _ in 0..4 {
                {
                    let mut guard = poll_order.lock().unwrap();

                    guard.push(x);
                }

                weft::task::yield_now().await;
            }
        };

        weft::join!(
            biased;
            fut(1, Arc::clone(&poll_order)),
            fut(2, Arc::clone(&poll_order)),
            fut(3, Arc::clone(&poll_order)),
        );

        // Each time the future created by join! is polled, it should start
        // by polling in the order as declared in the macro inputs.
        assert_eq!(
            vec![1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3],
            *poll_order.lock().unwrap()
        );
    });
}

#[test]
#[cfg(target_pointer_width = "64")]
fn join_size_biased() {
    use futures_util::future;
    use std::mem;

    let fut = async {
        let ready = future::ready(0i32);
        weft::join!(biased; ready)
    };
    assert_eq!(mem::size_of_val(&fut), 24);

    let fut = async {
        let ready1 = future::ready(0i32);
        let ready2 = future::ready(0i32);
        weft::join!(biased; ready1, ready2)
    };
    assert_eq!(mem::size_of_val(&fut), 32); // tokio: 40
}

#[test]
#[allow(clippy::unit_cmp)]
fn empty_join() {
    bounded(|| async {
        assert_eq!(weft::join!(), ());
        assert_eq!(weft::join!(biased;), ());
    });
}

#[test]
fn join_into_future() {
    bounded(|| async {
        struct NotAFuture;
        impl std::future::IntoFuture for NotAFuture {
            type Output = ();
            type IntoFuture = std::future::Ready<()>;

            fn into_future(self) -> Self::IntoFuture {
                std::future::ready(())
            }
        }

        weft::join!(NotAFuture);
    });
}

// Regression test for: https://github.com/tokio-rs/tokio/issues/7637
// We want to make sure that the `const COUNT: u32` declaration
// inside the macro body doesn't leak to the caller to cause compiler failures
// or variable shadowing.
#[test]
fn caller_names_const_count() {
    bounded(|| async {
        let (tx, rx) = oneshot::channel::<u32>();

        const COUNT: u32 = 2;

        let mut join = task::spawn(async { weft::join!(async { tx.send(COUNT).unwrap() }) });
        assert_ready!(join.poll());

        let res = rx.await.unwrap();

        // This passing demonstrates that the const in the macro is
        // not shadowing the caller-specified COUNT value
        assert_eq!(2, res);
    });
}

// ===== weft's own checks =====

#[test]
fn a_finished_future_is_not_polled_again() {
    bounded(|| async {
        let polls = std::cell::Cell::new(0);
        let counted = std::future::poll_fn(|_| {
            polls.set(polls.get() + 1);
            std::task::Poll::Ready(7)
        });
        let slow = async {
            for _ in 0..3 {
                weft::task::yield_now().await;
            }
            8
        };
        assert_eq!(weft::join!(counted, slow), (7, 8));
        assert_eq!(polls.get(), 1);
    });
}

#[test]
fn many_futures_keep_their_order() {
    bounded(|| async {
        // More than one tuple's worth (16) of futures: stored as nested tuples.
        let out = weft::join!(
            async { 0 },
            async { 1 },
            async { 2 },
            async { 3 },
            async { 4 },
            async { 5 },
            async { 6 },
            async { 7 },
            async { 8 },
            async { 9 },
            async { 10 },
            async { 11 },
            async { 12 },
            async { 13 },
            async { 14 },
            async { 15 },
            async { 16 },
            async { 17 },
            async { 18 },
            async { 19 },
        );
        assert_eq!(out.0, 0);
        assert_eq!(out.15, 15);
        assert_eq!(out.16, 16);
        assert_eq!(out.19, 19);
    });
}

#[test]
fn not_unpin_futures_are_polled_in_place() {
    bounded(|| async {
        let borrowing = async {
            let x = 3;
            let r = &x;
            weft::task::yield_now().await;
            *r
        };
        assert_eq!(weft::join!(borrowing, async { 4 }), (3, 4));
    });
}
