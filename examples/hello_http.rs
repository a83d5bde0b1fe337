//! The hyper hello-world server, on weft.
//!
//! ```text
//! cargo run --release -p examples --example hello_http
//! curl http://127.0.0.1:3000/
//! ```

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};

async fn hello(_: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, World!\n",
    ))))
}

#[weft::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_string());
    let listener = weft::net::TcpListener::bind(addr.as_str()).await?;
    println!(
        "hello_http: listening on http://{}/",
        listener.local_addr()?
    );
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        weft::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(weft::hyper_rt::WeftTimer)
                .serve_connection(stream, hyper::service::service_fn(hello))
                .await;
        });
    }
}
