//! hyper 1.x on weft (the `hyper` feature): [`WeftExecutor`] spawns hyper's
//! background tasks, [`WeftTimer`] gives it timers, and weft's
//! [`TcpStream`](crate::net::TcpStream) and
//! [`UnixStream`](crate::net::UnixStream) implement `hyper::rt::Read` and
//! `hyper::rt::Write`, so `hyper::server::conn::{http1, http2}` and
//! `hyper::client::conn` run on weft with no tokio runtime.
//!
//! ```ignore
//! let (stream, _) = listener.accept().await?;
//! weft::spawn(async move {
//!     let _ = hyper::server::conn::http1::Builder::new()
//!         .timer(weft::hyper_rt::WeftTimer)
//!         .serve_connection(stream, hyper::service::service_fn(hello))
//!         .await;
//! });
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::rt::ReadBufCursor;

/// Runs hyper's background futures (HTTP/2 connection tasks) as weft tasks
/// on the current runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct WeftExecutor;

impl<F> hyper::rt::Executor<F> for WeftExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        drop(crate::spawn(future));
    }
}

/// hyper's timers (keep-alive, header read timeouts) on weft's timer wheel.
#[derive(Debug, Clone, Copy, Default)]
pub struct WeftTimer;

pin_project_lite::pin_project! {
    /// A weft [`Sleep`](crate::time::Sleep) as hyper's `rt::Sleep`.
    #[derive(Debug)]
    pub struct WeftSleep {
        #[pin]
        inner: crate::time::Sleep,
    }
}

impl Future for WeftSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().inner.poll(cx)
    }
}

impl hyper::rt::Sleep for WeftSleep {}

impl hyper::rt::Timer for WeftTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(WeftSleep {
            inner: crate::time::sleep(duration),
        })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(WeftSleep {
            inner: crate::time::sleep_until(deadline.into()),
        })
    }
}

/// Reads through the stream's futures-io impl into hyper's cursor. Safe:
/// through a stack buffer (a copy), not into the cursor's uninitialised
/// memory.
fn read_into<R: futures_io::AsyncRead + ?Sized>(
    reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    mut cursor: ReadBufCursor<'_>,
) -> Poll<io::Result<()>> {
    let mut chunk = [0u8; 16 * 1024];
    let len = cursor.remaining().min(chunk.len());
    let n = std::task::ready!(reader.poll_read(cx, &mut chunk[..len]))?;
    cursor.put_slice(&chunk[..n]);
    Poll::Ready(Ok(()))
}

macro_rules! hyper_io {
    ($($t:ty),*) => {$(
        impl hyper::rt::Read for $t {
            fn poll_read(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                cursor: ReadBufCursor<'_>,
            ) -> Poll<io::Result<()>> {
                read_into(Pin::new(&mut *self), cx, cursor)
            }
        }

        impl hyper::rt::Write for $t {
            fn poll_write(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                futures_io::AsyncWrite::poll_write(Pin::new(&mut *self), cx, buf)
            }

            fn poll_write_vectored(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                futures_io::AsyncWrite::poll_write_vectored(Pin::new(&mut *self), cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                futures_io::AsyncWrite::poll_flush(Pin::new(&mut *self), cx)
            }

            fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                futures_io::AsyncWrite::poll_close(Pin::new(&mut *self), cx)
            }
        }
    )*};
}

hyper_io!(crate::net::TcpStream, crate::net::UnixStream);
