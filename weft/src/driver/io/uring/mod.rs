//! The io_uring backend: readiness from multishot poll requests on a ring.
//!
//! Each registered descriptor gets one multishot `POLL_ADD` for read and
//! write together. io_uring's multishot poll is edge-triggered (unless
//! asked for `IORING_POLL_ADD_LEVEL`), so every completion is one edge, the
//! same contract as the epoll backend's `EPOLLET` registration, and the
//! slab, `Evented` and everything above see no difference. `rearm` adds a
//! one-shot poll that reports the current readiness (epoll's
//! `EPOLL_CTL_MOD`); `deregister` cancels every request on the descriptor
//! (submitted before the caller closes it where this thread may submit,
//! else queued for the driving thread; a TCP stream or listener dropped on
//! another thread while the owner of an owned ring has written a receive
//! or accept naming it and not yet submitted it is closed only after the
//! owner's next enter, `registry.rs`).
//!
//! Two flavors of ring ([`Flavor`]), by who drives the loop.
//!
//! **Owned** (a current-thread runtime: one thread drives, mostly the same
//! one). The ring is set up `SINGLE_ISSUER | DEFER_TASKRUN`: only its owner
//! thread submits to it or waits on it, and the kernel runs the ring's
//! completion work (a poll's wake-up, a cancel) only when the owner enters
//! the ring asking for completions, so a turn costs one `io_uring_enter`
//! that submits, runs that work and waits, and nothing interrupts the owner
//! between turns. The ring is made disabled and the first thread to `wait`
//! enables it and becomes its owner; a later `wait` from another thread
//! builds a new ring of its own and arms every registered descriptor on it
//! (a new poll reports the descriptor's readiness at once, so no edge the
//! old ring had not reported is lost; closing the old ring ends its
//! requests). Every other thread queues what it asks for (polls, re-arms,
//! cancels) under the lock and wakes the owner through an eventfd, whose
//! multishot poll on the ring completes under [`WAKE_TOKEN`]. The owner's
//! own registrations wait in the submission queue for its next turn; its
//! cancels are entered at once together with the ring's completion work,
//! so a socket closed on the owning thread lets go of its file at once,
//! even when no turn follows (a runtime no longer driven); but the kernel
//! runs a bounded batch of completion work per entry (recent kernels), so
//! behind a large backlog the file goes at the next turn. One closed on
//! another thread lets go of it at the owner's next turn, or when the
//! driver is dropped (which closes the ring). A new driving thread first
//! takes what the old ring completed and nobody read (a close runs the
//! ring's completion work outside a turn: a receive may have taken bytes),
//! so no received byte is lost in the handover. Each change of driving
//! thread builds a ring: a runtime driven by threads in turn pays that per
//! change.
//!
//! A multi-thread runtime takes an owned ring per worker (`rings.rs`),
//! where the kernel has `DEFER_TASKRUN`; where it has not, one shared
//! ring:
//!
//! **Shared** (a multi-thread runtime, whose workers take turns driving).
//! The ring is set up `COOP_TASKRUN`, and any thread may submit. The kernel
//! completes a poll in the context of the thread that submitted it (its
//! "task work"): a poll owned by a thread that is not the one waiting on
//! the ring costs a wake-up of that thread per event (or waits for it,
//! below), and the kernel cancels a thread's requests when it exits. So
//! polls are submitted by the thread that drives the loop: a registration
//! or re-arm made on any other thread is queued (under the lock that guards
//! the submission queue) and the driver woken with a `NOP` the waking
//! thread submits; its next `wait` submits the queue before it blocks. The
//! driving thread is the one that last called `wait`; its own registrations
//! go in at once, one `io_uring_enter` as epoll's one `epoll_ctl`.
//! `COOP_TASKRUN`: a thread's completion work runs when it next enters the
//! kernel (the driving thread does, every turn) or, if it sleeps, when the
//! kernel wakes it for that work; it is never interrupted for it
//! (measured: the interrupt per event doubled the server CPU per message
//! of `bench echo`). So a poll owned by a thread that no longer drives (a
//! worker that drove before, now running a task) reports when that thread
//! next makes a syscall or takes a timer tick: microseconds in a busy
//! worker, up to a scheduler tick in one computing without syscalls. A
//! cancel lets go of the file the same way: at once when the poll's owner
//! is the cancelling thread or waits on the ring, else at the owner's next
//! entry into the kernel. So on this flavor a close (the peer's
//! end-of-file, a port free to bind again) may lag the `drop` by that
//! much, where on epoll it is immediate.
//!
//! In both, a poll that completes without `IORING_CQE_F_MORE` (its thread
//! exited: `ECANCELED`; or the kernel could not post a completion) while
//! its descriptor is still registered is submitted again by the driving
//! thread, and reports the current readiness, so no edge is lost. A
//! deregistration cancels by `user_data` (the slot's token, which carries
//! its generation), never by descriptor, so a cancel that runs after the
//! close cannot reach the next owner of the number.
//!
//! **TCP streams on an owned ring** (`register_stream`) read through the
//! ring: their multishot poll asks for room to write only, and a read that
//! finds nothing arms one `recv` into the ring's provided buffers
//! ([`bufs::Pool`], made when a receive first needs it), whose completion
//! holds the bytes in the stream's [`RecvState`] until the reader copies
//! them out; readiness waits arm a one-shot `POLLIN` poll. `recv.rs` says
//! when a read looks at the socket directly instead, and why byte order
//! holds. **TCP listeners on an owned ring** (`register_listener`) accept
//! the same way: their poll asks for nothing (errors only), and an accept
//! that finds nothing arms one `IORING_OP_ACCEPT` with the peer's address
//! written into the listener's [`AcceptState`] (`accept.rs` says when the
//! accept is direct instead, and why not multishot). Completions for these
//! carry the `RECV`, `READ_POLL` or `ACCEPT` bit and are handed to their
//! states after each reap (`reading.rs`: `complete_recvs`), which makes the
//! slot `READABLE`. Other sockets, pipes and a shared ring's streams and
//! listeners read and accept as on epoll. (A ring per worker is a set of
//! owned rings: its streams and listeners read and accept through them.)
//!
//! Writes stay `send(2)` (and `writev`), with the ring only for waiting for
//! room: sends submitted through the ring measured no cheaper at a fixed
//! load, even on the hand-written floor (BENCHMARKS.md), and a write that
//! returns has its bytes in the kernel, as on epoll.
//!
//! Completions are all taken off the ring each turn (into [`Events`]'s
//! backlog, `max_io_events_per_tick` of them handed out per turn), so the
//! ring's completion queue never overflows because of our pacing.
//!
//! Costs (BENCHMARKS.md): readiness through a shared ring costs a little
//! more per event than epoll; on an owned ring a TCP echo makes one
//! syscall per message (the send) where epoll makes two, yet, on the VM
//! measured, 1.06–1.21 × epoll's server CPU per message at a fixed load
//! (the hand-written io_uring floor itself: 1.01–1.09 × the epoll one).

