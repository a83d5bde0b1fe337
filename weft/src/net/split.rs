//! Halves of a byte stream: borrowed (`split`) and owned (`into_split`),
//! shared by TCP and Unix streams.
//!
//! Both kinds are free: a stream is read and written through `&Stream`
//! (the kernel keeps the two directions apart), so a half is a reference,
//! or an `Arc`, and nothing is locked.

use std::error::Error;
use std::fmt;
use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

/// What the halves need of a stream.
pub trait Halves: sealed::Sealed + Send + Sync + 'static {
    #[doc(hidden)]
    fn shutdown_write(&self) -> io::Result<()>;
}

mod sealed {
    pub trait Sealed {}
}

impl sealed::Sealed for super::TcpStream {}
impl Halves for super::TcpStream {
    fn shutdown_write(&self) -> io::Result<()> {
        super::close_write(self.shutdown(Shutdown::Write))
    }
}

impl sealed::Sealed for super::UnixStream {}
impl Halves for super::UnixStream {
    fn shutdown_write(&self) -> io::Result<()> {
        super::close_write(self.shutdown(Shutdown::Write))
    }
}

/// The read half of a stream, borrowed from it (`split`).
#[derive(Debug)]
pub struct ReadHalf<'a, S>(pub(crate) &'a S);

/// The write half of a stream, borrowed from it (`split`). `close` shuts the
/// write direction down (the peer reads EOF).
#[derive(Debug)]
pub struct WriteHalf<'a, S>(pub(crate) &'a S);

/// The read half of a stream, owned (`into_split`): may move to another
/// task. Put the two halves back together with
/// [`reunite`](OwnedReadHalf::reunite).
#[derive(Debug)]
pub struct OwnedReadHalf<S>(pub(crate) Arc<S>);

/// The write half of a stream, owned (`into_split`). Dropping it shuts the
/// write direction down, as tokio's does (the peer reads EOF), unless
/// [`forget`](Self::forget) is called.
#[derive(Debug)]
pub struct OwnedWriteHalf<S: Halves> {
    stream: Arc<S>,
    shutdown_on_drop: bool,
}

/// The two halves given to `reunite` came from different streams; they are
/// handed back.
pub struct ReuniteError<S: Halves>(pub OwnedReadHalf<S>, pub OwnedWriteHalf<S>);

impl<S: Halves> fmt::Debug for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReuniteError(..)")
    }
}

impl<S: Halves> fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same stream")
    }
}

impl<S: Halves> Error for ReuniteError<S> {}

pub(crate) fn split<S>(stream: &mut S) -> (ReadHalf<'_, S>, WriteHalf<'_, S>) {
    (ReadHalf(stream), WriteHalf(stream))
}

pub(crate) fn into_split<S: Halves>(stream: S) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
    let stream = Arc::new(stream);
    (
        OwnedReadHalf(Arc::clone(&stream)),
        OwnedWriteHalf {
            stream,
            shutdown_on_drop: true,
        },
    )
}

impl<S: Halves> OwnedReadHalf<S> {
    /// Puts the stream back together from its two owned halves.
    ///
    /// # Errors
    ///
    /// [`ReuniteError`] (with both halves) if they come from different
    /// streams.
    pub fn reunite(self, write: OwnedWriteHalf<S>) -> Result<S, ReuniteError<S>> {
        if !Arc::ptr_eq(&self.0, &write.stream) {
            return Err(ReuniteError(self, write));
        }
        let mut write = write;
        write.shutdown_on_drop = false;
        let stream = Arc::clone(&write.stream);
        drop(write);
        drop(self);
        Ok(Arc::try_unwrap(stream)
            .unwrap_or_else(|_| unreachable!("both halves were just dropped")))
    }
}

impl<S: Halves> OwnedWriteHalf<S> {
    /// Puts the stream back together; see [`OwnedReadHalf::reunite`].
    ///
    /// # Errors
    ///
    /// As [`OwnedReadHalf::reunite`].
    pub fn reunite(self, read: OwnedReadHalf<S>) -> Result<S, ReuniteError<S>> {
        read.reunite(self)
    }

