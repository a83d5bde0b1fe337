//! The io_uring backend: readiness from multishot poll requests on a ring.
//!
//! Each registered descriptor gets one multishot `POLL_ADD` for read and
//! write together. io_uring's multishot poll is edge-triggered (unless
//! asked for `IORING_POLL_ADD_LEVEL`), so every completion is one edge, the
//! same contract as the epoll backend's `EPOLLET` registration, and the
//! slab, `Evented` and everything above see no difference. `rearm` adds a
//! one-shot poll that reports the current readiness (epoll's
//! `EPOLL_CTL_MOD`); `deregister` cancels every request on the descriptor
//! (`ASYNC_CANCEL` by fd) before the caller closes it, so that no request
//! keeps the file open. The wake-up eventfd is polled the same way, under
//! [`WAKE_TOKEN`].
//!
//! Who submits. The kernel completes a poll in the context of the thread
//! that submitted it (its "task work"), so a poll submitted by a thread
//! that is asleep elsewhere (a `block_on` thread waiting for a task, a
//! blocking-pool thread) reaches the ring only once that thread is woken to
//! run it: later than the driving thread's next turn, which then misses it.
//! So polls are submitted by the thread that drives the loop: a
//! registration or re-arm made on any other thread is queued (under the
//! lock that guards the submission queue) and the driver woken; its next
//! `wait` submits the queue before it blocks. The driving thread is the one
//! that last called `wait`; its own registrations go in at once, one
//! `io_uring_enter` as epoll's one `epoll_ctl`. Cancelling (`deregister`)
//! is submitted at once from whichever thread, so that the close that
//! follows really closes. A thread that exits takes its requests with it
//! (the kernel cancels them): a poll that completes with `ECANCELED` while
//! its descriptor is still registered is submitted again, by the driving
//! thread. (Ending a poll ourselves takes the descriptor out of the table
//! first, so its `ECANCELED` is not resubmitted.)
//!
//! The ring is set up with `COOP_TASKRUN`: a thread's completion work runs
//! when it next enters the kernel (the driving thread does, every turn) or,
//! if it sleeps, when the kernel wakes it for that work; it is never
//! interrupted for it. So a poll submitted by a thread that no longer drives
//! (a multi-thread runtime's worker that drove before, now running a task)
//! reports when that thread next makes a syscall or takes a timer tick, not
//! at once: a delay of microseconds in a busy worker, up to a scheduler tick
//! in one computing without syscalls. A cancel's effect (the file let go)
//! follows the same rule.
//!
//! This is readiness through the ring: it costs a little more per event
//! than epoll (BENCHMARKS.md). Where the ring gains (receives into provided
//! buffers, a ring per worker, one `io_uring_enter` per turn for
//! everything) builds on it.

pub(crate) mod probe;

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use io_uring::{cqueue, opcode, squeue, types, IoUring};
use rustix::event::{eventfd, EventfdFlags};

use super::backend::Backend;
use super::ready::Ready;
use super::slab::MAX_SLOTS;
use crate::sys::lock::lock;

/// The wake-up eventfd's poll. Slot tokens never reach it: their index is
/// below the slab's capacity.
const WAKE_TOKEN: u64 = u64::MAX;
/// The `user_data` of cancellations: their own completions are dropped.
const CANCEL_TOKEN: u64 = u64::MAX - 1;
/// Set in a token's index bits for a one-shot poll (a `rearm`): its
/// completion reports readiness but is never resubmitted.
const ONESHOT: u64 = 1 << 31;
const _: () = assert!(
    MAX_SLOTS as u64 <= ONESHOT,
    "slot indices stay below ONESHOT"
);

/// Every poll asks for these: readable, writable, urgent data and the
/// peer's half-close; POLLHUP and POLLERR are always reported.
const INTEREST: u32 = (libc::POLLIN | libc::POLLOUT | libc::POLLPRI | libc::POLLRDHUP) as u32;

