//! hyper 1.x on weft: servers and clients over HTTP/1.1 and HTTP/2, with no
//! tokio runtime in the process.

use std::convert::Infallible;
use std::pin::pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::{select, Either};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use weft::hyper_rt::{WeftExecutor, WeftTimer};
use weft::net::{TcpListener, TcpStream};

async fn hello(
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    // No tokio runtime anywhere: only weft's.
    assert!(tokio::runtime::Handle::try_current().is_err());
    let path = request.uri().path().to_owned();
    Ok(Response::new(Full::new(Bytes::from(format!(
        "hello {path}"
    )))))
}

async fn serve(listener: TcpListener, http2: bool) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        weft::spawn(async move {
            let service = hyper::service::service_fn(hello);
            if http2 {
                let _ = hyper::server::conn::http2::Builder::new(WeftExecutor)
                    .timer(WeftTimer)
                    .serve_connection(stream, service)
                    .await;
            } else {
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(WeftTimer)
                    .serve_connection(stream, service)
                    .await;
            }
        });
    }
}

async fn thousand_requests(http2: bool) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    weft::spawn(serve(listener, http2));
    let stream = TcpStream::connect(addr).await.unwrap();
    let get = |i: usize| {
        Request::builder()
            .uri(format!("http://{addr}/{i}"))
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let check = |i: usize, body: Bytes| assert_eq!(body, format!("hello /{i}").as_bytes());
    if http2 {
        let (mut sender, connection) = hyper::client::conn::http2::Builder::new(WeftExecutor)
            .timer(WeftTimer)
            .handshake(stream)
            .await
            .unwrap();
        weft::spawn(connection);
        for i in 0..1_000 {
            let response = sender.send_request(get(i)).await.unwrap();
            check(i, response.into_body().collect().await.unwrap().to_bytes());
        }
    } else {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(stream).await.unwrap();
        weft::spawn(connection);
        // One connection, kept alive for all 1,000.
        for i in 0..1_000 {
            sender.ready().await.unwrap();
            let response = sender.send_request(get(i)).await.unwrap();
            check(i, response.into_body().collect().await.unwrap().to_bytes());
        }
    }
}

