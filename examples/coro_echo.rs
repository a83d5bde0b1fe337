//! A TCP echo server written in blocking style: each connection is a weft
//! coroutine running `std::io::copy` from the socket to itself.
//!
//! ```text
//! cargo run --release -p examples --example coro_echo -- 127.0.0.1:7001
//! ```
//!
//! Then `nc 127.0.0.1 7001` and type: every line comes back.

use weft::coro::ServeOptions;

#[weft::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7001".to_string());
    let listener = weft::net::TcpListener::bind(addr.as_str()).await?;
    println!("coro_echo: listening on {}", listener.local_addr()?);
    weft::coro::serve(listener, ServeOptions::new(), |stream| {
        stream.set_nodelay(true)?;
        // Blocking-style: read, write, repeat — the coroutine suspends on
        // the socket, the thread serves the other connections.
        std::io::copy(&mut &stream, &mut &stream)
    })
    .await
}
