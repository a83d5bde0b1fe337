//! `bench soak --secs N`: a weft server process (TCP echo on async tasks, a
//! hyper hello-world server, and a coroutine echo server under
//! `weft::coro::serve`, all on one 2-worker runtime) under a mixed, hostile
//! load from this process: normal request/response clients (every byte
//! checked), clients that reset mid-message (SO_LINGER 0), clients that send
//! one byte every 100 ms, clients that connect and never send, clients that
//! half-close and read the rest, and connection churn as fast as it goes.
//!
//! Every report interval it prints requests served, errors by kind, the
//! server's open descriptors, RSS, alive tasks and CPU. It passes when every
//! normal client's bytes came back exact; after the load stops, descriptors
//! and alive tasks return to their pre-load values and RSS is within 10 % of
//! its value after warm-up; and the idle server then uses < 2 % CPU over 5 s.
//! Any failure is an error (non-zero exit) naming it.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::echo::Proc;
use crate::procstat;

/// The server's three listeners.
#[derive(Clone, Copy, Debug)]
struct Addrs {
    echo: SocketAddr,
    http: SocketAddr,
    coro: SocketAddr,
}

// ---------------------------------------------------------------- server

/// The `serve-soak` subcommand: runs the three servers until killed, and
/// prints `TASKS <alive tasks>` every 250 ms.
pub fn serve() -> io::Result<()> {
    let rt = weft::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()?;
    let handle = rt.handle().clone();
    rt.block_on(async move {
        let echo = weft::net::TcpListener::bind("127.0.0.1:0").await?;
        let http = weft::net::TcpListener::bind("127.0.0.1:0").await?;
        let coro = weft::net::TcpListener::bind("127.0.0.1:0").await?;
        println!(
            "READY echo={} http={} coro={}",
            echo.local_addr()?,
            http.local_addr()?,
            coro.local_addr()?
        );
        weft::spawn(examples::echo::serve(echo));
        weft::spawn(async move {
            loop {
                let Ok((stream, _)) = http.accept().await else {
                    continue;
                };
                weft::spawn(async move {
                    let service = hyper::service::service_fn(|_| async {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(
                            http_body_util::Full::new(bytes::Bytes::from_static(HELLO)),
                        ))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(stream, service)
                        .await;
                });
            }
        });
        // The coroutine server runs on a worker (coroutines are spawned from
        // a worker's task, never from `block_on`).
        weft::spawn(async move {
            let served = weft::task::spawn_local(weft::coro::serve(
                coro,
                weft::coro::ServeOptions::new(),
                crate::servers::coro_echo::echo,
            ));
            let _ = served.await;
        });
        loop {
            println!("TASKS {}", handle.metrics().num_alive_tasks());
            weft::time::sleep(Duration::from_millis(250)).await;
        }
    })
}

const HELLO: &[u8] = b"Hello, World!";

// ---------------------------------------------------------------- load

/// What the clients count.
#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    /// Echoed bytes that differed from what was sent, or a wrong HTTP body:
    /// always a failure.
    mismatches: AtomicU64,
    /// Errors seen by clients that behave normally: a failure.
    normal_errors: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    fn error(&self, class: &str, e: &io::Error, normal: bool) {
        if normal {
            self.normal_errors.fetch_add(1, Relaxed);
        }
        *self
            .errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(format!("{class}: {:?}", e.kind()))
            .or_default() += 1;
    }
}

/// A message of `len` bytes whose content depends on `seed`.
fn message(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// One echo exchange on `stream`: sends `msg`, expects it back exactly.
fn echo_once(stream: &mut TcpStream, msg: &[u8], counters: &Counters) -> io::Result<()> {
    stream.write_all(msg)?;
    let mut back = vec![0u8; msg.len()];
    stream.read_exact(&mut back)?;
    if back != msg {
        counters.mismatches.fetch_add(1, Relaxed);
    }
    counters.requests.fetch_add(1, Relaxed);
    Ok(())
}

/// One HTTP/1.1 request on a keep-alive connection; checks the body.
fn http_once(
    reader: &mut BufReader<TcpStream>,
    close: bool,
    counters: &Counters,
) -> io::Result<()> {
    let request: &[u8] = if close {
        b"GET / HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n"
    } else {
        b"GET / HTTP/1.1\r\nHost: soak\r\n\r\n"
    };
    reader.get_mut().write_all(request)?;
    read_http_response(reader, counters)
}

fn read_http_response(reader: &mut BufReader<TcpStream>, counters: &Counters) -> io::Result<()> {
    let mut length = None;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed mid-response",
            ));
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<usize>().ok();
            }
        }
    }
    let mut body = vec![0u8; length.unwrap_or(0)];
    reader.read_exact(&mut body)?;
    if body != HELLO {
        counters.mismatches.fetch_add(1, Relaxed);
    }
    counters.requests.fetch_add(1, Relaxed);
    Ok(())
}

