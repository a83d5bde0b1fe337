//! Receiving into a [`bytes::BufMut`] (tokio's `try_read_buf`, `recv_buf`,
//! `recv_buf_from`, ...): the kernel writes into the buffer's spare capacity
//! directly (nothing is zeroed or copied first), and the buffer advances by
//! exactly the bytes the kernel wrote.

use std::io;
use std::os::fd::AsFd;

use bytes::BufMut;
use rustix::net::{RecvFlags, SocketAddrAny};

/// Which call receives.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Recv {
    /// `read(2)` on a byte stream: any number of bytes, 0 at end of stream.
    Read,
    /// `recv(2)` of one datagram; one longer than the buffer is an error
    /// (see [`super::datagram`]).
    Datagram,
    /// `recvfrom(2)` of one datagram, with its source address.
    DatagramFrom,
}

/// Receives into `buf.chunk_mut()` (growing a `Vec` or `BytesMut` that has
/// no spare capacity, as `chunk_mut` does) and advances `buf` over the bytes
/// received. On an error (`WouldBlock`, a truncated datagram, ...) `buf` is
/// left as it was.
pub(crate) fn recv<B: BufMut + ?Sized>(
    fd: impl AsFd,
    buf: &mut B,
    how: Recv,
) -> io::Result<(usize, Option<SocketAddrAny>)> {
    let chunk = buf.chunk_mut();
    // SAFETY: `as_uninit_slice_mut` requires that nothing reads this memory
    // or writes uninitialised bytes into it. The slice goes only to the one
    // rustix receive call below, which has the kernel write the received
    // bytes (initialised) and read nothing.
    let dst = unsafe { chunk.as_uninit_slice_mut() };
    let (filled, from) = match how {
        Recv::Read => (rustix::io::read(fd, dst)?.0.len(), None),
        Recv::Datagram => {
            let ((filled, _), len) = rustix::net::recv(fd, dst, RecvFlags::TRUNC)?;
            (super::datagram::check_truncation(filled.len(), len)?, None)
        }
        Recv::DatagramFrom => {
            let ((filled, _), len, from) = rustix::net::recvfrom(fd, dst, RecvFlags::TRUNC)?;
            (super::datagram::check_truncation(filled.len(), len)?, from)
        }
    };
    // SAFETY: rustix handed back the first `filled` bytes of `dst`, which is
    // `buf.chunk_mut()`, as an initialised `&mut [u8]`: the kernel wrote
    // them. So the next `filled` bytes of the chunk are initialised, which
    // is what `advance_mut` requires.
    unsafe { buf.advance_mut(filled) };
    Ok((filled, from))
}
