//! An in-memory one-way pipe: [`SimplexStream`] and [`simplex`] (tokio's
//! `io::simplex`), also the two directions of a
//! [`DuplexStream`](super::DuplexStream).
//!
//! The pipe is a ring buffer of at most `max_buf_size` bytes, a closed flag
//! and one waker per direction. Its `*_with` methods do the work without
//! touching the coop budget and hand back the waker to wake, so that a
//! `DuplexStream` wakes the other side after unlocking.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::io::{AsyncReadExt, ReadHalf, WriteHalf};

use crate::task::coop;

/// A unidirectional pipe to read and write bytes in memory.
///
/// Made by [`simplex`], as a reader half and a writer half, or by
/// [`SimplexStream::new_unsplit`], as one value that both reads and writes
/// (what it writes, it reads back). At most `max_buf_size` bytes wait in
/// the pipe: a write to a full pipe waits for a read to make room, and
/// writes what fits (a short write) once there is some.
///
/// # Closing
///
/// [`close`](futures_util::io::AsyncWriteExt::close) (tokio's `shutdown`)
/// closes the pipe: reads return the bytes still buffered, then end of file
/// (`Ok(0)`); writes fail with [`BrokenPipe`](io::ErrorKind::BrokenPipe).
/// As in tokio, dropping one half of a [`simplex`] pair does not close the
/// pipe (the pipe lives until both halves are gone): close the writer to
/// end the reader's stream.
///
/// # Cooperative budget
///
/// Each read and write spends a unit of the task's budget, as weft's
/// sockets do, so a loop over a pipe that is always ready still yields.
///
/// # Difference from tokio
///
/// A pipe made with `max_buf_size == 0` can never hold a byte: a non-empty
/// write to it fails with [`InvalidInput`](io::ErrorKind::InvalidInput)
/// instead of waiting forever as tokio's would.
///
/// ```
/// use weft::io::{AsyncReadExt, AsyncWriteExt, SimplexStream};
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let mut pipe = SimplexStream::new_unsplit(64);
///     pipe.write_all(b"hello").await?;
///     let mut buf = [0u8; 5];
///     pipe.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hello");
///     Ok(())
/// }
/// ```
pub struct SimplexStream {
    /// The bytes written and not yet read.
    buffer: VecDeque<u8>,
    /// Set by `close` on the writing side, or when the reading side of a
    /// duplex pair is dropped.
    is_closed: bool,
    /// Most bytes `buffer` may hold.
    max_buf_size: usize,
    /// The reader waiting for bytes (or for the close).
    read_waker: Option<Waker>,
    /// The writer waiting for room (or for the close).
    write_waker: Option<Waker>,
}

/// Creates an in-memory one-way pipe holding at most `max_buf_size` bytes,
/// split into its reader and writer halves (tokio's `io::simplex`).
///
/// The halves are futures-io's [`ReadHalf`] and [`WriteHalf`] (those
/// [`weft::io`](crate::io) re-exports, over a `BiLock`); rejoin them with
/// [`ReadHalf::reunite`] (tokio's halves call it `unsplit`). Close the
/// writer with [`close`](futures_util::io::AsyncWriteExt::close) to let the
/// reader see end of file; see [`SimplexStream`] for the details.
///
/// With the `tokio-io` feature, [`SimplexStream`] implements tokio's
/// `AsyncRead`/`AsyncWrite`, but these futures-io halves do not (the orphan
/// rule): use `new_unsplit`, or tokio-util's `compat` on the halves.
///
/// ```
/// use weft::io::{AsyncReadExt, AsyncWriteExt};
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let (mut reader, mut writer) = weft::io::simplex(64);
///     let producer = weft::spawn(async move {
///         writer.write_all(b"ping").await?;
///         writer.close().await // the reader sees end of file
///     });
///     let mut received = Vec::new();
///     reader.read_to_end(&mut received).await?;
///     assert_eq!(received, b"ping");
///     producer.await.expect("the producer did not panic")?;
///     Ok(())
/// }
/// ```
pub fn simplex(max_buf_size: usize) -> (ReadHalf<SimplexStream>, WriteHalf<SimplexStream>) {
    SimplexStream::new_unsplit(max_buf_size).split()
}

/// Registers `cx`'s waker in `slot`, cloning only when it is a new one.
fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(waker) if waker.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

