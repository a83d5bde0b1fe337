//! hyper 1.x on weft (the `hyper` feature): [`WeftExecutor`] spawns hyper's
//! background tasks, [`WeftTimer`] gives it timers, and weft's
//! [`TcpStream`](crate::net::TcpStream) and
//! [`UnixStream`](crate::net::UnixStream) implement `hyper::rt::Read` and
//! `hyper::rt::Write`, so `hyper::server::conn::{http1, http2}` and
//! `hyper::client::conn` run on weft with no tokio runtime.
//!
//! With the `hyper-client` feature, [`WeftConnector`] and [`client_builder`]
//! run hyper-util's pooled `client::legacy::Client` on weft too (HTTP/1.1
//! and HTTP/2, and HTTPS through hyper-rustls's `HttpsConnector` over a
//! `WeftConnector`).
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

#[cfg(feature = "hyper-client")]
pub use super::hyper_client::{client_builder, ConnectInfo, Connecting, WeftConnector};

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
        drop(crate::task::spawn(future));
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

/// Reads straight into hyper's cursor: the kernel fills its uninitialised
/// memory, nothing is zeroed or copied first (a 16 KiB zero-and-copy per read
/// cost ~3 % of a hello-world server's CPU).
fn read_into<R: crate::net::ReadUninit + ?Sized>(
    reader: &R,
    cx: &mut Context<'_>,
    mut cursor: ReadBufCursor<'_>,
) -> Poll<io::Result<()>> {
    // SAFETY: `as_mut` requires that no initialised byte of the slice be
    // de-initialised; `ReadUninit`'s contract (an unsafe trait) promises that
    // `poll_read_uninit` only ever writes into it.
    let unfilled = unsafe { cursor.as_mut() };
    let n = std::task::ready!(reader.poll_read_uninit(cx, unfilled))?;
    // SAFETY: `advance(n)` requires the next `n` bytes to be initialised;
    // `ReadUninit`'s contract says `Ok(n)` means `n <= unfilled.len()` and
    // the first `n` bytes of `unfilled` were initialised by the call.
    unsafe { cursor.advance(n) };
    Poll::Ready(Ok(()))
}

macro_rules! hyper_io {
    ($($t:ty),*) => {$(
        impl hyper::rt::Read for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                cursor: ReadBufCursor<'_>,
            ) -> Poll<io::Result<()>> {
                read_into(&*self, cx, cursor)
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
