//! Stackful coroutines on the weft loop: blocking-style code at async scale.
//!
//! [`spawn`] runs an ordinary closure on its own stack, as a weft task: it
//! returns the same [`JoinHandle`] an async task does (await it, `abort()`
//! it; a panic comes back as a [`JoinError`](crate::task::JoinError)). Inside
//! the closure, blocking-style calls — [`block_on`], [`sleep`],
//! [`yield_now`] and the sockets in [`coro::net`](net), which implement
//! `std::io::Read` and `Write` — do not block the thread: they register with
//! the same readiness slab and timer wheel as async tasks, suspend the
//! coroutine, and let the loop run other tasks and coroutines until the
//! socket is ready or the timer fires. One thread serves many thousands of
//! connections written as plain sequential code (NtyCo's and uWSGI's async
//! mode's idea), and async tasks and coroutines mix freely in one runtime.
//! [`serve`] runs a TCP server with a fixed number of coroutine slots.
//!
//! ```
//! use std::io::{BufRead, BufReader, Write};
//!
//! #[weft::main(flavor = "current_thread")]
//! async fn main() -> std::io::Result<()> {
//!     let listener = weft::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     // A server written as blocking code...
//!     let server = weft::coro::spawn(move || -> std::io::Result<String> {
//!         let listener = weft::coro::net::TcpListener::from_async(listener);
//!         let (stream, _) = listener.accept()?;
//!         let mut line = String::new();
//!         BufReader::new(&stream).read_line(&mut line)?;
//!         (&stream).write_all(b"got it\n")?;
//!         Ok(line)
//!     });
//!     // ...and a client written as async code, on the same thread.
//!     use weft::io::{AsyncReadExt, AsyncWriteExt};
//!     let mut client = weft::net::TcpStream::connect(addr).await?;
//!     client.write_all(b"hello\n").await?;
//!     let mut reply = String::new();
//!     client.read_to_string(&mut reply).await?;
//!     assert_eq!(reply, "got it\n");
//!     assert_eq!(server.await.unwrap()?, "hello\n");
//!     Ok(())
//! }
//! ```
//!
//! # Threads
//!
//! A coroutine runs on the thread that spawned it and never migrates, so
//! thread-locals stay valid and the closure and its result need not be
//! `Send`. On a multi-thread runtime it is pinned to its worker like a
//! [`spawn_local`](crate::task::spawn_local) task; spawning needs a runtime
//! thread that runs tasks (a current-thread runtime's `block_on`, or a
//! multi-thread worker), as `spawn_local` does.
//!
//! # Stacks
//!
//! Each coroutine has its own stack, [`DEFAULT_STACK_SIZE`] (64 KiB) unless
//! [`Builder::stack_size`] says otherwise, with a guard page below it. Only
//! the pages a coroutine touches become resident (a suspended coroutine
//! that did a little I/O holds about one or two pages). Stacks are pooled
//! per thread (up to 1,024) and reused, so a short-lived coroutine costs no
//! `mmap`; a pooled stack keeps the pages its earlier coroutines touched. Each
//! live stack takes two kernel memory mappings and Linux's default
//! `vm.max_map_count` (65530) caps a process near 32,700 of them: past that,
//! [`Builder::spawn`] returns an error that names the limit (and [`spawn`]
//! panics with it); raise it with `sysctl -w vm.max_map_count=<n>`.
//!
//! A coroutine that overflows its stack hits the guard page: weft prints
//! which coroutine overflowed, its stack size and how to raise it, then
//! aborts the process, as Rust does for a thread's stack.
//!
//! # Cancellation
//!
//! A coroutine dropped while suspended — aborted through its
//! [`JoinHandle`], or still pending when its runtime shuts down — is unwound:
//! every value on its stack is dropped exactly once, on its own thread.
//! While it unwinds the coroutine can no longer suspend: a blocking-style
//! call made by a `Drop` during that unwinding returns the
//! not-in-a-coroutine error instead of waiting (the same holds during any
//! panic's unwinding, inside a future given to [`block_on`], and inside
//! [`block_in_place`](crate::task::block_in_place)). The unwinding is a
//! panic payload: code that wraps work in `catch_unwind` inside a coroutine
//! must re-raise payloads it does not recognise, or the abort is swallowed.
//!
//! A current-thread runtime dropped on another thread than the one its
//! coroutines run on cannot unwind them there (their stacks belong to that
//! thread): they are leaked, as its `!Send` local tasks are.

mod net_impl;
mod overflow;
mod serve;
mod stack;

