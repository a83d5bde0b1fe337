//! The io_uring floor: the raw epoll loop's logic (`raw_echo`) on a ring, single-threaded,
//! with no runtime, tasks or wakers. One `io_uring_enter` per loop turn submits everything
//! the last batch queued and waits for the next completions.
//!
//! Its shapes ([`Mode`]), so that the cheapest can be the floor:
//! - receive: one `recv` request per read into the connection's own buffer, or one
//!   multishot `recv` per connection into a provided buffer ring (each buffer handed back
//!   to the ring with a userspace store once echoed);
//! - send: a `send(2)` syscall straight away (the ring only for a send that did not
//!   finish), or a `send` request on the ring (its bytes in the connection's out buffer
//!   until it completes; what arrives meanwhile waits behind it);
//! - task work: `SINGLE_ISSUER | DEFER_TASKRUN` (completions run when the loop enters
//!   the kernel to wait), or `COOP_TASKRUN` (no interrupt, run at the next entry).
//!
//! Accepts are one multishot `accept`.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use io_uring::{cqueue, opcode, squeue, types, IoUring};
use rustix::io::Errno;
use rustix::net::{self as rnet, AddressFamily, SocketFlags, SocketType};

/// Read buffer size, same as the other servers.
const BUF_SIZE: usize = 4096;
/// Listen backlog.
const BACKLOG: i32 = 1024;
/// Buffers in the provided buffer ring (a power of two).
const RING_BUFS: u16 = 4096;
/// The buffer group of the ring.
const BGID: u16 = 0;

/// Which shape the loop takes (see the module's docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode {
    /// One multishot `recv` per connection into the provided buffer ring (else one
    /// `recv` request per read).
    pub multishot: bool,
    /// Sends go through the ring (else `send(2)` first).
    pub send_sqe: bool,
    /// `SINGLE_ISSUER | DEFER_TASKRUN` (else `COOP_TASKRUN`).
    pub defer: bool,
}

impl Mode {
    /// The floor's shape: the cheapest measured here (BENCHMARKS.md).
    pub const FLOOR: Mode = Mode {
        multishot: true,
        send_sqe: true,
        defer: true,
    };
}

/// Every shape, by the name `--peers` knows it under.
pub const MODES: [(&str, Mode); 8] = [
    (
        "raw-uring-ms-sqe-defer",
        Mode {
            multishot: true,
            send_sqe: true,
            defer: true,
        },
    ),
    (
        "raw-uring-ms-call-defer",
        Mode {
            multishot: true,
            send_sqe: false,
            defer: true,
        },
    ),
    (
        "raw-uring-one-sqe-defer",
        Mode {
            multishot: false,
            send_sqe: true,
            defer: true,
        },
    ),
    (
        "raw-uring-one-call-defer",
        Mode {
            multishot: false,
            send_sqe: false,
            defer: true,
        },
    ),
    (
        "raw-uring-ms-sqe-coop",
        Mode {
            multishot: true,
            send_sqe: true,
            defer: false,
        },
    ),
    (
        "raw-uring-ms-call-coop",
        Mode {
            multishot: true,
            send_sqe: false,
            defer: false,
        },
    ),
    (
        "raw-uring-one-sqe-coop",
        Mode {
            multishot: false,
            send_sqe: true,
            defer: false,
        },
    ),
    (
        "raw-uring-one-call-coop",
        Mode {
            multishot: false,
            send_sqe: false,
            defer: false,
        },
    ),
];

impl Mode {
    /// `raw-uring` for the floor's shape, else the shape's own name.
    pub fn name(self) -> &'static str {
        if self == Mode::FLOOR {
            return "raw-uring";
        }
        MODES
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("raw-uring-?", |(n, _)| n)
    }
}

// `user_data`: the operation in the high bits, the connection's index in the low 32.
const ACCEPT: u64 = 1 << 32;
const RECV: u64 = 2 << 32;
const SEND: u64 = 3 << 32;
const IDX: u64 = u32::MAX as u64;

/// One accepted connection.
struct Conn {
    fd: OwnedFd,
    /// The single-shot receive buffer (empty in multishot mode).
    inbuf: Vec<u8>,
    /// Bytes a send request in flight is writing (from `sent` on).
    out: Vec<u8>,
    sent: usize,
    /// Bytes that arrived while a send was in flight: sent after it.
    queued: Vec<u8>,
    /// Requests in flight (the receive, a send).
    inflight: u32,
    /// The peer is done or an error came: close once nothing is in flight.
    closing: bool,
}

/// The provided buffer ring: `RING_BUFS` entries and their buffers.
struct BufRing {
    entries: *mut types::BufRingEntry,
    bufs: Vec<u8>,
    tail: u16,
}

