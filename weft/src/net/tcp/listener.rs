//! `TcpListener`.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Mutex;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use rustix::net::SocketFlags;
use socket2::{Domain, Socket, Type};

use super::exhaustion::{self, AcceptError};
use super::TcpStream;
use crate::driver::io::Direction;
use crate::net::addr::{each_addr, ToSocketAddrs};
use crate::net::evented::Evented;
use crate::time::Sleep;

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
/// A warning goes to stderr at most every 10 s. See the `exhaustion` module
/// docs in the source for the details.
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
    single_accept: AtomicBool,
    /// Set while `backoff` holds a pending timer (checked without the lock).
    backing_off: AtomicBool,
    /// Set when a back-off started, until an accept succeeds.
    backed_off: AtomicBool,
    backoff: Mutex<Backoff>,
}

/// The back-off after an accept that could not get a descriptor or memory.
#[derive(Default)]
struct Backoff {
    timer: Option<Pin<Box<Sleep>>>,
    /// The last delay; `None` once an accept succeeds again.
    delay: Option<Duration>,
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
        exhaustion::reserve();
        Ok(TcpListener {
            io: Evented::new(listener)?,
            single_accept: AtomicBool::new(false),
            backing_off: AtomicBool::new(false),
            backed_off: AtomicBool::new(false),
            backoff: Mutex::default(),
        })
    }

    /// Turns the listener back into a `std` one (still non-blocking), no
    /// longer registered with the runtime.
    ///
    /// # Errors
    ///
    /// If the descriptor cannot be duplicated (out of descriptors).
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        self.io.into_std()
    }

    /// Takes one connection per driver turn (`true`) instead of draining the
    /// listen queue (the default), as libuv's `UV_TCP_SINGLE_ACCEPT`: when
    /// several processes accept on one socket (pre-fork, or `SO_REUSEPORT`
    /// siblings), each takes its share instead of the first awake taking
    /// all. Connections left queued are reported again at the next turn.
    pub fn set_single_accept(&self, single: bool) {
        self.single_accept.store(single, Relaxed);
    }

    /// Whether the listener takes one connection per driver turn.
    pub fn single_accept(&self) -> bool {
        self.single_accept.load(Relaxed)
    }

    /// Waits for a connection and returns it with the peer's address. The
    /// new stream is non-blocking, close-on-exec and registered.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection; see [`accept`](Self::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        if self.backing_off.load(Relaxed) {
            ready!(self.poll_backoff(cx));
        }
        let single = self.single_accept.load(Relaxed);
        let registration = self.io.registration();
        let listener = self.io.get_ref();
        let accepted = ready!(registration.poll_op(
            cx,
            Direction::Read,
            || loop {
                let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
                let error: io::Error = match rustix::net::acceptfrom_with(listener, flags) {
                    Ok(accepted) => return Ok(accepted),
                    Err(e) => e.into(),
                };
                match exhaustion::classify(error.raw_os_error()) {
                    AcceptError::Retry => continue,
                    AcceptError::OutOfFds => {
                        let Some(closed) = exhaustion::shed(listener) else {
                            return Err(error);
                        };
                        exhaustion::warn(
                            listener.local_addr().ok(),
                            &format!(
                                "{error}; closed {closed} queued connection(s) with the spare \
                                 descriptor so that no client hangs"
                            ),
                        );
                        // The queue is empty now: wait for the next one.
                        return Err(io::ErrorKind::WouldBlock.into());
                    }
                    AcceptError::OutOfMemory | AcceptError::Fatal => return Err(error),
                }
            },
            // Single-accept: this turn's share is taken.
            |_| single,
        ));
        let (fd, addr) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                return match exhaustion::classify(error.raw_os_error()) {
                    AcceptError::OutOfFds | AcceptError::OutOfMemory => {
                        exhaustion::warn(
                            listener.local_addr().ok(),
                            &format!("{error}; nothing can be accepted now, backing off"),
                        );
                        self.start_backoff(cx)
                    }
                    _ => Poll::Ready(Err(error)),
                };
            }
        };
        if single {
            // Queued connections come back at the next turn.
            registration.rearm(listener)?;
        }
        if self.backed_off.swap(false, Relaxed) {
            // Exhaustion is over: the next back-off starts short.
            self.lock_backoff().delay = None;
        }
        let stream = std::net::TcpStream::from(fd);
        let addr = match addr.map(SocketAddr::try_from) {
            Some(Ok(addr)) => addr,
            _ => stream.peer_addr()?,
        };
        Poll::Ready(Ok((TcpStream::from_connected(stream)?, addr)))
    }

    fn lock_backoff(&self) -> std::sync::MutexGuard<'_, Backoff> {
        // No user code runs under this lock.
        self.backoff.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts (or lengthens) the back-off timer; `Pending` until it fires.
    fn start_backoff<T>(&self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let mut backoff = self.lock_backoff();
        let delay = exhaustion::next_backoff(backoff.delay);
        backoff.delay = Some(delay);
        backoff.timer = Some(Box::pin(crate::time::sleep(delay)));
        self.backing_off.store(true, Relaxed);
        self.backed_off.store(true, Relaxed);
        drop(backoff);
        // Registers the timer's waker; the next poll retries when it fires.
        match self.poll_backoff(cx) {
            Poll::Ready(()) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// `Ready` once the back-off timer has fired (or there is none).
    fn poll_backoff(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut backoff = self.lock_backoff();
        if let Some(timer) = backoff.timer.as_mut() {
            ready!(timer.as_mut().poll(cx));
            backoff.timer = None;
        }
        self.backing_off.store(false, Relaxed);
        Poll::Ready(())
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

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.get_ref().fmt(f)
    }
}
