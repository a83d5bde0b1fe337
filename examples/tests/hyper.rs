//! hyper 1.x on weft: servers and clients over HTTP/1.1 and HTTP/2, with no
//! tokio runtime in the process.

use std::convert::Infallible;

use bytes::Bytes;
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

#[weft::test]
async fn a_thousand_requests_over_http1_keep_alive() {
    thousand_requests(false).await;
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_requests_over_http2() {
    thousand_requests(true).await;
}
