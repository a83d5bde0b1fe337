//! Echo server on the `may` crate's stackful coroutines, one worker thread
//! (which also runs may's epoll loop), a coroutine per connection with the
//! same 4 KiB read-and-write-back loop.

use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;

/// Sets may up for one worker (which is also its only I/O thread) and no
/// pinning. may reads its configuration once, when its scheduler starts on
/// first use, so this must come before any other may call.
pub fn configure() {
    may::config().set_workers(1).set_stack_size(0x1000); // words: 32 KiB, may's default
    may::config().set_worker_pin(false);
}

/// Spawns a coroutine with may's default stack.
pub fn spawn<F, T>(f: F) -> may::coroutine::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // SAFETY: may's spawn is unsafe because (1) a coroutine may move between
    // worker threads at a yield, invalidating thread-local references held
    // across it — `configure` makes exactly one worker, and these closures
    // hold no thread-local reference; (2) its stacks do not grow — these
    // closures are shallow (no recursion, buffers on the heap), far below the
    // 32 KiB stack, whose guard page turns an overflow into a fault.
    unsafe { may::coroutine::spawn(f) }
}

/// Runs the may echo server on `addr` until killed.
pub fn serve(addr: SocketAddr) -> io::Result<()> {
    configure();
    let listener = may::net::TcpListener::bind(addr)?;
    super::announce_ready(listener.local_addr()?)?;
    let acceptor = spawn(move || {
        for stream in listener.incoming() {
            match stream {
                Ok(stream) => drop(spawn(move || echo(stream))),
                Err(e) => eprintln!("may: accept failed: {e}"),
            }
        }
    });
    let _ = acceptor.join();
    Err(io::Error::other("may: the accept loop ended"))
}

fn echo(mut stream: may::net::TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
    }
}
