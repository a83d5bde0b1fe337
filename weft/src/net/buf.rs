//! Receiving into a [`bytes::BufMut`] (tokio's `try_read_buf`, `recv_buf`,
//! `recv_buf_from`, ...): the kernel writes into the buffer's spare capacity
//! directly (nothing is zeroed or copied first), and the buffer advances by
//! exactly the bytes the kernel wrote.

use std::io;
use std::os::fd::AsFd;

use bytes::BufMut;
use rustix::net::{RecvFlags, SocketAddrAny};

use crate::driver::io::evented::Evented;
use crate::driver::io::Direction;

/// Which call receives.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Recv {
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
    // `as_uninit_slice_mut` requires that nothing reads this memory or
    // writes uninitialised bytes into it.
    // SAFETY: the slice goes only to the one rustix receive call below, in
    // which the kernel writes received (initialised) bytes and reads none.
    let dst = unsafe { chunk.as_uninit_slice_mut() };
    let (filled, from) = match how {
        Recv::Datagram => {
            let ((filled, _), len) = rustix::net::recv(fd, dst, RecvFlags::TRUNC)?;
            (super::datagram::check_truncation(filled.len(), len)?, None)
        }
        Recv::DatagramFrom => {
            let ((filled, _), len, from) = rustix::net::recvfrom(fd, dst, RecvFlags::TRUNC)?;
            (super::datagram::check_truncation(filled.len(), len)?, from)
        }
    };
    // rustix handed back the first `filled` bytes of `dst` (which is
    // `buf.chunk_mut()`) as an initialised `&mut [u8]`: the kernel wrote them.
    // SAFETY: so the next `filled` bytes of the chunk are initialised, as
    // `advance_mut` requires.
    unsafe { buf.advance_mut(filled) };
    Ok((filled, from))
}

/// Waits for a datagram (or bytes) on `io` and receives into `buf`'s spare
/// capacity, as [`try_recv_buf`] once ready.
pub(crate) async fn recv_buf<T: AsFd, B: BufMut + ?Sized>(
    io: &Evented<T>,
    buf: &mut B,
    how: Recv,
) -> io::Result<(usize, Option<SocketAddrAny>)> {
    std::future::poll_fn(|cx| io.poll_recv(cx, |s| recv(s, buf, how))).await
}

/// Receives into `buf`'s spare capacity without waiting: `WouldBlock`, and
/// readiness cleared, if nothing is queued.
pub(crate) fn try_recv_buf<T: AsFd, B: BufMut + ?Sized>(
    io: &Evented<T>,
    buf: &mut B,
    how: Recv,
) -> io::Result<(usize, Option<SocketAddrAny>)> {
    io.try_io(Direction::Read, |s| recv(s, buf, how))
}

/// A byte stream's `try_read_buf`.
pub(crate) fn try_read_buf<T: AsFd, B: BufMut + ?Sized>(
    io: &Evented<T>,
    buf: &mut B,
) -> io::Result<usize> {
    let chunk = buf.chunk_mut();
    // SAFETY: the slice goes only to `try_read_uninit`, which writes
    // received (initialised) bytes into it and reads none.
    let dst = unsafe { chunk.as_uninit_slice_mut() };
    let filled = io.try_read_uninit(dst)?;
    // SAFETY: `try_read_uninit` initialised the first `filled` bytes of the
    // chunk, as `advance_mut` requires.
    unsafe { buf.advance_mut(filled) };
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn a_datagram_lands_after_what_the_buffer_held_and_nothing_more_is_claimed() {
        let (a, b) = UnixDatagram::pair().unwrap();
        a.send(b"hello").unwrap();
        let mut vec = Vec::with_capacity(64);
        vec.extend_from_slice(b">>");
        // A `pair` peer is unnamed: the kernel may report no address.
        let (n, _) = recv(&b, &mut vec, Recv::DatagramFrom).unwrap();
        assert_eq!((n, &vec[..]), (5, &b">>hello"[..]));
        // Into a fixed slice: its room shrinks by the datagram only.
        a.send(b"abc").unwrap();
        let mut storage = [b'.'; 8];
        let mut slice: &mut [u8] = &mut storage;
        assert_eq!(recv(&b, &mut slice, Recv::Datagram).unwrap().0, 3);
        assert_eq!(slice.len(), 5);
        assert_eq!(&storage, b"abc.....");
    }

    #[test]
    fn a_truncated_datagram_is_an_error_and_leaves_the_buffer_alone() {
        let (a, b) = UnixDatagram::pair().unwrap();
        a.send(&[7u8; 32]).unwrap();
        let mut storage = [0u8; 8];
        let mut slice: &mut [u8] = &mut storage;
        let err = recv(&b, &mut slice, Recv::Datagram).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(slice.len(), 8, "not advanced");
    }
}
