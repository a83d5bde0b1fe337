//! Synchronization primitives for use in asynchronous contexts.
//!
//! weft programs are organized as a set of [tasks](crate::task), each
//! running independently, possibly on different threads. The primitives in
//! this module let them communicate. They follow tokio's `tokio::sync`
//! (names, signatures and semantics), work from any executor, and take
//! part in weft's [cooperative budget](crate::task::coop): an operation
//! that completes spends a unit, and one that finds the budget spent yields,
//! so a task looping on an always-ready lock or acquire cannot starve its
//! thread's other tasks, timers and I/O.
//!
//! # Message passing
//!
//! The most common form of synchronization is message passing: channels
//! send values from producers to consumers. [`oneshot`] sends a single
//! value from one producer to one consumer (the result of a computation);
//! [`mpsc`] sends many values from many producers to one consumer, bounded
//! (with backpressure) or unbounded; [`broadcast`] sends every value to
//! every consumer; [`watch`] keeps only the latest value and lets consumers
//! wait for changes (a configuration, a shutdown flag).
//!
//! ```
//! use weft::sync::{mpsc, oneshot};
//!
//! # #[weft::main(flavor = "current_thread")]
//! # async fn main() {
//! // A task serving requests, each with a oneshot channel for the reply.
//! let (requests, mut inbox) = mpsc::channel::<(u32, oneshot::Sender<u32>)>(8);
//! weft::spawn(async move {
//!     while let Some((n, reply)) = inbox.recv().await {
//!         let _ = reply.send(n * 2);
//!     }
//! });
//! let (reply, answer) = oneshot::channel();
//! requests.send((21, reply)).await.unwrap();
//! assert_eq!(answer.await.unwrap(), 42);
//! # }
//! ```
//!
//! # State synchronization
//!
//! The rest of the module synchronizes access to shared state:
//!
//! - [`Mutex`]: mutual exclusion; the guard may be held across `.await`.
//!   Waiters get the lock in the order they asked for it (FIFO).
//! - [`RwLock`]: many readers or one writer at a time, fair (a waiting
//!   writer holds back later readers).
//! - [`Semaphore`]: a limited number of permits, handed out fairly; the
//!   basis of `Mutex` and `RwLock`.
//! - [`Notify`]: wakes one waiting task (or stores a permit for the next
//!   one), or all of them, without carrying data.
//! - [`Barrier`]: makes a set number of tasks wait for each other.
//! - [`OnceCell`]: a value initialized once, asynchronously, by the first
//!   task that asks for it; [`SetOnce`]: a value set once by anyone, which
//!   others can wait for.
//!
//! ```
//! use std::sync::Arc;
//! use weft::sync::Semaphore;
//!
//! # #[weft::main(flavor = "current_thread")]
//! # async fn main() {
//! // At most 3 of the 10 tasks work at once.
//! let semaphore = Arc::new(Semaphore::new(3));
//! let tasks: Vec<_> = (0..10)
//!     .map(|i| {
//!         let semaphore = semaphore.clone();
//!         weft::spawn(async move {
//!             let _permit = semaphore.acquire().await.unwrap();
//!             i * 2
//!         })
//!     })
//!     .collect();
//! for task in tasks {
//!     task.await.unwrap();
//! }
//! assert_eq!(semaphore.available_permits(), 3);
//! # }
//! ```
//!
//! # Runtime compatibility
//!
//! Nothing here needs a weft runtime: the types are plain futures and work
//! under any executor (outside a weft task the budget never runs out). The
//! `blocking_*` methods block the calling thread and panic when called from
//! a thread that runs a weft runtime's tasks; call them from plain threads
//! or [`spawn_blocking`](crate::task::spawn_blocking).

mod barrier;
pub(crate) mod batch_semaphore;
mod block_on;
pub mod broadcast;
mod linked_list;
pub mod mpsc;
mod mutex;
mod notify;
mod once_cell;
pub mod oneshot;
mod rwlock;
mod semaphore;
mod set_once;
#[cfg(test)]
mod tests;
mod waker_cell;
pub mod watch;

pub use barrier::{Barrier, BarrierWaitResult};
pub use batch_semaphore::{AcquireError, TryAcquireError};
pub use mutex::{
    MappedMutexGuard, Mutex, MutexGuard, OwnedMappedMutexGuard, OwnedMutexGuard, TryLockError,
};
pub use notify::Notify;
pub use once_cell::{OnceCell, SetError};
pub use rwlock::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};
pub use set_once::{SetOnce, SetOnceError};

/// Named future types returned by some of this module's methods.
pub mod futures {
    pub use super::notify::{Notified, OwnedNotified};
}

pub(crate) use block_on::block_on;
