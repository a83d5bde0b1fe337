//! The blocking-style sockets of [`weft::coro::net`](super::net).

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};

use crate::net::ToSocketAddrs;

/// Runs `op` to completion from the running coroutine (an `Unsupported`
/// error outside one), bounded by `timeout` when set: past it, a `TimedOut`
/// error naming `what` and the limit, as std's socket timeouts give.
fn wait<R>(
    what: &str,
    timeout: Option<Duration>,
    op: impl Future<Output = io::Result<R>>,
) -> io::Result<R> {
    let Some(running) = super::running() else {
        return Err(super::not_in_coroutine(what));
    };
    match timeout {
        None => super::block_on_weft(running, op),
        Some(limit) => match super::block_on_weft(running, crate::time::timeout(limit, op)) {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{what} timed out after {limit:?}"),
            )),
        },
    }
}

/// std's rule for socket timeouts: `Some(0)` is an error.
fn check_timeout(timeout: Option<Duration>) -> io::Result<Option<Duration>> {
    if timeout == Some(Duration::ZERO) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot set a 0 duration timeout",
        ));
    }
    Ok(timeout)
}

/// Timeouts, `Read`/`Write` (on the type and on a shared reference, as std
/// has), and conversions for a blocking-style byte stream wrapping
/// `$inner` in a field `inner`.
macro_rules! coro_stream {
    ($t:ident, $inner:ty, $name:literal) => {
        impl $t {
            /// Wraps an async stream (created anywhere on this runtime) for
            /// blocking-style use.
            pub fn from_async(inner: $inner) -> $t {
                $t {
                    inner,
                    read_timeout: Cell::new(None),
                    write_timeout: Cell::new(None),
                }
            }

            /// The async stream inside.
            pub fn into_async(self) -> $inner {
                self.inner
            }

            /// The async stream inside, by reference.
            pub fn as_async(&self) -> &$inner {
                &self.inner
            }

            /// Bounds every later read: one that waits longer fails with
            /// `TimedOut` (the stream stays usable). `None` waits forever;
            /// `Some(Duration::ZERO)` is an `InvalidInput` error, as std's.
            /// Unlike std's, the error kind is always `TimedOut` (std on
            /// Unix reports `WouldBlock`), and the timeout belongs to this
            /// handle (`try_clone` copies it; later changes are not shared).
            pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
                self.read_timeout.set(check_timeout(timeout)?);
                Ok(())
            }

            /// The read timeout.
            pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
                Ok(self.read_timeout.get())
            }

            /// Bounds every later write, as
            /// [`set_read_timeout`](Self::set_read_timeout) does reads.
            pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
                self.write_timeout.set(check_timeout(timeout)?);
                Ok(())
            }

            /// The write timeout.
            pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
                Ok(self.write_timeout.get())
            }

            /// Shuts down the read side, the write side, or both (after
            /// `Shutdown::Write` the peer reads end of stream).
            pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
                self.inner.shutdown(how)
            }

            fn read_inner(&self, buf: &mut [u8]) -> io::Result<usize> {
                let mut inner = &self.inner;
                wait(
                    concat!($name, " read"),
                    self.read_timeout.get(),
                    poll_fn(|cx| Pin::new(&mut inner).poll_read(cx, buf)),
                )
            }

            fn read_vectored_inner(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
                let mut inner = &self.inner;
                wait(
                    concat!($name, " read"),
                    self.read_timeout.get(),
                    poll_fn(|cx| Pin::new(&mut inner).poll_read_vectored(cx, bufs)),
                )
            }

            fn write_inner(&self, buf: &[u8]) -> io::Result<usize> {
                let mut inner = &self.inner;
                wait(
                    concat!($name, " write"),
                    self.write_timeout.get(),
                    poll_fn(|cx| Pin::new(&mut inner).poll_write(cx, buf)),
                )
            }

            fn write_vectored_inner(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
                let mut inner = &self.inner;
                wait(
                    concat!($name, " write"),
                    self.write_timeout.get(),
                    poll_fn(|cx| Pin::new(&mut inner).poll_write_vectored(cx, bufs)),
                )
            }
        }

        impl io::Read for $t {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.read_inner(buf)
            }

            fn read_vectored(&mut self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
                self.read_vectored_inner(bufs)
            }
        }

        impl io::Read for &$t {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.read_inner(buf)
            }

            fn read_vectored(&mut self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
                self.read_vectored_inner(bufs)
            }
        }

        impl io::Write for $t {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.write_inner(buf)
            }

            fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
                self.write_vectored_inner(bufs)
            }

            /// Writes go straight to the kernel: nothing to flush.
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }

        impl io::Write for &$t {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.write_inner(buf)
            }

            fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
                self.write_vectored_inner(bufs)
            }

            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }

        impl std::os::fd::AsFd for $t {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.inner.as_fd()
            }
        }

        impl std::os::fd::AsRawFd for $t {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(&self.inner)
            }
        }
    };
}

