//! hyper-util's pooled client on weft (`weft::hyper_rt::WeftConnector`),
//! over HTTP/1.1, HTTP/2 and HTTPS (hyper-rustls), against the servers of
//! `hello_http` and `https_hello`, with no tokio runtime in the process.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Version;
use hyper_util::client::legacy::Client;
use rustls::RootCertStore;
use weft::hyper_rt::{ConnectInfo, WeftConnector};
use weft::io::{AsyncReadExt, AsyncWriteExt};
use weft::net::{TcpListener, TcpStream};

use examples::hello::{Protocol, Stats, HELLO};
use examples::tls::{client, client_config, server_config, Identity};

/// Bounds a test: a hang fails it instead of stalling the suite. A
/// watchdog, not a timing check.
async fn bounded<F: std::future::Future>(what: &str, future: F) -> F::Output {
    weft::time::timeout(Duration::from_secs(300), future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within 300 s"))
}

/// `hello_http`'s server on a fresh port: its address and its counters.
async fn hello_server(protocol: Protocol) -> (std::net::SocketAddr, Arc<Stats>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stats = Arc::new(Stats::default());
    weft::spawn(examples::hello::serve(
        listener,
        protocol,
        Arc::clone(&stats),
    ));
    (addr, stats)
}

fn http_client(http2_only: bool) -> Client<WeftConnector, Empty<Bytes>> {
    weft::hyper_rt::client_builder()
        .http2_only(http2_only)
        .build(WeftConnector::new())
}

/// GETs `uri` and checks the answer is `hello`'s; returns the version.
async fn get_hello<C>(client: &Client<C, Empty<Bytes>>, uri: hyper::Uri) -> Version
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    let response = client.get(uri).await.expect("the request failed");
    assert_eq!(response.status(), 200);
    assert!(
        response.extensions().get::<ConnectInfo>().is_some(),
        "the connection's addresses are in the response's extensions"
    );
    let version = response.version();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, HELLO);
    // The client side runs on weft too.
    assert!(tokio::runtime::Handle::try_current().is_err());
    version
}

/// `n` GETs of `uri`, `at_once` in flight at a time, each from its own
/// weft task.
async fn get_many<C>(client: &Client<C, Empty<Bytes>>, uri: &hyper::Uri, n: usize, at_once: usize)
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    let mut set = weft::task::JoinSet::new();
    for _ in 0..n {
        if set.len() == at_once {
            set.join_next().await.unwrap().unwrap();
        }
        let (client, uri) = (client.clone(), uri.clone());
        set.spawn(async move { get_hello(&client, uri).await });
    }
    while let Some(done) = set.join_next().await {
        done.unwrap();
    }
}

