//! The `bench echo` orchestrator.
//!
//! For every round and every selected server implementation it starts a fresh server
//! (`bench serve-echo`, pinned to one CPU) and a fresh load client (`bench load-echo`,
//! pinned to another), samples the server's CPU time around the client's measured window,
//! and kills both. Rounds interleave the implementations, rotating their order, and the
//! report gives per-implementation medians.

use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use crate::load::LoadReport;
use crate::procstat::{self, CpuTimes};
use crate::servers::{Endpoint, ServerImpl};

/// How long a server may take to print `READY`.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Slack on top of warmup / window length before the client counts as hung.
const CLIENT_SLACK: Duration = Duration::from_secs(15);
/// Client CPU utilisation from which it may be the bottleneck.
const CLIENT_BUSY: f64 = 0.90;
/// Server CPU utilisation below which a busy client is called the limit.
const SERVER_NOT_BUSY: f64 = 0.80;

/// Options of `bench echo`.
#[derive(Clone, Debug, PartialEq)]
pub struct EchoOpts {
    /// Interleaved rounds; each runs every peer once.
    pub rounds: usize,
    /// Measured seconds per run.
    pub secs: f64,
    /// Unmeasured warmup seconds per run.
    pub warmup: f64,
    /// Concurrent connections.
    pub conns: usize,
    /// Message size in bytes.
    pub size: usize,
    /// Server implementations to compare, in round-1 order.
    pub peers: Vec<ServerImpl>,
    /// Messages per second the client sends in all (0: as fast as echoes
    /// come back, the default). A fixed rate below what either side can do
    /// leaves both with CPU to spare, so server CPU per message compares
    /// the servers' costs at the same load instead of the client's pace.
    pub rate: u64,
}

impl Default for EchoOpts {
    fn default() -> Self {
        EchoOpts {
            rounds: 5,
            secs: 3.0,
            warmup: 0.5,
            conns: 64,
            size: 64,
            peers: ServerImpl::ALL.to_vec(),
            rate: 0,
        }
    }
}

/// Figures from one run of one implementation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Verified echoes per second (client wall clock).
    pub msgs_per_sec: f64,
    /// Server CPU time (user + sys) per message, µs.
    pub server_us_per_msg: f64,
    /// The user-space part of `server_us_per_msg`, µs: runtime overhead, no kernel work.
    pub server_user_us_per_msg: f64,
    /// Server CPU time over the window, as a fraction of one core.
    pub server_util: f64,
    /// Client CPU time per message, µs.
    pub client_us_per_msg: f64,
    /// Client CPU time over the window, as a fraction of one core.
    pub client_util: f64,
}

impl Sample {
    /// Derives the figures from the client's report and the server's CPU time over the
    /// window, which lasted `server_wall_secs` as seen by the orchestrator.
    fn new(load: &LoadReport, server_cpu: CpuTimes, server_wall_secs: f64) -> Sample {
        let msgs = load.msgs.max(1) as f64;
        Sample {
            msgs_per_sec: load.msgs as f64 / load.secs,
            server_us_per_msg: server_cpu.total() * 1e6 / msgs,
            server_user_us_per_msg: server_cpu.user * 1e6 / msgs,
            server_util: server_cpu.total() / server_wall_secs,
            client_us_per_msg: load.cpu_secs * 1e6 / msgs,
            client_util: load.cpu_secs / load.secs,
        }
    }

    /// True if the client was saturated while the server was not: the client was the limit.
    pub fn client_bound(&self) -> bool {
        self.client_util >= CLIENT_BUSY && self.server_util < SERVER_NOT_BUSY
    }

    /// True if client and server were both saturated: msgs/s is capped by the client as
    /// much as by the server, so a cheaper server could not have shown a higher figure.
    pub fn both_saturated(&self) -> bool {
        self.client_util >= CLIENT_BUSY && self.server_util >= CLIENT_BUSY
    }

    /// Per-field medians of `samples` (which must not be empty).
    pub fn median_of(samples: &[Sample]) -> Sample {
        let m = |f: fn(&Sample) -> f64| median(samples.iter().map(f).collect());
        Sample {
            msgs_per_sec: m(|s| s.msgs_per_sec),
            server_us_per_msg: m(|s| s.server_us_per_msg),
            server_user_us_per_msg: m(|s| s.server_user_us_per_msg),
            server_util: m(|s| s.server_util),
            client_us_per_msg: m(|s| s.client_us_per_msg),
            client_util: m(|s| s.client_util),
        }
    }

