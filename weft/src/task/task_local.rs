//! Task-local storage: `task_local!`, `LocalKey`, `TaskLocalFuture`.
//!
//! A value is set for as long as a future runs inside
//! [`LocalKey::scope`]: each poll of that future puts the value into a
//! thread-local and takes it back out when the poll returns (also when it
//! panics), so the value follows the task from thread to thread on a
//! multi-thread runtime, and two tasks on one thread never see each
//! other's.

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Declares task-local keys, as tokio's `task_local!`: each
/// `static NAME: Type;` becomes a [`LocalKey<Type>`](crate::task::LocalKey),
/// set with [`scope`](crate::task::LocalKey::scope) (or
/// [`sync_scope`](crate::task::LocalKey::sync_scope)) and read with
/// [`with`](crate::task::LocalKey::with), [`get`](crate::task::LocalKey::get)
/// and their `try_` forms.
///
/// ```
/// weft::task_local! {
///     static REQUEST_ID: u64;
///     pub static USER: String;
/// }
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() {
///     REQUEST_ID
///         .scope(7, async {
///             assert_eq!(REQUEST_ID.get(), 7);
///             weft::task::yield_now().await;
///             assert_eq!(REQUEST_ID.get(), 7);
///         })
///         .await;
///     assert!(REQUEST_ID.try_get().is_err(), "not set outside the scope");
/// }
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $crate::__task_local_key!($(#[$attr])* $vis $name, $t);
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $crate::__task_local_key!($(#[$attr])* $vis $name, $t);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __task_local_key {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = {
            ::std::thread_local! {
                static SLOT: ::std::cell::RefCell<::std::option::Option<$t>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }
            $crate::task::LocalKey { slot: SLOT }
        };
    };
}

/// A task-local key, made by [`task_local!`](crate::task_local). Unlike a
/// `thread_local!`, it has no value until a [`scope`](Self::scope) gives it
/// one.
pub struct LocalKey<T: 'static> {
    /// The thread-local the value lives in while a scope's future is being
    /// polled (filled by the macro).
    #[doc(hidden)]
    pub slot: std::thread::LocalKey<RefCell<Option<T>>>,
}

/// Why a value could not be put in place for a scope.
enum ScopeError {
    /// The key is being accessed right now (`with` on it is running).
    Borrowed,
    /// The thread's storage is being torn down.
    Destroyed,
}

impl ScopeError {
    #[track_caller]
    fn panic(self) -> ! {
        match self {
            ScopeError::Borrowed => panic!(
                "weft::task::LocalKey: cannot enter a task-local scope while the task-local \
                 storage is borrowed (inside `with` on the same key)"
            ),
            ScopeError::Destroyed => panic!(
                "weft::task::LocalKey: cannot enter a task-local scope while the thread's local \
                 storage is being destroyed"
            ),
        }
    }
}

impl<T: 'static> LocalKey<T> {
    /// Runs `future` with the key set to `value`: every poll of the
    /// returned future sees it, whatever thread polls it. Scopes nest: an
    /// inner scope's value hides the outer one's until it ends.
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture {
            key: self,
            value: Some(value),
            future: Some(future),
            _pinned: PhantomPinned,
        }
    }

    /// Runs the closure `f` with the key set to `value`.
    ///
    /// # Panics
    ///
    /// Inside [`with`](Self::with) on the same key, or while the thread is
    /// exiting.
    #[track_caller]
    pub fn sync_scope<F, R>(&'static self, value: T, f: F) -> R
    where
        F: FnOnce() -> R,
    {
        let mut value = Some(value);
        match self.in_scope(&mut value, f) {
            Ok(output) => output,
            Err(err) => err.panic(),
        }
    }

    /// Puts `*value` in the thread-local for the duration of `f`, then takes
    /// it back into `*value` (also if `f` panics), putting back what was
    /// there before (an outer scope's value).
    fn in_scope<F: FnOnce() -> R, R>(
        &'static self,
        value: &mut Option<T>,
        f: F,
    ) -> Result<R, ScopeError> {
        /// Swaps the caller's value and the thread-local's back on drop.
        struct Swap<'a, T: 'static> {
            key: &'static LocalKey<T>,
            value: &'a mut Option<T>,
        }
        impl<T: 'static> Drop for Swap<'_, T> {
            fn drop(&mut self) {
                // Cannot fail: the swap in succeeded on this thread, and
                // `with` never holds the borrow across a scope's end.
                let _ = self.key.slot.try_with(|slot| {
                    if let Ok(mut slot) = slot.try_borrow_mut() {
                        std::mem::swap(&mut *slot, self.value);
                    }
                });
            }
        }
        self.slot
            .try_with(|slot| {
                slot.try_borrow_mut()
                    .map(|mut slot| std::mem::swap(&mut *slot, value))
                    .map_err(|_| ScopeError::Borrowed)
            })
            .map_err(|_| ScopeError::Destroyed)??;
        let _swap_back = Swap { key: self, value };
        Ok(f())
    }

    /// Calls `f` with a reference to the current value.
    ///
    /// # Panics
    ///
    /// If the key has no value here (outside its scopes), as tokio's.
    #[track_caller]
    pub fn with<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&T) -> R,
    {
        match self.try_with(f) {
            Ok(output) => output,
            Err(_) => panic!("cannot access a task-local storage value without setting it first"),
        }
    }

    /// Calls `f` with a reference to the current value, or returns
    /// [`AccessError`] if the key has no value here.
    pub fn try_with<F, R>(&'static self, f: F) -> Result<R, AccessError>
    where
        F: FnOnce(&T) -> R,
    {
        // A scope cannot start inside `f` (its swap finds the slot
        // borrowed and panics), so the value cannot change under `f`.
        let looked = self.slot.try_with(|slot| {
            let slot = slot.try_borrow().ok()?;
            slot.as_ref().map(f)
        });
        match looked {
            Ok(Some(output)) => Ok(output),
            Ok(None) | Err(_) => Err(AccessError { _private: () }),
        }
    }
}