/// A TCP stream for blocking-style code in a coroutine: `std::io::Read` and
/// `Write` (also on `&TcpStream`, so one stream can be read and written
/// through two references, e.g. `std::io::copy(&mut &s, &mut &s)`).
///
/// ```
/// use std::io::{Read, Write};
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() {
///     let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let echo = weft::coro::spawn(move || {
///         let listener = weft::coro::net::TcpListener::from_async(listener);
///         let (stream, _) = listener.accept().unwrap();
///         std::io::copy(&mut &stream, &mut &stream).unwrap()
///     });
///     let client = weft::coro::spawn(move || {
///         let mut stream = weft::coro::net::TcpStream::connect(addr).unwrap();
///         stream.write_all(b"ping").unwrap();
///         stream.shutdown(std::net::Shutdown::Write).unwrap();
///         let mut back = String::new();
///         stream.read_to_string(&mut back).unwrap();
///         back
///     });
///     assert_eq!(client.await.unwrap(), "ping");
///     assert_eq!(echo.await.unwrap(), 4);
/// }
/// ```
#[derive(Debug)]
pub struct TcpStream {
    inner: crate::net::TcpStream,
    read_timeout: Cell<Option<Duration>>,
    write_timeout: Cell<Option<Duration>>,
}

coro_stream!(
    TcpStream,
    crate::net::TcpStream,
    "weft::coro::net::TcpStream"
);

impl TcpStream {
    /// Connects to `addr` (names are resolved on the blocking pool).
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        wait(
            "weft::coro::net::TcpStream::connect",
            None,
            crate::net::TcpStream::connect(addr),
        )
        .map(TcpStream::from_async)
    }

    /// Connects to `addr`, giving up with `TimedOut` after `timeout`.
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        wait(
            "weft::coro::net::TcpStream::connect",
            check_timeout(Some(timeout))?,
            crate::net::TcpStream::connect(*addr),
        )
        .map(TcpStream::from_async)
    }

    /// A second handle to the same socket (a duplicated descriptor).
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        let fd = std::os::fd::AsFd::as_fd(&self.inner).try_clone_to_owned()?;
        let stream = crate::net::TcpStream::from_std(std::net::TcpStream::from(fd))?;
        let clone = TcpStream::from_async(stream);
        clone.read_timeout.set(self.read_timeout.get());
        clone.write_timeout.set(self.write_timeout.get());
        Ok(clone)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.nodelay()
    }

    /// Receives data without taking it off the queue.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        wait(
            "weft::coro::net::TcpStream read",
            self.read_timeout.get(),
            self.inner.peek(buf),
        )
    }
}

/// A Unix stream socket for blocking-style code in a coroutine; see
/// [`TcpStream`].
#[derive(Debug)]
pub struct UnixStream {
    inner: crate::net::UnixStream,
    read_timeout: Cell<Option<Duration>>,
    write_timeout: Cell<Option<Duration>>,
}

coro_stream!(
    UnixStream,
    crate::net::UnixStream,
    "weft::coro::net::UnixStream"
);

