//! Echo server on tokio's current-thread runtime, or its multi_thread runtime with one
//! worker.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Runs the tokio echo server on `addr` (port 0 picks a free port) until killed.
pub fn serve(addr: SocketAddr, multi_thread: bool) -> io::Result<()> {
    let rt = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    };
    rt.block_on(run(addr))
}

/// Accept loop: one task per connection.
async fn run(addr: SocketAddr) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    super::announce_ready(listener.local_addr()?)?;
    loop {
        let (stream, _peer) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(echo(stream));
    }
}

/// The same server over a Unix socket at `path` (current-thread runtime).
pub fn serve_unix(path: std::path::PathBuf) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::UnixListener::bind(&path)?;
        super::announce_ready(super::Endpoint::Unix(path))?;
        loop {
            let (stream, _peer) = listener.accept().await?;
            tokio::spawn(echo(stream));
        }
    })
}

/// Writes back every byte read, until EOF or an error.
async fn echo<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(mut stream: S) {
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
}
