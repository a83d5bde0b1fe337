//! Which backend the I/O driver runs on: [`IoDriver`], the choice a runtime
//! is built with, and [`Selector`], the backend it got.
//!
//! `Auto` takes io_uring where the probe passes and epoll otherwise, saying
//! why once per process on stderr; `Uring` refuses to build without it.
//! Dispatch is a `match` per call (registration, wake), and one per driver
//! turn (`IoCore::turn`, which runs each backend's own code inside its
//! arm: a `match` per call there cost the epoll path 16 instructions per
//! message in `bench echo-instr`).

use std::io;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use super::backend::Backend;
use super::epoll::{self, Epoll};
use super::uring::accept::AcceptState;
use super::uring::recv::{Armed, RecvState};
use super::uring::rings::Rings;
use super::uring::{self, Uring};
use std::sync::Arc;

/// The I/O driver backend a runtime polls its sockets, pipes and other
/// descriptors with. Every public type behaves the same on each.
///
/// Chosen with [`Builder::io_driver`](crate::runtime::Builder::io_driver);
/// where the builder does not say, the environment variable
/// `WEFT_IO_DRIVER` (`epoll`, `uring` or `auto`) does, and where neither
/// does, weft uses [`Epoll`](IoDriver::Epoll).
/// [`RuntimeMetrics::io_driver`](crate::runtime::RuntimeMetrics::io_driver)
/// says which one a runtime runs.
///
/// ```
/// use weft::runtime::{Builder, IoDriver};
///
/// let rt = Builder::new_current_thread().io_driver(IoDriver::Auto).build()?;
/// let chosen = rt.metrics().io_driver();
/// assert!(chosen == IoDriver::Epoll || chosen == IoDriver::Uring);
/// # std::io::Result::Ok(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IoDriver {
    /// io_uring if this kernel and process allow it (see
    /// [`Uring`](IoDriver::Uring)), epoll otherwise, with one line on
    /// stderr saying why.
    Auto,
    /// epoll, edge-triggered.
    Epoll,
    /// io_uring: descriptors are polled by multishot poll requests on a
    /// ring, with the same readiness (edge-triggered) as epoll gives, so the
    /// types above behave as they do on epoll, with one difference: closing
    /// a socket may let go of it a little after the `drop`, so the peer's
    /// end-of-file (or a port free to bind again) can lag by microseconds
    /// (immediate on epoll). On a current-thread runtime the ring belongs
    /// to the thread that drives it (`SINGLE_ISSUER | DEFER_TASKRUN` where
    /// the kernel has them, Linux 6.1): a close on that thread is immediate,
    /// one on another thread happens at the loop's next turn. On a
    /// multi-thread runtime each worker has such a ring of its own (Linux
    /// 6.1; before it, the workers share one ring and a close happens once
    /// the worker that armed the poll next enters the kernel): a socket
    /// belongs to the ring of the worker whose thread made it (sockets made
    /// outside the workers, on a `block_on` thread for one, take the rings
    /// in turn), a close on another thread happens at that worker's next
    /// turn, and that worker, not any idle one, reaps the socket's events:
    /// at its park, and every `event_interval` polls while it runs tasks.
    /// So a task that computes for long without awaiting delays the I/O of
    /// its worker's sockets (on epoll, another worker would reap it), and
    /// `block_in_place` rebuilds the worker's ring for the thread that
    /// stands in for it, and again when it returns (every socket on it
    /// re-armed, twice). Needs Linux 5.19 or later with io_uring
    /// allowed (not switched off by `kernel.io_uring_disabled` or refused by
    /// a seccomp filter); without it, building the runtime fails with
    /// `Unsupported`, saying why.
    ///
    /// On a current-thread runtime, and on a multi-thread runtime's
    /// rings per worker (Linux 6.13 or later), a
    /// [`TcpStream`](crate::net::TcpStream) reads through the ring: a read that finds nothing arms a receive
    /// into buffers the ring provides, and the next turn's one
    /// `io_uring_enter` brings the bytes, so a message costs no read
    /// syscall. Only a waiting read takes bytes out of the kernel, and only
    /// as many as it asked for; bytes a read took but was dropped before
    /// returning (a `select!` or timeout) wait in the stream and come
    /// first at the next read. While any do, `into_std` and
    /// `try_io(Interest::READABLE, ..)` (which would read the socket past
    /// them) return an error instead. A
    /// [`TcpListener`](crate::net::TcpListener) accepts through the ring
    /// too (an accept request, with the peer's address, armed while an
    /// accept waits), so a connection costs no `accept4` syscall; a
    /// connection an accept took but was dropped before returning waits in
    /// the listener for the next `accept`, and while one does (or such an
    /// accept is in flight), the listener's `into_std` returns an error.
    /// Other sockets read and accept as on epoll. It is not yet cheaper than
    /// epoll: on the machine measured, a TCP echo on it spends 1.06–1.21 ×
    /// epoll's server CPU per message at a fixed load (see BENCHMARKS.md),
    /// so [`Epoll`](IoDriver::Epoll) stays the default.
    ///
    /// Files do not go through the ring, on purpose: on either driver a
    /// read the page cache can answer is made at once on the calling
    /// thread, straight into the caller's buffer, and the rest runs on the
    /// blocking pool. What the kernel cannot do without waiting (create,
    /// ext4's buffered write, unlink) it would run on its io-wq threads,
    /// which measured slower per call than weft's pool (`bench fs`'s `ring`
    /// column, BENCHMARKS.md).
    ///
    /// Under valgrind (3.19 here), a thread waiting in `io_uring_enter`
    /// keeps every other thread of the process from running until the wait
    /// ends, so a wake from the blocking pool or another thread can wait
    /// for a timer: run on [`Epoll`](IoDriver::Epoll) under valgrind.
    Uring,
}