/// Bounds a test: a hang fails it instead of stalling the suite. Generous,
/// because CI also runs these tests under valgrind (tens of times slower,
/// one thread at a time): a watchdog, not a timing check.
async fn bounded<F: std::future::Future>(what: &str, future: F) -> F::Output {
    weft::time::timeout(Duration::from_secs(300), future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within 300 s"))
}

#[weft::test]
async fn a_thousand_requests_over_http1_keep_alive() {
    bounded("1,000 HTTP/1.1 requests", thousand_requests(false)).await;
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_requests_over_http2() {
    bounded("1,000 HTTP/2 requests", thousand_requests(true)).await;
}

/// Serves `$conn` until `$stop` yields, then shuts it down gracefully, says
/// so on `$ack` and drives it to the end; evaluates to its result.
macro_rules! serve_until_stop {
    ($conn:expr, $stop:expr, $ack:expr) => {{
        let mut conn = pin!($conn);
        match select(conn.as_mut(), pin!($stop.recv())).await {
            Either::Left((result, _)) => {
                panic!("the connection ended before the shutdown: {result:?}")
            }
            Either::Right(_) => {}
        }
        conn.as_mut().graceful_shutdown();
        $ack.try_send(()).unwrap();
        conn.await
    }};
}

/// A request is in flight when the server starts a graceful shutdown: the
/// response still arrives whole, the server's connection future then ends
/// with `Ok`, and the client can send nothing more on that connection.
async fn graceful_shutdown(http2: bool) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (started_tx, started_rx) = async_channel::bounded::<()>(1);
    let (release_tx, release_rx) = async_channel::bounded::<()>(1);
    let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
    let (ack_tx, ack_rx) = async_channel::bounded::<()>(1);
    let server = weft::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let service = hyper::service::service_fn(move |_: Request<hyper::body::Incoming>| {
            let (started, release) = (started_tx.clone(), release_rx.clone());
            async move {
                started.send(()).await.unwrap();
                release.recv().await.unwrap();
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"finished"))))
            }
        });
        if http2 {
            let conn = hyper::server::conn::http2::Builder::new(WeftExecutor)
                .timer(WeftTimer)
                .serve_connection(stream, service);
            serve_until_stop!(conn, stop_rx, ack_tx)
        } else {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(WeftTimer)
                .serve_connection(stream, service);
            serve_until_stop!(conn, stop_rx, ack_tx)
        }
    });
    let stream = TcpStream::connect(addr).await.unwrap();
    let get = || {
        Request::builder()
            .uri(format!("http://{addr}/slow"))
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let (in_flight, next) = if http2 {
        let (mut sender, connection) = hyper::client::conn::http2::Builder::new(WeftExecutor)
            .timer(WeftTimer)
            .handshake(stream)
            .await
            .unwrap();
        weft::spawn(connection);
        let in_flight = weft::spawn({
            let mut sender = sender.clone();
            let request = get();
            async move { sender.send_request(request).await }
        });
        started_rx.recv().await.unwrap();
        stop_tx.send(()).await.unwrap();
        ack_rx.recv().await.unwrap();
        release_tx.send(()).await.unwrap();
        let response = in_flight.await.unwrap().unwrap();
        // After GOAWAY the connection takes no new streams.
        let next = sender.send_request(get()).await.map(|_| ());
        (response, next)
    } else {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(stream).await.unwrap();
        let connection = weft::spawn(connection);
        let request = get();
        let in_flight = weft::spawn(async move {
            let response = sender.send_request(request).await;
            (response, sender)
        });
        started_rx.recv().await.unwrap();
        stop_tx.send(()).await.unwrap();
        ack_rx.recv().await.unwrap();
        release_tx.send(()).await.unwrap();
        let (response, mut sender) = in_flight.await.unwrap();
        let response = response.unwrap();
        // The server closes the connection after the response: the client's
        // connection task ends, and the sender is no longer usable.
        connection.await.unwrap().unwrap();
        let next = sender.ready().await;
        (response, next)
    };
    let body = in_flight.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        body,
        &b"finished"[..],
        "the in-flight response arrives whole"
    );
    assert!(
        next.is_err(),
        "the connection takes nothing new after a graceful shutdown"
    );
    server
        .await
        .unwrap()
        .expect("the server's connection ends with Ok after a graceful shutdown");
}

#[weft::test]
async fn graceful_shutdown_of_an_http1_connection() {
    bounded("HTTP/1.1 graceful shutdown", graceful_shutdown(false)).await;
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_of_an_http2_connection() {
    bounded("HTTP/2 graceful shutdown", graceful_shutdown(true)).await;
}

/// HTTP/1.1 over `stream`: 100 keep-alive requests to a server on `peer`.
async fn hundred_requests_between<S>(stream: S, peer: S)
where
    S: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    weft::spawn(async move {
        // Ends when the client goes; every answer is checked client-side.
        let _ = hyper::server::conn::http1::Builder::new()
            .timer(WeftTimer)
            .serve_connection(peer, hyper::service::service_fn(hello))
            .await;
    });
    let (mut sender, connection) = hyper::client::conn::http1::handshake(stream).await.unwrap();
    weft::spawn(connection);
    for i in 0..100 {
        sender.ready().await.unwrap();
        let request = Request::builder()
            .uri(format!("/{i}"))
            .header("host", "weft")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, format!("hello /{i}").as_bytes());
    }
}

#[weft::test]
async fn hyper_over_a_weft_unix_stream() {
    bounded("hyper over a Unix stream", async {
        let (client, server) = weft::net::UnixStream::pair().unwrap();
        hundred_requests_between(client, server).await;
    })
    .await;
}

#[weft::test]
async fn hyper_util_tokio_io_wraps_weft_streams() {
    // Code written for tokio's I/O traits hands hyper a `TokioIo<S>`: with
    // the `tokio-io` feature that works on weft's streams as well.
    bounded("hyper through TokioIo", async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        hundred_requests_between(
            hyper_util::rt::TokioIo::new(client),
            hyper_util::rt::TokioIo::new(server),
        )
        .await;
    })
    .await;
}
