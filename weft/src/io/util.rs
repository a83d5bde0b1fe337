//! `empty`, `repeat` and `sink` that take part in the cooperative budget,
//! as tokio's do: a loop that reads from `empty()` forever still yields, so
//! a `timeout` around it fires (futures-util's versions never return
//! `Pending` and would spin the loop's thread).

use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};

use crate::task::coop;

/// Spends one unit of the task's budget (`Pending` after a wake when it is
/// used up), then gives `value`.
fn cooperative<T>(cx: &mut Context<'_>, value: impl FnOnce() -> T) -> Poll<T> {
    let unit = ready!(coop::poll_proceed(cx));
    unit.made_progress();
    Poll::Ready(value())
}

/// `AsyncWrite` that accepts every byte and drops it, spending a unit of
/// the budget per call.
macro_rules! swallow_writes {
    ($t:ty) => {
        impl AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                cooperative(cx, || Ok(buf.len()))
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                cooperative(cx, || Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                cooperative(cx, || Ok(()))
            }
        }
    };
}

/// A reader that is always at end of file and a writer that accepts and
/// drops every byte; see [`empty`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Empty {
    _private: (),
}

/// A reader at end of file, which also swallows writes (tokio's
/// `io::empty`). Each operation spends a unit of the task's cooperative
/// budget, so an endless loop over it still yields.
///
/// ```
/// use weft::io::AsyncReadExt;
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let mut buf = Vec::new();
///     assert_eq!(weft::io::empty().read_to_end(&mut buf).await?, 0);
///     Ok(())
/// }
/// ```
pub fn empty() -> Empty {
    Empty { _private: () }
}

impl AsyncRead for Empty {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        _: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        cooperative(cx, || Ok(0))
    }
}

impl AsyncBufRead for Empty {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        cooperative(cx, || Ok(&[][..]))
    }

    fn consume(self: Pin<&mut Self>, _: usize) {}
}

swallow_writes!(Empty);

impl AsyncSeek for Empty {
    fn poll_seek(self: Pin<&mut Self>, cx: &mut Context<'_>, _: SeekFrom) -> Poll<io::Result<u64>> {
        cooperative(cx, || Ok(0))
    }
}

/// A reader that yields one byte over and over; see [`repeat`].
#[derive(Debug, Clone, Copy)]
pub struct Repeat {
    byte: u8,
}

/// An endless reader of `byte` (tokio's `io::repeat`); each read fills the
/// whole buffer and spends a unit of the task's cooperative budget.
///
/// ```
/// use weft::io::AsyncReadExt;
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let mut buf = [0u8; 3];
///     weft::io::repeat(b'x').read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"xxx");
///     Ok(())
/// }
/// ```
pub fn repeat(byte: u8) -> Repeat {
    Repeat { byte }
}

impl AsyncRead for Repeat {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let byte = self.byte;
        cooperative(cx, || {
            buf.fill(byte);
            Ok(buf.len())
        })
    }
}

/// A writer that accepts and drops every byte; see [`sink`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Sink {
    _private: (),
}

/// A writer that swallows everything (tokio's `io::sink`); each operation
/// spends a unit of the task's cooperative budget.
///
/// ```
/// use weft::io::AsyncWriteExt;
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     weft::io::sink().write_all(b"gone").await?;
///     Ok(())
/// }
/// ```
pub fn sink() -> Sink {
    Sink { _private: () }
}

swallow_writes!(Sink);
