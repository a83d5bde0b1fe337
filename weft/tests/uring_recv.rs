//! TCP streams received through an owned io_uring ring (a current-thread
//! runtime on `IoDriver::Uring`): reads come from `recv`s into the ring's
//! provided buffers. Alone in its binary: it counts the process's open
//! descriptors and raises their limit. Each test skips, saying why, where
//! io_uring is unavailable.

mod common;

use std::time::Duration;

use common::{assert_fds_back_to, open_fds, ring_reads_here, uring_rt, within};
use weft::io::{AsyncReadExt, AsyncWriteExt, Interest};
use weft::net::{TcpListener, TcpStream};
use weft::time::timeout;

/// `n` connected pairs on one listener: (client, server), each with a
/// first byte sent and read both ways (a new stream's first read waits on
/// a readiness poll and reads the socket; the reads after it arm
/// receives).
async fn pairs(n: usize) -> Vec<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"<").await.unwrap();
        server.read_exact(&mut [0u8; 1]).await.unwrap();
        server.write_all(b">").await.unwrap();
        client.read_exact(&mut [0u8; 1]).await.unwrap();
        out.push((client, server));
    }
    out
}

/// Writes `message(i)` on each pair's client.
async fn write_each(all: &mut [(TcpStream, TcpStream)], message: impl Fn(usize) -> String) {
    for (i, (client, _)) in all.iter_mut().enumerate() {
        client.write_all(message(i).as_bytes()).await.unwrap();
    }
}

/// Reads exactly `message(i)` on each pair's server.
async fn read_each(all: &mut [(TcpStream, TcpStream)], message: impl Fn(usize) -> String) {
    for (i, (_, server)) in all.iter_mut().enumerate() {
        let want = message(i).into_bytes();
        let mut got = vec![0u8; want.len()];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(got, want, "connection {i}");
    }
}

/// Starts a read on `stream` and drops it mid-flight (its receive armed,
/// nothing there yet).
async fn drop_a_read(stream: &mut TcpStream, len: usize) {
    let mut buf = vec![0u8; len];
    let dropped = timeout(Duration::from_millis(1), stream.read(&mut buf)).await;
    assert!(dropped.is_err(), "nothing was sent yet: the read must wait");
}

#[test]
fn thousands_of_connections_echo_with_reads_dropped_mid_flight() {
    let Some(rt) = uring_rt() else { return };
    const CONNS: usize = 5_000;
    let limit = common::raise_fd_limit();
    if limit < (2 * CONNS + 200) as u64 {
        println!("skipped: the open-file limit ({limit}) is below what 5,000 pairs need");
        return;
    }
    within(120, move || {
        let before = open_fds();
        rt.block_on(async {
            let mut all = pairs(CONNS).await;
            // A read dropped while its receive is in flight on every
            // server side; then the message, which that receive takes.
            for (_, server) in &mut all {
                drop_a_read(server, 64).await;
            }
            let mut tasks = Vec::new();
            for (i, (mut client, mut server)) in all.into_iter().enumerate() {
                tasks.push(weft::spawn(async move {
                    let msg = format!("message {i} ").repeat(1 + i % 7).into_bytes();
                    client.write_all(&msg).await.unwrap();
                    // The server echoes it back, in two reads of odd sizes.
                    let mut got = vec![0u8; msg.len()];
                    let split = msg.len() / 3;
                    server.read_exact(&mut got[..split]).await.unwrap();
                    server.read_exact(&mut got[split..]).await.unwrap();
                    assert_eq!(got, msg, "connection {i}: bytes lost, doubled or reordered");
                    server.write_all(&got).await.unwrap();
                    // And a read dropped on the client before the echo.
                    let mut back = vec![0u8; msg.len()];
                    client.read_exact(&mut back).await.unwrap();
                    assert_eq!(back, msg, "connection {i}: the echo differs");
                    drop(server);
                    // End of stream after the echo, nothing more.
                    assert_eq!(client.read(&mut back).await.unwrap(), 0);
                }));
            }
            for task in tasks {
                task.await.unwrap();
            }
        });
        // Every socket closed, the ring let go of every file.
        assert_fds_back_to(before);
    });
}

