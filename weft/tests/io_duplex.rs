//! `weft::io::{duplex, simplex, SimplexStream}`: tokio's
//! tests/duplex_stream.rs and tests/io_mem_stream.rs converted by renaming
//! (`shutdown` is futures-io's `close`), then weft's own checks of the
//! simplex pipe, close semantics, the budget and the `tokio-io` traits.

mod common;
#[path = "common/harness.rs"]
mod harness;

use harness::bounded;

use std::io::IoSlice;

use futures_util::FutureExt;
use weft::io::{duplex, AsyncReadExt, AsyncWriteExt};

const HELLO: &[u8] = b"hello world...";

// ===== tokio's tests/duplex_stream.rs =====

#[test]
fn write_vectored() {
    bounded(|| async {
        let (mut client, mut server) = weft::io::duplex(64);

        let ret = client
            .write_vectored(&[IoSlice::new(HELLO), IoSlice::new(HELLO)])
            .await
            .unwrap();
        assert_eq!(ret, HELLO.len() * 2);

        client.flush().await.unwrap();
        drop(client);

        let mut buf = Vec::with_capacity(HELLO.len() * 2);
        let bytes_read = server.read_to_end(&mut buf).await.unwrap();

        assert_eq!(bytes_read, HELLO.len() * 2);
        assert_eq!(buf, [HELLO, HELLO].concat());
    });
}

#[test]
fn write_vectored_and_shutdown() {
    bounded(|| async {
        let (mut client, mut server) = weft::io::duplex(64);

        let ret = client
            .write_vectored(&[IoSlice::new(HELLO), IoSlice::new(HELLO)])
            .await
            .unwrap();
        assert_eq!(ret, HELLO.len() * 2);

        client.close().await.unwrap();
        drop(client);

        let mut buf = Vec::with_capacity(HELLO.len() * 2);
        let bytes_read = server.read_to_end(&mut buf).await.unwrap();

        assert_eq!(bytes_read, HELLO.len() * 2);
        assert_eq!(buf, [HELLO, HELLO].concat());
    });
}

// ===== tokio's tests/io_mem_stream.rs =====

#[test]
fn ping_pong() {
    bounded(|| async {
        let (mut a, mut b) = duplex(32);

        let mut buf = [0u8; 4];

        a.write_all(b"ping").await.unwrap();
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");

        b.write_all(b"pong").await.unwrap();
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
    });
}

#[test]
fn across_tasks() {
    bounded(|| async {
        let (mut a, mut b) = duplex(32);

        let t1 = weft::spawn(async move {
            a.write_all(b"ping").await.unwrap();
            let mut buf = [0u8; 4];
            a.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"pong");
        });

        let t2 = weft::spawn(async move {
            let mut buf = [0u8; 4];
            b.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"ping");
            b.write_all(b"pong").await.unwrap();
        });

        t1.await.unwrap();
        t2.await.unwrap();
    });
}

#[test]
fn disconnect() {
    bounded(|| async {
        let (mut a, mut b) = duplex(32);

        let t1 = weft::spawn(async move {
            a.write_all(b"ping").await.unwrap();
            // and dropped
        });

        let t2 = weft::spawn(async move {
            let mut buf = [0u8; 32];
            let n = b.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"ping");

            let n = b.read(&mut buf).await.unwrap();
            assert_eq!(n, 0);
        });

        t1.await.unwrap();
        t2.await.unwrap();
    });
}

#[test]
fn disconnect_reader() {
    bounded(|| async {
        let (a, mut b) = duplex(2);

        let t1 = weft::spawn(async move {
            // this will block, as not all data fits into duplex
            b.write_all(b"ping").await.unwrap_err();
        });

        let t2 = weft::spawn(async move {
            // here we drop the reader side, and we expect the writer in the other
            // task to exit with an error
            drop(a);
        });

        t2.await.unwrap();
        t1.await.unwrap();
    });
}

#[test]
fn max_write_size() {
    bounded(|| async {
        let (mut a, mut b) = duplex(32);

        let t1 = weft::spawn(async move {
            let n = a.write(&[0u8; 64]).await.unwrap();
            assert_eq!(n, 32);
            let n = a.write(&[0u8; 64]).await.unwrap();
            assert_eq!(n, 4);
        });

        let mut buf = [0u8; 4];
        b.read_exact(&mut buf).await.unwrap();

        t1.await.unwrap();

        // drop b only after task t1 finishes writing
        drop(b);
    });
}

