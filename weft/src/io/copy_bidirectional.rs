//! [`copy_bidirectional`] and [`copy_bidirectional_with_sizes`] (tokio's):
//! two copies, `a → b` and `b → a`, driven by one future, each closing its
//! writer once its reader reaches end of file.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::task::coop;

/// tokio's default buffer size for each direction (8 KiB).
const DEFAULT_BUF_SIZE: usize = 8 * 1024;

/// One direction's buffer: bytes `pos..cap` of `buf` are read and not yet
/// written.
struct CopyBuffer {
    /// The reader returned end of file.
    read_done: bool,
    /// Bytes were written since the last flush.
    need_flush: bool,
    pos: usize,
    cap: usize,
    /// Bytes written in all.
    amt: u64,
    buf: Box<[u8]>,
}

impl CopyBuffer {
    fn new(size: usize) -> CopyBuffer {
        CopyBuffer {
            read_done: false,
            need_flush: false,
            pos: 0,
            cap: 0,
            amt: 0,
            buf: vec![0; size].into_boxed_slice(),
        }
    }

    /// Reads into the free tail of the buffer; 0 bytes read is end of file.
    fn poll_fill<R: AsyncRead + ?Sized>(
        &mut self,
        cx: &mut Context<'_>,
        reader: Pin<&mut R>,
    ) -> Poll<io::Result<()>> {
        let room = self.buf.len() - self.cap;
        let n = ready!(reader.poll_read(cx, &mut self.buf[self.cap..]))?;
        if n > room {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the reader reported more bytes read than the buffer holds",
            )));
        }
        if n == 0 {
            self.read_done = true;
        }
        self.cap += n;
        Poll::Ready(Ok(()))
    }

    /// Writes from the buffer; while the writer is not ready, reads more
    /// into the free tail (a larger write later).
    fn poll_write_some<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        reader: Pin<&mut R>,
        writer: Pin<&mut W>,
    ) -> Poll<io::Result<usize>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        match writer.poll_write(cx, &self.buf[self.pos..self.cap]) {
            Poll::Pending => {
                if !self.read_done && self.cap < self.buf.len() {
                    ready!(self.poll_fill(cx, reader))?;
                }
                Poll::Pending
            }
            done => done,
        }
    }

    /// Copies until the reader's end of file, then flushes: the bytes
    /// written. Flushes whenever the reader would block with nothing left
    /// to write, so a writer that buffers cannot hold back what the reader
    /// waits for. Spends one unit of the task's budget per call.
    fn poll_copy<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        mut reader: Pin<&mut R>,
        mut writer: Pin<&mut W>,
    ) -> Poll<io::Result<u64>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        let unit = ready!(coop::poll_proceed(cx));
        loop {
            if !self.read_done && self.cap < self.buf.len() {
                match self.poll_fill(cx, reader.as_mut()) {
                    Poll::Ready(Ok(())) => unit.made_progress(),
                    Poll::Ready(Err(err)) => {
                        unit.made_progress();
                        return Poll::Ready(Err(err));
                    }
                    // Nothing to read: write what is buffered, if anything.
                    Poll::Pending if self.pos == self.cap => {
                        if self.need_flush {
                            ready!(writer.as_mut().poll_flush(cx))?;
                            unit.made_progress();
                            self.need_flush = false;
                        }
                        return Poll::Pending;
                    }
                    Poll::Pending => {}
                }
            }

            while self.pos < self.cap {
                let n = ready!(self.poll_write_some(cx, reader.as_mut(), writer.as_mut()))?;
                unit.made_progress();
                if n == 0 {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "write zero byte into writer",
                    )));
                }
                if n > self.cap - self.pos {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the writer reported more bytes written than it was given",
                    )));
                }
                self.pos += n;
                self.amt += n as u64;
                self.need_flush = true;
            }
            self.pos = 0;
            self.cap = 0;

            if self.read_done {
                ready!(writer.as_mut().poll_flush(cx))?;
                unit.made_progress();
                return Poll::Ready(Ok(self.amt));
            }
        }
    }
}

/// Where one direction stands.
enum Transfer {
    Running(CopyBuffer),
    /// Copied everything (the count); closing the writer.
    Closing(u64),
    Done(u64),
}