pub(crate) mod accept;
mod bufs;
pub(crate) mod probe;
mod reading;
pub(crate) mod recv;
mod registry;
pub(crate) mod rings;

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use io_uring::{cqueue, opcode, squeue, types, IoUring};

use super::backend::Backend;
use super::ready::Ready;
use super::slab::MAX_SLOTS;
use crate::sys::lock::lock;
use accept::{AcceptState, Want};
use bufs::Pool;
pub(crate) use reading::Reader;
use recv::Armed;

/// A wake (a `NOP`, or the wake eventfd's poll). Slot tokens never reach
/// it: their index is below the slab's capacity.
const WAKE_TOKEN: u64 = u64::MAX;
/// The `user_data` of cancellations: their own completions are dropped.
const CANCEL_TOKEN: u64 = u64::MAX - 1;
/// Set in a token's index bits for a one-shot poll (a `rearm`): its
/// completion reports readiness but is never resubmitted.
const ONESHOT: u64 = 1 << 31;
/// Set in a token's index bits for a stream's `recv` (`recv.rs`).
const RECV: u64 = 1 << 30;
/// Set in a token's index bits for a stream's (or a listener's) one-shot
/// `POLLIN` poll.
const READ_POLL: u64 = 1 << 29;
/// Set in a token's index bits for a listener's accept (`accept.rs`).
const ACCEPT: u64 = 1 << 28;
/// A receive's buffer group, in the token's index bits 21 to 27: which of
/// the ring's pools its buffer comes from.
const GROUP_SHIFT: u32 = 21;
const GROUP_MASK: u64 = 0x7F;
/// The bits above that mark what a completion is for.
const TAGS: u64 = ONESHOT | RECV | READ_POLL | ACCEPT | (GROUP_MASK << GROUP_SHIFT);
const _: () = assert!(
    MAX_SLOTS as u64 <= 1 << GROUP_SHIFT && (GROUP_MASK << GROUP_SHIFT) < ACCEPT,
    "slot indices stay below the tag bits"
);

/// Every poll asks for these: readable, writable, urgent data and the
/// peer's half-close; POLLHUP and POLLERR are always reported.
const INTEREST: u32 = (libc::POLLIN | libc::POLLOUT | libc::POLLPRI | libc::POLLRDHUP) as u32;
/// A stream received through the ring polls for room to write only: its
/// read side is its receives' (and, for a readiness wait, a one-shot poll
/// for [`READ_INTEREST`]).
const STREAM_INTEREST: u32 = libc::POLLOUT as u32;
const READ_INTEREST: u32 = (libc::POLLIN | libc::POLLPRI | libc::POLLRDHUP) as u32;
/// A listener accepted through the ring polls for nothing but errors
/// (always reported): its connections come from its accepts (and, after an
/// error, a one-shot poll for [`READ_INTEREST`]).
const LISTEN_INTEREST: u32 = 0;
/// `IORING_RECVSEND_POLL_FIRST`: a receive armed when nothing is expected
/// waits for data before it tries.
const RECVSEND_POLL_FIRST: u16 = 1;

/// Submission and completion queue sizes. A turn's entries are submitted
/// by its one `io_uring_enter` (a full queue is submitted early, to make
/// room); every turn takes all completions off the ring.
const SQ_ENTRIES: u32 = 256;
const CQ_ENTRIES: u32 = 4096;

/// How many times a submission that the kernel answers with `EAGAIN` or
/// `ENOMEM` (short of memory for a moment) is tried again before giving up.
const SUBMIT_TRIES: usize = 100;

/// Who may use the ring (see the module's docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `COOP_TASKRUN`: any thread may submit; the driving thread submits
    /// the polls (a multi-thread runtime, whose workers take turns driving).
    Shared,
    /// `SINGLE_ISSUER | DEFER_TASKRUN`: only the driving thread enters the
    /// ring, which it owns; a new driving thread builds a new ring (a
    /// current-thread runtime).
    Owned,
}

/// A ring and its registrations.
pub(crate) struct Uring {
    flavor: Flavor,
    /// Held while anything is written to the submission queue and
    /// submitted; the ring, the registered descriptors (to resubmit a poll
    /// the kernel ended, or all of them on a new ring).
    sq: Mutex<Registered>,
    /// Set by the first `wake` after the driving thread last saw a wake
    /// complete; later wakes skip the submission until then.
    wake_pending: AtomicBool,
    /// `Registered::closing` may hold something (looked at without the
    /// lock after each turn's enter).
    closing: AtomicBool,
    /// `Owned`: the owner's turns, counted after each turn's enter. Only
    /// the owner writes to the submission queue, and never during an
    /// enter, so an entry written while this read `n` is submitted once it
    /// reads more (`Reg::written`, `deregister_reader`).
    turn: AtomicU64,
    /// A ring per worker's look for a paused clock's auto-advance
    /// (`may_be_handling`; kept up only with feature `test-util`). `None`
    /// elsewhere.
    settle: Option<rings::Settle>,
}

/// The ring, the descriptors with a poll on it (or queued for one), both
/// ways round, and the requests other threads queued for the driving
/// thread.
struct Registered {
    /// Replaced (`Owned`) when another thread takes over the driving; the
    /// driving thread holds a clone while it waits, outside the lock.
    /// `None` once the driver is gone (`shutdown`): closing the ring ends
    /// every request on it, so no file stays held.
    ring: Option<Arc<IoUring>>,
    /// `Owned`: the ring has had its owner since it was made (enabled).
    owned: bool,
    by_fd: Map<RawFd, u64>,
    by_token: Map<u64, Reg>,
    /// Requests to submit at the next `wait`.
    queued: Vec<Queued>,
    /// The thread that last called `wait` ([`this_thread`]; 0: none yet).
    driver: usize,
    /// `Owned`: the pool new receives take buffers from, made when a
    /// receive first needs one (sized from the streams registered then),
    /// replaced by one twice as large after an `ENOBUFS` (`grow`).
    pool: Option<Arc<Pool>>,
    /// Every pool of the current ring, by buffer group (a receive's
    /// `user_data` names its group): a completion finds its buffer's pool.
    pools: Vec<Arc<Pool>>,
    /// A receive found no buffer: the next receive makes a larger pool.
    grow: bool,
    /// Making a pool failed on this ring: receives fall back to polls (not
    /// tried again for every read).
    pool_failed: bool,
    /// Listeners gone with an accept in flight: the kernel may still write
    /// the address into their state's buffer until the accept's last
    /// completion (which closes a connection it brought) or the ring's
    /// close, so their state stays here until then.
    retired: Vec<Arc<AcceptState>>,
    /// Streams and listeners dropped on another thread, kept open until
    /// the owner's next entry into the ring (`close_later`).
    closing: Vec<Box<dyn Send>>,