/// Submission and completion queue sizes. Registrations are submitted as
/// they come, so the submission queue stays nearly empty; completions wait
/// for the next turn, and beyond this many the kernel keeps them
/// (`IORING_FEAT_NODROP`, which the probe requires) until we reap.
const SQ_ENTRIES: u32 = 256;
const CQ_ENTRIES: u32 = 4096;

/// A ring, its registrations, and its wake-up eventfd.
pub(crate) struct Uring {
    ring: IoUring,
    /// Held while anything is written to the submission queue and
    /// submitted; the registered descriptors, to resubmit a poll the kernel
    /// ended.
    sq: Mutex<Registered>,
    wake_fd: OwnedFd,
    /// Set by the first `wake` after the driving thread last saw the
    /// eventfd's poll complete; later wakes skip the `write` until then.
    wake_pending: AtomicBool,
}

/// The descriptors with a poll on the ring (or queued for one), both ways
/// round, and the polls other threads queued for the driving thread.
#[derive(Default)]
struct Registered {
    by_fd: HashMap<RawFd, u64>,
    by_token: HashMap<u64, RawFd>,
    /// `(fd, user_data, multishot)` of polls to submit at the next `wait`.
    queued: Vec<(RawFd, u64, bool)>,
    /// The thread that last called `wait` ([`this_thread`]; 0: none yet).
    driver: usize,
}

/// An identifier of the calling thread, unique among live threads.
fn this_thread() -> usize {
    thread_local!(static ME: u8 = const { 0 });
    ME.with(|me| me as *const u8 as usize)
}

/// What one `wait` reaped: readiness, and the tokens whose multishot poll
/// the kernel ended (`ECANCELED`) to submit again.
pub(crate) struct Events {
    ready: Vec<(u64, Ready)>,
    capacity: usize,
    resubmit: Vec<u64>,
}

impl Uring {
    /// Writes `entries` to the submission queue and submits them. The
    /// guard proves the caller holds `sq`.
    fn submit(
        &self,
        _held: &mut MutexGuard<'_, Registered>,
        entries: &[squeue::Entry],
    ) -> io::Result<()> {
        for entry in entries {
            loop {
                // SAFETY: the submission queue is only touched with `sq`'s
                // lock held (`_held`), so no other `SubmissionQueue` exists.
                let mut sq = unsafe { self.ring.submission_shared() };
                // SAFETY: poll, poll-remove and cancel entries point at no
                // memory of ours (an fd and flags, or a `user_data`).
                if unsafe { sq.push(entry) }.is_ok() {
                    break;
                }
                drop(sq);
                // Full: submit what is there to make room.
                self.ring.submit()?;
            }
        }
        self.ring.submit()?;
        Ok(())
    }

    /// Submits a poll now on the driving thread; queues it for the driving
    /// thread's next `wait` (and wakes it) on any other.
    fn submit_or_queue(
        &self,
        registered: &mut MutexGuard<'_, Registered>,
        fd: RawFd,
        user_data: u64,
        multi: bool,
    ) -> io::Result<()> {
        if registered.driver == this_thread() {
            return self.submit(registered, &[Uring::poll(fd, user_data, multi)]);
        }
        registered.queued.push((fd, user_data, multi));
        self.wake();
        Ok(())
    }

    /// On the driving thread, before it blocks: submits the polls other
    /// threads queued, and the polls the kernel ended that are to go again.
    fn submit_queued(&self, resubmit: &[u64]) {
        let mut registered = lock(&self.sq);
        registered.driver = this_thread();
        if registered.queued.is_empty() && resubmit.is_empty() {
            return;
        }
        let mut entries: Vec<squeue::Entry> = registered
            .queued
            .drain(..)
            .map(|(fd, user_data, multi)| Uring::poll(fd, user_data, multi))
            .collect();
        entries.extend(resubmit.iter().filter_map(|token| {
            let fd = *registered.by_token.get(token)?;
            Some(Uring::poll(fd, *token, true))
        }));
        // A failure here (the ring refusing a submission: out of memory)
        // leaves those descriptors without events; there is no caller to
        // tell.
        let _ = self.submit(&mut registered, &entries);
    }

