//! Which runtime this thread has entered.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;

use std::io;
use std::os::fd::AsFd;
use std::sync::Arc;

use crate::driver::io::evented::Evented;
use crate::driver::io::IoShared;
use crate::scheduler;

thread_local! {
    static ENTERED: RefCell<Option<scheduler::Handle>> = const { RefCell::new(None) };
    /// How many `enter`s are live on this thread: each guard knows its
    /// depth, so one dropped out of order is caught.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// Guards dropped out of order, deepest last: (depth, what to restore).
    /// Each is applied once the guards above it are gone, so the thread
    /// ends up where it was before the first `enter`.
    static ORPHANED: RefCell<Vec<(usize, Option<scheduler::Handle>)>> =
        const { RefCell::new(Vec::new()) };
}

/// Makes `handle` the current runtime until the guard drops: weft's own
/// scopes (a `block_on`, a worker, a pool job). Their guards are dropped in
/// order by construction; if a user's guard entered inside one was leaked
/// (`mem::forget`), leaving the scope discards it rather than panic.
pub(crate) fn enter(handle: scheduler::Handle) -> SetCurrent {
    enter_with(handle, false)
}

/// [`enter`] for a user's `EnterGuard`: dropped out of order, it panics as
/// tokio's does.
pub(crate) fn enter_checked(handle: scheduler::Handle) -> SetCurrent {
    enter_with(handle, true)
}

fn enter_with(handle: scheduler::Handle, checked: bool) -> SetCurrent {
    // During thread teardown (a runtime dropped from a thread-local's
    // destructor) the slot may be gone: then nothing is entered.
    let mut handle = Some(handle);
    let previous = ENTERED
        .try_with(|entered| entered.replace(handle.take()))
        .unwrap_or(None);
    let depth = DEPTH
        .try_with(|depth| {
            depth.set(depth.get() + 1);
            depth.get()
        })
        .unwrap_or(0);
    SetCurrent {
        previous,
        depth,
        checked,
        _not_send: PhantomData,
    }
}

/// Restores the previously entered runtime on drop.
pub(crate) struct SetCurrent {
    previous: Option<scheduler::Handle>,
    /// This guard's place in the stack of live `enter`s (0: entered during
    /// thread teardown, not counted).
    depth: usize,
    /// A user's guard: out-of-order drops panic (weft's own scopes restore
    /// their state whatever is left above them).
    checked: bool,
    _not_send: PhantomData<*const ()>,
}

impl Drop for SetCurrent {
    fn drop(&mut self) {
        let previous = self.previous.take();
        if self.depth != 0 {
            let live = DEPTH.try_with(Cell::get).unwrap_or(self.depth);
            if live < self.depth {
                // Voided: the scope this guard was entered in has ended
                // (the guard outlived it). Nothing of it is left to restore.
                if self.checked && !std::thread::panicking() {
                    out_of_order();
                }
                return;
            }
            if live > self.depth && !self.checked {
                // One of weft's own scopes ends while guards entered inside
                // it are still live (leaked, or dropped later out of order):
                // they are void now.
                let _ = ORPHANED.try_with(|orphaned| {
                    orphaned
                        .borrow_mut()
                        .retain(|&(depth, _)| depth < self.depth);
                });
                restore(self.depth, previous);
                return;
            }
            if live > self.depth {
                // Out of order: guards entered after this one are still
                // live. Restoring now would leave a runtime current after
                // its guard (and maybe the runtime) is gone. Keep the
                // restore for when those guards go, and refuse, as tokio
                // does.
                let _ = ORPHANED.try_with(|orphaned| {
                    orphaned.borrow_mut().push((self.depth, previous));
                });
                if !std::thread::panicking() {
                    out_of_order();
                }
                return;
            }
            restore(self.depth, previous);
            // Guards below this one dropped out of order earlier: their
            // restores are due now.
            // (In any order: guards can be dropped out of order more than
            // once, deeper ones after shallower ones.)
            let _ = ORPHANED.try_with(|orphaned| loop {
                let mut orphaned = orphaned.borrow_mut();
                let due = DEPTH.try_with(Cell::get).unwrap_or(0);
                match orphaned.iter().position(|&(depth, _)| depth == due) {
                    Some(at) => {
                        let (depth, previous) = orphaned.swap_remove(at);
                        drop(orphaned);
                        restore(depth, previous);
                    }
                    None => break,
                }
            });
            return;
        }
        // Entered during thread teardown; the slot may be gone.
        let _ = ENTERED.try_with(|entered| entered.replace(previous));
    }
}

#[cold]
#[inline(never)]
fn out_of_order() -> ! {
    panic!(
        "`EnterGuard` values dropped out of order. Guards returned by \
         `weft::runtime::Handle::enter()` must be dropped in the reverse order as they were \
         acquired."
    )
}

/// Leaves the `enter` at `depth`: `previous` is current again.
fn restore(depth: usize, previous: Option<scheduler::Handle>) {
    let _ = DEPTH.try_with(|live| live.set(depth - 1));
    // During thread teardown the slot may be gone; nothing to restore.
    let _ = ENTERED.try_with(|entered| entered.replace(previous));
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

/// Returned by [`Handle::try_current`](crate::runtime::Handle::try_current) when this
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

/// The current runtime's I/O driver, or the error tokio gives for I/O
/// objects made outside a runtime.
pub(crate) fn current_io() -> io::Result<Arc<IoShared>> {
    with_current(|handle| handle.driver().io.clone()).map_err(|e| io::Error::other(e.to_string()))
}

/// Registers `io` (already non-blocking) with the current runtime's driver.
pub(crate) fn register<T: AsFd>(io: T) -> io::Result<Evented<T>> {
    Evented::new(io, &current_io()?)
}

/// [`register`] for a TCP stream, whose reads an io_uring driver may take
/// through receives on its ring (`Evented::new_stream`).
pub(crate) fn register_stream<T: AsFd + Send + 'static>(io: T) -> io::Result<Evented<T>> {
    Evented::new_stream(io, &current_io()?)
}

/// [`register`] for a TCP listener, which an io_uring driver may have
/// accept through its ring (`Evented::new_listener`).
pub(crate) fn register_listener<T: AsFd + Send + 'static>(io: T) -> io::Result<Evented<T>> {
    Evented::new_listener(io, &current_io()?)
}

/// True if `io` is registered with the runtime this thread is in, and that
/// runtime's driver still runs.
pub(crate) fn on_current_runtime<T: AsFd>(io: &Evented<T>) -> bool {
    with_current(|handle| io.is_live_on(&handle.driver().io)).unwrap_or(false)
}
