//! hyper-util's pooled client on weft (the `hyper-client` feature):
//! [`WeftConnector`] is the `tower::Service<Uri>` that hyper-util's
//! `client::legacy::Client` (and hyper-rustls's `HttpsConnector` on top of
//! it) calls to open a connection. It resolves with
//! [`lookup_host`](crate::net::lookup_host), connects weft
//! [`TcpStream`]s and races the two address families (happy eyeballs), all
//! on weft's loop and timer: no tokio runtime is needed.
//!
//! Public as part of [`crate::hyper_rt`].

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::http::uri::Scheme;
use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::client::legacy::Builder;

use super::hyper_rt::{WeftExecutor, WeftTimer};
use crate::net::{TcpStream, UnixStream};

/// A hyper-util `client::legacy::Builder` that spawns on weft
/// ([`WeftExecutor`]) and times with weft ([`WeftTimer`], for both the
/// connections' timers and the pool's idle eviction): what
/// `Client::builder(TokioExecutor::new()).timer(TokioTimer::new())
/// .pool_timer(TokioTimer::new())` is on tokio.
///
/// ```
/// use hyper_util::client::legacy::Client;
/// use weft::hyper_rt::WeftConnector;
///
/// // Request bodies are `String`s here; any `hyper::body::Body` will do.
/// let client: Client<WeftConnector, String> =
///     weft::hyper_rt::client_builder().build(WeftConnector::new());
/// # drop(client);
/// ```
pub fn client_builder() -> Builder {
    let mut builder = Builder::new(WeftExecutor);
    builder.timer(WeftTimer).pool_timer(WeftTimer);
    builder
}

/// Opens TCP connections for hyper-util's `client::legacy::Client`, on
/// weft: weft's [`TcpStream`] with what hyper-util's `HttpConnector` does
/// on tokio.
///
/// * The URI's host is resolved with [`lookup_host`](crate::net::lookup_host)
///   (an IP literal, `[::1]` included, without a lookup); the port is the
///   URI's, or 80 for `http` and 443 for `https`.
/// * **Happy eyeballs** (RFC 8305, simplified as hyper-util does): the
///   addresses of the first address's family are tried in order; if none
///   has connected after the [happy eyeballs
///   timeout](WeftConnector::set_happy_eyeballs_timeout) (300 ms), the other
///   family's are tried alongside, and the first connection wins. The one
///   that loses is dropped, which closes its socket.
/// * The [connect timeout](WeftConnector::set_connect_timeout) (none by
///   default) is shared out among a family's addresses: with a timeout of
///   `t` and `n` addresses, each attempt may take `t / n`.
/// * `TCP_NODELAY` is **on** by default (hyper-util's connector leaves it
///   off): a request is usually one write, and Nagle's algorithm would hold
///   a second small write (HTTP/2 frames, a body after headers) for the
///   peer's delayed ACK.
/// * Only `http` URIs, unless [`enforce_http(false)`](WeftConnector::enforce_http)
///   (which a TLS connector such as hyper-rustls's `HttpsConnector`
///   needs, as it does with hyper-util's).
///
/// Errors are `io::Error`s whose kind is the kernel's
/// (`ConnectionRefused`, ...), `TimedOut` for the connect timeout and
/// `InvalidInput` for a URI that cannot be connected to; the message names
/// the address. hyper-util's client reports them as `is_connect()` errors.
///
/// Cloning is cheap (the settings are shared); a setter on a clone changes
/// only that clone.
///
/// ```no_run
/// use hyper_util::client::legacy::Client;
/// use weft::hyper_rt::WeftConnector;
///
/// #[weft::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let mut connector = WeftConnector::new();
///     connector.set_connect_timeout(Some(std::time::Duration::from_secs(5)));
///     let client: Client<_, String> = weft::hyper_rt::client_builder().build(connector);
///     let response = client.get("http://127.0.0.1:3000/".parse()?).await?;
///     println!("{}", response.status());
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct WeftConnector {
    config: Arc<Config>,
}

#[derive(Clone, Debug)]
struct Config {
    enforce_http: bool,
    nodelay: bool,
    keepalive: Option<Duration>,
    connect_timeout: Option<Duration>,
    happy_eyeballs_timeout: Option<Duration>,
}