    fn poll(fd: RawFd, user_data: u64, multi: bool) -> squeue::Entry {
        opcode::PollAdd::new(types::Fd(fd), INTEREST)
            .multi(multi)
            .build()
            .user_data(user_data)
    }

    /// Turns one completion into readiness, or a wake, or a poll to submit
    /// again. Returns true for the wake-up eventfd's.
    fn reap_one(&self, entry: &cqueue::Entry, events: &mut Events) -> bool {
        let (user_data, res, more) = (
            entry.user_data(),
            entry.result(),
            cqueue::more(entry.flags()),
        );
        match user_data {
            WAKE_TOKEN => {
                if !more {
                    events.resubmit.push(WAKE_TOKEN);
                }
                true
            }
            CANCEL_TOKEN => false,
            token if token & ONESHOT != 0 => {
                if res > 0 {
                    events
                        .ready
                        .push((token & !ONESHOT, Ready::from_poll_bits(res as u32)));
                }
                false
            }
            token => {
                if res >= 0 {
                    events
                        .ready
                        .push((token, Ready::from_poll_bits(res as u32)));
                } else if res == -libc::ECANCELED {
                    // The thread that submitted it exited (or we cancelled
                    // it and it is no longer registered: `resubmit` skips it).
                    events.resubmit.push(token);
                } else if !more {
                    // The poll failed: let the operation find out why.
                    events.ready.push((token, Ready::ERROR));
                }
                false
            }
        }
    }
}

impl Backend for Uring {
    type Events = Events;

    fn new() -> io::Result<Uring> {
        probe::check().map_err(|reason| io::Error::new(io::ErrorKind::Unsupported, reason))?;
        // COOP_TASKRUN: the kernel runs a thread's completion work when it
        // next enters the kernel (the driving thread does each turn), waking
        // it if it sleeps, instead of interrupting it at once; TASKRUN_FLAG
        // marks the ring when such work waits, so the next wait collects it.
        // Measured: the interrupt per event doubled the server's CPU per
        // message in `bench echo`.
        let ring = IoUring::builder()
            .setup_cqsize(CQ_ENTRIES)
            .setup_coop_taskrun()
            .setup_taskrun_flag()
            .build(SQ_ENTRIES)?;
        let wake_fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        let uring = Uring {
            ring,
            sq: Mutex::new(Registered::default()),
            wake_fd,
            wake_pending: AtomicBool::new(false),
        };
        {
            // Queued for the first driving thread, like every poll made
            // before one drives.
            let mut registered = lock(&uring.sq);
            let fd = uring.wake_fd.as_raw_fd();
            registered.by_token.insert(WAKE_TOKEN, fd);
            registered.queued.push((fd, WAKE_TOKEN, true));
        }
        Ok(uring)
    }

    fn events(capacity: usize) -> Events {
        Events {
            ready: Vec::with_capacity(capacity.max(1)),
            capacity: capacity.max(1),
            resubmit: Vec::new(),
        }
    }

    fn register(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        refuse_unpollable(fd)?;
        let raw = fd.as_raw_fd();
        let mut registered = lock(&self.sq);
        if registered.by_fd.contains_key(&raw) {
            return Err(io::Error::from_raw_os_error(libc::EEXIST));
        }
        self.submit_or_queue(&mut registered, raw, token, true)?;
        registered.by_fd.insert(raw, token);
        registered.by_token.insert(token, raw);
        Ok(())
    }

    fn rearm(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        let raw = fd.as_raw_fd();
        let mut registered = lock(&self.sq);
        if registered.by_fd.get(&raw) != Some(&token) {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        }
        self.submit_or_queue(&mut registered, raw, token | ONESHOT, false)
    }

