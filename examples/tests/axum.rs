//! An axum Router served on weft, with no tokio runtime in the process.

use axum::routing::get;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use weft::net::{TcpListener, TcpStream};

async fn get_body(
    sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    path: &str,
) -> String {
    sender.ready().await.unwrap();
    let request = hyper::Request::builder()
        .uri(path)
        .header("host", "weft")
        .body(Empty::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_axum_router_serves_over_weft() {
    weft::time::timeout(
        std::time::Duration::from_secs(60),
        an_axum_router_serves_over_weft_body(),
    )
    .await
    .expect("an_axum_router_serves_over_weft did not finish within 60 s");
}

async fn an_axum_router_serves_over_weft_body() {
    let router = examples::axum_app::router().route(
        "/no-tokio",
        get(|| async { tokio::runtime::Handle::try_current().is_err().to_string() }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    weft::spawn(examples::axum_app::serve(listener, router));
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(stream).await.unwrap();
    weft::spawn(connection);
    assert_eq!(
        get_body(&mut sender, "/").await,
        "Hello from axum on weft!\n"
    );
    assert_eq!(get_body(&mut sender, "/add/2/40").await, "42\n");
    assert_eq!(get_body(&mut sender, "/no-tokio").await, "true");
}
