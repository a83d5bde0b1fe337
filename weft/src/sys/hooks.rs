//! Callbacks around a runtime thread's life and sleep (the `Builder`'s
//! `on_thread_*` hooks), called by the schedulers' and the blocking pool's
//! threads.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// A callback the runtime calls on one of its threads.
pub(crate) type Callback = Arc<dyn Fn() + Send + Sync>;

/// Callbacks around a runtime thread's life and sleep.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub(crate) on_thread_start: Option<Callback>,
    pub(crate) on_thread_stop: Option<Callback>,
    pub(crate) on_thread_park: Option<Callback>,
    pub(crate) on_thread_unpark: Option<Callback>,
}

impl Hooks {
    /// Calls a user hook. A panic in it is reported on stderr and goes no
    /// further: it must not kill a worker thread in the middle of the
    /// scheduler's bookkeeping.
    fn call(name: &str, hook: &Option<Callback>) {
        if let Some(hook) = hook {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| hook())) {
                let message = payload
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("(not a string)");
                eprintln!("weft: the `{name}` hook panicked: {message}; carrying on");
            }
        }
    }

    pub(crate) fn thread_start(&self) {
        Hooks::call("on_thread_start", &self.on_thread_start);
    }

    pub(crate) fn thread_stop(&self) {
        Hooks::call("on_thread_stop", &self.on_thread_stop);
    }

    pub(crate) fn before_park(&self) {
        Hooks::call("on_thread_park", &self.on_thread_park);
    }

    pub(crate) fn after_unpark(&self) {
        Hooks::call("on_thread_unpark", &self.on_thread_unpark);
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |hook: &Option<Callback>| hook.is_some();
        f.debug_struct("Hooks")
            .field("on_thread_start", &set(&self.on_thread_start))
            .field("on_thread_stop", &set(&self.on_thread_stop))
            .field("on_thread_park", &set(&self.on_thread_park))
            .field("on_thread_unpark", &set(&self.on_thread_unpark))
            .finish()
    }
}
