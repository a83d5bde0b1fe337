//! `TcpStream`.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::task::{Context, Poll};

use socket2::{Domain, Socket, Type};

use crate::driver::io::evented::Evented;
use crate::driver::io::Direction;
use crate::net::addr::{each_addr, ToSocketAddrs};

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
        TcpStream::connect_socket(socket, addr).await
    }

    /// Connects `socket` (non-blocking, possibly bound and configured) to
    /// `addr`, waiting for the handshake on the loop.
    pub(crate) async fn connect_socket(socket: Socket, addr: SocketAddr) -> io::Result<TcpStream> {
        match socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INPROGRESS.raw_os_error()) => {}
            Err(e) => return Err(e),
        }
        let stream = TcpStream {
            io: crate::scheduler::context::register_stream(std::net::TcpStream::from(socket))?,
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
            io: crate::scheduler::context::register_stream(stream)?,
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
    /// If the descriptor cannot be duplicated (out of descriptors). On the
    /// io_uring driver ([`IoDriver::Uring`](crate::runtime::IoDriver::Uring)),
    /// also while bytes received through the ring by a read that was
    /// dropped before it returned wait in the stream: the `std` stream
    /// would never see them (read them first).
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        self.io.into_std()
    }

    /// Splits the stream into a read half and a write half that borrow it,
    /// for reading and writing from two futures at once (`join!`,
    /// `select!`). Free: both halves go through `&TcpStream`.
    ///
    /// With `weft::io::AsyncReadExt` in scope, `stream.split()` on a
    /// `TcpStream` value resolves to futures' `AsyncReadExt::split(self)`
    /// (owned, lock-based halves) instead; call `TcpStream::split(&mut
    /// stream)` to be explicit, or use [`into_split`](Self::into_split).
    ///
    /// ```
    /// use weft::io::{AsyncReadExt, AsyncWriteExt};
    /// use weft::net::{TcpListener, TcpStream};
    ///
    /// #[weft::main(flavor = "current_thread")]
    /// async fn main() -> std::io::Result<()> {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     let (mut read, mut write) = TcpStream::split(&mut server);
    ///     client.write_all(b"abc").await?;
    ///     let mut buf = [0u8; 3];
    ///     read.read_exact(&mut buf).await?;
    ///     write.write_all(&buf).await?;
    ///     client.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"abc");
    ///     Ok(())
    /// }
    /// ```
    pub fn split(&mut self) -> (super::ReadHalf<'_>, super::WriteHalf<'_>) {
        crate::net::split::split(self)
    }

    /// Splits the stream into owned halves that can move to different
    /// tasks; [`reunite`](super::OwnedReadHalf::reunite) puts them back
    /// together. Dropping the write half shuts the write direction down.
    pub fn into_split(self) -> (super::OwnedReadHalf, super::OwnedWriteHalf) {
        crate::net::split::into_split(self)
    }

    /// How long `close` lingers to send unsent data (`SO_LINGER`); `None`:
    /// the default (close at once, the kernel sends in the background).
    pub fn linger(&self) -> io::Result<Option<std::time::Duration>> {
        socket2::SockRef::from(self.io.get_ref()).linger()
    }

    /// Sets `SO_LINGER`. Deprecated, as in tokio: with a non-zero duration
    /// Linux blocks the thread that drops the stream (a runtime thread)
    /// until the data is sent or the time runs out. Its one good use,
    /// `Some(Duration::ZERO)`, is [`set_zero_linger`](Self::set_zero_linger).
    #[deprecated = "`SO_LINGER` causes the socket to block the thread on drop"]
    pub fn set_linger(&self, linger: Option<std::time::Duration>) -> io::Result<()> {
        socket2::SockRef::from(self.io.get_ref()).set_linger(linger)
    }

    /// Sets `SO_LINGER` to zero: dropping (closing) the stream then resets
    /// the connection (RST) at once instead of the FIN handshake. Unsent
    /// data in the kernel's send buffer is discarded, the peer's next read
    /// or write fails with "connection reset" instead of seeing a clean end
    /// of stream, and this side skips `TIME_WAIT`. Closing never blocks.
    ///
    /// ```
    /// use weft::net::{TcpListener, TcpStream};
    ///
    /// #[weft::main(flavor = "current_thread")]
    /// async fn main() -> std::io::Result<()> {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let stream = TcpStream::connect(listener.local_addr()?).await?;
    ///     stream.set_zero_linger()?;
    ///     assert_eq!(stream.linger()?, Some(std::time::Duration::ZERO));
    ///     Ok(())
    /// }
    /// ```
    pub fn set_zero_linger(&self) -> io::Result<()> {
        socket2::SockRef::from(self.io.get_ref()).set_linger(Some(std::time::Duration::ZERO))
    }

    /// Whether `TCP_QUICKACK` is on: ACKs sent at once rather than delayed.
    /// The kernel turns it off again by itself after some exchanges.
    pub fn quickack(&self) -> io::Result<bool> {
        socket2::SockRef::from(self.io.get_ref()).tcp_quickack()
    }

    /// Sets `TCP_QUICKACK` (not permanent: the kernel may leave quick-ACK
    /// mode later; set it again after reads if it matters).
    pub fn set_quickack(&self, quickack: bool) -> io::Result<()> {
        socket2::SockRef::from(self.io.get_ref()).set_tcp_quickack(quickack)
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
    /// (`AsyncWriteExt::close` does the same as `Shutdown::Write`, except that
    /// it treats `ENOTCONN` — the peer already tore the connection down — as
    /// success: there is nothing left to close. `shutdown` returns it, as
    /// std's does.)
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
        self.io.poll_peek(cx, buf, |s, buf| s.peek(buf))
    }
}

crate::net::byte_stream_methods!(TcpStream);

crate::net::fd_impls!(TcpStream);

crate::net::try_from_std!(TcpStream, std::net::TcpStream);

/// The stream itself, as tokio's (for code generic over `AsRef<TcpStream>`,
/// which also takes the halves).
impl AsRef<Self> for TcpStream {
    fn as_ref(&self) -> &Self {
        self
    }
}
