//! The networking API beyond the basics: TcpSocket, stream halves,
//! readiness, UDP, Unix sockets, half-close and resets.

mod common;

use std::io::ErrorKind;
use std::net::Shutdown;
use std::time::Duration;

use common::within;
use weft::io::{AsyncReadExt, AsyncWriteExt, Interest};
use weft::net::{
    TcpListener, TcpSocket, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream,
};

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("weft-test-{}-{name}", std::process::id()))
}

#[test]
fn tcp_socket_options_listen_and_connect() {
    within(30, || {
        common::rt().block_on(async {
            let socket = TcpSocket::new_v4().unwrap();
            socket.set_reuseaddr(true).unwrap();
            socket.set_reuseport(true).unwrap();
            assert!(socket.reuseaddr().unwrap() && socket.reuseport().unwrap());
            socket.set_send_buffer_size(64 * 1024).unwrap();
            socket.set_recv_buffer_size(64 * 1024).unwrap();
            assert!(socket.send_buffer_size().unwrap() >= 64 * 1024);
            assert!(socket.recv_buffer_size().unwrap() >= 64 * 1024);
            socket.set_keepalive(true).unwrap();
            assert!(socket.keepalive().unwrap());
            #[allow(deprecated)] // still works, as in tokio; tested here
            socket.set_linger(Some(Duration::from_secs(1))).unwrap();
            assert_eq!(socket.linger().unwrap(), Some(Duration::from_secs(1)));
            socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = socket.local_addr().unwrap();
            // A second socket with SO_REUSEPORT binds the same port.
            let sibling = TcpSocket::new_v4().unwrap();
            sibling.set_reuseport(true).unwrap();
            sibling.bind(addr).unwrap();
            let listener = socket.listen(128).unwrap();
            let _sibling = sibling.listen(128).unwrap();
            let client = TcpSocket::new_v4().unwrap();
            client.set_nodelay(true).unwrap();
            assert!(client.nodelay().unwrap());
            let client = client.connect(addr).await.unwrap();
            assert!(client.nodelay().unwrap());
            assert_eq!(client.peer_addr().unwrap(), addr);
            drop(listener);
        });
    });
}

#[test]
fn ipv6_when_the_host_has_it() {
    within(30, || {
        common::rt().block_on(async {
            let listener = match TcpListener::bind("[::1]:0").await {
                Ok(listener) => listener,
                Err(e) => {
                    println!("skipped: no IPv6 loopback here ({e})");
                    return;
                }
            };
            let addr = listener.local_addr().unwrap();
            assert!(addr.is_ipv6());
            let mut client = TcpStream::connect(addr).await.unwrap();
            let (mut server, peer) = listener.accept().await.unwrap();
            assert!(peer.is_ipv6());
            client.write_all(b"v6").await.unwrap();
            let mut buf = [0u8; 2];
            server.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"v6");
            let udp = UdpSocket::bind("[::1]:0").await.unwrap();
            udp.send_to(b"x", udp.local_addr().unwrap()).await.unwrap();
            let mut buf = [0u8; 4];
            assert_eq!(udp.recv_from(&mut buf).await.unwrap().0, 1);
            assert!(TcpSocket::new_v6().is_ok());
        });
    });
}

#[test]
fn borrowed_and_owned_halves() {
    within(30, || {
        common::rt().block_on(async {
            let (mut client, mut server) = common::pair().await;
            {
                let (mut read, mut write) = TcpStream::split(&mut server);
                client.write_all(b"split").await.unwrap();
                let mut buf = [0u8; 5];
                read.read_exact(&mut buf).await.unwrap();
                write.write_all(&buf).await.unwrap();
            }
            let mut buf = [0u8; 5];
            client.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"split");

            let (mut read, mut write) = server.into_split();
            let writer = weft::spawn(async move {
                write.write_all(b"owned").await.unwrap();
                write
            });
            let write = writer.await.unwrap();
            client.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"owned");
            client.write_all(b"back!").await.unwrap();
            read.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"back!");
            // Halves of different streams do not reunite...
            let (_c2, other) = common::pair().await;
            let (other_read, other_write) = other.into_split();
            let err = read.reunite(other_write).unwrap_err();
            assert!(err.to_string().contains("not from the same stream"));
            let read = err.0;
            drop((err.1, other_read));
            // ...the right ones do, and the stream still works.
            let mut server = read.reunite(write).expect("same stream");
            server.write_all(b"again").await.unwrap();
            client.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"again");
        });
    });
}

#[test]
fn dropping_the_owned_write_half_sends_eof() {
    within(30, || {
        common::rt().block_on(async {
            let (mut client, server) = common::pair().await;
            let (mut read, write) = server.into_split();
            drop(write);
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            assert!(got.is_empty(), "EOF after the write half dropped");
            // The read direction still works.
            client.write_all(b"still").await.unwrap();
            let mut buf = [0u8; 5];
            read.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"still");
        });
    });
}

#[test]
fn close_after_the_peer_reset_is_ok_but_shutdown_reports_it() {
    within(30, || {
        common::rt().block_on(async {
            let (mut client, server) = common::pair().await;
            // SO_LINGER 0: closing sends RST instead of FIN.
            server.set_zero_linger().unwrap();
            drop(server);
            let mut buf = [0u8; 16];
            let read = client.read(&mut buf).await;
            assert!(
                matches!(&read, Err(e) if e.kind() == ErrorKind::ConnectionReset)
                    || matches!(read, Ok(0)),
                "the reset is seen by the reader: {read:?}"
            );
            let err = client.shutdown(Shutdown::Write).unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::NotConnected,
                "std's shutdown reports it"
            );
            // `close` has nothing left to close: success, not an error.
            client.close().await.unwrap();
            let (_read, mut write) = client.into_split();
            write.close().await.unwrap();
        });
    });
}

#[test]
fn ready_try_io_vectored_and_options() {
    within(30, || {
        common::rt().block_on(async {
            let (client, server) = common::pair().await;
            let ready = client.ready(Interest::WRITABLE).await.unwrap();
            assert!(ready.is_writable());
            let written = client
                .try_write_vectored(&[std::io::IoSlice::new(b"ab"), std::io::IoSlice::new(b"cd")])
                .unwrap();
            assert_eq!(written, 4);
            let ready = server
                .ready(Interest::READABLE | Interest::WRITABLE)
                .await
                .unwrap();
            assert!(ready.is_readable());
            let (mut a, mut b) = ([0u8; 1], [0u8; 3]);
            let n = loop {
                server.readable().await.unwrap();
                match server.try_read_vectored(&mut [
                    std::io::IoSliceMut::new(&mut a),
                    std::io::IoSliceMut::new(&mut b),
                ]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                    Err(e) => panic!("{e}"),
                }
            };
            assert_eq!((n, &a, &b), (4, b"a", b"bcd"));
            assert_eq!(
                server.try_read(&mut a).unwrap_err().kind(),
                ErrorKind::WouldBlock
            );
            server.set_ttl(42).unwrap();
            assert_eq!(server.ttl().unwrap(), 42);
            server.set_zero_linger().unwrap();
            assert_eq!(server.linger().unwrap(), Some(Duration::ZERO));
            assert!(server.take_error().unwrap().is_none());
        });
    });
}