/// Wakes `waker`, if any (after the caller released its lock).
pub(crate) fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// Runs one pipe operation under a unit of the task's budget, kept spent
/// when the operation completes, then wakes the other side.
pub(crate) fn budgeted<T>(
    cx: &mut Context<'_>,
    op: impl FnOnce(&mut Context<'_>) -> (Poll<io::Result<T>>, Option<Waker>),
) -> Poll<io::Result<T>> {
    let unit = ready!(coop::proceed(cx));
    let (result, to_wake) = op(cx);
    if result.is_ready() {
        unit.made_progress();
    }
    wake(to_wake);
    result
}

impl SimplexStream {
    /// Creates an in-memory one-way pipe holding at most `max_buf_size`
    /// bytes, as one value that writes into the pipe and reads from it.
    /// [`simplex`] makes one split into its two halves.
    ///
    /// ```
    /// use weft::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// #[weft::main(flavor = "current_thread")]
    /// async fn main() -> std::io::Result<()> {
    ///     let mut pipe = weft::io::SimplexStream::new_unsplit(4);
    ///     // Only 4 bytes fit: a short write.
    ///     assert_eq!(pipe.write(b"hello").await?, 4);
    ///     let mut buf = [0u8; 8];
    ///     assert_eq!(pipe.read(&mut buf).await?, 4);
    ///     assert_eq!(&buf[..4], b"hell");
    ///     Ok(())
    /// }
    /// ```
    pub fn new_unsplit(max_buf_size: usize) -> SimplexStream {
        SimplexStream {
            buffer: VecDeque::new(),
            is_closed: false,
            max_buf_size,
            read_waker: None,
            write_waker: None,
        }
    }

    /// Closes the writing side: the reader drains, then sees end of file.
    /// Returns the reader's waker, to wake.
    pub(crate) fn close_write(&mut self) -> Option<Waker> {
        self.is_closed = true;
        self.read_waker.take()
    }

    /// Closes the reading side: writes fail with `BrokenPipe`. Returns the
    /// writer's waker, to wake.
    pub(crate) fn close_read(&mut self) -> Option<Waker> {
        self.is_closed = true;
        self.write_waker.take()
    }

    /// Moves up to `want` buffered bytes to `put` (in one or two chunks),
    /// or registers the reader. `Ok(0)`: end of file (or `want == 0`).
    /// Returns the writer's waker when room was made.
    pub(crate) fn read_with(
        &mut self,
        cx: &Context<'_>,
        want: usize,
        mut put: impl FnMut(&[u8]),
    ) -> (Poll<io::Result<usize>>, Option<Waker>) {
        if want == 0 {
            return (Poll::Ready(Ok(0)), None);
        }
        if self.buffer.is_empty() {
            if self.is_closed {
                return (Poll::Ready(Ok(0)), None);
            }
            register(&mut self.read_waker, cx);
            return (Poll::Pending, None);
        }
        let n = want.min(self.buffer.len());
        let (front, back) = self.buffer.as_slices();
        let from_front = n.min(front.len());
        put(&front[..from_front]);
        if n > from_front {
            put(&back[..n - from_front]);
        }
        self.buffer.drain(..n);
        (Poll::Ready(Ok(n)), self.write_waker.take())
    }

    /// Copies as much of `bufs` as fits, in order, or registers the writer.
    /// Returns the reader's waker when bytes were added.
    pub(crate) fn write_with(
        &mut self,
        cx: &Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> (Poll<io::Result<usize>>, Option<Waker>) {
        if self.is_closed {
            return (Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())), None);
        }
        if bufs.iter().all(|buf| buf.is_empty()) {
            return (Poll::Ready(Ok(0)), None);
        }
        if self.max_buf_size == 0 {
            return (
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "in-memory pipe created with max_buf_size 0 can never accept a byte",
                ))),
                None,
            );
        }
        let room = self.max_buf_size.saturating_sub(self.buffer.len());
        if room == 0 {
            register(&mut self.write_waker, cx);
            return (Poll::Pending, None);
        }
        let mut written = 0;
        for buf in bufs {
            let take = buf.len().min(room - written);
            self.buffer.extend(&buf[..take]);
            written += take;
            if written == room {
                break;
            }
        }
        (Poll::Ready(Ok(written)), self.read_waker.take())
    }

    /// Reads through `put` (for tokio's `ReadBuf`), spending a unit of
    /// budget: see [`read_with`](Self::read_with).
    #[cfg(feature = "tokio-io")]
    pub(crate) fn poll_read_with(
        &mut self,
        cx: &mut Context<'_>,
        want: usize,
        put: impl FnMut(&[u8]),
    ) -> Poll<io::Result<usize>> {
        budgeted(cx, |cx| self.read_with(cx, want, put))
    }

    /// `poll_read` without the budget, for [`DuplexStream`](super::DuplexStream).
    pub(crate) fn read_slice(
        &mut self,
        cx: &Context<'_>,
        buf: &mut [u8],
    ) -> (Poll<io::Result<usize>>, Option<Waker>) {
        let mut filled = 0;
        self.read_with(cx, buf.len(), |chunk| {
            buf[filled..filled + chunk.len()].copy_from_slice(chunk);
            filled += chunk.len();
        })
    }

    /// `poll_read_vectored` without the budget: fills `bufs` in order.
    pub(crate) fn read_vectored(
        &mut self,
        cx: &Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> (Poll<io::Result<usize>>, Option<Waker>) {
        let want = bufs.iter().map(|b| b.len()).sum();
        let (mut index, mut offset) = (0, 0);
        self.read_with(cx, want, |mut chunk| {
            while !chunk.is_empty() {
                let dst = &mut bufs[index][offset..];
                let n = dst.len().min(chunk.len());
                dst[..n].copy_from_slice(&chunk[..n]);
                chunk = &chunk[n..];
                offset += n;
                if offset == bufs[index].len() {
                    index += 1;
                    offset = 0;
                }
            }
        })
    }
}

