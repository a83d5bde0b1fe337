//! Receiving a datagram without losing its tail: shared by UDP and Unix
//! datagram sockets.

use std::io;
use std::os::fd::AsFd;

use rustix::net::RecvFlags;

/// `recv` with `MSG_TRUNC`: a datagram longer than `buf` is an error that
/// says so (its first `buf.len()` bytes are in `buf`), instead of a silent
/// short read that loses the rest.
/// With `PEEK` a short buffer is fine (peeking a header is the point) and
/// the datagram stays queued, so only the bytes copied are reported.
pub(crate) fn recv(fd: impl AsFd, buf: &mut [u8], flags: RecvFlags) -> io::Result<usize> {
    let (filled, len) = rustix::net::recv(fd, &mut *buf, flags | RecvFlags::TRUNC)?;
    if flags.contains(RecvFlags::PEEK) {
        return Ok(filled);
    }
    check_truncation(filled, len)
}

/// `recvfrom` with `MSG_TRUNC`; see [`recv`].
pub(crate) fn recv_from(
    fd: impl AsFd,
    buf: &mut [u8],
    flags: RecvFlags,
) -> io::Result<(usize, Option<rustix::net::SocketAddrAny>)> {
    let (filled, len, addr) = rustix::net::recvfrom(fd, &mut *buf, flags | RecvFlags::TRUNC)?;
    if flags.contains(RecvFlags::PEEK) {
        return Ok((filled, addr));
    }
    Ok((check_truncation(filled, len)?, addr))
}

/// The methods UDP and Unix datagram sockets share, on a `self.io:
/// Evented<_>` of a datagram socket: sending to and receiving from the
/// connected peer (also into a [`bytes::BufMut`]), and polling readiness.
/// `$recv_buf_example` is the doc example of `recv_buf`.
macro_rules! datagram_methods {
    ($recv_buf_example:literal) => {
        /// Sends `buf` as one datagram to the connected peer.
        pub async fn send(&self, buf: &[u8]) -> std::io::Result<usize> {
            std::future::poll_fn(|cx| self.poll_send(cx, buf)).await
        }

        /// Polls for [`send`](Self::send): sends if the socket is ready,
        /// otherwise registers the task's waker and returns `Pending`.
        pub fn poll_send(
            &self,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            self.io
                .poll_io(cx, $crate::driver::io::Direction::Write, |s| {
                    $crate::net::datagram::send(s, buf)
                })
        }

        /// Sends without waiting (`WouldBlock` if the send buffer is full).
        pub fn try_send(&self, buf: &[u8]) -> std::io::Result<usize> {
            self.io.try_io($crate::driver::io::Direction::Write, |s| {
                $crate::net::datagram::send(s, buf)
            })
        }

        /// Receives one datagram from the connected peer. A datagram longer
        /// than `buf` is an `InvalidData` error giving both sizes (tokio
        /// truncates silently).
        pub async fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            std::future::poll_fn(|cx| self.poll_recv(cx, buf)).await
        }

        /// Polls for [`recv`](Self::recv). tokio's takes a `ReadBuf` and
        /// reports the length through it; this one takes a slice and
        /// returns the length.
        pub fn poll_recv(
            &self,
            cx: &mut std::task::Context<'_>,
            buf: &mut [u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            self.io.poll_recv(cx, |s| {
                $crate::net::datagram::recv(s, buf, rustix::net::RecvFlags::empty())
            })
        }

        /// Receives without waiting (`WouldBlock` if nothing is queued).
        pub fn try_recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.io.try_io($crate::driver::io::Direction::Read, |s| {
                $crate::net::datagram::recv(s, buf, rustix::net::RecvFlags::empty())
            })
        }

        /// Receives one datagram from the connected peer into the spare
        /// capacity of a [`bytes::BufMut`] (a `Vec<u8>`, a `BytesMut`, ...),
        /// which advances by its length; nothing is zeroed first. Reserve
        /// room for the largest datagram first: a `Vec` with no spare
        /// capacity grows by only 64 bytes, and a datagram longer than the
        /// room is an `InvalidData` error (tokio truncates silently), with
        /// `buf` unchanged.
        ///
        #[doc = $recv_buf_example]
        pub async fn recv_buf<B: bytes::BufMut>(&self, buf: &mut B) -> std::io::Result<usize> {
            $crate::net::buf::recv_buf(&self.io, buf, $crate::net::buf::Recv::Datagram)
                .await
                .map(|(n, _)| n)
        }

        /// [`recv_buf`](Self::recv_buf) without waiting (`WouldBlock` if
        /// nothing is queued).
        pub fn try_recv_buf<B: bytes::BufMut>(&self, buf: &mut B) -> std::io::Result<usize> {
            $crate::net::buf::try_recv_buf(&self.io, buf, $crate::net::buf::Recv::Datagram)
                .map(|(n, _)| n)
        }

        /// Ready when a datagram may be queued, registering the task's
        /// waker otherwise: readiness only, for use with
        /// [`try_recv`](Self::try_recv) and friends, whose `WouldBlock`
        /// clears it.
        pub fn poll_recv_ready(
            &self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            self.io
                .registration()
                .poll_ready(cx, $crate::driver::io::Direction::Read)
                .map_ok(drop)
        }

        /// Ready when the socket may take a datagram, for use with
        /// [`try_send`](Self::try_send) / [`try_send_to`](Self::try_send_to);
        /// as [`poll_recv_ready`](Self::poll_recv_ready).
        pub fn poll_send_ready(
            &self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            self.io
                .registration()
                .poll_ready(cx, $crate::driver::io::Direction::Write)
                .map_ok(drop)
        }

        $crate::net::readiness_methods!();
    };
}

pub(crate) use datagram_methods;

/// `send` of one datagram, with `MSG_NOSIGNAL` (as std's UDP send).
pub(crate) fn send(fd: impl AsFd, buf: &[u8]) -> io::Result<usize> {
    Ok(rustix::net::send(
        fd,
        buf,
        rustix::net::SendFlags::NOSIGNAL,
    )?)
}

pub(super) fn check_truncation(filled: usize, len: usize) -> io::Result<usize> {
    if len > filled {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "datagram of {len} bytes truncated to the {filled}-byte buffer: its last {} \
                 bytes are lost; receive into a buffer of at least {len} bytes",
                len - filled
            ),
        ));
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_is_an_error_with_both_sizes() {
        assert_eq!(check_truncation(10, 10).unwrap(), 10);
        let err = check_truncation(8, 20).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let text = err.to_string();
        assert!(text.contains("20 bytes") && text.contains("8-byte") && text.contains("12"));
    }
}
