//! A TCP server that shuts down gracefully: on a signal it stops accepting,
//! lets the open connections finish (within a deadline), then returns.
//!
//! The protocol: each line a client sends is answered, after 200 ms of
//! "work", with the same line in upper case.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use weft::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use weft::net::{TcpListener, TcpStream};

/// How long each request "works".
pub const WORK: Duration = Duration::from_millis(200);

/// Serves until `shutdown` completes, then waits up to `deadline` for the
/// open connections to finish. Returns how many were still open when the
/// deadline passed (0 when all finished).
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = io::Result<()>>,
    deadline: Duration,
) -> io::Result<usize> {
    // Every connection holds a sender; when all are dropped, `recv` ends.
    let (alive, all_done) = async_channel::bounded::<()>(1);
    let mut shutdown = pin!(shutdown);
    loop {
        let next = std::future::poll_fn(|cx| {
            if let Poll::Ready(result) = shutdown.as_mut().poll(cx) {
                return Poll::Ready(Err(result));
            }
            listener.poll_accept(cx).map(Ok)
        })
        .await;
        match next {
            Ok(Ok((stream, _peer))) => {
                weft::spawn(connection(stream, alive.clone()));
            }
            Ok(Err(e)) => eprintln!("graceful: accept failed: {e}"),
            Err(signal) => {
                signal?;
                break;
            }
        }
    }
    drop(listener);
    let open = alive.sender_count() - 1;
    println!("graceful: shutting down, {open} connection(s) open");
    drop(alive);
    match weft::time::timeout(deadline, all_done.recv()).await {
        Ok(_) => Ok(0),
        Err(_) => Ok(all_done.sender_count()),
    }
}

async fn connection(stream: TcpStream, _alive: async_channel::Sender<()>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        weft::time::sleep(WORK).await;
        if write
            .write_all(line.to_uppercase().as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}