#[test]
fn zero_length_operations() {
    bounded(|| async {
        let (mut reader, _peer) = duplex(1);
        assert!(matches!(reader.read(&mut []).now_or_never(), Some(Ok(0))));

        let (mut writer, _peer) = duplex(1);
        writer.write_all(b"x").await.unwrap();
        assert!(matches!(writer.write(&[]).now_or_never(), Some(Ok(0))));

        let (mut writer, _peer) = duplex(1);
        writer.write_all(b"x").await.unwrap();
        let bufs = [IoSlice::new(&[]), IoSlice::new(&[])];
        assert!(matches!(
            writer.write_vectored(&bufs).now_or_never(),
            Some(Ok(0))
        ));
    });
}

#[test]
fn zero_length_writes_to_closed_stream() {
    bounded(|| async {
        let (mut writer, peer) = duplex(1);
        drop(peer);
        let err = writer.write(&[]).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);

        let (mut writer, peer) = duplex(1);
        drop(peer);
        let bufs = [IoSlice::new(&[]), IoSlice::new(&[])];
        let err = writer.write_vectored(&bufs).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    });
}

#[test]
fn duplex_is_cooperative() {
    bounded(|| async {
        let (mut tx, mut rx) = weft::io::duplex(1024 * 8);

        weft::select! {
            biased;

            _ = async {
                loop {
                    let buf = [3u8; 4096];
                    tx.write_all(&buf).await.unwrap();
                    let mut buf = [0u8; 4096];
                    let _ = rx.read(&mut buf).await.unwrap();
                }
            } => {},
            _ = weft::task::yield_now() => {}
        }
    });
}

// ===== weft's own checks =====

#[test]
fn vectored_write_copies_every_slice_up_to_the_room() {
    bounded(|| async {
        let (mut a, mut b) = duplex(10);
        let n = a
            .write_vectored(&[
                IoSlice::new(b"abc"),
                IoSlice::new(b""),
                IoSlice::new(b"defgh"),
                IoSlice::new(b"ijklm"),
            ])
            .await
            .unwrap();
        assert_eq!(n, 10, "fills the room across slices, not just the first");
        let mut buf = [0u8; 10];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"abcdefghij");
    });
}

#[test]
fn vectored_read_fills_every_buffer() {
    bounded(|| async {
        let (mut a, mut b) = duplex(16);
        a.write_all(b"0123456789").await.unwrap();
        let (mut x, mut y) = ([0u8; 3], [0u8; 5]);
        let n = b
            .read_vectored(&mut [
                std::io::IoSliceMut::new(&mut x),
                std::io::IoSliceMut::new(&mut y),
            ])
            .await
            .unwrap();
        assert_eq!(n, 8);
        assert_eq!((&x, &y), (b"012", b"34567"));
    });
}

#[test]
fn close_ends_one_direction_and_the_other_goes_on() {
    bounded(|| async {
        let (mut a, mut b) = duplex(16);
        a.write_all(b"last").await.unwrap();
        a.close().await.unwrap();
        // Writes after close fail...
        let err = a.write(b"more").await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
        // ...the peer drains, then sees end of file...
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"last");
        // ...and the other direction still works.
        b.write_all(b"reply").await.unwrap();
        let mut reply = [0u8; 5];
        a.read_exact(&mut reply).await.unwrap();
        assert_eq!(&reply, b"reply");
    });
}

#[test]
fn a_pending_read_wakes_on_the_peer_s_drop() {
    bounded(|| async {
        let (a, mut b) = duplex(8);
        let reader = weft::spawn(async move {
            let mut buf = [0u8; 8];
            b.read(&mut buf).await.unwrap()
        });
        weft::task::yield_now().await; // the reader is now waiting
        drop(a);
        assert_eq!(reader.await.unwrap(), 0);
    });
}

#[test]
fn zero_capacity_writes_are_an_error_not_a_hang() {
    bounded(|| async {
        let (mut a, _b) = duplex(0);
        let err = a.write(b"x").await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        let (mut reader, mut writer) = weft::io::simplex(0);
        let err = writer.write_all(b"x").await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        writer.close().await.unwrap();
        assert_eq!(reader.read(&mut [0u8; 4]).await.unwrap(), 0);
    });
}

#[test]
fn many_bytes_through_a_small_pipe_keep_their_order() {
    bounded(|| async {
        let (mut a, mut b) = duplex(7);
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let expected = data.clone();
        let writer = weft::spawn(async move {
            a.write_all(&data).await.unwrap();
        });
        // A plain read loop: futures' `read_to_end` re-zeroes its spare
        // capacity on every poll, slow for 14,000 small reads in a debug build.
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            let n = b.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            assert!(n <= 7, "never more than the pipe holds");
            got.extend_from_slice(&buf[..n]);
        }
        writer.await.unwrap();
        assert_eq!(got, expected);
    });
}

