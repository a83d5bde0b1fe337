//! `UnixListener`.

use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{ready, Context, Poll};

use super::UnixStream;
use crate::driver::io::evented::Evented;
use crate::net::accept::{self, Acceptor};

/// A Unix stream socket listening for connections.
///
/// Accepting behaves as [`TcpListener`](crate::net::TcpListener)'s: it
/// drains the queue (or takes one per turn), skips connections that died
/// queued, and survives descriptor exhaustion without spinning.
///
/// Binding to a path where a file already exists fails with `AddrInUse`
/// and a message naming the path; weft never deletes the file (a stale
/// socket from a crashed server must be removed on purpose). Dropping the
/// listener does not remove the file either, as in std.
///
/// ```
/// use weft::io::{AsyncReadExt, AsyncWriteExt};
/// use weft::net::{UnixListener, UnixStream};
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let path = std::env::temp_dir().join(format!("weft-doc-{}.sock", std::process::id()));
///     let listener = UnixListener::bind(&path)?;
///     let mut client = UnixStream::connect(&path).await?;
///     let (mut server, _) = listener.accept().await?;
///     client.write_all(b"hi").await?;
///     let mut buf = [0u8; 2];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     std::fs::remove_file(&path)?;
///     Ok(())
/// }
/// ```
pub struct UnixListener {
    io: Evented<std::os::unix::net::UnixListener>,
    acceptor: Acceptor,
}

impl UnixListener {
    /// Binds to `path` and listens. A path starting with a NUL byte names an
    /// abstract socket (Linux).
    ///
    /// # Errors
    ///
    /// `AddrInUse` if a file exists at `path`, `NotFound` if its directory
    /// does not, `PermissionDenied`, ... each naming the path; or if called
    /// outside a weft runtime.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let path = path.as_ref();
        let addr = super::address(path)?;
        let listener = std::os::unix::net::UnixListener::bind_addr(&addr)
            .map_err(|e| super::with_path(e, "binding Unix socket", path))?;
        UnixListener::from_std(listener)
    }

    /// Binds to the address `addr` names (a path, or an abstract name) and
    /// listens, as [`bind`](Self::bind). tokio's takes its own `SocketAddr`
    /// type; weft's [`SocketAddr`](super::SocketAddr) is std's.
    ///
    /// ```
    /// use std::os::linux::net::SocketAddrExt;
    /// use weft::net::{unix::SocketAddr, UnixListener, UnixStream};
    ///
    /// #[weft::main(flavor = "current_thread")]
    /// async fn main() -> std::io::Result<()> {
    ///     let name = format!("weft-doc-bind-addr-{}", std::process::id());
    ///     let addr = SocketAddr::from_abstract_name(name.as_bytes())?;
    ///     let listener = UnixListener::bind_addr(&addr)?;
    ///     let _client = UnixStream::connect_addr(&addr).await?;
    ///     let (_server, _) = listener.accept().await?;
    ///     Ok(())
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an unnamed address (there is nothing to bind
    /// to); otherwise as [`bind`](Self::bind), naming the path or the
    /// abstract name (`@name`).
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixListener> {
        let path = super::addr_path(addr).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "binding a Unix listener to an unnamed address: it names no socket",
            )
        })?;
        let listener = std::os::unix::net::UnixListener::bind_addr(addr)
            .map_err(|e| super::with_path(e, "binding Unix socket", &path))?;
        UnixListener::from_std(listener)
    }

    /// Wraps a listener from `std`, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// If called outside a weft runtime, or registration fails.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        accept::reserve();
        Ok(UnixListener {
            io: crate::scheduler::context::register(listener)?,
            acceptor: Acceptor::default(),
        })
    }

    /// Turns the listener back into a `std` one (still non-blocking).
    ///
    /// # Errors
    ///
    /// If the descriptor cannot be duplicated.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        self.io.into_std()
    }

    /// Waits for a connection.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection; see [`accept`](Self::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let fd = ready!(self.acceptor.poll_accept(
            &self.io,
            cx,
            |listener| rustix::net::accept_with(listener, accept::ACCEPT_FLAGS),
            // (Unix listeners accept as on epoll: the ring gives them none.)
            |(fd, _)| fd,
            |listener| {
                let addr = listener.local_addr().ok()?;
                Some(match addr.as_pathname() {
                    Some(path) => path.display().to_string(),
                    None => format!("{addr:?}"),
                })
            },
        ))?;
        let stream = std::os::unix::net::UnixStream::from(fd);
        let addr = stream.peer_addr()?;
        Poll::Ready(Ok((UnixStream::from_connected(stream)?, addr)))
    }

    /// Takes one connection per driver turn instead of draining the queue;
    /// see [`TcpListener::set_single_accept`](crate::net::TcpListener::set_single_accept).
    pub fn set_single_accept(&self, single: bool) {
        self.acceptor.set_single(single);
    }

    /// Whether the listener takes one connection per driver turn.
    pub fn single_accept(&self) -> bool {
        self.acceptor.single()
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The pending socket error, if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

crate::net::fd_impls!(UnixListener);

crate::net::try_from_std!(UnixListener, std::os::unix::net::UnixListener);
