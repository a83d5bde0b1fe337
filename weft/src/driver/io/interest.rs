//! `Interest` and `Ready`: what a task waits for on a socket, and what it
//! found.

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign, Sub};

use super::ready::Ready as Bits;

/// Directions to wait on, for `ready()` on sockets.
///
/// ```
/// use weft::io::Interest;
///
/// let mut both = Interest::READABLE;
/// both |= Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// assert_eq!(both.remove(Interest::WRITABLE), Some(Interest::READABLE));
/// assert_eq!(Interest::READABLE.remove(Interest::READABLE), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Interest(u8);

impl Interest {
    /// Wait until the socket may be read (or has hung up, or has an error).
    pub const READABLE: Interest = Interest(1);
    /// Wait until the socket may be written (or has an error).
    pub const WRITABLE: Interest = Interest(2);
    /// Wait until urgent (out-of-band) data is waiting (EPOLLPRI), or the
    /// peer hung up.
    pub const PRIORITY: Interest = Interest(4);
    /// Wait until an error is pending on the socket (EPOLLERR).
    pub const ERROR: Interest = Interest(8);

    /// Includes urgent data.
    pub const fn is_priority(self) -> bool {
        self.0 & 4 != 0
    }

    /// Includes errors.
    pub const fn is_error(self) -> bool {
        self.0 & 8 != 0
    }

    /// The readiness a wait on `self` reports (tokio's masks; weft's
    /// READABLE and WRITABLE waits also report a pending error).
    pub(crate) fn mask(self) -> Bits {
        let mut mask = Bits::EMPTY;
        if self.is_readable() {
            mask = mask | Bits::READ_INTEREST;
        }
        if self.is_writable() {
            mask = mask | Bits::WRITE_INTEREST;
        }
        if self.is_priority() {
            mask = mask | Bits::PRIORITY | Bits::READ_CLOSED;
        }
        if self.is_error() {
            mask = mask | Bits::ERROR;
        }
        mask
    }

    /// The bits a wait on `self` looks for through the read side's waiter
    /// and through the write side's (empty: that side is not waited on).
    /// An error wakes both sides, so an error-only wait uses the reader.
    pub(crate) fn waits(self) -> (Bits, Bits) {
        let mask = self.mask();
        let write = if self.is_writable() {
            mask & Bits::WRITE_INTEREST
        } else {
            Bits::EMPTY
        };
        (mask & Bits::READ_WAKE, write)
    }

    /// Both sets.
    #[must_use = "this returns the result of the operation, without modifying the original"]
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }

    /// `self` without `other`'s directions, or `None` if nothing is left
    /// (an interest is never empty).
    #[must_use = "this returns the result of the operation, without modifying the original"]
    pub fn remove(self, other: Interest) -> Option<Interest> {
        match self.0 & !other.0 {
            0 => None,
            left => Some(Interest(left)),
        }
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

impl BitOrAssign for Interest {
    fn bitor_assign(&mut self, other: Interest) {
        *self = self.add(other);
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (self.is_readable(), "READABLE"),
            (self.is_writable(), "WRITABLE"),
            (self.is_priority(), "PRIORITY"),
            (self.is_error(), "ERROR"),
        ];
        let mut first = true;
        for (_, name) in names.iter().filter(|(set, _)| *set) {
            if !first {
                f.write_str(" | ")?;
            }
            f.write_str(name)?;
            first = false;
        }
        if first {
            f.write_str("(none)")?;
        }
        Ok(())
    }
}

/// Readiness found by `ready()`: a hint — an operation may still return
/// `WouldBlock`, and then the next `ready()` waits for new readiness.
///
/// A set of flags with tokio's constants, combined with `|`, `&` and `-`:
///
/// ```
/// use weft::io::Ready;
///
/// let ready = Ready::READABLE | Ready::READ_CLOSED;
/// assert!(ready.is_readable() && ready.is_read_closed() && !ready.is_writable());
/// assert_eq!(ready - Ready::READ_CLOSED, Ready::READABLE);
/// assert_eq!(ready & Ready::WRITABLE, Ready::EMPTY);
/// assert!(Ready::EMPTY.is_empty() && Ready::ALL.is_priority());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ready(pub(crate) Bits);

impl Ready {
    /// No readiness.
    pub const EMPTY: Ready = Ready(Bits::EMPTY);
    /// Readable: data (or a connection) may be waiting.
    pub const READABLE: Ready = Ready(Bits::READABLE);
    /// Writable: there may be room to write.
    pub const WRITABLE: Ready = Ready(Bits::WRITABLE);
    /// The peer will send nothing more (EPOLLRDHUP, or a hang-up).
    pub const READ_CLOSED: Ready = Ready(Bits::READ_CLOSED);
    /// Writes can no longer succeed (EPOLLHUP).
    pub const WRITE_CLOSED: Ready = Ready(Bits::WRITE_CLOSED);
    /// Urgent (out-of-band) data is waiting (EPOLLPRI); reported by
    /// `ready()` when the interest includes [`Interest::PRIORITY`].
    pub const PRIORITY: Ready = Ready(Bits::PRIORITY);
    /// An error is pending on the socket (EPOLLERR); the next operation
    /// returns it.
    pub const ERROR: Ready = Ready(Bits::ERROR);
    /// Every flag above.
    pub const ALL: Ready = Ready(Bits::ALL);

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

    /// Urgent data is waiting ([`PRIORITY`](Self::PRIORITY)).
    pub fn is_priority(self) -> bool {
        self.0.intersects(Bits::PRIORITY)
    }

    /// Nothing at all.
    pub fn is_empty(self) -> bool {
        self.0.is_empty()
    }
}

impl BitOr for Ready {
    type Output = Ready;
    fn bitor(self, other: Ready) -> Ready {
        Ready(self.0 | other.0)
    }
}

impl BitOrAssign for Ready {
    fn bitor_assign(&mut self, other: Ready) {
        *self = *self | other;
    }
}

impl BitAnd for Ready {
    type Output = Ready;
    fn bitand(self, other: Ready) -> Ready {
        Ready(self.0 & other.0)
    }
}

/// The flags of `self` that are not in `other`.
impl Sub for Ready {
    type Output = Ready;
    fn sub(self, other: Ready) -> Ready {
        Ready(Bits::from_bits(self.0.bits() & !other.0.bits()))
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
