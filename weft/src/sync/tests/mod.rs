//! Unit tests of the crate-internal semaphore (tokio's
//! src/sync/tests/semaphore_batch.rs) and the loom models of the wait
//! lists.

#[cfg(weft_loom)]
mod loom_notify;
#[cfg(weft_loom)]
mod loom_semaphore;
#[cfg(not(weft_loom))]
mod semaphore_batch;
