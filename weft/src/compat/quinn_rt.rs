//! QUIC on weft (the `quinn` feature): [`WeftRuntime`] is quinn's
//! `Runtime` (timers, spawning, and the UDP socket with its readiness) on
//! weft's loop, so a `quinn::Endpoint` runs with no tokio runtime.
//! [`server`] and [`client`] are quinn's `Endpoint::server` and
//! `Endpoint::client` on weft, with the `EndpointConfig` passed in: its
//! default needs a crypto provider (quinn's `ring` or `aws-lc-rs`
//! feature), which the application picks, not weft.
//!
//! The UDP socket is a weft [`UdpSocket`](crate::net::UdpSocket) driven
//! through quinn-udp's `UdpSocketState`, so segmentation offload (GSO/GRO),
//! ECN and the packet-info ancillary data work as they do on tokio.
//!
//! ```no_run
//! # async fn demo(config: quinn::ServerConfig, endpoint: quinn::EndpointConfig) -> std::io::Result<()> {
//! // `endpoint`: `quinn::EndpointConfig::default()` with quinn's
//! // `rustls-aws-lc-rs` (or `rustls-ring`) feature.
//! let endpoint = weft::quinn_rt::server(endpoint, config, "127.0.0.1:4433".parse().unwrap())?;
//! while let Some(incoming) = endpoint.accept().await {
//!     weft::spawn(async move {
//!         let Ok(connection) = incoming.await else { return };
//!         while let Ok((mut send, mut recv)) = connection.accept_bi().await {
//!             let Ok(data) = recv.read_to_end(1 << 20).await else { return };
//!             let _ = send.write_all(&data).await;
//!             let _ = send.finish();
//!         }
//!     });
//! }
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use quinn::udp::{RecvMeta, Transmit, UdpSocketState};
use quinn::{
    AsyncTimer, AsyncUdpSocket, Endpoint, EndpointConfig, Runtime, ServerConfig, UdpPoller,
};

use crate::io::Interest;
use crate::runtime::Handle;

/// quinn's `Runtime` on a weft runtime: pass `Arc::new(WeftRuntime::new())`
/// where a tokio program passes `Arc::new(quinn::TokioRuntime)`.
///
/// It holds a [`Handle`]: quinn's background tasks (the endpoint and
/// connection drivers) are spawned onto that runtime and its sockets are
/// registered with it, whichever thread quinn calls from.
#[derive(Clone)]
pub struct WeftRuntime {
    handle: Handle,
}

impl WeftRuntime {
    /// The runtime the caller runs on.
    ///
    /// # Panics
    ///
    /// Outside a weft runtime, as [`Handle::current`] does; use
    /// [`with_handle`](Self::with_handle) there.
    pub fn new() -> WeftRuntime {
        WeftRuntime {
            handle: Handle::current(),
        }
    }

    /// The runtime `handle` names (for an endpoint made outside it).
    pub fn with_handle(handle: Handle) -> WeftRuntime {
        WeftRuntime { handle }
    }
}

impl Default for WeftRuntime {
    fn default() -> WeftRuntime {
        WeftRuntime::new()
    }
}

impl fmt::Debug for WeftRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeftRuntime")
    }
}

impl Runtime for WeftRuntime {
    fn new_timer(&self, deadline: Instant) -> Pin<Box<dyn AsyncTimer>> {
        let _in = self.handle.enter();
        Box::pin(Timer {
            sleep: crate::time::sleep_until(deadline.into()),
        })
    }

    fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send>>) {
        drop(self.handle.spawn(future));
    }

    fn wrap_udp_socket(&self, socket: std::net::UdpSocket) -> io::Result<Arc<dyn AsyncUdpSocket>> {
        let _in = self.handle.enter();
        socket.set_nonblocking(true)?;
        let state = UdpSocketState::new((&socket).into())?;
        Ok(Arc::new(Socket {
            io: crate::net::UdpSocket::from_std(socket)?,
            state,
        }))
    }

    /// weft's clock, so a paused clock (`test-util`) is quinn's too.
    fn now(&self) -> Instant {
        crate::time::Instant::now().into_std()
    }
}

