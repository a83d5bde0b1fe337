//! Unix pipes (tokio's `net::unix::pipe`): an anonymous [`pipe`], and the
//! two ends of a FIFO (a named pipe, made with `mkfifo`) opened through
//! [`OpenOptions`]. A [`Sender`] is a write end (`AsyncWrite`), a
//! [`Receiver`] a read end (`AsyncRead`); both are non-blocking and
//! registered with the runtime's driver, as the child pipes in
//! [`process`](crate::process) are.
//!
//! ```
//! use weft::io::AsyncReadExt;
//! use weft::net::unix::pipe;
//! use weft::process::Command;
//!
//! #[weft::main(flavor = "current_thread")]
//! async fn main() -> std::io::Result<()> {
//!     let (tx, mut rx) = pipe::pipe()?;
//!     // The child writes into the pipe; its end goes back to blocking mode.
//!     let status = Command::new("echo")
//!         .arg("Hello, world!")
//!         .stdout(tx.into_blocking_fd()?)
//!         .status();
//!     let mut text = String::new();
//!     rx.read_to_string(&mut text).await?;
//!     assert!(status.await?.success());
//!     assert_eq!(text, "Hello, world!\n");
//!     Ok(())
//! }
//! ```
//!
//! Writes go through `write(2)`: a write to a pipe with no reader left is a
//! `BrokenPipe` error while SIGPIPE is ignored (Rust programs start that
//! way), and kills the process if SIGPIPE was set back to its default.

use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::task::{Context, Poll};

use rustix::fs::{FileType, OFlags};

use crate::driver::io::evented::Evented;
use crate::driver::io::Direction;
use crate::io::{Interest, Ready};

/// A new anonymous pipe: its write end and its read end, both
/// non-blocking, close-on-exec and registered with the current runtime.
///
/// For a child's stdio, [`Stdio::piped`](crate::process::Stdio::piped)
/// does this for you; this is for the other cases (handing one end to a
/// child, as in the [module](self) example, or a pipe between tasks).
///
/// # Errors
///
/// The kernel's (`EMFILE`, ...), or outside a weft runtime (tokio's panics
/// there).
pub fn pipe() -> io::Result<(Sender, Receiver)> {
    let (rx, tx) = rustix::pipe::pipe_with(
        rustix::pipe::PipeFlags::CLOEXEC | rustix::pipe::PipeFlags::NONBLOCK,
    )?;
    Ok((
        Sender::from_owned_fd_unchecked(tx)?,
        Receiver::from_owned_fd_unchecked(rx)?,
    ))
}

/// How [`OpenOptions::open_receiver`] and [`OpenOptions::open_sender`] open
/// a FIFO (tokio's): read-only or write-only unless
/// [`read_write`](Self::read_write), always non-blocking, and checked to be
/// a FIFO unless [`unchecked`](Self::unchecked).
///
/// ```
/// use weft::io::{AsyncReadExt, AsyncWriteExt};
/// use weft::net::unix::pipe;
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let path = std::env::temp_dir().join(format!("weft-doc-fifo-{}", std::process::id()));
///     rustix::fs::mkfifoat(rustix::fs::CWD, &path, rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR)?;
///     // A reader first: opening a sender with no reader fails (ENXIO).
///     let mut rx = pipe::OpenOptions::new().open_receiver(&path)?;
///     let mut tx = pipe::OpenOptions::new().open_sender(&path)?;
///     tx.write_all(b"through the fifo").await?;
///     drop(tx);
///     let mut text = String::new();
///     rx.read_to_string(&mut text).await?;
///     assert_eq!(text, "through the fifo");
///     std::fs::remove_file(&path)?;
///     Ok(())
/// }
/// ```
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    read_write: bool,
    unchecked: bool,
}

/// Which end `OpenOptions::open` opens.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum End {
    Sender,
    Receiver,
}

