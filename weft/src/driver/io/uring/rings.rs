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
//!
//! A paused clock (feature `test-util`) auto-advances only once every ring
//! has settled ([`Rings::settled`]): on epoll the holder's own turn reports
//! every descriptor's events, here a ring's events wait for its worker, so
//! the holder looks at each ring ([`Settle`]) and, while one has not
//! settled, looks again a millisecond later.

use std::io;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{probe, Events, Flavor, Uring};
use crate::driver::io::backend::Backend;
use crate::sys::lock::lock;

/// One owned ring per worker.
pub(crate) struct Rings {
    rings: Box<[Uring]>,
    /// Each ring's event buffer and tick, used by the one thread that
    /// drives the ring (the lock is never contended but across a
    /// `block_in_place` hand-over).
    turns: Box<[Mutex<Turn>]>,
    /// The ring the time driver's holder parks in (see [`Rings::claim`]).
    holder: AtomicUsize,
    /// The ring the next registration from outside the workers goes to.
    next: AtomicUsize,
    /// Every ring's wait returns, counted together (see `Settle::wakes`;
    /// kept up only with feature `test-util`).
    #[cfg_attr(not(feature = "test-util"), allow(dead_code))]
    wakes: Arc<AtomicU64>,
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
        let wakes = Arc::new(AtomicU64::new(0));
        let rings = (0..workers.max(1))
            .map(|_| Uring::with_flavor(Flavor::Owned).map(|r| r.per_worker(Arc::clone(&wakes))))
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
            wakes,
        })
    }

    /// The ring a registration made on this thread goes to: its worker's,
    /// or, outside the workers, the next in turn.
    pub(crate) fn pick(&self) -> usize {
        self.worker()
            .unwrap_or_else(|| self.next.fetch_add(1, Relaxed) % self.rings.len())
    }

    /// This thread's worker, if it runs one with a ring here.
    fn worker(&self) -> Option<usize> {
        let worker = crate::driver::worker_index();
        (worker < self.rings.len()).then_some(worker)
    }

    /// Ring `index`.
    #[inline]
    pub(crate) fn ring(&self, index: usize) -> &Uring {
        &self.rings[index]
    }

    /// The ring this thread's worker drives (ring 0 on a thread that runs
    /// no worker, which drives nothing in a multi-thread runtime).
    pub(crate) fn mine(&self) -> usize {
        self.worker().unwrap_or(0)
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

    /// How many times a ring's wait has returned so far: the same before
    /// and after a [`settled`](Self::settled) look only if no worker woke
    /// meanwhile.
    #[cfg(feature = "test-util")]
    pub(crate) fn epoch(&self) -> u64 {
        self.wakes.load(SeqCst)
    }

    /// Every ring's [`Backend::shutdown`].
    pub(crate) fn shutdown(&self) {
        for ring in self.rings.iter() {
            ring.shutdown();
        }
    }
}

/// What a paused clock's auto-advance looks at on a ring per worker's ring,
/// besides the ring itself (`Uring::may_be_handling`, `Rings::settled`).
#[cfg_attr(not(feature = "test-util"), allow(dead_code))]
pub(super) struct Settle {
    /// True from the moment the worker's wait returns to its next wait
    /// that finds nothing to take (once that has written what other threads
    /// queued and, under a paused clock, submitted the submission queue);
    /// true before its first wait. A worker that woke for an event and has
    /// not yet counted itself busy shows here.
    awake: AtomicBool,
    /// Every ring per worker's wait returns, counted together
    /// (`Rings::epoch`): the auto-advance's look is one snapshot only if
    /// no worker woke while it looked from ring to ring.
    wakes: Arc<AtomicU64>,
}

impl Uring {
    /// Marks this ring as one of a ring per worker, whose wait returns
    /// `wakes` counts (see [`Settle`]).
    pub(super) fn per_worker(mut self, wakes: Arc<AtomicU64>) -> Uring {
        self.settle = Some(Settle {
            awake: AtomicBool::new(true),
            wakes,
        });
        self
    }

    /// True if an event on this ring may not have been handled yet:
    /// requests other threads queued for it, completions (or the
    /// completion work that makes them) on the ring, or, `awake_counts` on
    /// a ring per worker's, its worker awake since its last wait (read
    /// before and after the ring: its worker sets it before it takes the
    /// completions off, and clears it only after it submitted what it
    /// held). Without `awake_counts`, the caller is the ring's owner, and
    /// entries it wrote and has not submitted count too.
    #[cfg(feature = "test-util")]
    pub(crate) fn may_be_handling(&self, awake_counts: bool) -> bool {
        let awake = || {
            awake_counts
                && self
                    .settle
                    .as_ref()
                    .is_some_and(|settle| settle.awake.load(SeqCst))
        };
        let before = awake();
        let (ring, held) = {
            let registered = lock(&self.sq);
            let ring = registered.ring.clone();
            let unsubmitted = !awake_counts
                && self.flavor == Flavor::Owned
                && ring
                    .as_deref()
                    .is_some_and(|ring| super::submission_len(ring) > 0);
            (ring, unsubmitted || !registered.queued.is_empty())
        };
        // The ring's fd polls readable while it holds completions or
        // deferred completion work, which a write on loopback queues at
        // once.
        let pending = ring.is_some_and(|ring| {
            use rustix::event::{poll, PollFd, PollFlags, Timespec};
            let mut fds = [PollFd::new(&*ring, PollFlags::IN)];
            let now = Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            poll(&mut fds, Some(&now)).is_err() || !fds[0].revents().is_empty()
        });
        std::sync::atomic::fence(SeqCst);
        before || held || pending || awake()
    }
}

#[cfg(feature = "test-util")]
impl Settle {
    /// The worker's wait found nothing to take: it is settled.
    pub(super) fn settled(&self) {
        self.awake.store(false, SeqCst);
    }

    /// The worker's wait returned.
    pub(super) fn woke(&self) {
        self.awake.store(true, SeqCst);
        self.wakes.fetch_add(1, SeqCst);
    }
}