#[test]
fn a_peer_that_resets_mid_transfer_gives_an_error_not_a_hang() {
    within(30, || {
        common::rt().block_on(async {
            let (client, mut server) = common::pair().await;
            // Reset on close.
            client.set_zero_linger().unwrap();
            let writer = weft::spawn(async move {
                let chunk = vec![7u8; 64 * 1024];
                loop {
                    if let Err(e) = server.write_all(&chunk).await {
                        return e;
                    }
                }
            });
            weft::time::sleep(Duration::from_millis(20)).await;
            drop(client);
            let err = writer.await.unwrap();
            assert!(
                matches!(
                    err.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
                ),
                "{err:?}"
            );
        });
        // And a reader sees the reset as an error too.
        common::rt().block_on(async {
            let (client, mut server) = common::pair().await;
            client.set_zero_linger().unwrap();
            let mut client = client;
            client.write_all(b"partial").await.unwrap();
            drop(client);
            let mut buf = vec![0u8; 1024];
            let mut outcome = Ok(0);
            for _ in 0..3 {
                outcome = server.read(&mut buf).await;
                if !matches!(outcome, Ok(n) if n > 0) {
                    break;
                }
            }
            let err = outcome.expect_err("the reset shows as an error");
            assert_eq!(err.kind(), ErrorKind::ConnectionReset);
        });
    });
}

#[test]
fn ten_thousand_udp_datagrams_round_trip_and_reconcile() {
    within(60, || {
        common::rt().block_on(async {
            let echo = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            client.connect(echo.local_addr().unwrap()).await.unwrap();
            assert_eq!(client.peer_addr().unwrap(), echo.local_addr().unwrap());
            const N: u32 = 10_000;
            let server = weft::spawn(async move {
                let mut buf = [0u8; 64];
                let mut echoed = 0u32;
                while echoed < N {
                    let (n, from) = echo.recv_from(&mut buf).await.unwrap();
                    echo.send_to(&buf[..n], from).await.unwrap();
                    echoed += 1;
                }
                echoed
            });
            // Keep a window of datagrams in flight, never more than the
            // socket buffers hold, so none is dropped on loopback.
            let (mut sent, mut received, mut sum_sent, mut sum_received) = (0u32, 0u32, 0u64, 0u64);
            let mut buf = [0u8; 64];
            while received < N {
                while sent < N && sent - received < 32 {
                    client.send(&sent.to_le_bytes()).await.unwrap();
                    sum_sent += u64::from(sent);
                    sent += 1;
                }
                let n = client.recv(&mut buf).await.unwrap();
                assert_eq!(n, 4);
                sum_received += u64::from(u32::from_le_bytes(buf[..4].try_into().unwrap()));
                received += 1;
            }
            assert_eq!(server.await.unwrap(), N);
            assert_eq!((sent, received), (N, N));
            assert_eq!(sum_sent, sum_received);
        });
    });
}

#[test]
fn udp_truncation_peek_try_and_options() {
    within(30, || {
        common::rt().block_on(async {
            let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b_addr = b.local_addr().unwrap();
            a.send_to(&[1u8; 100], b_addr).await.unwrap();
            let mut peeked = [0u8; 200];
            let (n, from) = b.peek_from(&mut peeked).await.unwrap();
            assert_eq!((n, from), (100, a.local_addr().unwrap()));
            let mut small = [0u8; 10];
            let err = b.recv_from(&mut small).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidData);
            assert!(err.to_string().contains("100 bytes"), "{err}");
            assert!(err.to_string().contains("10-byte"), "{err}");
            assert_eq!(
                b.try_recv_from(&mut small).unwrap_err().kind(),
                ErrorKind::WouldBlock
            );
            a.try_send_to(b"hey", b_addr).unwrap();
            b.readable().await.unwrap();
            let (n, _) = loop {
                match b.try_recv_from(&mut peeked) {
                    Err(e) if e.kind() == ErrorKind::WouldBlock => b.readable().await.unwrap(),
                    other => break other.unwrap(),
                }
            };
            assert_eq!(&peeked[..n], b"hey");
            a.set_broadcast(true).unwrap();
            assert!(a.broadcast().unwrap());
            a.set_ttl(9).unwrap();
            assert_eq!(a.ttl().unwrap(), 9);
            a.set_multicast_ttl_v4(3).unwrap();
            assert_eq!(a.multicast_ttl_v4().unwrap(), 3);
            a.set_multicast_loop_v4(false).unwrap();
            assert!(!a.multicast_loop_v4().unwrap());
            let group = "239.255.0.1".parse().unwrap();
            match a.join_multicast_v4(group, "127.0.0.1".parse().unwrap()) {
                Ok(()) => a
                    .leave_multicast_v4(group, "127.0.0.1".parse().unwrap())
                    .unwrap(),
                Err(e) => println!("skipped multicast join: {e}"),
            }
            let group6: std::net::Ipv6Addr = "ff02::1:3".parse().unwrap();
            if let Ok(v6) = UdpSocket::bind("[::1]:0").await {
                match v6.join_multicast_v6(&group6, 0) {
                    Ok(()) => v6.leave_multicast_v6(&group6, 0).unwrap(),
                    Err(e) => println!("skipped multicast v6 join: {e}"),
                }
            }
            let std_socket = a.into_std().unwrap();
            let a = UdpSocket::from_std(std_socket).unwrap();
            assert!(a.take_error().unwrap().is_none());
        });
    });
}

#[test]
fn unix_stream_listener_half_close_and_credentials() {
    within(30, || {
        common::rt().block_on(async {
            let path = temp_path("stream.sock");
            let _ = std::fs::remove_file(&path);
            let listener = UnixListener::bind(&path).unwrap();
            // Binding again fails clearly and leaves the file alone.
            let err = UnixListener::bind(&path).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::AddrInUse);
            assert!(
                err.to_string().contains(&path.display().to_string()),
                "{err}"
            );
            assert!(path.exists(), "the socket file was deleted");
            let mut client = UnixStream::connect(&path).await.unwrap();
            let (mut server, _) = listener.accept().await.unwrap();
            let cred = server.peer_cred().unwrap();
            assert_eq!(cred.pid(), Some(std::process::id() as i32));
            assert_eq!(cred.uid(), rustix::process::getuid().as_raw());
            client.write_all(b"to server").await.unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            let mut got = Vec::new();
            server.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"to server");
            // The half-closed client still reads.
            server.write_all(b"reply").await.unwrap();
            drop(server);
            let mut reply = Vec::new();
            client.read_to_end(&mut reply).await.unwrap();
            assert_eq!(reply, b"reply");
            drop(listener);
            assert!(path.exists(), "dropping the listener removed the file");
            std::fs::remove_file(&path).unwrap();
            let err = UnixStream::connect(&path).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound);
            assert!(err.to_string().contains("weft-test"), "{err}");
        });
    });
}

