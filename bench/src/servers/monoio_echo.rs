//! Echo server on monoio (its io_uring driver, one thread): the io_uring runtime users
//! pick today, with its own owned-buffer ("rent") I/O traits. As monoio ships it: its
//! ring setup and its accept loop, one task per connection, a 4 KiB buffer handed to
//! each read and write and back.

use std::io;
use std::net::SocketAddr;

use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::{TcpListener, TcpStream};

/// Runs the monoio echo server on `addr` (port 0 picks a free port) until killed.
pub fn serve(addr: SocketAddr) -> io::Result<()> {
    let mut rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new().build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(addr)?;
        super::announce_ready(listener.local_addr()?)?;
        loop {
            let (stream, _peer) = listener.accept().await?;
            stream.set_nodelay(true)?;
            monoio::spawn(echo(stream));
        }
    })
}

/// Writes back every byte read, until EOF or an error.
async fn echo(mut stream: TcpStream) {
    let mut buf = Vec::with_capacity(4096);
    loop {
        // A read fills the vector's spare capacity and sets its length.
        buf.clear();
        let (read, back) = stream.read(buf).await;
        buf = back;
        match read {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let (wrote, back) = stream.write_all(buf).await;
        buf = back;
        if wrote.is_err() {
            return;
        }
    }
}
