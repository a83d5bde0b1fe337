//! Which runtime this thread has entered.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;

use crate::scheduler;

thread_local! {
    static ENTERED: RefCell<Option<scheduler::Handle>> = const { RefCell::new(None) };
}

/// Makes `handle` the current runtime until the guard drops.
pub(crate) fn enter(handle: scheduler::Handle) -> SetCurrent {
    // During thread teardown (a runtime dropped from a thread-local's
    // destructor) the slot may be gone: then nothing is entered.
    let mut handle = Some(handle);
    let previous = ENTERED
        .try_with(|entered| entered.replace(handle.take()))
        .unwrap_or(None);
    SetCurrent {
        previous,
        _not_send: PhantomData,
    }
}

/// Restores the previously entered runtime on drop.
pub(crate) struct SetCurrent {
    previous: Option<scheduler::Handle>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for SetCurrent {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // During thread teardown the slot may be gone; nothing to restore.
        let _ = ENTERED.try_with(|entered| entered.replace(previous));
    }
}

/// Calls `f` with the current runtime's scheduler.
pub(crate) fn with_current<R>(
    f: impl FnOnce(&scheduler::Handle) -> R,
) -> Result<R, TryCurrentError> {
    ENTERED
        .try_with(|entered| entered.borrow().as_ref().map(f))
        .map_err(|_| TryCurrentError {
            kind: Kind::ThreadLocalDestroyed,
        })?
        .ok_or(TryCurrentError {
            kind: Kind::NoContext,
        })
}

/// Returned by [`Handle::try_current`](super::Handle::try_current) when this
/// thread is not inside a weft runtime.
pub struct TryCurrentError {
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    NoContext,
    ThreadLocalDestroyed,
}

impl TryCurrentError {
    /// True if no runtime was entered on this thread.
    pub fn is_missing_context(&self) -> bool {
        self.kind == Kind::NoContext
    }

    /// True if the thread is exiting and its runtime context is already gone.
    pub fn is_thread_local_destroyed(&self) -> bool {
        self.kind == Kind::ThreadLocalDestroyed
    }
}

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::NoContext => f.write_str(
                "there is no weft runtime on this thread: call this from inside \
                 `Runtime::block_on`, a task, `#[weft::main]`, or after `Runtime::enter`",
            ),
            Kind::ThreadLocalDestroyed => f.write_str(
                "the weft runtime context is gone: this thread is shutting down its \
                 thread-locals",
            ),
        }
    }
}

impl fmt::Debug for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryCurrentError")
            .field("kind", &self.kind)
            .finish()
    }
}

impl std::error::Error for TryCurrentError {}