impl IoDriver {
    /// Parses `WEFT_IO_DRIVER`'s value.
    pub(crate) fn parse(value: &str) -> Option<IoDriver> {
        match value.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(IoDriver::Auto),
            "epoll" => Some(IoDriver::Epoll),
            "uring" | "io_uring" | "io-uring" => Some(IoDriver::Uring),
            _ => None,
        }
    }
}

/// The backend a driver got. (One per runtime, inside its `Arc`: the
/// ring's larger size costs nothing, and boxing it would cost a pointer
/// chase per call.)
///
/// The calls that name a descriptor's ring take its index (`ring`, from
/// [`pick_ring`](Self::pick_ring) at its registration): only
/// [`Rings`](Selector::Rings) has more than one; the others ignore it.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Selector {
    Epoll(Epoll),
    /// One ring: owned (a current-thread runtime), or shared by the
    /// workers of a multi-thread runtime where the kernel cannot give each
    /// its own.
    Uring(Uring),
    /// A ring per worker of a multi-thread runtime (`uring/rings.rs`).
    Rings(Rings),
}

/// The event buffer of the backend (a ring per worker keeps one per ring,
/// in [`Rings`]).
pub(crate) enum Events {
    Epoll(epoll::Events),
    Uring(uring::Events),
    Rings,
}

/// Set once `Auto` has said why it fell back to epoll.
static FELL_BACK: AtomicBool = AtomicBool::new(false);