#[test]
fn unix_abstract_namespace_pairs_and_halves() {
    within(30, || {
        common::rt().block_on(async {
            let name = format!("\0weft-test-{}", std::process::id());
            let listener = UnixListener::bind(&name).unwrap();
            let mut client = UnixStream::connect(&name).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            let (mut read, mut write) = server.into_split();
            client.write_all(b"abstract").await.unwrap();
            let mut buf = [0u8; 8];
            read.read_exact(&mut buf).await.unwrap();
            write.write_all(&buf).await.unwrap();
            client.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"abstract");
            let (mut a, mut b) = UnixStream::pair().unwrap();
            let (mut ra, _wa) = UnixStream::split(&mut a);
            b.write_all(b"pair").await.unwrap();
            let mut buf = [0u8; 4];
            ra.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"pair");
        });
    });
}

#[test]
fn unix_datagrams_round_trip_and_report_truncation() {
    within(30, || {
        common::rt().block_on(async {
            let path_a = temp_path("dgram-a.sock");
            let path_b = temp_path("dgram-b.sock");
            let _ = std::fs::remove_file(&path_a);
            let _ = std::fs::remove_file(&path_b);
            let a = UnixDatagram::bind(&path_a).unwrap();
            let b = UnixDatagram::bind(&path_b).unwrap();
            a.send_to(b"hello", &path_b).await.unwrap();
            let mut buf = [0u8; 32];
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"hello");
            assert_eq!(from.as_pathname(), Some(path_a.as_path()));
            b.connect(&path_a).unwrap();
            b.send(&[9u8; 64]).await.unwrap();
            a.connect(&path_b).unwrap();
            let mut small = [0u8; 8];
            let err = a.recv(&mut small).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidData);
            assert!(err.to_string().contains("64 bytes"), "{err}");
            let (p, q) = UnixDatagram::pair().unwrap();
            // `try_` calls act on recorded readiness, as in tokio.
            p.writable().await.unwrap();
            p.try_send(b"x").unwrap();
            let n = loop {
                q.readable().await.unwrap();
                match q.try_recv(&mut buf) {
                    Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                    other => break other.unwrap(),
                }
            };
            assert_eq!(n, 1);
            // An unbound socket can send to a bound one (not to a
            // connected one: Linux refuses other senders with EPERM).
            let path_c = temp_path("dgram-c.sock");
            let _ = std::fs::remove_file(&path_c);
            let c = UnixDatagram::bind(&path_c).unwrap();
            let unbound = UnixDatagram::unbound().unwrap();
            unbound.send_to(b"u", &path_c).await.unwrap();
            assert_eq!(c.recv(&mut buf).await.unwrap(), 1);
            std::fs::remove_file(&path_c).unwrap();
            std::fs::remove_file(&path_a).unwrap();
            std::fs::remove_file(&path_b).unwrap();
        });
    });
}

#[test]
fn a_ready_loop_sees_eof_after_data_and_fin_in_one_turn() {
    within(30, || {
        common::rt().block_on(async {
            let (mut client, server) = common::pair().await;
            client.write_all(b"last words").await.unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            weft::time::sleep(Duration::from_millis(10)).await;
            let mut got = Vec::new();
            let mut buf = [0u8; 4];
            for round in 0.. {
                assert!(round < 1_000, "the ready loop spins");
                let ready = server.ready(Interest::READABLE).await.unwrap();
                if !ready.is_readable() {
                    continue;
                }
                match server.try_read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => panic!("{e}"),
                }
            }
            assert_eq!(got, b"last words");
        });
    });
}

#[test]
fn datagram_edge_cases_shutdown_peek_and_credentials() {
    within(30, || {
        common::rt().block_on(async {
            // A receive after shutdown(Read) is an error, not a busy loop.
            let (p, q) = UnixDatagram::pair().unwrap();
            q.shutdown(Shutdown::Read).unwrap();
            let mut buf = [0u8; 8];
            let err = q.recv(&mut buf).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotConnected, "{err}");
            let cred = p.peer_cred().unwrap();
            assert_eq!(cred.pid(), Some(std::process::id() as i32));
            // A socket connected with connect() has no peer credentials: an
            // error, not a crash.
            let path = temp_path("cred.sock");
            let _ = std::fs::remove_file(&path);
            let bound = UnixDatagram::bind(&path).unwrap();
            let connected = UnixDatagram::unbound().unwrap();
            connected.connect(&path).unwrap();
            if let Ok(cred) = connected.peer_cred() {
                assert_eq!(cred.pid(), None);
            }
            drop(bound);
            std::fs::remove_file(&path).unwrap();
            // Peeking a prefix of a long datagram is fine and leaves it queued.
            let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            a.send_to(&[5u8; 100], b.local_addr().unwrap())
                .await
                .unwrap();
            let mut head = [0u8; 4];
            let (n, _) = b.peek_from(&mut head).await.unwrap();
            assert_eq!((n, head), (4, [5u8; 4]));
            let mut whole = [0u8; 128];
            assert_eq!(b.recv_from(&mut whole).await.unwrap().0, 100);
        });
    });
}

#[test]
fn connecting_to_a_full_unix_backlog_is_an_error_not_a_dead_stream() {
    within(30, || {
        common::rt().block_on(async {
            let path = temp_path("backlog.sock");
            let _ = std::fs::remove_file(&path);
            // A listener with a tiny backlog (std's is large).
            let fd = rustix::net::socket(
                rustix::net::AddressFamily::UNIX,
                rustix::net::SocketType::STREAM,
                None,
            )
            .unwrap();
            let addr = rustix::net::SocketAddrUnix::new(&path).unwrap();
            rustix::net::bind(&fd, &addr).unwrap();
            rustix::net::listen(&fd, 2).unwrap();
            let _listener =
                UnixListener::from_std(std::os::unix::net::UnixListener::from(fd)).unwrap();
            let mut clients = Vec::new();
            let err = loop {
                assert!(clients.len() < 600, "the backlog never filled");
                match UnixStream::connect(&path).await {
                    Ok(client) => {
                        // Every connected stream really is connected.
                        client.peer_addr().unwrap();
                        clients.push(client);
                    }
                    Err(e) => break e,
                }
            };
            assert_eq!(err.kind(), ErrorKind::WouldBlock, "{err}");
            assert!(err.to_string().contains("backlog is full"), "{err}");
            std::fs::remove_file(&path).unwrap();
        });
    });
}

