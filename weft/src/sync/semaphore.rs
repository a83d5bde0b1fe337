//! `Semaphore`: a fair counting semaphore, and its permits.

use std::sync::Arc;

use super::batch_semaphore as ll;
use super::{AcquireError, TryAcquireError};

/// Counting semaphore performing asynchronous permit acquisition.
///
/// A semaphore maintains a set of permits. Permits are used to synchronize
/// access to a shared resource. A semaphore differs from a mutex in that it
/// can allow more than one concurrent caller to access the shared resource
/// at a time.
///
/// When `acquire` is called and the semaphore has remaining permits, the
/// function immediately returns a permit. However, if no remaining permits
/// are available, `acquire` (asynchronously) waits until an outstanding
/// permit is dropped. At this point, the freed permit is assigned to the
/// caller.
///
/// This `Semaphore` is fair, which means that permits are given out in the
/// order they were requested. This fairness is also applied when
/// `acquire_many` gets involved, so if a call to `acquire_many` at the front
/// of the queue requests more permits than currently available, this can
/// prevent a call to `acquire` from completing, even if the semaphore has
/// enough permits to complete the call to `acquire`.
///
/// Acquiring takes part in weft's cooperative budget: a task that acquires
/// in a loop yields once its budget is spent, even if permits are always
/// there.
///
/// # Memory ordering
///
/// Acquiring a permit, releasing permits (dropping a permit,
/// [`add_permits`](Semaphore::add_permits),
/// [`forget_permits`](Semaphore::forget_permits)) and
/// [`close`](Semaphore::close) are `AcqRel` operations on one counter: data
/// written before releasing a permit is seen by whoever acquires it later.
///
/// # Examples
///
/// ```
/// use weft::sync::{Semaphore, TryAcquireError};
///
/// # #[weft::main(flavor = "current_thread")]
/// # async fn main() {
/// let semaphore = Semaphore::new(3);
///
/// let a_permit = semaphore.acquire().await.unwrap();
/// let two_permits = semaphore.acquire_many(2).await.unwrap();
///
/// assert_eq!(semaphore.available_permits(), 0);
///
/// let permit_attempt = semaphore.try_acquire();
/// assert_eq!(permit_attempt.err(), Some(TryAcquireError::NoPermits));
/// # }
/// ```
///
/// Limiting the number of tasks doing something at once, with permits that
/// move into the tasks:
///
/// ```
/// use std::sync::Arc;
/// use weft::sync::Semaphore;
///
/// # #[weft::main(flavor = "current_thread")]
/// # async fn main() {
/// let semaphore = Arc::new(Semaphore::new(5));
/// let mut tasks = Vec::new();
/// for id in 0..50 {
///     let permit = semaphore.clone().acquire_owned().await.unwrap();
///     tasks.push(weft::spawn(async move {
///         let result = id * 2; // at most 5 of these run at once
///         drop(permit);
///         result
///     }));
/// }
/// for task in tasks {
///     task.await.unwrap();
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Semaphore {
    ll_sem: ll::Semaphore,
}

/// A permit from the semaphore.
///
/// This type is created by the [`acquire`] method.
///
/// [`acquire`]: crate::sync::Semaphore::acquire()
#[must_use]
#[clippy::has_significant_drop]
#[derive(Debug)]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: u32,
}

/// An owned permit from the semaphore.
///
/// This type is created by the [`acquire_owned`] method.
///
/// [`acquire_owned`]: crate::sync::Semaphore::acquire_owned()
#[must_use]
#[clippy::has_significant_drop]
#[derive(Debug)]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    permits: u32,
}

impl Semaphore {
    /// The maximum number of permits which a semaphore can hold. It is
    /// `usize::MAX >> 3`.
    ///
    /// Exceeding this limit typically results in a panic.
    pub const MAX_PERMITS: usize = ll::Semaphore::MAX_PERMITS;

    /// Creates a new semaphore with the initial number of permits.
    ///
    /// # Panics
    ///
    /// Panics if `permits` exceeds [`Semaphore::MAX_PERMITS`].
    #[track_caller]
    pub fn new(permits: usize) -> Self {
        Semaphore {
            ll_sem: ll::Semaphore::new(permits),
        }
    }

