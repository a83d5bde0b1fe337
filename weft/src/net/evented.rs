//! `Evented<T>`: a non-blocking fd registered with the current runtime.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::task::{Context, Poll};

use crate::driver::io::{Direction, Registration};
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
