//! `OnceCell`: a value initialized once, asynchronously, by the first task
//! that asks for it.
//!
//! A one-permit [batch semaphore](super::batch_semaphore) picks the
//! initializer: whoever holds the permit may write the value; once written,
//! `value_set` is stored (release) and the semaphore closed, which tells
//! every waiting task to read the value. If the initializer is cancelled or
//! fails, its permit goes to the next waiter, which tries in turn.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use super::batch_semaphore::{Semaphore, TryAcquireError};
use crate::sys::loom::{AtomicU8, UnsafeCell};

/// A thread-safe cell that can be written to only once.
///
/// A `OnceCell` is typically used for global variables that need to be
/// initialized once on first use, but need no further changes. The
/// `OnceCell` in weft allows the initialization procedure to be
/// asynchronous.
///
/// # Examples
///
/// ```
/// use weft::sync::OnceCell;
///
/// async fn some_computation() -> u32 {
///     1 + 1
/// }
///
/// static ONCE: OnceCell<u32> = OnceCell::const_new();
///
/// # #[weft::main(flavor = "current_thread")]
/// # async fn main() {
/// let result = ONCE.get_or_init(some_computation).await;
/// assert_eq!(*result, 2);
/// # }
/// ```
///
/// It is often useful to write a wrapper method for accessing the value.
///
/// ```
/// use weft::sync::OnceCell;
///
/// static ONCE: OnceCell<u32> = OnceCell::const_new();
///
/// async fn get_global_integer() -> &'static u32 {
///     ONCE.get_or_init(|| async { 1 + 1 }).await
/// }
///
/// # #[weft::main(flavor = "current_thread")]
/// # async fn main() {
/// let result = get_global_integer().await;
/// assert_eq!(*result, 2);
/// # }
/// ```
pub struct OnceCell<T> {
    /// 1 once `value` holds a value (stored with release after writing
    /// it); never goes back to 0 while shared.
    value_set: AtomicU8,
    /// Written only by the holder of the semaphore's permit while
    /// `value_set` is 0; read by anyone once it is 1.
    value: UnsafeCell<MaybeUninit<T>>,
    /// One permit: the right to initialize. Closed once the value is set.
    semaphore: Semaphore,
}

// SAFETY: `get` hands out `&T` to any thread (`T: Sync`), and `set` on a
// shared cell moves a `T` in from any thread (`T: Send`).
unsafe impl<T: Sync + Send> Sync for OnceCell<T> {}
// SAFETY: moving the cell moves its `T`.
unsafe impl<T: Send> Send for OnceCell<T> {}

impl<T> Default for OnceCell<T> {
    fn default() -> OnceCell<T> {
        OnceCell::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.get())
            .finish()
    }
}

