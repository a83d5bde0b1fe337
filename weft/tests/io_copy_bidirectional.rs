//! `weft::io::copy_bidirectional`: tokio's tests/io_copy_bidirectional.rs
//! converted by renaming (over weft's TcpStreams, and again over duplex
//! pairs), then weft's own checks. tokio-test's mock streams are replaced by
//! a small scripted stream (`Mock`); tokio's "write until 10 ms pass
//! without progress" is "write until 100 scheduler turns pass without
//! progress" (an event count, not a clock).

mod common;
#[path = "common/harness.rs"]
mod harness;

use harness::bounded;

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use weft::io::{
    copy_bidirectional, copy_bidirectional_with_sizes, AsyncRead, AsyncReadExt, AsyncWrite,
    AsyncWriteExt,
};
use weft::net::TcpStream;
use weft::task::JoinHandle;

async fn make_socketpair() -> (TcpStream, TcpStream) {
    let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connector = TcpStream::connect(addr);
    let acceptor = listener.accept();

    let (c1, c2) = weft::join!(connector, acceptor);

    (c1.unwrap(), c2.unwrap().0)
}

/// Yields to the scheduler `n` times: the other tasks and the I/O driver
/// get `n` turns.
async fn turns(n: usize) {
    for _ in 0..n {
        weft::task::yield_now().await;
    }
}

/// Writes until a write makes no progress for 100 scheduler turns (every
/// buffer on the way is full); the bytes written.
async fn block_write<S: AsyncWrite + Unpin>(s: &mut S) -> usize {
    static BUF: [u8; 2048] = [0; 2048];

    let mut copied = 0;
    loop {
        weft::select! {
            biased;
            result = s.write(&BUF) => {
                copied += result.expect("write error")
            },
            _ = turns(100) => {
                break;
            }
        }
    }

    copied
}

async fn symmetric<F, Fut>(mut cb: F)
where
    F: FnMut(JoinHandle<io::Result<(u64, u64)>>, TcpStream, TcpStream) -> Fut,
    Fut: Future<Output = ()>,
{
    // We run the test twice, with streams passed to copy_bidirectional in
    // different orders, in order to ensure that the two arguments are
    // interchangeable.

    let (a, mut a1) = make_socketpair().await;
    let (b, mut b1) = make_socketpair().await;

    let handle = weft::spawn(async move { copy_bidirectional(&mut a1, &mut b1).await });
    cb(handle, a, b).await;

    let (a, mut a1) = make_socketpair().await;
    let (b, mut b1) = make_socketpair().await;

    let handle = weft::spawn(async move { copy_bidirectional(&mut b1, &mut a1).await });

    cb(handle, b, a).await;
}

#[test]
fn test_basic_transfer() {
    bounded(|| async {
        symmetric(|_handle, mut a, mut b| async move {
            a.write_all(b"test").await.unwrap();
            let mut tmp = [0; 4];
            b.read_exact(&mut tmp).await.unwrap();
            assert_eq!(&tmp[..], b"test");
        })
        .await
    });
}

#[test]
fn test_transfer_after_close() {
    bounded(|| async {
        symmetric(|handle, mut a, mut b| async move {
            AsyncWriteExt::close(&mut a).await.unwrap();
            b.read_to_end(&mut Vec::new()).await.unwrap();

            b.write_all(b"quux").await.unwrap();
            let mut tmp = [0; 4];
            a.read_exact(&mut tmp).await.unwrap();
            assert_eq!(&tmp[..], b"quux");

            // Once both are closed, we should have our handle back
            drop(b);

            assert_eq!(handle.await.unwrap().unwrap(), (0, 4));
        })
        .await
    });
}

#[test]
fn blocking_one_side_does_not_block_other() {
    bounded(|| async {
        symmetric(|handle, mut a, mut b| async move {
            block_write(&mut a).await;

            b.write_all(b"quux").await.unwrap();
            let mut tmp = [0; 4];
            a.read_exact(&mut tmp).await.unwrap();
            assert_eq!(&tmp[..], b"quux");

            AsyncWriteExt::close(&mut a).await.unwrap();

            // `read_all` for tokio's `read_to_end` (see `read_all`).
            let buf = read_all(&mut b).await;

            drop(b);

            assert_eq!(handle.await.unwrap().unwrap(), (buf.len() as u64, 4));
        })
        .await
    });
}

#[test]
fn immediate_exit_on_write_error() {
    bounded(|| async {
        let payload = b"here, take this";
        let error = || io::Error::other("no thanks!");

        let mut a = Mock::new().read(payload).write_error(error());

        let mut b = Mock::new().read(payload).write_error(error());

        assert!(copy_bidirectional(&mut a, &mut b).await.is_err());
    });
}

