//! The one place lock-free code gets its atomics, cells and locks from.
//!
//! Normally these are `std`'s. Under `RUSTFLAGS="--cfg weft_loom"` they are
//! [loom](https://docs.rs/loom)'s, so the models in `#[cfg(weft_loom)]` tests
//! explore every interleaving (see `.ci/run`). `UnsafeCell` has loom's API
//! (`with`, `with_mut`) in both builds.

#[cfg(weft_loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(weft_loom)]
pub(crate) use loom::hint::spin_loop;
#[cfg(weft_loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize,
};
#[cfg(weft_loom)]
pub(crate) use loom::sync::{
    Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};

#[cfg(not(weft_loom))]
pub(crate) use std::hint::spin_loop;
#[cfg(not(weft_loom))]
pub(crate) use std::sync::atomic::{fence, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize};
#[cfg(not(weft_loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locks `mutex`, ignoring poison: weft holds its locks only around its own
/// bookkeeping, never around user code, so a poisoned lock carries no
/// half-done update.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    #[cfg(weft_loom)]
    {
        mutex.lock().unwrap()
    }
    #[cfg(not(weft_loom))]
    {
        mutex.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Read-locks `lock`, ignoring poison (as [`lock`]).
pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    #[cfg(weft_loom)]
    {
        lock.read().unwrap()
    }
    #[cfg(not(weft_loom))]
    {
        lock.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// Write-locks `lock`, ignoring poison (as [`lock`]).
pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    #[cfg(weft_loom)]
    {
        lock.write().unwrap()
    }
    #[cfg(not(weft_loom))]
    {
        lock.write().unwrap_or_else(|e| e.into_inner())
    }
}

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

/// Waits on `condvar`, ignoring poison as [`lock`] does.
pub(crate) fn wait<'a, T>(condvar: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    #[cfg(weft_loom)]
    {
        condvar.wait(guard).unwrap()
    }
    #[cfg(not(weft_loom))]
    {
        condvar.wait(guard).unwrap_or_else(|e| e.into_inner())
    }
}