pub mod net {
    //! Blocking-style sockets for coroutines: thin wrappers over weft's async
    //! sockets (the same readiness slab) that implement `std::io::Read` and
    //! `std::io::Write`, so `BufReader`, `read_line`, `std::io::copy` and
    //! other synchronous code run unchanged inside a coroutine. Each call
    //! suspends the coroutine until the socket is ready. Outside a coroutine
    //! every call returns an error of kind `Unsupported` saying it needs one.
    //!
    //! Read and write timeouts work as std's do: after
    //! [`set_read_timeout`](TcpStream::set_read_timeout), a read that waits
    //! longer fails (with `ErrorKind::TimedOut`, where std on Unix gives
    //! `WouldBlock`); the socket stays usable.
    pub use super::net_impl::{TcpListener, TcpStream, UdpSocket, UnixStream};
}

pub use serve::{serve, ServeOptions};

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::ptr;
use std::task::{Context, Poll};
use std::time::Duration;

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};

use crate::task::JoinHandle;

/// The stack size of a coroutine unless [`Builder::stack_size`] sets one:
/// 64 KiB.
pub const DEFAULT_STACK_SIZE: usize = 64 * 1024;

/// The poller's `Context`, handed to the coroutine on each resume. Valid
/// only while that `resume` call runs.
#[derive(Clone, Copy)]
struct CxPtr(*mut Context<'static>);

/// What a coroutine hands its poller when it suspends: `true` to be polled
/// again after the other ready tasks (a yield), `false` to wait for a wake.
type Requeue = bool;

/// What the code inside a running coroutine needs to suspend it: its
/// yielder, and the `Context` of the poll that resumed it last. Lives in
/// the coroutine's first frame, so for the coroutine's whole life.
pub(crate) struct Running {
    yielder: *const Yielder<CxPtr, Requeue>,
    cx: Cell<CxPtr>,
    /// The coroutine's stack, for the overflow handler (boxed in its task,
    /// which outlives the coroutine).
    pub(crate) stack: *const overflow::StackInfo,
}

/// This thread's coroutine state: which coroutine may suspend right now,
/// and which coroutine's stack the code runs on (for the overflow handler).
/// They differ while a coroutine must not suspend — inside a future polled
/// by [`block_on`], inside `block_in_place`, while its stack is unwound.
#[derive(Clone, Copy)]
pub(crate) struct Current {
    /// The coroutine that may suspend, or null.
    running: *const Running,
    /// The stack the code runs on, or null.
    pub(crate) stack: *const overflow::StackInfo,
}

const NONE: Current = Current {
    running: ptr::null(),
    stack: ptr::null(),
};

thread_local! {
    /// This thread's [`Current`]. A coroutine sets it each time it starts or
    /// resumes; its poller puts the previous value back when `resume` returns.
    pub(crate) static CURRENT: Cell<Current> = const { Cell::new(NONE) };
}

/// The running coroutine, if this code runs inside one that may suspend now
/// (not while the thread is panicking: a coroutine suspended mid-unwind
/// could later be force-unwound from inside a running destructor, which
/// aborts).
fn running() -> Option<&'static Running> {
    let current = CURRENT.with(Cell::get).running;
    if current.is_null() || std::thread::panicking() {
        return None;
    }
    // `running` is non-null only while that coroutine runs on this thread
    // (every poller puts the previous state back when `resume` returns, and
    // every place that must not suspend nulls it).
    // SAFETY: then it points into the coroutine's first frame, which outlives
    // all code on that stack; the `'static` reference is never stored.
    unsafe { current.as_ref() }
}

/// Runs `f` with no coroutine able to suspend (blocking-style calls return
/// the not-in-a-coroutine error), then puts the state back, also on unwind.
pub(crate) fn without_suspending<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Current);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let previous = CURRENT.with(|c| {
        let previous = c.get();
        c.set(Current {
            running: ptr::null(),
            ..previous
        });
        previous
    });
    let _restore = Restore(previous);
    f()
}

/// True if the calling code runs inside a weft coroutine.
///
/// ```
/// #[weft::main(flavor = "current_thread")]
/// async fn main() {
///     assert!(!weft::coro::in_coroutine());
///     let inside = weft::coro::spawn(weft::coro::in_coroutine).await.unwrap();
///     assert!(inside);
/// }
/// ```
pub fn in_coroutine() -> bool {
    running().is_some()
}

/// The error blocking-style calls return outside a coroutine.
pub(crate) fn not_in_coroutine(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "{what} needs a weft coroutine: call it inside `weft::coro::spawn` (outside one it \
             would block the whole thread); from async code, `.await` the async API instead"
        ),
    )
}

