//! `Id`: which runtime a handle belongs to.

use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// An opaque id of a runtime, from [`Handle::id`](super::Handle::id):
/// equal for every handle to one runtime, different for any two runtimes
/// of the process. weft never reuses one (tokio only promises uniqueness
/// among runtimes alive at the same time, so do not rely on more); ids are
/// not meant to say in which order runtimes were built.
///
/// ```
/// let a = weft::runtime::Builder::new_current_thread().build()?;
/// let b = weft::runtime::Builder::new_current_thread().build()?;
/// assert_eq!(a.handle().id(), a.handle().clone().id());
/// assert_ne!(a.handle().id(), b.handle().id());
/// println!("runtime {}", a.handle().id());
/// # std::io::Result::Ok(())
/// ```
#[derive(Clone, Copy, Debug, Hash, Eq, PartialEq)]
pub struct Id(NonZeroU64);

impl Id {
    /// A fresh id, never handed out before in this process.
    pub(crate) fn next() -> Id {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Relaxed);
        Id(NonZeroU64::new(id).expect("runtime ids do not wrap in 2^64 runtimes"))
    }

    pub(crate) fn from_raw(id: NonZeroU64) -> Id {
        Id(id)
    }

    pub(crate) fn as_raw(self) -> NonZeroU64 {
        self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
