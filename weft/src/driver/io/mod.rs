//! The I/O driver: the readiness slab and its dispatch, over a backend.
//!
//! Owns: the slab of readiness slots and the backend ([`backend::Backend`]:
//! epoll in `epoll.rs` or io_uring in `uring/`, the only files here that
//! make I/O-polling syscalls, chosen by `selector.rs`). Calls: the backend
//! and wakers. Nothing above it.
//!
//! Every resource is registered once, for read and write interest together,
//! edge-triggered; the slot's readiness bits remember an edge until an
//! operation observes `WouldBlock` (or a short read) at the same driver tick.
//! The contract for users of a [`Registration`]: readiness is a hint; an
//! operation must be ready for `WouldBlock` and then call `clear`.

mod backend;
mod epoll;
pub(crate) mod evented;
pub(crate) mod interest;
mod ready;
mod registration;
mod selector;
mod slab;
mod uring;
mod waiter;

use std::io;
use std::os::fd::AsFd;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Acquire, Release};
use std::sync::Arc;
use std::time::Duration;

use backend::Backend;
pub(crate) use ready::Ready;
pub(crate) use registration::{Direction, Registration};
pub use selector::IoDriver;
use selector::{Events, Selector};
use slab::{decode_token, Dispatch, Slab};
pub(crate) use uring::accept::{AcceptState, Accepted as RingAccepted};
pub(crate) use uring::recv::{Armed, RecvState};
use uring::rings::{Rings, Turn};
pub(crate) use uring::Reader;

use crate::sys::counter::Counter;

/// Events fetched by one `epoll_wait` unless the runtime's builder says
/// otherwise (`max_io_events_per_tick`); more ready descriptors than this
/// are reported at the next turn.
pub(crate) const DEFAULT_EVENTS_PER_TURN: usize = 256;

/// State shared by the driver, its handles and every registration.
pub(crate) struct IoShared {
    selector: Selector,
    slab: Slab,
    /// Set when the driver is dropped: pending operations fail instead of
    /// waiting for events that will never come.
    shutdown: AtomicBool,
    /// Backend waits so far (written only by the driving thread).
    turns: Counter,
}

impl IoShared {
    /// Wakes the driver if it is blocked in (or about to enter) its wait.
    pub(crate) fn unpark(&self) {
        self.selector.wake();
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Acquire)
    }

    /// How many times the driver has waited on its backend (a ring per
    /// worker: the driver holder's turns of its own ring, not the other
    /// workers' turns of theirs).
    pub(crate) fn turns(&self) -> u64 {
        self.turns.get()
    }

    /// Wakes worker `worker`, parked in the driver: in its own ring with a
    /// ring per worker (see [`turn_worker`](Self::turn_worker)), else in
    /// the one driver, which it holds.
    pub(crate) fn unpark_worker(&self, worker: usize) {
        self.selector.wake_worker(worker);
    }

    /// True if each worker of a multi-thread runtime has a ring of its
    /// own, which it parks in and turns at its maintenance
    /// ([`turn_worker`](Self::turn_worker)).
    pub(crate) fn ring_per_worker(&self) -> bool {
        matches!(self.selector, Selector::Rings(_))
    }

    /// False if an io_uring ring may hold an event nobody has handled yet:
    /// completions or completion work on it (a request the last turn
    /// submitted can complete through completion work, after that turn),
    /// or, with a ring per worker, another worker woken from its ring and
    /// not yet back in its wait (`Rings::settled`). Always true on epoll,
    /// whose turn reports every event there is. A paused clock's
    /// auto-advance asks, after its own turn found nothing.
    /// (One look, ring by ring: [`settle_epoch`](Self::settle_epoch) read
    /// before and after says whether it was a snapshot.)
    #[cfg(feature = "test-util")]
    pub(crate) fn settled(&self) -> bool {
        match &self.selector {
            Selector::Epoll(_) => true,
            Selector::Uring(ring) => !ring.may_be_handling(false),
            Selector::Rings(rings) => rings.settled(),
        }
    }

    /// Called by the time driver's holder before it reads the timers for a
    /// blocking park: [`unpark`](Self::unpark) wakes this thread's ring
    /// from then on (a ring per worker; nothing to do otherwise).
    pub(crate) fn claim_unpark(&self) {
        if let Selector::Rings(rings) = &self.selector {
            rings.claim();
        }
    }

    /// With a ring per worker, one turn of this thread's worker's ring,
    /// blocking up to `timeout` (`None`: until an event or
    /// [`unpark_worker`](Self::unpark_worker)). Without, nothing: a worker
    /// turns the I/O driver only while it holds it.
    ///
    /// `paused`: the runtime's clock is paused, and this is a parked
    /// worker's wait: the ring submits what it holds before it counts as
    /// quiet to the clock's auto-advance (one more `io_uring_enter`).
    pub(crate) fn turn_worker(&self, timeout: Option<Duration>, paused: bool) {
        let Selector::Rings(rings) = &self.selector else {
            return;
        };
        match turn_ring(self, rings, rings.mine(), timeout, paused) {
            Ok(_) => {}
            // After the driver's drop: the worker is on its way out.
            Err(e) if is_shutdown_error(&e) => {}
            Err(e) => panic!("weft: the I/O driver's wait failed: {e}"),
        }
    }

    /// With a ring per worker, how many times a ring's wait has returned:
    /// a [`settled`](Self::settled) look during which it changed is no
    /// snapshot. 0 otherwise.
    #[cfg(feature = "test-util")]
    pub(crate) fn settle_epoch(&self) -> u64 {
        match &self.selector {
            Selector::Rings(rings) => rings.epoch(),
            _ => 0,
        }
    }

    /// The backend the driver runs on (never `Auto`).
    pub(crate) fn io_driver(&self) -> IoDriver {
        self.selector.kind()
    }
}

