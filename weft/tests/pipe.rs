//! Unix pipes and FIFOs (`weft::net::unix::pipe`), after tokio's
//! `tests/net_unix_pipe.rs`.

mod common;

use std::fs::File;
use std::io::{self, ErrorKind};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use common::within;
use weft::io::{AsyncReadExt, AsyncWriteExt, Interest};
use weft::net::unix::pipe;

const DATA: &[u8] = b"this is some data to write to the fifo";

/// A FIFO in the temp directory, removed when dropped.
struct TempFifo(PathBuf);

impl TempFifo {
    fn new(name: &str) -> TempFifo {
        let path =
            std::env::temp_dir().join(format!("weft-test-fifo-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        rustix::fs::mkfifoat(rustix::fs::CWD, &path, rustix::fs::Mode::RWXU).unwrap();
        TempFifo(path)
    }
}

impl AsRef<Path> for TempFifo {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFifo {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A plain file in the temp directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> TempFile {
        let path =
            std::env::temp_dir().join(format!("weft-test-not-fifo-{}-{name}", std::process::id()));
        File::create(&path).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn is_nonblocking(fd: &impl AsFd) -> bool {
    rustix::fs::fcntl_getfl(fd)
        .unwrap()
        .contains(rustix::fs::OFlags::NONBLOCK)
}

/// Polls `f` once with a no-op waker: `true` if it is still pending.
fn pending<F: std::future::Future>(f: F) -> bool {
    futures_util::FutureExt::now_or_never(f).is_none()
}

#[test]
fn fifo_reader_waits_for_the_sender() {
    within(30, || {
        common::rt().block_on(async {
            let fifo = TempFifo::new("simple-send");
            let mut reader = pipe::OpenOptions::new().open_receiver(&fifo).unwrap();
            let mut buf = vec![0; DATA.len()];
            let mut read = std::pin::pin!(reader.read_exact(&mut buf));
            assert!(futures_util::poll!(read.as_mut()).is_pending());
            let mut writer = pipe::OpenOptions::new().open_sender(&fifo).unwrap();
            writer.write_all(DATA).await.unwrap();
            read.await.unwrap();
            assert_eq!(buf, DATA);
        });
    });
}

#[test]
fn a_sender_without_a_reader_is_enxio_unless_read_write() {
    within(30, || {
        common::rt().block_on(async {
            let fifo = TempFifo::new("sender-first");
            let err = pipe::OpenOptions::new().open_sender(&fifo).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::ENXIO), "{err}");

            let mut writer = pipe::OpenOptions::new()
                .read_write(true)
                .open_sender(&fifo)
                .unwrap();
            writer.write_all(DATA).await.unwrap();
            let mut reader = pipe::OpenOptions::new().open_receiver(&fifo).unwrap();
            let mut buf = vec![0; DATA.len()];
            reader.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, DATA);
        });
    });
}

/// Opens the FIFO for writing, writes `msg` and closes it.
async fn write_and_close(path: impl AsRef<Path>, msg: &[u8]) {
    let mut writer = pipe::OpenOptions::new().open_sender(path).unwrap();
    writer.write_all(msg).await.unwrap();
}

#[test]
fn a_reader_sees_eof_after_each_writer_and_reads_the_next_one() {
    within(30, || {
        common::rt().block_on(async {
            let fifo = TempFifo::new("multiple-writes");
            let mut reader = pipe::OpenOptions::new().open_receiver(&fifo).unwrap();
            write_and_close(&fifo, DATA).await;
            let ready = reader.ready(Interest::READABLE).await.unwrap();
            assert!(ready.is_readable());
            let mut buf = vec![0; DATA.len()];
            reader.read_exact(&mut buf).await.unwrap();
            let err = reader.read_exact(&mut buf).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnexpectedEof);

            write_and_close(&fifo, DATA).await;
            reader.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, DATA);
        });
    });
}

#[test]
fn a_read_write_reader_outlives_its_writers() {
    within(30, || {
        common::rt().block_on(async {
            let fifo = TempFifo::new("resilient");
            let mut reader = pipe::OpenOptions::new()
                .read_write(true)
                .open_receiver(&fifo)
                .unwrap();
            write_and_close(&fifo, DATA).await;
            let ready = reader.ready(Interest::READABLE).await.unwrap();
            let mut buf = vec![0; DATA.len()];
            reader.read_exact(&mut buf).await.unwrap();
            assert!(!ready.is_read_closed(), "{ready:?}");

            // No end-of-file: the next read waits for the next writer.
            let mut read = std::pin::pin!(reader.read_exact(&mut buf));
            assert!(futures_util::poll!(read.as_mut()).is_pending());
            write_and_close(&fifo, DATA).await;
            read.await.unwrap();
            assert_eq!(buf, DATA);
        });
    });
}

