//! Signals, delivered through the I/O driver.
//!
//! [`ctrl_c`] waits for SIGINT; [`unix::signal`] listens for any catchable
//! signal. Each listener gets every delivery after it was created; signals
//! that arrive while nobody awaits are coalesced, never lost (at least one
//! delivery after the last `recv`); a signal that arrives while no listener
//! for it exists goes to the next one created (so a Ctrl-C that lands
//! between two `ctrl_c()` futures of a `select!` loop still stops it — a
//! delivery that lands while a listener exists goes to the listeners that
//! exist then, even one about to be dropped unpolled, as in tokio);
//! listeners on different runtimes in one process all work.
//!
//! **What installing weft's handler changes.** The first listener for a
//! signal installs a process-wide handler that stays for the life of the
//! process. A handler that was installed before it keeps being called (after
//! weft records the signal); the default action (terminating on SIGINT,
//! SIGTERM, ...) or an "ignore" disposition is replaced: once a program
//! listens for Ctrl-C, Ctrl-C no longer kills it, as with tokio.
//!
//! The mechanism is a self-pipe written by a minimal async-signal-safe
//! handler, read through each listener's runtime driver (see `registry.rs`
//! for why not `signalfd`).

mod registry;
pub mod unix;

use std::io;

/// Waits for Ctrl-C (SIGINT).
///
/// # Errors
///
/// If the handler cannot be installed or there is no runtime.
///
/// ```no_run
/// #[weft::main]
/// async fn main() -> std::io::Result<()> {
///     weft::signal::ctrl_c().await?;
///     println!("shutting down");
///     Ok(())
/// }
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let mut interrupt = unix::signal(unix::SignalKind::interrupt())?;
    interrupt.recv().await;
    Ok(())
}
