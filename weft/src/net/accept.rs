//! Accepting, shared by TCP and Unix listeners: draining or single-accept,
//! transient errors, and what happens when the process (or system) runs out
//! of file descriptors or socket memory.
//!
//! weft uses libuv's reserve-fd trick, with a bounded back-off behind it:
//!
//! * The process keeps one spare descriptor open (`/`, `O_PATH`), taken when
//!   the first listener is created. On `EMFILE`/`ENFILE` the listener closes
//!   the spare, accepts every queued connection and closes each at once (the
//!   client sees the connection closed promptly instead of hanging in the
//!   backlog until its own timeout), then takes the spare back. The listen
//!   queue is then empty, so the listener waits for the next connection: no
//!   spin, and the listening socket is untouched.
//! * If the spare is gone (another thread took the freed descriptor) or the
//!   error is `ENOBUFS`/`ENOMEM`, nothing can be accepted now: the listener
//!   backs off on a timer (10 ms doubling to 1 s) before trying again, so
//!   the loop does not spin while the condition lasts.
//!
//! Either way `accept` keeps waiting rather than returning the error: a
//! server's `listener.accept().await?` must not exit because the process
//! was briefly out of descriptors. A warning goes to stderr at most once
//! every 10 s per process.

use std::future::Future;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Mutex;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::net::SocketFlags;

use crate::driver::io::evented::Evented;
use crate::driver::io::{Direction, Ready, RingAccepted};
use crate::sys::lock::lock;
use crate::time::Sleep;

/// The spare descriptor; `None` while it is released or could not be had.
static SPARE: Mutex<Option<OwnedFd>> = Mutex::new(None);

/// What an accept error means for the listener.
pub(crate) enum AcceptError {
    /// The connection died before it was accepted, or a firewall refused it
    /// (ECONNABORTED, EPROTO, EPERM, EINTR): try the next one at once.
    Retry,
    /// Out of descriptors: use the spare to shed the queue.
    OutOfFds,
    /// Out of memory for sockets (ENOBUFS, ENOMEM): back off.
    OutOfMemory,
    /// Anything else goes to the caller.
    Fatal,
}

pub(crate) fn classify(errno: Option<i32>) -> AcceptError {
    let is = |e: Errno| errno == Some(e.raw_os_error());
    // accept(2): network errors already pending on the new socket are to be
    // treated like EAGAIN by retrying.
    let network = [
        Errno::NETDOWN,
        Errno::NOPROTOOPT,
        Errno::HOSTDOWN,
        Errno::NONET,
        Errno::HOSTUNREACH,
        Errno::OPNOTSUPP,
        Errno::NETUNREACH,
    ];
    if is(Errno::CONNABORTED)
        || is(Errno::PROTO)
        || is(Errno::PERM)
        || is(Errno::INTR)
        || network.into_iter().any(is)
    {
        AcceptError::Retry
    } else if is(Errno::MFILE) || is(Errno::NFILE) {
        AcceptError::OutOfFds
    } else if is(Errno::NOBUFS) || is(Errno::NOMEM) {
        AcceptError::OutOfMemory
    } else {
        AcceptError::Fatal
    }
}

fn open_spare() -> Option<OwnedFd> {
    use rustix::fs::{open, Mode, OFlags};
    open("/", OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).ok()
}

/// Makes sure the process holds its spare descriptor (called when a
/// listener is created, and after the spare was used).
pub(crate) fn reserve() {
    let mut spare = lock(&SPARE);
    if spare.is_none() {
        *spare = open_spare();
    }
}