impl WeftConnector {
    /// A connector with the defaults above.
    pub fn new() -> WeftConnector {
        WeftConnector {
            config: Arc::new(Config {
                enforce_http: true,
                nodelay: true,
                keepalive: None,
                connect_timeout: None,
                happy_eyeballs_timeout: Some(Duration::from_millis(300)),
            }),
        }
    }

    /// Whether only `http` URIs are taken (default true). A TLS connector
    /// wrapping this one passes its `https` URIs down, so it needs
    /// `false`; a URI with no scheme is refused either way.
    pub fn enforce_http(&mut self, enforce: bool) {
        Arc::make_mut(&mut self.config).enforce_http = enforce;
    }

    /// `TCP_NODELAY` on each connection (default true).
    pub fn set_nodelay(&mut self, nodelay: bool) {
        Arc::make_mut(&mut self.config).nodelay = nodelay;
    }

    /// TCP keepalive probes after this much idle time (`SO_KEEPALIVE` and
    /// `TCP_KEEPIDLE`, in whole seconds: rounded up, and kept within the
    /// 1 s to 32,767 s Linux takes); `None`, the default, leaves them off.
    /// Like `TCP_NODELAY`, it is set on a best-effort basis: a kernel that
    /// refuses it does not fail the connection.
    pub fn set_keepalive(&mut self, idle: Option<Duration>) {
        let whole_seconds = |idle: Duration| {
            let secs = idle.as_secs() + u64::from(idle.subsec_nanos() > 0);
            Duration::from_secs(secs.clamp(1, 32_767))
        };
        Arc::make_mut(&mut self.config).keepalive = idle.map(whole_seconds);
    }

    /// How long connecting may take, shared out among a family's addresses
    /// (see the type's docs); `None`, the default, waits as long as the
    /// kernel does.
    pub fn set_connect_timeout(&mut self, timeout: Option<Duration>) {
        Arc::make_mut(&mut self.config).connect_timeout = timeout;
    }

    /// How long the first address family has before the other one is tried
    /// alongside (default 300 ms); `None` tries every address in turn.
    pub fn set_happy_eyeballs_timeout(&mut self, delay: Option<Duration>) {
        Arc::make_mut(&mut self.config).happy_eyeballs_timeout = delay;
    }
}

impl Default for WeftConnector {
    fn default() -> WeftConnector {
        WeftConnector::new()
    }
}

impl fmt::Debug for WeftConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeftConnector")
            .field("enforce_http", &self.config.enforce_http)
            .field("nodelay", &self.config.nodelay)
            .field("keepalive", &self.config.keepalive)
            .field("connect_timeout", &self.config.connect_timeout)
            .field(
                "happy_eyeballs_timeout",
                &self.config.happy_eyeballs_timeout,
            )
            .finish()
    }
}

/// The future [`WeftConnector`] returns: a [`TcpStream`], connected and
/// configured.
pub struct Connecting(Pin<Box<dyn Future<Output = io::Result<TcpStream>> + Send>>);

impl Future for Connecting {
    type Output = io::Result<TcpStream>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

impl fmt::Debug for Connecting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Connecting")
    }
}

impl tower_service::Service<Uri> for WeftConnector {
    type Response = TcpStream;
    type Error = io::Error;
    type Future = Connecting;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Connecting {
        let config = Arc::clone(&self.config);
        Connecting(Box::pin(async move {
            let (host, port) = host_and_port(&config, &uri)?;
            let addrs: Vec<SocketAddr> = crate::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| io::Error::new(e.kind(), format!("dns error: {e}")))?
                .collect();
            let stream = connect(addrs, &config).await?;
            // Best effort, as hyper-util's connector: a socket option the
            // kernel refuses leaves a working connection, which is used.
            let _ = stream.set_nodelay(config.nodelay);
            if let Some(idle) = config.keepalive {
                let keepalive = socket2::TcpKeepalive::new().with_time(idle);
                let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive);
            }
            Ok(stream)
        }))
    }
}

/// The host (brackets taken off an IPv6 literal) and port `uri` names.
fn host_and_port(config: &Config, uri: &Uri) -> io::Result<(String, u16)> {
    let invalid = |msg: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{msg}: {uri}"));
    match uri.scheme() {
        None => return Err(invalid("invalid URL, scheme is missing")),
        Some(scheme) if config.enforce_http && *scheme != Scheme::HTTP => {
            return Err(invalid("invalid URL, scheme is not http"));
        }
        Some(_) => {}
    }
    let host = uri
        .host()
        .ok_or_else(|| invalid("invalid URL, host is missing"))?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = match uri.port_u16() {
        Some(port) => port,
        None if uri.scheme() == Some(&Scheme::HTTPS) => 443,
        None => 80,
    };
    Ok((host.to_owned(), port))
}