    /// `Owned`: the eventfd a wake writes to (its multishot poll on the
    /// ring completes under [`WAKE_TOKEN`]). Never read: each write wakes
    /// the poll whatever the count, and a count left non-zero makes the
    /// poll a new ring arms report at once (a spurious wake, never a lost
    /// one). Do not drain it as epoll's is drained.
    wake_fd: Option<OwnedFd>,
}

/// The tables' hash of their keys (slot tokens, descriptors): one
/// multiply. The keys are distinct numbers the runtime hands out, never
/// chosen by a peer, so `std`'s keyed hash buys nothing here and costs
/// two lookups' worth per message.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn write_i32(&mut self, n: i32) {
        self.0 = u64::from(n as u32);
    }
}

type Map<K, V> = HashMap<K, V, BuildHasherDefault<KeyHasher>>;

/// A registered descriptor.
struct Reg {
    fd: RawFd,
    /// The `Uring::turn` in which a receive or accept naming `fd` was last
    /// written to the submission queue: the current one means it may not
    /// be submitted yet (`deregister_reader`).
    written: u64,
    /// What reads it through the ring, if anything does.
    reader: Option<Reader>,
}

/// A request for the ring, resolved into an entry by the thread that
/// submits it (the descriptor from the registration, so that one closed in
/// between is never named; an entry the owner wrote and has not submitted
/// yet keeps its stream or listener open, see `deregister_reader`).
#[derive(Clone, Copy, Debug)]
enum Queued {
    /// The multishot poll of a registered token ([`WAKE_TOKEN`]: the wake
    /// eventfd's).
    Poll(u64),
    /// A one-shot poll for the token's interest (a `rearm`).
    Rearm(u64),
    /// A stream's receive of at most this many bytes.
    Recv(u64, u32),
    /// A stream's (or a listener's) one-shot `POLLIN` poll.
    ReadPoll(u64),
    /// A listener's accept.
    Accept(u64),
    /// Cancel every request under this `user_data`.
    Cancel(u64),
}

impl Queued {
    /// The registration it is for (`None`: a cancel, kept to the end).
    fn token(self) -> Option<u64> {
        match self {
            Queued::Poll(t)
            | Queued::Rearm(t)
            | Queued::Recv(t, _)
            | Queued::ReadPoll(t)
            | Queued::Accept(t) => Some(t),
            Queued::Cancel(_) => None,
        }
    }
}

impl Registered {
    /// Makes the pool new receives use where there is none yet (two
    /// buffers per registered stream, at least `MIN_COUNT`), or, after an
    /// `ENOBUFS`, one twice as large (up to `MAX_COUNT`; the old one stays
    /// for the buffers it lent). A pool the kernel refuses leaves the old
    /// one in use (or none: receives become polls and direct reads).
    fn ensure_pool(&mut self) {
        let grow = self.grow
            && self
                .pool
                .as_ref()
                .is_some_and(|p| p.count() < bufs::MAX_COUNT);
        self.grow = false;
        if (self.pool.is_some() && !grow) || self.pool_failed {
            return;
        }
        let streams = self
            .by_token
            .values()
            .filter(|reg| matches!(reg.reader, Some(Reader::Recv(_))))
            .count();
        let wanted = match &self.pool {
            Some(pool) => usize::from(pool.count()) * 2,
            None => streams.saturating_mul(2),
        };
        let count = wanted
            .clamp(usize::from(bufs::MIN_COUNT), usize::from(bufs::MAX_COUNT))
            .next_power_of_two() as u16;
        let group = self.pools.len();
        let made = match &self.ring {
            Some(ring) if group as u64 <= GROUP_MASK => Pool::new(ring, count, group as u16),
            _ => Err(io::ErrorKind::Unsupported.into()),
        };
        match made {
            Ok(pool) => {
                let pool = Arc::new(pool);
                self.pools.push(Arc::clone(&pool));
                self.pool = Some(pool);
            }
            Err(_) => self.pool_failed = self.pool.is_none(),
        }
    }

    /// The entry for `request`, or `None` if its registration is gone;
    /// written to the submission queue in the owner's `turn`.
    fn entry(&mut self, request: Queued, turn: u64) -> Option<squeue::Entry> {
        let interest = |reg: &Reg| match reg.reader {
            Some(Reader::Recv(_)) => STREAM_INTEREST,
            Some(Reader::Accept(_)) => LISTEN_INTEREST,
            None => INTEREST,
        };
        Some(match request {
            Queued::Cancel(user_data) => Uring::cancel(user_data),
            Queued::Poll(WAKE_TOKEN) => {
                let fd = self.wake_fd.as_ref()?.as_raw_fd();
                Uring::poll(fd, INTEREST, WAKE_TOKEN, true)
            }
            Queued::Poll(token) => {
                let reg = self.by_token.get(&token)?;
                Uring::poll(reg.fd, interest(reg), token, true)
            }
            Queued::Rearm(token) => {
                let reg = self.by_token.get(&token)?;
                Uring::poll(reg.fd, interest(reg), token | ONESHOT, false)
            }
            Queued::ReadPoll(token) => {
                let fd = self.by_token.get(&token)?.fd;
                Uring::poll(fd, READ_INTEREST, token | READ_POLL, false)
            }
            Queued::Accept(token) => {
                let reg = self.by_token.get_mut(&token)?;
                reg.written = turn;
                let Some(Reader::Accept(state)) = &reg.reader else {
                    return None;
                };
                // The state's buffer stays while the request may write it:
                // the registration holds it, and `deregister` moves it to
                // `retired` while a request is in flight.
                let (addr, len) = state.addr_ptrs();
                opcode::Accept::new(types::Fd(reg.fd), addr, len)
                    .flags(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)
                    .build()
                    .user_data(token | ACCEPT)
            }
            Queued::Recv(token, len) => {
                let reg = self.by_token.get_mut(&token)?;
                reg.written = turn;
                let fd = reg.fd;
                self.ensure_pool();
                let Some(pool) = &self.pool else {
                    // No buffers to be had: wait for data, read it directly.
                    return self.entry(Queued::ReadPoll(token), turn);
                };
                let group = pool.group();
                opcode::Recv::new(types::Fd(fd), std::ptr::null_mut(), len)
                    .buf_group(group)
                    .ioprio(RECVSEND_POLL_FIRST)
                    .build()
                    .flags(squeue::Flags::BUFFER_SELECT)
                    .user_data(token | RECV | (u64::from(group) << GROUP_SHIFT))
            }
        })
    }
}