impl<T: Clone + 'static> LocalKey<T> {
    /// A copy of the current value.
    ///
    /// # Panics
    ///
    /// If the key has no value here, as tokio's.
    #[track_caller]
    pub fn get(&'static self) -> T {
        self.with(T::clone)
    }

    /// A copy of the current value, or [`AccessError`] if it has none here.
    pub fn try_get(&'static self) -> Result<T, AccessError> {
        self.try_with(T::clone)
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("LocalKey { .. }")
    }
}

pin_project_lite::pin_project! {
    /// A future run inside a task-local scope: see [`LocalKey::scope`].
    pub struct TaskLocalFuture<T, F>
    where
        T: 'static,
    {
        key: &'static LocalKey<T>,
        value: Option<T>,
        #[pin]
        future: Option<F>,
        // The scope's value stays with this future; nothing else needs it
        // to be `!Unpin`, but tokio's is, and code may rely on it.
        #[pin]
        _pinned: PhantomPinned,
    }

    impl<T, F> PinnedDrop for TaskLocalFuture<T, F>
    where
        T: 'static,
    {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if std::mem::needs_drop::<F>() && this.future.is_some() {
                // Drop the unfinished future with its value set, as its
                // polls had it (if the thread-local can still be reached;
                // otherwise it is dropped plainly, after this).
                let mut future = this.future;
                let _ = this.key.in_scope(this.value, || future.set(None));
            }
        }
    }
}

impl<T: 'static, F> TaskLocalFuture<T, F> {
    /// Takes the scope's value out, ending the scope for later polls
    /// (`with` inside them then finds no value); `None` if taken already.
    pub fn take_value(self: Pin<&mut Self>) -> Option<T> {
        self.project().value.take()
    }
}

impl<T: 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let mut future = this.future;
        let polled = this.key.in_scope(this.value, || {
            let poll = future.as_mut().as_pin_mut().map(|running| running.poll(cx));
            if matches!(poll, Some(Poll::Ready(_))) {
                // Dropped here, while the value is still set.
                future.set(None);
            }
            poll
        });
        match polled {
            Ok(Some(poll)) => poll,
            Ok(None) => panic!("`TaskLocalFuture` polled after it completed"),
            Err(err) => err.panic(),
        }
    }
}

impl<T: fmt::Debug + 'static, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocalFuture")
            .field("value", &self.value)
            .finish_non_exhaustive()
    }
}

/// The key has no value here: outside its scopes, or while the thread is
/// exiting (from [`LocalKey::try_with`] and [`LocalKey::try_get`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AccessError {
    _private: (),
}

impl fmt::Debug for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessError").finish()
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task-local value not set")
    }
}

impl Error for AccessError {}
