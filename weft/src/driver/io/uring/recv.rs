//! Receiving a TCP stream through an owned ring ([`RecvState`]).
//!
//! A read that finds nothing arms one `recv` on the ring (buffer selected
//! from the ring's [`Pool`], `IORING_RECVSEND_POLL_FIRST`, at most the
//! reader's own length); the turn's one `io_uring_enter` submits it and,
//! once data comes, the same kind of turn completes it: the bytes wait in a
//! chunk here, the slot turns `READABLE`, and the reader copies them out
//! and gives the buffer back. So a message costs no read syscall. Only a
//! reader arms a receive, and only for what it asked for, so bytes leave
//! the kernel's socket buffer only when somebody reads: a connection that
//! is not read keeps its data in the kernel (back-pressure as on epoll),
//! pins no buffer, and `into_std` finds nothing held here unless a read
//! was dropped while its receive was in flight.
//!
//! Reading the socket directly (`read(2)`) stays right where the kernel
//! says more is queued (`IORING_CQE_F_SOCK_NONEMPTY`), where the pool ran
//! dry (`ENOBUFS`, no error: the data is still in the socket), where a
//! readiness wait (`readable()`) armed a one-shot `POLLIN` poll instead of
//! a receive, and at first (a connection may arrive with data): then a
//! direct read may find bytes, and is made only while no receive is in
//! flight, so the order of the bytes is kept.

use std::collections::VecDeque;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::BorrowedFd;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Acquire, Release};
use std::sync::{Arc, Mutex};

use io_uring::cqueue;

use super::super::evented;
use super::bufs::{Pool, SIZE};
use crate::sys::lock::lock;

/// What a stream has in flight on the ring for its read side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Armed {
    None,
    /// A `recv` of at most this many bytes.
    Recv(u32),
    /// A one-shot `POLLIN` poll (a readiness wait, or a peek).
    Poll,
}

/// One stream's receive state (see the module's docs).
pub(crate) struct RecvState {
    token: u64,
    /// `inner.armed` is not `None`: written under `inner`'s lock with it,
    /// read without the lock by [`in_flight`](Self::in_flight).
    in_flight: AtomicBool,
    inner: Mutex<Inner>,
}

struct Inner {
    chunks: VecDeque<Chunk>,
    armed: Armed,
    /// The peer closed its side (a receive returned 0).
    eof: bool,
    /// A receive failed with this errno; the next read returns it.
    error: Option<i32>,
    /// A direct read may find bytes (see the module's docs).
    more: bool,
}

/// Received bytes not yet read: `pool`'s buffer `bid`, `start..end`.
struct Chunk {
    pool: Arc<Pool>,
    bid: u16,
    start: usize,
    end: usize,
}

impl Chunk {
    fn bytes(&self) -> &[u8] {
        // SAFETY: this chunk holds the completion that handed `bid` out
        // (it gives the buffer back only when dropped), and `end` is at
        // most that completion's result.
        let all = unsafe { self.pool.bytes(self.bid, self.end) };
        &all[self.start..]
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        self.pool.give(self.bid);
    }
}

/// Where a read puts bytes: copies of received ones, or the socket's.
pub(crate) trait Sink {
    /// Room in all.
    fn len(&self) -> usize;
    /// Copies as much of `from` as fits at offset `at`; returns the count.
    fn copy(&mut self, from: &[u8], at: usize) -> usize;
    /// Reads the socket itself.
    fn direct(&mut self, fd: BorrowedFd<'_>) -> io::Result<usize>;
}

/// One buffer.
pub(crate) struct Init<'a>(pub(crate) &'a mut [u8]);

impl Sink for Init<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn copy(&mut self, from: &[u8], at: usize) -> usize {
        let to = &mut self.0[at..];
        let n = from.len().min(to.len());
        to[..n].copy_from_slice(&from[..n]);
        n
    }

    fn direct(&mut self, fd: BorrowedFd<'_>) -> io::Result<usize> {
        rustix::io::read(fd, &mut *self.0).map_err(io::Error::from)
    }
}

