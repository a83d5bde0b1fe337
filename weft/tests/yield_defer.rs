//! A yield lets I/O and timers in: after `yield_now` (or a spent coop
//! budget), every task the driver or a timer made ready by then runs before
//! the yielder runs again, on both schedulers (tokio's `yield_defers_until_park`).

mod common;

use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

use common::within;
use weft::net::UdpSocket;
use weft::runtime::{Builder, Runtime};

const DATAGRAMS: usize = 10_000;

/// Sends 10,000 datagrams to a receiver task on the same runtime, yielding
/// every 256, and returns how many the receiver got. The sender runs as
/// `sender_in` says (the `block_on` future, or a spawned task).
fn udp_through_yields(rt: &Runtime, sender_is_task: bool) -> usize {
    rt.block_on(async move {
        let receiver = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        sender
            .connect(receiver.local_addr().unwrap())
            .await
            .unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let done_rx = Arc::clone(&done);
        let counter = weft::spawn(async move {
            let mut got = 0usize;
            let mut buf = [0u8; 64];
            loop {
                // Stop once the sender is done and the socket is drained.
                match receiver.try_recv(&mut buf) {
                    Ok(_) => got += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        if done_rx.load(SeqCst) {
                            return got;
                        }
                        receiver.readable().await.unwrap();
                    }
                    Err(e) => panic!("recv: {e}"),
                }
            }
        });
        let send = async move {
            for i in 0..DATAGRAMS {
                // The socket's buffer takes the datagram or the kernel drops
                // it on the receiver's side; a full send buffer waits.
                sender.send(&[7u8; 32]).await.unwrap();
                if i % 256 == 255 {
                    weft::task::yield_now().await;
                }
            }
            // Let the receiver drain what is queued, then tell it to stop.
            weft::task::yield_now().await;
            done.store(true, SeqCst);
            // Wake it if it waits: one more datagram.
            sender.send(&[0u8; 1]).await.unwrap();
        };
        if sender_is_task {
            weft::spawn(send).await.unwrap();
        } else {
            send.await;
        }
        counter.await.unwrap()
    })
}

fn assert_most_arrived(got: usize) {
    // 99 % of 10,000 (the last wake-up datagram may be counted too).
    assert!(
        got >= DATAGRAMS * 99 / 100,
        "only {got} of {DATAGRAMS} datagrams reached the receiver: it did not run between the \
         sender's yields"
    );
}

#[test]
fn current_thread_yielding_task_lets_the_udp_receiver_run() {
    within(60, || {
        let rt = Builder::new_current_thread().build().unwrap();
        assert_most_arrived(udp_through_yields(&rt, true));
    });
}

#[test]
fn current_thread_yielding_block_on_lets_the_udp_receiver_run() {
    within(60, || {
        let rt = Builder::new_current_thread().build().unwrap();
        assert_most_arrived(udp_through_yields(&rt, false));
    });
}

#[test]
fn multi_thread_one_worker_yielding_task_lets_the_udp_receiver_run() {
    within(60, || {
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        assert_most_arrived(udp_through_yields(&rt, true));
    });
}

/// Spawns a task whose timer comes due while this task spins without
/// yielding, then yields: the timer must have fired when this task runs
/// again.
async fn a_due_timer_fires_before_the_yielder_runs_again() {
    let fired = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&fired);
    let deadline = weft::time::Instant::now() + std::time::Duration::from_millis(5);
    weft::spawn(async move {
        weft::time::sleep_until(deadline).await;
        flag.store(true, SeqCst);
    });
    // Let the timer task register, then spin past the deadline without
    // yielding (a busy computation, not a wait).
    weft::task::yield_now().await;
    while weft::time::Instant::now() < deadline + std::time::Duration::from_millis(2) {
        std::hint::spin_loop();
    }
    weft::task::yield_now().await;
    assert!(
        fired.load(SeqCst),
        "the timer due before the yield had not fired when the yielder ran again"
    );
}

/// tokio's `yield_defers_until_park`, on weft: a task that yields sees a
/// timer that became due before it yielded fire before it runs again.
#[test]
fn a_yield_lets_a_due_timer_fire_first() {
    for multi in [false, true] {
        within(30, move || {
            common::rt_one_worker(multi).block_on(async {
                weft::spawn(a_due_timer_fires_before_the_yielder_runs_again())
                    .await
                    .unwrap();
            });
        });
    }
}

/// A task that spends its coop budget on always-ready I/O is deferred the
/// same way: the receiver of a busy UDP sender still runs.
#[test]
fn a_spent_budget_defers_like_a_yield() {
    within(60, || {
        let rt = Builder::new_current_thread().build().unwrap();
        let got = rt.block_on(async {
            let (a, b) = weft::net::UnixDatagram::pair().unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let stop_reader = Arc::clone(&stop);
            // A task whose socket is always readable: it never waits, only
            // its budget makes it stop.
            let (busy_tx, busy_rx) = weft::net::UnixDatagram::pair().unwrap();
            let busy = weft::spawn(async move {
                let mut buf = [0u8; 8];
                let mut spins = 0u64;
                while !stop_reader.load(SeqCst) {
                    busy_tx.send(b"x").await.unwrap();
                    busy_rx.recv(&mut buf).await.unwrap();
                    spins += 1;
                }
                spins
            });
            // A timer must still fire while the busy task runs.
            weft::time::sleep(std::time::Duration::from_millis(20)).await;
            a.send(b"ping").await.unwrap();
            let mut buf = [0u8; 8];
            let n = b.recv(&mut buf).await.unwrap();
            stop.store(true, SeqCst);
            assert!(busy.await.unwrap() > 0);
            n
        });
        assert_eq!(got, 4);
    });
}

/// A task that does nothing but yield does not pay a driver turn (an
/// `epoll_wait`) per yield: turns are skipped while the last one is recent.
#[test]
fn a_bare_yield_loop_does_not_turn_the_driver_on_every_yield() {
    within(60, || {
        for multi in [false, true] {
            let rt = common::rt_one_worker(multi);
            const YIELDS: u64 = 20_000;
            let turns = rt.block_on(async move {
                weft::spawn(async move {
                    let before = weft::runtime::Handle::current().metrics().io_driver_turns();
                    for _ in 0..YIELDS {
                        weft::task::yield_now().await;
                    }
                    weft::runtime::Handle::current().metrics().io_driver_turns() - before
                })
                .await
                .unwrap()
            });
            assert!(
                turns < YIELDS / 2,
                "{turns} driver turns for {YIELDS} yields (multi-thread: {multi})"
            );
        }
    });
}

/// The same for a `spawn_local` task (and so for a coroutine) on a
/// multi-thread worker: its yield waits for the driver's turn too.
#[test]
fn a_local_task_s_yield_on_a_worker_lets_a_due_timer_fire_first() {
    within(30, || {
        common::rt_one_worker(true).block_on(async {
            weft::spawn(async {
                weft::task::spawn_local(a_due_timer_fires_before_the_yielder_runs_again())
                    .await
                    .unwrap();
            })
            .await
            .unwrap();
        });
    });
}
