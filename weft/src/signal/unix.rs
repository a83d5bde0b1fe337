//! Unix signals: [`signal`], [`Signal`], [`SignalKind`].

use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::os::raw::c_int;
use std::task::{Context, Poll};

use super::registry::{self, Globals, MAX_SIGNAL};
use crate::driver::io::evented::Evented;

/// Which signal to listen for.
///
/// Converts to and from the signal's number (`std::os::raw::c_int`, as
/// tokio's public API spells it rather than `libc::c_int`):
///
/// ```
/// use std::os::raw::c_int;
/// use weft::signal::unix::SignalKind;
///
/// let kind = SignalKind::from(libc::SIGUSR1);
/// assert_eq!(kind, SignalKind::user_defined1());
/// assert_eq!(kind.as_raw_value(), libc::SIGUSR1);
/// let number: c_int = kind.into();
/// assert_eq!(number, libc::SIGUSR1);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(c_int);

impl SignalKind {
    /// A signal by number (for real-time signals and the rest). Any number
    /// is accepted here; [`signal`] rejects those that cannot be listened
    /// for, naming them.
    pub const fn from_raw(signal: c_int) -> SignalKind {
        SignalKind(signal)
    }

    /// The signal's number.
    pub const fn as_raw_value(&self) -> c_int {
        self.0
    }

    /// SIGINT: Ctrl-C.
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// SIGTERM: a polite request to exit.
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// SIGHUP: the terminal went away, or "reload configuration".
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// SIGQUIT: Ctrl-\.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// SIGUSR1.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// SIGUSR2.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// SIGCHLD: a child process changed state.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// SIGALRM.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// SIGPIPE.
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// SIGWINCH: the terminal was resized.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }

    /// SIGIO.
    pub const fn io() -> SignalKind {
        SignalKind(libc::SIGIO)
    }

    fn name(self) -> String {
        let known = [
            (libc::SIGHUP, "SIGHUP"),
            (libc::SIGINT, "SIGINT"),
            (libc::SIGQUIT, "SIGQUIT"),
            (libc::SIGILL, "SIGILL"),
            (libc::SIGTRAP, "SIGTRAP"),
            (libc::SIGABRT, "SIGABRT"),
            (libc::SIGBUS, "SIGBUS"),
            (libc::SIGFPE, "SIGFPE"),
            (libc::SIGKILL, "SIGKILL"),
            (libc::SIGUSR1, "SIGUSR1"),
            (libc::SIGSEGV, "SIGSEGV"),
            (libc::SIGUSR2, "SIGUSR2"),
            (libc::SIGPIPE, "SIGPIPE"),
            (libc::SIGALRM, "SIGALRM"),
            (libc::SIGTERM, "SIGTERM"),
            (libc::SIGCHLD, "SIGCHLD"),
            (libc::SIGCONT, "SIGCONT"),
            (libc::SIGSTOP, "SIGSTOP"),
            (libc::SIGTSTP, "SIGTSTP"),
            (libc::SIGWINCH, "SIGWINCH"),
            (libc::SIGIO, "SIGIO"),
        ];
        known.iter().find(|(n, _)| *n == self.0).map_or_else(
            || format!("signal {}", self.0),
            |(_, name)| (*name).to_owned(),
        )
    }
}

impl From<c_int> for SignalKind {
    fn from(signal: c_int) -> SignalKind {
        SignalKind::from_raw(signal)
    }
}

impl From<SignalKind> for c_int {
    fn from(kind: SignalKind) -> c_int {
        kind.as_raw_value()
    }
}

impl fmt::Debug for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A listener for one signal; see [`signal`].
pub struct Signal {
    kind: SignalKind,
    /// This listener's key in the slot's waiter list.
    id: u64,
    globals: &'static Globals,
    /// The generation of the last delivery this listener returned.
    seen: u64,
    /// This listener's duplicate of the self-pipe's read end, registered
    /// with its runtime's driver.
    pipe: Evented<File>,
}

/// Listens for `kind`. Deliveries from now on are seen by this listener;
/// several listeners for one signal each see every delivery. A delivery that
/// arrived while no listener for `kind` existed is kept for the next one
/// (this one, if it is the next), as tokio does.
///
/// # Errors
///
/// `InvalidInput` naming the signal for SIGKILL and SIGSTOP (which cannot
/// be caught), SIGSEGV, SIGBUS, SIGILL and SIGFPE (which a handler must not
/// return from), or a number outside 1..=64; the kernel's error if the
/// handler cannot be installed; and outside a weft runtime.
///
/// ```
/// use weft::signal::unix::{signal, SignalKind};
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let mut usr1 = signal(SignalKind::user_defined1())?;
///     rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::USR1)?;
///     usr1.recv().await;
///     Ok(())
/// }
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let forbidden = [
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
    ];
    if forbidden.contains(&kind.0) || kind.0 < 1 || kind.0 as usize > MAX_SIGNAL {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} cannot be listened for: it cannot be caught, or must not be",
                kind.name()
            ),
        ));
    }
    let globals = registry::globals()?;
    // The listener's registration first: if there is no runtime, nothing
    // about the process's signal handling has changed.
    let pipe = crate::scheduler::context::register(File::from(
        globals.read.as_fd().try_clone_to_owned()?,
    ))?;
    globals.install(kind.0)?;
    // A delivery that arrived while nobody listened is still pending: this
    // listener's first `recv` publishes it and returns.
    let seen = globals.add_listener(kind.0);
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    Ok(Signal {
        kind,
        id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        globals,
        seen,
        pipe,
    })
}

impl Signal {
    /// Waits for the next delivery: `Some(())`, or `None` once the
    /// listener's runtime has shut down (no delivery can come then).
    pub async fn recv(&mut self) -> Option<()> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        let mut buf = [0u8; 64];
        loop {
            // Register first, then look: a delivery published by another
            // listener after the look wakes this one.
            self.globals
                .register_waker(self.kind.0, self.id, cx.waker());
            self.globals.publish();
            let generation = self
                .globals
                .slot(self.kind.0)
                .generation
                .load(std::sync::atomic::Ordering::SeqCst);
            if generation != self.seen {
                self.seen = generation;
                return Poll::Ready(Some(()));
            }
            // Drain this listener's view of the pipe; Pending once empty
            // (readiness cleared, the driver wakes us on the next byte).
            match self.pipe.poll_read(cx, &mut buf) {
                Poll::Ready(Ok(_)) => continue,
                // The runtime shut down: no delivery will come (tokio's
                // stream ends the same way).
                Poll::Ready(Err(_)) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        self.globals.unregister(self.kind.0, self.id);
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal").field("kind", &self.kind).finish()
    }
}
