//! The echo load client: one thread, one edge-triggered epoll set, `conns` connections.
//!
//! Each connection has exactly one message of `size` bytes in flight: send it, wait for
//! the full echo, compare it byte for byte, send the next. Per message the client costs
//! one `write`, one `read` and a share of an `epoll_wait`, so it is about as cheap as the
//! raw server; see `BENCHMARKS.md` for how to tell when it is the limit anyway.
//! With `--rate R` the sends are paced to R per second in all: a connection whose echo
//! is back waits in a queue for its turn, so neither side runs flat out and the server's
//! CPU per message is its own cost at that load.
//!
//! Protocol with the orchestrator (stdout, one line each):
//! `START` when the warmup ends and the measured window begins, then
//! `LOAD msgs=<n> secs=<elapsed> cpu_secs=<user+sys> errors=<mismatches>` at its end.

use std::io::{self, Write};
use std::net::TcpStream;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use rustix::buffer::spare_capacity;
use rustix::event::epoll;
use rustix::io::Errno;

use crate::procstat;
use crate::servers::Endpoint;

/// Options of `bench load-echo`.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadOpts {
    /// Server address.
    pub addr: Endpoint,
    /// Number of connections.
    pub conns: usize,
    /// Message size in bytes.
    pub size: usize,
    /// Length of the measured window, in seconds.
    pub secs: f64,
    /// Warmup before the measured window, in seconds (not counted).
    pub warmup: f64,
    /// Messages per second in all (0: each connection sends its next
    /// message as soon as the echo is back). Paced, a connection whose
    /// echo is back waits in a queue until the rate allows its next send.
    pub rate: u64,
}

/// Final report of one load run, as printed on the `LOAD` line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoadReport {
    /// Messages echoed and verified within the measured window.
    pub msgs: u64,
    /// Measured window length (wall clock), in seconds.
    pub secs: f64,
    /// Client CPU time (user + system) within the window, in seconds.
    pub cpu_secs: f64,
    /// Echoes that did not match what was sent (any is a failure).
    pub errors: u64,
    /// Messages echoed since the first connection, warmup included: what
    /// the server handled in its whole life (used to divide its total
    /// instruction count).
    pub total: u64,
}

impl LoadReport {
    /// Formats the machine-readable `LOAD ...` line.
    pub fn to_line(self) -> String {
        format!(
            "LOAD msgs={} secs={:.6} cpu_secs={:.6} errors={} total={}",
            self.msgs, self.secs, self.cpu_secs, self.errors, self.total
        )
    }

    /// Parses a line produced by [`LoadReport::to_line`].
    pub fn parse_line(line: &str) -> Result<LoadReport, String> {
        let rest = line
            .strip_prefix("LOAD ")
            .ok_or_else(|| format!("not a LOAD line: {line:?}"))?;
        let (mut msgs, mut secs, mut cpu_secs, mut errors) = (None, None, None, None);
        let mut total = None;
        for kv in rest.split_ascii_whitespace() {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("bad field {kv:?} in {line:?}"))?;
            let bad = |e: &dyn std::fmt::Display| format!("bad value for {k} in {line:?}: {e}");
            match k {
                "msgs" => msgs = Some(v.parse::<u64>().map_err(|e| bad(&e))?),
                "secs" => secs = Some(v.parse::<f64>().map_err(|e| bad(&e))?),
                "cpu_secs" => cpu_secs = Some(v.parse::<f64>().map_err(|e| bad(&e))?),
                "errors" => errors = Some(v.parse::<u64>().map_err(|e| bad(&e))?),
                "total" => total = Some(v.parse::<u64>().map_err(|e| bad(&e))?),
                _ => {} // Unknown keys are ignored, for forward compatibility.
            }
        }
        let need = |name: &str| format!("{name} missing in {line:?}");
        let msgs = msgs.ok_or_else(|| need("msgs"))?;
        Ok(LoadReport {
            msgs,
            total: total.unwrap_or(msgs),
            secs: secs.ok_or_else(|| need("secs"))?,
            cpu_secs: cpu_secs.ok_or_else(|| need("cpu_secs"))?,
            errors: errors.ok_or_else(|| need("errors"))?,
        })
    }
}

/// One client connection with its single in-flight message.
struct Conn {
    fd: OwnedFd,
    /// The message in flight; also exactly what the echo must be.
    tx: Vec<u8>,
    /// Echo received so far.
    rx: Vec<u8>,
    /// Bytes of `tx` written so far.
    sent: usize,
    /// Bytes of the echo received so far.
    recvd: usize,
    /// Sequence number of the message in flight.
    seq: u64,
    /// No message in flight (before the first, or paced between two).
    idle: bool,
}