impl OpenOptions {
    /// Options with everything off: the FIFO is opened read-only (for a
    /// [`Receiver`]) or write-only (for a [`Sender`]) and checked to be a
    /// FIFO.
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// Opens the FIFO for reading and writing (Linux; POSIX leaves it
    /// undefined). A [`Sender`] opened so does not fail with `ENXIO` when
    /// no reader has the FIFO open (it holds a read side itself), but data
    /// it wrote is lost if it closes before a reader opens the FIFO. A
    /// [`Receiver`] opened so never reads end-of-file when the last writer
    /// closes: it waits for the next writer instead.
    pub fn read_write(&mut self, value: bool) -> &mut Self {
        self.read_write = value;
        self
    }

    /// Skips the check that the opened file is a FIFO (one `fstat`), for a
    /// path known to be one.
    pub fn unchecked(&mut self, value: bool) -> &mut Self {
        self.unchecked = value;
        self
    }

    /// Opens the FIFO at `path` as a [`Receiver`] registered with the
    /// current runtime. With no writer yet, this succeeds, and reads wait
    /// for one.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the file is not a FIFO (unless
    /// [`unchecked`](Self::unchecked): a file epoll cannot watch is then
    /// `PermissionDenied`); `NotFound`, `PermissionDenied`, ... as
    /// `open(2)` reports them; each naming the path. Outside a weft
    /// runtime, an error (tokio's panics).
    pub fn open_receiver<P: AsRef<Path>>(&self, path: P) -> io::Result<Receiver> {
        let path = path.as_ref();
        let file = self.open(path, End::Receiver)?;
        Receiver::from_file_unchecked(file).map_err(|e| registering(e, path))
    }

    /// Opens the FIFO at `path` as a [`Sender`] registered with the current
    /// runtime.
    ///
    /// # Errors
    ///
    /// `ENXIO` (`raw_os_error() == Some(libc::ENXIO)`, kept as the bare OS
    /// error so that check works as with tokio) when no process has the FIFO
    /// open for reading and [`read_write`](Self::read_write) is off: open a
    /// reader first, or retry later. `InvalidInput` if the file is not a
    /// FIFO (unless [`unchecked`](Self::unchecked)); `NotFound`,
    /// `PermissionDenied`, ... as `open(2)` reports them; those name the
    /// path. Outside a weft runtime, an error (tokio's panics).
    ///
    /// ```
    /// use weft::net::unix::pipe;
    ///
    /// #[weft::main(flavor = "current_thread")]
    /// async fn main() -> std::io::Result<()> {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-enxio-{}", std::process::id()));
    ///     rustix::fs::mkfifoat(rustix::fs::CWD, &path, rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR)?;
    ///     let err = pipe::OpenOptions::new().open_sender(&path).unwrap_err();
    ///     assert_eq!(err.raw_os_error(), Some(libc::ENXIO));
    ///     // Holding a read side itself, the sender opens at once.
    ///     let _tx = pipe::OpenOptions::new().read_write(true).open_sender(&path)?;
    ///     std::fs::remove_file(&path)?;
    ///     Ok(())
    /// }
    /// ```
    pub fn open_sender<P: AsRef<Path>>(&self, path: P) -> io::Result<Sender> {
        let path = path.as_ref();
        let file = self.open(path, End::Sender)?;
        Sender::from_file_unchecked(file).map_err(|e| registering(e, path))
    }

    fn open(&self, path: &Path, end: End) -> io::Result<File> {
        let for_what = match end {
            End::Sender => "writing",
            End::Receiver => "reading",
        };
        let mut options = std::fs::OpenOptions::new();
        options
            .read(end == End::Receiver || self.read_write)
            .write(end == End::Sender || self.read_write)
            .custom_flags(OFlags::NONBLOCK.bits() as i32);
        let file = options.open(path).map_err(|e| {
            if e.raw_os_error() == Some(rustix::io::Errno::NXIO.raw_os_error()) {
                // tokio's documented "no reader yet, try again" check
                // matches on the errno, which a message would erase.
                e
            } else {
                io::Error::new(
                    e.kind(),
                    format!("opening FIFO {} for {for_what}: {e}", path.display()),
                )
            }
        })?;
        if !self.unchecked {
            check_pipe(file.as_fd()).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("opening FIFO {} for {for_what}: {e}", path.display()),
                )
            })?;
        }
        Ok(file)
    }
}