#[test]
fn immediate_exit_on_read_error() {
    bounded(|| async {
        let error = || io::Error::other("got nothing!");

        let mut a = Mock::new().read_error(error());

        let mut b = Mock::new().read_error(error());

        assert!(copy_bidirectional(&mut a, &mut b).await.is_err());
    });
}

#[test]
fn copy_bidirectional_is_cooperative() {
    bounded(|| async {
        weft::select! {
            biased;
            _ = async {
                loop {
                    let payload = b"here, take this";

                    let mut a = Mock::new()
                        .read(payload)
                        .write(payload);

                    let mut b = Mock::new()
                        .read(payload)
                        .write(payload);

                    let _ = copy_bidirectional(&mut a, &mut b).await;
                }
            } => {},
            _ = weft::task::yield_now() => {}
        }
    });
}

// ===== the same over duplex pairs =====

#[test]
fn duplex_transfer_after_close_and_blocked_direction() {
    bounded(|| async {
        let (mut a, mut a1) = weft::io::duplex(64);
        let (mut b, mut b1) = weft::io::duplex(64);
        let handle = weft::spawn(async move { copy_bidirectional(&mut a1, &mut b1).await });

        // a → b fills every buffer on its way (a1's 64, the copy's 8 KiB is
        // fed 64 at a time, b's 64)...
        let written = block_write(&mut a).await;
        assert!(written >= 128, "{written}");
        // ...and b → a still flows.
        b.write_all(b"quux").await.unwrap();
        let mut tmp = [0; 4];
        a.read_exact(&mut tmp).await.unwrap();
        assert_eq!(&tmp, b"quux");

        a.close().await.unwrap();
        let mut buf = Vec::new();
        b.read_to_end(&mut buf).await.unwrap();
        assert_eq!(buf.len(), written, "every byte written arrived");
        drop(b);
        assert_eq!(handle.await.unwrap().unwrap(), (written as u64, 4));
    });
}

// ===== weft's own checks =====

#[test]
fn large_transfers_both_ways_with_small_buffers() {
    bounded(|| async {
        let (a, mut a1) = weft::io::duplex(1024);
        let (b, mut b1) = weft::io::duplex(1024);
        let handle =
            weft::spawn(async move { copy_bidirectional_with_sizes(&mut a1, &mut b1, 3, 5).await });
        let forward: Vec<u8> = (0..50_000u32).map(|i| (i % 253) as u8).collect();
        let backward: Vec<u8> = (0..30_000u32).map(|i| (i % 241) as u8).collect();
        // Each end writes and reads at once (writing everything before reading
        // would deadlock once every buffer on both paths is full, as on TCP).
        let (mut a_read, mut a_write) = a.split();
        let (mut b_read, mut b_write) = b.split();
        let (_, ra, _, rb) = weft::join!(
            async {
                a_write.write_all(&forward).await.unwrap();
                a_write.close().await.unwrap();
            },
            read_all(&mut a_read),
            async {
                b_write.write_all(&backward).await.unwrap();
                b_write.close().await.unwrap();
            },
            read_all(&mut b_read),
        );
        assert_eq!(rb, forward);
        assert_eq!(ra, backward);
        assert_eq!(handle.await.unwrap().unwrap(), (50_000, 30_000));
    });
}

/// Reads to end of file with a plain loop (futures' `read_to_end` re-zeroes
/// its spare capacity on every poll, slow in a debug build).
async fn read_all<R: AsyncRead + Unpin>(r: &mut R) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = r.read(&mut buf).await.unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn zero_buffer_sizes_are_rejected() {
    bounded(|| async {
        let mut a = Mock::new();
        let mut b = Mock::new();
        for (x, y) in [(0, 8), (8, 0), (0, 0)] {
            let err = copy_bidirectional_with_sizes(&mut a, &mut b, x, y)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            assert!(err.to_string().contains("at least one byte"), "{err}");
        }
    });
}

#[test]
fn a_reader_that_over_reports_is_invalid_data_not_a_panic() {
    bounded(|| async {
        let mut a = Mock::new().read_too_much();
        let mut b = Mock::new();
        let err = copy_bidirectional(&mut a, &mut b).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    });
}

#[test]
fn a_writer_that_accepts_nothing_is_write_zero() {
    bounded(|| async {
        let mut a = Mock::new().read(b"data").write_zero();
        let mut b = Mock::new().write_zero();
        let err = copy_bidirectional(&mut a, &mut b).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
    });
}