impl Conn {
    /// Connects to `addr`; message bytes are a per-connection pattern.
    fn connect(addr: &Endpoint, id: usize, size: usize) -> io::Result<Conn> {
        let fd = match addr {
            Endpoint::Tcp(addr) => {
                let stream = TcpStream::connect(addr)?;
                stream.set_nodelay(true)?;
                stream.set_nonblocking(true)?;
                OwnedFd::from(stream)
            }
            Endpoint::Unix(path) => {
                let stream = UnixStream::connect(path)?;
                stream.set_nonblocking(true)?;
                OwnedFd::from(stream)
            }
        };
        let tx = (0..size)
            .map(|i| (i.wrapping_mul(31) ^ id.wrapping_mul(131)) as u8)
            .collect();
        Ok(Conn {
            fd,
            tx,
            rx: vec![0; size],
            sent: 0,
            recvd: 0,
            seq: 0,
            idle: true,
        })
    }

    /// Writes the rest of the message in flight. Returns `Ok(true)` once all of it is sent.
    fn send(&mut self) -> io::Result<bool> {
        while self.sent < self.tx.len() {
            match rustix::io::write(&self.fd, &self.tx[self.sent..]) {
                Ok(n) => self.sent += n,
                Err(Errno::AGAIN) => return Ok(false),
                Err(Errno::INTR) => continue,
                Err(e) => return Err(io::Error::new(e.kind(), format!("send: {e}"))),
            }
        }
        Ok(true)
    }

    /// Starts the next message: a new sequence number stamped into its first bytes.
    fn next_message(&mut self) -> io::Result<()> {
        self.seq += 1;
        let stamp = self.seq.to_le_bytes();
        let n = stamp.len().min(self.tx.len());
        self.tx[..n].copy_from_slice(&stamp[..n]);
        self.sent = 0;
        self.recvd = 0;
        self.idle = false;
        self.send().map(drop)
    }

    /// Handles readiness: finishes a partial send, reads the echo, and on a full echo
    /// verifies it and sends the next message.
    /// `paced`: the next message waits for its turn (the caller queues the
    /// connection) instead of going out at once.
    fn on_event(&mut self, flags: epoll::EventFlags, paced: bool) -> io::Result<Echo> {
        if self.idle {
            return Ok(Echo::Pending);
        }
        if self.sent < self.tx.len() && !self.send()? {
            return Ok(Echo::Pending);
        }
        let hangup = epoll::EventFlags::HUP | epoll::EventFlags::RDHUP | epoll::EventFlags::ERR;
        if !flags.intersects(epoll::EventFlags::IN | hangup) {
            return Ok(Echo::Pending);
        }
        // Only one message is in flight, so never read past its end.
        while self.recvd < self.tx.len() {
            match rustix::io::read(&self.fd, &mut self.rx[self.recvd..]) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "server closed the connection",
                    ))
                }
                Ok(n) => self.recvd += n,
                Err(Errno::AGAIN) => return Ok(Echo::Pending),
                Err(Errno::INTR) => continue,
                Err(e) => return Err(io::Error::new(e.kind(), format!("recv: {e}"))),
            }
        }
        let echo = if self.rx == self.tx {
            Echo::Verified
        } else {
            Echo::Mismatch(format!(
                "message {}: sent {:02x?}, got back {:02x?}",
                self.seq, self.tx, self.rx
            ))
        };
        // The echo of the next message cannot arrive before this write, and its arrival
        // raises a new edge, so there is no need to try reading again now.
        if paced {
            self.idle = true;
        } else {
            self.next_message()?;
        }
        Ok(echo)
    }
}

/// Outcome of handling one readiness event on a connection.
enum Echo {
    /// The echo is not complete yet.
    Pending,
    /// A full echo arrived and matched what was sent.
    Verified,
    /// A full echo arrived and differed from what was sent (details inside).
    Mismatch(String),
}

