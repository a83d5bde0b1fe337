//! Readiness bits as the driver records them.

use std::fmt;
use std::ops::{BitAnd, BitOr};

/// A set of readiness bits. Prints by name: `Ready(READABLE | READ_CLOSED)`.
/// Ordered by their integer value, only because tokio's public `Ready`
/// (which wraps this) is `Ord`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Ready(u8);

impl Ready {
    pub(crate) const EMPTY: Ready = Ready(0);
    pub(crate) const READABLE: Ready = Ready(1);
    pub(crate) const WRITABLE: Ready = Ready(1 << 1);
    /// The peer shut down its write side (EPOLLRDHUP) or the socket hung up.
    pub(crate) const READ_CLOSED: Ready = Ready(1 << 2);
    /// Our write side can no longer send (EPOLLHUP).
    pub(crate) const WRITE_CLOSED: Ready = Ready(1 << 3);
    /// EPOLLERR: the next operation will return the pending socket error.
    pub(crate) const ERROR: Ready = Ready(1 << 4);
    pub(crate) const PRIORITY: Ready = Ready(1 << 5);
    pub(crate) const ALL: Ready = Ready(0x3f);

    /// What a reader waits for: any of these lets a read make progress.
    pub(crate) const READ_INTEREST: Ready =
        Ready(Self::READABLE.0 | Self::READ_CLOSED.0 | Self::ERROR.0);
    /// What wakes the read side's waiters: its interest, and urgent data
    /// (only `ready(Interest::PRIORITY)` waits for that one).
    pub(crate) const READ_WAKE: Ready = Ready(Self::READ_INTEREST.0 | Self::PRIORITY.0);
    /// What a writer waits for.
    pub(crate) const WRITE_INTEREST: Ready =
        Ready(Self::WRITABLE.0 | Self::WRITE_CLOSED.0 | Self::ERROR.0);
    /// Bits an operation may clear after `WouldBlock`. The closed bits are
    /// final: once seen they stay until the slot is released. ERROR is
    /// cleared too: an operation that consumed the pending error and then
    /// got `WouldBlock` must wait for a new event, not spin on the old one.
    pub(crate) const CLEARABLE: Ready =
        Ready(Self::READABLE.0 | Self::WRITABLE.0 | Self::PRIORITY.0 | Self::ERROR.0);

    /// Translates `poll(2)`/epoll event bits (the same values in both: what
    /// `epoll_wait` returns and what an io_uring poll completes with).
    /// POLLHUP means both directions are finished; POLLRDHUP only that the
    /// peer will send nothing more.
    #[inline]
    pub(crate) fn from_poll_bits(bits: u32) -> Ready {
        // An `if` per bit: a loop over a table of them cost a few
        // instructions per event more (BENCHMARKS.md, issue 16).
        let mut ready = Ready::EMPTY;
        if bits & libc::POLLIN as u32 != 0 {
            ready = ready | Ready::READABLE;
        }
        if bits & libc::POLLOUT as u32 != 0 {
            ready = ready | Ready::WRITABLE;
        }
        if bits & libc::POLLPRI as u32 != 0 {
            ready = ready | Ready::PRIORITY;
        }
        if bits & libc::POLLRDHUP as u32 != 0 {
            ready = ready | Ready::READ_CLOSED;
        }
        if bits & libc::POLLHUP as u32 != 0 {
            ready = ready | Ready::READ_CLOSED | Ready::WRITE_CLOSED;
        }
        if bits & libc::POLLERR as u32 != 0 {
            ready = ready | Ready::ERROR;
        }
        ready
    }

    pub(crate) const fn from_bits(bits: u8) -> Ready {
        Ready(bits & Self::ALL.0)
    }
    pub(crate) const fn bits(self) -> u8 {
        self.0
    }
    pub(crate) const fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub(crate) const fn intersects(self, other: Ready) -> bool {
        self.0 & other.0 != 0
    }
    #[cfg(test)]
    pub(crate) const fn is_readable(self) -> bool {
        self.intersects(Self::READABLE)
    }
    #[cfg(test)]
    pub(crate) const fn is_read_closed(self) -> bool {
        self.intersects(Self::READ_CLOSED)
    }
}

impl BitOr for Ready {
    type Output = Ready;
    fn bitor(self, rhs: Ready) -> Ready {
        Ready(self.0 | rhs.0)
    }
}

impl BitAnd for Ready {
    type Output = Ready;
    fn bitand(self, rhs: Ready) -> Ready {
        Ready(self.0 & rhs.0)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(Ready, &str); 6] = [
            (Ready::READABLE, "READABLE"),
            (Ready::WRITABLE, "WRITABLE"),
            (Ready::READ_CLOSED, "READ_CLOSED"),
            (Ready::WRITE_CLOSED, "WRITE_CLOSED"),
            (Ready::ERROR, "ERROR"),
            (Ready::PRIORITY, "PRIORITY"),
        ];
        let mut names = NAMES
            .iter()
            .filter(|(bit, _)| self.intersects(*bit))
            .map(|(_, n)| *n);
        write!(f, "Ready(")?;
        if let Some(first) = names.next() {
            write!(f, "{first}")?;
            for name in names {
                write!(f, " | {name}")?;
            }
        }
        write!(f, ")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_by_name() {
        assert_eq!(
            format!("{:?}", Ready::READABLE | Ready::ERROR),
            "Ready(READABLE | ERROR)"
        );
        assert_eq!(format!("{:?}", Ready::EMPTY), "Ready()");
    }
}
