//! The process-wide part of signal handling: one self-pipe, one slot per
//! signal, and the signal handler.
//!
//! Why a self-pipe and not `signalfd`: a signalfd only receives signals that
//! are blocked in *every* thread, and weft cannot block them in threads it
//! did not create (or stop children from inheriting the blocked mask). The
//! handler here is async-signal-safe: it sets the signal's `pending` flag,
//! writes one byte to a non-blocking pipe (a full pipe is fine: the flag
//! already records the signal), and calls the handler that was installed
//! before weft's, if there was one. Listeners drain the pipe through their
//! runtime's driver and turn `pending` flags into generation bumps that
//! every listener of that signal sees.

use crate::sys::lock::lock;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{Mutex, OnceLock};
use std::task::Waker;

/// Signal numbers 1..=64 (Linux has 64, real-time ones included).
pub(crate) const MAX_SIGNAL: usize = 64;

pub(crate) struct Slot {
    /// Set by the handler; turned into a generation bump by `publish` —
    /// while nobody listens it stays set, so the next listener gets it.
    pending: AtomicBool,
    /// Live listeners (`Signal`s) for this signal.
    listeners: AtomicUsize,
    /// Deliveries so far; a listener compares it with the last it saw.
    pub(crate) generation: AtomicU64,
    /// Listeners waiting for the next delivery, by listener id (one entry
    /// each, replaced on every poll, removed when the listener drops).
    waiters: Mutex<Vec<(u64, Waker)>>,
    /// Whether weft's handler is installed for this signal.
    installed: Mutex<bool>,
    /// The handler found when weft installed its own (a 3-argument
    /// `sa_sigaction`, or a 1-argument `sa_handler` when `siginfo` is
    /// false), or 0 for none / default / ignore.
    previous: AtomicUsize,
    previous_siginfo: AtomicBool,
}

pub(crate) struct Globals {
    pub(crate) read: OwnedFd,
    write: OwnedFd,
    slots: Box<[Slot]>,
}

static GLOBALS: OnceLock<Globals> = OnceLock::new();

pub(crate) fn globals() -> io::Result<&'static Globals> {
    if let Some(globals) = GLOBALS.get() {
        return Ok(globals);
    }
    let (read, write) = rustix::pipe::pipe_with(
        rustix::pipe::PipeFlags::CLOEXEC | rustix::pipe::PipeFlags::NONBLOCK,
    )?;
    let slots = (0..=MAX_SIGNAL)
        .map(|_| Slot {
            pending: AtomicBool::new(false),
            listeners: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
            waiters: Mutex::new(Vec::new()),
            installed: Mutex::new(false),
            previous: AtomicUsize::new(0),
            previous_siginfo: AtomicBool::new(false),
        })
        .collect();
    // A racing caller may have won: its pipe is the one used; ours closes.
    Ok(GLOBALS.get_or_init(|| Globals { read, write, slots }))
}

impl Globals {
    pub(crate) fn slot(&self, signal: i32) -> &Slot {
        &self.slots[signal as usize]
    }

    /// Turns every pending flag into a generation bump and wakes that
    /// signal's listeners. A signal nobody listens for stays pending: the
    /// next listener created receives it (as tokio's does), so a Ctrl-C that
    /// lands between two `ctrl_c()` futures of a `select!` loop is not lost.
    pub(crate) fn publish(&self) {
        for slot in self.slots.iter() {
            if slot.listeners.load(SeqCst) == 0 {
                continue;
            }
            if slot.pending.swap(false, SeqCst) {
                slot.generation.fetch_add(1, SeqCst);
                let waiters = std::mem::take(&mut *lock(&slot.waiters));
                crate::driver::each_contained(waiters.into_iter(), |(_, waker)| waker.wake());
            }
        }
    }