#[test]
fn std_conversions_and_the_less_used_socket_calls() {
    within(30, || {
        common::rt().block_on(async {
            use std::io::{Read as _, Write as _};
            use weft::net::UnixDatagram;

            // Unix stream: from a (blocking) std pair, and back.
            let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
            let mut a = UnixStream::from_std(a).unwrap();
            a.write_all(b"to std").await.unwrap();
            let mut buf = [0u8; 6];
            b.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"to std");
            b.write_all(b"back").unwrap();
            let mut buf = [0u8; 4];
            a.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"back");
            let mut a = a.into_std().unwrap();
            let err = a.read(&mut buf).unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::WouldBlock,
                "into_std stays non-blocking"
            );

            // Unix datagrams: from std, try_send, back to std.
            let (x, y) = std::os::unix::net::UnixDatagram::pair().unwrap();
            let x = UnixDatagram::from_std(x).unwrap();
            let y = UnixDatagram::from_std(y).unwrap();
            // `try_` calls act on known readiness (none before the driver
            // has seen the new socket), as tokio's do.
            x.writable().await.unwrap();
            assert_eq!(x.try_send(b"dgram").unwrap(), 5);
            let mut buf = [0u8; 8];
            assert_eq!(y.recv(&mut buf).await.unwrap(), 5);
            let y = y.into_std().unwrap();
            assert_eq!(y.recv(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);

            // UDP: try_send, ready, peek then recv the same datagram.
            let u1 = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let u2 = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            u1.connect(u2.local_addr().unwrap()).await.unwrap();
            u2.connect(u1.local_addr().unwrap()).await.unwrap();
            u1.writable().await.unwrap();
            assert_eq!(u1.try_send(b"peeked").unwrap(), 6);
            let ready = u2.ready(Interest::READABLE).await.unwrap();
            assert!(ready.is_readable());
            let mut buf = [0u8; 16];
            assert_eq!(u2.peek(&mut buf).await.unwrap(), 6);
            assert_eq!(u2.recv(&mut buf).await.unwrap(), 6);
            assert_eq!(&buf[..6], b"peeked");
            if let Ok(v6) = UdpSocket::bind("[::1]:0").await {
                v6.set_multicast_loop_v6(false).unwrap();
                assert!(!v6.multicast_loop_v6().unwrap());
            }

            // A std stream's socket, wrapped to be configured.
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let std_stream = std::net::TcpStream::connect(addr).unwrap();
            let local = std_stream.local_addr().unwrap();
            let socket = weft::net::TcpSocket::from_std_stream(std_stream);
            socket.set_nodelay(true).unwrap();
            assert!(socket.nodelay().unwrap());
            assert_eq!(socket.local_addr().unwrap(), local);

            // A Unix listener taking one connection per turn still takes
            // every connection.
            let path = temp_path("single.sock");
            let _ = std::fs::remove_file(&path);
            let unix_listener = UnixListener::bind(&path).unwrap();
            unix_listener.set_single_accept(true);
            let clients: Vec<_> = (0..3)
                .map(|_| std::os::unix::net::UnixStream::connect(&path).unwrap())
                .collect();
            for _ in 0..3 {
                unix_listener.accept().await.unwrap();
            }
            drop(clients);
            let _ = std::fs::remove_file(&path);
        });
    });
}

#[test]
fn several_tasks_waiting_on_one_socket_are_all_woken() {
    // Two tasks accept on one listener, two tasks receive on one UDP
    // socket (a tokio idiom: `Arc<TcpListener>` with several acceptors).
    // Each must get its turn; a direction that remembered only the latest
    // waiting task left the other asleep forever.
    within(30, || {
        common::rt().block_on(async {
            let listener = std::sync::Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
            let addr = listener.local_addr().unwrap();
            let acceptors: Vec<_> = (0..2)
                .map(|_| {
                    let listener = std::sync::Arc::clone(&listener);
                    weft::spawn(async move { listener.accept().await.unwrap().1 })
                })
                .collect();
            let udp = std::sync::Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
            let udp_addr = udp.local_addr().unwrap();
            let receivers: Vec<_> = (0..2)
                .map(|_| {
                    let udp = std::sync::Arc::clone(&udp);
                    weft::spawn(async move {
                        let mut buf = [0u8; 8];
                        udp.recv_from(&mut buf).await.unwrap().0
                    })
                })
                .collect();
            // Both of each pair are waiting now.
            for _ in 0..5 {
                weft::task::yield_now().await;
            }
            let _first = TcpStream::connect(addr).await.unwrap();
            let _second = TcpStream::connect(addr).await.unwrap();
            let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            sender.send_to(b"one", udp_addr).await.unwrap();
            sender.send_to(b"two", udp_addr).await.unwrap();
            for acceptor in acceptors {
                weft::time::timeout(Duration::from_secs(10), acceptor)
                    .await
                    .expect("every acceptor got a connection")
                    .unwrap();
            }
            for receiver in receivers {
                let n = weft::time::timeout(Duration::from_secs(10), receiver)
                    .await
                    .expect("every receiver got a datagram")
                    .unwrap();
                assert_eq!(n, 3);
            }
        });
    });
}

#[test]
fn interest_and_ready_have_tokio_s_operations_and_constants() {
    use weft::io::Ready;

    let mut interest = Interest::READABLE;
    interest |= Interest::WRITABLE;
    assert_eq!(interest, Interest::READABLE | Interest::WRITABLE);
    assert_eq!(
        interest.remove(Interest::READABLE),
        Some(Interest::WRITABLE)
    );
    assert_eq!(interest.remove(interest), None);
    assert_eq!(
        Interest::WRITABLE.remove(Interest::READABLE),
        Some(Interest::WRITABLE)
    );

    let flags = [
        Ready::READABLE,
        Ready::WRITABLE,
        Ready::READ_CLOSED,
        Ready::WRITE_CLOSED,
        Ready::PRIORITY,
        Ready::ERROR,
    ];
    let mut all = Ready::EMPTY;
    for flag in flags {
        assert!(!flag.is_empty());
        assert_eq!(flag & Ready::ALL, flag);
        assert_eq!(flag - flag, Ready::EMPTY);
        all |= flag;
    }
    assert_eq!(all, Ready::ALL);
    assert!(Ready::PRIORITY.is_priority() && !Ready::READABLE.is_priority());
    assert!(Ready::ERROR.is_error() && !Ready::ERROR.is_readable());
    // Closed sides count as readable / writable, as tokio's.
    assert!(Ready::READ_CLOSED.is_readable() && Ready::WRITE_CLOSED.is_writable());
    assert!(!(Ready::ALL - Ready::PRIORITY - Ready::ERROR).is_priority());
    assert!(Ready::EMPTY < Ready::READABLE);
}

#[test]
fn a_reset_connection_reports_error_readiness_through_ready() {
    within(30, || {
        common::rt().block_on(async {
            let (client, server) = common::pair().await;
            // SO_LINGER 0: closing sends RST, which sets a socket error.
            server.set_zero_linger().unwrap();
            drop(server);
            let ready = client.ready(Interest::READABLE).await.unwrap();
            assert!(ready.is_read_closed(), "{ready:?}");
            assert!(ready.is_error(), "{ready:?}");
            let err = client.try_read(&mut [0u8; 8]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionReset);
        });
    });
}