/// One buffer that need not be initialised (hyper's, tokio's `ReadBuf`).
pub(crate) struct Uninit<'a>(pub(crate) &'a mut [MaybeUninit<u8>]);

impl Sink for Uninit<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn copy(&mut self, from: &[u8], at: usize) -> usize {
        let to = &mut self.0[at..];
        let n = from.len().min(to.len());
        for (to, from) in to.iter_mut().zip(&from[..n]) {
            to.write(*from);
        }
        n
    }

    fn direct(&mut self, fd: BorrowedFd<'_>) -> io::Result<usize> {
        evented::read_uninit(fd, self.0)
    }
}

/// Several buffers, filled in order.
pub(crate) struct Slices<'a, 'b>(pub(crate) &'a mut [io::IoSliceMut<'b>]);

impl Sink for Slices<'_, '_> {
    fn len(&self) -> usize {
        evented::vectored_len(self.0.iter().map(|b| b.len()))
    }

    fn copy(&mut self, from: &[u8], at: usize) -> usize {
        let (mut skip, mut copied) = (at, 0);
        for buf in self.0.iter_mut() {
            if copied == from.len() {
                break;
            }
            if skip >= buf.len() {
                skip -= buf.len();
                continue;
            }
            let n = (buf.len() - skip).min(from.len() - copied);
            buf[skip..skip + n].copy_from_slice(&from[copied..copied + n]);
            copied += n;
            skip = 0;
        }
        copied
    }

    fn direct(&mut self, fd: BorrowedFd<'_>) -> io::Result<usize> {
        // At most IOV_MAX slices per call, as std's `readv` caps.
        let n = self.0.len().min(evented::IOV_MAX);
        rustix::io::readv(fd, &mut self.0[..n]).map_err(io::Error::from)
    }
}

impl RecvState {
    pub(crate) fn new(token: u64) -> RecvState {
        RecvState {
            token,
            in_flight: AtomicBool::new(false),
            inner: Mutex::new(Inner {
                chunks: VecDeque::new(),
                armed: Armed::None,
                eof: false,
                error: None,
                // A new connection may already hold data.
                more: true,
            }),
        }
    }

    pub(crate) fn token(&self) -> u64 {
        self.token
    }