/// Runs the load client and prints the `START` and `LOAD` lines. Fails (non-zero exit)
/// if any echo mismatched or a connection broke.
pub fn run(opts: &LoadOpts) -> io::Result<()> {
    let ep = epoll::create(epoll::CreateFlags::CLOEXEC)?;
    let mut conns = Vec::with_capacity(opts.conns);
    for id in 0..opts.conns {
        let conn = Conn::connect(&opts.addr, id, opts.size).map_err(|e| {
            io::Error::new(e.kind(), format!("connect #{id} to {}: {e}", opts.addr))
        })?;
        epoll::add(
            &ep,
            &conn.fd,
            epoll::EventData::new_u64(id as u64),
            epoll::EventFlags::IN
                | epoll::EventFlags::OUT
                | epoll::EventFlags::RDHUP
                | epoll::EventFlags::ET,
        )?;
        conns.push(conn);
    }
    // Paced: connections waiting for their turn to send, and how many
    // sends the rate has allowed since `paced_from`.
    let paced_from = Instant::now();
    let mut sent_total = 0u64;
    let mut waiting: std::collections::VecDeque<usize> = (0..opts.conns).collect();
    let allowed = |now: Instant| -> u64 {
        if opts.rate == 0 {
            u64::MAX
        } else {
            (now.duration_since(paced_from).as_secs_f64() * opts.rate as f64) as u64 + 1
        }
    };

    let warmup_end = Instant::now() + Duration::from_secs_f64(opts.warmup);
    let mut window: Option<(Instant, f64)> = None; // (start, cpu at start)
    let mut msgs = 0u64;
    let mut total = 0u64;
    let mut errors = 0u64;
    let poll_timeout = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: 20_000_000,
    };
    // Paced and waiting to send: look again within a millisecond.
    let pace_timeout = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: 1_000_000,
    };
    let mut events: Vec<epoll::Event> = Vec::with_capacity(opts.conns.clamp(16, 1024));
    loop {
        let now = Instant::now();
        let mut may = allowed(now).saturating_sub(sent_total);
        while may > 0 {
            let Some(id) = waiting.pop_front() else { break };
            conns[id].next_message()?;
            sent_total += 1;
            may -= 1;
        }
        events.clear();
        let timeout = if waiting.is_empty() {
            &poll_timeout
        } else {
            &pace_timeout
        };
        match epoll::wait(&ep, spare_capacity(&mut events), Some(timeout)) {
            Ok(_) => {}
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
        for ev in &events {
            // `Event` is packed on x86_64: copy the fields out before use.
            let (id, flags) = (ev.data.u64() as usize, ev.flags);
            let paced = opts.rate > 0;
            let echo = conns[id]
                .on_event(flags, paced)
                .map_err(|e| io::Error::new(e.kind(), format!("connection #{id}: {e}")))?;
            if paced && !matches!(echo, Echo::Pending) {
                waiting.push_back(id);
            }
            match echo {
                Echo::Pending => {}
                Echo::Verified => {
                    msgs += 1;
                    total += 1;
                }
                Echo::Mismatch(detail) => {
                    msgs += 1;
                    total += 1;
                    errors += 1;
                    if errors <= 5 {
                        eprintln!("load-echo: ECHO MISMATCH on connection #{id}, {detail}");
                    }
                }
            }
        }
        let now = Instant::now();
        match window {
            None if now >= warmup_end => {
                window = Some((now, procstat::self_cpu_secs()));
                msgs = 0; // Mismatches seen during warmup still count as errors.
                emit("START")?;
            }
            Some((start, cpu0)) if now.duration_since(start).as_secs_f64() >= opts.secs => {
                let report = LoadReport {
                    msgs,
                    secs: now.duration_since(start).as_secs_f64(),
                    cpu_secs: procstat::self_cpu_secs() - cpu0,
                    errors,
                    total,
                };
                emit(&report.to_line())?;
                if errors > 0 {
                    return Err(io::Error::other(format!(
                        "{errors} echo mismatches: the server under test is broken"
                    )));
                }
                return Ok(());
            }
            _ => {}
        }
    }
}

/// Prints one protocol line on stdout and flushes it.
fn emit(line: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_line_round_trips() {
        let r = LoadReport {
            msgs: 123_456,
            secs: 2.000_125,
            cpu_secs: 1.5,
            errors: 0,
            total: 200_000,
        };
        assert_eq!(LoadReport::parse_line(&r.to_line()), Ok(r));
    }

    #[test]
    fn load_line_rejects_garbage() {
        assert!(LoadReport::parse_line("START").is_err());
        assert!(LoadReport::parse_line("LOAD msgs=1 secs=1").is_err());
        assert!(LoadReport::parse_line("LOAD msgs=x secs=1 cpu_secs=1 errors=0").is_err());
    }
}
