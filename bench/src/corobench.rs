//! `bench coro`: weft's stackful coroutines against the `may` crate's, tokio
//! and weft's own async tasks.
//!
//! (a) Context switch: one coroutine calling `yield_now` in a loop on a
//!     one-thread scheduler — each iteration is a suspend to the scheduler, a
//!     trip through its run queue, and a resume. weft in-process, may in a
//!     child process (`bench coro-switch-may <iters>`: may's configuration
//!     and signal handlers are process-global). ns per yield, time ratio.
//! (b) Echo: the `echo` scenario (64 connections, 64 B messages, server and
//!     client pinned apart) with servers weft-coro (blocking-style handlers
//!     under `weft::coro::serve`), weft (async tasks), tokio and may;
//!     throughput ratios.
//! (c) Idle connections: 10,000 connections, each after one round trip,
//!     held open by each server; the server's resident memory per
//!     connection (VmRSS after minus before, over the count).

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use crate::echo::{self, median, EchoOpts, Proc};
use crate::servers::ServerImpl;

/// Yields per switch measurement.
const SWITCH_ITERS: u64 = 2_000_000;
/// Connections held open in the idle measurement.
const IDLE_CONNS: usize = 10_000;

/// ns per switch: `pair` false, one coroutine calling `weft::coro::yield_now`
/// `iters` times (suspend, through the run queue, resume); `pair` true, two
/// coroutines taking turns (each yield switches to the other), the wall time
/// over the `2 * iters` switches. Current-thread runtime.
fn weft_switch_ns(iters: u64, pair: bool) -> io::Result<f64> {
    let rt = weft::runtime::Builder::new_current_thread().build()?;
    rt.block_on(async move {
        let body = move || -> io::Result<(Instant, Instant)> {
            let start = Instant::now();
            for _ in 0..iters {
                weft::coro::yield_now()?;
            }
            Ok((start, Instant::now()))
        };
        // Warm-up: the stack pool, the queue, the caches.
        weft::coro::spawn(move || {
            for _ in 0..10_000 {
                let _ = weft::coro::yield_now();
            }
        })
        .await
        .map_err(io::Error::other)?;
        let a = weft::coro::spawn(body);
        let b = pair.then(|| weft::coro::spawn(body));
        let (a0, a1) = a.await.map_err(io::Error::other)??;
        let (start, end, switches) = match b {
            Some(b) => {
                let (b0, b1) = b.await.map_err(io::Error::other)??;
                (a0.min(b0), a1.max(b1), 2 * iters)
            }
            None => (a0, a1, iters),
        };
        Ok((end - start).as_nanos() as f64 / switches as f64)
    })
}

/// Prints `NS <ns per switch>` for weft (the `coro-switch-weft`
/// subcommand, for profiling).
pub fn weft_switch(iters: u64, pair: bool) -> io::Result<()> {
    println!("NS {}", weft_switch_ns(iters, pair)?);
    Ok(())
}

/// Prints `NS <ns per switch>` for may, measured as [`weft_switch_ns`] does,
/// on may's one worker (the `coro-switch-may` child process: may's
/// configuration and signal handlers are process-wide).
pub fn may_switch(iters: u64, pair: bool) -> io::Result<()> {
    use crate::servers::may_echo::{configure, spawn};
    configure();
    let lost = |_| io::Error::other("a may timing coroutine panicked");
    spawn(|| {
        for _ in 0..10_000 {
            may::coroutine::yield_now();
        }
    })
    .join()
    .map_err(lost)?;
    let body = move || {
        let start = Instant::now();
        for _ in 0..iters {
            may::coroutine::yield_now();
        }
        (start, Instant::now())
    };
    let a = spawn(body);
    let b = pair.then(|| spawn(body));
    let (a0, a1) = a.join().map_err(lost)?;
    let (start, end, switches) = match b {
        Some(b) => {
            let (b0, b1) = b.join().map_err(lost)?;
            (a0.min(b0), a1.max(b1), 2 * iters)
        }
        None => (a0, a1, iters),
    };
    println!("NS {}", (end - start).as_nanos() as f64 / switches as f64);
    Ok(())
}

