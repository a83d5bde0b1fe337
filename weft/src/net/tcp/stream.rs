//! `TcpStream`.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use socket2::{Domain, Socket, Type};

use crate::driver::io::Direction;
use crate::net::addr::{each_addr, ToSocketAddrs};
use crate::net::evented::Evented;

/// A TCP connection.
///
/// Implements [`futures_io::AsyncRead`] and [`futures_io::AsyncWrite`]
/// (vectored writes included), also on `&TcpStream`, so one task can read
/// while another writes. Use the extension traits from [`crate::io`].
///
/// ```
/// use weft::io::{AsyncReadExt, AsyncWriteExt};
/// use weft::net::{TcpListener, TcpStream};
///
/// #[weft::main]
/// async fn main() -> std::io::Result<()> {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///     client.write_all(b"hi").await?;
///     client.shutdown(std::net::Shutdown::Write)?; // the server sees EOF
///     let mut got = Vec::new();
///     server.read_to_end(&mut got).await?;
///     assert_eq!(got, b"hi");
///     Ok(())
/// }
/// ```
pub struct TcpStream {
    io: Evented<std::net::TcpStream>,
}

impl TcpStream {
    /// Opens a connection to `addr` without blocking the loop. With several
    /// addresses, each is tried in turn until one connects.
    ///
    /// # Errors
    ///
    /// The kernel's error for the last address tried: `ConnectionRefused`
    /// when nothing listens, `HostUnreachable`/`NetworkUnreachable`, ... and
    /// `InvalidInput` for addresses that are not literal IPs.
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(addr, TcpStream::connect_addr).await
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM.nonblocking(), None)?;
        match socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INPROGRESS.raw_os_error()) => {}
            Err(e) => return Err(e),
        }
        let stream = TcpStream {
            io: Evented::new(std::net::TcpStream::from(socket))?,
        };
        // Writable (or error/hang-up) means the handshake finished, one way
        // or the other; SO_ERROR says which.
        std::future::poll_fn(|cx| stream.io.registration().poll_ready(cx, Direction::Write))
            .await?;
        if let Some(e) = stream.io.get_ref().take_error()? {
            return Err(e);
        }
        // A connection that failed without a pending error shows here.
        stream.io.get_ref().peer_addr()?;
        Ok(stream)
    }

    /// Wraps a connected, non-blocking stream.
    pub(crate) fn from_connected(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: Evented::new(stream)?,
        })
    }

    /// Wraps a connected stream from `std`, switching it to non-blocking
    /// mode.
    ///
    /// # Errors
    ///
    /// If called outside a weft runtime, or registration fails.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_connected(stream)
    }

    /// Turns the stream back into a `std` one (still non-blocking), no
    /// longer registered with the runtime.
    ///
    /// # Errors
    ///
    /// If the descriptor cannot be duplicated (out of descriptors).
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        self.io.into_std()
    }

    /// The local address of the connection.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Whether Nagle's algorithm is off (`TCP_NODELAY`).
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Turns Nagle's algorithm off (`true`) or on. Request/response
    /// protocols with small messages want it off.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// The IP time-to-live of this connection's packets.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets the IP time-to-live.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// Shuts down the read side, the write side, or both. After
    /// `Shutdown::Write` the peer reads EOF, and this side can still read.
    /// (`AsyncWriteExt::close` does the same as `Shutdown::Write`.)
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Receives data without removing it from the socket's queue; waits
    /// until there is some. Returns 0 at EOF.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_peek(cx, buf)).await
    }

    /// Polls for [`peek`](Self::peek).
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // Never clear on a short peek: the data is still queued.
        self.io.poll_io(cx, Direction::Read, |s| s.peek(buf))
    }

    /// Waits until the stream may be readable (readiness is a hint: a read
    /// can still return `WouldBlock`). Each direction remembers one waiting
    /// task, the latest: when two tasks wait to read the same stream at once
    /// (through `&TcpStream`), only the second is woken. Read from one task.
    pub async fn readable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.io.registration().poll_ready(cx, Direction::Read))
            .await
            .map(drop)
    }

    /// Waits until the stream may be writable.
    pub async fn writable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.io.registration().poll_ready(cx, Direction::Write))
            .await
            .map(drop)
    }

    /// Reads without waiting: `WouldBlock` if nothing is queued. Meant for
    /// a [`readable`](Self::readable) loop, as in tokio: a `WouldBlock`
    /// here makes the next `readable()` wait for new data.
    ///
    /// ```
    /// # use weft::net::{TcpListener, TcpStream};
    /// # use weft::io::AsyncWriteExt;
    /// # #[weft::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// # let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// # let (mut peer, _) = listener.accept().await?;
    /// # peer.write_all(b"hello").await?;
    /// let mut buf = [0u8; 64];
    /// let n = loop {
    ///     stream.readable().await?;
    ///     match stream.try_read(&mut buf) {
    ///         Ok(n) => break n,
    ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///         Err(e) => return Err(e),
    ///     }
    /// };
    /// assert_eq!(&buf[..n], b"hello");
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .registration()
            .try_io(Direction::Read, || self.io.get_ref().read(buf))
    }

    /// Writes without waiting: `WouldBlock` if the send buffer is full (and
    /// the next [`writable`](Self::writable) then waits for room).
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io
            .registration()
            .try_io(Direction::Write, || self.io.get_ref().write(buf))
    }

    fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_transfer(cx, Direction::Read, buf.len(), |mut s| s.read(buf))
    }

    fn poll_read_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = vectored_len(bufs.iter().map(|b| b.len()));
        self.io
            .poll_transfer(cx, Direction::Read, len, |mut s| s.read_vectored(bufs))
    }

    fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_transfer(cx, Direction::Write, buf.len(), |mut s| s.write(buf))
    }

    fn poll_write_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = vectored_len(bufs.iter().map(|b| b.len()));
        self.io
            .poll_transfer(cx, Direction::Write, len, |mut s| s.write_vectored(bufs))
    }

    fn poll_close_priv(&self) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(Shutdown::Write))
    }
}

/// The bytes one `readv`/`writev` can move: the kernel takes at most IOV_MAX
/// (1024) slices per call, so a shorter transfer over more slices than that
/// says nothing about the socket buffer.
fn vectored_len(lens: impl Iterator<Item = usize>) -> usize {
    const IOV_MAX: usize = 1024;
    lens.take(IOV_MAX).fold(0, usize::saturating_add)
}

crate::net::byte_stream_traits!(TcpStream);

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.get_ref().fmt(f)
    }
}
