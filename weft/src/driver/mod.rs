//! Drivers turn kernel events and the clock into wake-ups.
//!
//! Owns: the I/O driver ([`io`]) and the time driver ([`time`]).
//! Calls: the kernel and wakers only. The scheduler calls [`Driver::park`]
//! when it has nothing to run (or every `event_interval` tasks), and
//! [`Handle::unpark`] from other threads.

pub(crate) mod io;
pub(crate) mod time;

use std::num::NonZeroU64;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use self::io::{IoDriver, IoShared};
use self::time::{Inserted, TimeShared};

/// What every handle to a runtime can reach: registration, timers, and
/// the runtime's id and name (kept here because every scheduler handle
/// reaches its driver's handle; copying them costs a `Sleep` nothing when
/// the runtime has no name, one reference count when it has).
#[derive(Clone)]
pub(crate) struct Handle {
    pub(crate) io: Arc<IoShared>,
    pub(crate) time: Arc<TimeShared>,
    /// The runtime's id (`runtime::Id`).
    pub(crate) runtime_id: NonZeroU64,
    /// The runtime's name, from `Builder::name`.
    pub(crate) runtime_name: Option<Arc<str>>,
}

/// What the runtime's `Builder` decides about the driver.
pub(crate) struct Config {
    /// Events fetched by one `epoll_wait` (at least 1).
    pub(crate) events_per_tick: usize,
    pub(crate) runtime_id: NonZeroU64,
    pub(crate) runtime_name: Option<Arc<str>>,
}

impl Handle {
    /// Wakes the thread parked in [`Driver::park`], if any.
    pub(crate) fn unpark(&self) {
        self.io.unpark();
    }

    /// Inserts a timer due at `deadline`. If the loop is parked with a
    /// timeout that this timer beats (it was inserted from another thread),
    /// the loop is unparked to recompute it.
    pub(crate) fn insert_timer(&self, deadline: Instant, waker: Waker) -> Inserted {
        let when = self.time.deadline_to_tick(deadline);
        let mut wheel = self.time.lock();
        let earliest = wheel.next_deadline().is_none_or(|next| when < next);
        let inserted = wheel.insert(when, waker);
        drop(wheel);
        if earliest && self.io.parked.load(SeqCst) {
            self.io.unpark();
        }
        inserted
    }
}

/// The driver proper, owned by whichever thread runs the loop.
pub(crate) struct Driver {
    io: IoDriver,
    handle: Handle,
    /// Reused buffer of timer wakers fired in one turn.
    fired: Vec<Waker>,
}

impl Driver {
    pub(crate) fn new(config: Config) -> std::io::Result<Driver> {
        let io = IoDriver::new(config.events_per_tick)?;
        let handle = Handle {
            io: Arc::clone(io.shared()),
            time: Arc::new(TimeShared::new()),
            runtime_id: config.runtime_id,
            runtime_name: config.runtime_name,
        };
        Ok(Driver {
            io,
            handle,
            fired: Vec::new(),
        })
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// One turn of the loop's driver phase: poll I/O for at most `timeout`
    /// (shortened to the next timer; `None`: no limit), then read the clock
    /// once and fire every timer due.
    pub(crate) fn park(&mut self, timeout: Option<Duration>) {
        let time = &self.handle.time;
        let blocking = timeout != Some(Duration::ZERO);
        let timeout = if blocking {
            // Announce the park before reading the wheel: a timer inserted
            // from another thread after this either is seen below or sees
            // `parked` and unparks us (see `Handle::insert_timer`).
            self.handle.io.parked.store(true, SeqCst);
            match (timeout, time.next_timeout(Instant::now())) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
            .map(ceil_millis)
        } else {
            timeout
        };
        let turned = self.io.turn(timeout);
        if blocking {
            self.handle.io.parked.store(false, SeqCst);
        }
        if let Err(e) = turned {
            // epoll_wait fails only on a broken epoll fd or a bad buffer:
            // neither can be fixed by retrying, and spinning would hide it.
            panic!("weft: epoll_wait failed: {e}");
        }
        time.process(Instant::now(), &mut self.fired);
        self.fired.drain(..).for_each(Waker::wake);
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.handle.time.shutdown(&mut self.fired);
        self.fired.drain(..).for_each(Waker::wake);
    }
}

/// Rounds up to whole milliseconds: epoll_wait counts in milliseconds, and a
/// timeout rounded down to zero would spin until the timer is due.
fn ceil_millis(d: Duration) -> Duration {
    let ms = d.as_millis() + u128::from(d.subsec_nanos() % 1_000_000 != 0);
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up_to_milliseconds() {
        assert_eq!(ceil_millis(Duration::ZERO), Duration::ZERO);
        assert_eq!(
            ceil_millis(Duration::from_micros(300)),
            Duration::from_millis(1)
        );
        assert_eq!(
            ceil_millis(Duration::from_millis(7)),
            Duration::from_millis(7)
        );
        assert_eq!(ceil_millis(Duration::MAX), Duration::from_millis(u64::MAX));
    }
}