/// Sheds the listen queue of `listener` with the spare descriptor: accepts
/// and closes every queued connection until the queue is empty. Returns how
/// many were closed, or `None` if there was no spare or the queue could not
/// be emptied (another thread took the freed descriptor).
///
/// Note that Linux reports `EMFILE` before it looks at the queue, so this
/// also runs when nothing is queued; it then closes nothing and the caller
/// waits for the next connection as after `EAGAIN`.
pub(crate) fn shed(listener: impl AsFd) -> Option<usize> {
    let mut spare = lock(&SPARE);
    drop(spare.take()?);
    let mut closed = 0;
    let emptied = loop {
        match rustix::net::accept_with(&listener, SocketFlags::CLOEXEC) {
            Ok(conn) => {
                drop(conn);
                closed += 1;
            }
            Err(Errno::CONNABORTED | Errno::PROTO | Errno::PERM | Errno::INTR) => continue,
            Err(Errno::AGAIN) => break true,
            // EMFILE again: another thread took the freed descriptor.
            Err(_) => break false,
        }
    };
    *spare = open_spare();
    emptied.then_some(closed)
}

/// Next back-off delay after `previous`.
pub(crate) fn next_backoff(previous: Option<Duration>) -> Duration {
    match previous {
        None => Duration::from_millis(10),
        Some(d) => (d * 2).min(Duration::from_secs(1)),
    }
}

/// Seconds (since an arbitrary start) of the last warning; 0 = never.
static LAST_WARNING: AtomicU64 = AtomicU64::new(0);

/// Prints `message` about the listener at `addr` to stderr, unless a warning
/// was printed in the last 10 s.
pub(crate) fn warn(addr: Option<String>, message: &str) {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let now = START.get_or_init(Instant::now).elapsed().as_secs() + 1;
    let last = LAST_WARNING.load(Relaxed);
    if last != 0 && now < last + 10 {
        return;
    }
    if LAST_WARNING
        .compare_exchange(last, now, Relaxed, Relaxed)
        .is_ok()
    {
        let at = addr.map_or_else(String::new, |a| format!(" on {a}"));
        eprintln!("weft: accept{at}: {message} (this warning repeats at most every 10 s)");
    }
}

/// A listener's accept state: single-accept flag and back-off.
#[derive(Default)]
pub(crate) struct Acceptor {
    single: AtomicBool,
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

impl Acceptor {
    pub(crate) fn set_single(&self, single: bool) {
        self.single.store(single, Relaxed);
    }

    pub(crate) fn single(&self) -> bool {
        self.single.load(Relaxed)
    }