impl fmt::Debug for SimplexStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimplexStream")
            .field("buffered", &self.buffer.len())
            .field("is_closed", &self.is_closed)
            .field("max_buf_size", &self.max_buf_size)
            .finish_non_exhaustive()
    }
}

impl AsyncRead for SimplexStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        budgeted(cx, |cx| this.read_slice(cx, buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        budgeted(cx, |cx| this.read_vectored(cx, bufs))
    }
}

impl AsyncWrite for SimplexStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        budgeted(cx, |cx| this.write_with(cx, &[IoSlice::new(buf)]))
    }

    /// Copies every slice, in order, up to the room left in the pipe.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        budgeted(cx, |cx| this.write_with(cx, bufs))
    }

    /// Nothing to flush: written bytes are readable at once.
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Closes the pipe (tokio's `shutdown`): the reader drains, then sees
    /// end of file; later writes fail with `BrokenPipe`.
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        wake(self.get_mut().close_write());
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn cx() -> Context<'static> {
        Context::from_waker(Waker::noop())
    }

    #[test]
    fn writes_wrap_around_the_ring_and_read_back_in_order() {
        let mut pipe = SimplexStream::new_unsplit(8);
        let cx = cx();
        let mut out = Vec::new();
        for round in 0u8..20 {
            let data = [round, round.wrapping_add(1), round.wrapping_add(2)];
            let (poll, _) =
                pipe.write_with(&cx, &[IoSlice::new(&data[..2]), IoSlice::new(&data[2..])]);
            assert!(matches!(poll, Poll::Ready(Ok(3))));
            let mut buf = [0u8; 2];
            let mut bufs = [
                IoSliceMut::new(&mut buf[..1]),
                IoSliceMut::new(&mut [0u8; 0][..]),
            ];
            let (poll, _) = pipe.read_vectored(&cx, &mut bufs);
            assert!(matches!(poll, Poll::Ready(Ok(1))));
            out.push(buf[0]);
            let mut rest = [0u8; 8];
            let (poll, _) = pipe.read_slice(&cx, &mut rest);
            let Poll::Ready(Ok(n)) = poll else {
                panic!("expected data")
            };
            out.extend_from_slice(&rest[..n]);
        }
        let expected: Vec<u8> = (0u8..20)
            .flat_map(|r| [r, r.wrapping_add(1), r.wrapping_add(2)])
            .collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn vectored_write_stops_at_the_room_left() {
        let mut pipe = SimplexStream::new_unsplit(5);
        let cx = cx();
        let (poll, _) = pipe.write_with(&cx, &[IoSlice::new(b"abc"), IoSlice::new(b"defg")]);
        assert!(matches!(poll, Poll::Ready(Ok(5))));
        let (poll, _) = pipe.write_with(&cx, &[IoSlice::new(b"h")]);
        assert!(poll.is_pending());
        let mut buf = [0u8; 3];
        let mut bufs = [
            IoSliceMut::new(&mut buf[..2]),
            IoSliceMut::new(&mut [0u8; 0][..]),
        ];
        assert!(matches!(
            pipe.read_vectored(&cx, &mut bufs).0,
            Poll::Ready(Ok(2))
        ));
        let mut rest = [0u8; 8];
        assert!(matches!(
            pipe.read_slice(&cx, &mut rest).0,
            Poll::Ready(Ok(3))
        ));
        assert_eq!(&rest[..3], b"cde");
    }

    #[test]
    fn zero_capacity_is_an_error_not_a_hang() {
        let mut pipe = SimplexStream::new_unsplit(0);
        let (poll, _) = pipe.write_with(&cx(), &[IoSlice::new(b"x")]);
        match poll {
            Poll::Ready(Err(err)) => assert_eq!(err.kind(), io::ErrorKind::InvalidInput),
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }
}
