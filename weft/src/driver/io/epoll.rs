//! The epoll backend: the syscalls and the event decoding, nothing else.
//!
//! One epoll instance; every descriptor is registered once, for read and
//! write together, edge-triggered, under the token of its readiness slot.
//! An eventfd, registered level-triggered under [`WAKE_TOKEN`], lets other
//! threads wake a thread blocked in `epoll_wait`. epoll's flags are turned
//! into weft's [`Ready`] bits in one place, [`ready_from_flags`]; errors
//! come back as `io::Error` through rustix.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::event::{eventfd, EventfdFlags, Timespec};

use super::backend::Backend;
use super::ready::Ready;

/// The token of the wake-up eventfd. Slot tokens never reach it: their
/// index is below the slab's capacity.
const WAKE_TOKEN: u64 = u64::MAX;

/// Every registration asks for these, edge-triggered: readable, writable,
/// urgent data, and the peer's half-close (RDHUP); HUP and ERR are always
/// reported.
const INTEREST: EventFlags = EventFlags::IN
    .union(EventFlags::OUT)
    .union(EventFlags::PRI)
    .union(EventFlags::RDHUP)
    .union(EventFlags::ET);

/// Translates epoll's event flags (`poll(2)`'s bits: see
/// [`Ready::from_poll_bits`]).
#[inline]
fn ready_from_flags(flags: EventFlags) -> Ready {
    Ready::from_poll_bits(flags.bits())
}

/// An epoll instance and its wake-up eventfd.
pub(crate) struct Epoll {
    epoll: OwnedFd,
    wake_fd: OwnedFd,
    /// Set by the first `wake` after the blocked thread last drained the
    /// eventfd; later wakes skip the `write` until it is drained.
    wake_pending: AtomicBool,
}

/// epoll's event buffer. `epoll::Event` can carry a pointer, which makes it
/// `!Send`; weft stores only integer tokens in it.
pub(crate) struct Events(Vec<epoll::Event>);

// SAFETY: every event weft registers carries a `u64` token (`new_u64`), never
// a pointer, so the buffer holds plain integers and may move between threads
// with the loop's core.
unsafe impl Send for Events {}

impl Backend for Epoll {
    type Events = Events;

    fn new() -> io::Result<Epoll> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let wake_fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        epoll::add(
            &epoll,
            &wake_fd,
            EventData::new_u64(WAKE_TOKEN),
            EventFlags::IN,
        )?;
        Ok(Epoll {
            epoll,
            wake_fd,
            wake_pending: AtomicBool::new(false),
        })
    }

    fn events(capacity: usize) -> Events {
        Events(Vec::with_capacity(capacity.max(1)))
    }

    fn register(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        epoll::add(&self.epoll, fd, EventData::new_u64(token), INTEREST)?;
        Ok(())
    }

    fn rearm(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        epoll::modify(&self.epoll, fd, EventData::new_u64(token), INTEREST)?;
        Ok(())
    }

    fn deregister(&self, fd: BorrowedFd<'_>) {
        // Fails only if the fd was never added or is already closed; either
        // way epoll holds nothing for it any more.
        let _ = epoll::delete(&self.epoll, fd);
    }

    fn wake(&self) {
        if !self.wake_pending.swap(true, SeqCst) {
            // The counter cannot overflow: `wait` drains it on every wake.
            let _ = rustix::io::write(&self.wake_fd, &1u64.to_ne_bytes());
        }
    }

    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<(usize, bool)> {
        let timeout = timeout.map(|d| Timespec {
            tv_sec: d.as_secs().min(i32::MAX as u64) as i64,
            tv_nsec: i64::from(d.subsec_nanos()),
        });
        events.0.clear();
        match epoll::wait(
            &self.epoll,
            rustix::buffer::spare_capacity(&mut events.0),
            timeout.as_ref(),
        ) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => return Ok((0, false)),
            Err(e) => return Err(e.into()),
        }
        // The eventfd is registered once, so it is at most one event.
        let woken = events.0.iter().any(|e| e.data.u64() == WAKE_TOKEN);
        if woken {
            let mut buf = [0u8; 8];
            let _ = rustix::io::read(&self.wake_fd, &mut buf);
            // A swap, not a store: it reads the `true` written by the last
            // `wake`, so that the waker's earlier writes (a queue push)
            // happen-before the loop's next look at its queues.
            self.wake_pending.swap(false, SeqCst);
        }
        Ok((events.0.len() - usize::from(woken), woken))
    }

    fn ready_events(events: &Events) -> impl Iterator<Item = (u64, Ready)> + '_ {
        events
            .0
            .iter()
            .filter(|e| e.data.u64() != WAKE_TOKEN)
            .map(|e| (e.data.u64(), ready_from_flags(e.flags)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn epoll_flags_translate() {
        let cases = [
            (EventFlags::IN, Ready::READABLE),
            (EventFlags::OUT, Ready::WRITABLE),
            (
                EventFlags::IN | EventFlags::RDHUP,
                Ready::READABLE | Ready::READ_CLOSED,
            ),
            (EventFlags::HUP, Ready::READ_CLOSED | Ready::WRITE_CLOSED),
            (EventFlags::ERR, Ready::ERROR),
            (EventFlags::PRI, Ready::PRIORITY),
        ];
        for (flags, ready) in cases {
            assert_eq!(ready_from_flags(flags), ready, "{flags:?}");
        }
    }

    #[test]
    fn a_wake_ends_a_blocking_wait_and_is_drained() {
        let epoll = Epoll::new().unwrap();
        let mut events = Epoll::events(4);
        epoll.wake();
        epoll.wake(); // coalesced: one write
        assert_eq!(epoll.wait(&mut events, None).unwrap(), (0, true));
        assert_eq!(Epoll::ready_events(&events).count(), 0);
        // Drained: the next wait times out instead of returning at once.
        assert_eq!(
            epoll.wait(&mut events, Some(Duration::ZERO)).unwrap(),
            (0, false)
        );
    }

    #[test]
    fn a_registered_socket_reports_under_its_token() {
        let epoll = Epoll::new().unwrap();
        let mut events = Epoll::events(4);
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        epoll.register(a.as_fd(), 7).unwrap();
        std::io::Write::write_all(&mut &b, b"x").unwrap();
        let (ready, woken) = epoll
            .wait(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        assert_eq!((ready, woken), (1, false));
        let seen: Vec<_> = Epoll::ready_events(&events).collect();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(seen[0].0, 7);
        assert!(seen[0].1.is_readable() && seen[0].1.intersects(Ready::WRITABLE));
        epoll.deregister(a.as_fd());
    }
}
