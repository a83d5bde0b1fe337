//! TCP listeners accepting through an owned io_uring ring (a
//! current-thread runtime on `IoDriver::Uring`, Linux 6.13 or later):
//! connections come from accept requests, with their peer addresses. Alone
//! in its binary, its tests one at a time: they count the process's open
//! descriptors. Each test skips, saying why, where io_uring (or accepting
//! through it) is unavailable.

mod common;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::task::Poll;
use std::time::Duration;

use common::{assert_fds_back_to, open_fds, ring_reads_here, uring_rt, within};
use weft::io::{AsyncReadExt, AsyncWriteExt};
use weft::net::{TcpListener, TcpStream};
use weft::time::timeout;

/// Held by each test: they count descriptors.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Bursts of connections from 32 clients at a time: each accepted with
/// the client's own address as its peer address (which the client sends
/// over the connection), and answered.
#[test]
fn connections_in_bursts_are_each_accepted_once_with_their_address() {
    let _serial = serial();
    let Some(rt) = uring_rt() else { return };
    within(60, move || {
        let baseline = open_fds();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            const CLIENTS: usize = 32;
            const EACH: usize = 64;
            let server = weft::spawn(async move {
                let mut answers = Vec::new();
                for _ in 0..CLIENTS * EACH {
                    // (A peer address may come back: a client's port is
                    // free again once its earlier connection closed.)
                    let (mut stream, peer) = listener.accept().await.unwrap();
                    // As a server does: the accept loop goes straight back
                    // to accepting (its next accept waits on the ring).
                    answers.push(weft::spawn(async move {
                        // The client says its own address.
                        let mut said = [0u8; 64];
                        let n = stream.read(&mut said).await.unwrap();
                        let said: SocketAddr =
                            std::str::from_utf8(&said[..n]).unwrap().parse().unwrap();
                        assert_eq!(peer, said, "the peer address is the client's");
                        stream.write_all(b"!").await.unwrap();
                    }));
                }
                let accepted = answers.len();
                for answer in answers {
                    answer.await.unwrap();
                }
                accepted
            });
            let clients: Vec<_> = (0..CLIENTS)
                .map(|_| {
                    weft::spawn(async move {
                        for _ in 0..EACH {
                            let mut client = TcpStream::connect(addr).await.unwrap();
                            let me = client.local_addr().unwrap().to_string();
                            client.write_all(me.as_bytes()).await.unwrap();
                            let mut answer = [0u8; 1];
                            client.read_exact(&mut answer).await.unwrap();
                            assert_eq!(&answer, b"!");
                        }
                    })
                })
                .collect();
            for client in clients {
                client.await.unwrap();
            }
            assert_eq!(server.await.unwrap(), CLIENTS * EACH);
        });
        drop(rt);
        assert_fds_back_to(baseline);
    });
}

/// An accept dropped while its request is in flight (a timeout) leaves the
/// connection the request takes for the next accept; meanwhile `into_std`
/// refuses, and afterwards it works.
#[test]
fn an_accept_dropped_in_flight_leaves_its_connection_for_the_next() {
    let _serial = serial();
    let Some(rt) = uring_rt() else { return };
    if !ring_reads_here() {
        return;
    }
    within(30, move || {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let waited = timeout(Duration::from_millis(20), listener.accept()).await;
            assert!(waited.is_err(), "nobody connected yet");
            let client = std::net::TcpStream::connect(addr).unwrap();
            let (stream, peer) = listener.accept().await.unwrap();
            assert_eq!(peer, client.local_addr().unwrap());
            drop(stream);
            // An accept in flight again (dropped): the listener cannot
            // leave the runtime without losing what it takes.
            let waited = timeout(Duration::from_millis(20), listener.accept()).await;
            assert!(waited.is_err());
            let held = listener.into_std();
            let error = held.expect_err("an accept is in flight");
            assert!(error.to_string().contains("io_uring"), "{error}");
        });
        rt.block_on(async {
            // With nothing in flight it leaves, and std accepts from it.
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let client = std::net::TcpStream::connect(addr).unwrap();
            let (_stream, peer) = listener.accept().await.unwrap();
            assert_eq!(peer, client.local_addr().unwrap());
            let std_listener = listener.into_std().unwrap();
            let _second = std::net::TcpStream::connect(addr).unwrap();
            std_listener.set_nonblocking(false).unwrap();
            std_listener.accept().unwrap();
        });
    });
}