/// Runs `body` until `stop`, counting its errors under `class` (a pause
/// after each error, so a failing class does not spin).
fn client_loop(
    class: &'static str,
    normal: bool,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    mut body: impl FnMut(&Counters, &AtomicBool) -> io::Result<()> + Send + 'static,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        while !stop.load(Relaxed) {
            if let Err(e) = body(&counters, &stop) {
                // A normal client's error during shutdown of the load is not
                // the server's fault.
                counters.error(class, &e, normal && !stop.load(Relaxed));
                thread::sleep(Duration::from_millis(20));
            }
        }
    })
}

/// One client's work, run again and again until the load stops.
type ClientBody = Box<dyn FnMut(&Counters, &AtomicBool) -> io::Result<()> + Send>;

/// Starts every client class; returns their threads.
fn start_load(
    addrs: Addrs,
    stop: &Arc<AtomicBool>,
    counters: &Arc<Counters>,
) -> Vec<thread::JoinHandle<()>> {
    let mut threads = Vec::new();
    let mut seed = 1u64;
    let mut next_seed = || {
        seed += 1;
        seed
    };
    let go = |class, normal, body: ClientBody| {
        client_loop(class, normal, Arc::clone(stop), Arc::clone(counters), body)
    };
    // Normal echo clients (async and coroutine servers): long connections,
    // random sizes, every byte checked.
    for (class, addr) in [("normal-echo", addrs.echo), ("normal-coro", addrs.coro)] {
        for _ in 0..3 {
            let s = next_seed();
            threads.push(go(
                class,
                true,
                Box::new(move |counters, stop| {
                    let mut stream = connect(addr)?;
                    for i in 0..2000u64 {
                        if stop.load(Relaxed) {
                            break;
                        }
                        let len = 1 + ((s * 7919 + i * 104_729) % 4096) as usize;
                        echo_once(&mut stream, &message(s ^ i, len), counters)?;
                    }
                    Ok(())
                }),
            ));
        }
    }
    // Normal HTTP clients: keep-alive.
    for _ in 0..3 {
        threads.push(go(
            "normal-http",
            true,
            Box::new(move |counters, stop| {
                let mut reader = BufReader::new(connect(addrs.http)?);
                for _ in 0..2000 {
                    if stop.load(Relaxed) {
                        break;
                    }
                    http_once(&mut reader, false, counters)?;
                }
                Ok(())
            }),
        ));
    }
    // Half-closers: send, shut the write side, read everything back.
    for addr in [addrs.echo, addrs.coro] {
        let s = next_seed();
        let mut round = 0u64;
        threads.push(go(
            "half-close",
            true,
            Box::new(move |counters, _| {
                round += 1;
                let msg = message(s ^ round, 1 + (round % 10_000) as usize);
                let mut stream = connect(addr)?;
                stream.write_all(&msg)?;
                stream.shutdown(Shutdown::Write)?;
                let mut back = Vec::new();
                stream.read_to_end(&mut back)?;
                if back != msg {
                    counters.mismatches.fetch_add(1, Relaxed);
                }
                counters.requests.fetch_add(1, Relaxed);
                Ok(())
            }),
        ));
    }
    // Resetters: half a message, then RST.
    for addr in [addrs.echo, addrs.http, addrs.coro] {
        threads.push(go(
            "reset",
            false,
            Box::new(move |counters, _| {
                let stream = connect(addr)?;
                (&stream).write_all(b"GET / HTTP/1.1\r\nHost: half-a-me")?;
                rustix::net::sockopt::set_socket_linger(&stream, Some(Duration::ZERO))?;
                drop(stream);
                counters.requests.fetch_add(1, Relaxed);
                // Open-loop (nothing waits for the server), so paced: about
                // 1,000 resets a second per client, not a flood that only
                // measures the accept queue.
                thread::sleep(Duration::from_millis(1));
                Ok(())
            }),
        ));
    }
    // Churn: connect, one exchange, close, as fast as it goes.
    for (class, addr, http) in [
        ("churn-echo", addrs.echo, false),
        ("churn-http", addrs.http, true),
        ("churn-coro", addrs.coro, false),
    ] {
        let s = next_seed();
        let mut round = 0u64;
        threads.push(go(
            class,
            false,
            Box::new(move |counters, _| {
                round += 1;
                if http {
                    let mut reader = BufReader::new(connect(addr)?);
                    http_once(&mut reader, true, counters)
                } else {
                    let mut stream = connect(addr)?;
                    echo_once(&mut stream, &message(s ^ round, 64), counters)
                }
            }),
        ));
    }
    // Slow clients: one byte every 100 ms (echo: read each back; HTTP: the
    // request trickles in, then the response is read).
    for addr in [addrs.echo, addrs.coro, addrs.http] {
        for _ in 0..5 {
            let http = addr == addrs.http;
            threads.push(go(
                "slow",
                true,
                Box::new(move |counters, stop| {
                    let mut stream = connect(addr)?;
                    let request = b"GET / HTTP/1.1\r\nHost: slow\r\n\r\n";
                    let mut i = 0usize;
                    while !stop.load(Relaxed) {
                        if http {
                            stream.write_all(&request[i % request.len()..][..1])?;
                            i += 1;
                            if i % request.len() == 0 {
                                let mut reader = BufReader::new(stream.try_clone()?);
                                read_http_response(&mut reader, counters)?;
                            }
                        } else {
                            let byte = [i as u8];
                            i += 1;
                            stream.write_all(&byte)?;
                            let mut back = [0u8; 1];
                            stream.read_exact(&mut back)?;
                            if back != byte {
                                counters.mismatches.fetch_add(1, Relaxed);
                            }
                            counters.requests.fetch_add(1, Relaxed);
                        }
                        thread::sleep(Duration::from_millis(100));
                    }
                    Ok(())
                }),
            ));
        }
    }
    // Idle clients: connect and never send, held until the load stops.
    for addr in [addrs.echo, addrs.http, addrs.coro] {
        threads.push(go(
            "idle",
            true,
            Box::new(move |_, stop| {
                let held: Vec<TcpStream> =
                    (0..30).map(|_| connect(addr)).collect::<Result<_, _>>()?;
                while !stop.load(Relaxed) {
                    thread::sleep(Duration::from_millis(50));
                }
                drop(held);
                Ok(())
            }),
        ));
    }
    threads
}

