//! The hyper hello-world server, on weft.
//!
//! ```text
//! cargo run --release -p examples --example hello_http
//! curl http://127.0.0.1:3000/
//! ```
//!
//! With `--http2` it speaks HTTP/2 with prior knowledge (h2c) instead of
//! HTTP/1.1 (`curl --http2-prior-knowledge`).

use std::sync::Arc;

use examples::hello::{serve, Protocol};

#[weft::main]
async fn main() -> std::io::Result<()> {
    let mut protocol = Protocol::Http1;
    let mut addr = "127.0.0.1:3000".to_string();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--http2" => protocol = Protocol::Http2,
            _ => addr = arg,
        }
    }
    let listener = weft::net::TcpListener::bind(addr.as_str()).await?;
    println!(
        "hello_http: listening on http://{}/ ({protocol:?})",
        listener.local_addr()?
    );
    serve(listener, protocol, Arc::default()).await
}
