//! tokio's I/O traits on weft's types (the `tokio-io` feature), so crates
//! written against tokio's traits — `tokio-util` codecs, hyper-util's
//! `TokioIo` — work on weft with no tokio runtime. Each impl delegates to
//! the type's `futures-io` impl.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::ReadBuf;

/// Reads through a `futures-io` reader into tokio's `ReadBuf`.
fn read_into<R: futures_io::AsyncRead + ?Sized>(
    reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    let n = std::task::ready!(reader.poll_read(cx, buf.initialize_unfilled()))?;
    buf.advance(n);
    Poll::Ready(Ok(()))
}

/// Reads a socket straight into tokio's `ReadBuf`: the kernel fills its
/// unfilled (possibly uninitialised) part, nothing is zeroed first.
fn read_uninit_into<R: crate::net::ReadUninit + ?Sized>(
    reader: &R,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    // SAFETY: `unfilled_mut` requires that no initialised byte of the slice
    // be de-initialised; `ReadUninit`'s contract (an unsafe trait) promises
    // that `poll_read_uninit` only ever writes into it.
    let unfilled = unsafe { buf.unfilled_mut() };
    let n = std::task::ready!(reader.poll_read_uninit(cx, unfilled))?;
    // SAFETY: `assume_init(n)` requires the first `n` unfilled bytes to be
    // initialised; `ReadUninit`'s contract says `Ok(n)` means `n` is within
    // the slice and those bytes were initialised by the call.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Poll::Ready(Ok(()))
}

/// tokio's `AsyncRead` for sockets, reading into uninitialised memory.
macro_rules! tokio_read_socket {
    ($($t:ty),* $(,)?) => {$(
        impl tokio::io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                read_uninit_into(&*self, cx, buf)
            }
        }
    )*};
}

macro_rules! tokio_read {
    ($($t:ty),* $(,)?) => {$(
        impl tokio::io::AsyncRead for $t {
            fn poll_read(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                read_into(Pin::new(&mut *self), cx, buf)
            }
        }
    )*};
}

macro_rules! tokio_write {
    ($($t:ty),* $(,)?) => {$(
        impl tokio::io::AsyncWrite for $t {
            fn poll_write(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                futures_io::AsyncWrite::poll_write(Pin::new(&mut *self), cx, buf)
            }

            fn poll_write_vectored(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                futures_io::AsyncWrite::poll_write_vectored(Pin::new(&mut *self), cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                futures_io::AsyncWrite::poll_flush(Pin::new(&mut *self), cx)
            }

            /// tokio's `shutdown` is futures-io's `close`: on a stream it
            /// shuts the write direction down.
            fn poll_shutdown(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
            ) -> Poll<io::Result<()>> {
                futures_io::AsyncWrite::poll_close(Pin::new(&mut *self), cx)
            }
        }
    )*};
}

/// tokio's `AsyncRead` for the in-memory pipes: bytes go straight into the
/// `ReadBuf`'s unfilled part (`put_slice`), nothing is zeroed first.
impl tokio::io::AsyncRead for crate::io::DuplexStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let want = buf.remaining();
        std::task::ready!(self.poll_read_with(cx, want, |chunk| buf.put_slice(chunk)))?;
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncRead for crate::io::SimplexStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let want = buf.remaining();
        std::task::ready!(self
            .get_mut()
            .poll_read_with(cx, want, |chunk| buf.put_slice(chunk)))?;
        Poll::Ready(Ok(()))
    }
}

use crate::io::{DuplexStream, SimplexStream};
use crate::net::{tcp, unix, TcpStream, UnixStream};
use crate::process::{ChildStderr, ChildStdin, ChildStdout};

tokio_read_socket!(
    TcpStream,
    &TcpStream,
    UnixStream,
    &UnixStream,
    tcp::ReadHalf<'_>,
    tcp::OwnedReadHalf,
    unix::ReadHalf<'_>,
    unix::OwnedReadHalf,
);
tokio_read!(
    ChildStdout,
    ChildStderr,
    unix::pipe::Receiver,
    crate::fs::File,
);
tokio_write!(
    TcpStream,
    &TcpStream,
    UnixStream,
    &UnixStream,
    tcp::WriteHalf<'_>,
    tcp::OwnedWriteHalf,
    unix::WriteHalf<'_>,
    unix::OwnedWriteHalf,
    ChildStdin,
    unix::pipe::Sender,
    crate::fs::File,
    DuplexStream,
    SimplexStream,
);

/// tokio's two-step seek on a `File`: `start_seek` records the target,
/// `poll_complete` runs it through futures-io's `poll_seek`.
impl tokio::io::AsyncSeek for crate::fs::File {
    fn start_seek(self: Pin<&mut Self>, position: io::SeekFrom) -> io::Result<()> {
        self.get_mut().tokio_seek = Some(position);
        Ok(())
    }

    fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        match self.tokio_seek {
            Some(position) => {
                let done = std::task::ready!(futures_io::AsyncSeek::poll_seek(
                    Pin::new(&mut *self),
                    cx,
                    position
                ));
                self.tokio_seek = None;
                Poll::Ready(done)
            }
            // No seek started: report the position.
            None => {
                futures_io::AsyncSeek::poll_seek(Pin::new(&mut *self), cx, io::SeekFrom::Current(0))
            }
        }
    }
}