// ---------------------------------------------------------------- orchestrator

/// The server process and what is read from `/proc` about it.
struct Server {
    proc: Proc,
    pid: u32,
    tasks: Arc<AtomicU64>,
}

impl Server {
    fn open_fds(&self) -> io::Result<usize> {
        Ok(std::fs::read_dir(format!("/proc/{}/fd", self.pid))?.count())
    }

    fn rss_kib(&self) -> io::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| io::Error::other("no VmRSS"))
    }

    fn cpu_secs(&self) -> io::Result<f64> {
        Ok(procstat::process_cpu_times(self.pid)?.total())
    }

    fn tasks(&self) -> u64 {
        self.tasks.load(Relaxed)
    }
}

fn start_server(exe: &std::path::Path) -> io::Result<(Server, Addrs)> {
    let mut proc = Proc::spawn("soak server", exe, None, &["serve-soak"])?;
    let ready = proc.expect_line(Duration::from_secs(20), "READY", |l| {
        l.starts_with("READY ")
    })?;
    let field = |name: &str| -> io::Result<SocketAddr> {
        ready
            .split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| io::Error::other(format!("no {name} address in {ready:?}")))
    };
    let addrs = Addrs {
        echo: field("echo=")?,
        http: field("http=")?,
        coro: field("coro=")?,
    };
    let pid = proc.child.id();
    // Follow the server's `TASKS n` lines.
    let tasks = Arc::new(AtomicU64::new(u64::MAX));
    let seen = Arc::clone(&tasks);
    proc.follow(move |line| {
        if let Some(n) = line
            .strip_prefix("TASKS ")
            .and_then(|n| n.trim().parse().ok())
        {
            seen.store(n, Relaxed);
        }
    });
    Ok((Server { proc, pid, tasks }, addrs))
}