#[weft::test]
async fn a_thousand_requests_in_turn_reuse_one_http1_connection() {
    bounded("1,000 requests", async {
        let (addr, stats) = hello_server(Protocol::Http1).await;
        let client = http_client(false);
        let uri: hyper::Uri = format!("http://{addr}/").parse().unwrap();
        for _ in 0..1000 {
            assert_eq!(get_hello(&client, uri.clone()).await, Version::HTTP_11);
        }
        assert_eq!(stats.requests.load(Relaxed), 1000);
        assert_eq!(
            stats.accepted.load(Relaxed),
            1,
            "the pool kept one connection"
        );
        assert_eq!(stats.requests_on_tokio.load(Relaxed), 0);
    })
    .await;
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_reuse_the_pool_s_connections() {
    bounded("2,000 requests", async {
        let (addr, stats) = hello_server(Protocol::Http1).await;
        let client = http_client(false);
        let uri: hyper::Uri = format!("http://{addr}/").parse().unwrap();
        get_many(&client, &uri, 1000, 16).await;
        // Then in turn, from the pool's idle connections.
        for _ in 0..1000 {
            get_hello(&client, uri.clone()).await;
        }
        // About one connection per request in flight: hyper-util may open
        // a few more (a connect it started while a connection was on its
        // way back to the pool finishes in the background and joins it),
        // but nothing near one per request.
        let opened = stats.accepted.load(Relaxed);
        assert!(
            (1..=64).contains(&opened),
            "{opened} connections for 2,000 requests"
        );
        assert_eq!(stats.requests.load(Relaxed), 2000);
        assert_eq!(stats.requests_on_tokio.load(Relaxed), 0);
    })
    .await;
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_http2_requests_share_one_connection() {
    bounded("1,000 HTTP/2 requests", async {
        let (addr, stats) = hello_server(Protocol::Http2).await;
        let client = http_client(true);
        let uri: hyper::Uri = format!("http://{addr}/").parse().unwrap();
        // One first, so the rest find the connection in the pool (HTTP/2
        // requests made before any connection exists may race to open
        // their own, as on tokio).
        assert_eq!(get_hello(&client, uri.clone()).await, Version::HTTP_2);
        get_many(&client, &uri, 999, 100).await;
        assert_eq!(
            stats.accepted.load(Relaxed),
            1,
            "one multiplexed connection"
        );
        assert_eq!(stats.requests.load(Relaxed), 1000);
        assert_eq!(stats.requests_on_tokio.load(Relaxed), 0);
    })
    .await;
}

/// `https_hello`'s server with a certificate made now, and a client
/// config that trusts exactly that certificate.
async fn https_server() -> (std::net::SocketAddr, Arc<Stats>, rustls::ClientConfig) {
    let identity = Identity::self_signed(&["localhost", "127.0.0.1"]).unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(identity.certs[0].clone()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stats = Arc::new(Stats::default());
    let config = server_config(identity).unwrap();
    weft::spawn(examples::https::serve(listener, config, Arc::clone(&stats)));
    (addr, stats, client_config(roots).unwrap())
}

#[weft::test]
async fn https_to_a_local_rustls_server_negotiates_http2_and_reuses_the_connection() {
    bounded("HTTPS requests", async {
        let (addr, stats, tls) = https_server().await;
        let client = client::<Empty<Bytes>>(tls, false);
        for host in [addr.to_string(), format!("localhost:{}", addr.port())] {
            let uri: hyper::Uri = format!("https://{host}/").parse().unwrap();
            for _ in 0..50 {
                assert_eq!(get_hello(&client, uri.clone()).await, Version::HTTP_2);
            }
        }
        // One connection per host name (the pool keys on the authority).
        assert_eq!(stats.accepted.load(Relaxed), 2);
        assert_eq!(stats.handshakes_failed.load(Relaxed), 0);
        assert_eq!(stats.requests.load(Relaxed), 100);
        assert_eq!(stats.requests_on_tokio.load(Relaxed), 0);
    })
    .await;
}

#[weft::test]
async fn https_over_http1_when_the_client_offers_only_http1() {
    bounded("HTTPS/1.1 requests", async {
        let (addr, stats, tls) = https_server().await;
        let mut tcp = WeftConnector::new();
        tcp.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1() // ALPN offers only http/1.1
            .wrap_connector(tcp);
        let client: Client<_, Empty<Bytes>> = weft::hyper_rt::client_builder().build(https);
        let uri: hyper::Uri = format!("https://{addr}/").parse().unwrap();
        for _ in 0..20 {
            assert_eq!(get_hello(&client, uri.clone()).await, Version::HTTP_11);
        }
        assert_eq!(stats.accepted.load(Relaxed), 1);
    })
    .await;
}

#[weft::test]
async fn a_certificate_the_client_does_not_trust_is_a_connect_error() {
    bounded("an untrusted certificate", async {
        let (addr, stats, _) = https_server().await;
        let other = Identity::self_signed(&["127.0.0.1"]).unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(other.certs[0].clone()).unwrap();
        let client = client::<Empty<Bytes>>(client_config(roots).unwrap(), false);
        let error = client
            .get(format!("https://{addr}/").parse().unwrap())
            .await
            .unwrap_err();
        assert!(error.is_connect(), "{error:?}");
        let chain = format!("{error:?}");
        assert!(chain.contains("InvalidCertificate"), "{chain}");
        // The server saw the client's alert and goes on serving.
        while stats.handshakes_failed.load(Relaxed) == 0 {
            weft::task::yield_now().await;
        }
        assert_eq!(stats.requests.load(Relaxed), 0);
    })
    .await;
}

#[weft::test]
async fn garbage_instead_of_a_client_hello_gets_an_error_and_the_server_keeps_serving() {
    bounded("a garbage handshake", async {
        let (addr, stats, tls) = https_server().await;
        let mut raw = TcpStream::connect(addr).await.unwrap();
        raw.write_all(b"GET / HTTP/1.1\r\nHost: nope\r\n\r\n")
            .await
            .unwrap();
        // The server answers with a TLS alert (or nothing) and closes: the
        // read ends, it does not hang.
        let mut answer = Vec::new();
        let _ = raw.read_to_end(&mut answer).await;
        if let Some(&first) = answer.first() {
            assert_eq!(first, 0x15, "a TLS alert record, not {answer:?}");
        }
        assert_eq!(stats.handshakes_failed.load(Relaxed), 1);
        // A real client still gets the page.
        let client = client::<Empty<Bytes>>(tls, false);
        get_hello(&client, format!("https://{addr}/").parse().unwrap()).await;
        assert_eq!(stats.requests.load(Relaxed), 1);
        assert_eq!(stats.accepted.load(Relaxed), 2);
    })
    .await;
}

#[weft::test]
async fn connector_errors_name_the_problem() {
    bounded("connector errors", async {
        let client = http_client(false);
        // Nothing listens: refused, reported as a connect error.
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let error = client
            .get(format!("http://127.0.0.1:{port}/").parse().unwrap())
            .await
            .unwrap_err();
        assert!(error.is_connect(), "{error:?}");
        assert!(
            format!("{error:?}").contains("ConnectionRefused"),
            "{error:?}"
        );
        // https through the plain connector: refused before connecting.
        let error = client
            .get("https://127.0.0.1:1/".parse().unwrap())
            .await
            .unwrap_err();
        assert!(
            format!("{error:?}").contains("scheme is not http"),
            "{error:?}"
        );
        // A name that does not resolve.
        let error = client
            .get("http://no-such-host.invalid/".parse().unwrap())
            .await
            .unwrap_err();
        assert!(error.is_connect(), "{error:?}");
        assert!(format!("{error:?}").contains("dns error"), "{error:?}");
    })
    .await;
}

/// A listener on 127.0.0.1 whose accept queue is full, so the kernel drops
/// the next SYN and a connect to it waits: `None` if this kernel accepted
/// anyway.
fn a_listener_that_never_answers() -> Option<(socket2::Socket, Vec<std::net::TcpStream>)> {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let mut held = Vec::new();
    for _ in 0..8 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(stream) => held.push(stream),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return Some((listener, held)),
            Err(e) => panic!("filling the accept queue: {e}"),
        }
    }
    None
}

#[weft::test]
async fn the_connect_timeout_ends_a_connect_that_gets_no_answer() {
    bounded("a connect timeout", async {
        let Some((listener, _held)) = a_listener_that_never_answers() else {
            println!("skipped: this kernel answered every SYN to a full accept queue");
            return;
        };
        let addr = listener.local_addr().unwrap().as_socket().unwrap();
        let mut connector = WeftConnector::new();
        connector.set_connect_timeout(Some(Duration::from_millis(100)));
        let client: Client<_, Empty<Bytes>> = weft::hyper_rt::client_builder().build(connector);
        let error = client
            .get(format!("http://{addr}/").parse().unwrap())
            .await
            .unwrap_err();
        assert!(error.is_connect(), "{error:?}");
        assert!(format!("{error:?}").contains("TimedOut"), "{error:?}");
    })
    .await;
}
