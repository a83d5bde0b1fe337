//! `RwLock`: an async, fair reader-writer lock.
//!
//! The lock is a [batch semaphore](super::batch_semaphore) with
//! `max_readers` permits: a reader takes one, a writer takes them all. The
//! semaphore's FIFO queue makes it fair: a writer waiting at the head
//! collects the permits readers release, and readers arriving after it wait
//! behind it.

use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::sync::Arc;

use super::batch_semaphore::{Semaphore, TryAcquireError};
use super::TryLockError;

mod owned_write_guard;
mod read_guard;
mod write_guard;

pub use owned_write_guard::{OwnedRwLockMappedWriteGuard, OwnedRwLockWriteGuard};
pub use read_guard::{OwnedRwLockReadGuard, RwLockReadGuard};
pub use write_guard::{RwLockMappedWriteGuard, RwLockWriteGuard};

/// The most readers a lock admits (and the permits a writer takes).
#[cfg(not(weft_loom))]
const MAX_READS: u32 = u32::MAX >> 3;
#[cfg(weft_loom)]
const MAX_READS: u32 = 10;

/// An asynchronous reader-writer lock.
///
/// This type of lock allows a number of readers or at most one writer at
/// any point in time. The write portion of this lock typically allows
/// modification of the underlying data (exclusive access) and the read
/// portion of this lock typically allows for read-only access (shared
/// access).
///
/// In comparison, a [`Mutex`](super::Mutex) does not distinguish between
/// readers or writers that acquire the lock, therefore causing any tasks
/// waiting for the lock to become available to yield. An `RwLock` will
/// allow any number of readers to acquire the lock as long as a writer is
/// not holding the lock.
///
/// The priority policy of weft's read-write lock is _fair_ (or
/// _write-preferring_), in order to ensure that readers cannot starve
/// writers. Fairness is ensured using a first-in, first-out queue for the
/// tasks awaiting the lock; a read lock will not be given out until all
/// write lock requests that were queued before it have been acquired and
/// released. This is in contrast to the Rust standard library's
/// `std::sync::RwLock`, where the priority policy is dependent on the
/// operating system's implementation.
///
/// The type parameter `T` represents the data that this lock protects. It
/// is required that `T` satisfies [`Send`] to be shared across threads. The
/// RAII guards returned from the locking methods implement
/// [`Deref`](std::ops::Deref) (and [`DerefMut`](std::ops::DerefMut) for the
/// `write` methods) to allow access to the content of the lock.
///
/// Locking spends a unit of weft's cooperative budget.
///
/// # Examples
///
/// ```
/// use weft::sync::RwLock;
///
/// # #[weft::main(flavor = "current_thread")]
/// # async fn main() {
/// let lock = RwLock::new(5);
///
/// // many reader locks can be held at once
/// {
///     let r1 = lock.read().await;
///     let r2 = lock.read().await;
///     assert_eq!(*r1, 5);
///     assert_eq!(*r2, 5);
/// } // read locks are dropped at this point
///
/// // only one write lock may be held, however
/// {
///     let mut w = lock.write().await;
///     *w += 1;
///     assert_eq!(*w, 6);
/// } // write lock is dropped here
/// # }
/// ```
pub struct RwLock<T: ?Sized> {
    /// The most readers at once (and the permits a writer takes).
    mr: u32,
    s: Semaphore,
    c: UnsafeCell<T>,
}