    /// Creates a new semaphore with the initial number of permits.
    ///
    /// When using the `tracing` unstable feature, a `Semaphore` created with
    /// `const_new` will not be instrumented. (weft has no such feature.)
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::Semaphore;
    ///
    /// static SEM: Semaphore = Semaphore::const_new(10);
    /// assert_eq!(SEM.available_permits(), 10);
    /// ```
    #[cfg(not(weft_loom))]
    pub const fn const_new(permits: usize) -> Self {
        Semaphore {
            ll_sem: ll::Semaphore::const_new(permits),
        }
    }

    /// Returns the current number of available permits.
    pub fn available_permits(&self) -> usize {
        self.ll_sem.available_permits()
    }

    /// Adds `n` new permits to the semaphore.
    ///
    /// The maximum number of permits is [`Semaphore::MAX_PERMITS`], and this
    /// function will panic if the limit is exceeded.
    #[track_caller]
    pub fn add_permits(&self, n: usize) {
        self.ll_sem.release(n);
    }

    /// Decrease a semaphore's permits by a maximum of `n`.
    ///
    /// If there are insufficient permits and it's not possible to reduce by
    /// `n`, return the number of permits that were actually reduced.
    pub fn forget_permits(&self, n: usize) -> usize {
        self.ll_sem.forget_permits(n)
    }

