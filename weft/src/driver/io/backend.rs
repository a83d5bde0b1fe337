//! The seam between the I/O driver and the kernel: what a backend does.
//!
//! The driver above this line (the readiness slab, registrations, wakers,
//! `Evented`, and everything built on them: sockets, pipes, signals, child
//! handles, the schedulers' parking) is the same whatever the backend. A
//! backend only registers descriptors under a token, blocks for events and
//! reports each as `(token, Ready)`, and lets another thread end that
//! block. [`Epoll`](super::epoll::Epoll) is the one backend today; a second
//! (io_uring) implements this trait and the driver picks one when it is
//! built.

use std::io;
use std::os::fd::BorrowedFd;
use std::time::Duration;

use super::ready::Ready;

/// A readiness backend. Every method but [`wait`](Backend::wait) may be
/// called from any thread; `wait` only from the one thread that drives the
/// loop at a time.
pub(crate) trait Backend: Send + Sync + Sized {
    /// The buffer `wait` fills, owned by the driving thread.
    type Events: Send;

    /// A new instance (one per runtime).
    fn new() -> io::Result<Self>;

    /// An event buffer fetching up to `capacity` (at least 1) events per
    /// `wait`.
    fn events(capacity: usize) -> Self::Events;

    /// Starts reporting `fd`'s readiness under `token`: read and write
    /// interest together, edge-triggered (each change reported once; the
    /// slab remembers it).
    fn register(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()>;

    /// Re-arms `fd`: if it is still ready, that is reported again at the
    /// next `wait` (a single-accept listener leaves connections queued).
    fn rearm(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()>;

    /// Stops reporting `fd`. Called before the descriptor is closed.
    fn deregister(&self, fd: BorrowedFd<'_>);

    /// Ends the current or the next `wait` early. Cheap when called many
    /// times before that `wait` returns.
    fn wake(&self);

    /// Blocks until events come, `timeout` passes (`None`: no limit) or
    /// [`wake`](Backend::wake) is called, and fills `events`. Returns how
    /// many registered descriptors became ready and whether a `wake` ended
    /// it (a signal interrupting it is no error: nothing is ready then).
    /// Everything a thread did before its `wake` happens-before the return.
    fn wait(
        &self,
        events: &mut Self::Events,
        timeout: Option<Duration>,
    ) -> io::Result<(usize, bool)>;

    /// The driver is gone: let go of every descriptor still registered
    /// (their owners may outlive the driver). Nothing by default: epoll
    /// holds no file.
    fn shutdown(&self) {}

    /// The readiness `wait` put in `events`, as `(token, ready)`.
    fn ready_events(events: &Self::Events) -> impl Iterator<Item = (u64, Ready)> + '_;
}
