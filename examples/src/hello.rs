//! The hello-world HTTP server behind `hello_http`: its service, and an
//! accept loop that counts the connections it took and the requests it
//! answered, so a test can see a pooled client reuse connections and check
//! that no tokio runtime ever ran a request.

use std::convert::Infallible;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use weft::hyper_rt::{WeftExecutor, WeftTimer};
use weft::net::TcpListener;

/// What `hello_http` answers to every request.
pub const HELLO: &[u8] = b"Hello, World!\n";

/// The service: `Hello, World!` for any request.
pub async fn hello(_: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(HELLO))))
}

/// What a server saw, for tests and logs.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub accepted: AtomicUsize,
    /// Requests answered.
    pub requests: AtomicUsize,
    /// Requests answered on a thread where a tokio runtime was current
    /// (`tokio::runtime::Handle::try_current()`): 0 on weft.
    pub requests_on_tokio: AtomicUsize,
    /// Connections whose TLS handshake failed or timed out (HTTPS only).
    pub handshakes_failed: AtomicUsize,
}

/// `hello`, counting each request in `stats`.
pub fn service(
    stats: Arc<Stats>,
) -> impl hyper::service::Service<
    Request<hyper::body::Incoming>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl std::future::Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |request| {
        stats.requests.fetch_add(1, Relaxed);
        if tokio::runtime::Handle::try_current().is_ok() {
            stats.requests_on_tokio.fetch_add(1, Relaxed);
        }
        hello(request)
    })
}

/// The protocol a connection is served with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 with keep-alive.
    Http1,
    /// HTTP/2 with prior knowledge (h2c: no TLS, no upgrade).
    Http2,
}

/// Serves `hello` on every connection `listener` accepts, counting in
/// `stats`, until accepting fails (which it does only for errors weft's
/// accept cannot recover from: see `TcpListener::accept`).
pub async fn serve(listener: TcpListener, protocol: Protocol, stats: Arc<Stats>) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        stats.accepted.fetch_add(1, Relaxed);
        let _ = stream.set_nodelay(true);
        let service = service(Arc::clone(&stats));
        weft::spawn(async move {
            let _ = match protocol {
                Protocol::Http1 => {
                    hyper::server::conn::http1::Builder::new()
                        .timer(WeftTimer)
                        .serve_connection(stream, service)
                        .await
                }
                Protocol::Http2 => {
                    hyper::server::conn::http2::Builder::new(WeftExecutor)
                        .timer(WeftTimer)
                        .serve_connection(stream, service)
                        .await
                }
            };
        });
    }
}
