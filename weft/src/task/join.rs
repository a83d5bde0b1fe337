//! `JoinHandle`, `AbortHandle` and `JoinError`.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use super::coop;
use super::id::Id;
use super::raw::{Join, TaskCore};
use crate::sys::lock::{into_inner, lock};

/// An owned permission to await a spawned task's output.
///
/// A `JoinHandle<T>` is a future of `Result<T, JoinError>`. Dropping it
/// *detaches* the task: the task keeps running and its output is dropped when
/// it finishes. [`abort`](JoinHandle::abort) cancels the task instead.
///
/// ```
/// #[weft::main]
/// async fn main() {
///     let handle = weft::spawn(async { 6 * 7 });
///     assert_eq!(handle.await.unwrap(), 42);
/// }
/// ```
pub struct JoinHandle<T> {
    raw: Arc<dyn Join<T>>,
    _output: PhantomData<T>,
}

/// A handle never pins the output: it only holds a reference to the task,
/// and the output is moved out by value. So `&mut handle` can be awaited
/// (in a `select!`, a `timeout`) whatever `T` is, as with tokio's.
impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    pub(crate) fn new(raw: Arc<dyn Join<T>>) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _output: PhantomData,
        }
    }

    /// Cancels the task. Its future is dropped at its next yield point (at
    /// once if it is not running), and awaiting this handle then returns a
    /// [`JoinError`] whose [`is_cancelled`](JoinError::is_cancelled) is true —
    /// unless the task finished first, in which case its output is kept.
    ///
    /// ```
    /// #[weft::main]
    /// async fn main() {
    ///     let handle = weft::spawn(std::future::pending::<()>());
    ///     handle.abort();
    ///     assert!(handle.await.unwrap_err().is_cancelled());
    /// }
    /// ```
    pub fn abort(&self) {
        abort_task(self.raw.clone());
    }

    /// True once the task's future is gone: completed, panicked or cancelled.
    pub fn is_finished(&self) -> bool {
        self.raw.state().is_complete()
    }

    /// A handle that can abort the task without owning its output.
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle {
            raw: self.raw.clone(),
        }
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw.id()
    }
}

fn abort_task(raw: Arc<dyn TaskCore>) {
    raw.state().cancel();
    raw.wake_task();
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let spent = ready!(coop::proceed(cx));
        let mut slot = self.raw.join_slot();
        if let Some(output) = slot.output.take() {
            drop(slot);
            spent.made_progress();
            return Poll::Ready(output);
        }
        assert!(
            !self.raw.state().is_complete(),
            "weft: a JoinHandle was polled after it returned its output"
        );
        match &mut slot.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            waker => *waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

/// As tokio's: a handle touches its task only through the task's state word
/// and the join slot's mutex, so a panic while one is in use cannot leave
/// the task half-updated; the output `T` is only ever moved out whole.
impl<T> UnwindSafe for JoinHandle<T> {}
impl<T> RefUnwindSafe for JoinHandle<T> {}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let mut slot = self.raw.join_slot();
        slot.handle_alive = false;
        slot.waker = None;
        let output = slot.output.take();
        drop(slot);
        if output.is_some() {
            // The output is the task's: its drop sees the task's id. A panic
            // from its `Drop` stays here, as in tokio: dropping a handle
            // does not propagate the task's output's panics.
            let _current = super::id::CurrentTask::enter(self.raw.id());
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(output)));
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .finish()
    }
}

/// Cancels a task without owning its output; cloneable and `Send`.
///
/// ```
/// #[weft::main]
/// async fn main() {
///     let handle = weft::spawn(std::future::pending::<()>());
///     let abort = handle.abort_handle();
///     abort.abort();
///     assert!(handle.await.unwrap_err().is_cancelled());
///     assert!(abort.is_finished());
/// }
/// ```
#[derive(Clone)]
pub struct AbortHandle {
    raw: Arc<dyn TaskCore>,
}

impl AbortHandle {
    /// Cancels the task, as [`JoinHandle::abort`] does.
    pub fn abort(&self) {
        abort_task(self.raw.clone());
    }

    /// True once the task's future is gone.
    pub fn is_finished(&self) -> bool {
        self.raw.state().is_complete()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw.id()
    }
}

/// As tokio's, for the same reason as [`JoinHandle`]'s.
impl UnwindSafe for AbortHandle {}
impl RefUnwindSafe for AbortHandle {}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .finish()
    }
}

/// Why a task produced no output: it was cancelled, or it panicked.
pub struct JoinError {
    id: Id,
    repr: Repr,
}

enum Repr {
    Cancelled,
    // The lock makes the payload `Sync`, so `JoinError` can be too (it only
    // ever hands the payload out by value).
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

impl JoinError {
    pub(crate) fn cancelled(id: Id) -> JoinError {
        JoinError {
            id,
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(id: Id, payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            id,
            repr: Repr::Panic(Mutex::new(payload)),
        }
    }

    /// True if the task was aborted (or the runtime shut down first).
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// True if the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic's payload, to resume it with [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// If the task did not panic (check [`is_panic`](Self::is_panic), or use
    /// [`try_into_panic`](Self::try_into_panic)).
    ///
    /// ```
    /// #[weft::main]
    /// async fn main() {
    ///     let err = weft::spawn(async { panic!("boom") }).await.unwrap_err();
    ///     assert!(err.is_panic());
    ///     let payload = err.into_panic();
    ///     assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    /// }
    /// ```
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.try_into_panic() {
            Ok(payload) => payload,
            Err(_) => panic!("weft: `JoinError::into_panic` on a task that was cancelled"),
        }
    }

    /// The panic's payload, or the error back if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(payload) => Ok(into_inner(payload)),
            Repr::Cancelled => Err(self),
        }
    }

    /// The id of the task that failed.
    pub fn id(&self) -> Id {
        self.id
    }

    fn panic_message(&self) -> Option<String> {
        let Repr::Panic(payload) = &self.repr else {
            return None;
        };
        let payload = lock(&payload);
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_message()) {
            (Repr::Cancelled, _) => write!(f, "task {} was cancelled", self.id),
            (Repr::Panic(_), Some(message)) => {
                write!(f, "task {} panicked with message {message:?}", self.id)
            }
            (Repr::Panic(_), None) => write!(f, "task {} panicked", self.id),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "JoinError::Cancelled({:?})", self.id),
            Repr::Panic(_) => match self.panic_message() {
                Some(message) => write!(f, "JoinError::Panic({:?}, {message:?}, ...)", self.id),
                None => write!(f, "JoinError::Panic({:?}, ...)", self.id),
            },
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for io::Error {
    fn from(err: JoinError) -> io::Error {
        io::Error::other(err.to_string())
    }
}
