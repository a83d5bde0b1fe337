//! Echo server on weft's current-thread runtime, or its multi-thread runtime with one
//! worker. Same shape as
//! [`tokio_echo`](super::tokio_echo), so the two measure the runtimes, not the servers.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use weft::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

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
        let (stream, _peer) = listener.accept().await?;
        stream.set_nodelay(true)?;
        weft::spawn(echo(stream));
    }
}

/// The same server over a Unix socket at `path` (current-thread runtime).
pub fn serve_unix(path: PathBuf) -> io::Result<()> {
    let rt = weft::runtime::Builder::new_current_thread().build()?;
    rt.block_on(async {
        let listener = weft::net::UnixListener::bind(&path)?;
        super::announce_ready(super::Endpoint::Unix(path))?;
        loop {
            let (stream, _peer) = listener.accept().await?;
            weft::spawn(echo(stream));
        }
    })
}

/// Writes back every byte read, until EOF or an error.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
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