    /// Drops the half without shutting the write direction down.
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }
}

impl<S: Halves> Drop for OwnedWriteHalf<S> {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // Best effort: the peer may be gone already.
            let _ = self.stream.shutdown_write();
        }
    }
}

/// The stream the half borrows, as tokio's.
impl<S> AsRef<S> for ReadHalf<'_, S> {
    fn as_ref(&self) -> &S {
        self.0
    }
}

/// The stream the half borrows, as tokio's.
impl<S> AsRef<S> for WriteHalf<'_, S> {
    fn as_ref(&self) -> &S {
        self.0
    }
}

impl<S: Halves> AsRef<S> for OwnedReadHalf<S> {
    fn as_ref(&self) -> &S {
        &self.0
    }
}

impl<S: Halves> AsRef<S> for OwnedWriteHalf<S> {
    fn as_ref(&self) -> &S {
        &self.stream
    }
}

/// Reads through `&S`.
fn read<S>(stream: &S, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>
where
    for<'x> &'x S: AsyncRead,
{
    let mut stream = stream;
    Pin::new(&mut stream).poll_read(cx, buf)
}

fn write<S>(stream: &S, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>
where
    for<'x> &'x S: AsyncWrite,
{
    let mut stream = stream;
    Pin::new(&mut stream).poll_write(cx, buf)
}

fn write_vectored<S>(
    stream: &S,
    cx: &mut Context<'_>,
    bufs: &[io::IoSlice<'_>],
) -> Poll<io::Result<usize>>
where
    for<'x> &'x S: AsyncWrite,
{
    let mut stream = stream;
    Pin::new(&mut stream).poll_write_vectored(cx, bufs)
}

impl<S> AsyncRead for ReadHalf<'_, S>
where
    for<'x> &'x S: AsyncRead,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        read(self.0, cx, buf)
    }
}

impl<S: Halves> AsyncRead for OwnedReadHalf<S>
where
    for<'x> &'x S: AsyncRead,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        read(&*self.0, cx, buf)
    }
}

// SAFETY: delegates to the stream's implementation, which keeps the
// contract.
unsafe impl<S: crate::net::ReadUninit> crate::net::ReadUninit for ReadHalf<'_, S> {
    fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_read_uninit(cx, buf)
    }
}

// SAFETY: delegates to the stream's implementation, which keeps the
// contract.
unsafe impl<S: crate::net::ReadUninit> crate::net::ReadUninit for OwnedReadHalf<S> {
    fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_read_uninit(cx, buf)
    }
}

impl<S: Halves> AsyncWrite for WriteHalf<'_, S>
where
    for<'x> &'x S: AsyncWrite,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        write(self.0, cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        write_vectored(self.0, cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.0.shutdown_write())
    }
}

impl<S: Halves> AsyncWrite for OwnedWriteHalf<S>
where
    for<'x> &'x S: AsyncWrite,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        write(&*self.stream, cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        write_vectored(&*self.stream, cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.stream.shutdown_write())
    }
}

