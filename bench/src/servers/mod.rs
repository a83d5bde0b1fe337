//! Echo servers under test. All implement the same protocol: accept connections,
//! set `TCP_NODELAY`, and write back every byte read, until the peer closes.
//!
//! Each server runs its tasks on one thread: the current-thread runtimes on the main
//! thread, the `-mt` ones (multi-thread runtimes with one worker, the flavor most tokio
//! programs use) on their worker, with the accept loop in `block_on` on the main thread. Once it is listening it prints exactly one line,
//! `READY <addr>`, on stdout; the orchestrator waits for that line.

pub mod coro_echo;
pub mod may_echo;
pub mod monoio_echo;
pub mod raw_echo;
pub mod raw_uring_echo;
pub mod tokio_echo;
pub mod weft_echo;

use std::fmt;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// Where a server listens: a TCP address, or a Unix socket path (written
/// `unix:<path>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// TCP on this address (port 0: any free port).
    Tcp(SocketAddr),
    /// A Unix stream socket at this path.
    Unix(PathBuf),
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(addr) => addr.fmt(f),
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

impl FromStr for Endpoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("unix:") {
            Some("") => Err("unix: needs a path".into()),
            Some(path) => Ok(Endpoint::Unix(PathBuf::from(path))),
            None => s
                .parse()
                .map(Endpoint::Tcp)
                .map_err(|e| format!("{s:?} is neither ip:port nor unix:<path>: {e}")),
        }
    }
}

/// Which echo server implementation to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerImpl {
    /// weft, current-thread runtime.
    Weft,
    /// tokio, current-thread runtime.
    Tokio,
    /// Hand-written edge-triggered epoll loop: the floor.
    Raw,
    /// Hand-written io_uring loop in one of its shapes: the ring's floor
    /// (`raw-uring` is the cheapest shape; the others are named by theirs).
    RawUring(raw_uring_echo::Mode),
    /// weft, multi-thread runtime with one worker.
    WeftMt,
    /// weft, current-thread runtime, on the io_uring I/O driver.
    WeftUring,
    /// weft, multi-thread runtime with one worker, on the io_uring I/O
    /// driver (a ring per worker).
    WeftMtUring,
    /// tokio, multi_thread runtime with one worker.
    TokioMt,
    /// weft, current-thread runtime, over a Unix socket.
    WeftUnix,
    /// tokio, current-thread runtime, over a Unix socket.
    TokioUnix,
    /// weft coroutines (blocking-style handlers) on a current-thread runtime.
    WeftCoro,
    /// The `may` crate's coroutines, one worker thread.
    May,
    /// monoio on its io_uring driver, one thread.
    Monoio,
}

impl ServerImpl {
    /// The default set, in the default order.
    pub const ALL: [ServerImpl; 3] = [ServerImpl::Weft, ServerImpl::Tokio, ServerImpl::Raw];
    /// Every implementation `--peers` may name.
    pub const KNOWN: [ServerImpl; 20] = [
        ServerImpl::Weft,
        ServerImpl::WeftUring,
        ServerImpl::Tokio,
        ServerImpl::Raw,
        ServerImpl::RawUring(raw_uring_echo::MODES[0].1),
        ServerImpl::RawUring(raw_uring_echo::MODES[1].1),
        ServerImpl::RawUring(raw_uring_echo::MODES[2].1),
        ServerImpl::RawUring(raw_uring_echo::MODES[3].1),
        ServerImpl::RawUring(raw_uring_echo::MODES[4].1),
        ServerImpl::RawUring(raw_uring_echo::MODES[5].1),
        ServerImpl::RawUring(raw_uring_echo::MODES[6].1),
        ServerImpl::RawUring(raw_uring_echo::MODES[7].1),
        ServerImpl::WeftMt,
        ServerImpl::WeftMtUring,
        ServerImpl::TokioMt,
        ServerImpl::WeftUnix,
        ServerImpl::TokioUnix,
        ServerImpl::WeftCoro,
        ServerImpl::May,
        ServerImpl::Monoio,
    ];