/// Polls `f` once with a no-op waker: `true` if it is still pending.
fn pending<F: std::future::Future>(f: F) -> bool {
    futures_util::FutureExt::now_or_never(f).is_none()
}

/// Retries `$op` after `$socket.readable()` while it says `WouldBlock`.
macro_rules! when_readable {
    ($socket:expr, $op:expr) => {
        loop {
            $socket.readable().await.unwrap();
            match $op {
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                other => break other,
            }
        }
    };
}

#[test]
fn udp_peeks_senders_and_poll_variants() {
    use std::future::poll_fn;
    within(30, || {
        common::rt().block_on(async {
            let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let receiver = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let (saddr, raddr) = (sender.local_addr().unwrap(), receiver.local_addr().unwrap());
            let mut buf = [0u8; 32];
            // Empty: every try_ says WouldBlock.
            assert_eq!(
                receiver.try_peek_sender().unwrap_err().kind(),
                ErrorKind::WouldBlock
            );
            assert!(pending(poll_fn(|cx| receiver.poll_peek_sender(cx))));

            poll_fn(|cx| sender.poll_send_ready(cx)).await.unwrap();
            poll_fn(|cx| sender.poll_send_to(cx, b"hello", raddr))
                .await
                .unwrap();
            // The sender, then the datagram, all without consuming it.
            assert_eq!(receiver.peek_sender().await.unwrap(), saddr);
            assert_eq!(
                poll_fn(|cx| receiver.poll_peek_sender(cx)).await.unwrap(),
                saddr
            );
            assert_eq!(receiver.try_peek_sender().unwrap(), saddr);
            let (n, from) = receiver.try_peek_from(&mut buf).unwrap();
            assert_eq!((&buf[..n], from), (&b"hello"[..], saddr));
            let (n, from) = poll_fn(|cx| receiver.poll_peek_from(cx, &mut buf))
                .await
                .unwrap();
            assert_eq!((&buf[..n], from), (&b"hello"[..], saddr));
            // A short peek is fine (peeks are not checked for truncation).
            let mut two = [0u8; 2];
            assert_eq!(receiver.try_peek_from(&mut two).unwrap(), (2, saddr));
            poll_fn(|cx| receiver.poll_recv_ready(cx)).await.unwrap();
            let (n, from) = poll_fn(|cx| receiver.poll_recv_from(cx, &mut buf))
                .await
                .unwrap();
            assert_eq!((&buf[..n], from), (&b"hello"[..], saddr));
            // Consumed: WouldBlock clears readiness, poll_recv_ready waits.
            assert_eq!(
                receiver.try_peek_from(&mut buf).unwrap_err().kind(),
                ErrorKind::WouldBlock
            );
            assert!(pending(poll_fn(|cx| receiver.poll_recv_ready(cx))));

            // Connected: peek, try_peek, poll_peek.
            receiver.connect(saddr).await.unwrap();
            sender.connect(raddr).await.unwrap();
            poll_fn(|cx| sender.poll_send(cx, b"again")).await.unwrap();
            assert_eq!(receiver.peek(&mut buf).await.unwrap(), 5);
            assert_eq!(receiver.try_peek(&mut buf).unwrap(), 5);
            let n = poll_fn(|cx| receiver.poll_peek(cx, &mut buf))
                .await
                .unwrap();
            assert_eq!(&buf[..n], b"again");
            let n = poll_fn(|cx| receiver.poll_recv(cx, &mut buf))
                .await
                .unwrap();
            assert_eq!(&buf[..n], b"again");
            assert_eq!(
                receiver.try_peek(&mut buf).unwrap_err().kind(),
                ErrorKind::WouldBlock
            );
        });
    });
}

#[test]
fn udp_recv_buf_family_fills_spare_capacity_and_reports_truncation() {
    within(30, || {
        common::rt().block_on(async {
            let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let receiver = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let (saddr, raddr) = (sender.local_addr().unwrap(), receiver.local_addr().unwrap());

            // tokio's recv_buf_from / try_recv_buf_from uses.
            sender.send_to(b"hello world", raddr).await.unwrap();
            let mut buf = Vec::with_capacity(32);
            let (n, from) = receiver.recv_buf_from(&mut buf).await.unwrap();
            assert_eq!((n, from, &buf[..]), (11, saddr, &b"hello world"[..]));
            sender.send_to(b"second", raddr).await.unwrap();
            let mut buf = Vec::with_capacity(512);
            buf.extend_from_slice(b"kept:");
            let (n, from) = when_readable!(receiver, receiver.try_recv_buf_from(&mut buf)).unwrap();
            assert_eq!((n, from), (6, saddr));
            assert_eq!(buf, b"kept:second", "advanced by the datagram only");
            let err = receiver.try_recv_buf_from(&mut buf).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::WouldBlock);
            assert_eq!(buf, b"kept:second");

            // Connected: recv_buf / try_recv_buf, into BytesMut.
            sender.connect(raddr).await.unwrap();
            receiver.connect(saddr).await.unwrap();
            sender.send(b"bytes").await.unwrap();
            let mut bytes = bytes::BytesMut::with_capacity(64);
            assert_eq!(receiver.recv_buf(&mut bytes).await.unwrap(), 5);
            assert_eq!(&bytes[..], b"bytes");
            sender.send(b"more").await.unwrap();
            let n = when_readable!(receiver, receiver.try_recv_buf(&mut bytes)).unwrap();
            assert_eq!((n, &bytes[..]), (4, &b"bytesmore"[..]));

            // A datagram longer than the room: InvalidData naming both
            // sizes, the buffer unchanged, the datagram gone.
            sender.send(&[7u8; 100]).await.unwrap();
            let mut storage = [0u8; 10];
            let mut slice: &mut [u8] = &mut storage;
            let err = receiver.recv_buf(&mut slice).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidData);
            assert!(err.to_string().contains("100 bytes"), "{err}");
            assert_eq!(slice.len(), 10, "not advanced");
            sender.send(b"after").await.unwrap();
            assert_eq!(receiver.recv_buf(&mut slice).await.unwrap(), 5);
            assert_eq!(&storage[..5], b"after");
        });
    });
}

#[test]
fn udp_try_io_clears_readiness_and_tos_options() {
    within(30, || {
        common::rt().block_on(async {
            let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let receiver = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            sender
                .send_to(b"x", receiver.local_addr().unwrap())
                .await
                .unwrap();
            receiver.readable().await.unwrap();
            let recv = || {
                let mut buf = [0u8; 8];
                rustix::net::recv(&receiver, &mut buf, rustix::net::RecvFlags::empty())
                    .map(|(n, _)| n)
                    .map_err(std::io::Error::from)
            };
            assert_eq!(receiver.try_io(Interest::READABLE, recv).unwrap(), 1);
            let err = receiver.try_io(Interest::READABLE, recv).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::WouldBlock);
            assert!(pending(receiver.readable()), "cleared by f's WouldBlock");
            sender
                .send_to(b"yz", receiver.local_addr().unwrap())
                .await
                .unwrap();
            assert_eq!(
                receiver.async_io(Interest::READABLE, recv).await.unwrap(),
                2
            );

            sender.set_tos_v4(0x10).unwrap();
            assert_eq!(sender.tos_v4().unwrap(), 0x10);
            assert_eq!(sender.device().unwrap(), None);
        });
    });
}