/// A number for the calling thread, never reused in the process (0: none).
fn this_thread() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    thread_local!(static ME: usize = NEXT.fetch_add(1, Relaxed));
    ME.with(|me| *me)
}

/// What `wait` took off the ring: readiness to hand out (at most
/// `capacity` per turn, the rest kept for the next), and the tokens whose
/// multishot poll the kernel ended, to submit again.
pub(crate) struct Events {
    ready: Vec<(u64, Ready)>,
    backlog: VecDeque<(u64, Ready)>,
    capacity: usize,
    resubmit: Vec<u64>,
    /// Stream completions (`user_data`, result, flags), handed to their
    /// [`RecvState`]s after the reap.
    recvs: Vec<(u64, i32, u32)>,
    /// Objects `take_ring` let go of under the lock, closed after it.
    drop_later: Vec<Box<dyn Send>>,
    /// A ring per worker's, parking under a paused clock: the wait submits
    /// what the submission queue holds before it counts as quiet (see
    /// [`Settle`]), so that a paused clock's auto-advance never jumps past
    /// a request still in userspace.
    pub(crate) submit_first: bool,
}

/// A new ring of `flavor` (`Owned`: disabled until its first driving
/// thread enables it, so that thread becomes its one issuer).
fn new_ring(flavor: Flavor, disabled: bool) -> io::Result<IoUring> {
    let mut builder = IoUring::builder();
    builder.setup_cqsize(CQ_ENTRIES);
    match flavor {
        // COOP_TASKRUN and TASKRUN_FLAG: see the module's docs.
        Flavor::Shared => builder.setup_coop_taskrun().setup_taskrun_flag(),
        Flavor::Owned if disabled => builder
            .setup_single_issuer()
            .setup_defer_taskrun()
            .setup_r_disabled(),
        Flavor::Owned => builder.setup_single_issuer().setup_defer_taskrun(),
    };
    builder.build(SQ_ENTRIES)
}

impl Uring {
    /// A ring of `flavor` (`Owned` where the kernel takes
    /// `DEFER_TASKRUN`, else `Shared`), after the probe passed.
    pub(crate) fn with_flavor(flavor: Flavor) -> io::Result<Uring> {
        probe::check().map_err(|reason| io::Error::new(io::ErrorKind::Unsupported, reason))?;
        let flavor = match flavor {
            Flavor::Owned if probe::defer_taskrun() => Flavor::Owned,
            _ => Flavor::Shared,
        };
        let ring = new_ring(flavor, true)?;
        let wake_fd = match flavor {
            Flavor::Shared => None,
            Flavor::Owned => Some(rustix::event::eventfd(
                0,
                rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
            )?),
        };
        Ok(Uring {
            flavor,
            sq: Mutex::new(Registered {
                ring: Some(Arc::new(ring)),
                owned: false,
                by_fd: Map::default(),
                by_token: Map::default(),
                queued: Vec::new(),
                driver: 0,
                pool: None,
                pools: Vec::new(),
                grow: false,
                pool_failed: false,
                retired: Vec::new(),
                closing: Vec::new(),
                wake_fd,
            }),
            wake_pending: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            turn: AtomicU64::new(0),
            settle: None,
        })
    }

    /// Which flavor of ring this is.
    #[cfg(test)]
    pub(crate) fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// Writes `entries` to the submission queue; `Shared`, or `now`, also
    /// submits them (`Owned` otherwise leaves them to the owner's next
    /// `wait`, which submits and waits in one `io_uring_enter`). The guard
    /// proves the caller holds `sq` (and, `Owned`, is the ring's owner). An
    /// entry written is in the kernel's hands even if this `io_uring_enter`
    /// fails for a moment: the next one submits it. Fails only if an entry
    /// could not be written at all.
    ///
    /// On an error, also how many entries were written (and so are the
    /// kernel's): the caller keeps only the rest.
    fn push(
        &self,
        held: &mut MutexGuard<'_, Registered>,
        entries: &[squeue::Entry],
        now: bool,
    ) -> Result<(), (usize, io::Error)> {
        if entries.is_empty() {
            return Ok(());
        }
        let Some(ring) = held.ring.as_deref() else {
            return Err((0, super::shutdown_error()));
        };
        for (written, entry) in entries.iter().enumerate() {
            loop {
                // The submission queue is touched only under `sq`'s lock
                // (`held`) or, on an owned ring, by its owner alone (in
                // `wait`), which is this thread when it pushes.
                // SAFETY: so no other `SubmissionQueue` exists now.
                let mut sq = unsafe { ring.submission_shared() };
                // The entries (poll, cancel, nop) point at no memory of
                // ours; a receive takes a buffer from the ring's pool, whose
                // memory outlives the ring's use of it (`bufs.rs`); an
                // accept names its listener's address buffer, whose state
                // the registration (or, once the listener is gone,
                // `retired`) holds until the accept's last completion or
                // the ring's close (Linux 6.13 or later, as for the pool).
                // SAFETY: so nothing an entry names can go while it runs.
                if unsafe { sq.push(entry) }.is_ok() {
                    break;
                }
                drop(sq);
                // Full: submit what is there to make room.
                enter(ring, false).map_err(|e| (written, e))?;
            }
        }
        if now || self.flavor == Flavor::Shared {
            // Written: a failure to enter now is not the caller's error.
            let _ = enter(ring, self.flavor == Flavor::Owned);
        }
        Ok(())
    }

    fn poll(fd: RawFd, interest: u32, user_data: u64, multi: bool) -> squeue::Entry {
        opcode::PollAdd::new(types::Fd(fd), interest)
            .multi(multi)
            .build()
            .user_data(user_data)
    }

