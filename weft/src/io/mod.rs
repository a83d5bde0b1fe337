//! I/O traits.
//!
//! weft's sockets implement the runtime-neutral [`futures_io`] traits
//! natively. This module re-exports them with their extension traits from
//! `futures-util`, so one import gives `read`, `read_exact`, `read_to_end`,
//! `write_all`, `flush`, `close` and the rest:
//!
//! ```
//! use weft::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # async fn demo(mut stream: weft::net::TcpStream) -> std::io::Result<()> {
//! stream.write_all(b"ping").await?;
//! let mut reply = [0u8; 4];
//! stream.read_exact(&mut reply).await?;
//! stream.close().await?; // shuts down the write side: the peer sees EOF
//! # Ok(())
//! # }
//! ```
//!
//! `close()` is `futures-io`'s name for tokio's `shutdown()`: on a TCP
//! stream it shuts down the write direction (reads still work).
//!
//! In-memory pipes for tests and in-process plumbing: [`duplex`] (a pair
//! of connected [`DuplexStream`]s) and [`simplex`] (a one-way
//! [`SimplexStream`]); [`copy_bidirectional`] relays between two streams
//! (a proxy's loop). All three take part in the cooperative budget.
//!
//! With the `tokio-io` feature, weft's streams (and their halves), child
//! pipes and files also implement tokio's `AsyncRead`/`AsyncWrite` (and
//! `AsyncSeek` for files), with no tokio runtime, for `tokio-util` codecs
//! and hyper-util's `TokioIo`.

mod copy_bidirectional;
mod duplex;
mod simplex;
mod util;

pub use crate::driver::io::interest::{Interest, Ready};
pub use copy_bidirectional::{copy_bidirectional, copy_bidirectional_with_sizes};
pub use duplex::{duplex, DuplexStream};
pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
pub use futures_util::io::{
    copy, copy_buf, AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufReader,
    BufWriter, Cursor, ReadHalf, WriteHalf,
};
pub use simplex::{simplex, SimplexStream};
pub use std::io::{Error, ErrorKind, Result, SeekFrom};
pub use util::{empty, repeat, sink, Empty, Repeat, Sink};
