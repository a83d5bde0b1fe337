//! Echo server in blocking style on weft coroutines: `weft::coro::serve` on a
//! current-thread runtime, each connection a coroutine that reads into a
//! 4 KiB buffer and writes it back (the same loop as the async servers).

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use weft::coro::ServeOptions;

/// Runs the coroutine echo server on `addr` until killed.
pub fn serve(addr: SocketAddr) -> io::Result<()> {
    let rt = weft::runtime::Builder::new_current_thread().build()?;
    rt.block_on(async {
        let listener = weft::net::TcpListener::bind(addr).await?;
        super::announce_ready(listener.local_addr()?)?;
        // Enough slots that the idle-connection benchmark's 10,000 fit.
        let options = ServeOptions::new().slots(1 << 20);
        weft::coro::serve(listener, options, |stream| {
            stream.set_nodelay(true)?;
            echo(stream)
        })
        .await
    })
}

/// One connection, in blocking style: writes back every byte it reads
/// until end of stream (also the soak's coroutine server).
pub fn echo(mut stream: weft::coro::net::TcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n])?;
    }
}
