//! `SetOnce`: a value set once by anyone, which others can wait for.
//!
//! A state byte picks the one setter (EMPTY → SETTING by CAS), which writes
//! the value, publishes it (SET, release) and then wakes every waiter with
//! `Notify::notify_waiters`. A waiter creates its `Notified` *before*
//! checking the state: if the check misses the value, the setter's
//! `notify_waiters` comes after the `Notified` was created, and wakes it.

use std::error::Error;
use std::fmt;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

use super::Notify;
use crate::sys::loom::{AtomicU8, UnsafeCell};

const EMPTY: u8 = 0;
/// A `set` is writing the value.
const SETTING: u8 = 1;
/// The value is there (and never changes while shared).
const SET: u8 = 2;

/// A thread-safe cell that can be written to only once.
///
/// A `SetOnce` is inspired from python's [`asyncio.Event`] type. It can be
/// used to wait until the value of the `SetOnce` is set like a "Event"
/// mechanism.
///
/// # Example
///
/// ```
/// use weft::sync::{SetOnce, SetOnceError};
///
/// static ONCE: SetOnce<u32> = SetOnce::const_new();
///
/// # #[weft::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), SetOnceError<u32>> {
/// // set the value inside a task somewhere...
/// weft::spawn(async move { ONCE.set(20) });
///
/// // checking with .get doesn't block main thread
/// println!("{:?}", ONCE.get());
///
/// // wait until the value is set
/// println!("{:?}", ONCE.wait().await);
///
/// Ok(())
/// # }
/// ```
///
/// A `SetOnce` is typically used for global variables that need to be
/// initialized once on first use, but need no further changes.
///
/// ```
/// use std::sync::Arc;
/// use weft::sync::{SetOnce, SetOnceError};
///
/// # #[weft::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), SetOnceError<u32>> {
/// let once = SetOnce::new();
///
/// let arc = Arc::new(once);
/// let first_cl = Arc::clone(&arc);
/// let second_cl = Arc::clone(&arc);
///
/// // set the value inside a task
/// weft::spawn(async move { first_cl.set(20) }).await.unwrap()?;
///
/// // wait inside task to not block the main thread
/// weft::spawn(async move {
///     // wait inside async context for the value to be set
///     assert_eq!(*second_cl.wait().await, 20);
/// }).await.unwrap();
///
/// // subsequent set calls will fail
/// assert!(arc.set(30).is_err());
///
/// println!("{:?}", arc.get());
///
/// Ok(())
/// # }
/// ```
///
/// [`asyncio.Event`]: https://docs.python.org/3/library/asyncio-sync.html#asyncio.Event
pub struct SetOnce<T> {
    /// EMPTY, SETTING or SET.
    state: AtomicU8,
    /// Written only by the setter that moved `state` to SETTING; read by
    /// anyone once it is SET.
    value: UnsafeCell<MaybeUninit<T>>,
    notify: Notify,
}

// SAFETY: `get` hands out `&T` to any thread (`T: Sync`), and `set` on a
// shared cell moves a `T` in from any thread (`T: Send`).
unsafe impl<T: Sync + Send> Sync for SetOnce<T> {}
// SAFETY: moving the cell moves its `T`.
unsafe impl<T: Send> Send for SetOnce<T> {}

impl<T> Default for SetOnce<T> {
    fn default() -> SetOnce<T> {
        SetOnce::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for SetOnce<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetOnce")
            .field("value", &self.get())
            .finish()
    }
}