    /// Reads what is here into `to`: received bytes, else the end of the
    /// stream or a receive's error, else (where a direct read may find
    /// bytes, or the caller says so with `force`, and no receive is in
    /// flight) the socket itself. `WouldBlock` when there is nothing: the
    /// caller arms a receive and waits. `force`: a `try_` read, which reads
    /// the socket whenever the slot is readable, as on epoll, or a slot
    /// that says the peer closed or the socket failed.
    pub(crate) fn read(
        &self,
        fd: BorrowedFd<'_>,
        to: &mut impl Sink,
        force: bool,
    ) -> io::Result<usize> {
        let len = to.len();
        if len == 0 {
            return Ok(0);
        }
        let mut inner = lock(&self.inner);
        if !inner.chunks.is_empty() {
            let mut n = 0;
            while let Some(chunk) = inner.chunks.front_mut() {
                let copied = to.copy(chunk.bytes(), n);
                chunk.start += copied;
                n += copied;
                if chunk.start < chunk.end {
                    break;
                }
                inner.chunks.pop_front();
                if n == len {
                    break;
                }
            }
            return Ok(n);
        }
        if let Some(errno) = inner.error.take() {
            return Err(io::Error::from_raw_os_error(errno));
        }
        if inner.eof {
            return Ok(0);
        }
        // A poll in flight takes no bytes; a receive in flight may be
        // taking the next ones, which must come first.
        let receiving = matches!(inner.armed, Armed::Recv(_));
        if !(inner.more || force) || receiving {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        match to.direct(fd) {
            Ok(n) => {
                if n == 0 {
                    inner.eof = true;
                } else if n < len {
                    inner.more = false;
                }
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                inner.more = false;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Like [`read`](Self::read) but leaves the bytes to be read (a
    /// `MSG_PEEK` on the socket where none are held here).
    pub(crate) fn peek(&self, fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
        let inner = lock(&self.inner);
        if let Some(chunk) = inner.chunks.front() {
            let n = chunk.bytes().len().min(buf.len());
            buf[..n].copy_from_slice(&chunk.bytes()[..n]);
            return Ok(n);
        }
        if let Some(errno) = inner.error {
            return Err(io::Error::from_raw_os_error(errno));
        }
        if inner.eof {
            return Ok(0);
        }
        if matches!(inner.armed, Armed::Recv(_)) {
            // A receive in flight takes the next bytes: they come first.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        rustix::net::recv(fd, buf, rustix::net::RecvFlags::PEEK)
            .map(|(n, _)| n)
            .map_err(io::Error::from)
    }

    /// True if bytes received through the ring wait here, or a receive is
    /// in flight (which may be taking some).
    pub(crate) fn holds_bytes(&self) -> bool {
        let inner = lock(&self.inner);
        !inner.chunks.is_empty() || matches!(inner.armed, Armed::Recv(_))
    }

    /// Marks `want` armed if nothing is; returns what the caller must now
    /// submit (`None`: something is in flight already, which will wake the
    /// reader). A receive asks for at most `len` (and `SIZE`) bytes.
    pub(crate) fn arm(&self, want: Armed) -> Armed {
        let mut inner = lock(&self.inner);
        if inner.armed != Armed::None {
            return Armed::None;
        }
        let want = match want {
            Armed::Recv(len) => Armed::Recv(len.clamp(1, SIZE as u32)),
            other => other,
        };
        inner.armed = want;
        self.in_flight.store(true, Release);
        want
    }

    /// True if something is in flight for the reader (its completion will
    /// make the slot readable), without taking the state's lock: a caller
    /// that sees it may skip arming (`arm` would arm nothing). One that
    /// reads it just as the completion lands still gets the completion's
    /// readiness, which comes after the state's update.
    pub(crate) fn in_flight(&self) -> bool {
        self.in_flight.load(Acquire)
    }

    /// What is in flight (for a new ring, which arms it again).
    pub(crate) fn armed(&self) -> Armed {
        lock(&self.inner).armed
    }

    /// Takes a receive's completion (`res`, `flags`; its buffer from
    /// `pool`), or, `poll`, the one-shot poll's. Returns true if a reader
    /// should look again (always, but for a cancelled request).
    pub(crate) fn complete(
        &self,
        poll: bool,
        res: i32,
        flags: u32,
        pool: Option<&Arc<Pool>>,
    ) -> bool {
        let mut inner = lock(&self.inner);
        inner.armed = Armed::None;
        self.in_flight.store(false, Release);
        let chunk = match (cqueue::buffer_select(flags), pool) {
            (Some(bid), Some(pool)) => Some(Chunk {
                pool: Arc::clone(pool),
                bid,
                start: 0,
                end: res.max(0) as usize,
            }),
            _ => None,
        };
        if poll {
            // Readable (or closed, or failed): a direct read finds out.
            inner.more = true;
            return res != -libc::ECANCELED;
        }
        match res {
            n if n > 0 => {
                match chunk {
                    Some(chunk) => inner.chunks.push_back(chunk),
                    // Bytes with no buffer to find them in (never seen: a
                    // receive always selects one): say so, never drop them
                    // silently.
                    None => {
                        debug_assert!(false, "a receive's bytes without a buffer");
                        inner.error = Some(libc::EIO);
                    }
                }
                if cqueue::sock_nonempty(flags) {
                    inner.more = true;
                }
            }
            // A buffer handed out with no bytes goes straight back.
            0 => inner.eof = true,
            e if e == -libc::ECANCELED => return false,
            // No buffer free, or interrupted: the data is still in the
            // socket, for a direct read.
            e if e == -libc::ENOBUFS || e == -libc::EINTR || e == -libc::EAGAIN => {
                inner.more = true
            }
            e => inner.error = Some(-e),
        }
        true
    }
}
