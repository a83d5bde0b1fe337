//! `weft::coro::serve`: a TCP server whose connections are handled by
//! blocking-style code in coroutines, with a fixed number of slots —
//! uWSGI's "async cores".

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use super::net::TcpStream;
use super::Builder;

/// Concurrent handlers [`serve`] runs unless [`ServeOptions::slots`] says
/// otherwise.
const DEFAULT_SLOTS: usize = 1024;

/// How often, at most, each warning is printed.
const WARN_EVERY: Duration = Duration::from_secs(10);
/// Connections accepted before the accept loop yields to its handlers.
const ACCEPTS_PER_TURN: usize = 16;
/// The pause after a handler coroutine could not be started.
const SPAWN_BACKOFF: Duration = Duration::from_millis(50);

/// Options for [`serve`]: slot count, per-connection deadline, stack size.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    slots: usize,
    deadline: Option<Duration>,
    stack_size: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions::new()
    }
}

impl ServeOptions {
    /// 1,024 slots, no deadline, the default stack size.
    pub fn new() -> ServeOptions {
        ServeOptions {
            slots: DEFAULT_SLOTS,
            deadline: None,
            stack_size: super::DEFAULT_STACK_SIZE,
        }
    }

    /// How many connections are handled at once (at least 1). When every
    /// slot is busy the server stops accepting: new connections wait in the
    /// kernel's listen backlog, none is dropped.
    pub fn slots(mut self, slots: usize) -> ServeOptions {
        self.slots = slots;
        self
    }

    /// Closes a connection whose handler is still running `deadline` after
    /// it was accepted: the handler's coroutine is aborted (its stack is
    /// unwound, so the stream and everything else on it is dropped).
    pub fn deadline(mut self, deadline: Duration) -> ServeOptions {
        self.deadline = Some(deadline);
        self
    }

    /// Each handler coroutine's stack size (see [`Builder::stack_size`]).
    pub fn stack_size(mut self, bytes: usize) -> ServeOptions {
        self.stack_size = bytes;
        self
    }
}

/// Busy slots, and the accept loop's waker while it waits for one.
struct Slots {
    busy: Cell<usize>,
    waiting: RefCell<Option<Waker>>,
}

/// Holds one slot for as long as a handler's coroutine lives (dropped when
/// it returns, panics or is aborted).
struct SlotGuard(Rc<Slots>);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.0.busy.set(self.0.busy.get() - 1);
        if let Some(waker) = self.0.waiting.borrow_mut().take() {
            waker.wake();
        }
    }
}

/// Serves `listener`: each connection is handled by `handler(stream)` in a
/// coroutine, at most [`ServeOptions::slots`] at a time. Returns only on an
/// accept error (weft's accept rides out descriptor exhaustion itself) or
/// an invalid option. When a handler's coroutine cannot be started (no
/// stack can be mapped), that connection is closed, a warning is printed
/// (at most every 10 s) and the server pauses 50 ms before accepting again.
///
/// A handler's result is dropped; when it returns, panics (the panic is
/// reported by the panic hook, as any task's) or overruns the
/// [deadline](ServeOptions::deadline), its connection is closed and its slot
/// is reused, and the server goes on serving. When every slot is busy,
/// accepting pauses and a warning (at most every 10 s) says so, with the
/// slot count and how many times the pool filled.
///
/// The future is `!Send`: it spawns coroutines on its own thread. On a
/// multi-thread runtime, run it with [`spawn_local`](crate::task::spawn_local)
/// on a worker (one per worker with `SO_REUSEPORT` listeners, if you like).
///
/// ```
/// use std::io::{BufRead, BufReader, Write};
/// use weft::coro::{serve, ServeOptions};
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let listener = weft::net::TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     weft::task::spawn_local(serve(listener, ServeOptions::new().slots(4), |stream| {
///         // Blocking-style line echo.
///         let mut lines = BufReader::new(&stream);
///         let mut line = String::new();
///         while lines.read_line(&mut line)? > 0 {
///             (&stream).write_all(line.as_bytes())?;
///             line.clear();
///         }
///         std::io::Result::Ok(())
///     }));
///     use weft::io::{AsyncBufReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
///     let mut client = AsyncBufReader::new(weft::net::TcpStream::connect(addr).await?);
///     client.get_mut().write_all(b"hi\n").await?;
///     let mut echoed = String::new();
///     client.read_line(&mut echoed).await?;
///     assert_eq!(echoed, "hi\n");
///     Ok(())
/// }
/// ```
pub async fn serve<H, R>(
    listener: crate::net::TcpListener,
    options: ServeOptions,
    handler: H,
) -> io::Result<()>
where
    H: Fn(TcpStream) -> R + 'static,
    R: 'static,
{
    if options.slots == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "weft::coro::serve: ServeOptions::slots must be at least 1",
        ));
    }
    super::stack::checked_size(options.stack_size)?;
    let handler = Rc::new(handler);
    let slots = Rc::new(Slots {
        busy: Cell::new(0),
        waiting: RefCell::new(None),
    });
    let mut warned_at: Option<Instant> = None;
    let mut spawn_warned_at: Option<Instant> = None;
    let mut accepted_in_a_row = 0usize;
    let mut filled_since_warning = 0u64;
    loop {
        if slots.busy.get() >= options.slots {
            filled_since_warning += 1;
            if warned_at.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
                eprintln!(
                    "weft::coro::serve: all {} coroutine slots are busy ({} time(s) since the last \
                     warning); new connections wait in the listen backlog until one frees \
                     (raise ServeOptions::slots to handle more at once)",
                    options.slots, filled_since_warning
                );
                warned_at = Some(Instant::now());
                filled_since_warning = 0;
            }
            poll_fn(|cx| {
                if slots.busy.get() < options.slots {
                    return Poll::Ready(());
                }
                *slots.waiting.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            })
            .await;
        }
        // Fairness: after a run of accepts, let the new handlers start
        // before taking more (a flood of connects would otherwise keep this
        // loop ahead of its handlers, filling slots with unstarted work).
        accepted_in_a_row += 1;
        if accepted_in_a_row > ACCEPTS_PER_TURN {
            accepted_in_a_row = 0;
            crate::task::yield_now().await;
        }
        let (stream, _) = listener.accept().await?;
        slots.busy.set(slots.busy.get() + 1);

        let slot = SlotGuard(Rc::clone(&slots));
        let handler = Rc::clone(&handler);
        let spawned = Builder::new()
            .name("weft::coro::serve handler")
            .stack_size(options.stack_size)
            .spawn(move || {
                let _slot = slot;
                handler(TcpStream::from_async(stream))
            });
        let coroutine = match spawned {
            Ok(coroutine) => coroutine,
            Err(e) => {
                // No stack (vm.max_map_count, ulimit -v, memory): this
                // connection is closed (the closure, with the stream and its
                // slot, was dropped); back off and keep serving.
                if spawn_warned_at.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
                    eprintln!(
                        "weft::coro::serve: cannot start a handler ({e}); closing the \
                         connection and backing off (lower ServeOptions::slots?)"
                    );
                    spawn_warned_at = Some(Instant::now());
                }
                crate::time::sleep(SPAWN_BACKOFF).await;
                continue;
            }
        };
        if let Some(deadline) = options.deadline {
            crate::task::spawn_local(async move {
                let mut coroutine = coroutine;
                if crate::time::timeout(deadline, &mut coroutine)
                    .await
                    .is_err()
                {
                    coroutine.abort();
                }
            });
        }
    }
}
