//! Blocking a plain thread on a sync future (the `blocking_*` methods).

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

/// Wakes a parked thread.
struct Unparker(Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// A waker that unparks this thread (for a thread that parks between
/// polls: here, and mpsc's `try_recv` waiting out a sender mid-write).
pub(crate) fn thread_waker() -> Waker {
    Waker::from(Arc::new(Unparker(std::thread::current())))
}

/// Runs `future` to completion on this thread, parking it while the future
/// waits.
///
/// # Panics
///
/// On a thread that runs a weft loop or waits in a `block_on`: blocking it
/// would stall every task it drives (and may deadlock), so the caller must
/// use the async method instead. `method` names the blocking method for
/// the message.
#[track_caller]
pub(crate) fn block_on<F: Future>(method: &str, future: F) -> F::Output {
    if crate::scheduler::in_async_context() {
        panic!(
            "Cannot block the current thread from within a runtime. This happens because a \
             function attempted to block the current thread while the thread is being used to \
             drive asynchronous tasks. (weft: `.await` the async form of `{method}` instead, or \
             call it from `spawn_blocking` or a plain thread.)"
        );
    }
    let waker = thread_waker();
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}
