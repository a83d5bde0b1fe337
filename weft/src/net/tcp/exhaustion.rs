//! What an accept does when the process (or system) runs out of file
//! descriptors or socket memory.
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

use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::net::SocketFlags;

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
    if is(Errno::CONNABORTED) || is(Errno::PROTO) || is(Errno::PERM) || is(Errno::INTR) {
        AcceptError::Retry
    } else if is(Errno::MFILE) || is(Errno::NFILE) {
        AcceptError::OutOfFds
    } else if is(Errno::NOBUFS) || is(Errno::NOMEM) {
        AcceptError::OutOfMemory
    } else {
        AcceptError::Fatal
    }
}

fn lock_spare() -> std::sync::MutexGuard<'static, Option<OwnedFd>> {
    SPARE.lock().unwrap_or_else(|e| e.into_inner())
}

fn open_spare() -> Option<OwnedFd> {
    use rustix::fs::{open, Mode, OFlags};
    open("/", OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).ok()
}

/// Makes sure the process holds its spare descriptor (called when a
/// listener is created, and after the spare was used).
pub(crate) fn reserve() {
    let mut spare = lock_spare();
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
    let mut spare = lock_spare();
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

/// Prints `message` about `addr` to stderr, unless a warning was printed in
/// the last 10 s.
pub(crate) fn warn(addr: Option<SocketAddr>, message: &str) {
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
