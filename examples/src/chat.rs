//! A line-based TCP chat server on weft, with runtime-neutral channels from
//! `async-channel`: every line a client sends goes to every other client,
//! prefixed with the sender's name.
//!
//! One broker task owns the set of clients; each connection has a reader
//! task (lines in → broker) and a writer task (its own channel → socket), so
//! a slow client only fills its own queue.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use async_channel::{Receiver, Sender};
use weft::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use weft::net::{TcpListener, TcpStream};

/// Messages queued for one client before its lines are dropped (a client
/// that does not read cannot make the server hold unbounded memory).
const CLIENT_QUEUE: usize = 256;

enum Event {
    Join {
        id: u64,
        name: String,
        outbox: Sender<Arc<str>>,
    },
    Line {
        id: u64,
        text: String,
    },
    Leave {
        id: u64,
    },
}

/// Serves chat clients on `listener` until the listener fails.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    let (events, inbox) = async_channel::unbounded();
    weft::spawn(broker(inbox));
    let mut next_id = 0;
    loop {
        let (stream, peer) = listener.accept().await?;
        next_id += 1;
        weft::spawn(client(next_id, stream, peer, events.clone()));
    }
}

async fn broker(inbox: Receiver<Event>) {
    let mut clients: HashMap<u64, (String, Sender<Arc<str>>)> = HashMap::new();
    while let Ok(event) = inbox.recv().await {
        let (from, text): (u64, Arc<str>) = match event {
            Event::Join { id, name, outbox } => {
                let text = format!("* {name} joined\n");
                clients.insert(id, (name, outbox));
                (id, text.into())
            }
            Event::Line { id, text } => {
                let Some((name, _)) = clients.get(&id) else {
                    continue;
                };
                (id, format!("{name}: {text}\n").into())
            }
            Event::Leave { id } => {
                let Some((name, _)) = clients.remove(&id) else {
                    continue;
                };
                (id, format!("* {name} left\n").into())
            }
        };
        for (&id, (_, outbox)) in &clients {
            if id != from {
                // A full queue means a client that does not read: skip it
                // rather than stall everyone.
                let _ = outbox.try_send(Arc::clone(&text));
            }
        }
    }
}

async fn client(id: u64, stream: TcpStream, peer: SocketAddr, events: Sender<Event>) {
    let name = format!("guest{id}@{peer}");
    let (read, mut write) = stream.into_split();
    let (outbox, queue) = async_channel::bounded::<Arc<str>>(CLIENT_QUEUE);
    let welcome = format!("* welcome, {name}\n");
    if write.write_all(welcome.as_bytes()).await.is_err() {
        return;
    }
    if events.send(Event::Join { id, name, outbox }).await.is_err() {
        return;
    }
    let writer = weft::spawn(async move {
        while let Ok(text) = queue.recv().await {
            if write.write_all(text.as_bytes()).await.is_err() {
                break;
            }
        }
        // Drop the receiver, so the broker's sends fail fast.
        queue.close();
    });
    let mut lines = BufReader::new(read).lines();
    while let Some(Ok(line)) = next(&mut lines).await {
        let text = line.trim_end().to_string();
        if !text.is_empty() && events.send(Event::Line { id, text }).await.is_err() {
            break;
        }
    }
    let _ = events.send(Event::Leave { id }).await;
    // The broker dropped this client's sender: the writer ends.
    let _ = writer.await;
}

/// `StreamExt::next` without pulling in another crate.
async fn next<S: futures_core::Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *stream).poll_next(cx)).await
}