#[test]
fn simplex_halves_carry_bytes_and_close_gives_eof() {
    bounded(|| async {
        let (mut reader, mut writer) = weft::io::simplex(4);
        let producer = weft::spawn(async move {
            writer.write_all(b"hello world").await.unwrap();
            writer.close().await.unwrap();
            // Writing after the close fails.
            let err = writer.write(b"!").await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
        });
        let mut got = String::new();
        reader.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "hello world");
        producer.await.unwrap();
    });
}

#[test]
fn simplex_halves_reunite() {
    bounded(|| async {
        let (reader, writer) = weft::io::simplex(16);
        let mut pipe = reader.reunite(writer).unwrap();
        pipe.write_all(b"round trip").await.unwrap();
        let mut buf = [0u8; 10];
        pipe.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"round trip");
    });
}

#[test]
fn unsplit_simplex_reads_its_own_writes_and_waits_when_empty() {
    bounded(|| async {
        let mut pipe = weft::io::SimplexStream::new_unsplit(3);
        assert_eq!(pipe.write(b"abcd").await.unwrap(), 3);
        // Full: the next write waits.
        assert!(pipe.write(b"d").now_or_never().is_none());
        let mut buf = [0u8; 8];
        assert_eq!(pipe.read(&mut buf).await.unwrap(), 3);
        assert_eq!(&buf[..3], b"abc");
        // Empty and open: a read waits.
        assert!(pipe.read(&mut buf).now_or_never().is_none());
        pipe.close().await.unwrap();
        assert_eq!(pipe.read(&mut buf).await.unwrap(), 0);
    });
}

#[test]
fn an_always_ready_duplex_loop_does_not_starve_a_timer() {
    // One task copies through a duplex pair forever (always ready); the
    // budget makes it yield, so a timer on the same thread fires.
    common::within(10, || {
        common::rt().block_on(async {
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let seen = stop.clone();
            let spinner = weft::spawn(async move {
                let (mut tx, mut rx) = duplex(64);
                let mut rounds = 0u64;
                while !seen.load(std::sync::atomic::Ordering::SeqCst) {
                    tx.write_all(b"x").await.unwrap();
                    let mut buf = [0u8; 1];
                    rx.read_exact(&mut buf).await.unwrap();
                    rounds += 1;
                }
                rounds
            });
            weft::time::sleep(std::time::Duration::from_millis(10)).await;
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            assert!(spinner.await.unwrap() > 0);
        });
    });
}

#[test]
fn duplex_types_are_send_sync_unpin_debug() {
    fn check<T: Send + Sync + Unpin + std::fmt::Debug>() {}
    check::<weft::io::DuplexStream>();
    check::<weft::io::SimplexStream>();
    let (a, _b) = duplex(4);
    assert!(format!("{a:?}").contains("DuplexStream"));
}

/// tokio's traits on the pipes (the `tokio-io` feature), through their poll
/// methods (weft's tokio dependency has no `io-util`).
#[cfg(feature = "tokio-io")]
#[test]
fn tokio_s_traits_on_duplex_and_simplex() {
    bounded(|| async {
        use std::future::poll_fn;
        use std::pin::Pin;
        use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

        let (mut a, mut b) = duplex(64);
        assert!(AsyncWrite::is_write_vectored(&a));
        let n = poll_fn(|cx| {
            AsyncWrite::poll_write_vectored(
                Pin::new(&mut a),
                cx,
                &[IoSlice::new(b"he"), IoSlice::new(b"llo")],
            )
        })
        .await
        .unwrap();
        assert_eq!(n, 5);
        poll_fn(|cx| AsyncWrite::poll_shutdown(Pin::new(&mut a), cx))
            .await
            .unwrap();
        let mut storage = [std::mem::MaybeUninit::<u8>::uninit(); 16];
        let mut buf = ReadBuf::uninit(&mut storage);
        poll_fn(|cx| AsyncRead::poll_read(Pin::new(&mut b), cx, &mut buf))
            .await
            .unwrap();
        assert_eq!(buf.filled(), b"hello");
        // After the shutdown: end of file (nothing more filled).
        poll_fn(|cx| AsyncRead::poll_read(Pin::new(&mut b), cx, &mut buf))
            .await
            .unwrap();
        assert_eq!(buf.filled(), b"hello");

        let mut pipe = weft::io::SimplexStream::new_unsplit(8);
        assert!(AsyncWrite::is_write_vectored(&pipe));
        poll_fn(|cx| AsyncWrite::poll_write(Pin::new(&mut pipe), cx, b"abc"))
            .await
            .unwrap();
        let mut storage = [0u8; 2];
        let mut buf = ReadBuf::new(&mut storage);
        poll_fn(|cx| AsyncRead::poll_read(Pin::new(&mut pipe), cx, &mut buf))
            .await
            .unwrap();
        assert_eq!(buf.filled(), b"ab");
    });
}
