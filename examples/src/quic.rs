//! `quic_echo`'s two ends, on weft (`weft::quinn_rt`): a server that
//! echoes every bidirectional stream back byte for byte, and a client that
//! sends a message on a stream of its own and reads the echo.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use quinn::{Connection, Endpoint, EndpointConfig};
use rustls::RootCertStore;

use crate::tls::Identity;

/// What the server saw, for tests and logs.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections that completed their handshake.
    pub connections: AtomicUsize,
    /// Streams echoed to their end.
    pub streams: AtomicUsize,
    /// Streams served on a thread where a tokio runtime was current: 0 on
    /// weft.
    pub streams_on_tokio: AtomicUsize,
}

/// A server endpoint on `addr` presenting `identity`.
///
/// # Errors
///
/// A certificate rustls refuses, or the socket's bind error.
pub fn server(identity: Identity, addr: SocketAddr) -> io::Result<Endpoint> {
    let config = quinn::ServerConfig::with_single_cert(identity.certs, identity.key)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    weft::quinn_rt::server(EndpointConfig::default(), config, addr)
}

/// A client endpoint bound to `local` (port 0: any free one) that trusts
/// exactly `roots`.
///
/// # Errors
///
/// An empty root store, or the socket's bind error.
pub fn client(roots: RootCertStore, local: SocketAddr) -> io::Result<Endpoint> {
    let config = quinn::ClientConfig::with_root_certificates(Arc::new(roots))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut endpoint = weft::quinn_rt::client(EndpointConfig::default(), local)?;
    endpoint.set_default_client_config(config);
    Ok(endpoint)
}

/// Accepts connections on `endpoint` until it is closed, echoing every
/// bidirectional stream of each in its own task.
pub async fn serve(endpoint: Endpoint, stats: Arc<Stats>) {
    while let Some(incoming) = endpoint.accept().await {
        let stats = Arc::clone(&stats);
        weft::spawn(async move {
            let connection = match incoming.await {
                Ok(connection) => connection,
                Err(e) => {
                    eprintln!("quic_echo: handshake failed: {e}");
                    return;
                }
            };
            stats.connections.fetch_add(1, Relaxed);
            // Ends when the client closes the connection.
            while let Ok((send, recv)) = connection.accept_bi().await {
                let stats = Arc::clone(&stats);
                weft::spawn(async move {
                    if tokio::runtime::Handle::try_current().is_ok() {
                        stats.streams_on_tokio.fetch_add(1, Relaxed);
                    }
                    if echo_stream(send, recv).await.is_ok() {
                        stats.streams.fetch_add(1, Relaxed);
                    }
                });
            }
        });
    }
}

/// Copies `recv` to `send` as it arrives (no whole-stream buffer), then
/// finishes `send`.
async fn echo_stream(mut send: quinn::SendStream, mut recv: quinn::RecvStream) -> io::Result<()> {
    let mut buf = vec![0; 16 * 1024];
    while let Some(n) = recv.read(&mut buf).await.map_err(io::Error::from)? {
        send.write_all(&buf[..n]).await.map_err(io::Error::from)?;
    }
    send.finish().map_err(io::Error::other)?;
    Ok(())
}

/// Sends `message` on a new bidirectional stream of `connection`, finishes
/// it, and returns what came back (up to 64 MiB).
///
/// # Errors
///
/// The connection's or stream's error.
pub async fn echo(connection: &Connection, message: &[u8]) -> io::Result<Vec<u8>> {
    let (mut send, mut recv) = connection.open_bi().await.map_err(io::Error::from)?;
    // Written while the echo is read: a large message would otherwise
    // fill both directions' flow-control windows and stall.
    let write = async {
        send.write_all(message).await.map_err(io::Error::from)?;
        send.finish().map_err(io::Error::other)
    };
    let read = async { recv.read_to_end(64 << 20).await.map_err(io::Error::other) };
    let (written, echoed) = weft::join!(write, read);
    written?;
    echoed
}
