//! A resource's handle on its readiness slot.

use std::io;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use super::slab::{ReadyEvent, SlotRef};
use super::uring::recv::{Armed, RecvState};
use super::{shutdown_error, AcceptState, IoShared, Reader, Ready};
use crate::task::coop;

/// Which side of a resource an operation uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    fn mask(self) -> Ready {
        match self {
            Direction::Read => Ready::READ_INTEREST,
            Direction::Write => Ready::WRITE_INTEREST,
        }
    }
}

/// A registered file descriptor's claim on the driver. Must be deregistered
/// (with the fd still open) before the fd is closed; see
/// [`Registration::deregister`].
pub(crate) struct Registration {
    shared: Arc<IoShared>,
    slot: SlotRef,
    /// The ring it is registered on (a ring per worker; 0 otherwise).
    ring: usize,
    /// A TCP stream received, or a TCP listener accepting, through an
    /// owned io_uring ring: where its bytes or connections land
    /// (`uring/recv.rs`, `uring/accept.rs`).
    reader: Option<Reader>,
}

impl Registration {
    pub(crate) fn new(
        shared: Arc<IoShared>,
        slot: SlotRef,
        ring: usize,
        reader: Option<Reader>,
    ) -> Registration {
        Registration {
            shared,
            slot,
            ring,
            reader,
        }
    }

    /// The receive state of a stream received through the ring.
    #[inline]
    pub(crate) fn recv(&self) -> Option<&RecvState> {
        match &self.reader {
            Some(Reader::Recv(state)) => Some(state),
            _ => None,
        }
    }

    /// The accept state of a listener accepting through the ring.
    pub(crate) fn accept(&self) -> Option<&AcceptState> {
        match &self.reader {
            Some(Reader::Accept(state)) => Some(state),
            _ => None,
        }
    }

    /// Arms an accept for a listener accepting through the ring.
    pub(crate) fn arm_accept(&self, state: &AcceptState) -> io::Result<()> {
        let armed = self.shared.arm_accept(self.ring, state);
        self.after_arm(&armed);
        armed
    }