/// A listener dropped with an accept in flight: the request is cancelled,
/// a connection it took anyway is closed, so the client sees its end, and
/// no descriptor stays open.
#[test]
fn a_listener_dropped_with_an_accept_in_flight_keeps_nothing() {
    let _serial = serial();
    let Some(rt) = uring_rt() else { return };
    within(30, move || {
        let baseline = open_fds();
        rt.block_on(async {
            for round in 0..50 {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let other = weft::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let waited = timeout(Duration::from_millis(1), listener.accept()).await;
                assert!(waited.is_err());
                // Connected (the kernel's handshake) while the request
                // waits; the owner's completion work has not run yet.
                let mut client = std::net::TcpStream::connect(addr).unwrap();
                if round % 2 == 1 {
                    // Another close on this thread runs the ring's
                    // completion work: the accept takes the connection,
                    // and its completion, not yet read, finds the listener
                    // gone (the connection is closed then). Otherwise the
                    // cancel ends the request first.
                    drop(other);
                }
                drop(listener);
                weft::task::yield_now().await;
                let read = weft::task::spawn_blocking(move || {
                    use std::io::Read;
                    client
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .unwrap();
                    client.read(&mut [0u8; 1])
                })
                .await
                .unwrap();
                match read {
                    Ok(0) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
                    other => panic!("the client should see its end, got {other:?}"),
                }
            }
        });
        drop(rt);
        assert_fds_back_to(baseline);
    });
}

/// Single-accept through the ring: one connection per request, every one
/// accepted with its address.
#[test]
fn single_accept_takes_every_connection_one_at_a_time() {
    let _serial = serial();
    let Some(rt) = uring_rt() else { return };
    within(30, move || {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.set_single_accept(true);
            let addr = listener.local_addr().unwrap();
            let clients: Vec<_> = (0..20)
                .map(|_| std::net::TcpStream::connect(addr).unwrap())
                .collect();
            let mut peers = Vec::new();
            for _ in 0..clients.len() {
                peers.push(listener.accept().await.unwrap().1);
            }
            let mut expected: Vec<SocketAddr> =
                clients.iter().map(|c| c.local_addr().unwrap()).collect();
            expected.sort();
            peers.sort();
            assert_eq!(peers, expected);
        });
    });
}

/// A listener dropped on another thread while the ring's owner has written
/// its accept to the submission queue and not yet submitted it: the
/// listener stays open until the owner's next entry into the ring, so the
/// accept, which names the descriptor's number, never takes a connection
/// from a new listener that took the number in between.
#[test]
fn a_listener_dropped_on_another_thread_keeps_its_number_until_the_owners_turn() {
    let _serial = serial();
    let Some(rt) = uring_rt() else { return };
    if !ring_reads_here() {
        return;
    }
    within(60, move || {
        rt.block_on(async {
            for round in 0..20 {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                // One poll of an accept arms its request, which waits in
                // the submission queue for this thread's next turn (no
                // await in between).
                {
                    let mut accept = std::pin::pin!(listener.accept());
                    let polled =
                        std::future::poll_fn(|cx| Poll::Ready(accept.as_mut().poll(cx))).await;
                    assert!(polled.is_pending(), "nobody connected yet");
                }
                std::thread::spawn(move || drop(listener)).join().unwrap();
                // A new listener, with a connection waiting, where the
                // number would be free.
                let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let client = std::net::TcpStream::connect(other.local_addr().unwrap()).unwrap();
                // The owner's next turns submit the accept and run the
                // ring's completion work.
                weft::time::sleep(Duration::from_millis(2)).await;
                other.set_nonblocking(true).unwrap();
                let (_, peer) = other.accept().unwrap_or_else(|e| {
                    panic!("round {round}: the new listener's connection: {e}")
                });
                assert_eq!(peer, client.local_addr().unwrap());
            }
        });
    });
}
