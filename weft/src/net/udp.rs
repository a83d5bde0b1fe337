//! `UdpSocket`.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::task::{Context, Poll};

use rustix::net::RecvFlags;

use crate::driver::io::evented::Evented;
use crate::driver::io::Direction;
use crate::net::addr::{each_addr, ToSocketAddrs};
use crate::net::buf::Recv;
use crate::net::datagram;

/// A UDP socket.
///
/// Every receive detects truncation: a datagram longer than the buffer is an
/// `InvalidData` error giving both sizes (its first bytes are in the buffer),
/// never a silent short read. Several tasks may send and receive through
/// `&UdpSocket`; every task waiting in a direction is woken when it becomes
/// ready.
///
/// ```
/// use weft::net::UdpSocket;
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let a = UdpSocket::bind("127.0.0.1:0").await?;
///     let b = UdpSocket::bind("127.0.0.1:0").await?;
///     a.send_to(b"ping", b.local_addr()?).await?;
///     let mut buf = [0u8; 1500];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
///     Ok(())
/// }
/// ```
pub struct UdpSocket {
    io: Evented<std::net::UdpSocket>,
}

fn to_std(addr: Option<rustix::net::SocketAddrAny>) -> io::Result<SocketAddr> {
    addr.and_then(|a| SocketAddr::try_from(a).ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "datagram without an IP source address",
            )
        })
}

