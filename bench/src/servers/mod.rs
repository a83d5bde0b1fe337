//! Echo servers under test. All three implement the same protocol: accept connections,
//! set `TCP_NODELAY`, and write back every byte read, until the peer closes.
//!
//! Each server runs its tasks on one thread: the current-thread runtimes on the main
//! thread, the `-mt` ones (multi-thread runtimes with one worker, the flavor most tokio
//! programs use) on their worker, with the accept loop in `block_on` on the main thread. Once it is listening it prints exactly one line,
//! `READY <addr>`, on stdout; the orchestrator waits for that line.

pub mod raw_echo;
pub mod tokio_echo;
pub mod weft_echo;

use std::fmt;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::str::FromStr;

/// Which echo server implementation to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerImpl {
    /// weft, current-thread runtime.
    Weft,
    /// tokio, current-thread runtime.
    Tokio,
    /// Hand-written edge-triggered epoll loop: the floor.
    Raw,
    /// weft, multi-thread runtime with one worker.
    WeftMt,
    /// tokio, multi_thread runtime with one worker.
    TokioMt,
}

impl ServerImpl {
    /// The default set, in the default order.
    pub const ALL: [ServerImpl; 3] = [ServerImpl::Weft, ServerImpl::Tokio, ServerImpl::Raw];
    /// Every implementation `--peers` may name.
    pub const KNOWN: [ServerImpl; 5] = [
        ServerImpl::Weft,
        ServerImpl::Tokio,
        ServerImpl::Raw,
        ServerImpl::WeftMt,
        ServerImpl::TokioMt,
    ];

    /// The name used on the command line (`weft`, `tokio`, `raw`).
    pub fn name(self) -> &'static str {
        match self {
            ServerImpl::Weft => "weft",
            ServerImpl::Tokio => "tokio",
            ServerImpl::Raw => "raw",
            ServerImpl::WeftMt => "weft-mt",
            ServerImpl::TokioMt => "tokio-mt",
        }
    }

    /// The name used in `RESULT` lines (`raw` is reported as `raw-epoll`).
    pub fn result_name(self) -> &'static str {
        match self {
            ServerImpl::Raw => "raw-epoll",
            other => other.name(),
        }
    }
}

impl fmt::Display for ServerImpl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ServerImpl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServerImpl::KNOWN
            .into_iter()
            .find(|i| i.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown server impl {s:?} (expected weft, tokio, raw, weft-mt or tokio-mt)"
                )
            })
    }
}

/// Runs the chosen echo server on `addr` until the process is killed.
pub fn serve(which: ServerImpl, addr: SocketAddr) -> io::Result<()> {
    match which {
        ServerImpl::Raw => raw_echo::serve(addr),
        ServerImpl::Tokio => tokio_echo::serve(addr, false),
        ServerImpl::Weft => weft_echo::serve(addr, false),
        ServerImpl::TokioMt => tokio_echo::serve(addr, true),
        ServerImpl::WeftMt => weft_echo::serve(addr, true),
    }
}

/// Prints the `READY <addr>` line the orchestrator waits for, and flushes stdout.
pub fn announce_ready(addr: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "READY {addr}")?;
    out.flush()
}