    /// A read through an owned io_uring ring (a stream's receive, a
    /// listener's accept): `op` takes what is there; on `WouldBlock` the
    /// readiness seen is cleared and `arm` puts a request in flight, whose
    /// completion sets `READABLE`, and the caller waits for that (for
    /// readiness within `mask`), as on epoll it waits for an edge.
    #[inline]
    pub(crate) fn poll_armed<R>(
        &self,
        cx: &mut Context<'_>,
        mask: Ready,
        mut op: impl FnMut() -> io::Result<R>,
        mut arm: impl FnMut() -> io::Result<()>,
    ) -> Poll<io::Result<R>> {
        loop {
            let event = ready!(self.poll_ready_masked(cx, Direction::Read, mask))?;
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.clear(event);
                    arm()?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return Poll::Ready(other),
            }
        }
    }

    /// After an arm that failed: another waiter that saw it in flight (and
    /// so armed nothing itself) looks again, and arms (or fails) on its
    /// own, instead of waiting for a completion that never comes.
    fn after_arm(&self, armed: &io::Result<()>) {
        if armed.is_err() {
            self.slot.slot().reader.wake();
        }
    }

    /// Arms a read (`want`) for a stream received through the ring.
    pub(crate) fn arm(&self, state: &RecvState, want: Armed) -> io::Result<()> {
        let armed = self.shared.arm(self.ring, state, want);
        self.after_arm(&armed);
        armed
    }

    /// True if this registration is with `driver` and that driver still
    /// runs.
    pub(crate) fn is_live_on(&self, driver: &Arc<IoShared>) -> bool {
        Arc::ptr_eq(&self.shared, driver) && !self.shared.is_shutdown()
    }

    /// Ready when the resource may make progress in `direction`; otherwise
    /// stores the waker and returns `Pending`. Spends one unit of the task's
    /// cooperative budget on `Ready`.
    #[inline(always)]
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        let budget = ready!(coop::proceed(cx));
        let event = self.slot.slot().readiness(direction.mask());
        if event.ready.is_empty() {
            // Out of line: the ready path is the hot one.
            return self.poll_ready_wait(cx, direction, budget);
        }
        budget.made_progress();
        Poll::Ready(Ok(event))
    }

    /// [`poll_ready`](Self::poll_ready) for the bits of `mask` only (which
    /// must lie within what wakes `direction`'s waiters: `READ_WAKE` for
    /// reads, `WRITE_INTEREST` for writes), for `ready(Interest)`.
    pub(crate) fn poll_ready_masked(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mask: Ready,
    ) -> Poll<io::Result<ReadyEvent>> {
        let budget = ready!(coop::proceed(cx));
        let event = self.slot.slot().readiness(mask);
        if event.ready.is_empty() {
            return self.poll_ready_wait_masked(cx, direction, mask, budget);
        }
        budget.made_progress();
        Poll::Ready(Ok(event))
    }

    /// The waiting half of `poll_ready`: registers the waker and looks again.
    /// (Its own function, not `poll_ready_wait_masked` with the direction's
    /// mask: one argument fewer on the per-message path.)
    #[cold]
    #[inline(never)]
    fn poll_ready_wait(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        budget: coop::Spent,
    ) -> Poll<io::Result<ReadyEvent>> {
        self.poll_ready_wait_masked(cx, direction, direction.mask(), budget)
    }

    /// The waiting half of `poll_ready_masked`.
    #[inline(always)]
    fn poll_ready_wait_masked(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mask: Ready,
        budget: coop::Spent,
    ) -> Poll<io::Result<ReadyEvent>> {
        let slot = self.slot.slot();
        let waiter = match direction {
            Direction::Read => &slot.reader,
            Direction::Write => &slot.writer,
        };
        if direction == Direction::Read {
            // A stream received (a listener accepting) through the ring
            // learns of data (connections) only from something in flight:
            // a readiness wait arms a poll (a reader has armed its receive
            // already), an accept its request.
            let armed = match &self.reader {
                Some(Reader::Recv(recv)) => self.arm(recv, Armed::Poll),
                Some(Reader::Accept(state)) => self.arm_accept(state),
                None => Ok(()),
            };
            if let Err(e) = armed {
                return Poll::Ready(Err(e));
            }
        }
        waiter.register(cx.waker());
        // Look again: the driver may have set readiness between the first
        // load and the registration, and its wake went to the old waker.
        let event = slot.readiness(mask);
        if event.ready.is_empty() {
            if self.shared.is_shutdown() {
                return Poll::Ready(Err(shutdown_error()));
            }
            return Poll::Pending;
        }
        budget.made_progress();
        Poll::Ready(Ok(event))
    }

    /// Forgets readiness observed in `event`, after an operation returned
    /// `WouldBlock` (or a short read or write showed the kernel buffer empty
    /// or full). Newer readiness, from a later driver tick, is kept.
    #[inline]
    pub(crate) fn clear(&self, event: ReadyEvent) {
        self.slot.slot().clear(event);
    }

    /// Runs `op` until it succeeds or fails with something other than
    /// `WouldBlock`, waiting for readiness in `direction` in between.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_op(cx, direction, op, |_| false)
    }

    /// Like [`poll_io`](Self::poll_io) for a transfer into or out of a buffer
    /// of `len` bytes: a transfer shorter than `len` means the kernel buffer
    /// was drained (or filled), so readiness is cleared right away and the
    /// next call waits for a new edge instead of making a syscall only to see
    /// `EAGAIN`. Only for byte streams: a short datagram says nothing about
    /// what else is queued.
    #[inline]
    pub(crate) fn poll_transfer(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        len: usize,
        op: impl FnMut() -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.poll_op(cx, direction, op, |&n| n > 0 && n < len)
    }

    /// The recorded readiness within `mask`, without waiting.
    pub(crate) fn readiness_masked(&self, mask: Ready) -> Ready {
        self.slot.slot().readiness(mask).ready
    }

    /// `poll_io` for a datagram receive: after a `shutdown(Read)` the kernel
    /// reports the socket readable and hung up for good while `recv` keeps
    /// returning `EAGAIN`, which would loop here forever; that case is an
    /// error saying so.
    pub(crate) fn poll_recv<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let event = ready!(self.poll_ready(cx, Direction::Read))?;
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if event.ready.intersects(Ready::READ_CLOSED) {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::NotConnected,
                            "the socket is shut down for reading: no datagram will arrive",
                        )));
                    }
                    self.clear(event);
                }
                other => return Poll::Ready(other),
            }
        }
    }

    /// Re-arms the edge-triggered registration of `fd` (this registration's
    /// fd): if it is still ready, the next driver turn reports it again.
    pub(crate) fn rearm(&self, fd: impl AsFd) -> io::Result<()> {
        self.shared.rearm(self.ring, fd, self.slot.token())
    }

    /// The loop behind `poll_io` and `poll_transfer`: wait for readiness, run
    /// `op`, clear readiness on `WouldBlock` or when `drained` says a
    /// successful result showed the kernel side empty (or full, or, for a
    /// single-accept listener, that this turn's share is taken).
    #[inline]
    pub(crate) fn poll_op<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut() -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        loop {
            let event = ready!(self.poll_ready(cx, direction))?;
            match op() {
                Ok(value) => {
                    if drained(&value) {
                        // Only the data bit: a pending error must still be
                        // reported by the next operation.
                        self.clear(event.only(Ready::READABLE | Ready::WRITABLE));
                    }
                    return Poll::Ready(Ok(value));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear(event),
                // Non-blocking calls do not sleep, so a signal should never
                // interrupt one; if a kernel path does, it is retried, never
                // surfaced to the caller as an error.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// The epoll token of this registration.
    #[cfg(test)]
    pub(crate) fn slot_token(&self) -> u64 {
        self.slot.token()
    }

    /// Runs `op` once if readiness in `direction` is set, without waiting:
    /// `WouldBlock` if it is not, or if `op` finds the kernel side empty (or
    /// full), in which case readiness is cleared so that a following
    /// `readable()`/`writable()` waits for a new event instead of returning
    /// at once forever.
    pub(crate) fn try_io<R>(
        &self,
        direction: Direction,
        op: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        self.try_io_masked(direction.mask(), op)
    }

    /// [`try_io`](Self::try_io) under the readiness bits of `mask` (tokio's
    /// `try_io(interest, ..)`): every bit of it that was set is cleared on
    /// `WouldBlock`, priority and error included, so a wait on them does
    /// not return at once forever.
    #[inline]
    pub(crate) fn try_io_masked<R>(
        &self,
        mask: Ready,
        op: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        let event = self.slot.slot().readiness(mask);
        if event.ready.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let result = op();
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.clear(event);
        }
        result
    }

    /// Removes `fd` from epoll. Call before closing the fd.
    pub(crate) fn deregister(&self, fd: impl AsFd) -> bool {
        self.shared.deregister(self.ring, fd)
    }

    /// Closes `io` (deregistered, `deregister` said so) once the ring's
    /// owner has next entered the ring.
    pub(crate) fn close_later(&self, io: Box<dyn Send>) {
        self.shared.close_later(self.ring, io);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.shared.slab.release(&self.slot);
    }
}