impl<T: Clone> Clone for SetOnce<T> {
    fn clone(&self) -> SetOnce<T> {
        SetOnce::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for SetOnce<T> {
    fn eq(&self, other: &SetOnce<T>) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for SetOnce<T> {}

impl<T> Drop for SetOnce<T> {
    fn drop(&mut self) {
        if self.state.load(Relaxed) == SET {
            self.value.with_mut(|ptr| {
                // SAFETY: `&mut self`, and the value is initialized.
                unsafe { ptr::drop_in_place((*ptr).as_mut_ptr()) }
            });
        }
    }
}

impl<T> From<T> for SetOnce<T> {
    fn from(value: T) -> Self {
        SetOnce {
            state: AtomicU8::new(SET),
            value: UnsafeCell::new(MaybeUninit::new(value)),
            notify: Notify::new(),
        }
    }
}

impl<T> SetOnce<T> {
    /// Creates a new empty `SetOnce` instance.
    pub fn new() -> Self {
        SetOnce {
            state: AtomicU8::new(EMPTY),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            notify: Notify::new(),
        }
    }

    /// Creates a new empty `SetOnce` instance.
    ///
    /// Equivalent to `SetOnce::new`, except that it can be used in static
    /// variables.
    ///
    /// # Example
    ///
    /// ```
    /// use weft::sync::{SetOnce, SetOnceError};
    ///
    /// static ONCE: SetOnce<u32> = SetOnce::const_new();
    ///
    /// fn get_global_integer() -> Result<Option<&'static u32>, SetOnceError<u32>> {
    ///     ONCE.set(2)?;
    ///     Ok(ONCE.get())
    /// }
    ///
    /// let result = get_global_integer().unwrap();
    /// assert_eq!(result, Some(&2));
    /// ```
    #[cfg(not(weft_loom))]
    pub const fn const_new() -> Self {
        SetOnce {
            state: AtomicU8::new(EMPTY),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            notify: Notify::const_new(),
        }
    }

    /// Creates a new `SetOnce` that contains the provided value, if any.
    ///
    /// If the `Option` is `None`, this is equivalent to `SetOnce::new`.
    pub fn new_with(value: Option<T>) -> Self {
        match value {
            Some(v) => SetOnce::from(v),
            None => SetOnce::new(),
        }
    }

    /// Creates a new `SetOnce` that contains the provided value.
    ///
    /// # Example
    ///
    /// ```
    /// use weft::sync::SetOnce;
    ///
    /// static ONCE: SetOnce<u32> = SetOnce::const_new_with(1);
    ///
    /// assert_eq!(ONCE.get(), Some(&1));
    /// ```
    #[cfg(not(weft_loom))]
    pub const fn const_new_with(value: T) -> Self {
        SetOnce {
            state: AtomicU8::new(SET),
            value: UnsafeCell::new(MaybeUninit::new(value)),
            notify: Notify::const_new(),
        }
    }

    /// Returns `true` if the `SetOnce` currently contains a value, and
    /// `false` otherwise.
    pub fn initialized(&self) -> bool {
        // Acquire: whoever sees SET sees the value written before it.
        self.state.load(Acquire) == SET
    }

    /// Returns a reference to the value currently stored in the `SetOnce`,
    /// or `None` if the `SetOnce` is empty.
    pub fn get(&self) -> Option<&T> {
        if self.initialized() {
            // SAFETY: SET: the value is initialized and never written again
            // while shared.
            Some(self.value.with(|ptr| unsafe { &*(*ptr).as_ptr() }))
        } else {
            None
        }
    }

    /// Sets the value of the `SetOnce` to the given value if the `SetOnce`
    /// is empty.
    ///
    /// If the `SetOnce` already has a value (or another `set` is storing
    /// one right now), this call will fail with an [`SetOnceError`].
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::sync::SetOnce;
    ///
    /// let once = SetOnce::new();
    /// assert!(once.set(1).is_ok());
    /// assert_eq!(once.set(2).unwrap_err().0, 2);
    /// assert_eq!(once.get(), Some(&1));
    /// ```
    pub fn set(&self, value: T) -> Result<(), SetOnceError<T>> {
        if self
            .state
            .compare_exchange(EMPTY, SETTING, AcqRel, Acquire)
            .is_err()
        {
            return Err(SetOnceError(value));
        }
        self.value.with_mut(|ptr| {
            // SAFETY: SETTING is ours alone: nobody else writes the value,
            // and nobody reads it before SET.
            unsafe { (*ptr).as_mut_ptr().write(value) }
        });
        self.state.store(SET, Release);
        self.notify.notify_waiters();
        Ok(())
    }

    /// Takes the value from the cell, destroying the cell in the process.
    /// Returns `None` if the cell is empty.
    pub fn into_inner(self) -> Option<T> {
        if self.state.load(Relaxed) == SET {
            // Empty for `Drop`, which then has nothing to drop.
            self.state.store(EMPTY, Relaxed);
            Some(self.value.with(|ptr| {
                // SAFETY: initialized, and the state now says it is not, so
                // the value is read out exactly once.
                unsafe { ptr::read(ptr).assume_init() }
            }))
        } else {
            None
        }
    }

    /// Waits until the value is set.
    ///
    /// If the `SetOnce` is already initialized, it will return the value
    /// immediately.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe.
    pub async fn wait(&self) -> &T {
        loop {
            // Created before the check: the setter's `notify_waiters`
            // comes after it, so it is woken even if the check misses.
            let notified = self.notify.notified();
            if let Some(value) = self.get() {
                return value;
            }
            notified.await;
        }
    }
}

/// Error that can be returned from [`SetOnce::set`].
///
/// This error means that the `SetOnce` was already initialized when set
/// was called.
#[derive(Debug, PartialEq, Eq)]
pub struct SetOnceError<T>(pub T);

impl<T> fmt::Display for SetOnceError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SetOnceError")
    }
}

impl<T: fmt::Debug> Error for SetOnceError<T> {}