/// tokio's inherent methods on a read half of stream type `$s` (a type in
/// `crate::net` whose addresses are `$addr`): readiness, `try_read*`,
/// addresses. Each forwards to the stream's method of the same name.
macro_rules! read_half_methods {
    ($s:ident, $addr:ty) => {
        #[doc = concat!("As [`", stringify!($s), "::ready`](crate::net::", stringify!($s), "::ready).")]
        pub async fn ready(&self, interest: crate::io::Interest) -> io::Result<crate::io::Ready> {
            self.stream().ready(interest).await
        }

        #[doc = concat!("As [`", stringify!($s), "::readable`](crate::net::", stringify!($s), "::readable).")]
        pub async fn readable(&self) -> io::Result<()> {
            self.stream().readable().await
        }

        #[doc = concat!("As [`", stringify!($s), "::try_read`](crate::net::", stringify!($s), "::try_read).")]
        pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
            self.stream().try_read(buf)
        }

        #[doc = concat!("As [`", stringify!($s), "::try_read_vectored`](crate::net::", stringify!($s), "::try_read_vectored).")]
        pub fn try_read_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
            self.stream().try_read_vectored(bufs)
        }

        #[doc = concat!("As [`", stringify!($s), "::try_read_buf`](crate::net::", stringify!($s), "::try_read_buf).")]
        pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
            self.stream().try_read_buf(buf)
        }

        /// The peer's address.
        pub fn peer_addr(&self) -> io::Result<$addr> {
            self.stream().peer_addr()
        }

        /// This end's address.
        pub fn local_addr(&self) -> io::Result<$addr> {
            self.stream().local_addr()
        }
    };
}

/// The write-half counterpart of `read_half_methods!`.
macro_rules! write_half_methods {
    ($s:ident, $addr:ty) => {
        #[doc = concat!("As [`", stringify!($s), "::ready`](crate::net::", stringify!($s), "::ready).")]
        pub async fn ready(&self, interest: crate::io::Interest) -> io::Result<crate::io::Ready> {
            self.stream().ready(interest).await
        }

        #[doc = concat!("As [`", stringify!($s), "::writable`](crate::net::", stringify!($s), "::writable).")]
        pub async fn writable(&self) -> io::Result<()> {
            self.stream().writable().await
        }

        #[doc = concat!("As [`", stringify!($s), "::try_write`](crate::net::", stringify!($s), "::try_write).")]
        pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
            self.stream().try_write(buf)
        }

        #[doc = concat!("As [`", stringify!($s), "::try_write_vectored`](crate::net::", stringify!($s), "::try_write_vectored).")]
        pub fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
            self.stream().try_write_vectored(bufs)
        }

        /// The peer's address.
        pub fn peer_addr(&self) -> io::Result<$addr> {
            self.stream().peer_addr()
        }

        /// This end's address.
        pub fn local_addr(&self) -> io::Result<$addr> {
            self.stream().local_addr()
        }
    };
}

/// The four halves of stream type `$s` get tokio's inherent methods.
macro_rules! half_methods {
    ($s:ident, $addr:ty) => {
        impl ReadHalf<'_, super::$s> {
            fn stream(&self) -> &super::$s {
                self.0
            }

            read_half_methods!($s, $addr);
        }

        impl OwnedReadHalf<super::$s> {
            fn stream(&self) -> &super::$s {
                &self.0
            }

            read_half_methods!($s, $addr);
        }

        impl WriteHalf<'_, super::$s> {
            fn stream(&self) -> &super::$s {
                self.0
            }

            write_half_methods!($s, $addr);
        }

        impl OwnedWriteHalf<super::$s> {
            fn stream(&self) -> &super::$s {
                &self.stream
            }

            write_half_methods!($s, $addr);
        }
    };
}

half_methods!(TcpStream, std::net::SocketAddr);
half_methods!(UnixStream, std::os::unix::net::SocketAddr);

/// `peek` on the read halves of a TCP stream (tokio has it for TCP only).
macro_rules! tcp_peek {
    ($($half:ty),*) => {$(
        impl $half {
            /// Receives data without removing it from the socket's queue,
            /// as [`TcpStream::peek`](crate::net::TcpStream::peek); waits
            /// until there is some. Returns 0 at end of stream.
            pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.stream().peek(buf).await
            }

            /// Polls for [`peek`](Self::peek): a slice instead of tokio's
            /// `ReadBuf`, and the length returned.
            pub fn poll_peek(
                &mut self,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.stream().poll_peek(cx, buf)
            }
        }
    )*};
}

tcp_peek!(
    ReadHalf<'_, super::TcpStream>,
    OwnedReadHalf<super::TcpStream>
);