/// Drives one direction: copy to end of file, then close `w`'s write side.
fn poll_direction<A, B>(
    cx: &mut Context<'_>,
    state: &mut Transfer,
    r: &mut A,
    w: &mut B,
) -> Poll<io::Result<u64>>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let mut r = Pin::new(r);
    let mut w = Pin::new(w);
    loop {
        match state {
            Transfer::Running(buf) => {
                let count = ready!(buf.poll_copy(cx, r.as_mut(), w.as_mut()))?;
                *state = Transfer::Closing(count);
            }
            Transfer::Closing(count) => {
                ready!(w.as_mut().poll_close(cx))?;
                *state = Transfer::Done(*count);
            }
            Transfer::Done(count) => return Poll::Ready(Ok(*count)),
        }
    }
}

/// Copies data both ways between `a` and `b` until both directions have
/// reached end of file: tokio's `io::copy_bidirectional`, on futures-io's
/// traits.
///
/// When one side's reader reaches end of file, the other side's writer is
/// closed (`close`, tokio's `shutdown`) and the other direction goes on
/// until it ends too. Each direction uses an 8 KiB buffer (see
/// [`copy_bidirectional_with_sizes`]), reads ahead while its writer is
/// busy, and flushes its writer whenever its reader would block.
///
/// Returns `(bytes a → b, bytes b → a)`; the first error from either side
/// ends the copy and is returned (the bytes copied so far are then not
/// reported, as in tokio). Each poll spends from the task's cooperative
/// budget, so a copy between always-ready streams still yields.
///
/// ```
/// use weft::io::{AsyncReadExt, AsyncWriteExt};
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     // client <-> (proxy_a <=> proxy_b) <-> server
///     let (mut client, mut proxy_a) = weft::io::duplex(64);
///     let (mut proxy_b, mut server) = weft::io::duplex(64);
///     let proxy = weft::spawn(async move {
///         weft::io::copy_bidirectional(&mut proxy_a, &mut proxy_b).await
///     });
///
///     client.write_all(b"request").await?;
///     client.close().await?; // end of the request: the server sees EOF
///     let mut request = Vec::new();
///     server.read_to_end(&mut request).await?;
///     assert_eq!(request, b"request");
///
///     server.write_all(b"reply").await?;
///     drop(server); // the proxy's copy towards the client ends too
///     let mut reply = Vec::new();
///     client.read_to_end(&mut reply).await?;
///     assert_eq!(reply, b"reply");
///
///     assert_eq!(proxy.await.expect("the proxy did not panic")?, (7, 5));
///     Ok(())
/// }
/// ```
pub async fn copy_bidirectional<A, B>(a: &mut A, b: &mut B) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    copy_both(
        a,
        b,
        CopyBuffer::new(DEFAULT_BUF_SIZE),
        CopyBuffer::new(DEFAULT_BUF_SIZE),
    )
    .await
}

/// [`copy_bidirectional`] with a buffer of `a_to_b_buf_size` bytes for the
/// `a → b` direction and `b_to_a_buf_size` for `b → a`.
///
/// # Errors
///
/// Besides the streams' own errors: a buffer size of 0 is
/// [`InvalidInput`](io::ErrorKind::InvalidInput), returned before anything
/// is copied (tokio's would spin forever).
///
/// ```
/// # #[weft::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut a, _peer_a) = weft::io::duplex(64);
/// let (mut b, _peer_b) = weft::io::duplex(64);
/// let err = weft::io::copy_bidirectional_with_sizes(&mut a, &mut b, 0, 1024)
///     .await
///     .unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
/// # Ok(())
/// # }
/// ```
pub async fn copy_bidirectional_with_sizes<A, B>(
    a: &mut A,
    b: &mut B,
    a_to_b_buf_size: usize,
    b_to_a_buf_size: usize,
) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    if a_to_b_buf_size == 0 || b_to_a_buf_size == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "copy_bidirectional_with_sizes needs buffers of at least one byte, \
                 got a_to_b_buf_size = {a_to_b_buf_size}, b_to_a_buf_size = {b_to_a_buf_size}"
            ),
        ));
    }
    copy_both(
        a,
        b,
        CopyBuffer::new(a_to_b_buf_size),
        CopyBuffer::new(b_to_a_buf_size),
    )
    .await
}

async fn copy_both<A, B>(
    a: &mut A,
    b: &mut B,
    a_to_b: CopyBuffer,
    b_to_a: CopyBuffer,
) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let mut a_to_b = Transfer::Running(a_to_b);
    let mut b_to_a = Transfer::Running(b_to_a);
    poll_fn(|cx| {
        // Both directions get polled every time; a finished one keeps
        // answering `Done(count)`.
        let forward = poll_direction(cx, &mut a_to_b, a, b)?;
        let backward = poll_direction(cx, &mut b_to_a, b, a)?;
        Poll::Ready(Ok((ready!(forward), ready!(backward))))
    })
    .await
}
