//! Networking: TCP today; UDP and Unix sockets arrive with the networking
//! issue.
//!
//! Owns: socket types and address parsing. Calls: the I/O driver (through a
//! registration per socket) and the kernel (through `socket2`/`rustix`/std).

/// Implements `futures_io::{AsyncRead, AsyncWrite}` for a byte-stream socket
/// type and for a shared reference to it (so one task can read while another
/// writes), delegating to its `poll_read_priv`, `poll_read_vectored_priv`,
/// `poll_write_priv`, `poll_write_vectored_priv` and `poll_close_priv`.
/// Writes go straight to the kernel, so flushing has nothing to do.
macro_rules! byte_stream_traits {
    ($t:ty) => {
        $crate::net::byte_stream_traits!(@impl $t);
        $crate::net::byte_stream_traits!(@impl &$t);
    };
    (@impl $t:ty) => {
        impl futures_io::AsyncRead for $t {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_read_priv(cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_read_vectored_priv(cx, bufs)
            }
        }

        impl futures_io::AsyncWrite for $t {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_write_vectored_priv(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.poll_close_priv()
            }
        }
    };
}
pub(crate) use byte_stream_traits;

mod addr;
mod evented;
mod tcp;

pub use addr::ToSocketAddrs;
pub use tcp::{TcpListener, TcpStream};
