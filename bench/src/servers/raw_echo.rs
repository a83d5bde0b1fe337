//! The floor: a hand-written, single-threaded, edge-triggered epoll echo server on rustix.
//!
//! No runtime, no tasks, no wakers: one `epoll_wait` per batch of events, then per readable
//! connection `read` + `write` until a short read or `EAGAIN`. If a write is partial, the
//! rest is kept in a per-connection pending buffer, reading pauses, and the connection
//! resumes on `EPOLLOUT`.

use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;

use rustix::buffer::spare_capacity;
use rustix::event::epoll;
use rustix::io::Errno;
use rustix::net::{self as rnet, AddressFamily, SocketFlags, SocketType};

/// Epoll key of the listening socket; connections use their slot index.
const LISTENER_KEY: u64 = u64::MAX;
/// Read buffer size, same as the runtime-based servers.
const BUF_SIZE: usize = 4096;
/// Listen backlog.
const BACKLOG: i32 = 1024;

/// One accepted connection.
struct Conn {
    fd: OwnedFd,
    /// Bytes read but not yet written back (non-empty only after a partial write).
    pending: Vec<u8>,
}

/// What to do with a connection after handling its event.
enum Next {
    Keep,
    Close,
}

/// Runs the raw epoll echo server on `addr` (port 0 picks a free port) until killed.
pub fn serve(addr: SocketAddr) -> io::Result<()> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let listener = rnet::socket_with(
        family,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?;
    rnet::sockopt::set_socket_reuseaddr(&listener, true)?;
    rnet::bind(&listener, &addr)?;
    rnet::listen(&listener, BACKLOG)?;
    let local = SocketAddr::try_from(rnet::getsockname(&listener)?)
        .map_err(|e| io::Error::other(format!("listener address is not inet: {e:?}")))?;

    let ep = epoll::create(epoll::CreateFlags::CLOEXEC)?;
    epoll::add(
        &ep,
        &listener,
        epoll::EventData::new_u64(LISTENER_KEY),
        epoll::EventFlags::IN | epoll::EventFlags::ET,
    )?;
    super::announce_ready(local)?;

    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut buf = vec![0u8; BUF_SIZE];
    let mut events: Vec<epoll::Event> = Vec::with_capacity(256);
    loop {
        events.clear();
        match epoll::wait(&ep, spare_capacity(&mut events), None) {
            Ok(_) => {}
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
        for ev in &events {
            // `Event` is packed on x86_64: copy the fields out before use.
            let (key, flags) = (ev.data.u64(), ev.flags);
            if key == LISTENER_KEY {
                accept_all(&ep, &listener, &mut conns, &mut free)?;
                continue;
            }
            let idx = key as usize;
            let Some(conn) = conns.get_mut(idx).and_then(Option::as_mut) else {
                continue; // Closed earlier in this batch.
            };
            if let Next::Close = on_event(conn, flags, &mut buf) {
                // Dropping the fd closes it, which also removes it from the epoll set.
                conns[idx] = None;
                free.push(idx);
            }
        }
    }
}

/// Accepts until `EAGAIN` and registers each new connection, edge-triggered.
fn accept_all(
    ep: &OwnedFd,
    listener: &OwnedFd,
    conns: &mut Vec<Option<Conn>>,
    free: &mut Vec<usize>,
) -> io::Result<()> {
    loop {
        let fd = match rnet::accept_with(listener, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC) {
            Ok(fd) => fd,
            Err(Errno::AGAIN) => return Ok(()),
            Err(Errno::INTR | Errno::CONNABORTED) => continue,
            Err(e) => return Err(e.into()),
        };
        rnet::sockopt::set_tcp_nodelay(&fd, true)?;
        let idx = free.pop().unwrap_or_else(|| {
            conns.push(None);
            conns.len() - 1
        });
        epoll::add(
            ep,
            &fd,
            epoll::EventData::new_u64(idx as u64),
            epoll::EventFlags::IN
                | epoll::EventFlags::OUT
                | epoll::EventFlags::RDHUP
                | epoll::EventFlags::ET,
        )?;
        conns[idx] = Some(Conn {
            fd,
            pending: Vec::new(),
        });
    }
}

/// Handles one readiness event for `conn`.
fn on_event(conn: &mut Conn, flags: epoll::EventFlags, buf: &mut [u8]) -> Next {
    let mut resume_reading = false;
    if !conn.pending.is_empty() {
        if !flags.contains(epoll::EventFlags::OUT) && !flags.intersects(hangup_flags()) {
            return Next::Keep;
        }
        match flush_pending(conn) {
            Ok(true) => resume_reading = true, // Reads were paused; data may be waiting.
            Ok(false) => return Next::Keep,    // Still blocked on EPOLLOUT.
            Err(_) => return Next::Close,
        }
    }
    if resume_reading || flags.intersects(epoll::EventFlags::IN | hangup_flags()) {
        read_and_echo(conn, buf)
    } else {
        Next::Keep
    }
}

/// Flags that mean "the peer or the socket is done": a read will report it.
fn hangup_flags() -> epoll::EventFlags {
    epoll::EventFlags::HUP | epoll::EventFlags::RDHUP | epoll::EventFlags::ERR
}

/// Reads and writes back until a short read, `EAGAIN`, or a partial write.
fn read_and_echo(conn: &mut Conn, buf: &mut [u8]) -> Next {
    loop {
        let n = match rustix::io::read(&conn.fd, &mut *buf) {
            Ok(0) => return Next::Close,
            Ok(n) => n,
            Err(Errno::AGAIN) => return Next::Keep,
            Err(Errno::INTR) => continue,
            Err(_) => return Next::Close,
        };
        match write_or_queue(conn, &buf[..n]) {
            Ok(true) => {}
            Ok(false) => return Next::Keep, // Partial write: pause reads until EPOLLOUT.
            Err(_) => return Next::Close,
        }
        if n < buf.len() {
            // Short read: the receive queue was drained; the next arrival raises a new edge.
            return Next::Keep;
        }
    }
}

/// Writes `data`; whatever the socket does not take goes to `conn.pending`.
/// Returns `Ok(true)` if everything was written.
fn write_or_queue(conn: &mut Conn, data: &[u8]) -> io::Result<bool> {
    let mut off = 0;
    while off < data.len() {
        match rustix::io::write(&conn.fd, &data[off..]) {
            Ok(n) => off += n,
            Err(Errno::AGAIN) => break,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    conn.pending.extend_from_slice(&data[off..]);
    Ok(conn.pending.is_empty())
}

/// Writes as much of `conn.pending` as the socket takes. Returns `Ok(true)` once it is empty.
fn flush_pending(conn: &mut Conn) -> io::Result<bool> {
    let mut off = 0;
    while off < conn.pending.len() {
        match rustix::io::write(&conn.fd, &conn.pending[off..]) {
            Ok(n) => off += n,
            Err(Errno::AGAIN) => break,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    conn.pending.drain(..off);
    Ok(conn.pending.is_empty())
}
