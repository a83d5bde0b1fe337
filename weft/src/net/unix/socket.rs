//! `UnixSocket`: a Unix socket configured before it listens, connects or
//! becomes a datagram socket.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::Path;

use socket2::{Domain, Socket, Type};

use super::{UnixDatagram, UnixListener, UnixStream};

/// A Unix socket not yet listening, connected or in use (tokio 1.37's
/// `UnixSocket`): bind a stream socket to a path of its own before it
/// connects (so the server sees that path as the peer's address), choose
/// the listen backlog, or set socket options through
/// [`AsFd`](std::os::fd::AsFd) first.
///
/// [`new_stream`](Self::new_stream) makes a stream socket, which becomes
/// a [`UnixListener`] ([`listen`](Self::listen)) or a [`UnixStream`]
/// ([`connect`](Self::connect)); [`new_datagram`](Self::new_datagram)
/// makes one that becomes a [`UnixDatagram`] ([`datagram`](Self::datagram)).
/// As elsewhere in weft, a path starting with a NUL byte is an abstract
/// name, and errors name the path.
///
/// ```
/// use weft::io::{AsyncReadExt, AsyncWriteExt};
/// use weft::net::UnixSocket;
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let server = format!("\0weft-doc-unix-socket-{}", std::process::id());
///     let client = format!("{server}-client");
///
///     let socket = UnixSocket::new_stream()?;
///     socket.bind(&server)?;
///     let listener = socket.listen(128)?;
///
///     let socket = UnixSocket::new_stream()?;
///     socket.bind(&client)?;
///     let mut stream = socket.connect(&server).await?;
///     let (mut accepted, peer) = listener.accept().await?;
///     // The server sees the name the client bound.
///     assert!(!peer.is_unnamed());
///
///     stream.write_all(b"hi").await?;
///     let mut buf = [0u8; 2];
///     accepted.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     Ok(())
/// }
/// ```
pub struct UnixSocket {
    inner: Socket,
}

impl UnixSocket {
    fn new(ty: Type) -> io::Result<UnixSocket> {
        // socket2 also sets close-on-exec.
        Ok(UnixSocket {
            inner: Socket::new(Domain::UNIX, ty.nonblocking(), None)?,
        })
    }

    /// A new Unix datagram socket (`SOCK_DGRAM`), non-blocking.
    ///
    /// # Errors
    ///
    /// The kernel's (`EMFILE`, ...).
    pub fn new_datagram() -> io::Result<UnixSocket> {
        UnixSocket::new(Type::DGRAM)
    }

    /// A new Unix stream socket (`SOCK_STREAM`), non-blocking.
    ///
    /// # Errors
    ///
    /// The kernel's (`EMFILE`, ...).
    pub fn new_stream() -> io::Result<UnixSocket> {
        UnixSocket::new(Type::STREAM)
    }

    /// Fails with tokio's message if the socket is of type `wrong`.
    fn refuse(&self, wrong: Type, message: &'static str) -> io::Result<()> {
        if self.inner.r#type()? == wrong {
            // tokio's kind (`Other`) and text, which its tests compare.
            return Err(io::Error::other(message));
        }
        Ok(())
    }

    /// Binds the socket to `path` (a leading NUL byte names an abstract
    /// socket).
    ///
    /// # Errors
    ///
    /// As [`UnixListener::bind`]: `AddrInUse` if a file exists at `path`,
    /// `NotFound` if its directory does not, ... each naming the path;
    /// `InvalidInput` for a path too long for a Unix address.
    pub fn bind(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref();
        let addr = super::rustix_address(path)?;
        rustix::net::bind(&self.inner, &addr)
            .map_err(|e| super::with_path(e.into(), "binding Unix socket", path))
    }

    /// Starts listening, with up to `backlog` connections queued (values
    /// above `i32::MAX` are taken as `i32::MAX`; the kernel caps them at
    /// `net.core.somaxconn`), and registers the listener with the current
    /// runtime.
    ///
    /// # Errors
    ///
    /// tokio's `"listen cannot be called on a datagram socket"` (kind
    /// `Other`) for a datagram socket; the kernel's; or outside a weft
    /// runtime (tokio's panics there).
    pub fn listen(self, backlog: u32) -> io::Result<UnixListener> {
        self.refuse(Type::DGRAM, "listen cannot be called on a datagram socket")?;
        self.inner
            .listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
        UnixListener::from_std(OwnedFd::from(self.inner).into())
    }

    /// Connects to the socket at `path` without blocking the loop (as
    /// [`UnixStream::connect`], on this socket and so from the address it
    /// was bound to, if any).
    ///
    /// # Errors
    ///
    /// tokio's `"connect cannot be called on a datagram socket"` (kind
    /// `Other`) for a datagram socket; otherwise as
    /// [`UnixStream::connect`], naming the path.
    pub async fn connect(self, path: impl AsRef<Path>) -> io::Result<UnixStream> {
        self.refuse(Type::DGRAM, "connect cannot be called on a datagram socket")?;
        // A socket from `from_raw_fd` may be blocking; the connect must not
        // block the thread.
        self.inner.set_nonblocking(true)?;
        UnixStream::connect_socket(OwnedFd::from(self.inner), path.as_ref()).await
    }

    /// Turns the socket into a [`UnixDatagram`] registered with the
    /// current runtime.
    ///
    /// # Errors
    ///
    /// tokio's `"datagram cannot be called on a stream socket"` (kind
    /// `Other`) for a stream socket; or outside a weft runtime (tokio's
    /// panics there).
    pub fn datagram(self) -> io::Result<UnixDatagram> {
        self.refuse(Type::STREAM, "datagram cannot be called on a stream socket")?;
        UnixDatagram::from_std(OwnedFd::from(self.inner).into())
    }
}

impl AsFd for UnixSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for UnixSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl IntoRawFd for UnixSocket {
    fn into_raw_fd(self) -> RawFd {
        self.inner.into_raw_fd()
    }
}

impl FromRawFd for UnixSocket {
    /// Wraps a raw descriptor: a Unix socket, not yet listening or
    /// connected. It is made non-blocking when it is used, not here.
    ///
    /// # Safety
    ///
    /// As [`std::os::fd::OwnedFd::from_raw_fd`]: `fd` must be an open
    /// descriptor that the caller owns, and ownership moves into the
    /// `UnixSocket`: nothing else may close it or use it as its own
    /// afterwards, and the `UnixSocket` closes it when dropped.
    unsafe fn from_raw_fd(fd: RawFd) -> UnixSocket {
        // SAFETY: this function's caller guarantees that `fd` is open and
        // owned by them, and hands that ownership over: exactly
        // `socket2::Socket::from_raw_fd`'s contract.
        let inner = unsafe { Socket::from_raw_fd(fd) };
        UnixSocket { inner }
    }
}

impl fmt::Debug for UnixSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}
