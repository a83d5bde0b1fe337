//! `Mutex`: an async, fair (FIFO) mutual-exclusion lock, and its guards.
//!
//! A `Mutex` is a one-permit [batch semaphore](super::batch_semaphore) next
//! to the data: locking acquires the permit (one CAS uncontended), dropping
//! a guard releases it (one CAS while nobody waits, else a hand-over to the
//! oldest waiter).

use std::cell::UnsafeCell;
use std::error::Error;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::{fmt, ptr};

use super::batch_semaphore as semaphore;

/// An asynchronous `Mutex`-like type.
///
/// This type acts similarly to [`std::sync::Mutex`], with two major
/// differences: [`lock`](Mutex::lock) is an async method so does not block,
/// and the lock guard is designed to be held across `.await` points.
///
/// weft's Mutex operates on a guaranteed FIFO basis. This means that the
/// order in which tasks call the [`lock`](Mutex::lock) method is the exact
/// order in which they will acquire the lock.
///
/// # Which kind of mutex should you use?
///
/// It is ok and often preferred to use the ordinary [`std::sync::Mutex`] in
/// asynchronous code, as long as the guard is never held across an
/// `.await`. The async mutex is for when it must be: shared access to an I/O
/// resource such as a database connection.
///
/// Unlike [`std::sync::Mutex`], this mutex is not poisoned when a task
/// holding the guard panics: it is simply unlocked.
///
/// Locking spends a unit of weft's cooperative budget, so a task that locks
/// in a loop yields when its budget is spent, even if the lock is always
/// free.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use weft::sync::Mutex;
///
/// # #[weft::main(flavor = "current_thread")]
/// # async fn main() {
/// let count = Arc::new(Mutex::new(0));
///
/// let tasks: Vec<_> = (0..5)
///     .map(|_| {
///         let my_count = Arc::clone(&count);
///         weft::spawn(async move {
///             for _ in 0..10 {
///                 let mut lock = my_count.lock().await;
///                 *lock += 1;
///             }
///         })
///     })
///     .collect();
/// for task in tasks {
///     task.await.unwrap();
/// }
/// assert_eq!(*count.lock().await, 50);
/// # }
/// ```
pub struct Mutex<T: ?Sized> {
    s: semaphore::Semaphore,
    c: UnsafeCell<T>,
}

/// A handle to a held `Mutex`. The guard can be held across any `.await`
/// point as it is [`Send`].
///
/// As long as you have this guard, you have exclusive access to the
/// underlying `T`. The guard internally borrows the `Mutex`, so the mutex
/// will not be dropped while a guard exists.
///
/// The lock is automatically released whenever the guard is dropped, at
/// which point `lock` will succeed yet again.
#[clippy::has_significant_drop]
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
}

/// An owned handle to a held `Mutex`.
///
/// This guard is only available from a `Mutex` that is wrapped in an
/// [`Arc`]. It is identical to `MutexGuard`, except that rather than
/// borrowing the `Mutex`, it clones the `Arc`, incrementing the reference
/// count. This means that unlike `MutexGuard`, it will have the `'static`
/// lifetime.
///
/// As long as you have this guard, you have exclusive access to the
/// underlying `T`. The guard internally keeps a reference-counted pointer
/// to the original `Mutex`, so even if the lock goes away, the guard
/// remains valid.
///
/// The lock is automatically released whenever the guard is dropped, at
/// which point `lock` will succeed yet again.
#[clippy::has_significant_drop]
pub struct OwnedMutexGuard<T: ?Sized> {
    lock: Arc<Mutex<T>>,
}

/// A handle to a held `Mutex` that has had a function applied to it via
/// [`MutexGuard::map`].
///
/// This can be used to hold a subfield of the protected data.
#[clippy::has_significant_drop]
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    s: &'a semaphore::Semaphore,
    data: *mut T,
    marker: PhantomData<&'a mut T>,
}

/// An owned handle to a held `Mutex` that has had a function applied to it
/// via [`OwnedMutexGuard::map`].
///
/// This can be used to hold a subfield of the protected data.
#[clippy::has_significant_drop]
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct OwnedMappedMutexGuard<T: ?Sized, U: ?Sized = T> {
    data: *mut U,
    lock: Arc<Mutex<T>>,
}

