//! Taking a lock, ignoring poison: the one helper for every lock weft takes.
//!
//! weft holds its locks only around its own bookkeeping, never around user
//! code, so a lock poisoned by a panic elsewhere carries no half-done
//! update: every lock is taken as if it were not poisoned. The calls work on
//! `std`'s locks and, under `--cfg weft_loom`, on loom's too (the facade in
//! [`super::loom`]), so lock-free code and its loom models share them.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError, TryLockError};
#[cfg(not(weft_loom))]
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

/// A mutex [`lock`] can take.
pub(crate) trait Lock {
    /// What holding it looks like.
    type Guard<'a>
    where
        Self: 'a;

    /// Blocks until the lock is held, poison ignored.
    fn lock_ignoring_poison(&self) -> Self::Guard<'_>;
}

impl<T: ?Sized> Lock for Mutex<T> {
    type Guard<'a>
        = MutexGuard<'a, T>
    where
        Self: 'a;

    fn lock_ignoring_poison(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Through a reference or an `Arc`, as a method call would auto-deref.
impl<L: Lock + ?Sized> Lock for &L {
    type Guard<'a>
        = L::Guard<'a>
    where
        Self: 'a;

    fn lock_ignoring_poison(&self) -> L::Guard<'_> {
        (**self).lock_ignoring_poison()
    }
}

impl<L: Lock + ?Sized> Lock for std::sync::Arc<L> {
    type Guard<'a>
        = L::Guard<'a>
    where
        Self: 'a;

    fn lock_ignoring_poison(&self) -> L::Guard<'_> {
        (**self).lock_ignoring_poison()
    }
}

#[cfg(weft_loom)]
impl<T> Lock for loom::sync::Mutex<T> {
    type Guard<'a>
        = loom::sync::MutexGuard<'a, T>
    where
        Self: 'a;

    fn lock_ignoring_poison(&self) -> loom::sync::MutexGuard<'_, T> {
        // loom's locks never poison.
        self.lock().unwrap()
    }
}

/// A condition variable [`wait`] can wait on, with its mutex's guard `G`.
pub(crate) trait Wait<G> {
    /// Releases `guard`, sleeps until notified (or spuriously), and takes
    /// the lock back, poison ignored.
    fn wait_ignoring_poison(&self, guard: G) -> G;
}

impl<'a, T> Wait<MutexGuard<'a, T>> for Condvar {
    fn wait_ignoring_poison(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.wait(guard).unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(weft_loom)]
impl<'a, T> Wait<loom::sync::MutexGuard<'a, T>> for loom::sync::Condvar {
    fn wait_ignoring_poison(
        &self,
        guard: loom::sync::MutexGuard<'a, T>,
    ) -> loom::sync::MutexGuard<'a, T> {
        self.wait(guard).unwrap()
    }
}

/// Locks `mutex`, ignoring poison.
pub(crate) fn lock<L: Lock + ?Sized>(mutex: &L) -> L::Guard<'_> {
    mutex.lock_ignoring_poison()
}

/// Locks `mutex` if nobody holds it, ignoring poison.
pub(crate) fn try_lock<T: ?Sized>(mutex: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match mutex.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// The contents of a mutex held exclusively, ignoring poison.
pub(crate) fn get_mut<T: ?Sized>(mutex: &mut Mutex<T>) -> &mut T {
    mutex.get_mut().unwrap_or_else(PoisonError::into_inner)
}

/// The contents of a mutex no longer shared, ignoring poison.
pub(crate) fn into_inner<T>(mutex: Mutex<T>) -> T {
    mutex.into_inner().unwrap_or_else(PoisonError::into_inner)
}

/// Read-locks `lock`, ignoring poison.
#[cfg(not(weft_loom))]
pub(crate) fn read<T: ?Sized>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

/// Read-locks `lock` (loom's locks never poison).
#[cfg(weft_loom)]
pub(crate) fn read<T>(lock: &loom::sync::RwLock<T>) -> loom::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap()
}

/// Write-locks `lock`, ignoring poison.
#[cfg(not(weft_loom))]
pub(crate) fn write<T: ?Sized>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// Write-locks `lock` (loom's locks never poison).
#[cfg(weft_loom)]
pub(crate) fn write<T>(lock: &loom::sync::RwLock<T>) -> loom::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap()
}

/// Waits on `condvar` with `guard`'s lock, ignoring poison.
pub(crate) fn wait<G, C: Wait<G> + ?Sized>(condvar: &C, guard: G) -> G {
    condvar.wait_ignoring_poison(guard)
}

/// Waits on `condvar` for at most `timeout`, ignoring poison. Returns the
/// guard and whether the wait timed out.
pub(crate) fn wait_timeout<'a, T>(
    condvar: &Condvar,
    guard: MutexGuard<'a, T>,
    timeout: Duration,
) -> (MutexGuard<'a, T>, bool) {
    let (guard, result) = condvar
        .wait_timeout(guard, timeout)
        .unwrap_or_else(PoisonError::into_inner);
    (guard, result.timed_out())
}
