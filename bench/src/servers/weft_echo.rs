//! Echo server on weft's current-thread runtime, or its multi-thread runtime with one
//! worker. Same shape as
//! [`tokio_echo`](super::tokio_echo), so the two measure the runtimes, not the servers.

use std::io;
use std::net::SocketAddr;

/// Runs the weft echo server on `addr` (port 0 picks a free port) until killed.
pub fn serve(addr: SocketAddr, multi_thread: bool) -> io::Result<()> {
    let rt = if multi_thread {
        weft::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()?
    } else {
        weft::runtime::Builder::new_current_thread().build()?
    };
    rt.block_on(run(addr))
}

/// Accept loop: one task per connection.
async fn run(addr: SocketAddr) -> io::Result<()> {
    let listener = weft::net::TcpListener::bind(addr).await?;
    super::announce_ready(listener.local_addr()?)?;
    loop {
        let (mut stream, _peer) = listener.accept().await?;
        stream.set_nodelay(true)?;
        weft::spawn(async move {
            use weft::io::{AsyncReadExt, AsyncWriteExt};
            let mut buf = vec![0u8; 4096];
            loop {
                let n = match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        });
    }
}
