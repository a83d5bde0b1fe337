//! Multi-producer, single-consumer channels: many tasks (or threads) send
//! values, one receives them, in order.
//!
//! Two flavours, with tokio's API:
//!
//! - [`channel(buffer)`](channel): bounded. At most `buffer` values are
//!   queued; a [`Sender`] that finds the channel full waits for room
//!   (FIFO with the other waiting senders), which gives backpressure.
//!   [`Sender::reserve`] takes the room first and sends later, through a
//!   [`Permit`].
//! - [`unbounded_channel()`]: no limit; [`UnboundedSender::send`] never
//!   waits, so it can be called from synchronous code too.
//!
//! For a single value, use [`oneshot`](crate::sync::oneshot).
//!
//! # Closing
//!
//! When every sender is dropped the receiver gets what is still queued,
//! then `None`. When the receiver is dropped, sends fail and the queued
//! values are dropped. For a clean shutdown the receiver calls
//! [`close`](Receiver::close) (sends fail from then on), then receives
//! until `None`: nothing sent before the close is lost.
//!
//! ```
//! use weft::sync::mpsc;
//!
//! # #[weft::main(flavor = "current_thread")]
//! # async fn main() {
//! let (tx, mut rx) = mpsc::channel(16);
//! for id in 0..4 {
//!     let tx = tx.clone();
//!     weft::spawn(async move {
//!         for n in 0..10 {
//!             tx.send((id, n)).await.unwrap();
//!         }
//!     });
//! }
//! drop(tx);
//! let mut received = 0;
//! while let Some((_id, _n)) = rx.recv().await {
//!     received += 1;
//! }
//! assert_eq!(received, 40);
//! # }
//! ```
//!
//! # Synchronous code
//!
//! `blocking_send` and `blocking_recv` block a plain thread (they panic on
//! a thread that runs a weft runtime's tasks); `try_send`, `try_recv` and
//! the unbounded `send` never block and work anywhere.
//!
//! # Runtimes and the budget
//!
//! The channels need no runtime: they are plain futures and work under any
//! executor. Inside a weft task, `recv`, `recv_many` and a bounded `send`
//! or `reserve` each spend a unit of the task's
//! [cooperative budget](crate::task::coop) when they complete, and yield
//! when it is spent, so
//! a task draining an always-full channel still lets its thread's timers,
//! I/O and other tasks run. Only `send_timeout` needs a weft runtime (for
//! the timer).
//!
//! # Memory
//!
//! Values are stored in a linked list of blocks of 32 slots (16 on 32-bit
//! targets). A send claims a slot with one atomic add and marks it written
//! with one atomic or; the receiver reads without atomic writes, and a
//! sender wakes the receiver only if it sleeps waiting for that very slot.
//! Emptied blocks are kept for reuse, so a steady stream allocates nothing;
//! a burst allocates the blocks it needs and frees most of them afterwards.

mod block;
mod bounded;
mod chan;
pub mod error;
mod list;
#[cfg(all(test, weft_loom))]
mod loom_tests;
mod unbounded;

pub use bounded::{channel, OwnedPermit, Permit, PermitIterator, Receiver, Sender, WeakSender};
pub use unbounded::{unbounded_channel, UnboundedReceiver, UnboundedSender, WeakUnboundedSender};
