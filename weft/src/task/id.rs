//! Task ids, and which task this thread is running.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};

/// A task's id: unique among the tasks of the process, never reused.
///
/// From outside the task it is [`JoinHandle::id`](super::JoinHandle::id) (or [`AbortHandle::id`](super::AbortHandle::id));
/// from inside, [`id()`] or [`try_id()`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

thread_local! {
    /// The task this thread is polling, or whose future or output it is
    /// dropping; `None` elsewhere (a `block_on` future is not a task).
    static CURRENT: Cell<Option<Id>> = const { Cell::new(None) };
}

/// Makes a task current on this thread (for [`id()`]) until it drops, then
/// puts back the one before: a task poll can nest inside another's (a
/// second runtime's `block_on` inside `block_in_place`).
pub(crate) struct CurrentTask(Option<Id>);

impl CurrentTask {
    #[inline]
    pub(crate) fn enter(id: Id) -> CurrentTask {
        CurrentTask(CURRENT.replace(Some(id)))
    }
}

impl Drop for CurrentTask {
    #[inline]
    fn drop(&mut self) {
        CURRENT.set(self.0);
    }
}

/// The [`Id`] of the task being run on this thread: inside a spawned task
/// (also while its future or output is dropped) and inside a
/// [`spawn_blocking`](super::spawn_blocking) closure, which is a task of its own, as in tokio.
///
/// # Panics
///
/// Outside a task — including directly in a `block_on` future, such as the
/// body of `#[weft::main]`, which is not a task. [`try_id`] returns `None`
/// there instead.
///
/// ```
/// #[weft::main]
/// async fn main() {
///     let handle = weft::spawn(async { weft::task::id() });
///     let id = handle.id();
///     assert_eq!(handle.await.unwrap(), id);
/// }
/// ```
#[track_caller]
pub fn id() -> Id {
    match try_id() {
        Some(id) => id,
        None => panic!(
            "weft::task::id: called outside a task (a `block_on` future is not a task); \
             use `weft::task::try_id` to get `None` instead"
        ),
    }
}

/// The [`Id`] of the task being run on this thread, or `None` outside a
/// task (see [`id()`]).
///
/// ```
/// assert_eq!(weft::task::try_id(), None);
/// let rt = weft::runtime::Builder::new_current_thread().build()?;
/// rt.block_on(async {
///     assert_eq!(weft::task::try_id(), None); // not a task
///     let inside = weft::spawn(async { weft::task::try_id() }).await.unwrap();
///     assert!(inside.is_some());
/// });
/// # std::io::Result::Ok(())
/// ```
#[inline]
pub fn try_id() -> Option<Id> {
    CURRENT.get()
}

impl Id {
    pub(crate) fn next() -> Id {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        Id(NonZeroU64::new(id).expect("task ids do not wrap in 2^64 spawns"))
    }

    pub(crate) fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}