    /// Polls for one connection on `io` with `accept` (non-blocking,
    /// close-on-exec), handling transient errors and exhaustion as the
    /// module docs say. `addr` names the listener in warnings. A listener
    /// accepting through an io_uring ring takes the ring's connections
    /// (made `T` by `from_ring`) and calls `accept` only where one may be
    /// queued (`uring/accept.rs`); errors are handled the same.
    pub(crate) fn poll_accept<L: AsFd, T>(
        &self,
        io: &Evented<L>,
        cx: &mut Context<'_>,
        mut accept: impl FnMut(&L) -> rustix::io::Result<T>,
        from_ring: impl Fn(RingAccepted) -> T,
        addr: impl Fn(&L) -> Option<String>,
    ) -> Poll<io::Result<T>> {
        if self.backing_off.load(Relaxed) {
            ready!(self.poll_backoff(cx));
        }
        let single = self.single.load(Relaxed);
        let registration = io.registration();
        let listener = io.get_ref();
        let ring = registration.accept();
        let op = || loop {
            let attempt = match ring {
                Some(state) => state.take(single, || accept(listener), &from_ring),
                None => accept(listener),
            };
            let error: io::Error = match attempt {
                Ok(accepted) => return Ok(accepted),
                Err(e) => e.into(),
            };
            match classify(error.raw_os_error()) {
                AcceptError::Retry => continue,
                AcceptError::OutOfFds => {
                    let Some(closed) = shed(listener) else {
                        return Err(error);
                    };
                    warn(
                        addr(listener),
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
        };
        let accepted = match ring {
            // An accept request armed while none waits (`uring/accept.rs`).
            Some(state) => ready!(registration
                .poll_armed(cx, Ready::READ_INTEREST, op, || registration
                    .arm_accept(state))),
            // Single-accept: this turn's share is taken.
            None => ready!(registration.poll_op(cx, Direction::Read, op, |_| single)),
        };
        let accepted = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                return match classify(error.raw_os_error()) {
                    AcceptError::OutOfFds | AcceptError::OutOfMemory => {
                        warn(
                            addr(listener),
                            &format!("{error}; nothing can be accepted now, backing off"),
                        );
                        self.start_backoff(cx)
                    }
                    _ => Poll::Ready(Err(error)),
                };
            }
        };
        if single && ring.is_none() {
            // Queued connections come back at the next turn (through the
            // ring, the next accept request takes the next one, at a later
            // turn: nothing to re-arm). A failed re-arm
            // (out of kernel memory) only delays them until the next
            // connection arrives; the accepted one is not dropped for it.
            let _ = registration.rearm(listener);
        }
        if self.backed_off.swap(false, Relaxed) {
            // Exhaustion is over: the next back-off starts short, and the
            // spare descriptor, if it was lost, is taken again.
            lock(&self.backoff).delay = None;
            reserve();
        }
        Poll::Ready(Ok(accepted))
    }

    /// Starts (or lengthens) the back-off timer; `Pending` until it fires.
    fn start_backoff<T>(&self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let mut backoff = lock(&self.backoff);
        let delay = next_backoff(backoff.delay);
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
        let mut backoff = lock(&self.backoff);
        if let Some(timer) = backoff.timer.as_mut() {
            ready!(timer.as_mut().poll(cx));
            backoff.timer = None;
            // Try to hold a spare again before the next attempt, so that it
            // can shed the queue instead of backing off once more.
            reserve();
        }
        self.backing_off.store(false, Relaxed);
        Poll::Ready(())
    }
}

/// The flags every accepted socket gets.
pub(crate) const ACCEPT_FLAGS: SocketFlags = SocketFlags::NONBLOCK.union(SocketFlags::CLOEXEC);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_sorted_into_retry_shed_backoff_and_fatal() {
        let kind = |e: Errno| classify(Some(e.raw_os_error()));
        for e in [Errno::CONNABORTED, Errno::PROTO, Errno::PERM, Errno::INTR] {
            assert!(matches!(kind(e), AcceptError::Retry), "{e:?}");
        }
        for e in [Errno::MFILE, Errno::NFILE] {
            assert!(matches!(kind(e), AcceptError::OutOfFds), "{e:?}");
        }
        for e in [Errno::NOBUFS, Errno::NOMEM] {
            assert!(matches!(kind(e), AcceptError::OutOfMemory), "{e:?}");
        }
        assert!(matches!(kind(Errno::BADF), AcceptError::Fatal));
        assert!(matches!(classify(None), AcceptError::Fatal));
    }

    #[test]
    fn back_off_doubles_up_to_a_second() {
        let mut delay = None;
        let mut seen = Vec::new();
        for _ in 0..10 {
            let next = next_backoff(delay);
            seen.push(next.as_millis());
            delay = Some(next);
        }
        assert_eq!(seen, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
    }

    #[test]
    fn shedding_closes_queued_connections_and_keeps_the_spare() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        reserve();
        let clients: Vec<_> = (0..3)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        // Other tests in this process may hold the spare at this moment.
        if let Some(mut closed) = shed(&listener) {
            // connect() returns once the client side is established; the
            // server side may queue the connection a moment later on a
            // loaded machine: shed again until all 3 were seen.
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while closed < 3 && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
                closed += shed(&listener).unwrap_or(0);
            }
            assert_eq!(closed, 3);
            for mut client in clients {
                use std::io::Read;
                let mut buf = [0u8; 1];
                assert!(matches!(client.read(&mut buf), Ok(0) | Err(_)));
            }
            assert!(lock(&SPARE).is_some(), "the spare is taken back");
        }
    }
}
