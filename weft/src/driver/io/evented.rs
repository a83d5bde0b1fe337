//! `Evented<T>`: a non-blocking fd registered with a runtime's I/O driver,
//! the I/O object every socket, pipe, signal and child handle is built on.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::task::{Context, Poll};

use super::interest::{Interest, Ready};
use super::uring::recv::{Init, Sink, Slices, Uninit};
use super::{Armed, Direction, IoShared, RecvState, Registration};

/// An I/O object plus its readiness registration. Deregisters from epoll
/// before the object (and so its fd) is closed.
pub(crate) struct Evented<T: AsFd> {
    /// `None` only after `into_std` took it (the `Evented` is then gone).
    io: Option<T>,
    registration: Registration,
    /// For an object read through an owned io_uring ring (`new_stream`,
    /// `new_listener`): how its drop hands it to the driver, which closes it
    /// after the ring's owner next enters the ring (see [`Drop`]).
    park: Option<fn(T) -> Box<dyn Send>>,
}

/// [`Evented::park`] for a `T` that may move to the driver's thread.
fn boxed<T: Send + 'static>(io: T) -> Box<dyn Send> {
    Box::new(io)
}

impl<T: AsFd> Evented<T> {
    /// Registers `io` (already non-blocking) with the I/O driver `driver`
    /// (the current runtime's: `scheduler::context::current_io`).
    pub(crate) fn new(io: T, driver: &Arc<IoShared>) -> io::Result<Evented<T>> {
        let registration = driver.register(io.as_fd())?;
        Ok(Evented {
            io: Some(io),
            registration,
            park: None,
        })
    }

    #[inline]
    pub(crate) fn get_ref(&self) -> &T {
        match &self.io {
            Some(io) => io,
            None => unreachable!("weft: an I/O object used after into_std"),
        }
    }

    pub(crate) fn registration(&self) -> &Registration {
        &self.registration
    }

    /// True if `io` is registered with `driver`, and that driver still
    /// runs.
    pub(crate) fn is_live_on(&self, driver: &Arc<IoShared>) -> bool {
        self.registration.is_live_on(driver)
    }

    /// Leaves the runtime: deregisters and returns the I/O object (still
    /// non-blocking) as a `std` type. Fails only for a stream read through
    /// an io_uring ring whose bytes (or a receive in flight) wait in it, or
    /// a listener accepting through one whose accepted connection (or an
    /// accept in flight) waits in it: they would be lost.
    pub(crate) fn into_std<S: From<OwnedFd>>(mut self) -> io::Result<S>
    where
        T: Into<OwnedFd>,
    {
        self.refuse_if_bytes_held()?;
        let io = self.io.take().unwrap_or_else(|| unreachable!("taken once"));
        // (A receive or accept written to an owned ring's submission queue
        // and not yet submitted is in flight for its state, which
        // `refuse_if_bytes_held` refused: nothing names the descriptor
        // when it goes back to the caller.)
        self.registration.deregister(io.as_fd());
        Ok(S::from(io.into()))
    }

    /// An error where a stream received through the ring holds bytes (or
    /// has a receive in flight, left by a read dropped before it returned)
    /// that a read of the socket itself (`into_std`, or a `try_io` of the
    /// caller's own) would skip: they are only reachable through weft's
    /// read methods.
    fn refuse_if_bytes_held(&self) -> io::Result<()> {
        match self.registration.recv() {
            Some(recv) if recv.holds_bytes() => Err(io::Error::other(
                "bytes received (or being received) through the io_uring driver wait in this \
                 stream, left by a read dropped before it returned; read them with its read \
                 methods before reading the socket itself",
            )),
            _ => match self.registration.accept() {
                Some(state) if state.holds_connection() => Err(io::Error::other(
                    "a connection accepted (or being accepted) through the io_uring driver waits \
                     in this listener, left by an accept dropped before it returned; accept it \
                     with its accept method first",
                )),
                _ => Ok(()),
            },
        }
    }