#[test]
fn opening_something_that_is_not_a_fifo_is_invalid_input_naming_the_path() {
    within(30, || {
        common::rt().block_on(async {
            let file = TempFile::new("open");
            let err = pipe::OpenOptions::new().open_sender(&file.0).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert!(
                err.to_string().contains(&*file.0.to_string_lossy()),
                "{err}"
            );
            assert!(err.to_string().contains("a regular file"), "{err}");
            let err = pipe::OpenOptions::new().open_receiver(&file.0).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            // Unchecked: opened as asked; then epoll refuses a regular
            // file, and the error says so, naming the path.
            let err = pipe::OpenOptions::new()
                .unchecked(true)
                .open_receiver(&file.0)
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::PermissionDenied);
            assert!(
                err.to_string().contains(&*file.0.to_string_lossy()),
                "{err}"
            );

            // A missing path: NotFound, naming it.
            let missing = std::env::temp_dir().join("weft-test-no-such-fifo");
            let err = pipe::OpenOptions::new()
                .open_receiver(&missing)
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound);
            assert!(err.to_string().contains("weft-test-no-such-fifo"), "{err}");
        });
    });
}

#[test]
fn from_file_checks_the_type_and_access_mode_and_sets_non_blocking() {
    within(30, || {
        common::rt().block_on(async {
            let fifo = TempFifo::new("from-file");
            let file = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&fifo)
                .unwrap();
            let mut reader = pipe::Receiver::from_file(file).unwrap();
            let file = std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&fifo)
                .unwrap();
            let mut writer = pipe::Sender::from_file(file).unwrap();
            let mut buf = vec![0; DATA.len()];
            let mut read = std::pin::pin!(reader.read_exact(&mut buf));
            assert!(futures_util::poll!(read.as_mut()).is_pending());
            writer.write_all(DATA).await.unwrap();
            read.await.unwrap();
            assert_eq!(buf, DATA);

            // Not a FIFO.
            let plain = TempFile::new("from-file");
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(&plain.0)
                .unwrap();
            let err = pipe::Sender::from_file(file).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            let file = File::open(&plain.0).unwrap();
            let err = pipe::Receiver::from_file(file).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);

            // The wrong access mode.
            let write_only = std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&fifo)
                .unwrap();
            let err = pipe::Receiver::from_file(write_only).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            let read_only = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&fifo)
                .unwrap();
            let err = pipe::Sender::from_file(read_only).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);

            // Blocking files become non-blocking (both ends are open, so
            // these blocking opens return at once).
            let read_only = File::open(&fifo).unwrap();
            assert!(!is_nonblocking(&read_only));
            let reader = pipe::Receiver::from_file(read_only).unwrap();
            assert!(is_nonblocking(&reader));
            let write_only = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            assert!(!is_nonblocking(&write_only));
            let writer = pipe::Sender::from_file(write_only).unwrap();
            assert!(is_nonblocking(&writer));
        });
    });
}

/// Fills the pipe with `try_write` (or `try_write_vectored`) while
/// `writable()` is ready at once, and returns what was written.
async fn fill(writer: &pipe::Sender, vectored: bool) -> Vec<u8> {
    let slices: Vec<_> = DATA.chunks(3).map(io::IoSlice::new).collect();
    let mut written = Vec::new();
    // The driver reports the new pipe writable on its next turn.
    writer.writable().await.unwrap();
    while !pending(writer.writable()) {
        let result = if vectored {
            writer.try_write_vectored(&slices)
        } else {
            writer.try_write(DATA)
        };
        match result {
            Ok(n) => written.extend_from_slice(&DATA[..n]),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::WouldBlock);
                break;
            }
        }
    }
    assert!(written.len() >= 4096, "a pipe holds at least a page");
    // Full: the next `writable()` waits.
    assert!(pending(writer.writable()));
    written
}