// SAFETY: moving the lock moves `T`.
unsafe impl<T> Send for RwLock<T> where T: ?Sized + Send {}
// SAFETY: sharing the lock hands out `&T` to many threads at once (readers:
// `T: Sync`) and `&mut T` to one (the writer: `T: Send`).
unsafe impl<T> Sync for RwLock<T> where T: ?Sized + Send + Sync {}
// SAFETY: a read guard is a `&T` (plus a permit release, `Sync`): moving it
// to another thread shares `T`.
unsafe impl<T> Send for RwLockReadGuard<'_, T> where T: ?Sized + Sync {}
// SAFETY: sharing a read guard shares `&T`.
unsafe impl<T> Sync for RwLockReadGuard<'_, T> where T: ?Sized + Send + Sync {}
// SAFETY: as for `RwLockReadGuard`, plus the `Arc<RwLock<T>>` it moves.
unsafe impl<T, U> Send for OwnedRwLockReadGuard<T, U>
where
    T: ?Sized + Send + Sync,
    U: ?Sized + Sync,
{
}
// SAFETY: as above.
unsafe impl<T, U> Sync for OwnedRwLockReadGuard<T, U>
where
    T: ?Sized + Send + Sync,
    U: ?Sized + Send + Sync,
{
}
// SAFETY: sharing a write guard shares `&T`.
unsafe impl<T> Sync for RwLockWriteGuard<'_, T> where T: ?Sized + Send + Sync {}
// SAFETY: as above.
unsafe impl<T> Sync for OwnedRwLockWriteGuard<T> where T: ?Sized + Send + Sync {}
// SAFETY: as above.
unsafe impl<T> Sync for RwLockMappedWriteGuard<'_, T> where T: ?Sized + Send + Sync {}
// SAFETY: as above.
unsafe impl<T, U> Sync for OwnedRwLockMappedWriteGuard<T, U>
where
    T: ?Sized + Send + Sync,
    U: ?Sized + Send + Sync,
{
}
// SAFETY: moving a write guard moves a `&mut T`; a downgrade turns it into
// a `&T` on the new thread, hence `Sync` too (as tokio).
unsafe impl<T> Send for RwLockWriteGuard<'_, T> where T: ?Sized + Send + Sync {}
// SAFETY: as above.
unsafe impl<T> Send for OwnedRwLockWriteGuard<T> where T: ?Sized + Send + Sync {}
// SAFETY: as above.
unsafe impl<T> Send for RwLockMappedWriteGuard<'_, T> where T: ?Sized + Send + Sync {}
// SAFETY: as above.
unsafe impl<T, U> Send for OwnedRwLockMappedWriteGuard<T, U>
where
    T: ?Sized + Send + Sync,
    U: ?Sized + Send + Sync,
{
}

impl<T: ?Sized> RwLock<T> {
    /// Creates a new instance of an `RwLock<T>` which is unlocked.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::RwLock;
    ///
    /// let lock = RwLock::new(5);
    /// ```
    #[track_caller]
    pub fn new(value: T) -> RwLock<T>
    where
        T: Sized,
    {
        RwLock {
            mr: MAX_READS,
            c: UnsafeCell::new(value),
            s: Semaphore::new(MAX_READS as usize),
        }
    }

    /// Creates a new instance of an `RwLock<T>` which is unlocked and
    /// allows a maximum of `max_reads` concurrent readers.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::RwLock;
    ///
    /// let lock = RwLock::with_max_readers(5, 1024);
    /// ```
    ///
    /// # Panics
    ///
    /// Panics if `max_reads` is more than `u32::MAX >> 3`, or is 0.
    #[track_caller]
    pub fn with_max_readers(value: T, max_reads: u32) -> RwLock<T>
    where
        T: Sized,
    {
        assert_ne!(max_reads, 0, "a RwLock may not be created with 0 readers");
        assert!(
            max_reads <= MAX_READS,
            "a RwLock may not be created with more than {MAX_READS} readers"
        );
        RwLock {
            mr: max_reads,
            c: UnsafeCell::new(value),
            s: Semaphore::new(max_reads as usize),
        }
    }

    /// Creates a new instance of an `RwLock<T>` which is unlocked, in a
    /// `const` context.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::RwLock;
    ///
    /// static LOCK: RwLock<i32> = RwLock::const_new(5);
    /// ```
    #[cfg(not(weft_loom))]
    pub const fn const_new(value: T) -> RwLock<T>
    where
        T: Sized,
    {
        RwLock {
            mr: MAX_READS,
            c: UnsafeCell::new(value),
            s: Semaphore::const_new(MAX_READS as usize),
        }
    }