    /// After a `try_` read of a ring-read stream found nothing: arms a
    /// readiness poll, so new data sets `READABLE` again as an epoll edge
    /// would (without one, nothing would look at the socket).
    fn after_try_read<R>(&self, recv: &RecvState, result: io::Result<R>) -> io::Result<R> {
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.registration.arm(recv, Armed::Poll)?;
        }
        result
    }

    /// A read of a stream received through the ring (`recv`): `op` takes
    /// what is there; on `WouldBlock` a receive of up to `len` bytes is
    /// armed and the reader waits for it (readiness `READABLE`, which its
    /// completion sets), as a read on epoll waits for an edge.
    fn poll_ring(
        &self,
        cx: &mut Context<'_>,
        recv: &RecvState,
        want: Armed,
        mut op: impl FnMut(&RecvState) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.registration.poll_armed(
            cx,
            super::Ready::READABLE,
            || op(recv),
            || self.registration.arm(recv, want),
        )
    }

    /// A waiting read of a ring-read stream into `to` (a receive of up to
    /// its length is armed while nothing is there).
    fn poll_ring_read(
        &self,
        cx: &mut Context<'_>,
        recv: &RecvState,
        to: &mut impl Sink,
    ) -> Poll<io::Result<usize>> {
        let len = to.len();
        if len == 0 {
            return Poll::Ready(Ok(0));
        }
        let fd = self.get_ref().as_fd();
        let want = Armed::Recv(u32::try_from(len).unwrap_or(u32::MAX));
        self.poll_ring(cx, recv, want, |recv| recv.read(fd, to, self.read_closed()))
    }

    /// A `try_` read of a ring-read stream into `to`: the socket is read
    /// whenever the slot is readable (as on epoll), and a `WouldBlock` arms
    /// a readiness poll.
    fn try_ring_read(&self, recv: &RecvState, to: &mut impl Sink) -> io::Result<usize> {
        let fd = self.get_ref().as_fd();
        let result = self
            .registration
            .try_io(Direction::Read, || recv.read(fd, to, true));
        self.after_try_read(recv, result)
    }

    /// True if the slot says the peer closed or the socket failed: a read
    /// of a stream received through the ring then looks at the socket.
    fn read_closed(&self) -> bool {
        !self
            .registration
            .readiness_masked(super::Ready::READ_CLOSED | super::Ready::ERROR)
            .is_empty()
    }

    /// Reads into memory that need not be initialised, without waiting
    /// (`try_read_buf`): `WouldBlock`, and readiness cleared, if nothing is
    /// there.
    pub(crate) fn try_read_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        match self.registration.recv() {
            Some(recv) => self.try_ring_read(recv, &mut Uninit(buf)),
            None => self.try_io(Direction::Read, |s| read_uninit(s, buf)),
        }
    }

    /// Peeks (`peek(buf)`, a `MSG_PEEK` receive) once readable; on a
    /// stream received through the ring, bytes it holds come first.
    pub(crate) fn poll_peek(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        mut peek: impl FnMut(&T, &mut [u8]) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let io = self.get_ref();
        match self.registration.recv() {
            Some(recv) => self.poll_ring(cx, recv, Armed::Poll, |recv| recv.peek(io.as_fd(), buf)),
            None => self.poll_io(cx, Direction::Read, |s| peek(s, buf)),
        }
    }

    /// [`Registration::poll_recv`] on this object.
    pub(crate) fn poll_recv<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.get_ref();
        self.registration.poll_recv(cx, || op(io))
    }

    /// Runs `op` on `io` until it does not return `WouldBlock`.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.get_ref();
        self.registration.poll_io(cx, direction, || op(io))
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
        let io = self.get_ref();
        self.registration
            .poll_transfer(cx, direction, len, || op(io))
    }
}