#[test]
fn try_write_fills_and_try_read_drains_the_pipe() {
    within(30, || {
        common::rt().block_on(async {
            for how in ["plain", "vectored", "buf"] {
                let (writer, reader) = pipe::pipe().unwrap();
                let written = fill(&writer, how == "vectored").await;
                let mut read = Vec::with_capacity(written.len());
                let mut chunk = vec![0; 0x10000];
                while read.len() < written.len() {
                    reader.readable().await.unwrap();
                    let result = match how {
                        "plain" => reader.try_read(&mut chunk),
                        "vectored" => {
                            let (a, b) = chunk.split_at_mut(100);
                            let mut bufs = [io::IoSliceMut::new(a), io::IoSliceMut::new(b)];
                            reader.try_read_vectored(&mut bufs)
                        }
                        _ => {
                            let before = read.len();
                            match reader.try_read_buf(&mut read) {
                                Ok(n) => {
                                    assert_eq!(read.len(), before + n);
                                    continue;
                                }
                                Err(e) => Err(e),
                            }
                        }
                    };
                    match result {
                        Ok(n) => read.extend_from_slice(&chunk[..n]),
                        Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock),
                    }
                }
                assert_eq!(read, written, "{how}");
                // Drained: the next try_read says WouldBlock, after which
                // readable() waits; writing is possible again.
                let err = reader.try_read(&mut chunk).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::WouldBlock);
                assert!(pending(reader.readable()));
                writer.writable().await.unwrap();
            }
        });
    });
}

#[test]
fn an_anonymous_pipe_carries_data_to_a_waiting_reader() {
    within(30, || {
        common::rt().block_on(async {
            let (mut writer, mut reader) = pipe::pipe().unwrap();
            let task = weft::spawn(async move {
                let mut buf = vec![0; DATA.len()];
                reader.read_exact(&mut buf).await.unwrap();
                buf
            });
            weft::task::yield_now().await;
            assert!(!task.is_finished());
            writer.write_all(DATA).await.unwrap();
            assert_eq!(task.await.unwrap(), DATA);
        });
    });
}

#[test]
fn a_child_writes_into_the_blocking_end_and_the_reader_sees_eof() {
    within(30, || {
        common::rt().block_on(async {
            let (tx, mut rx) = pipe::pipe().unwrap();
            let status = weft::process::Command::new("sh")
                .args(["-c", "grep flags /proc/self/fdinfo/1; printf done"])
                .stdout(tx.into_blocking_fd().unwrap())
                .status();
            let mut text = String::new();
            rx.read_to_string(&mut text).await.unwrap();
            assert!(status.await.unwrap().success());
            let (flags, rest) = text.split_once('\n').unwrap();
            let flags = u32::from_str_radix(flags.trim_start_matches("flags:").trim(), 8).unwrap();
            assert_eq!(
                flags & rustix::fs::OFlags::NONBLOCK.bits(),
                0,
                "the child's end is blocking"
            );
            assert_eq!(rest, "done");
            // The write end is gone: an empty read is end-of-file at once.
            let mut empty = [0u8; 0];
            assert_eq!(rx.try_read(&mut empty).unwrap(), 0);
            let mut buf = [0u8; 8];
            assert_eq!(rx.try_read(&mut buf).unwrap(), 0);
        });
    });
}

#[test]
fn owned_fds_in_and_out_with_the_mode_asked_for() {
    within(30, || {
        common::rt().block_on(async {
            let (rx_fd, tx_fd) = rustix::pipe::pipe_with(
                rustix::pipe::PipeFlags::CLOEXEC | rustix::pipe::PipeFlags::NONBLOCK,
            )
            .unwrap();
            let mut rx = pipe::Receiver::from_owned_fd(rx_fd).unwrap();
            let mut tx = pipe::Sender::from_owned_fd(tx_fd).unwrap();
            tx.write_all(DATA).await.unwrap();
            let mut buf = vec![0; DATA.len()];
            rx.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, DATA);

            let tx_fd = tx.into_nonblocking_fd().unwrap();
            let rx_fd = rx.into_nonblocking_fd().unwrap();
            assert!(is_nonblocking(&tx_fd) && is_nonblocking(&rx_fd));
            // Deregistered: the same descriptors register again.
            let tx = pipe::Sender::from_owned_fd_unchecked(tx_fd).unwrap();
            let rx = pipe::Receiver::from_owned_fd_unchecked(rx_fd).unwrap();
            let tx_fd = tx.into_blocking_fd().unwrap();
            let rx_fd = rx.into_blocking_fd().unwrap();
            assert!(!is_nonblocking(&tx_fd) && !is_nonblocking(&rx_fd));

            // Outside a runtime: an error, not tokio's panic.
            let err = std::thread::spawn(|| pipe::pipe().unwrap_err())
                .join()
                .unwrap();
            assert!(err.to_string().contains("runtime"), "{err}");
        });
    });
}