    /// One table row: msgs/s, then server and client CPU figures.
    fn row(&self) -> String {
        let flag = if self.client_bound() {
            "  <- client-bound"
        } else if self.both_saturated() {
            "  <- both saturated"
        } else {
            ""
        };
        format!(
            "{:>10.0} {:>10.2} {:>8.2} {:>7.1}% {:>10.2} {:>7.1}%{flag}",
            self.msgs_per_sec,
            self.server_us_per_msg,
            self.server_user_us_per_msg,
            self.server_util * 100.0,
            self.client_us_per_msg,
            self.client_util * 100.0,
        )
    }
}

/// Column headers matching [`Sample::row`] (which follows a 10-column label).
const COLUMNS: &str = "    msgs/s srv µs/msg   (user)  srv CPU cli µs/msg  cli CPU";

/// Median of `values` (mean of the middle two for an even count). NaN-safe ordering.
///
/// # Panics
/// If `values` is empty.
pub fn median(mut values: Vec<f64>) -> f64 {
    assert!(!values.is_empty(), "median of no values");
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// `peers` rotated left by `round`, so every implementation takes every slot in turn.
pub fn round_order(peers: &[ServerImpl], round: usize) -> Vec<ServerImpl> {
    let mut order = peers.to_vec();
    if !order.is_empty() {
        let k = round % order.len();
        order.rotate_left(k);
    }
    order
}

/// CPUs the server and the client are pinned to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pinning {
    pub(crate) server_cpu: usize,
    pub(crate) client_cpu: usize,
}

/// Runs the echo benchmark and prints the report.
pub fn run(opts: &EchoOpts) -> io::Result<()> {
    let medians = measure(opts)?;
    print_results(&medians);
    Ok(())
}