fn may_switch_ns(exe: &std::path::Path, iters: u64, pair: bool) -> io::Result<f64> {
    let mode = if pair { "pair" } else { "alone" };
    let out = std::process::Command::new(exe)
        .args(["coro-switch-may", &iters.to_string(), mode])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("NS "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .ok_or_else(|| {
            io::Error::other(format!(
                "coro-switch-may printed no NS line ({}): {text} {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        })
}

/// Raises this process's open-file limit to its hard limit (children
/// inherit it), so 10,000 connections fit on both sides.
fn raise_fd_limit() -> io::Result<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let raised = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    setrlimit(Resource::Nofile, raised).map_err(io::Error::from)?;
    Ok(limit.maximum.unwrap_or(u64::MAX))
}

/// Resident memory of process `pid`, in KiB (`VmRSS`).
fn rss_kib(pid: u32) -> io::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path)?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| io::Error::other(format!("no VmRSS in {path}")))
}

/// One round trip on a fresh connection; the connection is returned open.
fn connect_once(addr: &str) -> io::Result<std::net::TcpStream> {
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(b"x")?;
    let mut byte = [0u8; 1];
    stream.read_exact(&mut byte)?;
    Ok(stream)
}

/// Server RSS per idle connection, in bytes, for `which`.
fn idle_rss(exe: &std::path::Path, which: ServerImpl, conns: usize) -> io::Result<f64> {
    let mut server = Proc::spawn(
        "server",
        exe,
        None,
        &["serve-echo", which.name(), "127.0.0.1:0"],
    )?;
    let ready = server.expect_line(Duration::from_secs(10), "READY", |l| {
        l.starts_with("READY ")
    })?;
    let addr = ready["READY ".len()..].trim().to_string();
    let pid = server.child.id();
    // Warm-up: a few hundred connections come and go, so lazily made
    // things (pools, buffers, the first stacks) are in the baseline.
    for _ in 0..200 {
        drop(connect_once(&addr)?);
    }
    std::thread::sleep(Duration::from_millis(300));
    let before = rss_kib(pid)?;
    let mut held = Vec::with_capacity(conns);
    for _ in 0..conns {
        held.push(connect_once(&addr)?);
    }
    std::thread::sleep(Duration::from_millis(300));
    let after = rss_kib(pid)?;
    drop(held);
    server.terminate(Duration::from_secs(5))?;
    Ok(after.saturating_sub(before) as f64 * 1024.0 / conns as f64)
}

/// Runs the three parts; `rounds` interleaved rounds of each, medians.
pub fn run(rounds: usize) -> io::Result<()> {
    let exe = std::env::current_exe()?;

    println!(
        "coro (a): context switch on one thread: `alone` = one coroutine yielding \
         {SWITCH_ITERS} times, `pair` = two coroutines taking turns"
    );
    let mut switch: Vec<(&str, bool, Vec<f64>, Vec<f64>)> = vec![
        ("alone", false, Vec::new(), Vec::new()),
        ("pair", true, Vec::new(), Vec::new()),
    ];
    for round in 0..rounds {
        for (mode, pair, weft, may) in switch.iter_mut() {
            weft.push(weft_switch_ns(SWITCH_ITERS, *pair)?);
            may.push(may_switch_ns(&exe, SWITCH_ITERS, *pair)?);
            println!(
                "round {}  {mode:<5}  weft {:>6.1} ns  may {:>6.1} ns",
                round + 1,
                weft[round],
                may[round]
            );
        }
    }
    let mut switch_medians = Vec::new();
    for (mode, _, weft, may) in switch {
        let (w, m) = (median(weft), median(may));
        println!("medians {mode:<5}: weft {w:.1} ns, may {m:.1} ns per switch");
        switch_medians.push((mode, w, m));
    }
    println!();

    println!("coro (b): echo");
    let opts = EchoOpts {
        rounds,
        peers: vec![
            ServerImpl::WeftCoro,
            ServerImpl::Weft,
            ServerImpl::Tokio,
            ServerImpl::May,
        ],
        ..EchoOpts::default()
    };
    let medians = echo::measure(&opts)?;
    let rate = |which: ServerImpl| {
        medians
            .iter()
            .find(|(p, _)| *p == which)
            .map(|(_, s)| s.msgs_per_sec)
            .expect("every peer ran")
    };

    println!("coro (c): {IDLE_CONNS} idle connections, server RSS per connection");
    let limit = raise_fd_limit()?;
    let idle_peers = [
        ServerImpl::WeftCoro,
        ServerImpl::Weft,
        ServerImpl::Tokio,
        ServerImpl::May,
    ];
    let mut idle: Vec<(ServerImpl, Vec<f64>)> =
        idle_peers.iter().map(|&p| (p, Vec::new())).collect();
    if limit < (IDLE_CONNS + 100) as u64 {
        println!(
            "coro (c): skipped: the open-file hard limit is {limit}, below {IDLE_CONNS} + 100"
        );
    } else {
        for round in 0..rounds {
            for k in 0..idle.len() {
                let index = (k + round) % idle.len();
                let which = idle[index].0;
                let bytes = idle_rss(&exe, which, IDLE_CONNS)?;
                println!(
                    "round {}  {:<9} {:>8.0} B per connection",
                    round + 1,
                    which.name(),
                    bytes
                );
                idle[index].1.push(bytes);
            }
        }
    }
    let idle_median = |which: ServerImpl| {
        idle.iter()
            .find(|(p, _)| *p == which)
            .filter(|(_, v)| !v.is_empty())
            .map(|(_, v)| median(v.clone()))
    };
    for which in idle_peers {
        if let Some(bytes) = idle_median(which) {
            println!(
                "  {:<9} {:>8.0} B ({:.1} KiB) per idle connection",
                which.name(),
                bytes,
                bytes / 1024.0
            );
        }
    }
    println!();

    for (mode, w, m) in &switch_medians {
        // The pair (a switch from one coroutine to another) is the headline.
        let name = if *mode == "pair" {
            "coro-switch"
        } else {
            "coro-switch-alone"
        };
        println!("RESULT {name} weft/may {:.3}", w / m);
    }
    let coro = rate(ServerImpl::WeftCoro);
    println!(
        "RESULT coro-echo weft-coro/tokio {:.3}",
        coro / rate(ServerImpl::Tokio)
    );
    println!(
        "RESULT coro-echo weft-coro/weft-async {:.3}",
        coro / rate(ServerImpl::Weft)
    );
    println!(
        "RESULT coro-echo weft-coro/may {:.3}",
        coro / rate(ServerImpl::May)
    );
    if let (Some(ours), Some(theirs)) = (
        idle_median(ServerImpl::WeftCoro),
        idle_median(ServerImpl::Tokio),
    ) {
        println!("RESULT coro-idle-rss weft-coro/tokio {:.3}", ours / theirs);
    }
    Ok(())
}
