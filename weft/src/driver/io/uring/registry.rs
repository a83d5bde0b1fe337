//! Adding and removing a descriptor's registration on a ring: `add` (the
//! tables and the descriptor's multishot poll), `deregister_reader` (every
//! request on it cancelled by `user_data`; an accept's state retired while
//! the kernel may still write its address) and `close_later` (a stream or
//! listener dropped on another thread while the owner may hold a request
//! naming it, unsubmitted: closed after the owner's next enter).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::Ordering::SeqCst;

use io_uring::squeue;

use super::accept::Want;
use super::{
    submission_len, this_thread, Flavor, Queued, Reader, Reg, Uring, ACCEPT, GROUP_SHIFT, ONESHOT,
    READ_POLL, RECV,
};
use crate::sys::lock::lock;

impl Uring {
    /// Registers `fd` under `token`, a stream or listener read through the
    /// ring if `reader` is given (its poll is then for writing only, or for
    /// errors only).
    pub(super) fn add(
        &self,
        fd: BorrowedFd<'_>,
        token: u64,
        reader: Option<Reader>,
    ) -> io::Result<()> {
        let raw = fd.as_raw_fd();
        let mut registered = lock(&self.sq);
        if registered.by_fd.contains_key(&raw) {
            return Err(io::Error::from_raw_os_error(libc::EEXIST));
        }
        registered.by_fd.insert(raw, token);
        registered.by_token.insert(
            token,
            Reg {
                fd: raw,
                reader,
                written: u64::MAX,
            },
        );
        if let Err(e) = self.submit_or_queue(&mut registered, Queued::Poll(token), false) {
            registered.by_fd.remove(&raw);
            registered.by_token.remove(&token);
            return Err(e);
        }
        Ok(())
    }

    /// [`Backend::deregister`]; true if the caller must hand the object to
    /// [`close_later`](Self::close_later) instead of closing it: an owned
    /// ring's stream or listener deregistered on a thread other than its
    /// owner, whose receive or accept the owner may have written to the
    /// submission queue and not yet submitted (it names the descriptor's
    /// number, which must not go to a new descriptor before then).
    pub(crate) fn deregister_reader(&self, fd: BorrowedFd<'_>) -> bool {
        let raw = fd.as_raw_fd();
        let mut registered = lock(&self.sq);
        let Some(token) = registered.by_fd.remove(&raw) else {
            return false;
        };
        let reg = registered.by_token.remove(&token);
        // A receive or accept written in this turn may wait unsubmitted.
        let unsubmitted_request = reg
            .as_ref()
            .is_some_and(|reg| reg.reader.is_some() && reg.written == self.turn.load(SeqCst));
        // A queued request never reaches the kernel.
        let unsubmitted = registered
            .queued
            .iter()
            .any(|request| matches!(request, Queued::Accept(t) if *t == token));
        registered
            .queued
            .retain(|request| request.token() != Some(token));
        if let Some(Reader::Accept(state)) = reg.and_then(|reg| reg.reader) {
            // An accept the kernel has may still write the address into
            // the state's buffer: it stays until its last completion.
            if state.want() == Want::Accept && !unsubmitted {
                registered.retired.push(state);
            }
        }
        // Every request on the descriptor (the multishot poll, a pending
        // rearm, a stream's receive or read poll) ends, so none keeps the
        // file open after the close (see the module's docs for when the
        // kernel lets go of it). By `user_data`, not by descriptor: a
        // cancel that runs after the close cannot hit the next owner of the
        // number. Submitted now where this thread may, so the file goes at
        // once.
        // A receive's `user_data` names its buffer group: one cancel per
        // group this ring has.
        let groups = registered.pools.len().max(1) as u64;
        let receives = (0..groups).map(|group| token | RECV | (group << GROUP_SHIFT));
        let cancels: Vec<u64> = [token, token | ONESHOT, token | READ_POLL, token | ACCEPT]
            .into_iter()
            .chain(receives)
            .collect();
        let mine = registered.driver == this_thread();
        if mine || self.flavor == Flavor::Shared {
            let entries: Vec<squeue::Entry> = cancels.into_iter().map(Uring::cancel).collect();
            let _ = self.push(&mut registered, &entries, true);
            // The owner's enter just now submitted what it had written,
            // unless the kernel cut it short.
            self.flavor == Flavor::Owned
                && unsubmitted_request
                && registered
                    .ring
                    .as_deref()
                    .is_some_and(|ring| submission_len(ring) > 0)
        } else {
            registered
                .queued
                .extend(cancels.into_iter().map(Queued::Cancel));
            self.wake_locked(&mut registered);
            unsubmitted_request && registered.ring.is_some()
        }
    }

    /// Closes `io` (a stream or listener `deregister_reader` kept open)
    /// after the owner's next entry into the ring has submitted what it
    /// wrote for it: at the end of its next `wait`, or with the ring (a
    /// new driving thread's, or the driver's drop).
    pub(crate) fn close_later(&self, io: Box<dyn Send>) {
        let mut registered = lock(&self.sq);
        if registered.ring.is_none() {
            // Nothing can be submitted any more.
            drop(registered);
            drop(io);
            return;
        }
        registered.closing.push(io);
        self.closing.store(true, SeqCst);
        // The owner's turn closes it (the cancels `deregister_reader` queued
        // woke it already, but that turn may have gone by).
        self.wake_locked(&mut registered);
    }
}
