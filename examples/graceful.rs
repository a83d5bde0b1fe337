//! A TCP server that exits cleanly on Ctrl-C.
//!
//! ```text
//! cargo run --release -p examples --example graceful -- 127.0.0.1:7002
//! ```
//!
//! Each line sent is answered after 200 ms in upper case. On Ctrl-C the
//! server stops accepting, lets open connections finish (10 s at most), and
//! exits 0.

use std::time::Duration;

#[weft::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7002".to_string());
    let listener = weft::net::TcpListener::bind(addr.as_str()).await?;
    println!("graceful: listening on {}", listener.local_addr()?);
    let left = examples::graceful::serve(listener, weft::signal::ctrl_c(), Duration::from_secs(10))
        .await?;
    if left > 0 {
        eprintln!("graceful: deadline passed with {left} connection(s) open");
        std::process::exit(1);
    }
    println!("graceful: all connections finished, bye");
    Ok(())
}