    /// Acquires a permit from the semaphore.
    ///
    /// If the semaphore has been closed, this returns an [`AcquireError`].
    /// Otherwise, this returns a [`SemaphorePermit`] representing the
    /// acquired permit.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute permits in the order
    /// they were requested. Cancelling a call to `acquire` makes you lose
    /// your place in the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::Semaphore;
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let semaphore = Semaphore::new(2);
    ///
    /// let permit_1 = semaphore.acquire().await.unwrap();
    /// assert_eq!(semaphore.available_permits(), 1);
    ///
    /// let permit_2 = semaphore.acquire().await.unwrap();
    /// assert_eq!(semaphore.available_permits(), 0);
    ///
    /// drop(permit_1);
    /// assert_eq!(semaphore.available_permits(), 1);
    /// # }
    /// ```
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.ll_sem.acquire(1).await?;
        Ok(SemaphorePermit {
            sem: self,
            permits: 1,
        })
    }

    /// Acquires `n` permits from the semaphore.
    ///
    /// If the semaphore has been closed, this returns an [`AcquireError`].
    /// Otherwise, this returns a [`SemaphorePermit`] representing the
    /// acquired permits.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute permits in the order
    /// they were requested. Cancelling a call to `acquire_many` makes you
    /// lose your place in the queue; permits already assigned to it go to
    /// the waiters behind it.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::Semaphore;
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let semaphore = Semaphore::new(5);
    ///
    /// let permit = semaphore.acquire_many(3).await.unwrap();
    /// assert_eq!(semaphore.available_permits(), 2);
    /// # }
    /// ```
    pub async fn acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.ll_sem.acquire(n as usize).await?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Tries to acquire a permit from the semaphore.
    ///
    /// If the semaphore has been closed, this returns a
    /// [`TryAcquireError::Closed`] and a [`TryAcquireError::NoPermits`] if
    /// there are no permits left. Otherwise, this returns a
    /// [`SemaphorePermit`] representing the acquired permits.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::{Semaphore, TryAcquireError};
    ///
    /// let semaphore = Semaphore::new(2);
    ///
    /// let permit_1 = semaphore.try_acquire().unwrap();
    /// assert_eq!(semaphore.available_permits(), 1);
    ///
    /// let permit_2 = semaphore.try_acquire().unwrap();
    /// assert_eq!(semaphore.available_permits(), 0);
    ///
    /// let permit_3 = semaphore.try_acquire();
    /// assert_eq!(permit_3.err(), Some(TryAcquireError::NoPermits));
    /// ```
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.ll_sem.try_acquire(1).map(|()| SemaphorePermit {
            sem: self,
            permits: 1,
        })
    }

    /// Tries to acquire `n` permits from the semaphore.
    ///
    /// If the semaphore has been closed, this returns a
    /// [`TryAcquireError::Closed`] and a [`TryAcquireError::NoPermits`] if
    /// there are not enough permits left. Otherwise, this returns a
    /// [`SemaphorePermit`] representing the acquired permits.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::{Semaphore, TryAcquireError};
    ///
    /// let semaphore = Semaphore::new(4);
    ///
    /// let permit_1 = semaphore.try_acquire_many(3).unwrap();
    /// assert_eq!(semaphore.available_permits(), 1);
    ///
    /// let permit_2 = semaphore.try_acquire_many(2);
    /// assert_eq!(permit_2.err(), Some(TryAcquireError::NoPermits));
    /// ```
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.ll_sem
            .try_acquire(n as usize)
            .map(|()| SemaphorePermit {
                sem: self,
                permits: n,
            })
    }

    /// Acquires a permit, blocking the current thread until it is there.
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
    /// use weft::sync::Semaphore;
    ///
    /// let semaphore = Arc::new(Semaphore::new(1));
    /// let permit = semaphore.blocking_acquire().unwrap();
    /// assert_eq!(semaphore.available_permits(), 0);
    /// drop(permit);
    /// ```
    #[track_caller]
    pub fn blocking_acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        super::block_on::block_on("Semaphore::blocking_acquire", self.acquire())
    }

    /// Acquires `n` permits, blocking the current thread until they are
    /// there.
    ///
    /// # Panics
    ///
    /// This function panics if called within an asynchronous execution
    /// context.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(5);
    /// let permit = semaphore.blocking_acquire_many(3).unwrap();
    /// assert_eq!(semaphore.available_permits(), 2);
    /// drop(permit);
    /// ```
    #[track_caller]
    pub fn blocking_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        super::block_on::block_on("Semaphore::blocking_acquire_many", self.acquire_many(n))
    }

    /// Acquires a permit from the semaphore.
    ///
    /// The semaphore must be wrapped in an [`Arc`] to call this method. If
    /// the semaphore has been closed, this returns an [`AcquireError`].
    /// Otherwise, this returns a [`OwnedSemaphorePermit`] representing the
    /// acquired permit.
    ///
    /// # Cancel safety
    ///
    /// Cancelling a call to `acquire_owned` makes you lose your place in the
    /// queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::Semaphore;
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let semaphore = Arc::new(Semaphore::new(3));
    /// let mut join_handles = Vec::new();
    ///
    /// for _ in 0..5 {
    ///     let permit = semaphore.clone().acquire_owned().await.unwrap();
    ///     join_handles.push(weft::spawn(async move {
    ///         // perform task...
    ///         // explicitly own `permit` in the task
    ///         drop(permit);
    ///     }));
    /// }
    ///
    /// for handle in join_handles {
    ///     handle.await.unwrap();
    /// }
    /// # }
    /// ```
    pub async fn acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.ll_sem.acquire(1).await?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: 1,
        })
    }

    /// Acquires `n` permits from the semaphore.
    ///
    /// The semaphore must be wrapped in an [`Arc`] to call this method. If
    /// the semaphore has been closed, this returns an [`AcquireError`].
    /// Otherwise, this returns a [`OwnedSemaphorePermit`] representing the
    /// acquired permits.
    ///
    /// # Cancel safety
    ///
    /// Cancelling a call to `acquire_many_owned` makes you lose your place
    /// in the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::Semaphore;
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let semaphore = Arc::new(Semaphore::new(10));
    /// let permit = semaphore.clone().acquire_many_owned(4).await.unwrap();
    /// assert_eq!(permit.num_permits(), 4);
    /// assert_eq!(semaphore.available_permits(), 6);
    /// # }
    /// ```
    pub async fn acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.ll_sem.acquire(n as usize).await?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Tries to acquire a permit from the semaphore.
    ///
    /// The semaphore must be wrapped in an [`Arc`] to call this method. If
    /// the semaphore has been closed, this returns a
    /// [`TryAcquireError::Closed`] and a [`TryAcquireError::NoPermits`] if
    /// there are no permits left. Otherwise, this returns a
    /// [`OwnedSemaphorePermit`] representing the acquired permit.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::{Semaphore, TryAcquireError};
    ///
    /// let semaphore = Arc::new(Semaphore::new(2));
    ///
    /// let permit_1 = Arc::clone(&semaphore).try_acquire_owned().unwrap();
    /// let permit_2 = Arc::clone(&semaphore).try_acquire_owned().unwrap();
    /// let permit_3 = semaphore.try_acquire_owned();
    /// assert_eq!(permit_3.err(), Some(TryAcquireError::NoPermits));
    /// ```
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.ll_sem.try_acquire(1)?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: 1,
        })
    }

    /// Tries to acquire `n` permits from the semaphore.
    ///
    /// The semaphore must be wrapped in an [`Arc`] to call this method. If
    /// the semaphore has been closed, this returns a
    /// [`TryAcquireError::Closed`] and a [`TryAcquireError::NoPermits`] if
    /// there are not enough permits left. Otherwise, this returns a
    /// [`OwnedSemaphorePermit`] representing the acquired permits.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::{Semaphore, TryAcquireError};
    ///
    /// let semaphore = Arc::new(Semaphore::new(4));
    ///
    /// let permit_1 = Arc::clone(&semaphore).try_acquire_many_owned(3).unwrap();
    /// assert_eq!(semaphore.available_permits(), 1);
    ///
    /// let permit_2 = semaphore.try_acquire_many_owned(2);
    /// assert_eq!(permit_2.err(), Some(TryAcquireError::NoPermits));
    /// ```
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.ll_sem.try_acquire(n as usize)?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Acquires an owned permit, blocking the current thread until it is
    /// there.
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
    /// use weft::sync::Semaphore;
    ///
    /// let semaphore = Arc::new(Semaphore::new(1));
    /// let permit = semaphore.clone().blocking_acquire_owned().unwrap();
    /// assert_eq!(semaphore.available_permits(), 0);
    /// drop(permit);
    /// ```
    #[track_caller]
    pub fn blocking_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        super::block_on::block_on("Semaphore::blocking_acquire_owned", self.acquire_owned())
    }

    /// Acquires `n` owned permits, blocking the current thread until they
    /// are there.
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
    /// use weft::sync::Semaphore;
    ///
    /// let semaphore = Arc::new(Semaphore::new(5));
    /// let permit = semaphore.clone().blocking_acquire_many_owned(3).unwrap();
    /// assert_eq!(semaphore.available_permits(), 2);
    /// drop(permit);
    /// ```
    #[track_caller]
    pub fn blocking_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        super::block_on::block_on(
            "Semaphore::blocking_acquire_many_owned",
            self.acquire_many_owned(n),
        )
    }

    /// Closes the semaphore.
    ///
    /// This prevents the semaphore from issuing new permits and notifies all
    /// pending waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::{Semaphore, TryAcquireError};
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let semaphore = Arc::new(Semaphore::new(1));
    /// let semaphore2 = semaphore.clone();
    ///
    /// weft::spawn(async move {
    ///     let permit = semaphore.acquire_many(2).await;
    ///     assert!(permit.is_err());
    ///     println!("waiter received error");
    /// });
    ///
    /// println!("closing semaphore");
    /// semaphore2.close();
    ///
    /// // Cannot obtain more permits
    /// assert_eq!(semaphore2.try_acquire().err(), Some(TryAcquireError::Closed))
    /// # }
    /// ```
    pub fn close(&self) {
        self.ll_sem.close();
    }

    /// Returns true if the semaphore is closed.
    pub fn is_closed(&self) -> bool {
        self.ll_sem.is_closed()
    }
}