impl UnixStream {
    /// Connects to the socket at `path` (a leading NUL byte names a Linux
    /// abstract socket).
    pub fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        wait(
            "weft::coro::net::UnixStream::connect",
            None,
            crate::net::UnixStream::connect(path),
        )
        .map(UnixStream::from_async)
    }

    /// A connected pair (works outside a coroutine too: it does not wait).
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = crate::net::UnixStream::pair()?;
        Ok((UnixStream::from_async(a), UnixStream::from_async(b)))
    }

    /// The peer process's credentials.
    pub fn peer_cred(&self) -> io::Result<crate::net::unix::UCred> {
        self.inner.peer_cred()
    }
}

/// A TCP listener for blocking-style code in a coroutine.
#[derive(Debug)]
pub struct TcpListener {
    inner: crate::net::TcpListener,
}

impl TcpListener {
    /// Binds to `addr`.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        wait(
            "weft::coro::net::TcpListener::bind",
            None,
            crate::net::TcpListener::bind(addr),
        )
        .map(TcpListener::from_async)
    }

    /// Wraps an async listener for blocking-style use.
    pub fn from_async(inner: crate::net::TcpListener) -> TcpListener {
        TcpListener { inner }
    }

    /// The async listener inside.
    pub fn into_async(self) -> crate::net::TcpListener {
        self.inner
    }

    /// Waits for a connection, suspending the coroutine.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        wait(
            "weft::coro::net::TcpListener::accept",
            None,
            self.inner.accept(),
        )
        .map(|(stream, peer)| (TcpStream::from_async(stream), peer))
    }

    /// An endless iterator of accepted connections, as std's `incoming`.
    pub fn incoming(&self) -> impl Iterator<Item = io::Result<TcpStream>> + '_ {
        std::iter::repeat_with(|| self.accept().map(|(stream, _)| stream))
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A UDP socket for blocking-style code in a coroutine.
#[derive(Debug)]
pub struct UdpSocket {
    inner: crate::net::UdpSocket,
    read_timeout: Cell<Option<Duration>>,
    write_timeout: Cell<Option<Duration>>,
}

impl UdpSocket {
    /// Binds to `addr`.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        wait(
            "weft::coro::net::UdpSocket::bind",
            None,
            crate::net::UdpSocket::bind(addr),
        )
        .map(UdpSocket::from_async)
    }

    /// Wraps an async socket for blocking-style use.
    pub fn from_async(inner: crate::net::UdpSocket) -> UdpSocket {
        UdpSocket {
            inner,
            read_timeout: Cell::new(None),
            write_timeout: Cell::new(None),
        }
    }

    /// The async socket inside.
    pub fn into_async(self) -> crate::net::UdpSocket {
        self.inner
    }

    /// Sets the default peer for `send`/`recv`.
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        wait(
            "weft::coro::net::UdpSocket::connect",
            None,
            self.inner.connect(addr),
        )
    }

    /// Sends to the connected peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        wait(
            "weft::coro::net::UdpSocket send",
            self.write_timeout.get(),
            self.inner.send(buf),
        )
    }

    /// Receives from the connected peer.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        wait(
            "weft::coro::net::UdpSocket recv",
            self.read_timeout.get(),
            self.inner.recv(buf),
        )
    }

    /// Sends to `target`.
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        wait(
            "weft::coro::net::UdpSocket send",
            self.write_timeout.get(),
            self.inner.send_to(buf, target),
        )
    }

    /// Receives a datagram and its sender's address.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        wait(
            "weft::coro::net::UdpSocket recv",
            self.read_timeout.get(),
            self.inner.recv_from(buf),
        )
    }

    /// Bounds every later receive (`TimedOut` past it); `Some(0)` is an
    /// `InvalidInput` error, as std's.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.read_timeout.set(check_timeout(timeout)?);
        Ok(())
    }

    /// Bounds every later send.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.write_timeout.set(check_timeout(timeout)?);
        Ok(())
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }
}