/// The part of the driver that only the thread driving the loop touches.
pub(crate) struct IoCore {
    shared: Arc<IoShared>,
    events: Events,
    /// Driver turn counter, stamped into every readiness it sets.
    tick: u32,
}

impl IoCore {
    /// A driver on the backend `choice` asks for, fetching up to
    /// `events_per_turn` (at least 1) events per wait; `workers`: `None`
    /// if one thread drives it, mostly the same one, else the multi-thread
    /// runtime's worker count (see `Selector::new`).
    pub(crate) fn new(
        events_per_turn: usize,
        choice: IoDriver,
        workers: Option<usize>,
    ) -> io::Result<IoCore> {
        debug_assert!(events_per_turn > 0, "the builder rejects 0");
        let selector = Selector::new(choice, workers, events_per_turn)?;
        let events = selector.events(events_per_turn);
        let shared = Arc::new(IoShared {
            selector,
            slab: Slab::new(),
            shutdown: AtomicBool::new(false),
            turns: Counter::default(),
        });
        Ok(IoCore {
            shared,
            events,
            tick: 0,
        })
    }

    pub(crate) fn shared(&self) -> &Arc<IoShared> {
        &self.shared
    }

    /// One wait on the backend: blocks up to `timeout` (`None`: until an
    /// event), then records readiness and wakes the waiters. Returns the
    /// number of I/O events (an unpark is not one), and whether an unpark
    /// ended the wait.
    pub(crate) fn turn(&mut self, timeout: Option<Duration>) -> io::Result<(usize, bool)> {
        self.tick = self.tick.wrapping_add(1);
        self.shared.turns.bump();
        let (shared, tick) = (&*self.shared, self.tick);
        // One `match` per turn; inside, the turn is the backend's own code.
        match (&shared.selector, &mut self.events) {
            (Selector::Epoll(b), Events::Epoll(e)) => turn_on(b, e, shared, tick, timeout),
            (Selector::Uring(b), Events::Uring(e)) => turn_on(b, e, shared, tick, timeout),
            // The driver's holder turns its own worker's ring.
            (Selector::Rings(r), Events::Rings) => turn_ring(shared, r, r.mine(), timeout, false),
            _ => unreachable!("weft: an event buffer of the other backend"),
        }
    }
}

/// One turn of ring `index` of a ring per worker, by the thread that
/// drives it, with that ring's own event buffer and tick.
fn turn_ring(
    shared: &IoShared,
    rings: &Rings,
    index: usize,
    timeout: Option<Duration>,
    submit_first: bool,
) -> io::Result<(usize, bool)> {
    let mut turn = rings.turn(index);
    let Turn { events, tick } = &mut *turn;
    *tick = tick.wrapping_add(1);
    events.submit_first = submit_first;
    turn_on(rings.ring(index), events, shared, *tick, timeout)
}

