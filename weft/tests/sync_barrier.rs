//! `weft::sync::Barrier`, following tokio's tests/sync_barrier.rs
//! (renamed), plus reuse across generations on a multi-thread runtime and a
//! cancelled waiter.

mod common;

use std::sync::Arc;

use common::within;
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready};
use weft::sync::Barrier;

struct IsSend<T: Send>(#[allow(dead_code)] T);
#[test]
fn barrier_future_is_send() {
    let b = Barrier::new(0);
    let _ = IsSend(b.wait());
}

#[test]
fn zero_does_not_block() {
    let b = Barrier::new(0);

    {
        let mut w = spawn(b.wait());
        let wr = assert_ready!(w.poll());
        assert!(wr.is_leader());
    }
    {
        let mut w = spawn(b.wait());
        let wr = assert_ready!(w.poll());
        assert!(wr.is_leader());
    }
}

#[test]
fn single() {
    let b = Barrier::new(1);

    {
        let mut w = spawn(b.wait());
        let wr = assert_ready!(w.poll());
        assert!(wr.is_leader());
    }
    {
        let mut w = spawn(b.wait());
        let wr = assert_ready!(w.poll());
        assert!(wr.is_leader());
    }
    {
        let mut w = spawn(b.wait());
        let wr = assert_ready!(w.poll());
        assert!(wr.is_leader());
    }
}

#[test]
fn tango() {
    let b = Barrier::new(2);

    let mut w1 = spawn(b.wait());
    assert_pending!(w1.poll());

    let mut w2 = spawn(b.wait());
    let wr2 = assert_ready!(w2.poll());
    let wr1 = assert_ready!(w1.poll());

    assert!(wr1.is_leader() || wr2.is_leader());
    assert!(!(wr1.is_leader() && wr2.is_leader()));
}

#[test]
fn lots() {
    let b = Barrier::new(100);

    for _ in 0..10 {
        let mut wait = Vec::new();
        for _ in 0..99 {
            let mut w = spawn(b.wait());
            assert_pending!(w.poll());
            wait.push(w);
        }
        for w in &mut wait {
            assert_pending!(w.poll());
        }

        // pass the barrier
        let mut w = spawn(b.wait());
        let mut found_leader = assert_ready!(w.poll()).is_leader();
        for mut w in wait {
            let wr = assert_ready!(w.poll());
            if wr.is_leader() {
                assert!(!found_leader);
                found_leader = true;
            }
        }
        assert!(found_leader);
    }
}

// ===== weft's own =====

#[test]
fn a_waiter_of_the_next_generation_waits_for_its_own() {
    let b = Barrier::new(2);
    let mut a = spawn(b.wait());
    assert_pending!(a.poll());
    let mut leader = spawn(b.wait());
    assert!(assert_ready!(leader.poll()).is_leader());
    // `a` has not been polled since its generation passed; a waiter of the
    // next generation must not be released by that.
    let mut next = spawn(b.wait());
    assert_pending!(next.poll());
    assert!(!assert_ready!(a.poll()).is_leader());
    assert_pending!(next.poll());
    let mut next_leader = spawn(b.wait());
    assert!(assert_ready!(next_leader.poll()).is_leader());
    assert!(next.is_woken());
    assert_ready!(next.poll());
}

#[test]
fn generations_on_a_multi_thread_runtime() {
    within(30, || {
        let rt = weft::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .build()
            .unwrap();
        rt.block_on(async {
            let b = Arc::new(Barrier::new(8));
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let b = b.clone();
                    weft::spawn(async move {
                        let mut leaders = 0;
                        for _ in 0..200 {
                            if b.wait().await.is_leader() {
                                leaders += 1;
                            }
                        }
                        leaders
                    })
                })
                .collect();
            let mut leaders = 0;
            for t in tasks {
                leaders += t.await.unwrap();
            }
            assert_eq!(leaders, 200, "one leader per generation");
        })
    })
}
