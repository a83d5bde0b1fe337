//! Networking: TCP ([`TcpListener`], [`TcpStream`], [`TcpSocket`]), UDP
//! ([`UdpSocket`]) and Unix sockets ([`UnixListener`], [`UnixStream`],
//! [`UnixDatagram`], [`UnixSocket`]); halves of split streams in [`tcp`]
//! and [`unix`], Unix pipes and FIFOs in [`unix::pipe`].
//!
//! Owns: socket types and address parsing. Calls: the I/O driver (through a
//! registration per socket) and the kernel (through `socket2`/`rustix`/std).

/// Implements `futures_io::{AsyncRead, AsyncWrite}` for a byte-stream socket
/// type and for a shared reference to it (so one task can read while another
/// writes), delegating to its `poll_read_priv`, `poll_read_vectored_priv`,
/// `poll_write_priv`, `poll_write_vectored_priv` and `poll_close_priv`.
/// Writes go straight to the kernel, so flushing has nothing to do.
macro_rules! byte_stream_traits {
    ($t:ty) => {
        $crate::net::byte_stream_traits!(@impl $t);
        $crate::net::byte_stream_traits!(@impl &$t);
    };
    (@impl $t:ty) => {
        impl futures_io::AsyncRead for $t {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_read_priv(cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_read_vectored_priv(cx, bufs)
            }
        }

        impl futures_io::AsyncWrite for $t {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_write_vectored_priv(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.poll_close_priv()
            }
        }
    };
}
pub(crate) use byte_stream_traits;

/// `ready`, `readable` and `writable`, inside an `impl` of a socket type
/// with an `io: Evented<_>` field.
macro_rules! readiness_methods {
    () => {
        /// Waits until the socket is ready in any direction of `interest`,
        /// and says which. Readiness is a hint: after a `try_` operation
        /// returns `WouldBlock`, the next call waits for new readiness.
        /// Several tasks may wait on one direction; each is woken.
        pub async fn ready(
            &self,
            interest: $crate::io::Interest,
        ) -> std::io::Result<$crate::io::Ready> {
            self.io.ready(interest).await
        }

        /// Waits until the socket may be readable (a hint: a read can still
        /// return `WouldBlock`).
        pub async fn readable(&self) -> std::io::Result<()> {
            self.io
                .ready($crate::io::Interest::READABLE)
                .await
                .map(drop)
        }

        /// Waits until the socket may be writable.
        pub async fn writable(&self) -> std::io::Result<()> {
            self.io
                .ready($crate::io::Interest::WRITABLE)
                .await
                .map(drop)
        }

        /// Runs `f`, a non-blocking operation of your own on the socket
        /// (through [`AsFd`](std::os::fd::AsFd)), if a direction of
        /// `interest` is recorded ready; otherwise `WouldBlock` without
        /// calling it. If `f` returns `WouldBlock`, that direction's
        /// readiness is cleared, so the next [`ready`](Self::ready) waits for
        /// a new event, as with the built-in `try_*` methods. With both
        /// directions in `interest`, `f` runs under the read side's
        /// readiness when that is set, else the write side's, and only that
        /// one is cleared.
        ///
        /// `f` must not do blocking I/O, and must return `WouldBlock` only
        /// when the kernel did: a made-up `WouldBlock` clears readiness that
        /// nothing will set again.
        ///
        /// On the io_uring driver, a TCP stream whose dropped read left
        /// received bytes waiting in it refuses a readable `f` with an
        /// error: reading the socket itself would skip them (read them with
        /// the stream's read methods first).
        pub fn try_io<R>(
            &self,
            interest: $crate::io::Interest,
            f: impl FnOnce() -> std::io::Result<R>,
        ) -> std::io::Result<R> {
            self.io.try_io_interest(interest, f)
        }

        /// Waits until a direction of `interest` is ready and runs `f`,
        /// again after each `WouldBlock` (see [`try_io`](Self::try_io),
        /// whose rules `f` must follow), until it returns something else.
        pub async fn async_io<R>(
            &self,
            interest: $crate::io::Interest,
            f: impl FnMut() -> std::io::Result<R>,
        ) -> std::io::Result<R> {
            self.io.async_io(interest, f).await
        }
    };
}
pub(crate) use readiness_methods;