impl<'a> SemaphorePermit<'a> {
    /// Forgets the permit **without** releasing it back to the semaphore.
    /// This can be used to reduce the amount of permits available from a
    /// semaphore.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::Semaphore;
    ///
    /// let sem = Semaphore::new(10);
    /// {
    ///     let permit = sem.try_acquire_many(5).unwrap();
    ///     assert_eq!(sem.available_permits(), 5);
    ///     permit.forget();
    /// }
    ///
    /// // Since we forgot the permit, available permits won't go back to
    /// // its initial value even after the permit is dropped.
    /// assert_eq!(sem.available_permits(), 5);
    /// ```
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// Merge two [`SemaphorePermit`] instances together, consuming `other`
    /// without releasing the permits it holds.
    ///
    /// Permits held by both `self` and `other` are released when `self`
    /// drops.
    ///
    /// # Panics
    ///
    /// This function panics if permits from different [`Semaphore`]
    /// instances are merged.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::Semaphore;
    ///
    /// let sem = Semaphore::new(10);
    /// let mut permit = sem.try_acquire().unwrap();
    ///
    /// for _ in 0..9 {
    ///     let _permit = sem.try_acquire().unwrap();
    ///     // Merge individual permits into a single one.
    ///     permit.merge(_permit)
    /// }
    ///
    /// assert_eq!(sem.available_permits(), 0);
    ///
    /// // Release all permits in a single batch.
    /// drop(permit);
    ///
    /// assert_eq!(sem.available_permits(), 10);
    /// ```
    #[track_caller]
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            std::ptr::eq(self.sem, other.sem),
            "merging permits from different semaphore instances"
        );
        self.permits += other.permits;
        other.permits = 0;
    }

    /// Splits `n` permits from `self` and returns a new [`SemaphorePermit`]
    /// instance that holds `n` permits.
    ///
    /// If there are insufficient permits and it's not possible to reduce by
    /// `n`, returns `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::Semaphore;
    ///
    /// let sem = Semaphore::new(3);
    ///
    /// let mut p1 = sem.try_acquire_many(3).unwrap();
    /// let p2 = p1.split(1).unwrap();
    ///
    /// assert_eq!(p1.num_permits(), 2);
    /// assert_eq!(p2.num_permits(), 1);
    /// ```
    pub fn split(&mut self, n: usize) -> Option<Self> {
        let n = u32::try_from(n).ok()?;
        if n > self.permits {
            return None;
        }
        self.permits -= n;
        Some(SemaphorePermit {
            sem: self.sem,
            permits: n,
        })
    }

    /// Returns the number of permits held by `self`.
    pub fn num_permits(&self) -> usize {
        self.permits as usize
    }
}