/// Runs the interleaved rounds, printing every run and the medians; returns
/// the medians per implementation.
pub fn measure(opts: &EchoOpts) -> io::Result<Vec<(ServerImpl, Sample)>> {
    let exe = std::env::current_exe()
        .map_err(|e| io::Error::new(e.kind(), format!("locating own executable: {e}")))?;
    let peers = opts.peers.clone();
    if peers.is_empty() {
        return Err(io::Error::other(
            "no runnable server implementations selected",
        ));
    }
    let pinning = plan_pinning();
    println!(
        "echo: {} rounds x [{}], {} conns, {} B messages, {:.1} s warmup + {} s measured per run",
        opts.rounds,
        peers
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(", "),
        opts.conns,
        opts.size,
        opts.warmup,
        opts.secs,
    );
    if opts.rate > 0 {
        println!(
            "paced: the client sends {} msgs/s in all; below what either side can do, srv µs/msg \
             compares the servers at the same load",
            opts.rate
        );
    }
    println!();

    let mut samples: Vec<(ServerImpl, Vec<Sample>)> =
        peers.iter().map(|&p| (p, Vec::new())).collect();
    for round in 0..opts.rounds {
        let label = format!("round {}/{}", round + 1, opts.rounds);
        println!("{label:<10}{COLUMNS}");
        for which in round_order(&peers, round) {
            let sample = run_one(&exe, which, opts, pinning)
                .map_err(|e| io::Error::new(e.kind(), format!("{which} run: {e}")))?;
            println!("  {:<8}{}", which.name(), sample.row());
            if let Some((_, v)) = samples.iter_mut().find(|(p, _)| *p == which) {
                v.push(sample);
            }
        }
    }

    println!();
    println!("medians over {} rounds:", opts.rounds);
    println!("{:<10}{COLUMNS}", "impl");
    let medians: Vec<(ServerImpl, Sample)> = samples
        .iter()
        .map(|(p, v)| (*p, Sample::median_of(v)))
        .collect();
    for (which, m) in &medians {
        println!("{:<10}{}", which.name(), m.row());
    }
    let names = |pred: fn(&Sample) -> bool| {
        medians
            .iter()
            .filter(|(_, m)| pred(m))
            .map(|(p, _)| p.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let client_bound = names(Sample::client_bound);
    if !client_bound.is_empty() {
        println!(
            "warning: the client was the limit for {client_bound} (client >= {:.0}% of its core, \
             server < {:.0}%): those msgs/s figures are lower bounds",
            CLIENT_BUSY * 100.0,
            SERVER_NOT_BUSY * 100.0
        );
    }
    let saturated = names(Sample::both_saturated);
    if !saturated.is_empty() {
        println!(
            "note: server and client both saturated for {saturated}: the one-thread client \
             costs about as much per message as the raw-epoll floor, so these msgs/s sit at the \
             ceiling this client can drive and differences of a few % are not resolvable; \
             compare srv µs/msg and (user) as well (see BENCHMARKS.md)"
        );
    }
    println!();
    Ok(medians)
}

/// Prints the `RESULT echo weft/<peer> <ratio>` lines, or a note on why there are none.
fn print_results(medians: &[(ServerImpl, Sample)]) {
    let get = |which: ServerImpl| {
        medians
            .iter()
            .find(|(p, _)| *p == which)
            .map(|(_, s)| s.msgs_per_sec)
    };
    let pairs = [
        (ServerImpl::Weft, ServerImpl::Tokio),
        (ServerImpl::Weft, ServerImpl::Raw),
        (ServerImpl::WeftMt, ServerImpl::TokioMt),
        (ServerImpl::WeftMt, ServerImpl::Raw),
        (ServerImpl::WeftMtUring, ServerImpl::WeftMt),
        (ServerImpl::WeftMtUring, ServerImpl::TokioMt),
        (ServerImpl::WeftUnix, ServerImpl::TokioUnix),
    ];
    let mut printed = false;
    for (ours, theirs) in pairs {
        if let (Some(a), Some(b)) = (get(ours), get(theirs)) {
            println!(
                "RESULT echo {}/{} {:.3}",
                ours.result_name(),
                theirs.result_name(),
                a / b
            );
            printed = true;
        }
    }
    if !printed {
        println!("note: no weft/peer pair among --peers; no RESULT lines");
    }
}

/// Decides whether and where to pin, printing a note when pinning is not possible.
pub(crate) fn plan_pinning() -> Option<Pinning> {
    if find_in_path("taskset").is_none() {
        println!("note: `taskset` not found; server and client run unpinned (noisier numbers)");
        return None;
    }
    let allowed = match rustix::thread::sched_getaffinity(None) {
        Ok(set) => (0..rustix::thread::CpuSet::MAX_CPU)
            .filter(|&cpu| set.is_set(cpu))
            .collect::<Vec<_>>(),
        Err(e) => {
            println!("note: sched_getaffinity failed ({e}); running unpinned");
            return None;
        }
    };
    match allowed[..] {
        [server_cpu, client_cpu, ..] => {
            println!("pinning: server on CPU {server_cpu}, client on CPU {client_cpu} (taskset)");
            Some(Pinning {
                server_cpu,
                client_cpu,
            })
        }
        _ => {
            println!("note: fewer than 2 CPUs available; server and client run unpinned");
            None
        }
    }
}

/// Finds an executable named `name` on `$PATH`.
pub(crate) fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Parses the client's `LOAD` line and waits for it to exit; an echo
/// mismatch or a failed exit is an error.
fn finish_client(client: &mut Proc, line: &str) -> io::Result<LoadReport> {
    let load = LoadReport::parse_line(line).map_err(io::Error::other)?;
    let status = client.wait(CLIENT_SLACK)?;
    if load.errors > 0 || !status.success() {
        return Err(io::Error::other(format!(
            "load client failed ({status}, {} echo mismatches)",
            load.errors
        )));
    }
    Ok(load)
}

/// Starts the load client against `addr` with `opts`, pinned to `cpu`.
fn spawn_client(exe: &Path, addr: &str, opts: &EchoOpts, cpu: Option<usize>) -> io::Result<Proc> {
    let (conns, size) = (opts.conns.to_string(), opts.size.to_string());
    let (secs, warmup) = (opts.secs.to_string(), opts.warmup.to_string());
    let rate = opts.rate.to_string();
    let args = [
        "load-echo",
        "--addr",
        addr,
        "--conns",
        &conns,
        "--size",
        &size,
        "--secs",
        &secs,
        "--warmup",
        &warmup,
        "--rate",
        &rate,
    ];
    Proc::spawn("client", exe, cpu, &args)
}

/// One measured run: fresh server, fresh client, both torn down before returning.
pub(crate) fn run_one_wrapped(
    exe: &Path,
    which: ServerImpl,
    opts: &EchoOpts,
    server_wrapper: &[String],
) -> io::Result<(LoadReport, Proc)> {
    let endpoint = which.endpoint("instr");
    let _cleanup = RemoveSocket(&endpoint);
    let mut args: Vec<String> = server_wrapper.to_vec();
    args.extend([
        exe.display().to_string(),
        "serve-echo".into(),
        which.name().into(),
        endpoint.to_string(),
    ]);
    let mut server = Proc::spawn_argv("server", &args)?;
    let ready = server.expect_line(READY_TIMEOUT * 3, "READY", |l| l.starts_with("READY "))?;
    let addr = ready["READY ".len()..].trim().to_string();
    let mut client = spawn_client(exe, &addr, opts, None)?;
    let timeout = Duration::from_secs_f64(opts.warmup + opts.secs) + CLIENT_SLACK * 4;
    let line = client.expect_line(timeout, "LOAD", |l| l.starts_with("LOAD "))?;
    let load = finish_client(&mut client, &line)?;
    Ok((load, server))
}

/// Removes a run's Unix socket file when the run ends, however it ends.
struct RemoveSocket<'a>(&'a Endpoint);

impl Drop for RemoveSocket<'_> {
    fn drop(&mut self) {
        if let Endpoint::Unix(path) = self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// One measured run: fresh server, fresh client, both torn down before returning.
fn run_one(
    exe: &Path,
    which: ServerImpl,
    opts: &EchoOpts,
    pinning: Option<Pinning>,
) -> io::Result<Sample> {
    let endpoint = which.endpoint("run");
    let _cleanup = RemoveSocket(&endpoint);
    let mut server = Proc::spawn(
        "server",
        exe,
        pinning.map(|p| p.server_cpu),
        &["serve-echo", which.name(), &endpoint.to_string()],
    )?;
    let ready = server.expect_line(READY_TIMEOUT, "READY", |l| l.starts_with("READY "))?;
    let addr: Endpoint = ready["READY ".len()..]
        .trim()
        .parse()
        .map_err(|e| io::Error::other(format!("bad READY line {ready:?}: {e}")))?;
    let server_pid = server.child.id();

    let mut client = spawn_client(exe, &addr.to_string(), opts, pinning.map(|p| p.client_cpu))?;
    let start_timeout = Duration::from_secs_f64(opts.warmup) + CLIENT_SLACK;
    client.expect_line(start_timeout, "START", |l| l == "START")?;
    let (cpu0, t0) = (procstat::process_cpu_times(server_pid)?, Instant::now());
    let load_timeout = Duration::from_secs_f64(opts.secs) + CLIENT_SLACK;
    let line = client.expect_line(load_timeout, "LOAD", |l| l.starts_with("LOAD "))?;
    let (cpu1, t1) = (procstat::process_cpu_times(server_pid)?, Instant::now());

    let load = finish_client(&mut client, &line)?;
    if load.msgs == 0 {
        return Err(io::Error::other(
            "no messages echoed in the measured window",
        ));
    }
    if let Some(status) = server.child.try_wait()? {
        return Err(io::Error::other(format!(
            "server exited during the run ({status})"
        )));
    }
    Ok(Sample::new(
        &load,
        cpu1.since(&cpu0),
        t1.duration_since(t0).as_secs_f64(),
    ))
    // `server` and `client` are killed (if still running) and reaped on drop.
}

/// A child process (optionally under `taskset`) with its stdout read line by line.
/// Dropping it kills and reaps the process, so no error path leaves one behind.
pub(crate) struct Proc {
    /// `server` or `client`, for messages.
    role: &'static str,
    pub(crate) child: Child,
    lines: Receiver<io::Result<String>>,
}

impl Proc {
    /// Starts `exe args...`, pinned to `cpu` through `taskset -c` if given. `taskset`
    /// execs the program, so the child's pid is the benchmark process's pid.
    pub(crate) fn spawn(
        role: &'static str,
        exe: &Path,
        cpu: Option<usize>,
        args: &[&str],
    ) -> io::Result<Proc> {
        let mut argv: Vec<String> = match cpu {
            Some(cpu) => vec!["taskset".into(), "-c".into(), cpu.to_string()],
            None => Vec::new(),
        };
        argv.push(exe.display().to_string());
        argv.extend(args.iter().map(|a| a.to_string()));
        Proc::spawn_argv(role, &argv)
    }

    /// Starts the program `argv[0]` with the rest as its arguments.
    fn spawn_argv(role: &'static str, argv: &[String]) -> io::Result<Proc> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| io::Error::other("empty command line"))?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("starting {role} {cmd:?}: {e}")))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("child stdout was not captured"))?;
        Ok(Proc {
            role,
            child,
            lines: spawn_line_reader(stdout),
        })
    }

    /// Waits up to `timeout` for a stdout line matching `want`; other lines are echoed to
    /// stderr. Fails if the process closes stdout (exits) or the time runs out.
    pub(crate) fn expect_line(
        &mut self,
        timeout: Duration,
        what: &str,
        want: impl Fn(&str) -> bool,
    ) -> io::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(Ok(line)) if want(&line) => return Ok(line),
                Ok(Ok(line)) => eprintln!("[{}] {line}", self.role),
                Ok(Err(e)) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("reading {} output: {e}", self.role),
                    ))
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("{} printed no {what} line within {timeout:?}", self.role),
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.wait(Duration::from_secs(2))?;
                    return Err(io::Error::other(format!(
                        "{} exited ({status}) before printing {what}",
                        self.role
                    )));
                }
            }
        }
    }

    /// Hands every later stdout line to `f`, on a thread of its own (after
    /// this, `expect_line` sees none).
    pub(crate) fn follow(&mut self, mut f: impl FnMut(String) + Send + 'static) {
        let (_, idle) = std::sync::mpsc::channel();
        let lines = std::mem::replace(&mut self.lines, idle);
        thread::spawn(move || {
            while let Ok(Ok(line)) = lines.recv() {
                f(line);
            }
        });
    }

    /// Asks the process to exit with SIGTERM (so a tool like valgrind can
    /// write its report) and waits up to `timeout` for it.
    pub(crate) fn terminate(&mut self, timeout: Duration) -> io::Result<ExitStatus> {
        if let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        self.wait(timeout)
    }

    /// Waits up to `timeout` for the process to exit, killing it if it does not.
    fn wait(&mut self, timeout: Duration) -> io::Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                self.child.kill()?;
                return self.child.wait();
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // Best effort: the process may exit between the check and the kill.
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Forwards `stdout` line by line to a channel, from a helper thread that ends at EOF.
fn spawn_line_reader(stdout: ChildStdout) -> Receiver<io::Result<String>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let stop = line.is_err();
            if tx.send(line).is_err() || stop {
                break;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even_and_unsorted() {
        assert_eq!(median(vec![3.0]), 3.0);
        assert_eq!(median(vec![5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(vec![10.0, 1.0, 1000.0, 2.0, 3.0]), 3.0);
    }

    #[test]
    fn rounds_rotate_order() {
        use ServerImpl::*;
        let peers = [Weft, Tokio, Raw];
        assert_eq!(round_order(&peers, 0), vec![Weft, Tokio, Raw]);
        assert_eq!(round_order(&peers, 1), vec![Tokio, Raw, Weft]);
        assert_eq!(round_order(&peers, 2), vec![Raw, Weft, Tokio]);
        assert_eq!(round_order(&peers, 3), vec![Weft, Tokio, Raw]);
    }

    #[test]
    fn sample_figures_and_client_bound() {
        let load = LoadReport {
            msgs: 200_000,
            secs: 2.0,
            cpu_secs: 1.96,
            errors: 0,
            total: 210_000,
        };
        let cpu = |user, system| CpuTimes {
            user,
            system,
            run: user + system,
        };
        let s = Sample::new(&load, cpu(0.2, 0.8), 2.0);
        assert_eq!(s.msgs_per_sec, 100_000.0);
        assert!((s.server_us_per_msg - 5.0).abs() < 1e-9);
        assert!((s.server_user_us_per_msg - 1.0).abs() < 1e-9);
        assert!((s.server_util - 0.5).abs() < 1e-9);
        assert!((s.client_util - 0.98).abs() < 1e-9);
        assert!(s.client_bound() && !s.both_saturated());
        let busy_server = Sample::new(&load, cpu(0.1, 1.8), 2.0);
        assert!(!busy_server.client_bound() && busy_server.both_saturated());
    }
}
