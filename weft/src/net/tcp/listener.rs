//! `TcpListener`.

use std::io;
use std::net::SocketAddr;
use std::task::{ready, Context, Poll};

use socket2::{Domain, Socket, Type};

use super::TcpStream;
use crate::driver::io::evented::Evented;
use crate::net::accept::{self, Acceptor};
use crate::net::addr::{each_addr, ToSocketAddrs};

/// Backlog of pending connections, as tokio and std's defaults.
const BACKLOG: i32 = 1024;

/// A TCP socket listening for connections.
///
/// Accepting drains the kernel's listen queue: while connections are queued,
/// each `accept` is one `accept4` call with no `epoll_wait` in between; only
/// when the queue is empty (`EAGAIN`) does the listener wait for readiness.
/// [`set_single_accept`](Self::set_single_accept) takes one per turn instead.
///
/// `accept` survives a bad day without spinning or returning early:
/// connections that died in the queue (`ECONNABORTED`, `EPROTO`) or that a
/// firewall refused (`EPERM`) are skipped; when the process runs out of file
/// descriptors, the queued connections are accepted and closed at once with
/// a reserved spare descriptor, so their clients see a prompt close rather
/// than hang, and the listener waits for the next one; when no descriptor
/// or socket memory can be had at all it backs off (10 ms doubling to 1 s).
/// A warning goes to stderr at most every 10 s.
///
/// Several tasks may accept on one listener (through an `Arc`, as with
/// tokio): every waiting task is woken when connections arrive, and each
/// gets its own. For acceptors on several threads without a shared queue,
/// give each its own `SO_REUSEPORT` listener (see
/// [`TcpSocket`](crate::net::TcpSocket)). See `net/accept.rs` for the
/// details.
///
/// ```
/// use weft::net::TcpListener;
///
/// #[weft::main]
/// async fn main() -> std::io::Result<()> {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     println!("listening on {}", listener.local_addr()?);
///     Ok(())
/// }
/// ```
pub struct TcpListener {
    io: Evented<std::net::TcpListener>,
    acceptor: Acceptor,
}

impl TcpListener {
    /// Binds to `addr` and listens (with `SO_REUSEADDR`, backlog 1024). With
    /// several addresses, the first that binds wins.
    ///
    /// # Errors
    ///
    /// Addresses that are not literal IPs (see
    /// [`ToSocketAddrs`](crate::net::ToSocketAddrs)), or the kernel's error
    /// (`AddrInUse`, `PermissionDenied`, ...) for the last address tried.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(addr, |addr| async move { TcpListener::bind_addr(addr) }).await
    }

    fn bind_addr(addr: SocketAddr) -> io::Result<TcpListener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM.nonblocking(), None)?;
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(BACKLOG)?;
        TcpListener::from_std(socket.into())
    }

    /// Wraps a listener from `std`, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// If called outside a weft runtime, or registration fails.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        // Hold the spare descriptor before the day it is needed.
        accept::reserve();
        Ok(TcpListener {
            io: crate::scheduler::context::register_listener(listener)?,
            acceptor: Acceptor::default(),
        })
    }

    /// Turns the listener back into a `std` one (still non-blocking), no
    /// longer registered with the runtime.
    ///
    /// # Errors
    ///
    /// On the io_uring driver, where a connection accepted through the
    /// ring for an `accept` dropped before it returned (a `select!` or
    /// timeout) waits in the listener, or such an accept is still in
    /// flight: leaving would close it. Accept it first (an accept request
    /// in flight cannot be called back: the next connection it brings must
    /// be accepted; see [`IoDriver::Uring`](crate::runtime::IoDriver::Uring)).
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        self.io.into_std()
    }

    /// Takes one connection per driver turn (`true`) instead of draining the
    /// listen queue (the default), as libuv's `UV_TCP_SINGLE_ACCEPT`: when
    /// several processes accept on one socket (pre-fork, or `SO_REUSEPORT`
    /// siblings), each takes its share instead of the first awake taking
    /// all. Connections left queued are reported again at the next turn.
    pub fn set_single_accept(&self, single: bool) {
        self.acceptor.set_single(single);
    }

    /// Whether the listener takes one connection per driver turn.
    pub fn single_accept(&self) -> bool {
        self.acceptor.single()
    }

    /// Waits for a connection and returns it with the peer's address. The
    /// new stream is non-blocking, close-on-exec and registered.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection; see [`accept`](Self::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (fd, addr) = ready!(self.acceptor.poll_accept(
            &self.io,
            cx,
            |listener| rustix::net::acceptfrom_with(listener, accept::ACCEPT_FLAGS),
            |(fd, addr)| (fd, addr.map(rustix::net::SocketAddrAny::from)),
            |listener| listener.local_addr().ok().map(|a| a.to_string()),
        ))?;
        let stream = std::net::TcpStream::from(fd);
        let addr = match addr.map(SocketAddr::try_from) {
            Some(Ok(addr)) => addr,
            _ => stream.peer_addr()?,
        };
        Poll::Ready(Ok((TcpStream::from_connected(stream)?, addr)))
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The IP time-to-live of accepted connections' packets.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets the IP time-to-live.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }
}

crate::net::fd_impls!(TcpListener);

crate::net::try_from_std!(TcpListener, std::net::TcpListener);