#[test]
fn unix_datagram_try_and_poll_variants_and_addresses() {
    use std::future::poll_fn;
    within(30, || {
        common::rt().block_on(async {
            let server_path = temp_path("dgram-try-server.sock");
            let client_path = temp_path("dgram-try-client.sock");
            let _ = std::fs::remove_file(&server_path);
            let _ = std::fs::remove_file(&client_path);
            let server = UnixDatagram::bind(&server_path).unwrap();
            let client = UnixDatagram::bind(&client_path).unwrap();
            let mut buf = [0u8; 32];

            // tokio's try_send_to_recv_from.
            let n = loop {
                client.writable().await.unwrap();
                match client.try_send_to(b"hello world", &server_path) {
                    Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                    other => break other.unwrap(),
                }
            };
            assert_eq!(n, 11);
            let (n, from) = when_readable!(server, server.try_recv_from(&mut buf)).unwrap();
            assert_eq!(&buf[..n], b"hello world");
            assert_eq!(from.as_pathname(), Some(client_path.as_path()));
            assert_eq!(
                server.try_recv_from(&mut buf).unwrap_err().kind(),
                ErrorKind::WouldBlock
            );
            assert!(pending(poll_fn(|cx| server.poll_recv_ready(cx))));

            // poll_send_to / poll_recv_from.
            poll_fn(|cx| client.poll_send_ready(cx)).await.unwrap();
            poll_fn(|cx| client.poll_send_to(cx, b"polled", &server_path))
                .await
                .unwrap();
            poll_fn(|cx| server.poll_recv_ready(cx)).await.unwrap();
            let (n, from) = poll_fn(|cx| server.poll_recv_from(cx, &mut buf))
                .await
                .unwrap();
            assert_eq!(&buf[..n], b"polled");
            assert_eq!(from.as_pathname(), Some(client_path.as_path()));

            // A send to a missing path names it.
            let missing = temp_path("dgram-try-missing.sock");
            let err = client.try_send_to(b"x", &missing).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound);
            assert!(
                err.to_string().contains(&*missing.to_string_lossy()),
                "{err}"
            );

            // recv_from now reports truncation too.
            client.send_to(&[1u8; 64], &server_path).await.unwrap();
            let mut small = [0u8; 8];
            let err = server.recv_from(&mut small).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidData);
            assert!(err.to_string().contains("64 bytes"), "{err}");

            // The *_buf family, with unnamed and abstract senders.
            let (a, b) = UnixDatagram::pair().unwrap();
            a.send(b"pair").await.unwrap();
            let mut vec = Vec::with_capacity(16);
            let (n, from) = b.recv_buf_from(&mut vec).await.unwrap();
            assert_eq!((n, &vec[..]), (4, &b"pair"[..]));
            assert!(from.is_unnamed(), "{from:?}");
            a.send(b"buf").await.unwrap();
            assert_eq!(b.recv_buf(&mut vec).await.unwrap(), 3);
            assert_eq!(vec, b"pairbuf");
            a.send(b"try").await.unwrap();
            let n = when_readable!(b, b.try_recv_buf(&mut vec)).unwrap();
            assert_eq!((n, &vec[..]), (3, &b"pairbuftry"[..]));
            let name = format!("\0weft-dgram-buf-{}", std::process::id());
            let named = UnixDatagram::bind(&name).unwrap();
            named.send_to(b"abstract", &server_path).await.unwrap();
            let mut vec = Vec::with_capacity(16);
            let (n, from) = when_readable!(server, server.try_recv_buf_from(&mut vec)).unwrap();
            assert_eq!((n, &vec[..]), (8, &b"abstract"[..]));
            use std::os::linux::net::SocketAddrExt;
            assert_eq!(from.as_abstract_name(), Some(&name.as_bytes()[1..]));
            // Truncation through the buffer: an error, buffer unchanged.
            a.send(&[2u8; 40]).await.unwrap();
            let mut storage = [0u8; 8];
            let mut slice: &mut [u8] = &mut storage;
            let err = b.recv_buf(&mut slice).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidData);
            assert_eq!(slice.len(), 8);

            std::fs::remove_file(&server_path).unwrap();
            std::fs::remove_file(&client_path).unwrap();
        });
    });
}

#[test]
fn unix_streams_poll_readiness_try_read_buf_connect_addr_and_halves() {
    use std::future::poll_fn;
    within(30, || {
        common::rt().block_on(async {
            let path = temp_path("stream-connect-addr.sock");
            let _ = std::fs::remove_file(&path);
            let listener = UnixListener::bind(&path).unwrap();
            let addr = listener.local_addr().unwrap();
            let mut client = UnixStream::connect_addr(&addr).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            let err = UnixStream::connect_addr(&client.local_addr().unwrap())
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "unnamed: {err}");

            let mut buf = [0u8; 16];
            while server.try_read(&mut buf).is_ok() {}
            assert!(pending(poll_fn(|cx| server.poll_read_ready(cx))));
            poll_fn(|cx| client.poll_write_ready(cx)).await.unwrap();
            client.write_all(b"unix").await.unwrap();
            poll_fn(|cx| server.poll_read_ready(cx)).await.unwrap();
            let mut vec = Vec::with_capacity(16);
            assert_eq!(server.try_read_buf(&mut vec).unwrap(), 4);
            assert_eq!(vec, b"unix");

            // Halves: tokio's methods.
            let (read, write) = server.into_split();
            assert!(read.local_addr().unwrap().as_pathname().is_some());
            assert!(write.peer_addr().unwrap().is_unnamed());
            write.writable().await.unwrap();
            assert_eq!(write.try_write(b"back").unwrap(), 4);
            let mut back = [0u8; 4];
            client.read_exact(&mut back).await.unwrap();
            assert_eq!(&back, b"back");
            client.write_all(b"half").await.unwrap();
            read.readable().await.unwrap();
            let mut vec = Vec::with_capacity(8);
            assert_eq!(read.try_read_buf(&mut vec).unwrap(), 4);
            assert_eq!(vec, b"half");
            std::fs::remove_file(&path).unwrap();

            // An abstract address.
            let name = format!("\0weft-connect-addr-{}", std::process::id());
            let listener = UnixListener::bind(&name).unwrap();
            let client = UnixStream::connect_addr(&listener.local_addr().unwrap())
                .await
                .unwrap();
            let (server, _) = listener.accept().await.unwrap();
            assert_eq!(
                server.peer_cred().unwrap().pid(),
                client.peer_cred().unwrap().pid()
            );
        });
    });
}