impl BufRing {
    fn new(ring: &IoUring) -> io::Result<BufRing> {
        let layout = std::alloc::Layout::from_size_align(
            RING_BUFS as usize * std::mem::size_of::<types::BufRingEntry>(),
            4096,
        )
        .map_err(io::Error::other)?;
        // SAFETY: the layout has a non-zero size. The allocation lives as long as the
        // process (this server runs until killed).
        let entries = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<types::BufRingEntry>();
        if entries.is_null() {
            return Err(io::ErrorKind::OutOfMemory.into());
        }
        // SAFETY: `entries` is a page-aligned array of `RING_BUFS` entries that outlives
        // the ring (leaked).
        unsafe {
            ring.submitter()
                .register_buf_ring_with_flags(entries as u64, RING_BUFS, BGID, 0)?;
        }
        let mut ring = BufRing {
            entries,
            bufs: vec![0u8; RING_BUFS as usize * BUF_SIZE],
            tail: 0,
        };
        for bid in 0..RING_BUFS {
            ring.give(bid);
        }
        ring.publish();
        Ok(ring)
    }

    fn buf(&self, bid: u16, len: usize) -> &[u8] {
        let start = bid as usize * BUF_SIZE;
        &self.bufs[start..start + len]
    }

    /// Puts buffer `bid` back in the ring (seen by the kernel at `publish`).
    fn give(&mut self, bid: u16) {
        let slot = (self.tail & (RING_BUFS - 1)) as usize;
        // SAFETY: `slot < RING_BUFS`; the kernel reads only entries between its head
        // and the published tail, and this one is past the published tail.
        let entry = unsafe { &mut *self.entries.add(slot) };
        entry.set_addr(self.bufs.as_ptr() as u64 + bid as u64 * BUF_SIZE as u64);
        entry.set_len(BUF_SIZE as u32);
        entry.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
    }

    fn publish(&self) {
        // SAFETY: the tail field of the ring's first entry, written only by us, read by
        // the kernel with acquire ordering.
        unsafe {
            let tail =
                types::BufRingEntry::tail(self.entries) as *const std::sync::atomic::AtomicU16;
            (*tail).store(self.tail, std::sync::atomic::Ordering::Release);
        }
    }
}

/// Runs the raw io_uring echo server on `addr` in `mode` until killed.
pub fn serve(addr: SocketAddr, mode: Mode) -> io::Result<()> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let listener = rnet::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
    rnet::sockopt::set_socket_reuseaddr(&listener, true)?;
    rnet::bind(&listener, &addr)?;
    rnet::listen(&listener, BACKLOG)?;
    let local = SocketAddr::try_from(rnet::getsockname(&listener)?)
        .map_err(|e| io::Error::other(format!("listener address is not inet: {e:?}")))?;

    let mut builder = IoUring::builder();
    builder.setup_cqsize(16384);
    if mode.defer {
        builder.setup_single_issuer().setup_defer_taskrun();
    } else {
        builder.setup_coop_taskrun().setup_taskrun_flag();
    }
    let mut ring = builder.build(4096)?;
    let mut bufs = if mode.multishot {
        Some(BufRing::new(&ring)?)
    } else {
        None
    };
    let mut lp = Loop {
        conns: Vec::new(),
        free: Vec::new(),
        sqes: Vec::new(),
        mode,
    };
    lp.sqes.push(
        opcode::AcceptMulti::new(types::Fd(listener.as_raw_fd()))
            .build()
            .user_data(ACCEPT),
    );
    super::announce_ready(local)?;

    let mut cqes: Vec<cqueue::Entry> = Vec::with_capacity(16384);
    loop {
        {
            let mut sq = ring.submission();
            for sqe in lp.sqes.drain(..) {
                // SAFETY: every buffer a queued entry points at (a connection's `inbuf`
                // or `out`) stays put until its completion: it is not touched or freed
                // while the connection's `inflight` count covers it.
                while unsafe { sq.push(&sqe) }.is_err() {
                    sq.sync();
                    drop(sq);
                    ring.submit()?;
                    sq = ring.submission();
                }
            }
        }
        match ring.submit_and_wait(1) {
            Ok(_) => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR | libc::EBUSY)) => {}
            Err(e) => return Err(e),
        }
        cqes.clear();
        cqes.extend(ring.completion());
        let mut gave = false;
        for cqe in &cqes {
            let (data, res, flags) = (cqe.user_data(), cqe.result(), cqe.flags());
            let idx = (data & IDX) as usize;
            match data & !IDX {
                ACCEPT => {
                    if res >= 0 {
                        // SAFETY: a successful accept's result is a new descriptor, ours.
                        lp.accept(unsafe { OwnedFd::from_raw_fd(res) })?;
                    }
                    if !cqueue::more(flags) {
                        lp.sqes.push(
                            opcode::AcceptMulti::new(types::Fd(listener.as_raw_fd()))
                                .build()
                                .user_data(ACCEPT),
                        );
                    }
                }
                RECV => {
                    let more = cqueue::more(flags);
                    let bid = cqueue::buffer_select(flags);
                    if res > 0 {
                        match (bid, &bufs) {
                            (Some(bid), Some(ring)) => lp.echo(idx, ring.buf(bid, res as usize)),
                            _ => {
                                // The request has completed: its buffer is ours again.
                                let conn = lp.conns[idx].as_mut().unwrap();
                                let inbuf = std::mem::take(&mut conn.inbuf);
                                lp.echo(idx, &inbuf[..res as usize]);
                                lp.conns[idx].as_mut().unwrap().inbuf = inbuf;
                            }
                        }
                    }
                    if let (Some(bid), Some(ring)) = (bid, bufs.as_mut()) {
                        ring.give(bid);
                        gave = true;
                    }
                    lp.recv_done(idx, res, more);
                }
                SEND => lp.send_done(idx, res),
                _ => {}
            }
        }
        if gave {
            bufs.as_ref().unwrap().publish();
        }
    }
}