#[test]
fn a_pool_pinned_by_unread_bytes_falls_back_without_losing_any() {
    // More connections than the ring's first pool has buffers (512) each
    // leave one received chunk unread (a read dropped after its receive was
    // armed, then the data): the pool runs dry and later receives find no
    // buffer (`ENOBUFS`, which makes the next pool twice as large), which
    // must not fail a connection or lose a byte.
    let Some(rt) = uring_rt() else { return };
    const CONNS: usize = 700;
    if common::raise_fd_limit() < (2 * CONNS + 200) as u64 {
        println!("skipped: the open-file limit is below what 700 pairs need");
        return;
    }
    within(60, move || {
        rt.block_on(async {
            // The ring's first pool is made by the first receive, sized
            // from the streams there are then (two): its 512 buffers.
            let (mut c0, mut s0) = pairs(1).await.pop().unwrap();
            drop_a_read(&mut s0, 16).await;
            c0.write_all(b"first").await.unwrap();
            let mut five = [0u8; 5];
            s0.read_exact(&mut five).await.unwrap();
            assert_eq!(&five, b"first");
            let mut all = pairs(CONNS).await;
            for (_, server) in &mut all {
                drop_a_read(server, 4096).await;
            }
            write_each(&mut all, |i| format!("first {i};")).await;
            // Every receive has completed (or found no buffer) once a peek
            // sees bytes: a peek waits for a receive in flight.
            for (_, server) in &mut all {
                assert!(server.peek(&mut [0u8; 1]).await.unwrap() > 0);
            }
            write_each(&mut all, |i| format!("second {i};")).await;
            read_each(&mut all, |i| format!("first {i};second {i};")).await;
            // Again, on the larger pool the shortage made: every byte.
            for (_, server) in &mut all {
                drop_a_read(server, 4096).await;
            }
            write_each(&mut all, |i| format!("third {i};")).await;
            read_each(&mut all, |i| format!("third {i};")).await;
            // Closed with a receive in flight on the grown pool (a buffer
            // group other than the first): the close cancels it, so the
            // file goes and each peer reads the end of the stream.
            for (_, server) in &mut all {
                drop_a_read(server, 4096).await;
            }
            let clients: Vec<TcpStream> = all.into_iter().map(|(client, _)| client).collect();
            for (i, mut client) in clients.into_iter().enumerate() {
                let mut byte = [0u8; 1];
                assert_eq!(client.read(&mut byte).await.unwrap(), 0, "connection {i}");
            }
        });
    });
}

#[test]
fn a_stream_nobody_reads_leaves_its_bytes_in_the_kernel() {
    // The socket buffers fill up with bytes for a registered stream that
    // is never read: the
    // ring takes none of it (no buffer pinned, memory bounded), so the
    // stream can leave the runtime and std reads every byte, in order.
    let Some(rt) = uring_rt() else { return };
    within(30, move || {
        let (mut client, server) = rt.block_on(common::pair());
        let data: Vec<u8> = (0..32 << 20).map(|i| (i % 251) as u8).collect();
        // Write until the kernel's buffers are full (`WouldBlock`): the
        // bytes wait on the registered, unread stream.
        let mut sent = 0;
        while sent < data.len() {
            match client.try_write(&data[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(sent < data.len(), "32 MiB fit in the socket buffers");
        let writer = {
            let data = data.clone();
            rt.spawn(async move {
                client.write_all(&data[sent..]).await.unwrap();
                client.close().await.unwrap();
            })
        };
        let mut std = server
            .into_std()
            .expect("nothing was received into the ring");
        std.set_nonblocking(false).unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            std::io::Read::read_to_end(&mut std, &mut got).unwrap();
            got
        });
        rt.block_on(writer).unwrap();
        assert!(reader.join().unwrap() == data, "bytes lost or reordered");
    });
}

#[test]
fn bytes_held_by_a_dropped_read_come_first_and_refuse_raw_reads() {
    let Some(rt) = uring_rt() else { return };
    if !ring_reads_here() {
        return;
    }
    within(30, move || {
        rt.block_on(async {
            let (mut client, mut server) = pairs(1).await.pop().unwrap();
            drop_a_read(&mut server, 3).await;
            client.write_all(b"abcdef").await.unwrap();
            // The receive armed for 3 bytes (in flight, or done: "abc"
            // waits here) would be skipped by a read of the socket itself:
            // refused.
            let raw = server.try_io(Interest::READABLE, || Ok(()));
            let err = raw.expect_err("a raw read would skip the held bytes");
            assert_eq!(err.kind(), std::io::ErrorKind::Other, "{err}");
            let mut peeked = [0u8; 8];
            let n = server.peek(&mut peeked).await.unwrap();
            assert!(
                n >= 1 && b"abcdef".starts_with(&peeked[..n]),
                "{:?}",
                &peeked[..n]
            );
            let mut got = [0u8; 6];
            server.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"abcdef");
            // Nothing held now: the stream may leave.
            server.into_std().unwrap();
        });
    });
}