// SAFETY: the data is reached only through a guard, and there is one guard
// at a time; moving the mutex moves `T`.
unsafe impl<T> Send for Mutex<T> where T: ?Sized + Send {}
// SAFETY: sharing the mutex lets any thread get the one guard, i.e. `&mut T`
// on that thread: `T: Send` is what that needs (as std's `Mutex`).
unsafe impl<T> Sync for Mutex<T> where T: ?Sized + Send {}
// SAFETY: a shared guard gives `&T` to other threads.
unsafe impl<T> Sync for MutexGuard<'_, T> where T: ?Sized + Send + Sync {}
// SAFETY: as above.
unsafe impl<T> Sync for OwnedMutexGuard<T> where T: ?Sized + Send + Sync {}
// SAFETY: a shared mapped guard gives `&T`.
unsafe impl<'a, T> Sync for MappedMutexGuard<'a, T> where T: ?Sized + Sync + 'a {}
// SAFETY: a mapped guard is a `&mut T` plus a release of the semaphore
// (`Sync`); moving it moves the `&mut T`.
unsafe impl<'a, T> Send for MappedMutexGuard<'a, T> where T: ?Sized + Send + 'a {}
// SAFETY: a shared owned mapped guard gives `&U` and shares the `Arc`.
unsafe impl<T, U> Sync for OwnedMappedMutexGuard<T, U>
where
    T: ?Sized + Send + Sync,
    U: ?Sized + Send + Sync,
{
}
// SAFETY: moving it moves a `&mut U` and an `Arc<Mutex<T>>` (`Send` for
// `T: Send`).
unsafe impl<T, U> Send for OwnedMappedMutexGuard<T, U>
where
    T: ?Sized + Send,
    U: ?Sized + Send,
{
}

/// Error returned from the [`Mutex::try_lock`], [`RwLock::try_read`] and
/// [`RwLock::try_write`] functions.
///
/// `Mutex::try_lock` operation will only fail if the mutex is already
/// locked.
///
/// `RwLock::try_read` operation will only fail if the lock is currently
/// held by an exclusive writer.
///
/// `RwLock::try_write` operation will only fail if the lock is currently
/// held by any reader or by an exclusive writer.
///
/// [`RwLock::try_read`]: fn@super::RwLock::try_read
/// [`RwLock::try_write`]: fn@super::RwLock::try_write
#[derive(Debug)]
pub struct TryLockError(pub(super) ());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block")
    }
}

impl Error for TryLockError {}

impl<T: ?Sized> Mutex<T> {
    /// Creates a new lock in an unlocked state ready for use.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::Mutex;
    ///
    /// let lock = Mutex::new(5);
    /// ```
    #[track_caller]
    pub fn new(t: T) -> Self
    where
        T: Sized,
    {
        Mutex {
            c: UnsafeCell::new(t),
            s: semaphore::Semaphore::new(1),
        }
    }

    /// Creates a new lock in an unlocked state ready for use, in a `const`
    /// context.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::Mutex;
    ///
    /// static LOCK: Mutex<i32> = Mutex::const_new(5);
    /// ```
    #[cfg(not(weft_loom))]
    pub const fn const_new(t: T) -> Self
    where
        T: Sized,
    {
        Mutex {
            c: UnsafeCell::new(t),
            s: semaphore::Semaphore::const_new(1),
        }
    }