/// Suspends the running coroutine until its task is polled again: after
/// the other ready tasks if `requeue`, else when something wakes it.
fn suspend(running: &Running, requeue: Requeue) {
    // SAFETY: the yielder lives as long as the coroutine (corosensei passes
    // it by reference to the coroutine's function, whose first frame holds
    // `running`), and this code runs on that coroutine's stack.
    let yielder = unsafe { &*running.yielder };
    let cx = yielder.suspend(requeue);
    running.cx.set(cx);
    CURRENT.with(|c| {
        c.set(Current {
            running,
            stack: running.stack,
        })
    });
}

/// Polls a user's `future` to completion from the running coroutine,
/// suspending the coroutine (not the thread) whenever it is pending.
fn block_on_in<F: Future>(running: &Running, future: F) -> F::Output {
    // A blocking-style call inside `future` must not suspend the coroutine:
    // the poll would return and the `Context` the future is holding would
    // dangle. Inside, such calls get the not-in-a-coroutine error instead.
    let mut future = pin!(future);
    block_on_weft(
        running,
        std::future::poll_fn(|cx| without_suspending(|| future.as_mut().poll(cx))),
    )
}

/// [`block_on_in`] for weft's own futures (sockets, timers), which never
/// call blocking-style code: no guard around each poll.
fn block_on_weft<F: Future>(running: &Running, future: F) -> F::Output {
    let mut future = pin!(future);
    loop {
        // SAFETY: `cx` was set by the poll that resumed this coroutine, and
        // that `resume` call is still running (this code runs inside it), so
        // the `Context` it points to is live and not otherwise borrowed.
        let cx = unsafe { &mut *running.cx.get().0 };
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return output;
        }
        suspend(running, false);
    }
}

/// Waits for `future` inside a coroutine: the coroutine is suspended while
/// the future is pending, and the thread runs other tasks meanwhile. Inside
/// `future` itself blocking-style calls return the not-in-a-coroutine error
/// (use the async APIs there).
///
/// # Errors
///
/// Outside a coroutine, an error of kind `Unsupported` saying so (the
/// future is dropped unpolled).
///
/// ```
/// #[weft::main(flavor = "current_thread")]
/// async fn main() {
///     let (tx, rx) = async_channel::bounded::<u32>(1);
///     let coroutine = weft::coro::spawn(move || {
///         // Blocking-style code awaiting an async channel.
///         weft::coro::block_on(rx.recv()).unwrap().unwrap()
///     });
///     tx.send(7).await.unwrap();
///     assert_eq!(coroutine.await.unwrap(), 7);
///     assert!(weft::coro::block_on(async { 1 }).is_err(), "not in a coroutine");
/// }
/// ```
pub fn block_on<F: Future>(future: F) -> io::Result<F::Output> {
    match running() {
        Some(running) => Ok(block_on_in(running, future)),
        None => Err(not_in_coroutine("weft::coro::block_on")),
    }
}

/// Sleeps for `duration` inside a coroutine, on weft's timer wheel (the
/// thread keeps running other tasks).
///
/// # Errors
///
/// Outside a coroutine, an error of kind `Unsupported` saying so.
pub fn sleep(duration: Duration) -> io::Result<()> {
    match running() {
        Some(running) => {
            block_on_weft(running, crate::time::sleep(duration));
            Ok(())
        }
        None => Err(not_in_coroutine("weft::coro::sleep")),
    }
}

/// Lets the other tasks and coroutines ready on this thread run, then
/// continues.
///
/// # Errors
///
/// Outside a coroutine, an error of kind `Unsupported` saying so.
pub fn yield_now() -> io::Result<()> {
    match running() {
        Some(running) => {
            // The poller queues the task behind the others (no self-wake).
            suspend(running, true);
            Ok(())
        }
        None => Err(not_in_coroutine("weft::coro::yield_now")),
    }
}

/// Runs `f` on its own stack ([`DEFAULT_STACK_SIZE`]) as a weft task on this
/// thread; see the [module docs](self).
///
/// # Panics
///
/// Outside a runtime thread that runs tasks (as
/// [`spawn_local`](crate::task::spawn_local)), or when no stack can be
/// mapped (the message names `vm.max_map_count`): use [`Builder::spawn`] to
/// get that as an error instead.
///
/// ```
/// #[weft::main]
/// async fn main() {
///     // On a multi-thread runtime, coroutines are spawned from a worker's
///     // task (`main`'s body runs in `block_on`, which runs no tasks).
///     let answer = weft::spawn(async {
///         let handle = weft::coro::spawn(|| {
///             weft::coro::sleep(std::time::Duration::from_millis(1)).unwrap();
///             6 * 7
///         });
///         handle.await.unwrap()
///     });
///     assert_eq!(answer.await.unwrap(), 42);
/// }
/// ```
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    match Builder::new().spawn(f) {
        Ok(handle) => handle,
        Err(e) => panic!("weft::coro::spawn: {e}"),
    }
}