impl<T: Clone> Clone for OnceCell<T> {
    fn clone(&self) -> OnceCell<T> {
        OnceCell::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for OnceCell<T> {
    fn eq(&self, other: &OnceCell<T>) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceCell<T> {}

impl<T> Drop for OnceCell<T> {
    fn drop(&mut self) {
        if self.initialized_mut() {
            self.value.with_mut(|ptr| {
                // SAFETY: `&mut self` and the value is initialized.
                unsafe { ptr::drop_in_place((*ptr).as_mut_ptr()) }
            });
        }
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(value: T) -> Self {
        OnceCell {
            value_set: AtomicU8::new(1),
            value: UnsafeCell::new(MaybeUninit::new(value)),
            semaphore: Semaphore::new_closed(),
        }
    }
}

impl<T> OnceCell<T> {
    /// Creates a new empty `OnceCell` instance.
    pub fn new() -> Self {
        OnceCell {
            value_set: AtomicU8::new(0),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            semaphore: Semaphore::new(1),
        }
    }

    /// Creates a new empty `OnceCell` instance.
    ///
    /// Equivalent to `OnceCell::new`, except that it can be used in static
    /// variables.
    ///
    /// # Example
    ///
    /// ```
    /// use weft::sync::OnceCell;
    ///
    /// static ONCE: OnceCell<u32> = OnceCell::const_new();
    ///
    /// async fn get_global_integer() -> &'static u32 {
    ///     ONCE.get_or_init(|| async { 1 + 1 }).await
    /// }
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let result = get_global_integer().await;
    /// assert_eq!(*result, 2);
    /// # }
    /// ```
    #[cfg(not(weft_loom))]
    pub const fn const_new() -> Self {
        OnceCell {
            value_set: AtomicU8::new(0),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            semaphore: Semaphore::const_new(1),
        }
    }

    /// Creates a new `OnceCell` that contains the provided value, if any.
    ///
    /// If the `Option` is `None`, this is equivalent to `OnceCell::new`.
    pub fn new_with(value: Option<T>) -> Self {
        match value {
            Some(v) => OnceCell::from(v),
            None => OnceCell::new(),
        }
    }

    /// Creates a new `OnceCell` that contains the provided value.
    ///
    /// # Example
    ///
    /// ```
    /// use weft::sync::OnceCell;
    ///
    /// static ONCE: OnceCell<u32> = OnceCell::const_new_with(1);
    ///
    /// async fn get_global_integer() -> &'static u32 {
    ///     ONCE.get_or_init(|| async { 1 + 1 }).await
    /// }
    ///
    /// # #[weft::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let result = get_global_integer().await;
    /// assert_eq!(*result, 1);
    /// # }
    /// ```
    #[cfg(not(weft_loom))]
    pub const fn const_new_with(value: T) -> Self {
        OnceCell {
            value_set: AtomicU8::new(1),
            value: UnsafeCell::new(MaybeUninit::new(value)),
            semaphore: Semaphore::const_new_closed(),
        }
    }

    /// Returns `true` if the `OnceCell` currently contains a value, and
    /// `false` otherwise.
    pub fn initialized(&self) -> bool {
        // Acquire: whoever sees 1 sees the value written before it.
        self.value_set.load(Acquire) == 1
    }

    fn initialized_mut(&mut self) -> bool {
        self.value_set.load(Relaxed) == 1
    }

    /// # Safety
    ///
    /// The cell is initialized.
    unsafe fn get_unchecked(&self) -> &T {
        // SAFETY: caller: initialized, and an initialized value is never
        // written again while shared.
        self.value.with(|ptr| unsafe { &*(*ptr).as_ptr() })
    }

    /// Writes the value (the caller holds the permit), publishes it and
    /// closes the semaphore so that every waiter reads it.
    fn set_value(&self, value: T) -> &T {
        self.value.with_mut(|ptr| {
            // SAFETY: the caller holds the semaphore's only permit and the
            // value is not set, so nobody else reads or writes it.
            unsafe { (*ptr).as_mut_ptr().write(value) }
        });
        self.value_set.store(1, Release);
        // The permit is never returned: closing wakes the waiters, who
        // then read the value.
        self.semaphore.close();
        // SAFETY: just initialized.
        unsafe { self.get_unchecked() }
    }

    /// Returns a reference to the value currently stored in the `OnceCell`,
    /// or `None` if the `OnceCell` is empty.
    pub fn get(&self) -> Option<&T> {
        if self.initialized() {
            // SAFETY: initialized.
            Some(unsafe { self.get_unchecked() })
        } else {
            None
        }
    }

    /// Returns a mutable reference to the value currently stored in the
    /// `OnceCell`, or `None` if the `OnceCell` is empty.
    ///
    /// Since this call borrows the `OnceCell` mutably, it is safe to mutate
    /// the value inside the `OnceCell` — the mutable borrow statically
    /// guarantees no other references exist.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        if self.initialized_mut() {
            Some(self.value.with_mut(|ptr| {
                // SAFETY: initialized, and `&mut self` excludes other
                // references.
                unsafe { &mut *(*ptr).as_mut_ptr() }
            }))
        } else {
            None
        }
    }

    /// Sets the value of the `OnceCell` to the given value if the
    /// `OnceCell` is empty.
    ///
    /// If the `OnceCell` already has a value, this call will fail with an
    /// [`SetError::AlreadyInitializedError`].
    ///
    /// If the `OnceCell` is empty, but some other task is currently trying
    /// to set the value, this call will fail with
    /// [`SetError::InitializingError`].
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::OnceCell;
    ///
    /// let cell = OnceCell::new();
    /// assert!(cell.set(1).is_ok());
    /// assert!(cell.set(2).unwrap_err().is_already_init_err());
    /// assert_eq!(cell.get(), Some(&1));
    /// ```
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        if self.initialized() {
            return Err(SetError::AlreadyInitializedError(value));
        }
        match self.semaphore.try_acquire(1) {
            Ok(()) => {
                self.set_value(value);
                Ok(())
            }
            // Another task holds the permit: it is initializing.
            Err(TryAcquireError::NoPermits) => Err(SetError::InitializingError(value)),
            // Closed: initialized.
            Err(TryAcquireError::Closed) => Err(SetError::AlreadyInitializedError(value)),
        }
    }

    /// Gets the value currently in the `OnceCell`, or initialize it with the
    /// given asynchronous operation.
    ///
    /// If some other task is currently working on initializing the
    /// `OnceCell`, this call will wait for that other task to finish, then
    /// return the value that the other task produced.
    ///
    /// If the provided operation is cancelled or panics, the initialization
    /// attempt is cancelled. If there are other tasks waiting for the value
    /// to be initialized, one of them will start another attempt at
    /// initializing the value.
    ///
    /// This will deadlock if `f` tries to initialize the cell recursively.
    pub async fn get_or_init<F, Fut>(&self, f: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        if let Some(value) = self.get() {
            return value;
        }
        match self.semaphore.acquire(1).await {
            Ok(()) => {
                // Gives the permit back if `f` panics or is cancelled.
                let permit = Permit(&self.semaphore);
                let value = f().await;
                permit.keep();
                self.set_value(value)
            }
            // SAFETY: the semaphore is closed only once the value is set.
            Err(_) => unsafe { self.get_unchecked() },
        }
    }

    /// Gets the value currently in the `OnceCell`, or initialize it with the
    /// given asynchronous operation.
    ///
    /// If some other task is currently working on initializing the
    /// `OnceCell`, this call will wait for that other task to finish, then
    /// return the value that the other task produced.
    ///
    /// If the provided operation returns an error, is cancelled or panics,
    /// the initialization attempt is cancelled. If there are other tasks
    /// waiting for the value to be initialized, one of them will start
    /// another attempt at initializing the value.
    ///
    /// This will deadlock if `f` tries to initialize the cell recursively.
    pub async fn get_or_try_init<E, F, Fut>(&self, f: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(value) = self.get() {
            return Ok(value);
        }
        match self.semaphore.acquire(1).await {
            Ok(()) => {
                let permit = Permit(&self.semaphore);
                let value = f().await?;
                permit.keep();
                Ok(self.set_value(value))
            }
            // SAFETY: the semaphore is closed only once the value is set.
            Err(_) => Ok(unsafe { self.get_unchecked() }),
        }
    }

    /// Takes the value from the cell, destroying the cell in the process.
    /// Returns `None` if the cell is empty.
    pub fn into_inner(mut self) -> Option<T> {
        if self.initialized_mut() {
            // Empty for `Drop`, which then has nothing to drop.
            self.value_set.store(0, Relaxed);
            Some(self.value.with(|ptr| {
                // SAFETY: initialized, and `value_set` now says it is not,
                // so the value is read out exactly once.
                unsafe { ptr::read(ptr).assume_init() }
            }))
        } else {
            None
        }
    }

    /// Takes ownership of the current value, leaving the cell empty. Returns
    /// `None` if the cell is empty.
    pub fn take(&mut self) -> Option<T> {
        std::mem::take(self).into_inner()
    }
}

/// The initializer's permit: released on drop (a cancelled or failed
/// attempt), kept once the value is set.
struct Permit<'a>(&'a Semaphore);

impl Permit<'_> {
    fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.0.release(1);
    }
}

/// Errors that can be returned from [`OnceCell::set`].
#[derive(Debug, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell was already initialized when [`OnceCell::set`] was called.
    AlreadyInitializedError(T),

    /// The cell is currently being initialized.
    InitializingError(T),
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("AlreadyInitializedError"),
            SetError::InitializingError(_) => f.write_str("InitializingError"),
        }
    }
}

impl<T: fmt::Debug> Error for SetError<T> {}

impl<T> SetError<T> {
    /// Whether `SetError` is `SetError::AlreadyInitializedError`.
    pub fn is_already_init_err(&self) -> bool {
        matches!(self, SetError::AlreadyInitializedError(_))
    }

    /// Whether `SetError` is `SetError::InitializingError`.
    pub fn is_initializing_err(&self) -> bool {
        matches!(self, SetError::InitializingError(_))
    }
}
