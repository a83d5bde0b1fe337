//! Echo server on weft's current-thread runtime, or its multi-thread runtime with one
//! worker. Same shape as
//! [`tokio_echo`](super::tokio_echo), so the two measure the runtimes, not the servers.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

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

/// The same server on a current-thread runtime whose I/O driver is io_uring
/// (fails, saying why, where the kernel or a seccomp filter refuses it).
///
/// With `WEFT_BENCH_TICK` set (`bench echo-instr` sets it), a task wakes every
/// 10 ms: valgrind delivers no signal to a thread blocked in `io_uring_enter`,
/// so without it the `SIGTERM` that ends a run under callgrind never lands and
/// the run ends with `SIGKILL`, writing no counts. (About 100 wakes a second
/// against tens of thousands of messages: under 0.1 % of the count.)
pub fn serve_uring(addr: SocketAddr) -> io::Result<()> {
    let rt = weft::runtime::Builder::new_current_thread()
        .io_driver(weft::runtime::IoDriver::Uring)
        .build()?;
    if std::env::var_os("WEFT_BENCH_TICK").is_some() {
        rt.spawn(async {
            let mut tick = weft::time::interval(std::time::Duration::from_millis(10));
            loop {
                tick.tick().await;
            }
        });
    }
    rt.block_on(run(addr))
}

/// The same server on a multi-thread runtime with one worker whose I/O
/// driver is io_uring (a ring per worker).
pub fn serve_mt_uring(addr: SocketAddr) -> io::Result<()> {
    let rt = weft::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .io_driver(weft::runtime::IoDriver::Uring)
        .build()?;
    rt.block_on(run(addr))
}

/// The accept loop and connections: `examples::echo`, the same server the
/// `echo` example runs.
async fn run(addr: SocketAddr) -> io::Result<()> {
    let listener = weft::net::TcpListener::bind(addr).await?;
    super::announce_ready(listener.local_addr()?)?;
    examples::echo::serve(listener).await
}

/// The same server over a Unix socket at `path` (current-thread runtime).
pub fn serve_unix(path: PathBuf) -> io::Result<()> {
    let rt = weft::runtime::Builder::new_current_thread().build()?;
    rt.block_on(async {
        let listener = weft::net::UnixListener::bind(&path)?;
        super::announce_ready(super::Endpoint::Unix(path))?;
        examples::echo::serve_unix(listener).await
    })
}