#[test]
fn the_writer_is_flushed_when_the_reader_waits() {
    bounded(|| async {
        // `b` buffers writes and only shows them once flushed; the copy flushes
        // it when `a`'s side has nothing more for now.
        let (mut a, mut a1) = weft::io::duplex(64);
        let (b, mut b_peer) = weft::io::duplex(64);
        let mut b = weft::io::BufWriter::new(b);
        let handle = weft::spawn(async move { copy_bidirectional(&mut a1, &mut b).await });
        a.write_all(b"hi").await.unwrap();
        let mut tmp = [0u8; 2];
        b_peer.read_exact(&mut tmp).await.unwrap();
        assert_eq!(&tmp, b"hi");
        a.close().await.unwrap();
        drop(b_peer);
        let (ab, ba) = handle.await.unwrap().unwrap();
        assert_eq!((ab, ba), (2, 0));
    });
}

#[test]
fn a_tcp_proxy_moves_data_on_a_multi_thread_runtime() {
    common::within(30, || {
        let rt = weft::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(async {
            let (mut client, mut proxy_in) = make_socketpair().await;
            let (mut proxy_out, mut server) = make_socketpair().await;
            let proxy =
                weft::spawn(async move { copy_bidirectional(&mut proxy_in, &mut proxy_out).await });
            let data = vec![9u8; 200_000];
            let expected = data.clone();
            let writer = weft::spawn(async move {
                client.write_all(&data).await.unwrap();
                client.close().await.unwrap();
                read_all(&mut client).await
            });
            let got = read_all(&mut server).await;
            assert_eq!(got, expected);
            server.write_all(b"done").await.unwrap();
            drop(server);
            assert_eq!(writer.await.unwrap(), b"done");
            assert_eq!(proxy.await.unwrap().unwrap(), (200_000, 4));
        });
    });
}

// ===== a scripted stream (tokio-test's io::Builder, reduced) =====

enum Step {
    Read(Vec<u8>),
    ReadError(io::Error),
    Write(Vec<u8>),
    WriteError(io::Error),
    WriteZero,
    /// A read that claims one byte more than the buffer holds.
    ReadTooMuch,
}

/// Plays its reads in order (then end of file) and checks its writes in
/// order (then accepts everything).
struct Mock {
    reads: VecDeque<Step>,
    writes: VecDeque<Step>,
}

impl Mock {
    fn new() -> Mock {
        Mock {
            reads: VecDeque::new(),
            writes: VecDeque::new(),
        }
    }
    fn read(mut self, data: &[u8]) -> Mock {
        self.reads.push_back(Step::Read(data.to_vec()));
        self
    }
    fn read_error(mut self, err: io::Error) -> Mock {
        self.reads.push_back(Step::ReadError(err));
        self
    }
    fn read_too_much(mut self) -> Mock {
        self.reads.push_back(Step::ReadTooMuch);
        self
    }
    fn write(mut self, data: &[u8]) -> Mock {
        self.writes.push_back(Step::Write(data.to_vec()));
        self
    }
    fn write_error(mut self, err: io::Error) -> Mock {
        self.writes.push_back(Step::WriteError(err));
        self
    }
    fn write_zero(mut self) -> Mock {
        self.writes.push_back(Step::WriteZero);
        self
    }
}

impl AsyncRead for Mock {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.reads.pop_front() {
            None => Poll::Ready(Ok(0)),
            Some(Step::ReadError(err)) => Poll::Ready(Err(err)),
            Some(Step::ReadTooMuch) => Poll::Ready(Ok(buf.len() + 1)),
            Some(Step::Read(mut data)) => {
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                if n < data.len() {
                    self.reads.push_front(Step::Read(data.split_off(n)));
                }
                Poll::Ready(Ok(n))
            }
            Some(_) => unreachable!("only reads are queued here"),
        }
    }
}

impl AsyncWrite for Mock {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.writes.pop_front() {
            None => Poll::Ready(Ok(buf.len())),
            Some(Step::WriteError(err)) => Poll::Ready(Err(err)),
            Some(Step::WriteZero) => {
                self.writes.push_front(Step::WriteZero);
                Poll::Ready(Ok(0))
            }
            Some(Step::Write(mut expected)) => {
                let n = expected.len().min(buf.len());
                assert_eq!(&buf[..n], &expected[..n], "unexpected bytes written");
                if n < expected.len() {
                    self.writes.push_front(Step::Write(expected.split_off(n)));
                }
                Poll::Ready(Ok(n))
            }
            Some(_) => unreachable!("only writes are queued here"),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