/// An error registering the FIFO at `path` with the driver, naming it.
/// `EPERM` there means epoll cannot watch the file: a regular file or
/// directory opened with [`OpenOptions::unchecked`].
fn registering(e: io::Error, path: &Path) -> io::Error {
    let hint = if e.kind() == io::ErrorKind::PermissionDenied {
        " (epoll cannot watch this kind of file: is it a FIFO?)"
    } else {
        ""
    };
    io::Error::new(
        e.kind(),
        format!(
            "registering FIFO {} with the runtime: {e}{hint}",
            path.display()
        ),
    )
}

/// `InvalidInput` ("not a pipe", naming what it is) unless `fd` is a pipe
/// or a FIFO.
fn check_pipe(fd: BorrowedFd<'_>) -> io::Result<()> {
    let kind = FileType::from_raw_mode(rustix::fs::fstat(fd)?.st_mode);
    if kind == FileType::Fifo {
        return Ok(());
    }
    let what = match kind {
        FileType::RegularFile => "a regular file",
        FileType::Directory => "a directory",
        FileType::Symlink => "a symbolic link",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        _ => "of an unknown type",
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("not a pipe: the descriptor is {what}"),
    ))
}

/// Checks that `fd` is a pipe opened for `end`, then makes it
/// non-blocking: tokio's `from_owned_fd` checks, with its messages.
fn check_end(fd: &OwnedFd, end: End) -> io::Result<()> {
    check_pipe(fd.as_fd())?;
    let flags = rustix::fs::fcntl_getfl(fd)?;
    let mode = flags & OFlags::ACCMODE;
    let allowed = match end {
        End::Sender => mode == OFlags::WRONLY || mode == OFlags::RDWR,
        End::Receiver => mode == OFlags::RDONLY || mode == OFlags::RDWR,
    };
    if !allowed {
        let message = match end {
            End::Sender => "not in O_WRONLY or O_RDWR access mode: a Sender must be able to write",
            End::Receiver => {
                "not in O_RDONLY or O_RDWR access mode: a Receiver must be able to read"
            }
        };
        return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
    }
    if !flags.contains(OFlags::NONBLOCK) {
        rustix::fs::fcntl_setfl(fd, flags | OFlags::NONBLOCK)?;
    }
    Ok(())
}

/// Deregisters `io` and returns its descriptor in blocking mode.
fn into_blocking_fd(io: Evented<File>) -> io::Result<OwnedFd> {
    let fd: OwnedFd = io.into_std()?;
    rustix::io::ioctl_fionbio(&fd, false)?;
    Ok(fd)
}

/// The write end of a pipe or FIFO (tokio's `pipe::Sender`): a
/// `futures-io` `AsyncWrite` (tokio's too, with the `tokio-io` feature),
/// and tokio's readiness and `try_write` methods.
///
/// Made by [`pipe`], [`OpenOptions::open_sender`], or from a descriptor
/// ([`from_owned_fd`](Self::from_owned_fd), [`from_file`](Self::from_file)).
/// Dropping it closes the end: once every write end is closed, the reader
/// reads end-of-file. `close` (tokio's `shutdown`) does nothing, as in
/// tokio: drop the `Sender` to close the pipe.
pub struct Sender {
    io: Evented<File>,
}

impl Sender {
    /// A `Sender` from an open FIFO, checked as
    /// [`from_owned_fd`](Self::from_owned_fd) checks.
    ///
    /// # Errors
    ///
    /// As [`from_owned_fd`](Self::from_owned_fd).
    pub fn from_file(file: File) -> io::Result<Sender> {
        Sender::from_owned_fd(file.into())
    }