/// Waits until `f` is true, up to `limit`.
fn settle(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Runs the soak for `secs` seconds of load.
pub fn run(secs: u64) -> io::Result<()> {
    if secs < 10 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--secs must be at least 10",
        ));
    }
    raise_fd_limit();
    let exe = std::env::current_exe()?;
    let (mut server, addrs) = start_server(&exe)?;
    let report_every = Duration::from_secs(if secs >= 60 { 10 } else { 5 });
    // Warm-up: pools, slab pages and allocator arenas grow to the load's
    // peak; RSS is judged against its value after this.
    let warmup = Duration::from_secs((secs / 10).clamp(10, 60));
    // Pre-load state, once the task count has been reported.
    settle(Duration::from_secs(10), || server.tasks() != u64::MAX);
    thread::sleep(Duration::from_millis(500));
    let (fds_before, tasks_before) = (server.open_fds()?, server.tasks());
    println!(
        "soak: {secs} s of mixed load on echo={} http={} coro={}; before the load: {fds_before} fds, {tasks_before} tasks, {} KiB RSS",
        addrs.echo,
        addrs.http,
        addrs.coro,
        server.rss_kib()?
    );
    let stop = Arc::new(AtomicBool::new(false));
    let counters = Arc::new(Counters::default());
    let threads = start_load(addrs, &stop, &counters);
    let start = Instant::now();
    let mut rss_after_warmup = None;
    let mut last = (Instant::now(), server.cpu_secs()?, 0u64);
    while start.elapsed() < Duration::from_secs(secs) {
        thread::sleep(Duration::from_millis(200));
        if rss_after_warmup.is_none() && start.elapsed() >= warmup {
            rss_after_warmup = Some(server.rss_kib()?);
        }
        if last.0.elapsed() >= report_every {
            let (now, cpu) = (Instant::now(), server.cpu_secs()?);
            let requests = counters.requests.load(Relaxed);
            let window = now.duration_since(last.0).as_secs_f64();
            let errors = counters
                .errors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            println!(
                "[{:>4.0} s] requests {:>10} ({:>7.0}/s)  fds {:>5}  RSS {:>7} KiB  tasks {:>5}  server CPU {:>5.1} %  errors {:?}",
                start.elapsed().as_secs_f64(),
                requests,
                (requests - last.2) as f64 / window,
                server.open_fds()?,
                server.rss_kib()?,
                server.tasks(),
                (cpu - last.1) / window * 100.0,
                errors
            );
            last = (now, cpu, requests);
        }
    }
    stop.store(true, Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let mut failures = Vec::new();
    let settled = settle(Duration::from_secs(20), || {
        server.open_fds().is_ok_and(|n| n == fds_before) && server.tasks() == tasks_before
    });
    let (fds_after, tasks_after, rss_after) =
        (server.open_fds()?, server.tasks(), server.rss_kib()?);
    println!("after the load: {fds_after} fds, {tasks_after} tasks, {rss_after} KiB RSS (after warm-up: {} KiB)", rss_after_warmup.unwrap_or(0));
    if !settled {
        failures.push(format!(
            "descriptors/tasks did not return to their pre-load values: fds {fds_before} -> {fds_after}, tasks {tasks_before} -> {tasks_after}"
        ));
    }
    if let Some(base) = rss_after_warmup {
        if rss_after as f64 > base as f64 * 1.10 {
            failures.push(format!(
                "RSS grew more than 10 % after warm-up: {base} KiB -> {rss_after} KiB"
            ));
        }
    }
    let idle_start = server.cpu_secs()?;
    thread::sleep(Duration::from_secs(5));
    let idle_cpu = (server.cpu_secs()? - idle_start) / 5.0 * 100.0;
    println!("idle server CPU over 5 s: {idle_cpu:.2} %");
    if idle_cpu >= 2.0 {
        failures.push(format!(
            "the idle server used {idle_cpu:.2} % CPU over 5 s (it spins)"
        ));
    }
    let mismatches = counters.mismatches.load(Relaxed);
    if mismatches > 0 {
        failures.push(format!(
            "{mismatches} responses did not match what was sent"
        ));
    }
    let normal_errors = counters.normal_errors.load(Relaxed);
    if normal_errors > 0 {
        failures.push(format!(
            "{normal_errors} errors in clients that behave normally"
        ));
    }
    let errors = counters
        .errors
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    println!(
        "total: {} requests in {secs} s; errors by kind: {errors:?}",
        counters.requests.load(Relaxed)
    );
    let _ = server.proc.terminate(Duration::from_secs(5));
    if failures.is_empty() {
        println!("RESULT soak pass");
        Ok(())
    } else {
        for f in &failures {
            println!("FAIL {f}");
        }
        Err(io::Error::other(failures.join("; ")))
    }
}

/// Raises this process's open-file limit to its hard limit (the server
/// child inherits it).
fn raise_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        },
    );
}
