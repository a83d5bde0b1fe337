//! What reads through an owned ring: registering a TCP stream (its
//! receives, `recv.rs`) or a TCP listener (its accepts, `accept.rs`),
//! arming a read or an accept for a waiting reader, and handing each
//! turn's completions to their states (`complete_recvs`). The ring, its
//! registrations and its submissions are `mod.rs`'s.

use std::io;
use std::os::fd::BorrowedFd;
use std::sync::Arc;

use io_uring::cqueue;

use super::accept::{self, AcceptState, Want};
use super::recv::{Armed, RecvState};
use super::{
    probe, Events, Flavor, Queued, Registered, Uring, ACCEPT, GROUP_MASK, GROUP_SHIFT, READ_POLL,
    RECV, TAGS,
};
use crate::driver::io::backend::Backend;
use crate::driver::io::ready::Ready;
use crate::sys::lock::lock;

/// The state of a descriptor read through an owned ring: where its
/// completions land.
#[derive(Clone)]
pub(crate) enum Reader {
    /// A TCP stream received through the ring (`register_stream`).
    Recv(Arc<RecvState>),
    /// A TCP listener accepting through the ring (`register_listener`).
    Accept(Arc<AcceptState>),
}

impl Uring {
    /// Registers a TCP stream: on an owned ring its reads go through
    /// receives (`recv.rs`), and the returned state is where they land; on
    /// a shared ring, as [`register`](Backend::register) (`None`).
    pub(crate) fn register_stream(
        &self,
        fd: BorrowedFd<'_>,
        token: u64,
    ) -> io::Result<Option<Arc<RecvState>>> {
        if self.flavor == Flavor::Shared || !probe::ring_reads() {
            return self.register(fd, token).map(|()| None);
        }
        let state = Arc::new(RecvState::new(token));
        self.add(fd, token, Some(Reader::Recv(Arc::clone(&state))))?;
        // As epoll reports a new descriptor's readiness at once: data that
        // is there (or comes first) makes the stream readable without a
        // reader waiting.
        // (A failure leaves nothing armed; the first wait arms it.)
        let _ = self.arm(&state, Armed::Poll);
        Ok(Some(state))
    }

    /// Arms `want` for a stream's reader (a receive, or a one-shot poll
    /// for a readiness wait), unless something is in flight already or
    /// the stream is gone. An error leaves nothing armed.
    pub(crate) fn arm(&self, state: &RecvState, want: Armed) -> io::Result<()> {
        if state.in_flight() {
            // Its completion wakes the reader: nothing to arm, and no lock
            // to take (a readiness wait after a read armed its receive).
            return Ok(());
        }
        let token = state.token();
        // The lock first (then the state's, the one order), so that a new
        // ring's `take_ring` cannot arm what this arms too.
        // (A stream gone has no reader left to arm for; `entry` skips it.)
        let mut registered = lock(&self.sq);
        let request = match state.arm(want) {
            Armed::None => return Ok(()),
            Armed::Recv(len) => Queued::Recv(token, len),
            Armed::Poll => Queued::ReadPoll(token),
        };
        let submitted = self.submit_or_queue(&mut registered, request, false);
        if submitted.is_err() {
            state.complete(true, -libc::ECANCELED, 0, None);
        }
        submitted
    }

    /// Registers a TCP listener: on an owned ring (where streams read
    /// through it too) it accepts through accept requests (`accept.rs`),
    /// and the returned state is where connections land; elsewhere, as
    /// [`register`](Backend::register) (`None`).
    pub(crate) fn register_listener(
        &self,
        fd: BorrowedFd<'_>,
        token: u64,
    ) -> io::Result<Option<Arc<AcceptState>>> {
        if self.flavor == Flavor::Shared || !probe::ring_reads() {
            return self.register(fd, token).map(|()| None);
        }
        let state = Arc::new(AcceptState::new(token));
        self.add(fd, token, Some(Reader::Accept(Arc::clone(&state))))?;
        Ok(Some(state))
    }

    /// Arms an accept (or, after an error, a one-shot poll) for a waiting
    /// acceptor, unless one is in flight or a connection waits. An error
    /// leaves nothing armed.
    pub(crate) fn arm_accept(&self, state: &AcceptState) -> io::Result<()> {
        if state.in_flight() {
            return Ok(());
        }
        let token = state.token();
        // The lock first, as in `arm`.
        let mut registered = lock(&self.sq);
        let request = match state.arm() {
            Want::None => return Ok(()),
            Want::Accept => Queued::Accept(token),
            Want::Poll => Queued::ReadPoll(token),
        };
        let submitted = self.submit_or_queue(&mut registered, request, false);
        if submitted.is_err() {
            state.complete(true, -libc::ECANCELED, 0);
        }
        submitted
    }

    /// Hands this turn's stream and listener completions to their states
    /// (a buffer whose stream is gone goes straight back, a connection
    /// accepted for a listener gone is closed), and makes each slot
    /// `READABLE` so its reader looks.
    pub(super) fn complete_recvs(registered: &mut Registered, events: &mut Events) {
        for (user_data, res, flags) in events.recvs.drain(..) {
            let token = user_data & !TAGS;
            let poll = user_data & READ_POLL != 0;
            let group = ((user_data >> GROUP_SHIFT) & GROUP_MASK) as usize;
            let receive = user_data & RECV != 0;
            // Only a shortage of the newest pool makes a larger one (late
            // completions of receives on an older pool say nothing new).
            let newest = registered.pool.as_ref().map(|p| usize::from(p.group()));
            if receive && res == -libc::ENOBUFS && newest == Some(group) {
                registered.grow = true;
            }
            let pool = registered.pools.get(group);
            let reader = registered
                .by_token
                .get(&token)
                .and_then(|reg| reg.reader.as_ref());
            // What the tag says the completion is, for the reader it names
            // (anything else, a stale one, is handled as for a reader gone).
            let reader = match reader {
                Some(Reader::Recv(_)) if !(receive || poll) => None,
                Some(Reader::Accept(_)) if user_data & (ACCEPT | READ_POLL) == 0 => None,
                reader => reader,
            };
            // A request the kernel cancelled while its reader is still
            // registered (its thread exited: a new driving thread's ring
            // re-arms only what is marked in flight, and this completion
            // just cleared the mark) makes the reader look, and arm again.
            let cancelled = res == -libc::ECANCELED;
            let look = match reader {
                Some(Reader::Recv(state)) => state.complete(poll, res, flags, pool) || cancelled,
                Some(Reader::Accept(state)) => state.complete(poll, res, flags) || cancelled,
                None => {
                    if receive {
                        if let (Some(bid), Some(pool)) = (cqueue::buffer_select(flags), pool) {
                            pool.give(bid);
                        }
                    } else if user_data & ACCEPT != 0 {
                        accept::close_orphan(res);
                        // Its last completion: the kernel writes no more.
                        registered.retired.retain(|state| state.token() != token);
                    }
                    false
                }
            };
            if look {
                let ready = match (poll, res) {
                    (true, bits) if bits > 0 => {
                        Ready::from_poll_bits(bits as u32) | Ready::READABLE
                    }
                    (false, 0) if receive => Ready::READABLE | Ready::READ_CLOSED,
                    _ => Ready::READABLE,
                };
                events.backlog.push_back((token, ready));
            }
        }
    }
}