    /// A `Sender` from the descriptor of a pipe or FIFO opened for writing:
    /// checks both, makes it non-blocking and registers it with the current
    /// runtime.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `owned_fd` is not a pipe or FIFO, or cannot write
    /// (opened `O_RDONLY`); `fstat`'s and `fcntl`'s; or outside a weft
    /// runtime (tokio's panics there).
    pub fn from_owned_fd(owned_fd: OwnedFd) -> io::Result<Sender> {
        check_end(&owned_fd, End::Sender)?;
        Sender::from_owned_fd_unchecked(owned_fd)
    }

    /// A `Sender` from an open file, with no checks, as
    /// [`from_owned_fd_unchecked`](Self::from_owned_fd_unchecked).
    ///
    /// # Errors
    ///
    /// As [`from_owned_fd_unchecked`](Self::from_owned_fd_unchecked).
    pub fn from_file_unchecked(file: File) -> io::Result<Sender> {
        Sender::from_owned_fd_unchecked(file.into())
    }

    /// A `Sender` from a descriptor, registered with the current runtime
    /// with no checks and **no change of mode**, as tokio's: the caller
    /// makes sure it is the write end of a pipe and already non-blocking (a
    /// blocking one would block the runtime's thread in every write).
    ///
    /// # Errors
    ///
    /// Outside a weft runtime (tokio's panics there), or if registration
    /// fails.
    pub fn from_owned_fd_unchecked(owned_fd: OwnedFd) -> io::Result<Sender> {
        Ok(Sender {
            io: crate::scheduler::context::register(File::from(owned_fd))?,
        })
    }

    /// Waits until the pipe is ready in a direction of `interest` and says
    /// which (a `Sender` cares for [`Ready::is_writable`] and
    /// [`Ready::is_write_closed`]). Readiness is a hint: a `try_write`
    /// can still return `WouldBlock`, after which the next wait waits for
    /// a new event.
    ///
    /// # Errors
    ///
    /// The driver's, once its runtime has shut down.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.io.ready(interest).await
    }

    /// Waits until the pipe may be writable: room in its buffer, or no
    /// reader left (the next write then reports `BrokenPipe`).
    ///
    /// # Errors
    ///
    /// As [`ready`](Self::ready).
    pub async fn writable(&self) -> io::Result<()> {
        self.io.ready(Interest::WRITABLE).await.map(drop)
    }

    /// Ready when the pipe may be writable, registering the task's waker
    /// otherwise (for hand-written futures that then call
    /// [`try_write`](Self::try_write)).
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io
            .registration()
            .poll_ready(cx, Direction::Write)
            .map_ok(drop)
    }

    /// Writes without waiting: `WouldBlock` if the pipe's buffer is full
    /// (and the next [`writable`](Self::writable) then waits for room).
    ///
    /// # Errors
    ///
    /// `WouldBlock`; `BrokenPipe` once no reader is left.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write(buf)
    }

    /// [`try_write`](Self::try_write) from several buffers.
    ///
    /// # Errors
    ///
    /// As [`try_write`](Self::try_write).
    pub fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.io.try_write_vectored(bufs)
    }

    /// Runs `f`, a non-blocking write of your own on the pipe (through
    /// [`AsFd`]), if it is recorded writable; otherwise `WouldBlock`
    /// without calling it. If `f` returns `WouldBlock`, writability is
    /// cleared, so the next [`writable`](Self::writable) waits for a new
    /// event. `f` must return `WouldBlock` only when the kernel did.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or `f`'s.
    pub fn try_io<R>(&self, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        self.io.try_io(Direction::Write, |_| f())
    }

    /// Deregisters the pipe and returns its descriptor in blocking mode
    /// (for a child's stdio, or `std`'s blocking I/O).
    ///
    /// # Errors
    ///
    /// If the mode cannot be changed (the descriptor is then closed).
    pub fn into_blocking_fd(self) -> io::Result<OwnedFd> {
        into_blocking_fd(self.io)
    }

    /// Deregisters the pipe and returns its descriptor, still
    /// non-blocking.
    ///
    /// # Errors
    ///
    /// None today; the `Result` is tokio's signature.
    pub fn into_nonblocking_fd(self) -> io::Result<OwnedFd> {
        self.io.into_std()
    }
}