    /// Ends every request under `user_data`.
    fn cancel(user_data: u64) -> squeue::Entry {
        opcode::AsyncCancel2::new(types::CancelBuilder::user_data(user_data).all())
            .build()
            .user_data(CANCEL_TOKEN)
    }

    /// Pushes a request on the driving thread (`Shared`: submitted at once;
    /// `Owned`: at its next turn, or at once if `now`); queues it for the
    /// driving thread's next `wait` (and wakes it) on any other. (`Shared`
    /// lets any thread submit a cancel; a poll is the driver's, see the
    /// module's docs.)
    fn submit_or_queue(
        &self,
        registered: &mut MutexGuard<'_, Registered>,
        request: Queued,
        now: bool,
    ) -> io::Result<()> {
        let mine = registered.driver == this_thread();
        let anyone = self.flavor == Flavor::Shared && matches!(request, Queued::Cancel(_));
        if mine || anyone {
            return match registered.entry(request, self.turn.load(SeqCst)) {
                Some(entry) => self.push(registered, &[entry], now).map_err(|(_, e)| e),
                None => Ok(()),
            };
        }
        registered.queued.push(request);
        self.wake_locked(registered);
        Ok(())
    }

    /// On the driving thread: makes this thread the ring's owner (`Owned`:
    /// enables the ring, or builds a new one and arms every registered
    /// descriptor on it); then writes the requests other threads queued,
    /// and the polls the kernel ended that are still registered.
    ///
    /// Returns the ring, for the driving thread to wait on.
    ///
    /// `Ok(None)`: this thread could not make a ring its own (the kernel
    /// refused a new one: out of descriptors or memory); the caller waits a
    /// little and tries again, as the accept loop does when descriptors run
    /// out, and the ring stays the previous driver's.
    fn submit_queued(&self, events: &mut Events) -> io::Result<Option<Arc<IoUring>>> {
        // (A new ring arms every registered descriptor: whatever `take_ring`
        // finds ended on the old one needs nothing more.)
        let resubmit = std::mem::take(&mut events.resubmit);
        let mut registered = lock(&self.sq);
        let me = this_thread();
        if registered.driver != me {
            if self.flavor == Flavor::Owned {
                if let Err(e) = self.take_ring(&mut registered, events) {
                    if e.raw_os_error() == Some(libc::EBADF) || super::is_shutdown_error(&e) {
                        return Err(e);
                    }
                    return Ok(None);
                }
            }
            registered.driver = me;
        }
        let Some(ring) = registered.ring.clone() else {
            return Err(super::shutdown_error());
        };
        if registered.queued.is_empty() && resubmit.is_empty() {
            return Ok(Some(ring));
        }
        let turn = self.turn.load(SeqCst);
        let mut requests = std::mem::take(&mut registered.queued);
        requests.extend(resubmit.into_iter().map(Queued::Poll));
        let (requests, entries): (Vec<Queued>, Vec<squeue::Entry>) = requests
            .into_iter()
            .filter_map(|request| Some((request, registered.entry(request, turn)?)))
            .unzip();
        // What was not even written (the ring refusing entries) stays
        // queued: the next wait tries it again.
        if let Err((written, _)) = self.push(&mut registered, &entries, false) {
            registered.queued.extend_from_slice(&requests[written..]);
        }
        Ok(Some(ring))
    }

    /// `Owned`, on a thread that is about to drive: enables the ring made
    /// disabled, or (the driving thread changed) replaces the ring with one
    /// of this thread's and arms the wake eventfd and every registered
    /// descriptor on it. A new poll reports the descriptor's readiness at
    /// once, so nothing the old ring had not reported is lost; the old
    /// ring's requests end when it is closed.
    fn take_ring(
        &self,
        registered: &mut MutexGuard<'_, Registered>,
        events: &mut Events,
    ) -> io::Result<()> {
        let Some(ring) = registered.ring.clone() else {
            return Err(super::shutdown_error());
        };
        if registered.owned {
            let new = new_ring(Flavor::Owned, false)?;
            // What the old ring completed and nobody read yet (its owner
            // may have run completion work outside a wait: a close) is
            // taken now, receives included, before the old ring and its
            // pool go. (Reading a completion queue needs no ownership;
            // only a `wait` reads one, and this thread is the one in it.)
            Uring::reap(&ring, events);
            Uring::complete_recvs(&mut *registered, events);
            // The old ring closes here (only a `wait` holds a clone, and
            // this thread is the one in `wait`): its requests end. A
            // receive it had not run leaves its bytes in the socket, for
            // the new ring's receive. Its pools go when the last chunk
            // holding one is read (no receive writes into them once the
            // ring is closed, see `bufs.rs`).
            drop(ring);
            registered.ring = Some(Arc::new(new));
            registered.pool = None;
            registered.pools.clear();
            // Nothing writes into a retired listener's buffer any more,
            // and nothing names a descriptor kept open for the old ring.
            registered.retired.clear();
            events.drop_later.append(&mut registered.closing);
        } else {
            ring.submitter().register_enable_rings()?;
            registered.owned = true;
        }
        // Queued requests were for the old ring: a new ring starts with a
        // poll on every registered descriptor, the reads streams and the
        // accepts listeners had in flight, and nothing to cancel. Its
        // buffers are made when a receive needs them.
        registered.queued.clear();
        registered.pool_failed = false;
        registered.grow = false;
        let mut requests = vec![Queued::Poll(WAKE_TOKEN)];
        for (&token, reg) in &registered.by_token {
            requests.push(Queued::Poll(token));
            match &reg.reader {
                Some(Reader::Recv(recv)) => match recv.armed() {
                    Armed::Recv(len) => requests.push(Queued::Recv(token, len)),
                    Armed::Poll => requests.push(Queued::ReadPoll(token)),
                    Armed::None => {}
                },
                Some(Reader::Accept(state)) => match state.want() {
                    Want::Accept => requests.push(Queued::Accept(token)),
                    Want::Poll => requests.push(Queued::ReadPoll(token)),
                    Want::None => {}
                },
                None => {}
            }
        }
        let turn = self.turn.load(SeqCst);
        let entries: Vec<squeue::Entry> = requests
            .into_iter()
            .filter_map(|request| registered.entry(request, turn))
            .collect();
        self.push(registered, &entries, false).map_err(|(_, e)| e)
    }

