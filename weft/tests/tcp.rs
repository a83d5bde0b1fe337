//! TCP: echo under concurrency, connect errors, half-close, peek, vectored
//! writes, address parsing.

mod common;

use std::io::IoSlice;
use std::net::Shutdown;

use common::{rt, within, Rng};
use weft::io::{AsyncReadExt, AsyncWriteExt};
use weft::net::{TcpListener, TcpStream};

async fn echo_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    weft::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            weft::spawn(async move {
                let mut buf = vec![0u8; 1500];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn two_hundred_concurrent_echo_round_trips_are_byte_exact() {
    within(60, || {
        rt().block_on(async {
            let addr = echo_server().await;
            let mut clients = Vec::new();
            for id in 0..200u64 {
                clients.push(weft::spawn(async move {
                    let mut rng = Rng(id * 7919 + 1);
                    let mut stream = TcpStream::connect(addr).await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    assert!(stream.nodelay().unwrap());
                    for round in 0..5 {
                        // Sizes cross the server's 1500-byte buffer, so echoes
                        // come back in pieces.
                        let len = 1 + rng.below(20_000) as usize;
                        let message: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                        let (mut reader, mut writer) = (&stream, &stream);
                        let send = async {
                            writer.write_all(&message).await.unwrap();
                        };
                        let mut echoed = vec![0u8; len];
                        let receive = async {
                            reader.read_exact(&mut echoed).await.unwrap();
                        };
                        futures_util::join!(send, receive);
                        assert!(echoed == message, "client {id} round {round}: echo differs");
                    }
                    stream.close().await.unwrap();
                    let mut rest = Vec::new();
                    stream.read_to_end(&mut rest).await.unwrap();
                    assert!(rest.is_empty());
                }));
            }
            for client in clients {
                client.await.expect("client task");
            }
        })
    });
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    within(20, || {
        rt().block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            drop(listener);
            let err = TcpStream::connect(addr).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
        })
    });
}

#[test]
fn host_names_and_bad_addresses_are_clear_errors() {
    within(20, || {
        rt().block_on(async {
            // A name that does not resolve: the lookup's error, naming it.
            let err = TcpListener::bind("no-such-host.invalid:80")
                .await
                .unwrap_err();
            assert!(err.to_string().contains("no-such-host.invalid"), "{err}");
            let err = TcpStream::connect("127.0.0.1").await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
            // localhost works without DNS.
            let listener = TcpListener::bind("localhost:0").await.unwrap();
            assert!(listener.local_addr().unwrap().ip().is_loopback());
            // Binding a port in use reports the kernel's error.
            let taken = listener.local_addr().unwrap();
            let err = TcpListener::bind(taken).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse, "{err}");
        })
    });
}

#[test]
fn shutdown_write_gives_the_peer_eof_and_reads_continue() {
    within(20, || {
        rt().block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (mut server, peer) = listener.accept().await.unwrap();
            assert_eq!(peer, client.local_addr().unwrap());
            assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
            client.write_all(b"request").await.unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            let mut request = Vec::new();
            server.read_to_end(&mut request).await.unwrap();
            assert_eq!(request, b"request");
            // The client can still read what the server sends after the EOF.
            server.write_all(b"response").await.unwrap();
            drop(server);
            let mut response = Vec::new();
            client.read_to_end(&mut response).await.unwrap();
            assert_eq!(response, b"response");
        })
    });
}

#[test]
fn peek_does_not_consume() {
    within(20, || {
        rt().block_on(async {
            let (mut client, mut server) = common::pair().await;
            let peeker = weft::spawn(async move {
                let mut peeked = [0u8; 5];
                // Waits for data: nothing has been sent yet.
                let n = server.peek(&mut peeked).await.unwrap();
                let mut read = vec![0u8; n];
                server.read_exact(&mut read).await.unwrap();
                assert_eq!(&peeked[..n], &read[..]);
                read
            });
            weft::task::yield_now().await;
            client.write_all(b"hello").await.unwrap();
            let read = peeker.await.unwrap();
            assert!(!read.is_empty() && b"hello".starts_with(&read));
        })
    });
}