#[test]
fn ready_waits_for_error_and_priority_interest() {
    use std::os::fd::AsRawFd;
    within(30, || {
        common::rt().block_on(async {
            let (client, server) = common::pair().await;
            // Urgent data: PRIORITY (and READABLE) on the client.
            // SAFETY: a valid socket fd and a 1-byte buffer.
            let sent =
                unsafe { libc::send(server.as_raw_fd(), b"!".as_ptr().cast(), 1, libc::MSG_OOB) };
            assert_eq!(sent, 1);
            let ready = client.ready(Interest::PRIORITY).await.unwrap();
            assert!(ready.is_priority(), "{ready:?}");
            assert!(!ready.is_writable(), "{ready:?}");
            // Read the urgent byte under PRIORITY, as tokio's docs do; the
            // next try finds nothing, which clears the priority readiness,
            // so a PRIORITY wait waits again instead of spinning.
            let mut oob = [0u8; 1];
            let recv_oob = |buf: &mut [u8]| {
                // SAFETY: a valid socket fd and a buffer of `buf.len()` bytes.
                let n = unsafe {
                    libc::recv(
                        client.as_raw_fd(),
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                        libc::MSG_OOB,
                    )
                };
                if n < 0 {
                    Err(std::io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            };
            assert_eq!(
                client
                    .try_io(Interest::PRIORITY, || recv_oob(&mut oob))
                    .unwrap(),
                1
            );
            assert_eq!(&oob, b"!");
            let again = client.try_io(Interest::PRIORITY, || match recv_oob(&mut oob) {
                // Linux says EINVAL once the urgent byte is gone.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    Err(std::io::ErrorKind::WouldBlock.into())
                }
                other => other,
            });
            assert_eq!(again.unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
            let mut priority_wait = std::pin::pin!(client.ready(Interest::PRIORITY));
            assert!(futures_util::poll!(priority_wait.as_mut()).is_pending());
            // Readable and writable, but no error: an ERROR wait waits.
            let mut error_wait = std::pin::pin!(client.ready(Interest::ERROR));
            assert!(futures_util::poll!(error_wait.as_mut()).is_pending());
            server.set_zero_linger().unwrap();
            drop(server);
            let ready = error_wait.await.unwrap();
            assert!(ready.is_error() && !ready.is_readable(), "{ready:?}");
            assert!(Interest::ERROR.is_error() && !Interest::ERROR.is_readable());
        });
    });
}

#[test]
fn std_sockets_convert_with_try_from_and_streams_and_halves_are_as_ref() {
    use std::net::SocketAddr;
    within(30, || {
        common::rt().block_on(async {
            // tokio's `TryFrom<std type>`: registered and non-blocking.
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = std_listener.local_addr().unwrap();
            let listener: TcpListener = std_listener.try_into().unwrap();
            let std_client = std::net::TcpStream::connect(addr).unwrap();
            let mut client = TcpStream::try_from(std_client).unwrap();
            let (mut server, _) = listener.accept().await.unwrap();
            client.write_all(b"tcp").await.unwrap();
            let mut buf = [0u8; 3];
            server.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"tcp");

            let std_udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let udp = UdpSocket::try_from(std_udp).unwrap();
            udp.send_to(b"udp", udp.local_addr().unwrap())
                .await
                .unwrap();
            assert_eq!(udp.recv(&mut buf).await.unwrap(), 3);

            let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
            let (mut a, mut b) = (
                UnixStream::try_from(a).unwrap(),
                UnixStream::try_from(b).unwrap(),
            );
            a.write_all(b"uds").await.unwrap();
            b.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"uds");

            let (x, y) = std::os::unix::net::UnixDatagram::pair().unwrap();
            let (x, y): (UnixDatagram, UnixDatagram) =
                (x.try_into().unwrap(), y.try_into().unwrap());
            x.send(b"dgm").await.unwrap();
            assert_eq!(y.recv(&mut buf).await.unwrap(), 3);

            let path = temp_path("try-from.sock");
            let _ = std::fs::remove_file(&path);
            let std_listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
            let unix_listener = UnixListener::try_from(std_listener).unwrap();
            // Non-blocking: with nothing queued, accept waits (pending)
            // rather than blocking the thread.
            assert!(pending(unix_listener.accept()));
            let _c = UnixStream::connect(&path).await.unwrap();
            unix_listener.accept().await.unwrap();
            std::fs::remove_file(&path).unwrap();

            // Outside a runtime: an error (tokio's panics).
            let err = std::thread::spawn(|| {
                let std_udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                UdpSocket::try_from(std_udp).unwrap_err()
            })
            .join()
            .unwrap();
            assert!(err.to_string().contains("runtime"), "{err}");

            // `AsRef<TcpStream>` on the stream and all four halves.
            fn peer(stream: impl AsRef<TcpStream>) -> SocketAddr {
                stream.as_ref().peer_addr().unwrap()
            }
            let expected = client.peer_addr().unwrap();
            assert_eq!(peer(&client), expected);
            {
                let (read, write) = TcpStream::split(&mut client);
                assert_eq!(peer(&read), expected);
                assert_eq!(peer(&write), expected);
                assert!(std::ptr::eq(read.as_ref(), write.as_ref()));
            }
            let (read, write) = client.into_split();
            assert_eq!(peer(&read), expected);
            assert_eq!(peer(&write), expected);

            fn unix_peer(stream: impl AsRef<UnixStream>) -> bool {
                stream.as_ref().peer_addr().unwrap().is_unnamed()
            }
            assert!(unix_peer(&a));
            let (read, write) = UnixStream::split(&mut a);
            assert!(unix_peer(read) && unix_peer(write));
        });
    });
}

#[test]
fn unix_listener_bind_addr_socket_addr_path_and_credential_aliases() {
    use std::collections::HashSet;
    use std::os::linux::net::SocketAddrExt;
    use weft::net::unix::{gid_t, pid_t, uid_t, SocketAddr, UCred};
    within(30, || {
        common::rt().block_on(async {
            // A path address, through tokio's path to the type.
            let path = temp_path("bind-addr.sock");
            let _ = std::fs::remove_file(&path);
            let addr = SocketAddr::from_pathname(&path).unwrap();
            let listener = UnixListener::bind_addr(&addr).unwrap();
            let local: SocketAddr = listener.local_addr().unwrap();
            assert_eq!(local.as_pathname(), Some(path.as_path()));
            let client = UnixStream::connect(&path).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            // Binding again: AddrInUse, naming the path.
            let err = UnixListener::bind_addr(&addr).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::AddrInUse);
            assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
            std::fs::remove_file(&path).unwrap();

            // An abstract one; its error names it as `@name`.
            let name = format!("weft-bind-addr-{}", std::process::id());
            let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
            let abstract_listener = UnixListener::bind_addr(&addr).unwrap();
            assert_eq!(
                abstract_listener.local_addr().unwrap().as_abstract_name(),
                Some(name.as_bytes())
            );
            let err = UnixListener::bind_addr(&addr).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::AddrInUse);
            assert!(err.to_string().contains(&format!("@{name}")), "{err}");
            let _c = UnixStream::connect_addr(&addr).await.unwrap();
            abstract_listener.accept().await.unwrap();

            // An unnamed one names nothing to bind to.
            let unnamed = client.local_addr().unwrap();
            assert!(unnamed.is_unnamed());
            let err = UnixListener::bind_addr(&unnamed).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

            // tokio's aliases, and `Hash` on `UCred`.
            let cred: UCred = server.peer_cred().unwrap();
            let uid: uid_t = cred.uid();
            let gid: gid_t = cred.gid();
            let pid: Option<pid_t> = cred.pid();
            assert_eq!(uid, rustix::process::geteuid().as_raw());
            assert_eq!(gid, rustix::process::getegid().as_raw());
            assert_eq!(pid, Some(std::process::id() as pid_t));
            let mut set = HashSet::new();
            set.insert(cred);
            set.insert(client.peer_cred().unwrap());
            assert_eq!(set.len(), 1, "the same process on both ends");
        });
    });
}