/// One turn on backend `B`: wait, then record the readiness and wake.
#[inline(always)]
fn turn_on<B: Backend>(
    backend: &B,
    events: &mut B::Events,
    shared: &IoShared,
    tick: u32,
    timeout: Option<Duration>,
) -> io::Result<(usize, bool)> {
    let (ready, unparked) = backend.wait(events, timeout)?;
    // A waker that panics is reported and the rest of the batch is still
    // dispatched: with edge-triggered readiness a skipped event never comes
    // again.
    crate::driver::each_contained(B::ready_events(events), |(token, ready)| {
        shared.dispatch(token, ready, tick);
    });
    Ok((ready, unparked))
}

impl Drop for IoCore {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Release);
        // Every waiter learns of the shutdown; one panicking waker does not
        // keep the others (tasks of other runtimes, maybe) waiting forever.
        let mut slots = Vec::new();
        self.shared.slab.for_each(|slot| slots.push(slot));
        crate::driver::each_contained(slots.into_iter(), |slot| {
            let writer_on_unwind = WakeOnUnwind(&slot.writer, true);
            slot.reader.wake();
            std::mem::forget(writer_on_unwind);
            slot.writer.wake();
        });
        // Closes an io_uring ring: a socket closed on another thread while
        // no turn followed lets go of its file now.
        self.shared.selector.shutdown();
    }
}

/// Wakes a waiter if dropped, which happens only while a panic unwinds:
/// the success path `mem::forget`s it. Its wake is contained, since a
/// second panic during unwinding would abort.
struct WakeOnUnwind<'a>(&'a waiter::Waiter, bool);

impl Drop for WakeOnUnwind<'_> {
    fn drop(&mut self) {
        if self.1 {
            let waiter = self.0;
            crate::driver::each_contained(std::iter::once(()), |()| waiter.wake());
        }
    }
}

impl IoShared {
    /// Records readiness for the slot `token` names and wakes its waiters;
    /// drops the event if the slot has been released since (stale token).
    /// Inlined into the turn's loop: it runs once per event.
    #[inline(always)]
    fn dispatch(&self, token: u64, ready: Ready, tick: u32) {
        let (index, generation) = decode_token(token);
        let Some(slot) = self.slab.get(index) else {
            return;
        };
        let Dispatch::Applied(new) = slot.set_readiness(generation, ready, tick) else {
            return;
        };
        // Only newly set bits wake: the write side of a socket that never
        // filled up stays WRITABLE, and its every event would otherwise
        // poke an empty waiter.
        let write = new.intersects(Ready::WRITE_INTEREST);
        if new.intersects(Ready::READ_WAKE) {
            // If the reader's waker panics, the writer still gets its wake
            // (the caller contains the panic and goes on with the batch).
            let writer_on_unwind = WakeOnUnwind(&slot.writer, write);
            slot.reader.wake();
            std::mem::forget(writer_on_unwind);
        }
        if write {
            slot.writer.wake();
        }
    }

    pub(crate) fn register(self: &Arc<Self>, fd: impl AsFd) -> io::Result<Registration> {
        self.register_by(|selector, ring, token| {
            selector.register(ring, fd.as_fd(), token).map(|()| None)
        })
    }

    /// [`register`](Self::register) for a TCP listener: on an owned
    /// io_uring ring it accepts through accept requests (`uring/accept.rs`).
    pub(crate) fn register_listener(self: &Arc<Self>, fd: impl AsFd) -> io::Result<Registration> {
        self.register_by(|selector, ring, token| {
            let state = selector.register_listener(ring, fd.as_fd(), token)?;
            Ok(state.map(Reader::Accept))
        })
    }

    /// A slot, and its registration by `add` (given the ring this thread
    /// registers on and the slot's token), which may give the ring's
    /// reader state.
    fn register_by(
        self: &Arc<Self>,
        add: impl FnOnce(&Selector, usize, u64) -> io::Result<Option<Reader>>,
    ) -> io::Result<Registration> {
        if self.is_shutdown() {
            return Err(shutdown_error());
        }
        let slot = self.slab.allocate()?;
        let ring = self.selector.pick_ring();
        match add(&self.selector, ring, slot.token()) {
            Err(e) => {
                self.slab.release(&slot);
                Err(e)
            }
            Ok(reader) => Ok(Registration::new(Arc::clone(self), slot, ring, reader)),
        }
    }