    fn deregister(&self, fd: BorrowedFd<'_>) {
        let raw = fd.as_raw_fd();
        let mut registered = lock(&self.sq);
        let Some(token) = registered.by_fd.remove(&raw) else {
            return;
        };
        registered.by_token.remove(&token);
        // A queued poll never reaches the kernel; if the multishot poll was
        // still queued, nothing is on the ring to cancel.
        let mut was_queued = false;
        registered.queued.retain(|&(fd, user_data, _)| {
            let ours = fd == raw;
            was_queued |= ours && user_data == token;
            !ours
        });
        if was_queued {
            return;
        }
        // Every request on the descriptor (the multishot poll, a pending
        // rearm) ends now, so none holds the file open after the close.
        let cancel = opcode::AsyncCancel2::new(types::CancelBuilder::fd(types::Fd(raw)).all())
            .build()
            .user_data(CANCEL_TOKEN);
        let _ = self.submit(&mut registered, &[cancel]);
    }

    fn wake(&self) {
        if !self.wake_pending.swap(true, SeqCst) {
            // Never drained: the poll reports each write's wake-up (it is
            // edge-triggered), and a u64 counter of single wakes does not
            // overflow.
            let _ = rustix::io::write(&self.wake_fd, &1u64.to_ne_bytes());
        }
    }

    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<(usize, bool)> {
        events.ready.clear();
        // Polls other threads queued, and those the last turn found ended.
        self.submit_queued(&events.resubmit);
        events.resubmit.clear();
        // SAFETY: only the thread in `wait` reads the completion queue, and
        // the driver lets one thread at a time wait.
        let waiting = unsafe { self.ring.completion_shared() }.is_empty();
        if waiting {
            let submitter = self.ring.submitter();
            let entered = match timeout {
                None => submitter.submit_and_wait(1),
                Some(timeout) => {
                    let ts = types::Timespec::from(timeout);
                    let args = types::SubmitArgs::new().timespec(&ts);
                    submitter.submit_with_args(1, &args)
                }
            };
            if let Err(e) = entered {
                // Timed out, interrupted by a signal (nothing ready then), or
                // completions to reap first: none of them an error.
                if !matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY)
                ) {
                    return Err(e);
                }
            }
        }
        let mut woken = false;
        {
            // SAFETY: as above.
            let mut cq = unsafe { self.ring.completion_shared() };
            // More than `capacity` completions wait for the next turn (which
            // then does not block).
            while events.ready.len() < events.capacity {
                let Some(entry) = cq.next() else { break };
                woken |= self.reap_one(&entry, events);
            }
        }
        if woken {
            // A swap, not a store: it reads the `true` written by the last
            // `wake`, so that the waker's earlier writes happen-before the
            // loop's next look at its queues.
            self.wake_pending.swap(false, SeqCst);
        }
        if !events.resubmit.is_empty() {
            // Now, not at the next turn's start: a poll the kernel ended
            // must not miss an edge in between.
            self.submit_queued(&events.resubmit);
            events.resubmit.clear();
        }
        Ok((events.ready.len(), woken))
    }

    fn ready_events(events: &Events) -> impl Iterator<Item = (u64, Ready)> + '_ {
        events.ready.iter().copied()
    }
}