#[test]
fn vectored_writes_arrive_in_order() {
    within(20, || {
        rt().block_on(async {
            let (mut client, mut server) = common::pair().await;
            let parts: [&[u8]; 3] = [b"one ", b"two ", b"three"];
            let slices: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
            let n = client.write_vectored(&slices).await.unwrap();
            assert_eq!(n, 13, "a short vectored write on an empty socket buffer");
            client.close().await.unwrap();
            let mut got = String::new();
            server.read_to_string(&mut got).await.unwrap();
            assert_eq!(got, "one two three");
        })
    });
}

#[test]
fn accept_drains_a_burst_of_connections() {
    within(20, || {
        rt().block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            // Queue 50 connections in the backlog before accepting any.
            let mut clients = Vec::new();
            for _ in 0..50 {
                clients.push(std::net::TcpStream::connect(addr).unwrap());
            }
            let mut peers = Vec::new();
            for _ in &clients {
                let (_stream, peer) = listener.accept().await.unwrap();
                peers.push(peer);
            }
            let mut expected: Vec<_> = clients.iter().map(|c| c.local_addr().unwrap()).collect();
            expected.sort();
            peers.sort();
            assert_eq!(peers, expected);
        })
    });
}

#[test]
fn sockets_outliving_their_runtime_fail_instead_of_hanging() {
    within(20, || {
        let rt = rt();
        let (client, _server) = rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let server = listener.accept().await.unwrap();
            (client, server)
        });
        drop(rt);
        let other = common::rt();
        let mut client = client;
        let err = other
            .block_on(async { client.read(&mut [0u8; 8]).await })
            .unwrap_err();
        assert!(err.to_string().contains("shut down"), "{err}");
    });
}

#[test]
fn creating_sockets_outside_a_runtime_is_an_error() {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let err = TcpListener::from_std(std_listener).unwrap_err();
    assert!(err.to_string().contains("no weft runtime"), "{err}");
}

#[test]
fn readable_and_try_read_wait_for_new_data_after_would_block() {
    within(20, || {
        rt().block_on(async {
            let (client, mut server) = common::pair().await;
            server.write_all(b"first").await.unwrap();
            let mut buf = [0u8; 64];
            client.readable().await.unwrap();
            assert_eq!(client.try_read(&mut buf).unwrap(), 5);
            let err = client.try_read(&mut buf).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
            // Drained: readable() must now wait, not return at once forever.
            let waited =
                weft::time::timeout(std::time::Duration::from_millis(30), client.readable()).await;
            assert!(waited.is_err(), "readable() stayed ready after WouldBlock");
            server.write_all(b"second").await.unwrap();
            client.readable().await.unwrap();
            assert_eq!(client.try_read(&mut buf).unwrap(), 6);
            assert_eq!(&buf[..6], b"second");
            assert!(client.try_write(b"reply").unwrap() > 0);
        })
    });
}

#[test]
fn vectored_writes_past_iov_max_do_not_stall() {
    within(20, || {
        rt().block_on(async {
            let (mut client, mut server) = common::pair().await;
            let bytes: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
            let mut sent = 0;
            while sent < bytes.len() {
                // One slice per byte: 3000 slices, more than IOV_MAX (1024).
                let slices: Vec<IoSlice<'_>> = bytes[sent..].chunks(1).map(IoSlice::new).collect();
                sent += client.write_vectored(&slices).await.unwrap();
            }
            client.write_all(b"!").await.unwrap();
            let mut got = vec![0u8; 3001];
            server.read_exact(&mut got).await.unwrap();
            assert_eq!(&got[..3000], &bytes[..]);
            assert_eq!(got[3000], b'!');
        })
    });
}

/// Polls `f` once with a no-op waker: `true` if it is still pending.
fn pending<F: std::future::Future>(f: F) -> bool {
    futures_util::FutureExt::now_or_never(f).is_none()
}

