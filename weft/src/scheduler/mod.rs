//! Schedulers decide which task runs next and when the loop parks.
//!
//! Owns: run queues, the registry of live tasks, the loop itself.
//! Calls: tasks (`run`, `shutdown`) and the driver (`park`, `unpark`).
//! Today there is one: [`current_thread`]; the multi-thread work-stealing
//! scheduler arrives as a second variant of [`Handle`].

pub(crate) mod current_thread;

use std::future::Future;
use std::io;
use std::sync::Arc;

use crate::driver;
use crate::task::raw::TaskRef;
use crate::task::JoinHandle;

/// A reference to a scheduler, held by runtime handles and by every task.
#[derive(Clone)]
pub(crate) enum Handle {
    CurrentThread(Arc<current_thread::Shared>),
}

impl Handle {
    pub(crate) fn driver(&self) -> &driver::Handle {
        match self {
            Handle::CurrentThread(shared) => shared.driver(),
        }
    }

    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Handle::CurrentThread(shared) => current_thread::spawn(shared, future, None),
        }
    }

    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        match self {
            Handle::CurrentThread(shared) => current_thread::block_on(shared, future),
        }
    }

    pub(crate) fn shutdown(&self) {
        match self {
            Handle::CurrentThread(shared) => current_thread::shutdown(shared),
        }
    }
}

/// Which scheduler a task belongs to, as a plain pointer: cheap to compare
/// with the loop a thread runs.
#[derive(Clone, Copy)]
pub(crate) enum Target {
    CurrentThread(*const current_thread::Shared),
}

impl Handle {
    pub(crate) fn target(&self) -> Target {
        match self {
            Handle::CurrentThread(shared) => Target::CurrentThread(Arc::as_ptr(shared)),
        }
    }
}

/// Puts a woken task on the run queue of its scheduler, `target`.
pub(crate) fn schedule(target: Target, task: TaskRef) {
    match target {
        Target::CurrentThread(shared) => current_thread::schedule(shared, task),
    }
}

/// Spawns a `!Send` future on the scheduler this thread is running.
pub(crate) fn spawn_local<F>(future: F) -> io::Result<JoinHandle<F::Output>>
where
    F: Future + 'static,
    F::Output: 'static,
{
    current_thread::spawn_local(future)
}