impl<T: AsFd + Send + 'static> Evented<T> {
    /// [`new`](Self::new) for a TCP stream, whose reads an io_uring driver
    /// may take through receives on its ring (`uring/recv.rs`).
    pub(crate) fn new_stream(io: T, driver: &Arc<IoShared>) -> io::Result<Evented<T>> {
        let registration = driver.register_stream(io.as_fd())?;
        Ok(Evented {
            io: Some(io),
            registration,
            park: Some(boxed::<T>),
        })
    }

    /// [`new`](Self::new) for a TCP listener, which an io_uring driver may
    /// have accept through accept requests on its ring (`uring/accept.rs`).
    pub(crate) fn new_listener(io: T, driver: &Arc<IoShared>) -> io::Result<Evented<T>> {
        let registration = driver.register_listener(io.as_fd())?;
        Ok(Evented {
            io: Some(io),
            registration,
            park: Some(boxed::<T>),
        })
    }
}

/// Deregisters, then closes. One exception: an object read through an
/// owned io_uring ring, dropped on a thread other than the ring's owner,
/// may have a receive or accept the owner wrote to the ring's submission
/// queue and has not submitted yet; that request names the descriptor's
/// number, so the driver keeps the object open until the owner's next
/// entry into the ring has submitted it (then the request holds the file,
/// and its cancel follows), instead of letting the number go to a new
/// descriptor the request would act on.
impl<T: AsFd> Drop for Evented<T> {
    fn drop(&mut self) {
        let Some(io) = self.io.take() else { return };
        let later = self.registration.deregister(io.as_fd());
        if let (true, Some(park)) = (later, self.park) {
            self.registration.close_later(park(io));
        }
    }
}

/// The byte-stream operations shared by TCP and Unix streams (std
/// implements `Read`/`Write` on `&TcpStream` and `&UnixStream`).
impl<T: AsFd + StreamWrite> Evented<T>
where
    for<'a> &'a T: io::Read + io::Write,
{
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(recv) = self.registration.recv() {
            return self.poll_ring_read(cx, recv, &mut Init(buf));
        }
        self.poll_transfer(cx, Direction::Read, buf.len(), |mut s| {
            io::Read::read(&mut s, buf)
        })
    }

    /// Reads into memory that need not be initialised (hyper's and tokio's
    /// read buffers): the kernel writes the bytes, nothing is zeroed or
    /// copied first. Returns how many bytes at the front of `buf` are now
    /// initialised.
    pub(crate) fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        if let Some(recv) = self.registration.recv() {
            return self.poll_ring_read(cx, recv, &mut Uninit(buf));
        }
        self.poll_transfer(cx, Direction::Read, buf.len(), |s| {
            read_uninit(s, &mut *buf)
        })
    }

    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(recv) = self.registration.recv() {
            return self.poll_ring_read(cx, recv, &mut Slices(bufs));
        }
        let len = vectored_len(bufs.iter().map(|b| b.len()));
        self.poll_transfer(cx, Direction::Read, len, |mut s| {
            io::Read::read_vectored(&mut s, bufs)
        })
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_transfer(cx, Direction::Write, buf.len(), |s| s.write_stream(buf))
    }

    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = vectored_len(bufs.iter().map(|b| b.len()));
        self.poll_transfer(cx, Direction::Write, len, |s| s.write_stream_vectored(bufs))
    }

    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(recv) = self.registration.recv() {
            return self.try_ring_read(recv, &mut Init(buf));
        }
        self.try_io(Direction::Read, |mut s| io::Read::read(&mut s, buf))
    }

    pub(crate) fn try_read_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        if let Some(recv) = self.registration.recv() {
            return self.try_ring_read(recv, &mut Slices(bufs));
        }
        self.try_io(Direction::Read, |mut s| {
            io::Read::read_vectored(&mut s, bufs)
        })
    }

    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.try_io(Direction::Write, |s| s.write_stream(buf))
    }

    pub(crate) fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.try_io(Direction::Write, |s| s.write_stream_vectored(bufs))
    }
}

/// How a byte stream writes. Sockets use `send`/`sendmsg` with
/// `MSG_NOSIGNAL`: a write to a peer that is gone is an `EPIPE` error, never
/// a SIGPIPE that kills the process — also where a program has set SIGPIPE
/// back to its default action, and also for Unix sockets and vectored
/// writes (std uses `write(2)`/`writev(2)` there, which raise it). Pipes
/// (child stdio) cannot take `send` and write through std.
pub(crate) trait StreamWrite {
    fn write_stream(&self, buf: &[u8]) -> io::Result<usize>;
    fn write_stream_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize>;
}

