//! `https_hello`'s server: rustls through tokio-rustls over weft's streams
//! (their tokio `AsyncRead`/`AsyncWrite`, weft's `tokio-io` feature), then
//! hyper over the TLS stream, HTTP/2 or HTTP/1.1 as ALPN chose.
//!
//! tokio-rustls rather than futures-rustls: it is the crate hyper-rustls's
//! client is built on, so one TLS stack serves both ends, and a tokio
//! server's TLS code ports unchanged.

use std::io;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;
use weft::hyper_rt::{WeftExecutor, WeftTimer};
use weft::net::TcpListener;

use crate::hello::{service, Stats};

/// How long a client has to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `hello` over TLS on every connection `listener` accepts, until
/// accepting fails (only for errors weft's accept cannot recover from). A
/// client that sends garbage, stalls or hangs up mid-handshake costs only
/// its own connection: it is counted, named on stderr and closed.
pub async fn serve(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    stats: Arc<Stats>,
) -> io::Result<()> {
    let acceptor = TlsAcceptor::from(config);
    loop {
        let (stream, peer) = listener.accept().await?;
        stats.accepted.fetch_add(1, Relaxed);
        let _ = stream.set_nodelay(true);
        let (acceptor, service) = (acceptor.clone(), service(Arc::clone(&stats)));
        let stats = Arc::clone(&stats);
        weft::spawn(async move {
            let tls = match weft::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    stats.handshakes_failed.fetch_add(1, Relaxed);
                    eprintln!("https_hello: TLS handshake with {peer} failed: {e}");
                    return;
                }
                Err(_) => {
                    stats.handshakes_failed.fetch_add(1, Relaxed);
                    eprintln!("https_hello: TLS handshake with {peer} timed out");
                    return;
                }
            };
            let http2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
            let io = TokioIo::new(tls);
            let _ = if http2 {
                hyper::server::conn::http2::Builder::new(WeftExecutor)
                    .timer(WeftTimer)
                    .serve_connection(io, service)
                    .await
            } else {
                hyper::server::conn::http1::Builder::new()
                    .timer(WeftTimer)
                    .serve_connection(io, service)
                    .await
            };
        });
    }
}