/// epoll refuses what it cannot poll (regular files, directories) with
/// `EPERM`; a ring would accept them and report them ready at once. The
/// same error keeps both backends alike.
fn refuse_unpollable(fd: BorrowedFd<'_>) -> io::Result<()> {
    let stat = rustix::fs::fstat(fd)?;
    match rustix::fs::FileType::from_raw_mode(stat.st_mode) {
        rustix::fs::FileType::RegularFile | rustix::fs::FileType::Directory => {
            Err(io::Error::from_raw_os_error(libc::EPERM))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    /// A ring, or `None` (printing why) where this machine cannot run one.
    fn uring() -> Option<Uring> {
        match Uring::new() {
            Ok(uring) => Some(uring),
            Err(e) => {
                println!("skipped: io_uring unavailable here: {e}");
                None
            }
        }
    }

    /// The readiness of the first turn (within 5 s) that has any; a turn
    /// that only submits queued polls or sees a wake has none.
    fn wait_for(uring: &Uring, events: &mut Events) -> Vec<(u64, Ready)> {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            uring
                .wait(events, Some(Duration::from_millis(100)))
                .unwrap();
            let seen: Vec<_> = Uring::ready_events(events).collect();
            if !seen.is_empty() {
                return seen;
            }
        }
        Vec::new()
    }

    #[test]
    fn a_wake_ends_a_blocking_wait_once() {
        let Some(uring) = uring() else { return };
        let mut events = Uring::events(4);
        // The first turn (as the driving thread) may see the wake-up poll
        // armed; then a wake ends a blocking wait.
        uring.wait(&mut events, Some(Duration::ZERO)).unwrap();
        uring.wake();
        uring.wake(); // coalesced: one write
        assert_eq!(uring.wait(&mut events, None).unwrap(), (0, true));
        // Nothing more: the next wait times out.
        assert_eq!(
            uring
                .wait(&mut events, Some(Duration::from_millis(1)))
                .unwrap(),
            (0, false)
        );
    }

    #[test]
    fn a_registered_socket_reports_edges_under_its_token() {
        let Some(uring) = uring() else { return };
        let mut events = Uring::events(4);
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        uring.register(a.as_fd(), 7).unwrap();
        // Registered writable: the first edge.
        let seen = wait_for(&uring, &mut events);
        assert!(seen.iter().all(|(token, _)| *token == 7), "{seen:?}");
        assert!(
            seen.iter().any(|(_, r)| r.intersects(Ready::WRITABLE)),
            "{seen:?}"
        );
        // Data: an edge with READABLE.
        b.write_all(b"x").unwrap();
        let seen = wait_for(&uring, &mut events);
        assert!(
            seen.iter().any(|(t, r)| *t == 7 && r.is_readable()),
            "{seen:?}"
        );
        // Still readable, no new edge: nothing until re-armed.
        assert_eq!(
            uring
                .wait(&mut events, Some(Duration::from_millis(1)))
                .unwrap()
                .0,
            0
        );
        uring.rearm(a.as_fd(), 7).unwrap();
        let seen = wait_for(&uring, &mut events);
        assert!(
            seen.iter().any(|(t, r)| *t == 7 && r.is_readable()),
            "{seen:?}"
        );
        // Twice is refused, as epoll refuses it.
        assert_eq!(
            uring.register(a.as_fd(), 8).unwrap_err().raw_os_error(),
            Some(libc::EEXIST)
        );
        // Deregistered, then closed: the ring holds nothing on it, so the
        // peer sees the close at once (the byte read first: closing with
        // unread data would reset the peer instead).
        assert_eq!((&a).read(&mut [0u8; 1]).unwrap(), 1);
        uring.deregister(a.as_fd());
        drop(a);
        let mut buf = [0u8; 1];
        b.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(b.read(&mut buf).unwrap(), 0, "the peer reads end-of-file");
    }

    #[test]
    fn regular_files_are_refused_as_epoll_refuses_them() {
        let Some(uring) = uring() else { return };
        let file = std::fs::File::open("/proc/self/exe").unwrap();
        let err = uring.register(file.as_fd(), 1).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM));
    }

    #[test]
    fn more_completions_than_the_buffer_wait_for_the_next_turn() {
        let Some(uring) = uring() else { return };
        let mut events = Uring::events(2);
        let pairs: Vec<_> = (0..5u64)
            .map(|i| {
                let (a, b) = UnixStream::pair().unwrap();
                uring.register(a.as_fd(), 100 + i).unwrap();
                (a, b)
            })
            .collect();
        let mut tokens = Vec::new();
        while tokens.len() < 5 {
            let seen = wait_for(&uring, &mut events);
            assert!(seen.len() <= 2, "{seen:?}");
            assert!(!seen.is_empty(), "a registration's first edge was lost");
            tokens.extend(seen.into_iter().map(|(t, _)| t));
        }
        tokens.sort_unstable();
        tokens.dedup();
        assert_eq!(tokens, (100..105).collect::<Vec<_>>());
        for (a, _) in &pairs {
            uring.deregister(a.as_fd());
        }
    }
}
