//! Stack-overflow diagnosis for coroutines.
//!
//! A coroutine that overflows its stack touches the `PROT_NONE` guard page
//! below it and the kernel raises SIGSEGV (or SIGBUS). weft's handler,
//! installed once per process for both, runs on the thread's alternate
//! signal stack (the coroutine's own stack is exhausted). If the faulting
//! address is in or just below the guard page of the coroutine running on
//! this thread, it writes which coroutine overflowed, its stack size and
//! how to raise it to stderr with `write(2)`, and aborts — as Rust does for
//! a thread's stack. Any other fault goes to the handler that was there
//! before (std's own stack-overflow handler, or the default action).
//!
//! Everything the handler touches is async-signal-safe: a const-initialised
//! thread-local pointer (the running coroutine), the `StackInfo` it points to (immutable while the
//! coroutine runs), the saved previous actions (written once before the
//! handler is installed), `write(2)`, `sigaction(2)` and `abort(3)`.

use std::cell::Cell;
use std::ptr;
use std::sync::{Once, OnceLock};

/// Where a coroutine's guard page is, for the handler.
pub(crate) struct StackInfo {
    pub(crate) guard_low: usize,
    pub(crate) guard_high: usize,
    pub(crate) size: usize,
    pub(crate) name: std::borrow::Cow<'static, str>,
}

/// Faults this far below the guard page still count as the coroutine's
/// overflow (a frame larger than a page can jump over the guard).
const BELOW_GUARD: usize = 256 * 1024;

/// Size of an alternate signal stack weft maps for a thread that has none.
const ALT_STACK_SIZE: usize = 64 * 1024;

thread_local! {
    /// Whether this thread has an alternate signal stack (ours or std's).
    static ALT_STACK_READY: Cell<bool> = const { Cell::new(false) };
}

/// The previous SIGSEGV and SIGBUS actions, saved before ours went in.
static PREVIOUS: OnceLock<[libc::sigaction; 2]> = OnceLock::new();
static INSTALL: Once = Once::new();

/// Installs the process-wide handler (once) and makes sure this thread has
/// an alternate signal stack for it to run on.
pub(crate) fn install_for_this_thread() {
    INSTALL.call_once(install_handler);
    if !ALT_STACK_READY.with(Cell::get) && ensure_alt_stack() {
        ALT_STACK_READY.with(|r| r.set(true));
    }
}

fn install_handler() {
    let mut previous = [zeroed_action(), zeroed_action()];
    for (slot, signal) in previous.iter_mut().zip([libc::SIGSEGV, libc::SIGBUS]) {
        // SAFETY: a null new action only reads the current one into `slot`,
        // a valid `sigaction` out-parameter.
        unsafe { libc::sigaction(signal, ptr::null(), slot) };
    }
    if PREVIOUS.set(previous).is_err() {
        return;
    }
    let mut action = zeroed_action();
    action.sa_sigaction = handler as *const () as libc::sighandler_t;
    action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
    for signal in [libc::SIGSEGV, libc::SIGBUS] {
        // SAFETY: `action` is a valid `sigaction` with an `SA_SIGINFO`
        // handler of the matching shape and an empty mask (zeroed); the
        // previous actions were saved above, before the handler can run.
        unsafe {
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, ptr::null_mut());
        }
    }
}

fn zeroed_action() -> libc::sigaction {
    // SAFETY: `sigaction` is a plain C struct for which all-zero bytes are a
    // valid value (SIG_DFL, no flags, empty mask).
    unsafe { std::mem::zeroed() }
}

/// Gives this thread an alternate signal stack if it has none (std makes
/// one for the threads it starts; a thread made some other way may not
/// have one). The stack is kept for the thread's life. True if the thread
/// has one now (false: try again at the next spawn).
fn ensure_alt_stack() -> bool {
    // SAFETY: all-zero is a valid `stack_t`; a null new stack only queries.
    let mut current: libc::stack_t = unsafe { std::mem::zeroed() };
    // SAFETY: `current` is a valid out-parameter.
    if unsafe { libc::sigaltstack(ptr::null(), &mut current) } != 0 {
        return false;
    }
    if current.ss_flags & libc::SS_DISABLE == 0 {
        return true;
    }
    let Ok(memory) = corosensei::stack::DefaultStack::new(ALT_STACK_SIZE) else {
        return false;
    };
    use corosensei::stack::Stack;
    let (base, limit) = (memory.base().get(), memory.limit().get());
    let page = super::stack::page_size();
    let stack = libc::stack_t {
        ss_sp: (limit + page) as *mut libc::c_void,
        ss_flags: 0,
        ss_size: base - limit - page,
    };
    // SAFETY: `stack` describes writable memory (the mapping above its
    // guard page) that is leaked below, so it stays valid for the thread's
    // life and beyond.
    if unsafe { libc::sigaltstack(&stack, ptr::null_mut()) } == 0 {
        std::mem::forget(memory);
        return true;
    }
    false
}