/// The readiness and non-blocking methods every byte-stream socket has
/// (`TcpStream`, `UnixStream`), on a type with an `io: Evented<_>` field;
/// also the `poll_*_priv` methods `byte_stream_traits!` delegates to.
macro_rules! byte_stream_methods {
    ($t:ident) => {
        impl $t {
            $crate::net::readiness_methods!();

            /// Reads without waiting: `WouldBlock` if nothing is queued.
            /// Meant for a [`readable`](Self::readable) loop, as in tokio: a
            /// `WouldBlock` here makes the next `readable()` wait for new
            /// data. `Ok(0)` is end of stream.
            pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.io.try_read(buf)
            }

            /// [`try_read`](Self::try_read) into the spare capacity of a
            /// [`bytes::BufMut`] (a `Vec<u8>`, a `BytesMut`, ...), which
            /// advances by the bytes read; nothing is zeroed first. A `Vec`
            /// with no spare capacity grows (as `BufMut::chunk_mut` does);
            /// a buffer that cannot grow and is full reads 0 bytes, which
            /// looks like the end of the stream (as in tokio).
            pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> std::io::Result<usize> {
                crate::net::buf::try_read_buf(&self.io, buf)
            }

            /// Ready when the stream may be readable, registering the
            /// task's waker otherwise (tokio's `poll_read_ready`): for
            /// hand-written futures that then call [`try_read`](Self::try_read).
            /// Only readiness is reported; a `WouldBlock` from the read
            /// clears it, so the next call waits for new data. Several tasks
            /// may wait; each is woken.
            pub fn poll_read_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.io
                    .registration()
                    .poll_ready(cx, $crate::driver::io::Direction::Read)
                    .map_ok(drop)
            }

            /// Ready when the stream may be writable (tokio's
            /// `poll_write_ready`), for use with [`try_write`](Self::try_write);
            /// as [`poll_read_ready`](Self::poll_read_ready).
            pub fn poll_write_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.io
                    .registration()
                    .poll_ready(cx, $crate::driver::io::Direction::Write)
                    .map_ok(drop)
            }

            /// [`try_read`](Self::try_read) into several buffers.
            pub fn try_read_vectored(
                &self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                self.io.try_read_vectored(bufs)
            }

            /// Writes without waiting: `WouldBlock` if the send buffer is
            /// full (and the next [`writable`](Self::writable) then waits for
            /// room).
            pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
                self.io.try_write(buf)
            }

            /// [`try_write`](Self::try_write) from several buffers.
            pub fn try_write_vectored(
                &self,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::io::Result<usize> {
                self.io.try_write_vectored(bufs)
            }

            /// The pending socket error (`SO_ERROR`), if any, clearing it.
            pub fn take_error(&self) -> std::io::Result<Option<std::io::Error>> {
                self.io.get_ref().take_error()
            }

            fn poll_read_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_read(cx, buf)
            }
        }

        // SAFETY: `Evented::poll_read_uninit` reads with `read(2)` into
        // `buf` and returns the kernel's count, or copies bytes received
        // through an io_uring ring into it and returns how many; either is
        // at most `buf.len()` and covers exactly the bytes written.
        unsafe impl $crate::net::ReadUninit for $t {
            fn poll_read_uninit(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [std::mem::MaybeUninit<u8>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_read_uninit(cx, buf)
            }
        }

        impl $t {
            fn poll_read_vectored_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_read_vectored(cx, bufs)
            }

            fn poll_write_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_write(cx, buf)
            }

            fn poll_write_vectored_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_write_vectored(cx, bufs)
            }

            fn poll_close_priv(&self) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready($crate::net::close_write(
                    self.shutdown(std::net::Shutdown::Write),
                ))
            }
        }

        $crate::net::byte_stream_traits!($t);
    };
}
pub(crate) use byte_stream_methods;

/// The result of `close` (futures' `poll_close`, tokio's `poll_shutdown`,
/// hyper's `poll_shutdown`) from the result of `shutdown(Shutdown::Write)`.
/// `ENOTCONN` means the connection is already gone (the peer reset it, or
/// both sides have shut it down): there is no write direction left to close,
/// so closing it succeeds. Without this, a hyper connection ended gracefully
/// could report an error when the peer closed first (a race every test run
/// could lose). The inherent `shutdown` keeps std's behaviour.
pub(crate) fn close_write(result: std::io::Result<()>) -> std::io::Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::NotConnected => Ok(()),
        other => other,
    }
}

/// A byte stream that can read into uninitialised memory, so hyper's and
/// tokio's read buffers are filled by the kernel directly (no zeroing, no
/// bounce copy). Implemented by `TcpStream`, `UnixStream` and their read
/// halves.
///
/// # Safety
///
/// Callers mark bytes initialised on the implementation's word (hyper's
/// `ReadBufCursor::advance`, tokio's `ReadBuf::assume_init`), so an
/// implementation must keep this contract: when `poll_read_uninit` returns
/// `Poll::Ready(Ok(n))`, then `n <= buf.len()` and the first `n` elements
/// of `buf` have been initialised by this call (written by the kernel or by
/// the implementation). It never reads from `buf`, and never un-initialises
/// any element of it. `Pending` and `Err` promise nothing about `buf`.
#[cfg_attr(not(any(feature = "hyper", feature = "tokio-io")), allow(dead_code))]
pub(crate) unsafe trait ReadUninit {
    /// Reads into `buf`; `Ok(n)`: the first `n` bytes of `buf` are now
    /// initialised (0 is end of stream).
    fn poll_read_uninit(
        &self,
        cx: &mut std::task::Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> std::task::Poll<std::io::Result<usize>>;
}

// SAFETY: delegates to `S`'s implementation, which keeps the contract.
unsafe impl<S: ReadUninit + ?Sized> ReadUninit for &S {
    fn poll_read_uninit(
        &self,
        cx: &mut std::task::Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        (**self).poll_read_uninit(cx, buf)
    }
}

/// `AsFd`, `AsRawFd` and `Debug` for a socket type with an `io:
/// Evented<_>` field: all three from the wrapped std object.
macro_rules! fd_impls {
    ($t:ty) => {
        impl std::os::fd::AsFd for $t {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(self.io.get_ref())
            }
        }

        impl std::os::fd::AsRawFd for $t {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(self.io.get_ref())
            }
        }

        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(self.io.get_ref(), f)
            }
        }
    };
}
pub(crate) use fd_impls;

