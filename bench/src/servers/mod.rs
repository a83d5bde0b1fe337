//! Echo servers under test. All three implement the same protocol: accept connections,
//! set `TCP_NODELAY`, and write back every byte read, until the peer closes.
//!
//! Each server runs on a single thread. Once it is listening it prints exactly one line,
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
}

impl ServerImpl {
    /// All implementations, in the default order.
    pub const ALL: [ServerImpl; 3] = [ServerImpl::Weft, ServerImpl::Tokio, ServerImpl::Raw];

    /// The name used on the command line (`weft`, `tokio`, `raw`).
    pub fn name(self) -> &'static str {
        match self {
            ServerImpl::Weft => "weft",
            ServerImpl::Tokio => "tokio",
            ServerImpl::Raw => "raw",
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
        ServerImpl::ALL
            .into_iter()
            .find(|i| i.name() == s)
            .ok_or_else(|| format!("unknown server impl {s:?} (expected weft, tokio or raw)"))
    }
}

/// Runs the chosen echo server on `addr` until the process is killed.
pub fn serve(which: ServerImpl, addr: SocketAddr) -> io::Result<()> {
    match which {
        ServerImpl::Raw => raw_echo::serve(addr),
        ServerImpl::Tokio => tokio_echo::serve(addr),
        ServerImpl::Weft => weft_echo::serve(addr),
    }
}

/// Prints the `READY <addr>` line the orchestrator waits for, and flushes stdout.
pub fn announce_ready(addr: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "READY {addr}")?;
    out.flush()
}