    /// Ends the driving thread's wait: `Shared`, a `NOP` under
    /// [`WAKE_TOKEN`], completed in this thread's own submission, so no
    /// other thread has to run for it; `Owned`, a write to the wake
    /// eventfd, whose poll completes on the ring.
    fn wake_locked(&self, registered: &mut MutexGuard<'_, Registered>) {
        if self.wake_pending.swap(true, SeqCst) {
            return;
        }
        self.send_wake(registered);
    }

    /// Writes the wake `wake_pending` was just set for.
    fn send_wake(&self, registered: &mut MutexGuard<'_, Registered>) {
        let woke = match &registered.wake_fd {
            Some(fd) => rustix::io::write(fd, &1u64.to_ne_bytes()).is_ok(),
            None => {
                let nop = opcode::Nop::new().build().user_data(WAKE_TOKEN);
                self.push(registered, &[nop], true).is_ok()
            }
        };
        if !woke {
            // Not written: the next wake tries again.
            self.wake_pending.store(false, SeqCst);
        }
    }

    /// Takes every completion off `ring` (`reap_one`); true if one was a
    /// wake. Called only by the thread in `wait` (the driver lets one at a
    /// time wait), for its own ring or, in `take_ring`, the one it replaces.
    fn reap(ring: &IoUring, events: &mut Events) -> bool {
        // SAFETY: only the thread in `wait` reads a completion queue.
        let cq = unsafe { ring.completion_shared() };
        cq.fold(false, |woken, entry| {
            Uring::reap_one(&entry, events) | woken
        })
    }

    /// Turns one completion into readiness, or a wake, or a poll to submit
    /// again. Returns true for a wake.
    fn reap_one(entry: &cqueue::Entry, events: &mut Events) -> bool {
        let (user_data, res, more) = (
            entry.user_data(),
            entry.result(),
            cqueue::more(entry.flags()),
        );
        match user_data {
            WAKE_TOKEN => {
                // An owned ring's eventfd poll that ended is armed again
                // (a shared ring's `NOP` wake, result 0, is not a poll).
                if !more && res != 0 && res != -libc::ECANCELED {
                    // The wake eventfd's poll ended: armed again.
                    events.resubmit.push(WAKE_TOKEN);
                }
                true
            }
            CANCEL_TOKEN => false,
            token if token & (RECV | READ_POLL | ACCEPT) != 0 => {
                events.recvs.push((token, res, entry.flags()));
                false
            }
            token if token & ONESHOT != 0 => {
                if res > 0 {
                    events
                        .backlog
                        .push_back((token & !ONESHOT, Ready::from_poll_bits(res as u32)));
                }
                false
            }
            token => {
                if res > 0 {
                    events
                        .backlog
                        .push_back((token, Ready::from_poll_bits(res as u32)));
                } else if res < 0 && res != -libc::ECANCELED {
                    // The poll failed: let the operation find out why.
                    events.backlog.push_back((token, Ready::ERROR));
                }
                if !more {
                    // Ended: its thread exited (`ECANCELED`), the kernel
                    // could not post a completion, or it failed. Submitted
                    // again while registered (`register` refused what
                    // cannot be polled, so this does not loop).
                    events.resubmit.push(token);
                }
                false
            }
        }
    }

    /// Blocks (up to `timeout`; `None`: no limit) for one completion, or,
    /// with `block` false, only submits (and, `Owned`, runs the ring's
    /// pending completion work). Timeouts, signals and the kernel being
    /// short of memory for a moment are no error.
    fn enter_and_wait(
        &self,
        ring: &IoUring,
        block: bool,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        let submitter = ring.submitter();
        let entered = match (block, timeout) {
            (false, _) => enter(ring, self.flavor == Flavor::Owned).map(|_| 0),
            (true, None) => submitter.submit_and_wait(1),
            (true, Some(timeout)) => {
                let ts = types::Timespec::from(timeout);
                let args = types::SubmitArgs::new().timespec(&ts);
                submitter.submit_with_args(1, &args)
            }
        };
        match entered {
            Err(e)
                if !e.raw_os_error().is_some_and(|code| {
                    [
                        libc::ETIME,
                        libc::EINTR,
                        libc::EBUSY,
                        libc::EAGAIN,
                        libc::ENOMEM,
                    ]
                    .contains(&code)
                }) =>
            {
                Err(e)
            }
            _ => Ok(()),
        }
    }
}

/// Submits what `ring`'s submission queue holds, trying again while the
/// kernel is short of memory for a moment; `run_work` (`Owned`) also runs
/// the ring's deferred completion work (`IORING_ENTER_GETEVENTS`, waiting
/// for nothing), which is what lets go of a cancelled poll's file.
fn enter(ring: &IoUring, run_work: bool) -> io::Result<()> {
    let mut tries = 0;
    loop {
        let entered = if run_work {
            let pending = submission_len(ring) as u32;
            // SAFETY: `enter` with no argument struct (`arg` is `None`) and
            // a flag that points at no memory of ours.
            unsafe {
                ring.submitter()
                    .enter::<libc::sigset_t>(pending, 0, IORING_ENTER_GETEVENTS, None)
            }
            .map(|_| ())
        } else {
            ring.submit().map(|_| ())
        };
        match entered {
            Ok(()) => return Ok(()),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EAGAIN | libc::ENOMEM | libc::EINTR)
                ) && tries < SUBMIT_TRIES =>
            {
                tries += 1;
                std::thread::yield_now();
            }
            Err(e) => return Err(e),
        }
    }
}

/// How many entries `ring`'s submission queue holds unsubmitted. Called
/// only by an owned ring's owner.
fn submission_len(ring: &IoUring) -> usize {
    // SAFETY: the caller is the one thread that touches this ring's
    // submission queue (its owner); it reads the length, and the queue's
    // drop writes back the tail it read, unchanged.
    unsafe { ring.submission_shared() }.len()
}

/// `io_uring_enter`'s flag to reap completions (and run deferred work).
const IORING_ENTER_GETEVENTS: u32 = 1;

impl Backend for Uring {
    type Events = Events;

    fn new() -> io::Result<Uring> {
        Uring::with_flavor(Flavor::Shared)
    }

    fn events(capacity: usize) -> Events {
        Events {
            ready: Vec::with_capacity(capacity.max(1)),
            backlog: VecDeque::new(),
            capacity: capacity.max(1),
            resubmit: Vec::new(),
            recvs: Vec::new(),
            drop_later: Vec::new(),
            submit_first: false,
        }
    }

    fn register(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        refuse_unpollable(fd)?;
        self.add(fd, token, None)
    }