#[test]
fn unix_socket_binds_listens_connects_and_makes_datagram_sockets() {
    use std::os::fd::{AsFd as _, AsRawFd as _, FromRawFd as _, IntoRawFd as _};
    use weft::net::UnixSocket;
    within(30, || {
        common::rt().block_on(async {
            // tokio's uds_socket.rs: a datagram echo between two bound
            // sockets.
            let server_path = temp_path("unix-socket-server.sock");
            let client_path = temp_path("unix-socket-client.sock");
            for p in [&server_path, &client_path] {
                let _ = std::fs::remove_file(p);
            }
            let socket = UnixSocket::new_datagram().unwrap();
            socket.bind(&server_path).unwrap();
            let server = socket.datagram().unwrap();
            let socket = UnixSocket::new_datagram().unwrap();
            socket.bind(&client_path).unwrap();
            let client = socket.datagram().unwrap();
            client.connect(&server_path).unwrap();
            client.send(b"ECHO").await.unwrap();
            let mut buf = [0u8; 16];
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            assert_eq!(from.as_pathname(), Some(client_path.as_path()));
            server
                .send_to(&buf[..n], from.as_pathname().unwrap())
                .await
                .unwrap();
            assert_eq!(client.recv(&mut buf).await.unwrap(), 4);
            assert_eq!(&buf[..4], b"ECHO");
            // Binding over an existing file: AddrInUse naming the path.
            let err = UnixSocket::new_datagram()
                .unwrap()
                .bind(&server_path)
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::AddrInUse);
            assert!(
                err.to_string().contains(&*server_path.to_string_lossy()),
                "{err}"
            );
            for p in [&server_path, &client_path] {
                std::fs::remove_file(p).unwrap();
            }

            // A listener, and a stream connecting from a bound path.
            let sock_path = temp_path("unix-socket-listen.sock");
            let peer_path = temp_path("unix-socket-peer.sock");
            for p in [&sock_path, &peer_path] {
                let _ = std::fs::remove_file(p);
            }
            let socket = UnixSocket::new_stream().unwrap();
            socket.bind(&sock_path).unwrap();
            let listener = socket.listen(1024).unwrap();
            let socket = UnixSocket::new_stream().unwrap();
            socket.bind(&peer_path).unwrap();
            let (accepted, connected) =
                futures_util::future::join(listener.accept(), socket.connect(&sock_path)).await;
            let ((mut server, peer), mut client) = (accepted.unwrap(), connected.unwrap());
            assert_eq!(peer.as_pathname(), Some(peer_path.as_path()));
            assert_eq!(
                server.peer_addr().unwrap().as_pathname(),
                Some(peer_path.as_path())
            );
            client.write_all(b"hello").await.unwrap();
            drop(client);
            let mut got = Vec::new();
            server.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"hello");
            // Connecting where nothing is: NotFound naming the path.
            std::fs::remove_file(&sock_path).unwrap();
            let err = UnixSocket::new_stream()
                .unwrap()
                .connect(&sock_path)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound);
            assert!(
                err.to_string().contains(&*sock_path.to_string_lossy()),
                "{err}"
            );
            std::fs::remove_file(&peer_path).unwrap();

            // tokio's assert_usage: its messages, word for word.
            let err = UnixSocket::new_datagram()
                .unwrap()
                .connect("invalid.sock")
                .await
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                "connect cannot be called on a datagram socket"
            );
            let err = UnixSocket::new_datagram()
                .unwrap()
                .listen(1024)
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                "listen cannot be called on a datagram socket"
            );
            let err = UnixSocket::new_stream().unwrap().datagram().unwrap_err();
            assert_eq!(
                err.to_string(),
                "datagram cannot be called on a stream socket"
            );

            // Raw descriptors: a blocking socket handed in connects
            // without blocking and ends up non-blocking.
            let name = format!("\0weft-unix-socket-raw-{}", std::process::id());
            let listener = UnixListener::bind(&name).unwrap();
            let blocking =
                socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
            assert!(!rustix::fs::fcntl_getfl(&blocking)
                .unwrap()
                .contains(rustix::fs::OFlags::NONBLOCK));
            // SAFETY: `into_raw_fd` hands over an open descriptor that
            // nothing else owns.
            let socket = unsafe { UnixSocket::from_raw_fd(blocking.into_raw_fd()) };
            assert_eq!(socket.as_raw_fd(), socket.as_fd().as_raw_fd());
            let stream = socket.connect(&name).await.unwrap();
            assert!(rustix::fs::fcntl_getfl(&stream)
                .unwrap()
                .contains(rustix::fs::OFlags::NONBLOCK));
            listener.accept().await.unwrap();
            let raw = UnixSocket::new_stream().unwrap().into_raw_fd();
            // SAFETY: `raw` was just handed over by `into_raw_fd`.
            drop(unsafe { std::os::fd::OwnedFd::from_raw_fd(raw) });
        });
    });
}

#[test]
fn net_types_are_unwind_safe_as_tokio_s() {
    fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    unwind_safe::<weft::net::TcpListener>();
    unwind_safe::<weft::net::TcpSocket>();
    unwind_safe::<weft::net::TcpStream>();
    unwind_safe::<weft::net::UdpSocket>();
    unwind_safe::<weft::net::UnixDatagram>();
    unwind_safe::<weft::net::UnixListener>();
    unwind_safe::<weft::net::UnixStream>();
}

#[test]
fn interest_debug_names_every_flag() {
    assert_eq!(format!("{:?}", Interest::READABLE), "READABLE");
    assert_eq!(
        format!(
            "{:?}",
            Interest::READABLE | Interest::PRIORITY | Interest::ERROR
        ),
        "READABLE | PRIORITY | ERROR"
    );
    assert_eq!(format!("{:?}", Interest::ERROR), "ERROR");
}