/// Configures a coroutine before spawning it: stack size and name.
///
/// ```
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let handle = weft::coro::Builder::new()
///         .name("parser")
///         .stack_size(256 * 1024)
///         .spawn(|| "parsed")?;
///     assert_eq!(handle.await.unwrap(), "parsed");
///     assert!(weft::coro::Builder::new().stack_size(100).spawn(|| ()).is_err());
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    stack_size: usize,
    name: Option<std::borrow::Cow<'static, str>>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// A builder with the default stack size and no name.
    pub fn new() -> Builder {
        Builder {
            stack_size: DEFAULT_STACK_SIZE,
            name: None,
        }
    }

    /// The stack size in bytes, rounded up to whole pages; 16 KiB to 1 GiB
    /// ([`spawn`](Self::spawn) rejects other sizes).
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = bytes;
        self
    }

    /// A name, shown when the coroutine overflows its stack.
    pub fn name(mut self, name: impl Into<std::borrow::Cow<'static, str>>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Spawns `f` as a coroutine on this thread.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a stack size out of range; the mapping error
    /// (naming `vm.max_map_count`) when no stack can be mapped; an error
    /// outside a runtime thread that runs tasks.
    #[cfg_attr(feature = "console", track_caller)]
    pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let size = stack::checked_size(self.stack_size)?;
        let stack = stack::take(size)?;
        let (guard_low, guard_high) = stack::guard_range(&stack);
        overflow::install_for_this_thread();
        let info = Box::new(overflow::StackInfo {
            guard_low,
            guard_high,
            size,
            name: self.name.unwrap_or_default(),
        });
        let info_ptr: *const overflow::StackInfo = &*info;
        let coroutine =
            Coroutine::with_stack(stack, move |yielder: &Yielder<CxPtr, Requeue>, cx| {
                let running = Running {
                    yielder,
                    cx: Cell::new(cx),
                    stack: info_ptr,
                };
                CURRENT.with(|c| {
                    c.set(Current {
                        running: &running,
                        stack: info_ptr,
                    })
                });
                f()
            });
        crate::scheduler::spawn_local(CoroTask {
            coroutine: Some(coroutine),
            size,
            info,
        })
    }
}

/// The task future of a coroutine: each poll resumes it with the poll's
/// `Context`, until it returns.
struct CoroTask<T> {
    coroutine: Option<Coroutine<CxPtr, Requeue, T, DefaultStack>>,
    /// The stack's page-rounded size (its pool key).
    size: usize,
    /// For the stack-overflow diagnosis; boxed so its address is stable.
    info: Box<overflow::StackInfo>,
}

/// Around a `resume` or a forced unwind: the state starts with no coroutine
/// able to suspend (the coroutine sets itself when it runs; its destructors
/// during a forced unwind run without it) and this stack marked for the
/// overflow handler; when it returns, the previous state comes back — also
/// when a coroutine's task is dropped while another coroutine runs.
struct Resuming(Current);

impl Resuming {
    fn enter(info: &overflow::StackInfo) -> Resuming {
        Resuming(CURRENT.with(|c| {
            c.replace(Current {
                running: ptr::null(),
                stack: info,
            })
        }))
    }
}

impl Drop for Resuming {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

impl<T> Future for CoroTask<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.get_mut();
        let Some(coroutine) = this.coroutine.as_mut() else {
            panic!("weft: a coroutine's task was polled after it finished");
        };
        let cx = CxPtr(ptr::from_mut(cx).cast::<Context<'static>>());
        let resumed = {
            let _resuming = Resuming::enter(&this.info);
            coroutine.resume(cx)
        };
        match resumed {
            CoroutineResult::Yield(requeue) => {
                if requeue {
                    // `CoroTask` is always a task's root future.
                    crate::task::coop::requeue_after_poll();
                }
                Poll::Pending
            }
            CoroutineResult::Return(output) => {
                if let Some(coroutine) = this.coroutine.take() {
                    stack::recycle(this.size, coroutine.into_stack());
                }
                Poll::Ready(output)
            }
        }
    }
}

impl<T> Drop for CoroTask<T> {
    fn drop(&mut self) {
        let Some(mut coroutine) = self.coroutine.take() else {
            return;
        };
        if !coroutine.done() {
            // Suspended (or never started): unwind its stack, running every
            // destructor on it once, then keep the stack.
            let unwound = {
                let _resuming = Resuming::enter(&self.info);
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| coroutine.force_unwind()))
            };
            if let Err(panic) = unwound {
                if coroutine.done() {
                    stack::recycle(self.size, coroutine.into_stack());
                }
                std::panic::resume_unwind(panic);
            }
        }
        if coroutine.done() {
            stack::recycle(self.size, coroutine.into_stack());
        }
    }
}