    fn rearm(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        let raw = fd.as_raw_fd();
        let mut registered = lock(&self.sq);
        if registered.by_fd.get(&raw) != Some(&token) {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        }
        self.submit_or_queue(&mut registered, Queued::Rearm(token), false)
    }

    fn deregister(&self, fd: BorrowedFd<'_>) {
        self.deregister_reader(fd);
    }

    fn wake(&self) {
        // A swap, not a load, as on epoll: the read-modify-write keeps this
        // thread's earlier writes (what the wake is for) from passing its
        // look at the flag; with a plain load, a store still in this CPU's
        // store buffer could miss the loop, which clears the flag, looks at
        // its queues and sleeps.
        if !self.wake_pending.swap(true, SeqCst) {
            self.send_wake(&mut lock(&self.sq));
        }
    }

    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<(usize, bool)> {
        events.ready.clear();
        // Polls other threads queued, and those the last turn found ended.
        // This thread is the driver now; the ring stays its own until its
        // next wait.
        let queued = self.submit_queued(events);
        // (Closed now that the lock is let go.)
        events.drop_later.clear();
        let Some(ring) = queued? else {
            // Not this thread's ring yet: try again shortly.
            let pause = Duration::from_millis(10);
            std::thread::sleep(timeout.map_or(pause, |t| t.min(pause)));
            return Ok((0, false));
        };
        events.resubmit.clear();
        #[cfg(feature = "test-util")]
        if events.submit_first && self.settle.is_some() && submission_len(&ring) > 0 {
            // (Submitted only: the completions wait for the enter below.)
            let _ = enter(&ring, false);
        }
        // SAFETY: only the thread in `wait` reads the completion queue, and
        // the driver lets one thread at a time wait.
        let nothing = unsafe { ring.completion_shared() }.is_empty() && events.backlog.is_empty();
        #[cfg(feature = "test-util")]
        if let Some(settle) = self.settle.as_ref().filter(|_| nothing) {
            // Its worker has counted itself busy, or found nothing, since
            // its last wait returned, and nothing waits to be taken.
            settle.settled();
        }
        match self.flavor {
            // One `io_uring_enter` per turn submits, runs the ring's
            // completion work and waits (unless there is work already).
            Flavor::Owned => {
                let block = nothing && timeout != Some(Duration::ZERO);
                self.enter_and_wait(&ring, block, timeout)?;
            }
            // Entries are submitted as they are pushed; completions already
            // there need no syscall.
            Flavor::Shared if nothing => self.enter_and_wait(&ring, true, timeout)?,
            Flavor::Shared => {}
        }
        #[cfg(feature = "test-util")]
        if let Some(settle) = &self.settle {
            settle.woke();
        }
        let woken = Uring::reap(&ring, events);
        if !events.recvs.is_empty() {
            Uring::complete_recvs(&mut lock(&self.sq), events);
        }
        if woken {
            // A swap, not a store: it reads the `true` written by the last
            // `wake`, so that the waker's earlier writes happen-before the
            // loop's next look at its queues.
            self.wake_pending.swap(false, SeqCst);
        }
        if self.flavor == Flavor::Owned && submission_len(&ring) == 0 {
            // What was written before this turn's enter is submitted now
            // (an enter the kernel cut short leaves the rest queued: then
            // the turn does not count, and nothing parked is closed).
            self.turn.fetch_add(1, SeqCst);
            // After the wake's swap: a `close_later` that found a wake
            // pending (and sent none) parked its object before that swap,
            // so it is seen here.
            if self.closing.load(SeqCst) {
                // Dropped on other threads before this turn's enter, which
                // submitted whatever named them: closed now, outside the
                // lock (a lingering close blocks this thread, not the lock).
                self.closing.store(false, SeqCst);
                let closing = std::mem::take(&mut lock(&self.sq).closing);
                drop(closing);
            }
        }
        let n = events.backlog.len().min(events.capacity);
        events.ready.extend(events.backlog.drain(..n));
        if !events.resubmit.is_empty() {
            // Now, not at the next turn's start: a poll the kernel ended
            // must not miss an edge in between.
            let _ = self.submit_queued(events);
        }
        Ok((events.ready.len(), woken))
    }

    fn shutdown(&self) {
        let mut registered = lock(&self.sq);
        // Closed after the lock is let go.
        let closing = std::mem::take(&mut registered.closing);
        // The ring first: once it is closed no receive writes into the
        // buffers (see `bufs.rs`).
        registered.ring = None;
        registered.pool = None;
        registered.pools.clear();
        registered.retired.clear();
        drop(registered);
        drop(closing);
    }

    fn ready_events(events: &Events) -> impl Iterator<Item = (u64, Ready)> + '_ {
        events.ready.iter().copied()
    }
}