impl Selector {
    /// The backend `choice` asks for (`Auto`: the best this process can
    /// run). `workers`: `None` if one thread drives the loop, mostly the
    /// same one (a current-thread runtime), so an io_uring ring can be that
    /// thread's own (`uring::Flavor::Owned`); a multi-thread runtime's
    /// worker count otherwise, for a ring per worker (a shared ring where
    /// the kernel cannot give each its own). `events_per_turn`: a ring per
    /// worker's event buffers.
    pub(crate) fn new(
        choice: IoDriver,
        workers: Option<usize>,
        events_per_turn: usize,
    ) -> io::Result<Selector> {
        let uring = || match workers {
            None => Uring::with_flavor(uring::Flavor::Owned).map(Selector::Uring),
            Some(workers) => match Rings::new(workers, events_per_turn) {
                Ok(rings) => Ok(Selector::Rings(rings)),
                // No DEFER_TASKRUN (or no ring at all: then this fails
                // too, with the probe's reason). Any other error (out of
                // descriptors or memory for the rings) is the caller's.
                Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                    Uring::with_flavor(uring::Flavor::Shared).map(Selector::Uring)
                }
                Err(e) => Err(e),
            },
        };
        match choice {
            IoDriver::Epoll => Ok(Selector::Epoll(Epoll::new()?)),
            IoDriver::Uring => uring(),
            // `with_flavor` runs the probe; its error is the probe's reason
            // (or the ring's own setup error).
            IoDriver::Auto => match uring() {
                Ok(uring) => Ok(uring),
                Err(reason) => {
                    if !FELL_BACK.swap(true, Relaxed) {
                        eprintln!("weft: io_uring unavailable, using epoll: {reason}");
                    }
                    Ok(Selector::Epoll(Epoll::new()?))
                }
            },
        }
    }

    /// Which backend this is (never `Auto`).
    pub(crate) fn kind(&self) -> IoDriver {
        match self {
            Selector::Epoll(_) => IoDriver::Epoll,
            Selector::Uring(_) | Selector::Rings(_) => IoDriver::Uring,
        }
    }

    /// The ring a descriptor registered on this thread goes to (0 but for
    /// a ring per worker).
    #[inline]
    pub(crate) fn pick_ring(&self) -> usize {
        match self {
            Selector::Rings(r) => r.pick(),
            _ => 0,
        }
    }

    pub(crate) fn events(&self, capacity: usize) -> Events {
        match self {
            Selector::Epoll(_) => Events::Epoll(Epoll::events(capacity)),
            Selector::Uring(_) => Events::Uring(Uring::events(capacity)),
            Selector::Rings(_) => Events::Rings,
        }
    }

    #[inline]
    pub(crate) fn register(&self, ring: usize, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        match self {
            Selector::Epoll(b) => b.register(fd, token),
            Selector::Uring(b) => b.register(fd, token),
            Selector::Rings(r) => r.ring(ring).register(fd, token),
        }
    }

    /// Registers a TCP stream: on an owned ring, its reads go through
    /// receives, which land in the returned state; elsewhere as `register`.
    pub(crate) fn register_stream(
        &self,
        ring: usize,
        fd: BorrowedFd<'_>,
        token: u64,
    ) -> io::Result<Option<Arc<RecvState>>> {
        match self {
            Selector::Epoll(b) => b.register(fd, token).map(|()| None),
            Selector::Uring(b) => b.register_stream(fd, token),
            Selector::Rings(r) => r.ring(ring).register_stream(fd, token),
        }
    }

    /// Registers a TCP listener: on an owned ring, it accepts through
    /// accept requests, whose connections land in the returned state;
    /// elsewhere as `register`.
    pub(crate) fn register_listener(
        &self,
        ring: usize,
        fd: BorrowedFd<'_>,
        token: u64,
    ) -> io::Result<Option<Arc<AcceptState>>> {
        match self {
            Selector::Epoll(b) => b.register(fd, token).map(|()| None),
            Selector::Uring(b) => b.register_listener(fd, token),
            Selector::Rings(r) => r.ring(ring).register_listener(fd, token),
        }
    }

    /// Arms an accept for a listener `register_listener` gave a state.
    pub(crate) fn arm_accept(&self, ring: usize, state: &AcceptState) -> io::Result<()> {
        match self {
            Selector::Epoll(_) => Ok(()),
            Selector::Uring(b) => b.arm_accept(state),
            Selector::Rings(r) => r.ring(ring).arm_accept(state),
        }
    }

    /// Arms a read for a stream `register_stream` gave a state (only the
    /// ring gives any).
    pub(crate) fn arm(&self, ring: usize, state: &RecvState, want: Armed) -> io::Result<()> {
        match self {
            Selector::Epoll(_) => Ok(()),
            Selector::Uring(b) => b.arm(state, want),
            Selector::Rings(r) => r.ring(ring).arm(state, want),
        }
    }

    pub(crate) fn rearm(&self, ring: usize, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        match self {
            Selector::Epoll(b) => b.rearm(fd, token),
            Selector::Uring(b) => b.rearm(fd, token),
            Selector::Rings(r) => r.ring(ring).rearm(fd, token),
        }
    }

    /// Deregisters `fd`; true if its close must wait (see
    /// [`close_later`](Self::close_later)).
    #[inline]
    pub(crate) fn deregister(&self, ring: usize, fd: BorrowedFd<'_>) -> bool {
        match self {
            Selector::Epoll(b) => {
                b.deregister(fd);
                false
            }
            Selector::Uring(b) => b.deregister_reader(fd),
            Selector::Rings(r) => r.ring(ring).deregister_reader(fd),
        }
    }

    /// Closes `io` after an owned ring's owner next enters it.
    pub(crate) fn close_later(&self, ring: usize, io: Box<dyn Send>) {
        match self {
            // (Never asked: epoll's deregistration is immediate.)
            Selector::Epoll(_) => drop(io),
            Selector::Uring(b) => b.close_later(io),
            Selector::Rings(r) => r.ring(ring).close_later(io),
        }
    }

    /// See [`Backend::shutdown`].
    pub(crate) fn shutdown(&self) {
        match self {
            Selector::Epoll(b) => b.shutdown(),
            Selector::Uring(b) => b.shutdown(),
            Selector::Rings(r) => r.shutdown(),
        }
    }

    /// Wakes the thread parked in the driver (a ring per worker: the one
    /// that holds the time driver, see `Rings::claim`).
    #[inline]
    pub(crate) fn wake(&self) {
        match self {
            Selector::Epoll(b) => b.wake(),
            Selector::Uring(b) => b.wake(),
            Selector::Rings(r) => r.wake(),
        }
    }

    /// Wakes worker `worker` parked in the driver: with a ring per worker,
    /// in its own ring; otherwise in the one driver (the worker holds it).
    #[inline]
    pub(crate) fn wake_worker(&self, worker: usize) {
        match self {
            Selector::Rings(r) => r.wake_ring(worker),
            _ => self.wake(),
        }
    }
}
