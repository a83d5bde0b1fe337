//! `UnixDatagram`.

use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};

use rustix::net::{RecvFlags, SendFlags};

use crate::driver::io::evented::Evented;
use crate::driver::io::Direction;
use crate::net::buf::Recv;
use crate::net::datagram;

/// A Unix datagram socket: message boundaries kept, delivery reliable and
/// ordered (on one host).
///
/// A datagram longer than the receive buffer is an `InvalidData` error that
/// gives both sizes, never a silent short read.
///
/// ```
/// use weft::net::UnixDatagram;
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let (a, b) = UnixDatagram::pair()?;
///     a.send(b"one").await?;
///     a.send(b"two").await?;
///     let mut buf = [0u8; 16];
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"one");
///     Ok(())
/// }
/// ```
pub struct UnixDatagram {
    io: Evented<std::os::unix::net::UnixDatagram>,
}

impl UnixDatagram {
    /// A socket bound to `path` (a leading NUL byte names an abstract
    /// socket).
    ///
    /// # Errors
    ///
    /// As [`UnixListener::bind`](super::UnixListener::bind).
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let path = path.as_ref();
        let addr = super::address(path)?;
        let socket = std::os::unix::net::UnixDatagram::bind_addr(&addr)
            .map_err(|e| super::with_path(e, "binding Unix socket", path))?;
        UnixDatagram::from_std(socket)
    }

    /// A socket bound to no address (it can send, and receive replies only
    /// through `connect`ed peers or a `pair`).
    ///
    /// # Errors
    ///
    /// The kernel's, or if called outside a weft runtime.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std::os::unix::net::UnixDatagram::unbound()?)
    }

    /// Two connected sockets (`socketpair`).
    ///
    /// # Errors
    ///
    /// The kernel's, or if called outside a weft runtime.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a)?, UnixDatagram::from_std(b)?))
    }

    /// Wraps a socket from `std`, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// If called outside a weft runtime, or registration fails.
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        Ok(UnixDatagram {
            io: crate::scheduler::context::register(socket)?,
        })
    }

    /// Turns the socket back into a `std` one (still non-blocking).
    ///
    /// # Errors
    ///
    /// If the descriptor cannot be duplicated.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        self.io.into_std()
    }

    /// Sets the default peer (for `send`/`recv`) to the socket at `path`.
    ///
    /// # Errors
    ///
    /// `NotFound`, `ConnectionRefused`, ... naming the path.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref();
        let addr = super::address(path)?;
        self.io
            .get_ref()
            .connect_addr(&addr)
            .map_err(|e| super::with_path(e, "connecting to Unix socket", path))
    }

    /// Sends `buf` as one datagram to the socket at `path`.
    ///
    /// # Errors
    ///
    /// `NotFound`, `ConnectionRefused`, ... naming the path.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        let addr = super::rustix_address(path)?;
        std::future::poll_fn(|cx| {
            self.io
                .poll_io(cx, Direction::Write, |s| send_to(s, buf, &addr, path))
        })
        .await
    }

    /// Polls for [`send_to`](Self::send_to): sends if the socket is ready,
    /// otherwise registers the task's waker and returns `Pending`.
    ///
    /// # Errors
    ///
    /// As [`send_to`](Self::send_to).
    pub fn poll_send_to<P: AsRef<Path>>(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: P,
    ) -> Poll<io::Result<usize>> {
        let path = target.as_ref();
        let addr = super::rustix_address(path)?;
        self.io
            .poll_io(cx, Direction::Write, |s| send_to(s, buf, &addr, path))
    }

    /// [`send_to`](Self::send_to) without waiting (`WouldBlock` if the
    /// queue is full).
    ///
    /// # Errors
    ///
    /// As [`send_to`](Self::send_to).
    pub fn try_send_to<P: AsRef<Path>>(&self, buf: &[u8], target: P) -> io::Result<usize> {
        let path = target.as_ref();
        let addr = super::rustix_address(path)?;
        self.io
            .try_io(Direction::Write, |s| send_to(s, buf, &addr, path))
    }

    /// Receives one datagram and the sender's address (unnamed for an
    /// unbound sender or a `pair`). As with [`recv`](Self::recv), a
    /// datagram longer than `buf` is an `InvalidData` error giving both
    /// sizes.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// Polls for [`recv_from`](Self::recv_from) (a slice instead of tokio's
    /// `ReadBuf`, and the length returned with the address).
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_recv(cx, |s| recv_from(s, buf))
    }

    /// [`recv_from`](Self::recv_from) without waiting (`WouldBlock` if
    /// nothing is queued).
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Direction::Read, |s| recv_from(s, buf))
    }

    /// Receives one datagram and the sender's address into a
    /// [`bytes::BufMut`], as [`recv_buf`](Self::recv_buf).
    pub async fn recv_buf_from<B: bytes::BufMut>(
        &self,
        buf: &mut B,
    ) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = crate::net::buf::recv_buf(&self.io, buf, Recv::DatagramFrom).await?;
        Ok((n, super::std_address(from)?))
    }

    /// [`recv_buf_from`](Self::recv_buf_from) without waiting.
    pub fn try_recv_buf_from<B: bytes::BufMut>(
        &self,
        buf: &mut B,
    ) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = crate::net::buf::try_recv_buf(&self.io, buf, Recv::DatagramFrom)?;
        Ok((n, super::std_address(from)?))
    }

    crate::net::datagram::datagram_methods!(
        "```
use weft::net::UnixDatagram;

#[weft::main(flavor = \"current_thread\")]
async fn main() -> std::io::Result<()> {
    let (a, b) = UnixDatagram::pair()?;
    a.send(b\"one\").await?;
    let mut buf = Vec::with_capacity(64);
    assert_eq!(b.recv_buf(&mut buf).await?, 3);
    assert_eq!(buf, b\"one\");
    Ok(())
}
```"
    );

    /// This socket's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The connected peer's credentials.
    pub fn peer_cred(&self) -> io::Result<super::UCred> {
        super::peer_cred(self.io.get_ref())
    }

    /// Shuts reading, writing or both down.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// The pending socket error, if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

/// One `sendto(2)`; an error other than `WouldBlock` names the path.
fn send_to(
    s: &std::os::unix::net::UnixDatagram,
    buf: &[u8],
    addr: &rustix::net::SocketAddrUnix,
    path: &Path,
) -> io::Result<usize> {
    rustix::net::sendto(s, buf, SendFlags::NOSIGNAL, addr).map_err(|e| {
        let e = io::Error::from(e);
        if e.kind() == io::ErrorKind::WouldBlock {
            e
        } else {
            super::with_path(e, "sending to Unix socket", path)
        }
    })
}

/// One datagram with its sender, truncation reported.
fn recv_from(
    s: &std::os::unix::net::UnixDatagram,
    buf: &mut [u8],
) -> io::Result<(usize, SocketAddr)> {
    let (n, from) = datagram::recv_from(s, buf, RecvFlags::empty())?;
    Ok((n, super::std_address(from)?))
}

crate::net::fd_impls!(UnixDatagram);

crate::net::try_from_std!(UnixDatagram, std::os::unix::net::UnixDatagram);