crate::net::pipe_async_write!(Sender);

/// The read end of a pipe or FIFO (tokio's `pipe::Receiver`): a
/// `futures-io` `AsyncRead` (tokio's too, with the `tokio-io` feature),
/// and tokio's readiness and `try_read` methods.
///
/// Made by [`pipe`], [`OpenOptions::open_receiver`], or from a descriptor
/// ([`from_owned_fd`](Self::from_owned_fd), [`from_file`](Self::from_file)).
/// A read returns 0 (end-of-file) once every write end is closed; a FIFO
/// opened with [`OpenOptions::read_write`] never does.
///
/// Once a `Receiver` has seen its writers gone, it stays readable for good
/// (closed states are final, as in tokio): a later writer's data is read,
/// but waiting for that writer while the FIFO is empty does not sleep, it
/// polls again and again. A reader that outlives its writers should open
/// the FIFO with [`OpenOptions::read_write`].
pub struct Receiver {
    io: Evented<File>,
}

impl Receiver {
    /// A `Receiver` from an open FIFO, checked as
    /// [`from_owned_fd`](Self::from_owned_fd) checks.
    ///
    /// # Errors
    ///
    /// As [`from_owned_fd`](Self::from_owned_fd).
    pub fn from_file(file: File) -> io::Result<Receiver> {
        Receiver::from_owned_fd(file.into())
    }

    /// A `Receiver` from the descriptor of a pipe or FIFO opened for
    /// reading: checks both, makes it non-blocking and registers it with
    /// the current runtime.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `owned_fd` is not a pipe or FIFO, or cannot read
    /// (opened `O_WRONLY`); `fstat`'s and `fcntl`'s; or outside a weft
    /// runtime (tokio's panics there).
    pub fn from_owned_fd(owned_fd: OwnedFd) -> io::Result<Receiver> {
        check_end(&owned_fd, End::Receiver)?;
        Receiver::from_owned_fd_unchecked(owned_fd)
    }

    /// A `Receiver` from an open file, with no checks, as
    /// [`from_owned_fd_unchecked`](Self::from_owned_fd_unchecked).
    ///
    /// # Errors
    ///
    /// As [`from_owned_fd_unchecked`](Self::from_owned_fd_unchecked).
    pub fn from_file_unchecked(file: File) -> io::Result<Receiver> {
        Receiver::from_owned_fd_unchecked(file.into())
    }

    /// A `Receiver` from a descriptor, registered with the current runtime
    /// with no checks and **no change of mode**, as tokio's: the caller
    /// makes sure it is the read end of a pipe and already non-blocking (a
    /// blocking one would block the runtime's thread in every read).
    ///
    /// # Errors
    ///
    /// Outside a weft runtime (tokio's panics there), or if registration
    /// fails.
    pub fn from_owned_fd_unchecked(owned_fd: OwnedFd) -> io::Result<Receiver> {
        Ok(Receiver {
            io: crate::scheduler::context::register(File::from(owned_fd))?,
        })
    }

