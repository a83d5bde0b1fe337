//! [`DuplexStream`] and [`duplex`] (tokio's `io::duplex`): two in-memory
//! pipes crossed into a pair of connected streams.

use std::io::{self, IoSlice, IoSliceMut};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use super::simplex::{budgeted, wake, SimplexStream};
use crate::sys::lock::lock;

/// A bidirectional in-memory pipe: one end of a pair made by [`duplex`],
/// which act like two connected sockets. What one end writes, the other
/// reads.
///
/// # Closing
///
/// When one end is dropped, the other reads the bytes still buffered, then
/// end of file (`Ok(0)`), and its writes — pending ones included — fail at
/// once with [`BrokenPipe`](io::ErrorKind::BrokenPipe).
/// [`close`](futures_util::io::AsyncWriteExt::close) (tokio's `shutdown`)
/// closes only this end's writing direction: the peer drains it and sees
/// end of file, while this end can still read.
///
/// Writes are buffered up to the pair's `max_buf_size` per direction: a
/// write to a full direction waits for the peer to read, then writes what
/// fits. `poll_write_vectored` copies every slice up to that room (with the
/// `tokio-io` feature, tokio's `is_write_vectored` is `true`).
///
/// # Cooperative budget
///
/// Each read and write spends a unit of the task's budget, so a loop over
/// a pair that is always ready still lets the other tasks run.
///
/// ```
/// use weft::io::{AsyncReadExt, AsyncWriteExt};
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let (mut client, mut server) = weft::io::duplex(64);
///
///     client.write_all(b"ping").await?;
///     let mut buf = [0u8; 4];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///
///     server.write_all(b"pong").await?;
///     client.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"pong");
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct DuplexStream {
    /// The pipe the peer writes and this end reads.
    read: Arc<Mutex<SimplexStream>>,
    /// The pipe this end writes and the peer reads.
    write: Arc<Mutex<SimplexStream>>,
}

/// Creates a pair of [`DuplexStream`]s that act like two connected
/// sockets, each direction buffering at most `max_buf_size` bytes (a write
/// beyond that waits for the peer to read).
///
/// A `max_buf_size` of 0 makes a pair that cannot carry a byte: writes to
/// it fail with [`InvalidInput`](io::ErrorKind::InvalidInput) (tokio's would
/// wait forever).
///
/// ```
/// use weft::io::{AsyncReadExt, AsyncWriteExt};
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let (mut a, mut b) = weft::io::duplex(8);
///     let writer = weft::spawn(async move {
///         // 20 bytes through an 8-byte pipe: waits for the reader.
///         a.write_all(&[7u8; 20]).await
///         // `a` drops here: `b` reads the rest, then end of file.
///     });
///     let mut received = Vec::new();
///     b.read_to_end(&mut received).await?;
///     assert_eq!(received, [7u8; 20]);
///     writer.await.expect("the writer did not panic")?;
///     Ok(())
/// }
/// ```
pub fn duplex(max_buf_size: usize) -> (DuplexStream, DuplexStream) {
    let one = Arc::new(Mutex::new(SimplexStream::new_unsplit(max_buf_size)));
    let two = Arc::new(Mutex::new(SimplexStream::new_unsplit(max_buf_size)));
    (
        DuplexStream {
            read: one.clone(),
            write: two.clone(),
        },
        DuplexStream {
            read: two,
            write: one,
        },
    )
}

impl DuplexStream {
    /// Reads through `put` (for tokio's `ReadBuf`): see
    /// [`SimplexStream::read_with`]. Spends a unit of budget.
    #[cfg(feature = "tokio-io")]
    pub(crate) fn poll_read_with(
        &self,
        cx: &mut Context<'_>,
        want: usize,
        put: impl FnMut(&[u8]),
    ) -> Poll<io::Result<usize>> {
        budgeted(cx, |cx| lock(&self.read).read_with(cx, want, put))
    }
}

impl AsyncRead for DuplexStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        budgeted(cx, |cx| lock(&self.read).read_slice(cx, buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        budgeted(cx, |cx| lock(&self.read).read_vectored(cx, bufs))
    }
}

impl AsyncWrite for DuplexStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        budgeted(cx, |cx| {
            lock(&self.write).write_with(cx, &[IoSlice::new(buf)])
        })
    }

    /// Copies every slice, in order, up to the room left in the pipe.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        budgeted(cx, |cx| lock(&self.write).write_with(cx, bufs))
    }

    /// Nothing to flush: written bytes are readable at once.
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Closes this end's writing direction (tokio's `shutdown`): the peer
    /// drains it, then sees end of file; later writes here fail with
    /// `BrokenPipe`. Reading goes on.
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let reader = lock(&self.write).close_write();
        wake(reader);
        Poll::Ready(Ok(()))
    }
}

impl Drop for DuplexStream {
    fn drop(&mut self) {
        // The peer reads what is buffered, then end of file; its writes fail.
        let reader = lock(&self.write).close_write();
        let writer = lock(&self.read).close_read();
        wake(reader);
        wake(writer);
    }
}
