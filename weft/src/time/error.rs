//! Time errors.

use std::error;
use std::fmt;
use std::io;

/// An error from the timer, as tokio's `time::error::Error` spells it.
///
/// **weft never returns this type**: its timers cannot fail. A timer whose
/// runtime has shut down completes at once (see [`Sleep`](super::Sleep)),
/// the wheel grows instead of running out of room, and a deadline too far
/// away for the clock is clamped to about 30 years. It exists so that code
/// written against tokio's API — matching on these errors, or building them
/// in tests — compiles unchanged.
///
/// ```
/// use weft::time::error::Error;
///
/// let err = Error::shutdown();
/// assert!(err.is_shutdown() && !err.is_at_capacity() && !err.is_invalid());
/// assert!(Error::at_capacity().is_at_capacity());
/// assert!(Error::invalid().is_invalid());
/// println!("{err}");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Error(Kind);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Shutdown,
    AtCapacity,
    Invalid,
}

impl Error {
    /// An error saying the timer has shut down.
    pub fn shutdown() -> Error {
        Error(Kind::Shutdown)
    }

    /// True if the timer had shut down.
    pub fn is_shutdown(&self) -> bool {
        self.0 == Kind::Shutdown
    }

    /// An error saying the timer is at capacity.
    pub fn at_capacity() -> Error {
        Error(Kind::AtCapacity)
    }

    /// True if the timer was at capacity.
    pub fn is_at_capacity(&self) -> bool {
        self.0 == Kind::AtCapacity
    }

    /// An error saying the timer was misconfigured (a duration too long).
    pub fn invalid() -> Error {
        Error(Kind::Invalid)
    }

    /// True if the timer was misconfigured.
    pub fn is_invalid(&self) -> bool {
        self.0 == Kind::Invalid
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Kind::Shutdown => "the timer is shut down: it must be used inside a weft runtime",
            Kind::AtCapacity => "the timer is at capacity and cannot create a new entry",
            Kind::Invalid => "the timer's duration exceeds the maximum duration",
        })
    }
}

impl error::Error for Error {}

/// Returned by [`timeout`](super::timeout) when the deadline passed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl Elapsed {
    pub(crate) fn new() -> Elapsed {
        Elapsed(())
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl error::Error for Elapsed {}

impl From<Elapsed> for io::Error {
    fn from(_: Elapsed) -> io::Error {
        io::ErrorKind::TimedOut.into()
    }
}
