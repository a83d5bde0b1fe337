//! The echo server: the `echo` example's, the benchmarks' (`bench echo`,
//! the soak) and the hostile-client tests' (`weft/tests/hostile_clients.rs`
//! includes this file), so they all measure and test the same code.

use std::io;

use weft::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use weft::net::{TcpListener, UnixListener};

/// Serves echo on `listener`: one task per connection (with
/// `TCP_NODELAY`), each writing back every byte it reads. Returns only on
/// an error the listener cannot get past (weft's `accept` already retries
/// connections reset before they were accepted and backs off while
/// descriptors or memory run out), as tokio's server in `bench echo` does.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, _peer) = listener.accept().await?;
        stream.set_nodelay(true)?;
        weft::spawn(echo(stream));
    }
}

/// [`serve`] over a Unix socket.
pub async fn serve_unix(listener: UnixListener) -> io::Result<()> {
    loop {
        let (stream, _peer) = listener.accept().await?;
        weft::spawn(echo(stream));
    }
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