#[test]
fn a_read_loop_of_try_read_sees_every_byte_and_the_end() {
    // tokio's readiness loop (`readable` + `try_read`), which reads the
    // socket directly, mixed with `read`s that go through the ring.
    let Some(rt) = uring_rt() else { return };
    within(30, move || {
        rt.block_on(async {
            let (mut client, mut server) = common::pair().await;
            let writer = weft::spawn(async move {
                for i in 0..200u32 {
                    client.write_all(&i.to_le_bytes()).await.unwrap();
                    if i % 10 == 0 {
                        weft::task::yield_now().await;
                    }
                }
                client.close().await.unwrap();
            });
            let mut got = Vec::new();
            let mut buf = [0u8; 7];
            loop {
                let n = if got.len() % 3 == 0 {
                    server.read(&mut buf).await.unwrap()
                } else {
                    server.readable().await.unwrap();
                    match server.try_read(&mut buf) {
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                        Err(e) => panic!("{e}"),
                    }
                };
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            writer.await.unwrap();
            let want: Vec<u8> = (0..200u32).flat_map(|i| i.to_le_bytes()).collect();
            assert!(got == want, "bytes lost or reordered");
        });
    });
}

#[test]
fn a_new_driving_thread_loses_no_bytes_a_close_already_received() {
    // Thread A's last turn leaves a receive in flight; a close on A then
    // runs the ring's completion work (the receive takes the bytes) with
    // no turn after it. Thread B drives next, on a ring of its own: the
    // bytes the old ring received must reach B's read.
    let Some(rt) = uring_rt() else { return };
    within(30, move || {
        let (mut client, mut server, other) = rt.block_on(async {
            let mut two = pairs(2).await;
            let (_, other) = two.pop().unwrap();
            let (client, server) = two.pop().unwrap();
            (client, server, other)
        });
        rt.block_on(async {
            drop_a_read(&mut server, 64).await;
            // On loopback the bytes are in the socket when the write
            // returns; no turn runs after it.
            client.write_all(b"abc").await.unwrap();
            drop(other);
        });
        let got = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    rt.block_on(async {
                        let mut got = [0u8; 3];
                        server.read_exact(&mut got).await.unwrap();
                        got
                    })
                })
                .join()
                .unwrap()
        });
        assert_eq!(&got, b"abc");
        // And the stream keeps working on the new ring.
        rt.block_on(async {
            client.write_all(b"more").await.unwrap();
            let mut more = [0u8; 4];
            server.read_exact(&mut more).await.unwrap();
            assert_eq!(&more, b"more");
        });
    });
}

#[test]
fn try_read_alone_sees_new_data_as_on_epoll() {
    // Polling with `try_read` between sleeps, never waiting on the
    // stream: new data must still be found (epoll's edge sets readiness;
    // here a poll armed by the `WouldBlock` does).
    let Some(rt) = uring_rt() else { return };
    within(30, move || {
        rt.block_on(async {
            let (mut client, server) = pairs(1).await.pop().unwrap();
            let mut buf = [0u8; 16];
            assert_eq!(
                server.try_read(&mut buf).unwrap_err().kind(),
                std::io::ErrorKind::WouldBlock
            );
            client.write_all(b"late").await.unwrap();
            let n = loop {
                weft::time::sleep(Duration::from_millis(1)).await;
                match server.try_read(&mut buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(e) => panic!("{e}"),
                }
            };
            assert_eq!(&buf[..n], b"late");
        });
    });
}
