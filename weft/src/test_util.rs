//! Helpers for the crate's unit tests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Wake;

/// A waker that counts its wakes.
pub(crate) struct Count(pub(crate) AtomicUsize);

impl Count {
    pub(crate) fn new() -> Arc<Count> {
        Arc::new(Count(AtomicUsize::new(0)))
    }
}

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}