/// Connects to one of `addrs`: the first address's family first, the other
/// alongside once the happy eyeballs timeout has passed (or at once, if the
/// first family has failed).
async fn connect(addrs: Vec<SocketAddr>, config: &Config) -> io::Result<TcpStream> {
    let Some(first) = addrs.first() else {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "dns error: the name resolved to no address",
        ));
    };
    let first_is_v6 = first.is_ipv6();
    let (preferred, fallback): (Vec<SocketAddr>, Vec<SocketAddr>) =
        addrs.iter().partition(|a| a.is_ipv6() == first_is_v6);
    let Some(delay) = config
        .happy_eyeballs_timeout
        .filter(|_| !fallback.is_empty())
    else {
        // In the resolver's order (RFC 6724's preference), as hyper-util.
        return connect_in_turn(addrs, config.connect_timeout).await;
    };
    let mut preferred = pin!(connect_in_turn(preferred, config.connect_timeout));
    let mut fallback = pin!(connect_in_turn(fallback, config.connect_timeout));
    let mut head_start = pin!(crate::time::sleep(delay));
    let (mut preferred_failed, mut fallback_failed) = (None, None);
    let mut fallback_started = false;
    poll_fn(|cx| {
        if preferred_failed.is_none() {
            match preferred.as_mut().poll(cx) {
                Poll::Ready(Ok(stream)) => return Poll::Ready(Ok(stream)),
                Poll::Ready(Err(e)) => preferred_failed = Some(e),
                Poll::Pending => {}
            }
        }
        fallback_started = fallback_started
            || preferred_failed.is_some()
            || head_start.as_mut().poll(cx).is_ready();
        if fallback_started && fallback_failed.is_none() {
            match fallback.as_mut().poll(cx) {
                Poll::Ready(Ok(stream)) => return Poll::Ready(Ok(stream)),
                Poll::Ready(Err(e)) => fallback_failed = Some(e),
                Poll::Pending => {}
            }
        }
        match (preferred_failed.take(), fallback_failed.is_some()) {
            // Both failed: the first family's error says most.
            (Some(e), true) => Poll::Ready(Err(e)),
            (failed, _) => {
                preferred_failed = failed;
                Poll::Pending
            }
        }
    })
    .await
}

/// Tries each address in turn, each for its share of `timeout`; the last
/// error if none connects.
async fn connect_in_turn(
    addrs: Vec<SocketAddr>,
    timeout: Option<Duration>,
) -> io::Result<TcpStream> {
    let share = timeout.map(|t| t / u32::try_from(addrs.len().max(1)).unwrap_or(u32::MAX));
    let mut last = None;
    for addr in addrs {
        let attempt = TcpStream::connect(addr);
        let result = match share {
            Some(share) => match crate::time::timeout(share, attempt).await {
                Ok(result) => result,
                Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "timed out")),
            },
            None => attempt.await,
        };
        match result {
            Ok(stream) => return Ok(stream),
            Err(e) => {
                last = Some(io::Error::new(
                    e.kind(),
                    format!("tcp connect to {addr}: {e}"),
                ))
            }
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address to connect to")))
}

/// The addresses of a connection [`WeftConnector`] made, in each response's
/// extensions (as hyper-util's `HttpInfo` is for its connector):
/// `response.extensions().get::<ConnectInfo>()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectInfo {
    remote_addr: SocketAddr,
    local_addr: SocketAddr,
}

impl ConnectInfo {
    /// The peer's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote_addr
    }

    /// This end's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Connection for TcpStream {
    fn connected(&self) -> Connected {
        match (self.peer_addr(), self.local_addr()) {
            (Ok(remote_addr), Ok(local_addr)) => Connected::new().extra(ConnectInfo {
                remote_addr,
                local_addr,
            }),
            _ => Connected::new(),
        }
    }
}

