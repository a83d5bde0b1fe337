//! Accepting TCP connections through an owned ring ([`AcceptState`]).
//!
//! An accept that finds nothing arms one `IORING_OP_ACCEPT` on the ring,
//! with the peer's address written into the state's own buffer; the
//! turn's one `io_uring_enter` submits it, the kernel takes the next
//! connection (at once if one is queued, else when one comes, in the
//! owner's completion work), and the connection waits here, the slot turns
//! `READABLE`, and the acceptor takes it: no `accept4(2)` and no `EAGAIN`
//! per connection. Only a waiting accept arms one, and one at a time, so
//! connections stay in the kernel's listen queue until somebody accepts,
//! as on epoll (back-pressure through the backlog, and `set_single_accept`
//! takes one per turn), with one exception: an accept dropped while its
//! request is armed (a `select!`, a timeout) leaves the request to take
//! the next connection into the process, where it waits for the next
//! `accept` (a descriptor held, and a connection a `SO_REUSEPORT` sibling
//! would otherwise have had).
//!
//! Why not a multishot accept: the kernel writes every connection's
//! address into the one buffer the request names, so a multishot accept
//! can give no addresses (each `accept` would cost a `getpeername(2)`, the
//! syscall it saves), and it takes connections before anyone asks for
//! them, which a listen queue's back-pressure should decide.
//!
//! Accepting directly (`accept4(2)`) stays right where the kernel says
//! more are queued (`IORING_CQE_F_SOCK_NONEMPTY`), and after an error: an
//! accept request fails at once while the process is out of descriptors
//! (the kernel takes the descriptor before it looks at the queue), so
//! after any error the next wait arms a one-shot `POLLIN` poll instead and
//! the accept after it is direct, exactly as on epoll: the acceptor's
//! `EMFILE` handling (the spare descriptor, `accept.rs` in `net`) runs
//! once per connection queued, never in a loop.
//!
//! Lifetime. The kernel writes the address while the request runs, so the
//! state (and its buffer) stays with the ring's registrations while a
//! request is in flight, even after the listener is gone, until its last
//! completion or the ring's close (`Registered::retired`); a connection
//! accepted for a listener already gone is closed.

use std::mem::size_of;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Acquire, Release};
use std::sync::Mutex;

use io_uring::cqueue;

use crate::sys::lock::lock;

/// What a listener has in flight on the ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Want {
    None,
    /// An accept request.
    Accept,
    /// A one-shot `POLLIN` poll (after an error).
    Poll,
}

/// Where the kernel writes an accepted connection's peer address.
#[repr(C)]
pub(crate) struct Addr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

/// A connection the ring accepted: its descriptor and peer address (`None`
/// if the kernel gave none this code can read).
pub(crate) type Accepted = (OwnedFd, Option<SocketAddr>);

/// One listener's accept state (see the module's docs).
pub(crate) struct AcceptState {
    token: u64,
    /// `inner.want` is not `None`: written with it under the lock, read
    /// without it by [`in_flight`](Self::in_flight).
    in_flight: AtomicBool,
    inner: Mutex<Inner>,
}

struct Inner {
    want: Want,
    /// Boxed: its address is handed to the kernel with each request, and
    /// nothing here touches it while one is in flight.
    addr: Box<Addr>,
    /// A completion not yet taken: a connection, or an errno.
    done: Option<Result<Accepted, i32>>,
    /// More connections may be queued: the next accept is direct.
    more: bool,
    /// The last accept failed: wait with a poll, then accept directly.
    failed: bool,
}

impl AcceptState {
    pub(crate) fn new(token: u64) -> AcceptState {
        AcceptState {
            token,
            in_flight: AtomicBool::new(false),
            inner: Mutex::new(Inner {
                want: Want::None,
                addr: Box::new(Addr {
                    // SAFETY: `sockaddr_storage` is plain integers, for
                    // which all zeroes is a valid value.
                    storage: unsafe { std::mem::zeroed() },
                    len: 0,
                }),
                done: None,
                more: false,
                failed: false,
            }),
        }
    }

    pub(crate) fn token(&self) -> u64 {
        self.token
    }

    /// True if a request is in flight (its completion makes the slot
    /// readable): a caller may skip arming.
    pub(crate) fn in_flight(&self) -> bool {
        self.in_flight.load(Acquire)
    }

    /// Takes a connection: one the ring accepted (`convert`ed), else its
    /// error, else (where more may be queued and no request is in flight)
    /// one `direct` accepts. `AGAIN` when there is nothing: the caller arms
    /// a request and waits. `single` (one connection per turn): the next
    /// accept waits for the ring's next turn.
    pub(crate) fn take<T>(
        &self,
        single: bool,
        direct: impl FnOnce() -> rustix::io::Result<T>,
        convert: impl FnOnce(Accepted) -> T,
    ) -> rustix::io::Result<T> {
        let mut inner = lock(&self.inner);
        if let Some(done) = inner.done.take() {
            if single {
                inner.more = false;
            }
            return done
                .map(convert)
                .map_err(rustix::io::Errno::from_raw_os_error);
        }
        if !inner.more || inner.want == Want::Accept {
            return Err(rustix::io::Errno::AGAIN);
        }
        match direct() {
            Ok(accepted) => {
                inner.failed = false;
                if single {
                    inner.more = false;
                }
                Ok(accepted)
            }
            Err(rustix::io::Errno::AGAIN) => {
                inner.more = false;
                Err(rustix::io::Errno::AGAIN)
            }
            Err(e) => {
                inner.failed = true;
                Err(e)
            }
        }
    }