/// tokio's `TryFrom<std type>` for a socket type: the same as its
/// `from_std` (non-blocking, registered with the current runtime).
macro_rules! try_from_std {
    ($t:ident, $std:ty) => {
        impl TryFrom<$std> for $t {
            type Error = std::io::Error;

            #[doc = concat!("As [`", stringify!($t), "::from_std`].")]
            fn try_from(socket: $std) -> std::io::Result<$t> {
                $t::from_std(socket)
            }
        }
    };
}
pub(crate) use try_from_std;

/// tokio's IP-level options shared by `TcpSocket` and `UdpSocket` (`IP_TOS`,
/// `IPV6_TCLASS`, `SO_BINDTODEVICE`, and the deprecated `tos` names), on a
/// type with a `sock(&self) -> socket2::SockRef<'_>` method.
macro_rules! ip_options_methods {
    ($t:ident) => {
        impl $t {
            /// The IPv4 type-of-service byte (`IP_TOS`) of packets sent.
            pub fn tos_v4(&self) -> std::io::Result<u32> {
                self.sock().tos_v4()
            }

            /// Sets `IP_TOS` (DSCP and ECN bits) for an IPv4 socket.
            pub fn set_tos_v4(&self, tos: u32) -> std::io::Result<()> {
                self.sock().set_tos_v4(tos)
            }

            /// Old name of [`tos_v4`](Self::tos_v4), deprecated as in tokio.
            #[deprecated(
                note = "`tos` related methods have been renamed `tos_v4` since they are IPv4-specific."
            )]
            #[doc(hidden)]
            pub fn tos(&self) -> std::io::Result<u32> {
                self.tos_v4()
            }

            /// Old name of [`set_tos_v4`](Self::set_tos_v4), deprecated as in
            /// tokio.
            #[deprecated(
                note = "`set_tos` related methods have been renamed `set_tos_v4` since they are IPv4-specific."
            )]
            #[doc(hidden)]
            pub fn set_tos(&self, tos: u32) -> std::io::Result<()> {
                self.set_tos_v4(tos)
            }

            /// The IPv6 traffic class (`IPV6_TCLASS`) of packets sent.
            pub fn tclass_v6(&self) -> std::io::Result<u32> {
                self.sock().tclass_v6()
            }

            /// Sets `IPV6_TCLASS` for an IPv6 socket.
            pub fn set_tclass_v6(&self, tclass: u32) -> std::io::Result<()> {
                self.sock().set_tclass_v6(tclass)
            }

            /// The interface the socket is bound to (`SO_BINDTODEVICE`), if
            /// any.
            pub fn device(&self) -> std::io::Result<Option<Vec<u8>>> {
                self.sock().device()
            }

            /// Binds the socket to an interface by name (`Some(b"eth0")`),
            /// or unbinds it (`None`); binding needs `CAP_NET_RAW` on older
            /// kernels.
            pub fn bind_device(&self, interface: Option<&[u8]>) -> std::io::Result<()> {
                self.sock().bind_device(interface)
            }
        }
    };
}
pub(crate) use ip_options_methods;

/// futures-io's `AsyncWrite` for a pipe's write end with an `io:
/// Evented<File>` field (a child's stdin, a `pipe::Sender`): writes go
/// straight to the pipe, so flushing has nothing to do, and closing does
/// nothing either, as tokio's `poll_shutdown`: the pipe closes when the end
/// is dropped.
macro_rules! pipe_async_write {
    ($t:ty) => {
        impl futures_io::AsyncWrite for $t {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_write_vectored(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
        }
    };
}
pub(crate) use pipe_async_write;

/// futures-io's `AsyncRead` for a pipe's read end with an `io:
/// Evented<File>` field (a child's stdout or stderr, a `pipe::Receiver`).
macro_rules! pipe_async_read {
    ($t:ty) => {
        impl futures_io::AsyncRead for $t {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_read_vectored(cx, bufs)
            }
        }
    };
}
pub(crate) use pipe_async_read;

mod accept;
mod addr;
mod buf;
mod datagram;
pub mod split;
pub mod tcp;
mod udp;
pub mod unix;

pub use addr::{lookup_host, ToSocketAddrs};
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixSocket, UnixStream};
