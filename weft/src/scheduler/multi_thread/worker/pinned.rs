//! `spawn_local` on a multi-thread runtime: `!Send` tasks pinned to the
//! worker thread that spawned them.
//!
//! A pinned task lives in its worker's `pinned` queue (woken on its own
//! thread) or in the worker's `pinned_inbox` (woken elsewhere), and only its
//! home thread polls or drops it: a `block_in_place` stand-in never takes
//! the pinned queue, and the home thread drops every pinned future itself
//! when it exits.

use std::future::Future;
use std::io;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::Arc;
use std::thread;

use super::{current, WorkerCx};
use crate::scheduler::{Handle, TaskRef};
use crate::sys::lock::lock;
use crate::task::id::Id;
use crate::task::join::JoinHandle;
use crate::task::raw::LocalOwner;

/// Spawns a `!Send` future pinned to this worker thread.
#[cfg_attr(feature = "console", track_caller)]
pub(crate) fn spawn_local<F>(future: F) -> io::Result<JoinHandle<F::Output>>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let Some(cx) = current() else {
        return Err(io::Error::other(
            "this thread is not a worker of a weft runtime",
        ));
    };
    if !cx.home {
        return Err(io::Error::other(
            "this thread stands in for a worker during `block_in_place` and will not outlive \
             it; spawn local tasks from the worker's own thread",
        ));
    }
    let owner = LocalOwner {
        thread: thread::current().id(),
        worker: cx.index,
    };
    let handle = Handle::MultiThread(Arc::clone(&cx.shared));
    let task = crate::task::raw::spawned(future, Id::next(), handle, Some(owner));
    let join = JoinHandle::new(task.clone());
    let task: TaskRef = task;
    if cx.shared.is_closed() {
        task.shutdown();
        return Ok(join);
    }
    cx.pinned_registry.borrow_mut().insert(&task);
    cx.shared.remotes[cx.index]
        .pinned_alive
        .fetch_add(1, Relaxed);
    cx.pinned.borrow_mut().push_back(task);
    Ok(join)
}

/// A local task of this thread's worker finished: forget it.
pub(crate) fn pinned_finished(index: usize) {
    let Some(cx) = current() else { return };
    // Busy only while `shutdown_pinned` drains it, which forgets every task
    // anyway.
    let Ok(mut registry) = cx.pinned_registry.try_borrow_mut() else {
        return;
    };
    if registry.remove(index).is_some() {
        let alive = &cx.remote().pinned_alive;
        alive.store(alive.load(Relaxed).saturating_sub(1), Relaxed);
    }
}

impl WorkerCx {
    pub(super) fn pop_pinned(&self) -> Option<TaskRef> {
        if self.remote().pinned_alive.load(Relaxed) == 0 {
            // This worker has no local tasks (the common case): one load.
            return None;
        }
        if let Some(task) = self.pinned.borrow_mut().pop_front() {
            return Some(task);
        }
        let remote = self.remote();
        if remote.pinned_len.load(Acquire) == 0 {
            return None;
        }
        let mut inbox = lock(&remote.pinned_inbox);
        remote.pinned_len.store(0, Release);
        let mut pinned = self.pinned.borrow_mut();
        pinned.extend(inbox.tasks.drain(..));
        drop(inbox);
        pinned.pop_front()
    }

    /// At exit of the home thread: drop every pinned task's future, here,
    /// on the one thread allowed to.
    pub(super) fn shutdown_pinned(&self) {
        let _dropping = crate::scheduler::DroppingTasks::enter();
        let remote = self.remote();
        loop {
            let mut dropped = false;
            let inbox = {
                let mut inbox = lock(&remote.pinned_inbox);
                inbox.closed = true;
                remote.pinned_len.store(0, Release);
                std::mem::take(&mut inbox.tasks)
            };
            let mut queued: Vec<TaskRef> = self.pinned.borrow_mut().drain(..).collect();
            queued.extend(self.pinned_deferred.borrow_mut().drain(..));
            let registered = self.pinned_registry.borrow_mut().drain();
            for task in inbox.into_iter().chain(queued).chain(registered) {
                task.shutdown();
                dropped = true;
            }
            if !dropped {
                break;
            }
        }
        remote.pinned_alive.store(0, Relaxed);
    }
}
