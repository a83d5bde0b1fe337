//! Reaping children dropped before they were awaited: no zombies.

use std::sync::{Arc, Mutex};

use crate::sys::lock::lock;

/// A dropped child on its way to being reaped; goes to the orphan queue if
/// dropped unreaped.
pub(super) struct Orphan(pub(super) Option<std::process::Child>);

impl Drop for Orphan {
    fn drop(&mut self) {
        if let Some(std) = self.0.take() {
            lock(&ORPHANS).push(std);
        }
    }
}

/// Children dropped un-reaped outside a runtime (or without a pidfd).
static ORPHANS: Mutex<Vec<std::process::Child>> = Mutex::new(Vec::new());

/// Queues a child nobody will wait for, to be reaped by a later sweep.
pub(super) fn orphan(child: std::process::Child) {
    lock(&ORPHANS).push(child);
}

/// The runtimes (by their blocking pool's address) with a task sweeping
/// the orphan queue on SIGCHLD.
static SWEEPERS: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// If the orphan queue is not empty and this thread is in a runtime, makes
/// sure a task of that runtime sweeps it on every SIGCHLD until it is empty
/// (one such task per runtime: a runtime nobody drives for a while must not
/// keep the others from sweeping).
pub(super) fn sweep_orphans_on_sigchld() {
    if lock(&ORPHANS).is_empty() {
        return;
    }
    let Ok(handle) = crate::runtime::Handle::try_current() else {
        return;
    };
    let runtime = Arc::as_ptr(handle.inner.blocking_pool()) as usize;
    {
        let mut sweepers = lock(&SWEEPERS);
        if sweepers.contains(&runtime) {
            return;
        }
        sweepers.push(runtime);
    }
    /// Lets this runtime start a sweep again once this one ends, however
    /// it ends (the queue emptied, or its runtime dropped it unfinished).
    struct Sweeping(usize);
    impl Drop for Sweeping {
        fn drop(&mut self) {
            lock(&SWEEPERS).retain(|&runtime| runtime != self.0);
        }
    }
    let sweeping = Sweeping(runtime);
    let sigchld = match crate::signal::unix::signal(crate::signal::unix::SignalKind::child()) {
        Ok(sigchld) => sigchld,
        // No signal stream: later `spawn`s and `wait`s still sweep.
        Err(_) => return,
    };
    crate::task::spawn(async move {
        let sweeping = sweeping;
        let mut sigchld = sigchld;
        loop {
            reap_orphans();
            if lock(&ORPHANS).is_empty() {
                // An orphan queued here just before this sweep unregisters
                // would find it still running and start none: look once
                // more.
                drop(sweeping);
                sweep_orphans_on_sigchld();
                return;
            }
            if sigchld.recv().await.is_none() {
                return;
            }
        }
    });
}

/// Reaps every orphan that has exited.
pub(super) fn reap_orphans() {
    let mut orphans = lock(&ORPHANS);
    orphans.retain_mut(|child| !matches!(child.try_wait(), Ok(Some(_)) | Err(_)));
}
