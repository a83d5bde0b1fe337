//! The one place lock-free code gets its atomics, cells and locks from.
//!
//! Normally these are `std`'s. Under `RUSTFLAGS="--cfg weft_loom"` they are
//! [loom](https://docs.rs/loom)'s, so the models in `#[cfg(weft_loom)]` tests
//! explore every interleaving (see `.ci/run`). `UnsafeCell` has loom's API
//! (`with`, `with_mut`) in both builds. Take these locks with
//! [`super::lock`].

#[cfg(weft_loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(weft_loom)]
pub(crate) use loom::hint::spin_loop;
#[cfg(weft_loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize,
};
#[cfg(weft_loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard};
#[cfg(weft_loom)]
pub(crate) use loom::thread::yield_now;

#[cfg(not(weft_loom))]
pub(crate) use std::hint::spin_loop;
#[cfg(not(weft_loom))]
pub(crate) use std::sync::atomic::{fence, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize};
#[cfg(not(weft_loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard};
#[cfg(not(weft_loom))]
pub(crate) use std::thread::yield_now;

/// `std::cell::UnsafeCell` with loom's closure-based API.
#[cfg(not(weft_loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(weft_loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Calls `f` with a shared pointer to the contents.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Calls `f` with a mutable pointer to the contents.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