/// epoll refuses what it cannot poll with `EPERM`; a ring would take it and
/// report it ready once. Sockets and pipes are pollable; anything else gets
/// epoll's own answer from a scratch epoll instance, so both backends
/// accept and refuse the same files.
fn refuse_unpollable(fd: BorrowedFd<'_>) -> io::Result<()> {
    use rustix::event::epoll;
    use rustix::fs::FileType;
    let stat = rustix::fs::fstat(fd)?;
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::Socket | FileType::Fifo => Ok(()),
        _ => {
            let scratch = epoll::create(epoll::CreateFlags::CLOEXEC)?;
            epoll::add(
                &scratch,
                fd,
                epoll::EventData::new_u64(0),
                epoll::EventFlags::IN,
            )?;
            Ok(())
        }
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

    /// Fails unless a short wait finds nothing (no event, no wake).
    fn assert_quiet(uring: &Uring, events: &mut Events) {
        let got = uring.wait(events, Some(Duration::from_millis(1))).unwrap();
        assert_eq!(got, (0, false));
    }

    /// Fails unless the peer of a closed socket reads end-of-file within
    /// 5 s (the ring let go of the file).
    fn assert_peer_reads_eof(mut peer: UnixStream) {
        peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let n = peer.read(&mut [0u8; 1]).unwrap();
        assert_eq!(n, 0, "the peer reads end-of-file");
    }

    /// Fails unless `seen` has `token` readable.
    fn assert_readable(seen: &[(u64, Ready)], token: u64) {
        assert!(
            seen.iter().any(|(t, r)| *t == token && r.is_readable()),
            "{seen:?}"
        );
    }

    /// An `Owned` ring, or `None` (printing why) where this kernel has no
    /// `DEFER_TASKRUN`.
    fn owned() -> Option<Uring> {
        let uring = uring()?;
        drop(uring);
        match Uring::with_flavor(Flavor::Owned) {
            Ok(uring) if uring.flavor() == Flavor::Owned => Some(uring),
            _ => {
                println!("skipped: this kernel's io_uring has no DEFER_TASKRUN");
                None
            }
        }
    }

    #[test]
    fn an_owned_ring_reports_what_was_registered_before_its_first_wait() {
        let Some(uring) = owned() else { return };
        let mut events = Uring::events(4);
        let (a, mut b) = UnixStream::pair().unwrap();
        uring.register(a.as_fd(), 5).unwrap();
        b.write_all(b"x").unwrap();
        let seen = wait_for(&uring, &mut events);
        assert_readable(&seen, 5);
        uring.deregister(a.as_fd());
    }

    #[test]
    fn an_owned_ring_is_woken_from_another_thread() {
        let Some(uring) = owned() else { return };
        let mut events = Uring::events(4);
        uring.wait(&mut events, Some(Duration::ZERO)).unwrap();
        std::thread::scope(|scope| {
            scope.spawn(|| uring.wake());
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while !uring
                .wait(&mut events, Some(Duration::from_millis(100)))
                .unwrap()
                .1
            {
                assert!(std::time::Instant::now() < deadline, "the wake never came");
                // valgrind (3.19) keeps its one running thread through an
                // `io_uring_enter` and switches only at a yield: the waker
                // gets its turn here. (Natively the wake comes during the
                // blocking wait.)
                std::thread::yield_now();
            }
        });
        // Woken once: the next wait times out.
        assert_quiet(&uring, &mut events);
    }

    #[test]
    fn a_new_driving_thread_takes_a_new_ring_and_loses_no_readiness() {
        let Some(uring) = owned() else { return };
        let mut events = Uring::events(4);
        let (a, mut b) = UnixStream::pair().unwrap();
        uring.register(a.as_fd(), 6).unwrap();
        // Driven here first: the write edge.
        assert!(!wait_for(&uring, &mut events).is_empty());
        // Data arrives while nobody drives; another thread takes over.
        b.write_all(b"x").unwrap();
        let seen = std::thread::scope(|scope| {
            scope
                .spawn(|| wait_for(&uring, &mut Uring::events(4)))
                .join()
                .unwrap()
        });
        assert_readable(&seen, 6);
        // And back: this thread's ring is new again, and still armed.
        let _ = uring.wait(&mut events, Some(Duration::ZERO));
        assert_eq!((&a).read(&mut [0u8; 1]).unwrap(), 1);
        b.write_all(b"y").unwrap();
        let seen = wait_for(&uring, &mut events);
        assert_readable(&seen, 6);
        uring.deregister(a.as_fd());
    }

    #[test]
    fn a_close_on_the_owning_thread_lets_go_of_the_file_at_once() {
        // Outside any wait: nobody drives the ring afterwards, and the
        // peer must still see the end-of-file.
        let Some(uring) = owned() else { return };
        let mut events = Uring::events(4);
        let (a, b) = UnixStream::pair().unwrap();
        uring.register(a.as_fd(), 7).unwrap();
        assert!(!wait_for(&uring, &mut events).is_empty());
        uring.deregister(a.as_fd());
        drop(a);
        assert_peer_reads_eof(b);
    }

    #[test]
    fn a_close_on_another_thread_lets_go_of_the_file_at_the_owners_turn() {
        let Some(uring) = owned() else { return };
        let mut events = Uring::events(4);
        let (a, b) = UnixStream::pair().unwrap();
        uring.register(a.as_fd(), 8).unwrap();
        assert!(!wait_for(&uring, &mut events).is_empty());
        std::thread::scope(|scope| {
            scope.spawn(|| {
                uring.deregister(a.as_fd());
                drop(a);
            });
            // The owner's turn, woken by the queued cancel.
            let _ = uring.wait(&mut events, Some(Duration::from_secs(5)));
        });
        let _ = uring.wait(&mut events, Some(Duration::ZERO));
        assert_peer_reads_eof(b);
    }

    #[test]
    fn a_wake_ends_a_blocking_wait_once() {
        let Some(uring) = uring() else { return };
        let mut events = Uring::events(4);
        // The first turn (as the driving thread) may see the wake-up poll
        // armed; then a wake ends a blocking wait.
        uring.wait(&mut events, Some(Duration::ZERO)).unwrap();
        uring.wake();
        uring.wake(); // coalesced: one NOP
        assert_eq!(
            uring
                .wait(&mut events, Some(Duration::from_secs(5)))
                .unwrap(),
            (0, true)
        );
        // Nothing more: the next wait times out.
        assert_quiet(&uring, &mut events);
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
        assert_readable(&seen, 7);
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
        assert_readable(&seen, 7);
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
    fn a_flood_of_edges_past_the_completion_queue_loses_no_later_edge() {
        // More edges than the completion queue holds arrive while nobody
        // reaps; the kernel may end the multishot poll when it cannot post
        // one. The next edge after the flood must still be reported.
        let Some(uring) = uring() else { return };
        let mut events = Uring::events(64);
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        uring.wait(&mut events, Some(Duration::ZERO)).unwrap(); // now the driver
        uring.register(a.as_fd(), 9).unwrap();
        let mut byte = [0u8; 1];
        for _ in 0..(CQ_ENTRIES as usize + 1_000) {
            b.write_all(b"x").unwrap();
            (&a).read_exact(&mut byte).unwrap();
        }
        // Take everything the flood left, turn by turn.
        while uring
            .wait(&mut events, Some(Duration::from_millis(50)))
            .unwrap()
            .0
            > 0
        {}
        b.write_all(b"y").unwrap();
        let seen = wait_for(&uring, &mut events);
        assert!(
            seen.iter().any(|(t, r)| *t == 9 && r.is_readable()),
            "the edge after the flood: {seen:?}"
        );
        uring.deregister(a.as_fd());
    }

    #[test]
    fn what_epoll_refuses_is_refused_and_what_it_takes_is_taken() {
        let Some(uring) = uring() else { return };
        // /dev/null has no poll: epoll refuses it, so must the ring.
        let null = std::fs::File::open("/dev/null").unwrap();
        let err = uring.register(null.as_fd(), 2).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM));
        // A pipe is taken.
        let (rx, _tx) = rustix::pipe::pipe().unwrap();
        uring.register(rx.as_fd(), 3).unwrap();
        uring.deregister(rx.as_fd());
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