pin_project_lite::pin_project! {
    /// A weft [`Sleep`](crate::time::Sleep) as quinn's timer.
    struct Timer {
        #[pin]
        sleep: crate::time::Sleep,
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.sleep.fmt(f)
    }
}

impl AsyncTimer for Timer {
    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.project().sleep.reset(deadline.into());
    }

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().sleep.poll(cx)
    }
}

/// A weft UDP socket driven through quinn-udp.
struct Socket {
    io: crate::net::UdpSocket,
    state: UdpSocketState,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("io", &self.io)
            .finish_non_exhaustive()
    }
}

/// An ICMP report about an earlier datagram (a peer's port closed, a route
/// gone), which a receive may return: it says nothing about this socket,
/// so the receive goes on.
fn is_icmp_report(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
    )
}

impl AsyncUdpSocket for Socket {
    fn create_io_poller(self: Arc<Self>) -> Pin<Box<dyn UdpPoller>> {
        Box::pin(Writable(self))
    }

    /// `WouldBlock` when the socket's send buffer is full (its write
    /// readiness is then cleared, so quinn's poller waits for room).
    fn try_send(&self, transmit: &Transmit<'_>) -> io::Result<()> {
        self.io.try_io(Interest::WRITABLE, || {
            self.state.send((&self.io).into(), transmit)
        })
    }

    /// Waits for datagrams and takes as many as fit into `bufs` (several
    /// per call with `recvmmsg`-style batching and GRO). ICMP reports about
    /// earlier datagrams are skipped; any other error is returned (quinn
    /// ignores a `ConnectionReset` and ends the endpoint on the rest).
    fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        loop {
            let received = ready!(self.io.poll_recv_with(cx, || self.state.recv(
                (&self.io).into(),
                bufs,
                meta
            )));
            match received {
                // The report was taken off the socket: receive again.
                Err(e) if is_icmp_report(&e) => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    fn may_fragment(&self) -> bool {
        self.state.may_fragment()
    }

    fn max_transmit_segments(&self) -> usize {
        self.state.max_gso_segments()
    }

    fn max_receive_segments(&self) -> usize {
        self.state.gro_segments()
    }
}

/// quinn's wait for send room: the socket's write readiness.
#[derive(Debug)]
struct Writable(Arc<Socket>);

impl UdpPoller for Writable {
    fn poll_writable(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.io.poll_send_ready(cx)
    }
}

/// An endpoint that accepts connections with `config` (and may open its
/// own) on a UDP socket bound to `addr`, on the current weft runtime:
/// quinn's `Endpoint::server`, with the endpoint's settings passed in
/// (`EndpointConfig::default()` is what quinn's uses).
///
/// # Errors
///
/// The socket's bind or setup error.
///
/// # Panics
///
/// Outside a weft runtime, as [`WeftRuntime::new`].
pub fn server(
    endpoint: EndpointConfig,
    config: ServerConfig,
    addr: SocketAddr,
) -> io::Result<Endpoint> {
    let socket = std::net::UdpSocket::bind(addr)?;
    Endpoint::new(endpoint, Some(config), socket, Arc::new(WeftRuntime::new()))
}

/// An endpoint that only opens connections, on a UDP socket bound to
/// `addr` (port 0 for any; an IPv6 address is made dual-stack where the
/// system allows, as quinn does), on the current weft runtime: quinn's
/// `Endpoint::client`, with the endpoint's settings passed in. Give it a
/// `quinn::ClientConfig` with `set_default_client_config` or per
/// `connect_with`.
///
/// # Errors
///
/// The socket's bind or setup error.
///
/// # Panics
///
/// Outside a weft runtime, as [`WeftRuntime::new`].
pub fn client(endpoint: EndpointConfig, addr: SocketAddr) -> io::Result<Endpoint> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    if addr.is_ipv6() {
        // Best effort: where the system refuses, the socket stays IPv6-only.
        let _ = socket.set_only_v6(false);
    }
    socket.bind(&addr.into())?;
    Endpoint::new(endpoint, None, socket.into(), Arc::new(WeftRuntime::new()))
}