    /// Waits until the pipe is ready in a direction of `interest` and says
    /// which (a `Receiver` cares for [`Ready::is_readable`] and
    /// [`Ready::is_read_closed`]: no writer left). Readiness is a hint: a
    /// `try_read` can still return `WouldBlock`, after which the next wait
    /// waits for a new event.
    ///
    /// # Errors
    ///
    /// The driver's, once its runtime has shut down.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.io.ready(interest).await
    }

    /// Waits until the pipe may be readable: data, or no writer left (a
    /// read then returns 0).
    ///
    /// # Errors
    ///
    /// As [`ready`](Self::ready).
    pub async fn readable(&self) -> io::Result<()> {
        self.io.ready(Interest::READABLE).await.map(drop)
    }

    /// Ready when the pipe may be readable, registering the task's waker
    /// otherwise (for hand-written futures that then call
    /// [`try_read`](Self::try_read)).
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io
            .registration()
            .poll_ready(cx, Direction::Read)
            .map_ok(drop)
    }

    /// Reads without waiting: `WouldBlock` if nothing is buffered (and the
    /// next [`readable`](Self::readable) then waits for data). `Ok(0)` is
    /// end-of-file (or an empty `buf`).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or `read(2)`'s.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read(buf)
    }

    /// [`try_read`](Self::try_read) into several buffers.
    ///
    /// # Errors
    ///
    /// As [`try_read`](Self::try_read).
    pub fn try_read_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        self.io.try_read_vectored(bufs)
    }

    /// [`try_read`](Self::try_read) into the spare capacity of a
    /// [`bytes::BufMut`] (a `Vec<u8>`, a `BytesMut`, ...), which advances
    /// by the bytes read; nothing is zeroed first. A `Vec` with no spare
    /// capacity grows; a full buffer that cannot grow reads 0 bytes, which
    /// looks like end-of-file (as in tokio).
    ///
    /// # Errors
    ///
    /// As [`try_read`](Self::try_read); `buf` is left as it was.
    pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        crate::net::buf::try_read_buf(&self.io, buf)
    }

    /// Runs `f`, a non-blocking read of your own on the pipe (through
    /// [`AsFd`]), if it is recorded readable; otherwise `WouldBlock`
    /// without calling it. If `f` returns `WouldBlock`, readability is
    /// cleared, so the next [`readable`](Self::readable) waits for a new
    /// event. `f` must return `WouldBlock` only when the kernel did.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or `f`'s.
    pub fn try_io<R>(&self, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        self.io.try_io(Direction::Read, |_| f())
    }

    /// Deregisters the pipe and returns its descriptor in blocking mode
    /// (for a child's stdio, or `std`'s blocking I/O).
    ///
    /// # Errors
    ///
    /// If the mode cannot be changed (the descriptor is then closed).
    pub fn into_blocking_fd(self) -> io::Result<OwnedFd> {
        into_blocking_fd(self.io)
    }

    /// Deregisters the pipe and returns its descriptor, still
    /// non-blocking.
    ///
    /// # Errors
    ///
    /// None today; the `Result` is tokio's signature.
    pub fn into_nonblocking_fd(self) -> io::Result<OwnedFd> {
        self.io.into_std()
    }
}

crate::net::pipe_async_read!(Receiver);

/// `AsFd`, `AsRawFd` and `Debug` (the descriptor) for a pipe end.
macro_rules! pipe_end_impls {
    ($t:ident) => {
        impl AsFd for $t {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.io.get_ref().as_fd()
            }
        }

        impl AsRawFd for $t {
            fn as_raw_fd(&self) -> RawFd {
                self.io.get_ref().as_raw_fd()
            }
        }

        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("fd", &self.as_raw_fd())
                    .finish()
            }
        }
    };
}

pipe_end_impls!(Sender);
pipe_end_impls!(Receiver);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checks_name_what_is_wrong() {
        // No runtime needed: only the checks run.
        let (rx, tx) = rustix::pipe::pipe().unwrap();
        check_end(&rx, End::Receiver).unwrap();
        check_end(&tx, End::Sender).unwrap();
        assert!(rustix::fs::fcntl_getfl(&rx)
            .unwrap()
            .contains(OFlags::NONBLOCK));
        let err = check_end(&rx, End::Sender).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("O_WRONLY or O_RDWR"), "{err}");
        let err = check_end(&tx, End::Receiver).unwrap_err();
        assert!(err.to_string().contains("O_RDONLY or O_RDWR"), "{err}");

        let (socket, _) = std::os::unix::net::UnixStream::pair().unwrap();
        let err = check_end(&OwnedFd::from(socket), End::Receiver).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(err.to_string(), "not a pipe: the descriptor is a socket");
        let dir = File::open(std::env::temp_dir()).unwrap();
        let err = check_pipe(dir.as_fd()).unwrap_err();
        assert!(err.to_string().ends_with("a directory"), "{err}");
    }
}
