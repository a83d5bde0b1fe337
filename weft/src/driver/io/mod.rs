//! The I/O driver: epoll (edge-triggered), an eventfd for cross-thread
//! unpark, and the readiness slab.
//!
//! Owns: the epoll instance, the slab of readiness slots, the unpark eventfd.
//! Calls: the kernel (through `rustix`) and wakers. Nothing above it.
//!
//! Every resource is registered once, for read and write interest together,
//! edge-triggered; the slot's readiness bits remember an edge until an
//! operation observes `WouldBlock` (or a short read) at the same driver tick.
//! The contract for users of a [`Registration`]: readiness is a hint; an
//! operation must be ready for `WouldBlock` and then call `clear`.

pub(crate) mod evented;
pub(crate) mod interest;
mod ready;
mod registration;
mod slab;
mod waiter;

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Acquire, Release, SeqCst};
use std::sync::Arc;
use std::time::Duration;

use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::event::{eventfd, EventfdFlags, Timespec};

pub(crate) use ready::Ready;
pub(crate) use registration::{Direction, Registration};
use slab::{decode_token, Dispatch, Slab};

use crate::sys::counter::Counter;

/// Token of the unpark eventfd. Slot tokens never reach it: their index is
/// below the slab's capacity.
const UNPARK_TOKEN: u64 = u64::MAX;

/// Events fetched by one `epoll_wait` unless the runtime's builder says
/// otherwise (`max_io_events_per_tick`); more ready descriptors than this
/// are reported at the next turn.
pub(crate) const DEFAULT_EVENTS_PER_TURN: usize = 256;

/// State shared by the driver, its handles and every registration.
pub(crate) struct IoShared {
    epoll: OwnedFd,
    slab: Slab,
    unpark_fd: OwnedFd,
    /// Set by the first `unpark` after the driver last drained the eventfd;
    /// later unparks skip the `write` until the driver clears it.
    unpark_pending: AtomicBool,
    /// Set when the driver is dropped: pending operations fail instead of
    /// waiting for events that will never come.
    shutdown: AtomicBool,
    /// True while the loop may block in `epoll_wait` with a timeout computed
    /// from the timer wheel; a timer inserted from another thread that
    /// becomes the earliest must then unpark it.
    pub(crate) parked: AtomicBool,
    /// `epoll_wait` calls so far (written only by the driving thread).
    turns: Counter,
}

impl IoShared {
    /// Wakes the driver if it is blocked in (or about to enter) `epoll_wait`.
    pub(crate) fn unpark(&self) {
        if !self.unpark_pending.swap(true, SeqCst) {
            // The counter cannot overflow: the driver drains it on every wake.
            let _ = rustix::io::write(&self.unpark_fd, &1u64.to_ne_bytes());
        }
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Acquire)
    }

    /// How many times the driver has polled epoll.
    pub(crate) fn turns(&self) -> u64 {
        self.turns.get()
    }
}

/// epoll's event buffer. `epoll::Event` can carry a pointer, which makes it
/// `!Send`; weft stores only integer tokens in it.
struct Events(Vec<epoll::Event>);

// SAFETY: every event weft registers carries a `u64` token (`new_u64`), never
// a pointer, so the buffer holds plain integers and may move between threads
// with the loop's core.
unsafe impl Send for Events {}

/// The part of the driver that only the thread driving the loop touches.
pub(crate) struct IoDriver {
    shared: Arc<IoShared>,
    events: Events,
    /// Driver turn counter, stamped into every readiness it sets.
    tick: u32,
}

impl IoDriver {
    /// A driver fetching up to `events_per_turn` (at least 1) events per
    /// `epoll_wait`.
    pub(crate) fn new(events_per_turn: usize) -> io::Result<IoDriver> {
        debug_assert!(events_per_turn > 0, "the builder rejects 0");
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let unpark_fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        epoll::add(
            &epoll,
            &unpark_fd,
            EventData::new_u64(UNPARK_TOKEN),
            EventFlags::IN,
        )?;
        let shared = Arc::new(IoShared {
            epoll,
            slab: Slab::new(),
            unpark_fd,
            unpark_pending: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            parked: AtomicBool::new(false),
            turns: Counter::default(),
        });
        Ok(IoDriver {
            shared,
            events: Events(Vec::with_capacity(events_per_turn.max(1))),
            tick: 0,
        })
    }

    pub(crate) fn shared(&self) -> &Arc<IoShared> {
        &self.shared
    }

    /// One `epoll_wait`: blocks up to `timeout` (`None`: until an event), then
    /// records readiness and wakes the waiters. Returns the number of I/O
    /// events (an unpark is not one), and whether an unpark was drained.
    pub(crate) fn turn(&mut self, timeout: Option<Duration>) -> io::Result<(usize, bool)> {
        self.tick = self.tick.wrapping_add(1);
        self.shared.turns.bump();
        let timeout = timeout.map(|d| Timespec {
            tv_sec: d.as_secs().min(i32::MAX as u64) as i64,
            tv_nsec: i64::from(d.subsec_nanos()),
        });
        self.events.0.clear();
        match epoll::wait(
            &self.shared.epoll,
            rustix::buffer::spare_capacity(&mut self.events.0),
            timeout.as_ref(),
        ) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => return Ok((0, false)),
            Err(e) => return Err(e.into()),
        }
        let (shared, tick) = (&self.shared, self.tick);
        // The eventfd is registered once, so it is at most one event.
        let mut unparked = false;
        // A waker that panics is reported and the rest of the batch is
        // still dispatched: with edge-triggered epoll a skipped event never
        // comes again.
        crate::driver::each_contained(self.events.0.iter(), |event| {
            let (token, flags) = (event.data.u64(), event.flags);
            if token == UNPARK_TOKEN {
                let mut buf = [0u8; 8];
                let _ = rustix::io::read(&shared.unpark_fd, &mut buf);
                // A swap, not a store: it reads the `true` written by the
                // last `unpark`, so that unpark's queue push happens-before
                // the loop's next look at its queues.
                shared.unpark_pending.swap(false, SeqCst);
                unparked = true;
            } else {
                shared.dispatch(token, Ready::from_epoll(flags), tick);
            }
        });
        Ok((self.events.0.len() - usize::from(unparked), unparked))
    }
}

impl Drop for IoDriver {
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
        if self.is_shutdown() {
            return Err(shutdown_error());
        }
        let slot = self.slab.allocate()?;
        let flags =
            EventFlags::IN | EventFlags::OUT | EventFlags::PRI | EventFlags::RDHUP | EventFlags::ET;
        if let Err(e) = epoll::add(&self.epoll, fd, EventData::new_u64(slot.token()), flags) {
            self.slab.release(&slot);
            return Err(e.into());
        }
        Ok(Registration::new(Arc::clone(self), slot))
    }

    /// Re-arms `fd`'s edge-triggered registration: if it is still ready,
    /// epoll reports it again at the next turn (used by single-accept
    /// listeners, which leave queued connections for the next turn).
    pub(crate) fn rearm(&self, fd: impl AsFd, token: u64) -> io::Result<()> {
        let flags =
            EventFlags::IN | EventFlags::OUT | EventFlags::PRI | EventFlags::RDHUP | EventFlags::ET;
        epoll::modify(&self.epoll, fd, EventData::new_u64(token), flags)?;
        Ok(())
    }

    fn deregister(&self, fd: impl AsFd) {
        // Fails only if the fd was never added or is already closed; either
        // way epoll holds nothing for it any more.
        let _ = epoll::delete(&self.epoll, fd);
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
        let driver = IoDriver::new(DEFAULT_EVENTS_PER_TURN).unwrap();
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
