//! A multi-thread runtime on `IoDriver::Uring`: a ring per worker. Each
//! worker registers its sockets on its own ring, parks in it, and reaps it;
//! sockets made outside the workers take the rings in turn. Alone in its
//! binary: it counts the process's open descriptors. Each test skips,
//! saying why, where io_uring (or a ring per worker) is unavailable.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{assert_fds_back_to, open_fds, ring_reads_here, rings_per_worker_here, within};
use weft::io::{AsyncReadExt, AsyncWriteExt, Interest};
use weft::net::{TcpListener, TcpStream};
use weft::runtime::{Builder, Runtime};
use weft::time::timeout;

/// One test at a time: they count the process's descriptors.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// A multi-thread runtime with `workers` workers on io_uring, a ring per
/// worker, or `None` (printing why).
fn uring_mt(workers: usize) -> Option<Runtime> {
    if !rings_per_worker_here() {
        return None;
    }
    common::uring_built(Builder::new_multi_thread().worker_threads(workers))
}

/// Starts a read on `stream` and drops it mid-flight (on a ring that
/// reads streams, its receive is then armed; nothing was sent yet).
async fn drop_a_read(stream: &mut TcpStream, len: usize) {
    let mut buf = vec![0u8; len];
    let dropped = timeout(Duration::from_millis(1), stream.read(&mut buf)).await;
    assert!(dropped.is_err(), "nothing was sent yet: the read must wait");
}

/// A connected pair (client, server) with a byte sent and read both ways:
/// a new stream's first read waits on a readiness poll and reads the
/// socket; the reads after it arm receives.
async fn pair() -> (TcpStream, TcpStream) {
    let (mut client, mut server) = common::pair().await;
    client.write_all(b"<").await.unwrap();
    server.read_exact(&mut [0u8; 1]).await.unwrap();
    server.write_all(b">").await.unwrap();
    client.read_exact(&mut [0u8; 1]).await.unwrap();
    (client, server)
}

/// The message connection `i` sends in round `round`.
fn message(i: usize, round: usize) -> Vec<u8> {
    format!("<{i}:{round}:{}>", "x".repeat(i % 97)).into_bytes()
}

#[test]
fn connections_on_every_workers_ring_echo_with_reads_dropped_mid_flight() {
    // The accept loop, the servers and the clients are tasks that the
    // workers share and steal, so streams registered on one worker's ring
    // are read and armed by tasks on the other as well.
    let _serial = serial();
    let Some(rt) = uring_mt(2) else { return };
    const CONNS: usize = 400;
    common::raise_fd_limit();
    const ROUNDS: usize = 5;
    within(120, move || {
        let before = open_fds();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = weft::spawn(async move {
                let mut handlers = Vec::new();
                for _ in 0..CONNS {
                    let (mut stream, _) = listener.accept().await.unwrap();
                    handlers.push(weft::spawn(async move {
                        drop_a_read(&mut stream, 64).await;
                        // The client sends only after this.
                        stream.write_all(b"!").await.unwrap();
                        let mut buf = vec![0u8; 256];
                        loop {
                            let n = stream.read(&mut buf).await.unwrap();
                            if n == 0 {
                                return;
                            }
                            stream.write_all(&buf[..n]).await.unwrap();
                        }
                    }));
                }
                for handler in handlers {
                    handler.await.unwrap();
                }
            });
            let clients: Vec<_> = (0..CONNS)
                .map(|i| {
                    weft::spawn(async move {
                        let mut stream = TcpStream::connect(addr).await.unwrap();
                        stream.read_exact(&mut [0u8; 1]).await.unwrap();
                        for round in 0..ROUNDS {
                            let want = message(i, round);
                            stream.write_all(&want).await.unwrap();
                            let mut got = vec![0u8; want.len()];
                            stream.read_exact(&mut got).await.unwrap();
                            assert_eq!(got, want, "connection {i}, round {round}");
                        }
                    })
                })
                .collect();
            for client in clients {
                client.await.unwrap();
            }
            server.await.unwrap();
        });
        drop(rt);
        assert_fds_back_to(before);
    });
}

#[test]
fn a_stream_made_on_a_worker_reads_through_that_workers_ring() {
    // A read dropped mid-flight leaves a receive armed on the worker's
    // ring (on epoll, or a ring shared by the workers, there is none):
    // a raw read of the socket, which would skip what the receive takes,
    // is refused until the bytes are read.
    let _serial = serial();
    let Some(rt) = uring_mt(2) else { return };
    if !ring_reads_here() {
        return;
    }
    within(30, move || {
        rt.block_on(async {
            weft::spawn(async {
                let (mut client, mut server) = pair().await;
                drop_a_read(&mut server, 3).await;
                client.write_all(b"abcdef").await.unwrap();
                let raw = server.try_io(Interest::READABLE, || Ok(()));
                let err = raw.expect_err("a raw read would skip the held bytes");
                assert_eq!(err.kind(), std::io::ErrorKind::Other, "{err}");
                let mut got = [0u8; 6];
                server.read_exact(&mut got).await.unwrap();
                assert_eq!(&got, b"abcdef");
                server.into_std().unwrap();
            })
            .await
            .unwrap();
        });
    });
}