impl UdpSocket {
    /// A socket bound to `addr` (port 0 picks a free port). With several
    /// addresses, the first that binds wins.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for addresses that are not literal IPs; otherwise the
    /// kernel's error for the last address tried.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(addr, |addr| async move {
            UdpSocket::from_std(std::net::UdpSocket::bind(addr)?)
        })
        .await
    }

    /// Wraps a socket from `std`, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// If called outside a weft runtime, or registration fails.
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            io: crate::scheduler::context::register(socket)?,
        })
    }

    /// Turns the socket back into a `std` one (still non-blocking).
    ///
    /// # Errors
    ///
    /// If the descriptor cannot be duplicated.
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        self.io.into_std()
    }

    /// Sets the default peer: `send` goes there and only its datagrams are
    /// received.
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(addr, |addr| async move { self.io.get_ref().connect(addr) }).await
    }

    /// Sends `buf` as one datagram to `target`.
    ///
    /// # Errors
    ///
    /// A lookup's error (naming the host) for a name that does not resolve,
    /// or the kernel's (`EMSGSIZE` as `InvalidInput` for a datagram over 65,507
    /// bytes, `PermissionDenied` for a broadcast without
    /// [`set_broadcast`](Self::set_broadcast), ...).
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        each_addr(target, |addr| {
            std::future::poll_fn(move |cx| self.poll_send_to(cx, buf, addr))
        })
        .await
    }

    /// Polls for [`send_to`](Self::send_to).
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Write, |s| s.send_to(buf, target))
    }

    /// Sends to `target` without waiting.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| s.send_to(buf, target))
    }

    /// Receives one datagram and its source address.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// Polls for [`recv_from`](Self::recv_from) (a slice instead of tokio's
    /// `ReadBuf`, and the length returned with the address).
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_recv(cx, |s| {
            let (n, addr) = datagram::recv_from(s, buf, RecvFlags::empty())?;
            Ok((n, to_std(addr)?))
        })
    }

    /// Receives with its source address, without waiting.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Direction::Read, |s| {
            let (n, addr) = datagram::recv_from(s, buf, RecvFlags::empty())?;
            Ok((n, to_std(addr)?))
        })
    }

    /// Receives one datagram and its source address into a
    /// [`bytes::BufMut`], as [`recv_buf`](Self::recv_buf).
    pub async fn recv_buf_from<B: bytes::BufMut>(
        &self,
        buf: &mut B,
    ) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = crate::net::buf::recv_buf(&self.io, buf, Recv::DatagramFrom).await?;
        Ok((n, to_std(from)?))
    }

    /// [`recv_buf_from`](Self::recv_buf_from) without waiting.
    pub fn try_recv_buf_from<B: bytes::BufMut>(
        &self,
        buf: &mut B,
    ) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = crate::net::buf::try_recv_buf(&self.io, buf, Recv::DatagramFrom)?;
        Ok((n, to_std(from)?))
    }

    /// Receives the next datagram without removing it from the queue. A
    /// buffer shorter than the datagram is fine here (peeking at a header
    /// is the point): only the bytes copied are reported.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_peek_from(cx, buf)).await
    }

    /// Polls for [`peek_from`](Self::peek_from) (a slice instead of tokio's
    /// `ReadBuf`, and the length returned with the address).
    pub fn poll_peek_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_recv(cx, |s| peek_from(s, buf))
    }

    /// [`peek_from`](Self::peek_from) without waiting (`WouldBlock` if
    /// nothing is queued).
    pub fn try_peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Direction::Read, |s| peek_from(s, buf))
    }

    /// Receives the next datagram from the connected peer without removing
    /// it (see [`peek_from`](Self::peek_from)).
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_peek(cx, buf)).await
    }

    /// Polls for [`peek`](Self::peek) (a slice instead of tokio's `ReadBuf`;
    /// the length is returned).
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_recv(cx, |s| datagram::recv(s, buf, RecvFlags::PEEK))
    }

    /// [`peek`](Self::peek) without waiting.
    pub fn try_peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .try_io(Direction::Read, |s| datagram::recv(s, buf, RecvFlags::PEEK))
    }

    /// The source address of the next datagram, which stays queued: look
    /// at who sent it before deciding how to receive it.
    ///
    /// ```
    /// use weft::net::UdpSocket;
    ///
    /// #[weft::main(flavor = "current_thread")]
    /// async fn main() -> std::io::Result<()> {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.send_to(b"hello", b.local_addr()?).await?;
    ///     assert_eq!(b.peek_sender().await?, a.local_addr()?);
    ///     let mut buf = [0u8; 16];
    ///     assert_eq!(b.recv_from(&mut buf).await?, (5, a.local_addr()?));
    ///     Ok(())
    /// }
    /// ```
    pub async fn peek_sender(&self) -> io::Result<SocketAddr> {
        std::future::poll_fn(|cx| self.poll_peek_sender(cx)).await
    }

    /// Polls for [`peek_sender`](Self::peek_sender).
    pub fn poll_peek_sender(&self, cx: &mut Context<'_>) -> Poll<io::Result<SocketAddr>> {
        self.io
            .poll_recv(cx, |s| peek_from(s, &mut []).map(|(_, from)| from))
    }

    /// [`peek_sender`](Self::peek_sender) without waiting.
    pub fn try_peek_sender(&self) -> io::Result<SocketAddr> {
        self.io.try_io(Direction::Read, |s| {
            peek_from(s, &mut []).map(|(_, from)| from)
        })
    }

    crate::net::datagram::datagram_methods!(
        "```
use weft::net::UdpSocket;

#[weft::main(flavor = \"current_thread\")]
async fn main() -> std::io::Result<()> {
    let a = UdpSocket::bind(\"127.0.0.1:0\").await?;
    let b = UdpSocket::bind(\"127.0.0.1:0\").await?;
    b.connect(a.local_addr()?).await?;
    a.send_to(b\"datagram\", b.local_addr()?).await?;
    let mut buf = Vec::with_capacity(1500);
    let n = b.recv_buf(&mut buf).await?;
    assert_eq!((n, &buf[..]), (8, &b\"datagram\"[..]));
    Ok(())
}
```"
    );

    /// Waits until the socket is readable and runs `op`, a receive of the
    /// caller's own on it (quinn-udp's batched `recvmmsg`), again after
    /// each `WouldBlock`, with the built-in receives' rules: a socket shut
    /// down for reading is a `NotConnected` error, not a wait that never
    /// ends.
    #[cfg(feature = "quinn")]
    pub(crate) fn poll_recv_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.io.registration().poll_recv(cx, op)
    }

    /// The address this socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Allows sending to broadcast addresses (`SO_BROADCAST`).
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// The IP time-to-live of sent datagrams.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets the IP time-to-live.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// Joins IPv4 multicast group `group` on the interface with address
    /// `interface` (`0.0.0.0`: the default one).
    pub fn join_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().join_multicast_v4(&group, &interface)
    }

    /// Leaves an IPv4 multicast group.
    pub fn leave_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v4(&group, &interface)
    }

    /// Joins IPv6 multicast group `group` on interface index `interface`
    /// (0: the default one).
    pub fn join_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().join_multicast_v6(group, interface)
    }

    /// Leaves an IPv6 multicast group.
    pub fn leave_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v6(group, interface)
    }

    /// Whether this socket receives its own IPv4 multicast datagrams.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v4()
    }

    /// Sets whether this socket receives its own IPv4 multicast datagrams.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v4(on)
    }

    /// The time-to-live of IPv4 multicast datagrams.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.io.get_ref().multicast_ttl_v4()
    }

    /// Sets the time-to-live of IPv4 multicast datagrams.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_multicast_ttl_v4(ttl)
    }

    /// Whether this socket receives its own IPv6 multicast datagrams.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v6()
    }

    /// Sets whether this socket receives its own IPv6 multicast datagrams.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v6(on)
    }

    fn sock(&self) -> socket2::SockRef<'_> {
        socket2::SockRef::from(self.io.get_ref())
    }

    /// The pending socket error (`SO_ERROR`, e.g. an ICMP port unreachable
    /// for a connected socket), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

/// One datagram peeked at, with its source; it stays queued.
fn peek_from(s: &std::net::UdpSocket, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    let (n, addr) = datagram::recv_from(s, buf, RecvFlags::PEEK)?;
    Ok((n, to_std(addr)?))
}

crate::net::fd_impls!(UdpSocket);

crate::net::try_from_std!(UdpSocket, std::net::UdpSocket);
crate::net::ip_options_methods!(UdpSocket);
