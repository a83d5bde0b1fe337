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
    // Listen for Ctrl-C before announcing the address: from here on a
    // SIGINT is ours (`ctrl_c()` would register only when first polled,
    // leaving a window where Ctrl-C still kills the process outright).
    let mut interrupt = weft::signal::unix::signal(weft::signal::unix::SignalKind::interrupt())?;
    println!("graceful: listening on {}", listener.local_addr()?);
    let shutdown = async move {
        interrupt.recv().await;
        Ok(())
    };
    let left = examples::graceful::serve(listener, shutdown, Duration::from_secs(10)).await?;
    if left > 0 {
        eprintln!("graceful: deadline passed with {left} connection(s) open");
        std::process::exit(1);
    }
    println!("graceful: all connections finished, bye");
    Ok(())
}