    /// The name used on the command line (`weft`, `tokio`, `raw`).
    pub fn name(self) -> &'static str {
        match self {
            ServerImpl::Weft => "weft",
            ServerImpl::Tokio => "tokio",
            ServerImpl::Raw => "raw",
            ServerImpl::WeftMt => "weft-mt",
            ServerImpl::WeftUring => "weft-uring",
            ServerImpl::WeftMtUring => "weft-mt-uring",
            ServerImpl::RawUring(mode) => mode.name(),
            ServerImpl::TokioMt => "tokio-mt",
            ServerImpl::WeftUnix => "weft-unix",
            ServerImpl::TokioUnix => "tokio-unix",
            ServerImpl::WeftCoro => "weft-coro",
            ServerImpl::May => "may",
            ServerImpl::Monoio => "monoio",
        }
    }

    /// Where this server should listen for one run (`tag` makes Unix paths
    /// unique); the caller removes a Unix path afterwards.
    pub fn endpoint(self, tag: &str) -> Endpoint {
        match self {
            ServerImpl::WeftUnix | ServerImpl::TokioUnix => {
                Endpoint::Unix(std::env::temp_dir().join(format!(
                    "weft-bench-{}-{}-{tag}.sock",
                    std::process::id(),
                    self.name()
                )))
            }
            _ => Endpoint::Tcp(SocketAddr::from(([127, 0, 0, 1], 0))),
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
                    "unknown server impl {s:?} (expected weft, weft-uring, tokio, raw, raw-uring, raw-uring-<recv>-<send>-<taskrun> (ms|one, sqe|call, defer|coop; the floor's own shape is named raw-uring), weft-mt, weft-mt-uring, tokio-mt, weft-unix, tokio-unix, weft-coro, may or monoio)"
                )
            })
    }
}

/// Runs the chosen echo server on `addr` until the process is killed.
pub fn serve(which: ServerImpl, endpoint: Endpoint) -> io::Result<()> {
    let wrong = |what: &str| {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{which} serves {what}, not {endpoint}"),
        ))
    };
    match (which, endpoint.clone()) {
        (ServerImpl::Raw, Endpoint::Tcp(addr)) => raw_echo::serve(addr),
        (ServerImpl::RawUring(mode), Endpoint::Tcp(addr)) => raw_uring_echo::serve(addr, mode),
        (ServerImpl::Tokio, Endpoint::Tcp(addr)) => tokio_echo::serve(addr, false),
        (ServerImpl::Weft, Endpoint::Tcp(addr)) => weft_echo::serve(addr, false),
        (ServerImpl::WeftUring, Endpoint::Tcp(addr)) => weft_echo::serve_uring(addr),
        (ServerImpl::TokioMt, Endpoint::Tcp(addr)) => tokio_echo::serve(addr, true),
        (ServerImpl::WeftMt, Endpoint::Tcp(addr)) => weft_echo::serve(addr, true),
        (ServerImpl::WeftMtUring, Endpoint::Tcp(addr)) => weft_echo::serve_mt_uring(addr),
        (ServerImpl::WeftCoro, Endpoint::Tcp(addr)) => coro_echo::serve(addr),
        (ServerImpl::May, Endpoint::Tcp(addr)) => may_echo::serve(addr),
        (ServerImpl::Monoio, Endpoint::Tcp(addr)) => monoio_echo::serve(addr),
        (ServerImpl::WeftUnix, Endpoint::Unix(path)) => weft_echo::serve_unix(path),
        (ServerImpl::TokioUnix, Endpoint::Unix(path)) => tokio_echo::serve_unix(path),
        (ServerImpl::WeftUnix | ServerImpl::TokioUnix, _) => wrong("a Unix socket path"),
        _ => wrong("a TCP address"),
    }
}

/// Prints the `READY <addr>` line the orchestrator waits for, and flushes stdout.
pub fn announce_ready(addr: impl fmt::Display) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "READY {addr}")?;
    out.flush()
}
