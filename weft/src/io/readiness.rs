//! `Interest` and `Ready`: what a task waits for on a socket, and what it
//! found.

use std::fmt;
use std::ops::BitOr;

use crate::driver::io::Ready as Bits;

/// Directions to wait on, for `ready()` on sockets.
///
/// ```
/// use weft::io::Interest;
///
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Interest(u8);

impl Interest {
    /// Wait until the socket may be read (or has hung up, or has an error).
    pub const READABLE: Interest = Interest(1);
    /// Wait until the socket may be written (or has an error).
    pub const WRITABLE: Interest = Interest(2);

    /// Both sets.
    #[must_use]
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }

    /// Includes reading.
    pub const fn is_readable(self) -> bool {
        self.0 & 1 != 0
    }

    /// Includes writing.
    pub const fn is_writable(self) -> bool {
        self.0 & 2 != 0
    }
}

impl BitOr for Interest {
    type Output = Interest;
    fn bitor(self, other: Interest) -> Interest {
        self.add(other)
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_readable(), self.is_writable()) {
            (true, true) => f.write_str("READABLE | WRITABLE"),
            (true, false) => f.write_str("READABLE"),
            (false, true) => f.write_str("WRITABLE"),
            (false, false) => f.write_str("(none)"),
        }
    }
}

/// Readiness found by `ready()`: a hint — an operation may still return
/// `WouldBlock`, and then the next `ready()` waits for new readiness.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ready(pub(crate) Bits);

impl Ready {
    /// A read may make progress: data (or a connection, for a listener) may
    /// be waiting, or the peer has finished sending (a read then returns 0).
    /// As tokio's, this includes [`is_read_closed`](Self::is_read_closed),
    /// so a `ready` loop that reads when readable always sees the EOF.
    pub fn is_readable(self) -> bool {
        self.0.intersects(Bits::READABLE | Bits::READ_CLOSED)
    }

    /// A write may make progress: there may be room, or writing is over (a
    /// write then fails). Includes [`is_write_closed`](Self::is_write_closed).
    pub fn is_writable(self) -> bool {
        self.0.intersects(Bits::WRITABLE | Bits::WRITE_CLOSED)
    }

    /// The peer will send nothing more (reads return what is left, then 0).
    pub fn is_read_closed(self) -> bool {
        self.0.intersects(Bits::READ_CLOSED)
    }

    /// Writes can no longer succeed.
    pub fn is_write_closed(self) -> bool {
        self.0.intersects(Bits::WRITE_CLOSED)
    }

    /// An error is pending (the next operation returns it).
    pub fn is_error(self) -> bool {
        self.0.intersects(Bits::ERROR)
    }

    /// Nothing at all.
    pub fn is_empty(self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
