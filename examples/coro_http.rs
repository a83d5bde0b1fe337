//! A tiny HTTP/1.1 keep-alive server written in blocking style, each
//! connection a weft coroutine (`weft::coro::serve`).
//!
//! ```text
//! cargo run --release -p examples --example coro_http -- 127.0.0.1:8080
//! curl http://127.0.0.1:8080/
//! ```

use weft::coro::ServeOptions;

#[weft::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = weft::net::TcpListener::bind(addr.as_str()).await?;
    println!("coro_http: listening on http://{}/", listener.local_addr()?);
    weft::coro::serve(listener, ServeOptions::new(), examples::coro_http::handle).await
}
