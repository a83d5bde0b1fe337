//! `UnixStream`.

use std::io;
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use super::UCred;
use crate::driver::io::evented::Evented;
use crate::driver::io::Direction;

/// A Unix stream connection.
///
/// Implements [`futures_io::AsyncRead`] and [`futures_io::AsyncWrite`], also
/// on `&UnixStream`, like [`TcpStream`](crate::net::TcpStream);
/// `shutdown(Shutdown::Write)` (or `AsyncWriteExt::close`) delivers EOF to
/// the peer while this side can still read.
///
/// Writes use `send`/`sendmsg` with `MSG_NOSIGNAL`: a write to a stream
/// whose peer has gone fails with `BrokenPipe` and never raises `SIGPIPE`,
/// even in a program that restored SIGPIPE's default action.
///
/// ```
/// use weft::io::{AsyncReadExt, AsyncWriteExt};
/// use weft::net::UnixStream;
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let (mut a, mut b) = UnixStream::pair()?;
///     a.write_all(b"ping").await?;
///     a.shutdown(std::net::Shutdown::Write)?;
///     let mut got = Vec::new();
///     b.read_to_end(&mut got).await?;
///     assert_eq!(got, b"ping");
///     Ok(())
/// }
/// ```
pub struct UnixStream {
    io: Evented<std::os::unix::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path` (a leading NUL byte names an
    /// abstract socket).
    ///
    /// # Errors
    ///
    /// `NotFound` (no socket there), `ConnectionRefused` (nothing listens),
    /// `PermissionDenied`, each naming the path.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let path = path.as_ref();
        let socket = rustix::net::socket_with(
            rustix::net::AddressFamily::UNIX,
            rustix::net::SocketType::STREAM,
            rustix::net::SocketFlags::NONBLOCK | rustix::net::SocketFlags::CLOEXEC,
            None,
        )?;
        UnixStream::connect_socket(socket, path).await
    }

    /// Connects `socket` (a non-blocking, unconnected Unix stream socket,
    /// perhaps bound) to `path`: [`connect`](Self::connect) and
    /// [`UnixSocket::connect`](crate::net::UnixSocket::connect).
    pub(crate) async fn connect_socket(socket: OwnedFd, path: &Path) -> io::Result<UnixStream> {
        let addr = super::rustix_address(path)?;
        let pending = match rustix::net::connect(&socket, &addr) {
            Ok(()) => false,
            Err(rustix::io::Errno::INPROGRESS) => true,
            // A Unix connect never completes later: EAGAIN means the
            // listener's backlog is full and the socket stays unconnected.
            Err(rustix::io::Errno::AGAIN) => {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!(
                        "connecting to Unix socket {}: the listener's backlog is full; try \
                         again later",
                        super::display(path)
                    ),
                ))
            }
            Err(e) => {
                return Err(super::with_path(
                    e.into(),
                    "connecting to Unix socket",
                    path,
                ))
            }
        };
        let stream = UnixStream::from_connected(std::os::unix::net::UnixStream::from(socket))?;
        if pending {
            std::future::poll_fn(|cx| stream.io.registration().poll_ready(cx, Direction::Write))
                .await?;
            if let Some(e) = stream.io.get_ref().take_error()? {
                return Err(super::with_path(e, "connecting to Unix socket", path));
            }
        }
        // A connection that failed without a pending error shows here.
        stream
            .io
            .get_ref()
            .peer_addr()
            .map_err(|e| super::with_path(e, "connecting to Unix socket", path))?;
        Ok(stream)
    }

    /// Connects to the socket `addr` names (a path, or an abstract name),
    /// as [`connect`](Self::connect). tokio's takes its own `SocketAddr`
    /// type; weft's addresses are std's.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an unnamed address (it names no socket);
    /// otherwise as [`connect`](Self::connect).
    pub async fn connect_addr(addr: &SocketAddr) -> io::Result<UnixStream> {
        match super::addr_path(addr) {
            Some(path) => UnixStream::connect(path).await,
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "connecting to an unnamed Unix socket address: it names no socket",
            )),
        }
    }

    /// Two connected streams (`socketpair`), both registered.
    ///
    /// # Errors
    ///
    /// The kernel's, or if called outside a weft runtime.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    pub(crate) fn from_connected(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: crate::scheduler::context::register(stream)?,
        })
    }

    /// Wraps a connected stream from `std`, switching it to non-blocking
    /// mode.
    ///
    /// # Errors
    ///
    /// If called outside a weft runtime, or registration fails.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        UnixStream::from_connected(stream)
    }

    /// Turns the stream back into a `std` one (still non-blocking).
    ///
    /// # Errors
    ///
    /// If the descriptor cannot be duplicated.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        self.io.into_std()
    }

    /// This end's address (unnamed for a client or a `pair`).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The peer process's credentials (`SO_PEERCRED`).
    pub fn peer_cred(&self) -> io::Result<UCred> {
        super::peer_cred(self.io.get_ref())
    }

    /// Shuts down the read side, the write side, or both. After
    /// `Shutdown::Write` the peer reads EOF, and this side can still read.
    /// (`AsyncWriteExt::close` does the same as `Shutdown::Write`, except that
    /// it treats `ENOTCONN` as success, as on [`TcpStream`](crate::net::TcpStream::shutdown).)
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Borrowed halves, as [`TcpStream::split`](crate::net::TcpStream::split)
    /// (same note about `AsyncReadExt::split`).
    pub fn split(&mut self) -> (super::ReadHalf<'_>, super::WriteHalf<'_>) {
        crate::net::split::split(self)
    }

    /// Owned halves, as
    /// [`TcpStream::into_split`](crate::net::TcpStream::into_split).
    pub fn into_split(self) -> (super::OwnedReadHalf, super::OwnedWriteHalf) {
        crate::net::split::into_split(self)
    }
}

crate::net::byte_stream_methods!(UnixStream);

crate::net::fd_impls!(UnixStream);

crate::net::try_from_std!(UnixStream, std::os::unix::net::UnixStream);

/// The stream itself, as tokio's (for code generic over `AsRef<UnixStream>`,
/// which also takes the halves).
impl AsRef<Self> for UnixStream {
    fn as_ref(&self) -> &Self {
        self
    }
}
