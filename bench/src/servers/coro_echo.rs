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
        weft::coro::serve(listener, options, |mut stream| {
            stream.set_nodelay(true)?;
            let mut buf = vec![0u8; 4096];
            loop {
                let n = stream.read(&mut buf)?;
                if n == 0 {
                    return Ok::<(), io::Error>(());
                }
                stream.write_all(&buf[..n])?;
            }
        })
        .await
    })
}