#[test]
fn poll_read_ready_reports_readiness_and_a_would_block_clears_it() {
    within(20, || {
        rt().block_on(async {
            let (client, mut server) = common::pair().await;
            let mut buf = [0u8; 64];
            // Drain: after WouldBlock, readiness is cleared.
            while client.try_read(&mut buf).is_ok() {}
            assert!(
                pending(std::future::poll_fn(|cx| client.poll_read_ready(cx))),
                "poll_read_ready stayed ready after WouldBlock"
            );
            // A task waiting in poll_read_ready is woken by new data.
            let client = std::sync::Arc::new(client);
            let waiter = {
                let client = std::sync::Arc::clone(&client);
                weft::spawn(async move {
                    std::future::poll_fn(|cx| client.poll_read_ready(cx)).await?;
                    let mut buf = [0u8; 64];
                    let n = client.try_read(&mut buf)?;
                    Ok::<_, std::io::Error>(buf[..n].to_vec())
                })
            };
            weft::task::yield_now().await;
            server.write_all(b"woken").await.unwrap();
            assert_eq!(waiter.await.unwrap().unwrap(), b"woken");
            // Readiness only: it does not consume anything.
            server.write_all(b"kept").await.unwrap();
            std::future::poll_fn(|cx| client.poll_read_ready(cx))
                .await
                .unwrap();
            std::future::poll_fn(|cx| client.poll_read_ready(cx))
                .await
                .unwrap();
            let n = client.try_read(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"kept");
            // A fresh stream is writable.
            std::future::poll_fn(|cx| client.poll_write_ready(cx))
                .await
                .unwrap();
            assert_eq!(client.try_write(b"x").unwrap(), 1);
        })
    });
}

#[test]
fn try_read_buf_advances_by_the_bytes_read_only() {
    within(20, || {
        rt().block_on(async {
            let (client, mut server) = common::pair().await;
            server.write_all(b"hello").await.unwrap();
            // A Vec with data already in it and spare room.
            let mut buf = Vec::with_capacity(64);
            buf.extend_from_slice(b">>");
            let n = loop {
                client.readable().await.unwrap();
                match client.try_read_buf(&mut buf) {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    other => break other.unwrap(),
                }
            };
            assert_eq!(n, 5);
            assert_eq!(buf, b">>hello");
            // Nothing queued: WouldBlock, the buffer untouched.
            let err = client.try_read_buf(&mut buf).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
            assert_eq!(buf, b">>hello");
            // A fixed slice: only its remaining room is used.
            server.write_all(b"0123456789").await.unwrap();
            let mut storage = [b'.'; 4];
            let mut slice: &mut [u8] = &mut storage;
            let n = loop {
                client.readable().await.unwrap();
                match client.try_read_buf(&mut slice) {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    other => break other.unwrap(),
                }
            };
            assert_eq!((n, slice.len()), (4, 0));
            assert_eq!(&storage, b"0123");
            // BytesMut, and the rest of the data.
            let mut bytes = bytes::BytesMut::with_capacity(16);
            assert_eq!(client.try_read_buf(&mut bytes).unwrap(), 6);
            assert_eq!(&bytes[..], b"456789");
        })
    });
}

#[test]
fn set_zero_linger_resets_the_connection_on_drop() {
    within(20, || {
        rt().block_on(async {
            let (client, mut server) = common::pair().await;
            assert_eq!(client.linger().unwrap(), None);
            client.set_zero_linger().unwrap();
            assert_eq!(client.linger().unwrap(), Some(std::time::Duration::ZERO));
            drop(client);
            let mut buf = [0u8; 8];
            let err = server.read(&mut buf).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");

            // On a TcpSocket, before connecting.
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let socket = weft::net::TcpSocket::new_v4().unwrap();
            socket.set_zero_linger().unwrap();
            assert_eq!(socket.linger().unwrap(), Some(std::time::Duration::ZERO));
            let client = socket
                .connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            assert_eq!(client.linger().unwrap(), Some(std::time::Duration::ZERO));
            let (mut server, _) = listener.accept().await.unwrap();
            drop(client);
            let err = server.read(&mut buf).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
        })
    });
}

