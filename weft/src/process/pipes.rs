//! A child's piped stdin, stdout and stderr, as `futures-io` streams.

use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::process::Stdio;

use crate::driver::io::evented::Evented;

/// Makes a pipe end non-blocking and registers it.
pub(super) fn pipe(fd: OwnedFd) -> io::Result<Evented<File>> {
    rustix::io::ioctl_fionbio(&fd, true)?;
    crate::scheduler::context::register(File::from(fd))
}

macro_rules! child_pipe {
    ($name:ident, $std:ty, $doc:literal) => {
        #[doc = $doc]
        pub struct $name {
            pub(super) io: Evented<File>,
        }

        impl $name {
            /// Wraps `std`'s end of this pipe (of a child started with
            /// `std::process::Command`): switches it to non-blocking mode and
            /// registers it with the current runtime.
            ///
            /// # Errors
            ///
            /// Outside a weft runtime (tokio's panics there), or if the pipe
            /// cannot be made non-blocking or registered.
            pub fn from_std(inner: $std) -> io::Result<$name> {
                Ok($name {
                    io: pipe(OwnedFd::from(inner))?,
                })
            }

            /// Deregisters the pipe and returns its descriptor, switched
            /// back to blocking mode (as tokio's): the mode other programs
            /// expect of an inherited pipe, and of `std`'s blocking reads
            /// and writes.
            ///
            /// # Errors
            ///
            /// If the pipe cannot be switched back to blocking mode (the
            /// descriptor is then closed).
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                let fd: OwnedFd = self.io.into_std()?;
                rustix::io::ioctl_fionbio(&fd, false)?;
                Ok(fd)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.io.get_ref().as_fd()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.io.get_ref().as_raw_fd()
            }
        }

        /// The pipe as another child's stdio, in blocking mode (see
        /// [`into_owned_fd`](Self::into_owned_fd)), as tokio's: connects
        /// two children directly, as a shell's `|` does (see the module
        /// docs).
        impl TryInto<Stdio> for $name {
            type Error = io::Error;

            fn try_into(self) -> Result<Stdio, Self::Error> {
                self.into_owned_fd().map(Stdio::from)
            }
        }
    };
}

child_pipe!(
    ChildStdin,
    std::process::ChildStdin,
    "The write end of a child's stdin (`futures-io` `AsyncWrite`). Drop it to close the pipe: the child reads EOF."
);
child_pipe!(
    ChildStdout,
    std::process::ChildStdout,
    "The read end of a child's stdout (`futures-io` `AsyncRead`)."
);
child_pipe!(
    ChildStderr,
    std::process::ChildStderr,
    "The read end of a child's stderr (`futures-io` `AsyncRead`)."
);

crate::net::pipe_async_write!(ChildStdin);

crate::net::pipe_async_read!(ChildStdout);

crate::net::pipe_async_read!(ChildStderr);