impl OwnedSemaphorePermit {
    /// Forgets the permit **without** releasing it back to the semaphore.
    /// This can be used to reduce the amount of permits available from a
    /// semaphore.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::Semaphore;
    ///
    /// let sem = Arc::new(Semaphore::new(10));
    /// {
    ///     let permit = sem.clone().try_acquire_many_owned(5).unwrap();
    ///     assert_eq!(sem.available_permits(), 5);
    ///     permit.forget();
    /// }
    ///
    /// assert_eq!(sem.available_permits(), 5);
    /// ```
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// Merge two [`OwnedSemaphorePermit`] instances together, consuming
    /// `other` without releasing the permits it holds.
    ///
    /// Permits held by both `self` and `other` are released when `self`
    /// drops.
    ///
    /// # Panics
    ///
    /// This function panics if permits from different [`Semaphore`]
    /// instances are merged.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::Semaphore;
    ///
    /// let sem = Arc::new(Semaphore::new(10));
    /// let mut permit = sem.clone().try_acquire_owned().unwrap();
    ///
    /// for _ in 0..9 {
    ///     let _permit = sem.clone().try_acquire_owned().unwrap();
    ///     // Merge individual permits into a single one.
    ///     permit.merge(_permit)
    /// }
    ///
    /// assert_eq!(sem.available_permits(), 0);
    ///
    /// // Release all permits in a single batch.
    /// drop(permit);
    ///
    /// assert_eq!(sem.available_permits(), 10);
    /// ```
    #[track_caller]
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            Arc::ptr_eq(&self.sem, &other.sem),
            "merging permits from different semaphore instances"
        );
        self.permits += other.permits;
        other.permits = 0;
    }

    /// Splits `n` permits from `self` and returns a new
    /// [`OwnedSemaphorePermit`] instance that holds `n` permits.
    ///
    /// If there are insufficient permits and it's not possible to reduce by
    /// `n`, returns `None`.
    ///
    /// # Note
    ///
    /// It will clone the owned `Arc<Semaphore>` to construct the new
    /// instance.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::Semaphore;
    ///
    /// let sem = Arc::new(Semaphore::new(3));
    ///
    /// let mut p1 = sem.try_acquire_many_owned(3).unwrap();
    /// let p2 = p1.split(1).unwrap();
    ///
    /// assert_eq!(p1.num_permits(), 2);
    /// assert_eq!(p2.num_permits(), 1);
    /// ```
    pub fn split(&mut self, n: usize) -> Option<Self> {
        let n = u32::try_from(n).ok()?;
        if n > self.permits {
            return None;
        }
        self.permits -= n;
        Some(OwnedSemaphorePermit {
            sem: self.sem.clone(),
            permits: n,
        })
    }

    /// Returns the [`Semaphore`] from which this permit was acquired.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }

    /// Returns the number of permits held by `self`.
    pub fn num_permits(&self) -> usize {
        self.permits as usize
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.add_permits(self.permits as usize);
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.add_permits(self.permits as usize);
    }
}
