//! The echo server: the `echo` example's, the benchmarks' (`bench echo`,
//! the soak) and the hostile-client tests' (`weft/tests/hostile_clients.rs`
//! includes this file), so they all measure and test the same code.

use std::io;
use std::time::Duration;

use weft::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use weft::net::{TcpListener, UnixListener};

/// Serves echo on `listener` until this future is dropped: one task per
/// connection (with `TCP_NODELAY`), each writing back every byte it reads.
/// A failed accept (a connection reset before it was accepted; descriptors
/// exhausted past the listener's own back-off) is reported on stderr and
/// the server goes on with the next one.
pub async fn serve(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                // Only fails if the peer is already gone; echo finds out.
                let _ = stream.set_nodelay(true);
                weft::spawn(echo(stream));
            }
            Err(e) => accept_failed(e).await,
        }
    }
}

/// [`serve`] over a Unix socket.
pub async fn serve_unix(listener: UnixListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => drop(weft::spawn(echo(stream))),
            Err(e) => accept_failed(e).await,
        }
    }
}

async fn accept_failed(e: io::Error) {
    eprintln!("echo: accept failed: {e}");
    weft::time::sleep(Duration::from_millis(10)).await;
}

/// Writes back every byte read from `stream`, until end of stream or an
/// error (a reset peer ends the connection, not the server).
pub async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    // 4 KiB, as the tokio server `bench echo` measures it against.
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