/// A signal handler of the `SA_SIGINFO` shape.
type SigInfoHandler = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);
/// A plain `sa_handler`.
type PlainHandler = extern "C" fn(libc::c_int);

extern "C" fn handler(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid `siginfo_t` for an `SA_SIGINFO`
    // handler; `si_addr` is the faulting address for SIGSEGV and SIGBUS.
    let address = unsafe { (*info).si_addr() } as usize;
    let current = super::CURRENT
        .try_with(Cell::get)
        .map_or(ptr::null(), |c| c.stack);
    // `current.stack` is non-null only while code runs on that coroutine's
    // stack on this thread (set on resume and around a forced unwind,
    // restored after), and this handler runs on this thread inside that run.
    // SAFETY: a non-null value points to the boxed `StackInfo` the task holds
    // for longer than the coroutine lives and never mutates meanwhile.
    let stack = unsafe { current.as_ref() };
    if let Some(stack) = stack {
        if address < stack.guard_high && address >= stack.guard_low.saturating_sub(BELOW_GUARD) {
            report_and_abort(stack);
        }
    }
    pass_on(signal, info, context);
}

/// Hands a fault that is not a coroutine overflow to the previous action.
fn pass_on(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let index = usize::from(signal == libc::SIGBUS);
    let previous = PREVIOUS.get().map(|p| p[index]);
    match previous {
        Some(action)
            if action.sa_sigaction != libc::SIG_DFL && action.sa_sigaction != libc::SIG_IGN =>
        {
            if action.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: the previous action had `SA_SIGINFO`, so its address
                // is a 3-argument handler; the arguments are the ones the
                // kernel gave this handler.
                let f: SigInfoHandler = unsafe { std::mem::transmute(action.sa_sigaction) };
                f(signal, info, context);
            } else {
                // SAFETY: without `SA_SIGINFO` the address is a 1-argument
                // `sa_handler`.
                let f: PlainHandler = unsafe { std::mem::transmute(action.sa_sigaction) };
                f(signal);
            }
        }
        _ => {
            // Default action: reset it and return; the faulting instruction
            // runs again and the kernel applies it (core dump).
            let default = zeroed_action();
            // SAFETY: a zeroed action is SIG_DFL with an empty mask.
            unsafe { libc::sigaction(signal, &default, ptr::null_mut()) };
        }
    }
}

/// Writes the diagnosis with `write(2)` (no allocation) and aborts.
fn report_and_abort(stack: &StackInfo) -> ! {
    let mut message = Message::new();
    message.push(b"\nweft: coroutine '");
    if stack.name.is_empty() {
        message.push(b"<unnamed>");
    } else {
        message.push(stack.name.as_bytes());
    }
    message.push(b"' has overflowed its stack of ");
    message.push_number(stack.size / 1024);
    message.push(
        b" KiB\nweft: raise it with weft::coro::Builder::new().stack_size(bytes) (the default is ",
    );
    message.push_number(super::DEFAULT_STACK_SIZE / 1024);
    message.push(b" KiB), or keep large buffers on the heap; aborting\n");
    let bytes = message.as_bytes();
    // SAFETY: `write(2)` on fd 2 with a valid buffer and length is
    // async-signal-safe; a short or failed write is acceptable here.
    unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
    // SAFETY: `abort` is async-signal-safe and does not return.
    unsafe { libc::abort() }
}

/// A fixed buffer for the message: no allocation in a signal handler.
struct Message {
    buffer: [u8; 512],
    len: usize,
}

impl Message {
    fn new() -> Message {
        Message {
            buffer: [0; 512],
            len: 0,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.buffer.len() - self.len);
        self.buffer[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }

    fn push_number(&mut self, mut n: usize) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[at..]);
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buffer[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_built_without_allocating() {
        let mut m = Message::new();
        m.push(b"size ");
        m.push_number(0);
        m.push(b" ");
        m.push_number(65536);
        assert_eq!(m.as_bytes(), b"size 0 65536");
        let long = [b'x'; 600];
        m.push(&long);
        assert_eq!(m.as_bytes().len(), 512, "truncated, not overflowed");
    }
}