    /// Arms an accept for a listener accepting through ring `ring`.
    pub(crate) fn arm_accept(&self, ring: usize, state: &AcceptState) -> io::Result<()> {
        self.selector.arm_accept(ring, state)
    }

    /// [`register`](Self::register) for a TCP stream: on an owned io_uring
    /// ring its reads go through receives (`uring/recv.rs`).
    pub(crate) fn register_stream(self: &Arc<Self>, fd: impl AsFd) -> io::Result<Registration> {
        self.register_by(|selector, ring, token| {
            let recv = selector.register_stream(ring, fd.as_fd(), token)?;
            Ok(recv.map(Reader::Recv))
        })
    }

    /// Arms a read for a stream received through ring `ring`.
    pub(crate) fn arm(&self, ring: usize, state: &RecvState, want: Armed) -> io::Result<()> {
        self.selector.arm(ring, state, want)
    }

    /// Re-arms `fd`'s edge-triggered registration (on ring `ring`): if it
    /// is still ready, the backend reports it again at the next turn (used
    /// by single-accept listeners, which leave queued connections for the
    /// next turn).
    pub(crate) fn rearm(&self, ring: usize, fd: impl AsFd, token: u64) -> io::Result<()> {
        self.selector.rearm(ring, fd.as_fd(), token)
    }

    /// True if the caller must not close `fd` yet: hand the object to
    /// [`close_later`](Self::close_later) (an owned io_uring ring's request
    /// naming it may wait unsubmitted; `Evented`'s drop says more).
    fn deregister(&self, ring: usize, fd: impl AsFd) -> bool {
        self.selector.deregister(ring, fd.as_fd())
    }

    fn close_later(&self, ring: usize, io: Box<dyn Send>) {
        self.selector.close_later(ring, io);
    }
}

/// The error of an I/O operation (or registration) after its runtime's
/// driver was dropped. Its own type, so that
/// `runtime::is_rt_shutdown_err` recognises it without comparing text.
#[derive(Debug)]
struct RuntimeShutDown;

impl std::fmt::Display for RuntimeShutDown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the weft runtime that drives this I/O resource has shut down")
    }
}

impl std::error::Error for RuntimeShutDown {}

pub(crate) fn shutdown_error() -> io::Error {
    io::Error::other(RuntimeShutDown)
}

/// True if `err` is (exactly) a [`shutdown_error`].
pub(crate) fn is_shutdown_error(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::Other
        && err
            .get_ref()
            .is_some_and(|inner| inner.is::<RuntimeShutDown>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Waker};

    use crate::test_util::Count;

    #[test]
    fn stale_event_for_a_reused_slot_wakes_nobody() {
        let driver = IoCore::new(DEFAULT_EVENTS_PER_TURN, IoDriver::Epoll, None).unwrap();
        let shared = Arc::clone(driver.shared());
        let (a, _a_peer) = std::os::unix::net::UnixStream::pair().unwrap();
        let old = shared.register(&a).unwrap();
        let old_token = old.slot_token();
        old.deregister(&a);
        drop(old);
        drop(a);
        // The new owner gets the same slot (and here the same fd number).
        let (b, _b_peer) = std::os::unix::net::UnixStream::pair().unwrap();
        let new = shared.register(&b).unwrap();
        assert_eq!(decode_token(new.slot_token()).0, decode_token(old_token).0);
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&count));
        let mut cx = Context::from_waker(&waker);
        assert!(new.poll_ready(&mut cx, Direction::Read).is_pending());
        // An event fetched for the old owner is dispatched after the reuse.
        shared.dispatch(old_token, Ready::READABLE, 7);
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            0,
            "stale event woke the new owner"
        );
        assert!(
            new.poll_ready(&mut cx, Direction::Read).is_pending(),
            "stale readiness"
        );
        // The new owner's own event does wake it.
        shared.dispatch(new.slot_token(), Ready::READABLE, 8);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(new.poll_ready(&mut cx, Direction::Read).is_ready());
        new.deregister(&b);
    }
}