    /// A listener for `signal` is created: returns the generation it has
    /// seen. Deliveries not yet published (also those that arrived while
    /// nobody listened) count as after it.
    pub(crate) fn add_listener(&self, signal: i32) -> u64 {
        let slot = self.slot(signal);
        let seen = slot.generation.load(SeqCst);
        slot.listeners.fetch_add(1, SeqCst);
        seen
    }

    /// Installs weft's handler for `signal` (once per process).
    pub(crate) fn install(&self, signal: i32) -> io::Result<()> {
        let slot = self.slot(signal);
        let mut installed = lock(&slot.installed);
        if *installed {
            return Ok(());
        }
        // SAFETY: a null new action only reads the current one into `old`,
        // a zeroed `sigaction` of the right type.
        let old = unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, std::ptr::null(), &mut old) != 0 {
                return Err(io::Error::last_os_error());
            }
            old
        };
        // Recorded before weft's handler goes in, so a signal arriving
        // right after the switch still reaches the previous handler.
        if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN {
            slot.previous_siginfo
                .store(old.sa_flags & libc::SA_SIGINFO != 0, SeqCst);
            slot.previous.store(old.sa_sigaction, SeqCst);
        }
        // `handler` only touches atomics, `write(2)` and the previous
        // handler, all async-signal-safe: it may run at any point of any thread.
        // SAFETY: `action` is a zeroed `sigaction` with a valid handler of the
        // `SA_SIGINFO` shape and an empty mask; `handler` is async-signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        *installed = true;
        Ok(())
    }

    pub(crate) fn register_waker(&self, signal: i32, id: u64, waker: &Waker) {
        let mut waiters = lock(&self.slot(signal).waiters);
        match waiters.iter_mut().find(|(owner, _)| *owner == id) {
            Some((_, stored)) => {
                if !stored.will_wake(waker) {
                    stored.clone_from(waker);
                }
            }
            None => waiters.push((id, waker.clone())),
        }
    }

    /// A listener is gone: forget its waker.
    pub(crate) fn unregister(&self, signal: i32, id: u64) {
        let slot = self.slot(signal);
        lock(&slot.waiters).retain(|(owner, _)| *owner != id);
        slot.listeners.fetch_sub(1, SeqCst);
    }
}

/// The signal handler.
/// A signal handler of the `SA_SIGINFO` shape.
type SigInfoHandler = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);
/// A plain `sa_handler`.
type PlainHandler = extern "C" fn(libc::c_int);

extern "C" fn handler(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: reading and restoring errno through libc's thread-local
    // pointer is what a handler must do so the interrupted code sees its
    // own errno.
    let saved_errno = unsafe { *libc::__errno_location() };
    if let Some(globals) = GLOBALS.get() {
        if let Some(slot) = globals.slots.get(signal as usize) {
            slot.pending.store(true, SeqCst);
            let byte = signal as u8;
            // A full pipe (EAGAIN) loses nothing: the pending flag holds the
            // signal.
            // SAFETY: `write(2)` is async-signal-safe; the fd is the pipe's
            // write end, open for the life of the process; one valid byte.
            unsafe { libc::write(globals.write.as_raw_fd(), (&byte as *const u8).cast(), 1) };
            let previous = slot.previous.load(SeqCst);
            if previous != 0 {
                if slot.previous_siginfo.load(SeqCst) {
                    // SAFETY: `previous` was read from the `sa_sigaction`
                    // of an action with SA_SIGINFO: a 3-argument handler,
                    // called with the arguments we were given.
                    let f: SigInfoHandler = unsafe { std::mem::transmute(previous) };
                    f(signal, info, context);
                } else {
                    // SAFETY: `previous` was read from an action without
                    // SA_SIGINFO: a 1-argument `sa_handler`.
                    let f: PlainHandler = unsafe { std::mem::transmute(previous) };
                    f(signal);
                }
            }
        }
    }
    // SAFETY: `__errno_location` returns this thread's errno slot, valid
    // for the thread's life; writing back the value read on entry is what a
    // handler must do so the interrupted code sees its own errno.
    unsafe { *libc::__errno_location() = saved_errno };
}