#[test]
fn read_halves_peek_and_have_tokio_s_methods() {
    within(20, || {
        rt().block_on(async {
            let (mut client, mut server) = common::pair().await;
            let (server_addr, client_addr) =
                (server.local_addr().unwrap(), client.local_addr().unwrap());
            {
                let (mut read, write) = TcpStream::split(&mut server);
                assert_eq!(read.peer_addr().unwrap(), client_addr);
                assert_eq!(write.local_addr().unwrap(), server_addr);
                client.write_all(b"abc").await.unwrap();
                let mut buf = [0u8; 8];
                assert_eq!(read.peek(&mut buf).await.unwrap(), 3);
                assert_eq!(&buf[..3], b"abc");
                let n = std::future::poll_fn(|cx| read.poll_peek(cx, &mut buf))
                    .await
                    .unwrap();
                assert_eq!(n, 3, "peeking does not consume");
                read.readable().await.unwrap();
                assert_eq!(read.try_read(&mut buf).unwrap(), 3);
                assert_eq!(&buf[..3], b"abc");
                write.writable().await.unwrap();
                assert_eq!(write.try_write(b"back").unwrap(), 4);
                let ready = write.ready(weft::io::Interest::WRITABLE).await.unwrap();
                assert!(ready.is_writable());
            }
            let mut back = [0u8; 4];
            client.read_exact(&mut back).await.unwrap();
            assert_eq!(&back, b"back");

            let (mut read, write) = server.into_split();
            assert_eq!(read.local_addr().unwrap(), server_addr);
            assert_eq!(write.peer_addr().unwrap(), client_addr);
            client.write_all(b"owned").await.unwrap();
            let mut buf = [0u8; 8];
            assert_eq!(read.peek(&mut buf).await.unwrap(), 5);
            let mut vec = Vec::with_capacity(8);
            read.readable().await.unwrap();
            assert_eq!(read.try_read_buf(&mut vec).unwrap(), 5);
            assert_eq!(vec, b"owned");
            let slices = [IoSlice::new(b"o"), IoSlice::new(b"k")];
            assert_eq!(write.try_write_vectored(&slices).unwrap(), 2);
            let mut ok = [0u8; 2];
            client.read_exact(&mut ok).await.unwrap();
            assert_eq!(&ok, b"ok");
            // Peek at end of stream is 0.
            client.shutdown(Shutdown::Write).unwrap();
            assert_eq!(read.peek(&mut buf).await.unwrap(), 0);
        })
    });
}

#[test]
fn try_io_and_async_io_run_user_operations_under_readiness() {
    within(20, || {
        rt().block_on(async {
            let (client, mut server) = common::pair().await;
            let read = |buf: &mut [u8]| -> std::io::Result<usize> {
                rustix::io::read(&client, buf).map_err(std::io::Error::from)
            };
            let mut buf = [0u8; 64];
            server.write_all(b"x").await.unwrap();
            client.readable().await.unwrap();
            // `f` runs while readable; once it says WouldBlock, readiness
            // is cleared and `readable` waits.
            let mut got = 0;
            let err = loop {
                match client.try_io(weft::io::Interest::READABLE, || read(&mut buf)) {
                    Ok(n) => got += n,
                    Err(e) => break e,
                }
            };
            assert_eq!(got, 1);
            assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
            assert!(pending(client.readable()), "still ready after WouldBlock");
            server.write_all(b"via async_io").await.unwrap();
            let n = client
                .async_io(weft::io::Interest::READABLE, || read(&mut buf))
                .await
                .unwrap();
            assert_eq!(&buf[..n], b"via async_io");
            // Write interest: `f` runs under the write side's readiness.
            client.writable().await.unwrap();
            let sent = client
                .try_io(weft::io::Interest::WRITABLE, || {
                    rustix::net::send(&client, b"raw", rustix::net::SendFlags::NOSIGNAL)
                        .map_err(std::io::Error::from)
                })
                .unwrap();
            assert_eq!(sent, 3);
            let mut raw = [0u8; 3];
            server.read_exact(&mut raw).await.unwrap();
            assert_eq!(&raw, b"raw");
        })
    });
}

#[test]
fn quickack_round_trips() {
    within(20, || {
        rt().block_on(async {
            let (client, _server) = common::pair().await;
            client.set_quickack(true).unwrap();
            assert!(client.quickack().unwrap());
            client.set_quickack(false).unwrap();
            assert!(!client.quickack().unwrap());
        })
    });
}