    /// Creates a new instance of an `RwLock<T>` which is unlocked and
    /// allows a maximum of `max_reads` concurrent readers, in a `const`
    /// context.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::RwLock;
    ///
    /// static LOCK: RwLock<i32> = RwLock::const_with_max_readers(5, 1024);
    /// ```
    ///
    /// # Panics
    ///
    /// Panics (at compile time in a `static`) if `max_reads` is more than
    /// `u32::MAX >> 3`, or is 0.
    #[cfg(not(weft_loom))]
    pub const fn const_with_max_readers(value: T, max_reads: u32) -> RwLock<T>
    where
        T: Sized,
    {
        assert!(max_reads != 0, "a RwLock may not be created with 0 readers");
        assert!(
            max_reads <= MAX_READS,
            "a RwLock may not be created with more than u32::MAX >> 3 readers"
        );
        RwLock {
            mr: max_reads,
            c: UnsafeCell::new(value),
            s: Semaphore::const_new(max_reads as usize),
        }
    }

    /// Locks this `RwLock` with shared read access, causing the current
    /// task to yield until the lock has been acquired.
    ///
    /// The calling task will yield until there are no writers which hold
    /// the lock. There may be other readers inside the lock when the task
    /// resumes.
    ///
    /// Note that under the priority policy of [`RwLock`], read locks are not
    /// granted until prior write locks, to prevent starvation. Therefore
    /// deadlock may occur if a read lock is held by the current task, a
    /// write lock attempt is made, and then a subsequent read lock attempt
    /// is made by the current task.
    ///
    /// Returns an RAII guard which will drop this read access of the
    /// `RwLock` when dropped.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute locks in the order they
    /// were requested. Cancelling a call to `read` makes you lose your place
    /// in the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::RwLock;
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let lock = Arc::new(RwLock::new(1));
    /// let c_lock = lock.clone();
    ///
    /// let n = lock.read().await;
    /// assert_eq!(*n, 1);
    ///
    /// weft::spawn(async move {
    ///     // While main has an active read lock, we acquire one too.
    ///     let r = c_lock.read().await;
    ///     assert_eq!(*r, 1);
    /// }).await.expect("The spawned task has panicked");
    ///
    /// // Drop the guard after the spawned task finishes.
    /// drop(n);
    /// # }
    /// ```
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        self.acquire(1).await;
        RwLockReadGuard {
            s: &self.s,
            data: self.c.get(),
            marker: PhantomData,
        }
    }

    /// Blockingly locks this `RwLock` with shared read access.
    ///
    /// This method is intended for use cases where you need to use this
    /// rwlock in asynchronous code as well as in synchronous code.
    ///
    /// Returns an RAII guard which will drop the read access of this
    /// `RwLock` when dropped.
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
    /// use weft::sync::RwLock;
    ///
    /// #[weft::main]
    /// async fn main() {
    ///     let rwlock = Arc::new(RwLock::new(1));
    ///     let mut write_lock = rwlock.write().await;
    ///
    ///     let blocking_task = weft::task::spawn_blocking({
    ///         let rwlock = Arc::clone(&rwlock);
    ///         move || {
    ///             // This shall block until the `write_lock` is released.
    ///             let read_lock = rwlock.blocking_read();
    ///             assert_eq!(*read_lock, 0);
    ///         }
    ///     });
    ///
    ///     *write_lock -= 1;
    ///     drop(write_lock); // release the lock.
    ///
    ///     // Await the completion of the blocking task.
    ///     blocking_task.await.unwrap();
    ///
    ///     // Assert uncontended.
    ///     assert!(rwlock.try_write().is_ok());
    /// }
    /// ```
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        super::block_on::block_on("RwLock::blocking_read", self.read())
    }

    /// Locks this `RwLock` with shared read access, causing the current
    /// task to yield until the lock has been acquired.
    ///
    /// This method is identical to [`RwLock::read`], except that the
    /// returned guard references the `RwLock` with an [`Arc`] rather than by
    /// borrowing it. Therefore, the `RwLock` must be wrapped in an `Arc` to
    /// call this method, and the guard will live for the `'static` lifetime,
    /// as it keeps the `RwLock` alive by holding an `Arc`.
    ///
    /// # Cancel safety
    ///
    /// Cancelling a call to `read_owned` makes you lose your place in the
    /// queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::RwLock;
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let lock = Arc::new(RwLock::new(1));
    /// let c_lock = lock.clone();
    ///
    /// let n = lock.read_owned().await;
    /// assert_eq!(*n, 1);
    ///
    /// weft::spawn(async move {
    ///     // While main has an active read lock, we acquire one too.
    ///     let r = c_lock.read_owned().await;
    ///     assert_eq!(*r, 1);
    /// }).await.expect("The spawned task has panicked");
    ///
    /// // Drop the guard after the spawned task finishes.
    /// drop(n);
    /// # }
    /// ```
    pub async fn read_owned(self: Arc<Self>) -> OwnedRwLockReadGuard<T> {
        self.acquire(1).await;
        OwnedRwLockReadGuard {
            data: self.c.get(),
            lock: self,
            _p: PhantomData,
        }
    }

    /// Attempts to acquire this `RwLock` with shared read access.
    ///
    /// If the access couldn't be acquired immediately, returns
    /// [`TryLockError`]. Otherwise, an RAII guard is returned which will
    /// release read access when dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::RwLock;
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let lock = Arc::new(RwLock::new(1));
    /// let c_lock = lock.clone();
    ///
    /// let v = lock.try_read().unwrap();
    /// assert_eq!(*v, 1);
    ///
    /// weft::spawn(async move {
    ///     // While main has an active read lock, we acquire one too.
    ///     let n = c_lock.read().await;
    ///     assert_eq!(*n, 1);
    /// }).await.expect("The spawned task has panicked");
    ///
    /// // Drop the guard when spawned task finishes.
    /// drop(v);
    /// # }
    /// ```
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        self.try_acquire(1)?;
        Ok(RwLockReadGuard {
            s: &self.s,
            data: self.c.get(),
            marker: PhantomData,
        })
    }

    /// Attempts to acquire this `RwLock` with shared read access.
    ///
    /// This method is identical to [`RwLock::try_read`], except that the
    /// returned guard references the `RwLock` with an [`Arc`] rather than by
    /// borrowing it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::RwLock;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    ///
    /// let v = lock.clone().try_read_owned().unwrap();
    /// assert_eq!(*v, 1);
    /// assert!(lock.try_write().is_err());
    /// ```
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        self.try_acquire(1)?;
        Ok(OwnedRwLockReadGuard {
            data: self.c.get(),
            lock: self,
            _p: PhantomData,
        })
    }

    /// Locks this `RwLock` with exclusive write access, causing the current
    /// task to yield until the lock has been acquired.
    ///
    /// The calling task will yield while other writers or readers currently
    /// have access to the lock.
    ///
    /// Returns an RAII guard which will drop the write access of this
    /// `RwLock` when dropped.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute locks in the order they
    /// were requested. Cancelling a call to `write` makes you lose your
    /// place in the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::RwLock;
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let lock = RwLock::new(1);
    ///
    /// let mut n = lock.write().await;
    /// *n = 2;
    /// # }
    /// ```
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.acquire(self.mr).await;
        RwLockWriteGuard {
            permits_acquired: self.mr,
            s: &self.s,
            data: self.c.get(),
            marker: PhantomData,
        }
    }

    /// Blockingly locks this `RwLock` with exclusive write access.
    ///
    /// This method is intended for use cases where you need to use this
    /// rwlock in asynchronous code as well as in synchronous code.
    ///
    /// Returns an RAII guard which will drop the write access of this
    /// `RwLock` when dropped.
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
    /// use weft::sync::RwLock;
    ///
    /// #[weft::main]
    /// async fn main() {
    ///     let rwlock = Arc::new(RwLock::new(1));
    ///     let read_lock = rwlock.read().await;
    ///
    ///     let blocking_task = weft::task::spawn_blocking({
    ///         let rwlock = Arc::clone(&rwlock);
    ///         move || {
    ///             // This shall block until the `read_lock` is released.
    ///             let mut write_lock = rwlock.blocking_write();
    ///             *write_lock = 2;
    ///         }
    ///     });
    ///
    ///     assert_eq!(*read_lock, 1);
    ///     // Release the last outstanding read lock.
    ///     drop(read_lock);
    ///
    ///     // Await the completion of the blocking task.
    ///     blocking_task.await.unwrap();
    ///
    ///     // Assert uncontended.
    ///     let read_lock = rwlock.try_read().unwrap();
    ///     assert_eq!(*read_lock, 2);
    /// }
    /// ```
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        super::block_on::block_on("RwLock::blocking_write", self.write())
    }

    /// Locks this `RwLock` with exclusive write access, causing the current
    /// task to yield until the lock has been acquired.
    ///
    /// This method is identical to [`RwLock::write`], except that the
    /// returned guard references the `RwLock` with an [`Arc`] rather than by
    /// borrowing it.
    ///
    /// # Cancel safety
    ///
    /// Cancelling a call to `write_owned` makes you lose your place in the
    /// queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::RwLock;
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let lock = Arc::new(RwLock::new(1));
    ///
    /// let mut n = lock.write_owned().await;
    /// *n = 2;
    /// # }
    /// ```
    pub async fn write_owned(self: Arc<Self>) -> OwnedRwLockWriteGuard<T> {
        self.acquire(self.mr).await;
        OwnedRwLockWriteGuard {
            permits_acquired: self.mr,
            data: self.c.get(),
            lock: self,
            _p: PhantomData,
        }
    }

    /// Attempts to acquire this `RwLock` with exclusive write access.
    ///
    /// If the access couldn't be acquired immediately, returns
    /// [`TryLockError`]. Otherwise, an RAII guard is returned which will
    /// release write access when dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::RwLock;
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let rw = RwLock::new(1);
    ///
    /// let v = rw.read().await;
    /// assert_eq!(*v, 1);
    ///
    /// assert!(rw.try_write().is_err());
    /// # }
    /// ```
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        self.try_acquire(self.mr)?;
        Ok(RwLockWriteGuard {
            permits_acquired: self.mr,
            s: &self.s,
            data: self.c.get(),
            marker: PhantomData,
        })
    }

    /// Attempts to acquire this `RwLock` with exclusive write access.
    ///
    /// This method is identical to [`RwLock::try_write`], except that the
    /// returned guard references the `RwLock` with an [`Arc`] rather than by
    /// borrowing it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::RwLock;
    ///
    /// let rw = Arc::new(RwLock::new(1));
    ///
    /// let v = Arc::clone(&rw).try_read_owned().unwrap();
    /// assert!(Arc::clone(&rw).try_write_owned().is_err());
    /// drop(v);
    /// let w = rw.try_write_owned().unwrap();
    /// assert_eq!(*w, 1);
    /// ```
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        self.try_acquire(self.mr)?;
        Ok(OwnedRwLockWriteGuard {
            permits_acquired: self.mr,
            data: self.c.get(),
            lock: self,
            _p: PhantomData,
        })
    }

    /// Returns a mutable reference to the underlying data.
    ///
    /// Since this call borrows the `RwLock` mutably, no actual locking
    /// needs to take place -- the mutable borrow statically guarantees no
    /// locks exist.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::RwLock;
    ///
    /// let mut lock = RwLock::new(1);
    ///
    /// let n = lock.get_mut();
    /// *n = 2;
    /// assert_eq!(lock.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.c.get_mut()
    }

    /// Consumes the lock, returning the underlying data.
    pub fn into_inner(self) -> T
    where
        T: Sized,
    {
        self.c.into_inner()
    }

    async fn acquire(&self, permits: u32) {
        // The lock's semaphore is never closed.
        if self.s.acquire(permits as usize).await.is_err() {
            unreachable!("an RwLock's semaphore is never closed");
        }
    }

    fn try_acquire(&self, permits: u32) -> Result<(), TryLockError> {
        match self.s.try_acquire(permits as usize) {
            Ok(()) => Ok(()),
            Err(TryAcquireError::NoPermits) => Err(TryLockError(())),
            Err(TryAcquireError::Closed) => unreachable!("an RwLock's semaphore is never closed"),
        }
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(s: T) -> Self {
        Self::new(s)
    }
}

impl<T> Default for RwLock<T>
where
    T: Default,
{
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: ?Sized> std::fmt::Debug for RwLock<T>
where
    T: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(inner) => d.field("data", &&*inner),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}
