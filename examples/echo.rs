//! A TCP echo server on weft.
//!
//! ```text
//! cargo run --release -p examples --example echo -- 127.0.0.1:7000
//! ```
//!
//! Then `nc 127.0.0.1 7000` and type: every line comes back.

use weft::io::{AsyncReadExt, AsyncWriteExt};
use weft::net::TcpListener;

#[weft::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".to_string());
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!("echo: listening on {}", listener.local_addr()?);
    loop {
        let (mut stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of fds or a connection reset before accept: log and
                // keep serving the others.
                eprintln!("echo: accept failed: {e}");
                weft::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        stream.set_nodelay(true)?;
        weft::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match stream.read(&mut buf).await {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        eprintln!("echo: {peer}: read failed: {e}");
                        break;
                    }
                };
                if let Err(e) = stream.write_all(&buf[..n]).await {
                    eprintln!("echo: {peer}: write failed: {e}");
                    break;
                }
            }
        });
    }
}