    /// Locks this mutex, causing the current task to yield until the lock
    /// has been acquired. When the lock has been acquired, function returns
    /// a [`MutexGuard`].
    ///
    /// If the mutex is available to be acquired immediately, then this call
    /// will typically not yield to the runtime. However, this is not
    /// guaranteed under all circumstances: when the task's cooperative
    /// budget is spent, it yields first.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute locks in the order they
    /// were requested. Cancelling a call to `lock` makes you lose your place
    /// in the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::Mutex;
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mutex = Mutex::new(1);
    ///
    /// let mut n = mutex.lock().await;
    /// *n = 2;
    /// # }
    /// ```
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        self.acquire().await;
        MutexGuard { lock: self }
    }

    /// Blockingly locks this `Mutex`. When the lock has been acquired,
    /// function returns a [`MutexGuard`].
    ///
    /// This method is intended for use cases where you need to use this
    /// mutex in asynchronous code as well as in synchronous code.
    ///
    /// # Panics
    ///
    /// This function panics if called within an asynchronous execution
    /// context (a thread running a weft runtime's tasks).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::Mutex;
    ///
    /// #[weft::main]
    /// async fn main() {
    ///     let mutex = Arc::new(Mutex::new(1));
    ///     let lock = mutex.lock().await;
    ///
    ///     let mutex1 = Arc::clone(&mutex);
    ///     let blocking_task = weft::task::spawn_blocking(move || {
    ///         // This shall block until the `lock` is released.
    ///         let mut n = mutex1.blocking_lock();
    ///         *n = 2;
    ///     });
    ///
    ///     assert_eq!(*lock, 1);
    ///     // Release the lock.
    ///     drop(lock);
    ///
    ///     // Await the completion of the blocking task.
    ///     blocking_task.await.unwrap();
    ///
    ///     // Assert uncontended.
    ///     let n = mutex.try_lock().unwrap();
    ///     assert_eq!(*n, 2);
    /// }
    /// ```
    #[track_caller]
    #[doc(alias = "lock_blocking")]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        super::block_on::block_on("Mutex::blocking_lock", self.lock())
    }

    /// Blockingly locks this `Mutex`. When the lock has been acquired,
    /// function returns an [`OwnedMutexGuard`].
    ///
    /// This method is identical to [`Mutex::blocking_lock`], except that the
    /// returned guard references the `Mutex` with an [`Arc`] rather than by
    /// borrowing it. Therefore, the `Mutex` must be wrapped in an `Arc` to
    /// call this method, and the guard will live for the `'static` lifetime,
    /// as it keeps the `Mutex` alive by holding an `Arc`.
    ///
    /// # Panics
    ///
    /// This function panics if called within an asynchronous execution
    /// context.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::Mutex;
    ///
    /// let mutex = Arc::new(Mutex::new(1));
    /// let mut guard = Arc::clone(&mutex).blocking_lock_owned();
    /// *guard = 2;
    /// drop(guard);
    /// assert_eq!(*mutex.try_lock().unwrap(), 2);
    /// ```
    #[track_caller]
    pub fn blocking_lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        super::block_on::block_on("Mutex::blocking_lock_owned", self.lock_owned())
    }

    /// Locks this mutex, causing the current task to yield until the lock
    /// has been acquired. When the lock has been acquired, this returns an
    /// [`OwnedMutexGuard`].
    ///
    /// This method is identical to [`Mutex::lock`], except that the returned
    /// guard references the `Mutex` with an [`Arc`] rather than by borrowing
    /// it. Therefore, the `Mutex` must be wrapped in an `Arc` to call this
    /// method, and the guard will live for the `'static` lifetime, as it
    /// keeps the `Mutex` alive by holding an `Arc`.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute locks in the order they
    /// were requested. Cancelling a call to `lock_owned` makes you lose your
    /// place in the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::Mutex;
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mutex = Arc::new(Mutex::new(1));
    ///
    /// let mut n = mutex.clone().lock_owned().await;
    /// *n = 2;
    /// # }
    /// ```
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        self.acquire().await;
        OwnedMutexGuard { lock: self }
    }

    async fn acquire(&self) {
        // The mutex's semaphore is never closed.
        if self.s.acquire(1).await.is_err() {
            unreachable!("a Mutex's semaphore is never closed");
        }
    }

    /// Attempts to acquire the lock, and returns [`TryLockError`] if the
    /// lock is currently held somewhere else.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::Mutex;
    ///
    /// let mutex = Mutex::new(1);
    ///
    /// let n = mutex.try_lock().unwrap();
    /// assert_eq!(*n, 1);
    /// assert!(mutex.try_lock().is_err());
    /// ```
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.s.try_acquire(1) {
            Ok(()) => Ok(MutexGuard { lock: self }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Returns a mutable reference to the underlying data.
    ///
    /// Since this call borrows the `Mutex` mutably, no actual locking needs
    /// to take place -- the mutable borrow statically guarantees no locks
    /// exist.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::Mutex;
    ///
    /// let mut mutex = Mutex::new(1);
    ///
    /// let n = mutex.get_mut();
    /// *n = 2;
    /// assert_eq!(mutex.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.c.get_mut()
    }

    /// Attempts to acquire the lock, and returns [`TryLockError`] if the
    /// lock is currently held somewhere else.
    ///
    /// This method is identical to [`Mutex::try_lock`], except that the
    /// returned guard references the `Mutex` with an [`Arc`] rather than by
    /// borrowing it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::Mutex;
    ///
    /// let mutex = Arc::new(Mutex::new(1));
    ///
    /// let n = mutex.clone().try_lock_owned().unwrap();
    /// assert_eq!(*n, 1);
    /// ```
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        match self.s.try_acquire(1) {
            Ok(()) => Ok(OwnedMutexGuard { lock: self }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Consumes the mutex, returning the underlying data.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::Mutex;
    ///
    /// let mutex = Mutex::new(1);
    /// let n = mutex.into_inner();
    /// assert_eq!(n, 1);
    /// ```
    pub fn into_inner(self) -> T
    where
        T: Sized,
    {
        self.c.into_inner()
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(s: T) -> Self {
        Self::new(s)
    }
}

impl<T> Default for Mutex<T>
where
    T: Default,
{
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: ?Sized> fmt::Debug for Mutex<T>
where
    T: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(inner) => d.field("data", &&*inner),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

// ===== MutexGuard =====

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Gives up the guard without releasing the lock.
    fn into_lock(self) -> &'a Mutex<T> {
        ManuallyDrop::new(self).lock
    }

    /// Makes a new [`MappedMutexGuard`] for a component of the locked data.
    ///
    /// This operation cannot fail as the [`MutexGuard`] passed in already
    /// locked the mutex.
    ///
    /// This is an associated function that needs to be used as
    /// `MutexGuard::map(...)`. A method would interfere with methods of the
    /// same name on the contents of the locked data.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::{Mutex, MutexGuard};
    ///
    /// #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    /// struct Foo(u32);
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let foo = Mutex::new(Foo(1));
    ///
    /// {
    ///     let mut mapped = MutexGuard::map(foo.lock().await, |f| &mut f.0);
    ///     *mapped = 2;
    /// }
    ///
    /// assert_eq!(Foo(2), *foo.lock().await);
    /// # }
    /// ```
    #[inline]
    pub fn map<U, F>(mut this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        U: ?Sized,
        F: FnOnce(&mut T) -> &mut U,
    {
        let data = f(&mut *this) as *mut U;
        let lock = this.into_lock();
        MappedMutexGuard {
            s: &lock.s,
            data,
            marker: PhantomData,
        }
    }

    /// Attempts to make a new [`MappedMutexGuard`] for a component of the
    /// locked data. The original guard is returned if the closure returns
    /// `None`.
    ///
    /// This is an associated function that needs to be used as
    /// `MutexGuard::try_map(...)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::{Mutex, MutexGuard};
    ///
    /// #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    /// struct Foo(u32);
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let foo = Mutex::new(Foo(1));
    ///
    /// {
    ///     let mut mapped = MutexGuard::try_map(foo.lock().await, |f| Some(&mut f.0))
    ///         .expect("should not fail");
    ///     *mapped = 2;
    /// }
    ///
    /// assert_eq!(Foo(2), *foo.lock().await);
    /// # }
    /// ```
    #[inline]
    pub fn try_map<U, F>(mut this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        U: ?Sized,
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data = match f(&mut *this) {
            Some(data) => data as *mut U,
            None => return Err(this),
        };
        let lock = this.into_lock();
        Ok(MappedMutexGuard {
            s: &lock.s,
            data,
            marker: PhantomData,
        })
    }

    /// Returns a reference to the original `Mutex`.
    ///
    /// ```
    /// use weft::sync::{Mutex, MutexGuard};
    ///
    /// async fn unlock_and_relock<'l>(guard: MutexGuard<'l, u32>) -> MutexGuard<'l, u32> {
    ///     println!("1. contains: {:?}", *guard);
    ///     let mutex = MutexGuard::mutex(&guard);
    ///     drop(guard);
    ///     let guard = mutex.lock().await;
    ///     println!("2. contains: {:?}", *guard);
    ///     guard
    /// }
    /// #
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// #     let mutex = Mutex::new(0u32);
    /// #     let guard = mutex.lock().await;
    /// #     let _guard = unlock_and_relock(guard).await;
    /// # }
    /// ```
    #[inline]
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.lock
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &Self::Target {
        // SAFETY: this guard holds the mutex's one permit, so no other
        // reference to the data exists.
        unsafe { &*self.lock.c.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        // SAFETY: as in `deref`; `&mut self` makes this the only one.
        unsafe { &mut *self.lock.c.get() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

// ===== OwnedMutexGuard =====

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// Gives up the guard without releasing the lock.
    fn into_lock(self) -> Arc<Mutex<T>> {
        let me = ManuallyDrop::new(self);
        // SAFETY: `me` is never used or dropped again, so the `Arc` moves
        // out exactly once.
        unsafe { ptr::read(&me.lock) }
    }

    /// Makes a new [`OwnedMappedMutexGuard`] for a component of the locked
    /// data.
    ///
    /// This operation cannot fail as the [`OwnedMutexGuard`] passed in
    /// already locked the mutex.
    ///
    /// This is an associated function that needs to be used as
    /// `OwnedMutexGuard::map(...)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::{Mutex, OwnedMutexGuard};
    ///
    /// #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    /// struct Foo(u32);
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let foo = Arc::new(Mutex::new(Foo(1)));
    ///
    /// {
    ///     let mut mapped = OwnedMutexGuard::map(foo.clone().lock_owned().await, |f| &mut f.0);
    ///     *mapped = 2;
    /// }
    ///
    /// assert_eq!(Foo(2), *foo.lock().await);
    /// # }
    /// ```
    #[inline]
    pub fn map<U, F>(mut this: Self, f: F) -> OwnedMappedMutexGuard<T, U>
    where
        U: ?Sized,
        F: FnOnce(&mut T) -> &mut U,
    {
        let data = f(&mut *this) as *mut U;
        OwnedMappedMutexGuard {
            data,
            lock: this.into_lock(),
        }
    }

    /// Attempts to make a new [`OwnedMappedMutexGuard`] for a component of
    /// the locked data. The original guard is returned if the closure
    /// returns `None`.
    ///
    /// This is an associated function that needs to be used as
    /// `OwnedMutexGuard::try_map(...)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::{Mutex, OwnedMutexGuard};
    ///
    /// #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    /// struct Foo(u32);
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let foo = Arc::new(Mutex::new(Foo(1)));
    ///
    /// {
    ///     let mut mapped = OwnedMutexGuard::try_map(foo.clone().lock_owned().await, |f| Some(&mut f.0))
    ///         .expect("should not fail");
    ///     *mapped = 2;
    /// }
    ///
    /// assert_eq!(Foo(2), *foo.lock().await);
    /// # }
    /// ```
    #[inline]
    pub fn try_map<U, F>(mut this: Self, f: F) -> Result<OwnedMappedMutexGuard<T, U>, Self>
    where
        U: ?Sized,
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data = match f(&mut *this) {
            Some(data) => data as *mut U,
            None => return Err(this),
        };
        Ok(OwnedMappedMutexGuard {
            data,
            lock: this.into_lock(),
        })
    }

    /// Returns a reference to the original `Arc<Mutex>`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::{Mutex, OwnedMutexGuard};
    ///
    /// async fn unlock_and_relock(guard: OwnedMutexGuard<u32>) -> OwnedMutexGuard<u32> {
    ///     println!("1. contains: {:?}", *guard);
    ///     let mutex: Arc<Mutex<u32>> = OwnedMutexGuard::mutex(&guard).clone();
    ///     drop(guard);
    ///     let guard = mutex.lock_owned().await;
    ///     println!("2. contains: {:?}", *guard);
    ///     guard
    /// }
    /// #
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// #     let mutex = Arc::new(Mutex::new(0u32));
    /// #     let guard = mutex.lock_owned().await;
    /// #     unlock_and_relock(guard).await;
    /// # }
    /// ```
    #[inline]
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &Self::Target {
        // SAFETY: this guard holds the mutex's one permit.
        unsafe { &*self.lock.c.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        // SAFETY: as in `deref`; `&mut self` makes this the only one.
        unsafe { &mut *self.lock.c.get() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

// ===== MappedMutexGuard =====

impl<'a, T: ?Sized> MappedMutexGuard<'a, T> {
    /// Gives up the guard without releasing the lock.
    fn into_parts(self) -> (&'a semaphore::Semaphore, *mut T) {
        let me = ManuallyDrop::new(self);
        (me.s, me.data)
    }

    /// Makes a new [`MappedMutexGuard`] for a component of the locked data.
    ///
    /// This operation cannot fail as the [`MappedMutexGuard`] passed in
    /// already locked the mutex.
    ///
    /// This is an associated function that needs to be used as
    /// `MappedMutexGuard::map(...)`.
    #[inline]
    pub fn map<U, F>(mut this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data = f(&mut *this) as *mut U;
        let (s, _) = this.into_parts();
        MappedMutexGuard {
            s,
            data,
            marker: PhantomData,
        }
    }

    /// Attempts to make a new [`MappedMutexGuard`] for a component of the
    /// locked data. The original guard is returned if the closure returns
    /// `None`.
    ///
    /// This is an associated function that needs to be used as
    /// `MappedMutexGuard::try_map(...)`.
    #[inline]
    pub fn try_map<U, F>(mut this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data = match f(&mut *this) {
            Some(data) => data as *mut U,
            None => return Err(this),
        };
        let (s, _) = this.into_parts();
        Ok(MappedMutexGuard {
            s,
            data,
            marker: PhantomData,
        })
    }
}

impl<T: ?Sized> Drop for MappedMutexGuard<'_, T> {
    fn drop(&mut self) {
        self.s.release(1);
    }
}

impl<T: ?Sized> Deref for MappedMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &Self::Target {
        // SAFETY: `data` points into the locked data, and this guard holds
        // the mutex's one permit.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        // SAFETY: as in `deref`; `&mut self` makes this the only one.
        unsafe { &mut *self.data }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

// ===== OwnedMappedMutexGuard =====

impl<T: ?Sized, U: ?Sized> OwnedMappedMutexGuard<T, U> {
    /// Gives up the guard without releasing the lock.
    fn into_lock(self) -> Arc<Mutex<T>> {
        let me = ManuallyDrop::new(self);
        // SAFETY: `me` is never used or dropped again, so the `Arc` moves
        // out exactly once.
        unsafe { ptr::read(&me.lock) }
    }

    /// Applies a function to the contained value and returns a new
    /// [`OwnedMappedMutexGuard`].
    ///
    /// This operation cannot fail as the [`OwnedMappedMutexGuard`] passed in
    /// already locked the mutex.
    ///
    /// This is an associated function that needs to be used as
    /// `OwnedMappedMutexGuard::map(...)`.
    #[inline]
    pub fn map<S, F>(mut this: Self, f: F) -> OwnedMappedMutexGuard<T, S>
    where
        F: FnOnce(&mut U) -> &mut S,
    {
        let data = f(&mut *this) as *mut S;
        OwnedMappedMutexGuard {
            data,
            lock: this.into_lock(),
        }
    }

    /// Attempts to make a new [`OwnedMappedMutexGuard`] for a component of
    /// the locked data. The original guard is returned if the closure
    /// returns `None`.
    ///
    /// This is an associated function that needs to be used as
    /// `OwnedMappedMutexGuard::try_map(...)`.
    #[inline]
    pub fn try_map<S, F>(mut this: Self, f: F) -> Result<OwnedMappedMutexGuard<T, S>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut S>,
    {
        let data = match f(&mut *this) {
            Some(data) => data as *mut S,
            None => return Err(this),
        };
        Ok(OwnedMappedMutexGuard {
            data,
            lock: this.into_lock(),
        })
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedMappedMutexGuard<T, U> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedMappedMutexGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &Self::Target {
        // SAFETY: `data` points into the locked data, and this guard holds
        // the mutex's one permit (and keeps the mutex alive).
        unsafe { &*self.data }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedMappedMutexGuard<T, U> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        // SAFETY: as in `deref`; `&mut self` makes this the only one.
        unsafe { &mut *self.data }
    }
}

impl<T: ?Sized, U: ?Sized + fmt::Debug> fmt::Debug for OwnedMappedMutexGuard<T, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized, U: ?Sized + fmt::Display> fmt::Display for OwnedMappedMutexGuard<T, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