struct Loop {
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    sqes: Vec<squeue::Entry>,
    mode: Mode,
}

impl Loop {
    fn accept(&mut self, fd: OwnedFd) -> io::Result<()> {
        rnet::sockopt::set_tcp_nodelay(&fd, true)?;
        let idx = self.free.pop().unwrap_or_else(|| {
            self.conns.push(None);
            self.conns.len() - 1
        });
        self.conns[idx] = Some(Conn {
            fd,
            inbuf: if self.mode.multishot {
                Vec::new()
            } else {
                vec![0u8; BUF_SIZE]
            },
            out: Vec::new(),
            sent: 0,
            queued: Vec::new(),
            inflight: 0,
            closing: false,
        });
        self.arm_recv(idx);
        Ok(())
    }

    fn arm_recv(&mut self, idx: usize) {
        let conn = self.conns[idx].as_mut().unwrap();
        let fd = types::Fd(conn.fd.as_raw_fd());
        let sqe = if self.mode.multishot {
            opcode::RecvMulti::new(fd, BGID).build()
        } else {
            opcode::Recv::new(fd, conn.inbuf.as_mut_ptr(), BUF_SIZE as u32).build()
        };
        conn.inflight += 1;
        self.sqes.push(sqe.user_data(RECV | idx as u64));
    }

    fn push_send(&mut self, idx: usize) {
        let conn = self.conns[idx].as_mut().unwrap();
        let rest = &conn.out[conn.sent..];
        let sqe = opcode::Send::new(
            types::Fd(conn.fd.as_raw_fd()),
            rest.as_ptr(),
            rest.len() as u32,
        )
        .build()
        .user_data(SEND | idx as u64);
        conn.inflight += 1;
        self.sqes.push(sqe);
    }

    /// Writes `bytes` back: straight away or through the ring, per the mode; behind a
    /// send still in flight.
    fn echo(&mut self, idx: usize, bytes: &[u8]) {
        let send_sqe = self.mode.send_sqe;
        let Some(conn) = self.conns[idx].as_mut() else {
            return;
        };
        if conn.closing {
            return;
        }
        if conn.out.len() > conn.sent {
            conn.queued.extend_from_slice(bytes);
            return;
        }
        conn.out.clear();
        conn.sent = 0;
        let mut off = 0;
        if !send_sqe {
            while off < bytes.len() {
                match rnet::send(&conn.fd, &bytes[off..], rnet::SendFlags::NOSIGNAL) {
                    Ok(n) => off += n,
                    Err(Errno::INTR) => continue,
                    Err(Errno::AGAIN) => break,
                    Err(_) => {
                        conn.closing = true;
                        return;
                    }
                }
            }
            if off == bytes.len() {
                return;
            }
        }
        conn.out.extend_from_slice(&bytes[off..]);
        self.push_send(idx);
    }

    fn send_done(&mut self, idx: usize, res: i32) {
        let conn = self.conns[idx].as_mut().unwrap();
        conn.inflight -= 1;
        if res < 0 && res != -libc::EAGAIN && res != -libc::EINTR {
            conn.closing = true;
        } else {
            conn.sent += res.max(0) as usize;
            if conn.sent == conn.out.len() {
                conn.out.clear();
                conn.sent = 0;
                std::mem::swap(&mut conn.out, &mut conn.queued);
            }
            if !conn.closing && conn.out.len() > conn.sent {
                self.push_send(idx);
                return;
            }
        }
        self.maybe_close(idx);
    }

    fn recv_done(&mut self, idx: usize, res: i32, more: bool) {
        let multishot = self.mode.multishot;
        let conn = self.conns[idx].as_mut().unwrap();
        if res == 0 || (res < 0 && res != -libc::ENOBUFS && res != -libc::EINTR) {
            conn.closing = true;
        }
        if !more {
            conn.inflight -= 1;
            if !conn.closing {
                self.arm_recv(idx);
                return;
            }
        } else if !multishot {
            unreachable!("a single recv has no more");
        }
        self.maybe_close(idx);
    }

    fn maybe_close(&mut self, idx: usize) {
        let conn = self.conns[idx].as_mut().unwrap();
        if conn.closing && conn.inflight == 0 {
            self.conns[idx] = None;
            self.free.push(idx);
        } else if conn.closing && self.mode.multishot {
            // End the multishot recv: shutting the socket's read side completes it.
            let _ = rnet::shutdown(&conn.fd, rnet::Shutdown::Read);
        }
    }
}
