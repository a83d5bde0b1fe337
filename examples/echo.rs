//! A TCP echo server on weft.
//!
//! ```text
//! cargo run --release -p examples --example echo -- 127.0.0.1:7000
//! ```
//!
//! Then `nc 127.0.0.1 7000` and type: every line comes back.

use weft::net::TcpListener;

#[weft::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".to_string());
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!("echo: listening on {}", listener.local_addr()?);
    // The server itself is `examples::echo`, shared with the benchmarks and
    // the hostile-client tests.
    examples::echo::serve(listener).await
}
