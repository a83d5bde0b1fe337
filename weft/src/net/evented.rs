//! `Evented<T>`: a non-blocking fd registered with the current runtime.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::task::{Context, Poll};

use crate::driver::io::{Direction, Registration};
use crate::io::{Interest, Ready};
use crate::runtime::context;

/// An I/O object plus its readiness registration. Deregisters from epoll
/// before the object (and so its fd) is closed.
pub(crate) struct Evented<T: AsFd> {
    io: T,
    registration: Registration,
}

impl<T: AsFd> Evented<T> {
    /// Registers `io` (already non-blocking) with the current runtime.
    pub(crate) fn new(io: T) -> io::Result<Evented<T>> {
        let shared = context::with_current(|handle| handle.driver().io.clone())
            .map_err(|e| io::Error::other(e.to_string()))?;
        let registration = shared.register(io.as_fd())?;
        Ok(Evented { io, registration })
    }

    pub(crate) fn get_ref(&self) -> &T {
        &self.io
    }

    pub(crate) fn registration(&self) -> &Registration {
        &self.registration
    }

    /// Leaves the runtime: returns the I/O object (on a duplicate of its
    /// descriptor, still non-blocking) and deregisters and closes this one.
    pub(crate) fn into_std<S: From<OwnedFd>>(self) -> io::Result<S> {
        let fd = self.io.as_fd().try_clone_to_owned()?;
        drop(self);
        Ok(S::from(fd))
    }

    /// Runs `op` on `io` until it does not return `WouldBlock`.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.registration.poll_io(cx, direction, || op(&self.io))
    }

    /// Like `poll_io` for a transfer of up to `len` bytes; a short transfer
    /// clears readiness (see `Registration::poll_transfer`).
    #[inline]
    pub(crate) fn poll_transfer(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        len: usize,
        mut op: impl FnMut(&T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        if len == 0 {
            return Poll::Ready(Ok(0));
        }
        self.registration
            .poll_transfer(cx, direction, len, || op(&self.io))
    }
}

impl<T: AsFd> Drop for Evented<T> {
    fn drop(&mut self) {
        self.registration.deregister(self.io.as_fd());
    }
}

/// The byte-stream operations shared by TCP and Unix streams (std
/// implements `Read`/`Write` on `&TcpStream` and `&UnixStream`).
impl<T: AsFd> Evented<T>
where
    for<'a> &'a T: io::Read + io::Write,
{
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_transfer(cx, Direction::Read, buf.len(), |mut s| {
            io::Read::read(&mut s, buf)
        })
    }

    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = vectored_len(bufs.iter().map(|b| b.len()));
        self.poll_transfer(cx, Direction::Read, len, |mut s| {
            io::Read::read_vectored(&mut s, bufs)
        })
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_transfer(cx, Direction::Write, buf.len(), |mut s| {
            io::Write::write(&mut s, buf)
        })
    }

    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = vectored_len(bufs.iter().map(|b| b.len()));
        self.poll_transfer(cx, Direction::Write, len, |mut s| {
            io::Write::write_vectored(&mut s, bufs)
        })
    }

    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_io(Direction::Read, |mut s| io::Read::read(&mut s, buf))
    }

    pub(crate) fn try_read_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        self.try_io(Direction::Read, |mut s| {
            io::Read::read_vectored(&mut s, bufs)
        })
    }

    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.try_io(Direction::Write, |mut s| io::Write::write(&mut s, buf))
    }

    pub(crate) fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.try_io(Direction::Write, |mut s| {
            io::Write::write_vectored(&mut s, bufs)
        })
    }
}

impl<T: AsFd> Evented<T> {
    /// Runs `op` once if `direction` is ready, without waiting; `WouldBlock`
    /// (and readiness cleared) otherwise.
    pub(crate) fn try_io<R>(
        &self,
        direction: Direction,
        op: impl FnOnce(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.registration.try_io(direction, || op(&self.io))
    }

    /// Waits until any direction in `interest` is ready.
    pub(crate) async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        std::future::poll_fn(|cx| self.poll_ready(cx, interest)).await
    }

    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
    ) -> Poll<io::Result<Ready>> {
        let mut found = crate::driver::io::Ready::EMPTY;
        for (wanted, direction) in [
            (interest.is_readable(), Direction::Read),
            (interest.is_writable(), Direction::Write),
        ] {
            if wanted {
                if let Poll::Ready(event) = self.registration.poll_ready(cx, direction) {
                    found = found | event?.ready;
                }
            }
        }
        if found.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(Ok(Ready(found)))
        }
    }
}

/// The bytes one `readv`/`writev` can move: the kernel takes at most IOV_MAX
/// (1024) slices per call, so a shorter transfer over more slices than that
/// says nothing about the socket buffer.
pub(crate) fn vectored_len(lens: impl Iterator<Item = usize>) -> usize {
    const IOV_MAX: usize = 1024;
    lens.take(IOV_MAX).fold(0, usize::saturating_add)
}
