//! A line-based TCP chat server on weft.
//!
//! ```text
//! cargo run --release -p examples --example chat -- 127.0.0.1:7001
//! ```
//!
//! Then connect two terminals with `nc 127.0.0.1 7001`: what one types, the
//! other sees. The server is `examples::chat::serve`; it uses `async-channel`
//! (a runtime-neutral channel) between its tasks.

#[weft::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7001".to_string());
    let listener = weft::net::TcpListener::bind(addr.as_str()).await?;
    println!("chat: listening on {}", listener.local_addr()?);
    examples::chat::serve(listener).await
}
