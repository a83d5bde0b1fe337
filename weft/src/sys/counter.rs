//! A statistics counter that one thread adds to and any thread reads.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A count (polls, parks, driver turns) with a single writer: adding one is
/// a plain load and store, no locked instruction. Readers (the runtime's
/// metrics) see some recent value.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Adds one. Only the counter's one writer may call this: two at once
    /// could lose an increment.
    pub(crate) fn bump(&self) {
        self.0.store(self.0.load(Relaxed).wrapping_add(1), Relaxed);
    }

    /// The count so far.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}