#[test]
fn try_io_runs_only_on_recorded_readiness_and_clears_it_on_would_block() {
    within(30, || {
        common::rt().block_on(async {
            let (tx, _rx) = pipe::pipe().unwrap();
            // Let the driver see the new descriptors.
            weft::task::yield_now().await;

            let mut called = false;
            let _ = tx.try_io(|| {
                called = true;
                Ok(())
            });
            assert!(called, "an empty pipe is writable");
            called = false;
            let _ = tx.try_io(|| -> io::Result<()> {
                called = true;
                Err(ErrorKind::WouldBlock.into())
            });
            assert!(called);
            called = false;
            let _ = tx.try_io(|| {
                called = true;
                Ok(())
            });
            assert!(!called, "the WouldBlock cleared writability");

            // A fresh pipe: the one above is writable but no longer
            // known to be, so a write to it would wait for a new edge.
            let (mut tx, rx) = pipe::pipe().unwrap();
            weft::task::yield_now().await;
            let mut called = false;
            let _ = rx.try_io(|| {
                called = true;
                Ok(())
            });
            assert!(!called, "nothing to read yet");
            tx.write_all(&[0]).await.unwrap();
            rx.readable().await.unwrap();
            let _ = rx.try_io(|| {
                called = true;
                Ok(())
            });
            assert!(called);
            called = false;
            let _ = rx.try_io(|| -> io::Result<()> {
                called = true;
                Err(ErrorKind::WouldBlock.into())
            });
            assert!(called);
            called = false;
            let _ = rx.try_io(|| {
                called = true;
                Ok(())
            });
            assert!(!called, "the WouldBlock cleared readability");
        });
    });
}

#[test]
fn readiness_reports_a_closed_other_end() {
    use std::future::poll_fn;
    within(30, || {
        common::rt().block_on(async {
            // The reader goes: the sender sees it, and writes fail with
            // BrokenPipe (Rust programs ignore SIGPIPE).
            let (tx, rx) = pipe::pipe().unwrap();
            fill(&tx, false).await;
            let mut wait = std::pin::pin!(tx.writable());
            assert!(futures_util::poll!(wait.as_mut()).is_pending());
            drop(rx);
            wait.await.unwrap();
            let err = tx.try_write(b"x").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BrokenPipe);
            poll_fn(|cx| tx.poll_write_ready(cx)).await.unwrap();

            // The sender goes: the receiver sees read-closed and EOF.
            let (tx, rx) = pipe::pipe().unwrap();
            assert!(pending(poll_fn(|cx| rx.poll_read_ready(cx))));
            drop(tx);
            let ready = rx.ready(Interest::READABLE).await.unwrap();
            assert!(ready.is_read_closed(), "{ready:?}");
            poll_fn(|cx| rx.poll_read_ready(cx)).await.unwrap();
            let mut buf = [0u8; 4];
            assert_eq!(rx.try_read(&mut buf).unwrap(), 0);
        });
    });
}

/// tokio's traits on the pipe ends (the `tokio-io` feature), through their
/// poll methods (weft's tokio dependency has no `io-util`).
#[cfg(feature = "tokio-io")]
#[test]
fn tokio_s_traits_on_both_ends() {
    use std::future::poll_fn;
    use std::pin::Pin;
    within(30, || {
        common::rt().block_on(async {
            let (mut tx, mut rx) = pipe::pipe().unwrap();
            assert!(tokio::io::AsyncWrite::is_write_vectored(&tx));
            let n = poll_fn(|cx| tokio::io::AsyncWrite::poll_write(Pin::new(&mut tx), cx, DATA))
                .await
                .unwrap();
            assert_eq!(n, DATA.len());
            poll_fn(|cx| tokio::io::AsyncWrite::poll_shutdown(Pin::new(&mut tx), cx))
                .await
                .unwrap();
            let mut storage = [0u8; 64];
            let mut buf = tokio::io::ReadBuf::new(&mut storage);
            poll_fn(|cx| tokio::io::AsyncRead::poll_read(Pin::new(&mut rx), cx, &mut buf))
                .await
                .unwrap();
            assert_eq!(buf.filled(), DATA);
            // tokio's shutdown leaves the pipe open: a read waits.
            let mut more = [0u8; 8];
            let mut buf = tokio::io::ReadBuf::new(&mut more);
            assert!(pending(poll_fn(|cx| {
                tokio::io::AsyncRead::poll_read(Pin::new(&mut rx), cx, &mut buf)
            })));
        });
    });
}