/// Linux's limit on the slices of one `sendmsg` or `readv`.
pub(crate) const IOV_MAX: usize = 1024;

macro_rules! socket_stream_write {
    ($($t:ty),*) => {$(
        impl StreamWrite for $t {
            fn write_stream(&self, buf: &[u8]) -> io::Result<usize> {
                rustix::net::send(self, buf, rustix::net::SendFlags::NOSIGNAL)
                    .map_err(io::Error::from)
            }

            fn write_stream_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
                // More than IOV_MAX slices is EMSGSIZE: send the first
                // IOV_MAX (a short write, as std's writev does).
                let bufs = &bufs[..bufs.len().min(IOV_MAX)];
                let mut control = rustix::net::SendAncillaryBuffer::default();
                rustix::net::sendmsg(self, bufs, &mut control, rustix::net::SendFlags::NOSIGNAL)
                    .map_err(io::Error::from)
            }
        }
    )*};
}

socket_stream_write!(std::net::TcpStream, std::os::unix::net::UnixStream);

impl StreamWrite for std::fs::File {
    fn write_stream(&self, buf: &[u8]) -> io::Result<usize> {
        io::Write::write(&mut &*self, buf)
    }

    fn write_stream_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        io::Write::write_vectored(&mut &*self, bufs)
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
        let io = self.get_ref();
        self.registration.try_io(direction, || op(io))
    }

    /// tokio's `try_io(interest, f)`: `f` runs if any readiness of
    /// `interest` is set (`WouldBlock` otherwise), and every bit of it that
    /// was set is cleared if `f` returns `WouldBlock`, as tokio does.
    pub(crate) fn try_io_interest<R>(
        &self,
        interest: Interest,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        if interest.is_readable() {
            self.refuse_if_bytes_held()?;
            if let Some(recv) = self.registration.recv() {
                let result = self.registration.try_io_masked(interest.mask(), f);
                return self.after_try_read(recv, result);
            }
        }
        self.registration.try_io_masked(interest.mask(), f)
    }

    /// tokio's `async_io`: waits for `interest`, runs `f` through
    /// [`try_io_interest`](Self::try_io_interest), and waits again after
    /// each `WouldBlock` (whose readiness that cleared, so this never
    /// spins).
    pub(crate) async fn async_io<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            self.ready(interest).await?;
            match self.try_io_interest(interest, &mut f) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => return other,
            }
        }
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
        let (read, write) = interest.waits();
        let directions = [(read, Direction::Read), (write, Direction::Write)];
        let wanted = || directions.into_iter().filter(|(mask, _)| !mask.is_empty());
        // Look first without registering: a direction that is not waited on
        // must not take another task's place in its waker slot.
        let found = wanted().fold(crate::driver::io::Ready::EMPTY, |found, (mask, _)| {
            found | self.registration.readiness_masked(mask)
        });
        if !found.is_empty() {
            let (mask, direction) = wanted().next().expect("an interest is never empty");
            return match self.registration.poll_ready_masked(cx, direction, mask) {
                // Spends the budget (and reports shutdown) as one poll does.
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                _ => Poll::Ready(Ok(Ready(found))),
            };
        }
        let mut found = crate::driver::io::Ready::EMPTY;
        for (mask, direction) in wanted() {
            if let Poll::Ready(event) = self.registration.poll_ready_masked(cx, direction, mask) {
                found = found | event?.ready;
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
    lens.take(IOV_MAX).fold(0, usize::saturating_add)
}

/// `read(2)` into memory that need not be initialised; returns how many
/// bytes at the front of `buf` the kernel wrote.
pub(crate) fn read_uninit(fd: impl AsFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
    rustix::io::read(fd, buf)
        .map(|(filled, _)| filled.len())
        .map_err(io::Error::from)
}