    /// Marks a request armed if none is; returns what the caller must now
    /// submit (`None`: one is in flight, or a connection waits here).
    pub(crate) fn arm(&self) -> Want {
        let mut inner = lock(&self.inner);
        if inner.want != Want::None || inner.done.is_some() {
            return Want::None;
        }
        inner.want = if inner.failed {
            Want::Poll
        } else {
            Want::Accept
        };
        self.in_flight.store(true, Release);
        inner.want
    }

    /// True if a connection the ring accepted waits here, or an accept is
    /// in flight (which may be taking one).
    pub(crate) fn holds_connection(&self) -> bool {
        let inner = lock(&self.inner);
        matches!(inner.done, Some(Ok(_))) || inner.want == Want::Accept
    }

    /// What is in flight (for a new ring, which arms it again).
    pub(crate) fn want(&self) -> Want {
        lock(&self.inner).want
    }

    /// The address buffer's pointers for an accept request's entry (made
    /// on the submitting thread right after `arm`, or for a new ring, whose
    /// request replaces the old ring's, which ended with it).
    pub(crate) fn addr_ptrs(&self) -> (*mut libc::sockaddr, *mut libc::socklen_t) {
        let mut inner = lock(&self.inner);
        let addr = &mut *inner.addr;
        addr.len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let storage = std::ptr::addr_of_mut!(addr.storage).cast::<libc::sockaddr>();
        (storage, std::ptr::addr_of_mut!(addr.len))
    }

    /// Takes a request's completion (`poll`: the one-shot poll's). Returns
    /// true if the acceptor should look again (always, but for a
    /// cancelled request).
    pub(crate) fn complete(&self, poll: bool, res: i32, flags: u32) -> bool {
        let mut inner = lock(&self.inner);
        inner.want = Want::None;
        self.in_flight.store(false, Release);
        if poll {
            // Readable (or failed): the direct accept finds out.
            inner.more = true;
            return res != -libc::ECANCELED;
        }
        match res {
            fd if fd >= 0 => {
                // SAFETY: a successful accept's result is a new descriptor
                // the kernel installed for us, owned by nobody else.
                let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                // The request is complete: the kernel no longer writes the
                // address.
                let addr = socket_addr(&inner.addr);
                inner.done = Some(Ok((fd, addr)));
                inner.failed = false;
                if cqueue::sock_nonempty(flags) {
                    inner.more = true;
                }
            }
            e if e == -libc::ECANCELED => return false,
            // Nothing to take after all: a direct accept finds out.
            e if e == -libc::EAGAIN || e == -libc::EINTR => inner.more = true,
            e => {
                inner.done = Some(Err(-e));
                inner.failed = true;
            }
        }
        true
    }
}

/// The address the kernel wrote, if it is an IPv4 or IPv6 one.
fn socket_addr(addr: &Addr) -> Option<SocketAddr> {
    let len = addr.len as usize;
    match i32::from(addr.storage.ss_family) {
        libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: the kernel wrote a `sockaddr_in` (its family says
            // so, and `len` covers it) at the start of the storage, which
            // is aligned for any socket address.
            let sin = unsafe { &*std::ptr::addr_of!(addr.storage).cast::<libc::sockaddr_in>() };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for a `sockaddr_in6`.
            let sin6 = unsafe { &*std::ptr::addr_of!(addr.storage).cast::<libc::sockaddr_in6>() };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                u32::from_be(sin6.sin6_flowinfo),
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// Closes a connection accepted for a listener that is gone.
pub(crate) fn close_orphan(res: i32) {
    if res >= 0 {
        // SAFETY: as in `complete`: a new descriptor nobody else owns.
        drop(unsafe { OwnedFd::from_raw_fd(res) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_the_kernel_wrote_is_read_back() {
        let mut addr = Addr {
            // SAFETY: all zeroes is a valid `sockaddr_storage`.
            storage: unsafe { std::mem::zeroed() },
            len: 0,
        };
        assert_eq!(socket_addr(&addr), None, "no family: no address");
        let v4: SocketAddr = "127.0.0.1:4242".parse().unwrap();
        let sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 4242u16.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(Ipv4Addr::LOCALHOST).to_be(),
            },
            sin_zero: [0; 8],
        };
        // SAFETY: a `sockaddr_in` fits at the start of the storage.
        unsafe {
            std::ptr::addr_of_mut!(addr.storage)
                .cast::<libc::sockaddr_in>()
                .write(sin)
        };
        addr.len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(socket_addr(&addr), Some(v4));
        addr.len = 4;
        assert_eq!(socket_addr(&addr), None, "too short to be one");
    }

    #[test]
    fn an_error_makes_the_next_wait_a_poll_and_the_next_accept_direct() {
        let state = AcceptState::new(7);
        assert_eq!(state.arm(), Want::Accept);
        assert!(state.in_flight());
        assert_eq!(state.arm(), Want::None, "one request at a time");
        assert!(state.complete(false, -libc::EMFILE, 0));
        assert!(!state.in_flight());
        let taken = state.take(
            false,
            || -> rustix::io::Result<()> { unreachable!() },
            |_| (),
        );
        assert_eq!(
            taken,
            Err(rustix::io::Errno::MFILE),
            "the error is the acceptor's"
        );
        assert_eq!(state.arm(), Want::Poll, "no accept request while it lasts");
        assert!(state.complete(true, libc::POLLIN as i32, 0));
        let mut direct = false;
        let taken = state.take(
            false,
            || {
                direct = true;
                Err(rustix::io::Errno::AGAIN)
            },
            |_| (),
        );
        assert!(direct, "after the poll, the accept is direct");
        assert_eq!(taken, Err(rustix::io::Errno::AGAIN));
        assert!(
            !state.complete(false, -libc::ECANCELED, 0),
            "a cancel wakes nobody"
        );
    }
}
