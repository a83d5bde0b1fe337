//! A ring per worker: the io_uring backend of a multi-thread runtime.
//!
//! Each worker of a multi-thread runtime has an owned ring of its own
//! (`SINGLE_ISSUER | DEFER_TASKRUN`, the current-thread runtime's kind, so
//! TCP streams and listeners read and accept through it), and parks in it
//! when it has nothing to run, instead of on a condvar. A descriptor is
//! registered on the ring of the worker whose thread registers it (a
//! thread outside the workers takes the rings in turn), and stays there:
//! its completions are reaped by that worker, at its park, at its
//! scheduler's maintenance turn (every `event_interval` polls) and at the
//! turn a yield asks for, and the tasks they wake are queued on that
//! worker, from where idle workers steal them as any other. A request made
//! on another thread (a read armed by a task another worker stole, a
//! cancel at a drop) is queued for the ring's worker and wakes it through
//! the ring's eventfd, as on a current-thread runtime's ring.
//!
//! The time driver stays one, taken by one worker at a time as before: the
//! worker that holds it parks in its own ring with the next timer's
//! timeout, and [`Rings::wake`] (a timer inserted from another thread)
//! wakes that worker's ring ([`Rings::claim`] names it before the timers
//! are read for the park).
//!
//! The cost of the locality: a worker that computes for long without
//! awaiting (no maintenance turn comes) delays its own sockets' readiness
//! until it does; the other workers cannot reap its ring. On epoll, and on
//! a single shared ring, whichever worker holds the driver reaps every
//! descriptor's events. `block_in_place` hands the worker, and so its
//! ring, to a stand-in thread: the ring is rebuilt for that thread (every
//! registration re-armed, as a current-thread runtime driven by another
//! thread), and again when the home thread takes the worker back.

use std::io;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::{Mutex, MutexGuard};

use super::{probe, Events, Flavor, Uring};
use crate::driver::io::backend::Backend;
use crate::sys::lock::lock;

/// One owned ring per worker.
pub(crate) struct Rings {
    rings: Box<[Uring]>,
    /// Each ring's event buffer and turn count, used by the one thread
    /// that drives the ring (the lock is never contended but across a
    /// `block_in_place` hand-over).
    turns: Box<[Mutex<Turn>]>,
    /// The ring the time driver's holder parks in (see [`Rings::claim`]).
    holder: AtomicUsize,
    /// The ring the next registration from outside the workers goes to.
    next: AtomicUsize,
}

/// What one turn of a ring needs besides the ring.
pub(crate) struct Turn {
    pub(crate) events: Events,
    /// The ring's turn counter, stamped into every readiness it sets (a
    /// descriptor's readiness is set only by its ring's turns).
    pub(crate) tick: u32,
}

impl Rings {
    /// `workers` owned rings (at least one), each fetching up to
    /// `events_per_turn` events per turn. Fails where the kernel has no
    /// `DEFER_TASKRUN` (the caller takes one shared ring instead) or
    /// refuses a ring.
    pub(crate) fn new(workers: usize, events_per_turn: usize) -> io::Result<Rings> {
        probe::check().map_err(|reason| io::Error::new(io::ErrorKind::Unsupported, reason))?;
        if !probe::defer_taskrun() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this kernel's io_uring has no DEFER_TASKRUN",
            ));
        }
        let rings = (0..workers.max(1))
            .map(|_| Uring::with_flavor(Flavor::Owned).map(Uring::per_worker))
            .collect::<io::Result<Box<[Uring]>>>()?;
        let turns = rings
            .iter()
            .map(|_| {
                Mutex::new(Turn {
                    events: Uring::events(events_per_turn),
                    tick: 0,
                })
            })
            .collect();
        Ok(Rings {
            rings,
            turns,
            holder: AtomicUsize::new(0),
            next: AtomicUsize::new(0),
        })
    }

    /// The ring a registration made on this thread goes to: its worker's,
    /// or, outside the workers, the next in turn.
    pub(crate) fn pick(&self) -> usize {
        let worker = crate::driver::worker_index();
        if worker < self.rings.len() {
            return worker;
        }
        self.next.fetch_add(1, Relaxed) % self.rings.len()
    }

    /// Ring `index`.
    #[inline]
    pub(crate) fn ring(&self, index: usize) -> &Uring {
        &self.rings[index]
    }

    /// The ring this thread's worker drives (ring 0 on a thread that runs
    /// no worker, which drives nothing in a multi-thread runtime).
    pub(crate) fn mine(&self) -> usize {
        let worker = crate::driver::worker_index();
        if worker < self.rings.len() {
            worker
        } else {
            0
        }
    }

    /// Names this thread's ring as the one the time driver's holder is
    /// about to park in, so that [`wake`](Self::wake) reaches it. Called
    /// before the holder reads the timers for its timeout: a timer
    /// inserted after that read wakes this ring.
    pub(crate) fn claim(&self) {
        self.holder.store(self.mine(), SeqCst);
    }

    /// Wakes the ring the time driver's holder parks in (a timer inserted
    /// from another thread; a paused clock's kick).
    pub(crate) fn wake(&self) {
        self.rings[self.holder.load(SeqCst)].wake();
    }

    /// Wakes ring `index` (its worker, parked in it).
    pub(crate) fn wake_ring(&self, index: usize) {
        self.rings[index].wake();
    }

    /// Ring `index`'s turn state, for the thread that drives it.
    pub(crate) fn turn(&self, index: usize) -> MutexGuard<'_, Turn> {
        lock(&self.turns[index])
    }

    /// True unless a ring may hold an event nobody has handled yet:
    /// completions or completion work on any ring, or a worker other than
    /// this thread's woken from its wait and not yet back in it (see
    /// `Uring::may_be_handling`). The driver's holder asks before a paused
    /// clock auto-advances: on epoll its own turn would have reaped every
    /// descriptor's events, here each ring only its worker can.
    #[cfg(feature = "test-util")]
    pub(crate) fn settled(&self) -> bool {
        let mine = self.mine();
        self.rings
            .iter()
            .enumerate()
            .all(|(index, ring)| !ring.may_be_handling(index != mine))
    }

    /// Every ring's [`Backend::shutdown`].
    pub(crate) fn shutdown(&self) {
        for ring in self.rings.iter() {
            ring.shutdown();
        }
    }
}