#[test]
fn streams_made_outside_the_workers_are_read_by_tasks_on_them() {
    // Made on the `block_on` thread: registered on the workers' rings in
    // turn, through the ring owner's queue. Each read alternates between
    // that thread and a task on a worker, so reads are armed from threads
    // that do not own the ring.
    let _serial = serial();
    let Some(rt) = uring_mt(2) else { return };
    within(60, move || {
        rt.block_on(async {
            for _ in 0..8 {
                let (mut client, mut server) = pair().await;
                for round in 0..20 {
                    let want = message(round, round);
                    let got = if round % 2 == 0 {
                        client.write_all(&want).await.unwrap();
                        let mut got = vec![0u8; want.len()];
                        server.read_exact(&mut got).await.unwrap();
                        got
                    } else {
                        let (armed_tx, armed_rx) = weft::sync::oneshot::channel();
                        let len = want.len();
                        let task = weft::spawn(async move {
                            drop_a_read(&mut server, 1).await;
                            armed_tx.send(()).unwrap();
                            let mut got = vec![0u8; len];
                            server.read_exact(&mut got).await.unwrap();
                            (server, got)
                        });
                        // Sent only once the task's read has waited.
                        armed_rx.await.unwrap();
                        client.write_all(&want).await.unwrap();
                        let (back, got) = task.await.unwrap();
                        server = back;
                        got
                    };
                    assert_eq!(got, want, "round {round}");
                }
            }
        });
    });
}

#[test]
fn block_in_place_hands_the_workers_ring_to_the_stand_in_and_back() {
    // One worker, so one ring. A task blocks the worker's thread (in
    // `block_in_place`) until another task of the same worker has read a
    // message: that read's completion is reaped only if the stand-in
    // thread now drives the ring. Then the home thread takes it back and
    // reads again.
    let _serial = serial();
    let Some(rt) = uring_mt(1) else { return };
    within(30, move || {
        rt.block_on(async {
            let (mut client, mut server) = weft::spawn(pair()).await.unwrap();
            let (got_tx, got_rx) = mpsc::channel::<Vec<u8>>();
            let reader = weft::spawn(async move {
                let mut got = [0u8; 5];
                server.read_exact(&mut got).await.unwrap();
                got_tx.send(got.to_vec()).unwrap();
                server.read_exact(&mut got).await.unwrap();
                got
            });
            let blocker = weft::spawn(async move {
                weft::task::block_in_place(|| {
                    got_rx
                        .recv_timeout(Duration::from_secs(20))
                        .expect("the stand-in reaped the worker's ring")
                })
            });
            client.write_all(b"first").await.unwrap();
            assert_eq!(blocker.await.unwrap(), b"first");
            // Back on the home thread's ring (rebuilt for it).
            client.write_all(b"again").await.unwrap();
            assert_eq!(&reader.await.unwrap(), b"again");
        });
    });
}

#[test]
fn a_timer_wakes_the_worker_parked_with_the_driver_in_its_ring() {
    // Every worker parked in its ring; a timer made outside the workers
    // must wake the one that holds the time driver, whichever it is.
    let _serial = serial();
    let Some(rt) = uring_mt(2) else { return };
    within(30, move || {
        for round in 0..20u64 {
            // A sleep made on this thread, the workers idle or about to be.
            rt.block_on(async {
                weft::time::sleep(Duration::from_millis(1 + round % 3)).await;
            });
            let woke = rt.block_on(async {
                weft::spawn(async {
                    weft::time::sleep(Duration::from_millis(1)).await;
                    7
                })
                .await
            });
            assert_eq!(woke.unwrap(), 7);
        }
    });
}

#[test]
fn a_paused_clock_waits_for_io_another_workers_ring_has_not_reaped() {
    // A paused clock jumps to the next timer once the runtime is idle. A
    // message in flight to a socket on another worker's ring is not idle:
    // the ring holds it until its worker takes it. If the driver's holder
    // jumped anyway, the reader's minute-long timeout would fire.
    let _serial = serial();
    if !rings_per_worker_here() {
        return;
    }
    let Some(rt) = common::uring_built(
        Builder::new_multi_thread()
            .worker_threads(2)
            .start_paused(true),
    ) else {
        return;
    };
    within(60, move || {
        rt.block_on(async {
            for round in 0..200usize {
                // Made on whichever worker runs each task: the two ends
                // often sit on different workers' rings.
                let (mut client, mut server) = weft::spawn(pair()).await.unwrap();
                let reader = weft::spawn(async move {
                    let mut got = [0u8; 4];
                    timeout(Duration::from_secs(60), server.read_exact(&mut got))
                        .await
                        .map(|read| read.map(|_| got))
                });
                let writer = weft::spawn(async move {
                    weft::task::yield_now().await;
                    client
                        .write_all(&(round as u32).to_le_bytes())
                        .await
                        .unwrap();
                    client
                });
                let client = writer.await.unwrap();
                let got = reader.await.unwrap();
                let got =
                    got.unwrap_or_else(|_| panic!("round {round}: the clock jumped past I/O"));
                assert_eq!(got.unwrap(), (round as u32).to_le_bytes());
                drop(client);
            }
        });
    });
}