impl Connection for UnixStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(enforce_http: bool) -> Config {
        let mut connector = WeftConnector::new();
        connector.enforce_http(enforce_http);
        Arc::unwrap_or_clone(connector.config)
    }

    #[test]
    fn keepalive_is_set_in_whole_seconds_within_what_linux_takes() {
        let mut connector = WeftConnector::new();
        for (asked, set) in [(500, 1), (1500, 2), (0, 1), (40_000_000, 32_767)] {
            connector.set_keepalive(Some(Duration::from_millis(asked)));
            assert_eq!(connector.config.keepalive, Some(Duration::from_secs(set)));
        }
        connector.set_keepalive(None);
        assert_eq!(connector.config.keepalive, None);
    }

    #[test]
    fn hosts_ports_and_schemes_are_read_as_hyper_util_reads_them() {
        let parse = |enforce: bool, uri: &str| {
            host_and_port(&config(enforce), &uri.parse().unwrap()).map_err(|e| e.to_string())
        };
        assert_eq!(
            parse(true, "http://example.com/x"),
            Ok(("example.com".into(), 80))
        );
        assert_eq!(
            parse(false, "https://example.com"),
            Ok(("example.com".into(), 443))
        );
        assert_eq!(parse(true, "http://[::1]:8080/"), Ok(("::1".into(), 8080)));
        assert_eq!(
            parse(true, "http://127.0.0.1:1/"),
            Ok(("127.0.0.1".into(), 1))
        );
        let not_http = parse(true, "https://example.com").unwrap_err();
        assert!(not_http.contains("scheme is not http"), "{not_http}");
        let no_scheme = parse(false, "/just/a/path").unwrap_err();
        assert!(no_scheme.contains("scheme is missing"), "{no_scheme}");
    }

    fn block_on<F: Future>(future: F) -> F::Output {
        crate::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    /// A listener on `addr`'s family whose accept queue is full, so the
    /// kernel drops the next SYN and a connect to it waits; `None` if this
    /// kernel answered anyway.
    fn unanswering(addr: &str) -> Option<(socket2::Socket, Vec<std::net::TcpStream>)> {
        let addr: SocketAddr = addr.parse().unwrap();
        let listener = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            None,
        )
        .ok()?;
        listener.bind(&addr.into()).ok()?;
        listener.listen(0).unwrap();
        let addr = listener.local_addr().unwrap().as_socket().unwrap();
        let mut held = Vec::new();
        for _ in 0..8 {
            match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                Ok(stream) => held.push(stream),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => return Some((listener, held)),
                Err(_) => return None,
            }
        }
        None
    }

    #[test]
    fn the_other_family_is_tried_at_once_when_the_first_fails_and_after_the_delay_when_it_hangs() {
        let Ok(v6) = std::net::TcpListener::bind("[::1]:0") else {
            println!("skipped: no IPv6 loopback here");
            return;
        };
        let v6 = v6.local_addr().unwrap();
        let v4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let v4 = v4.local_addr().unwrap();
        let refused_v4 = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        block_on(async {
            let mut config = config(true);
            // An hour's head start: only the first family's failure can
            // start the second before the test's watchdog.
            config.happy_eyeballs_timeout = Some(Duration::from_secs(3600));
            let stream = crate::time::timeout(
                Duration::from_secs(60),
                connect(vec![refused_v4, v6], &config),
            )
            .await
            .expect("the fallback started at once")
            .unwrap();
            assert_eq!(stream.peer_addr().unwrap(), v6);
            // Both families fail: the first family's error.
            let refused_v6 = {
                let l = std::net::TcpListener::bind("[::1]:0").unwrap();
                l.local_addr().unwrap()
            };
            let error = connect(vec![refused_v4, refused_v6], &config)
                .await
                .unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
            assert!(
                error.to_string().contains(&refused_v4.to_string()),
                "{error}"
            );
            // The first family hangs: the second wins once the delay is up.
            let Some((hanging, _held)) = unanswering("127.0.0.1:0") else {
                println!("skipped the hanging half: this kernel answered a full accept queue");
                return;
            };
            let hanging = hanging.local_addr().unwrap().as_socket().unwrap();
            config.happy_eyeballs_timeout = Some(Duration::from_millis(20));
            let stream = connect(vec![hanging, v6], &config).await.unwrap();
            assert_eq!(stream.peer_addr().unwrap(), v6);
            // Without happy eyeballs, in turn: the connect timeout, shared
            // between the two addresses, moves on from the hanging one.
            config.happy_eyeballs_timeout = None;
            config.connect_timeout = Some(Duration::from_millis(200));
            let stream = connect(vec![hanging, v4], &config).await.unwrap();
            assert_eq!(stream.peer_addr().unwrap(), v4);
        });
    }
}
