//! `bench`: head-to-head benchmarks of weft against tokio and a raw epoll loop.
//!
//! ```text
//! bench echo [--rounds N] [--secs S] [--conns C] [--size B] [--warmup W] [--peers weft,tokio,raw]
//! ```
//!
//! `echo` is the orchestrator. It re-executes this binary for the pieces it measures,
//! through the hidden subcommands `serve-echo <impl> <addr>` (a server) and
//! `load-echo --addr A ...` (the load client). See `BENCHMARKS.md` at the repository root.

mod corobench;
mod echo;
mod fsbench;
mod http;
mod http_client;
mod instr;
mod load;
mod micro;
mod procbench;
mod procstat;
mod rounds;
mod sched;
mod servers;
mod soak;
mod syncbench;
mod timerbench;
mod versus;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::str::FromStr;

use echo::EchoOpts;
use load::LoadOpts;
use servers::ServerImpl;

/// Usage text for `bench --help` and argument errors.
const USAGE: &str = "\
usage: bench echo [options]
       bench echo-instr [options]
       bench micro [--rounds N]
       bench sched [--rounds N] [--workers W] [--only WORKLOAD]
       bench fs [--rounds N] [--mt]
       bench process [--rounds N]
       bench http [--rounds N]
       bench http-client [--rounds N]
       bench http-close [--rounds N]
       bench coro [--rounds N]
       bench soak [--secs N]
       bench sync [--rounds N] [--only SHAPE]
       bench timer [--rounds N] [--only SHAPE]

echo: TCP echo, weft vs tokio vs a raw epoll loop, one server core, one client
core; msgs/s and CPU per message, medians of interleaved rounds.
echo-instr: the same servers under callgrind (valgrind): user-space
instructions per message, exact and repeatable (--rounds is ignored).
micro: yield_many, spawn_many and ping_pong on each runtime, in-process,
median time per operation over N rounds (default 7).
sched: tokio's multi-thread scheduler shapes (spawn_many_local,
spawn_many_remote_idle, spawn_many_remote_busy, yield_many, ping_pong,
chained_spawn), weft multi-thread vs tokio multi_thread with W workers each
(default one per CPU); weft time / tokio time, medians of N rounds (7).
fs: 10,000 small-file write/read/remove cycles and a 256 MiB sequential
read, weft::fs (epoll and io_uring drivers) vs tokio::fs, and the cycle as
plain io_uring requests (ring); time / tokio time, medians of N rounds (5);
--mt: on multi-thread runtimes with two workers (the work in block_on).
process: 1,000 sequential spawn-and-wait of `true`, weft vs tokio; weft time /
tokio time, median of N rounds (5).
http: hyper hello world on weft and tokio (current-thread and 1-worker
multi-thread), server and wrk pinned apart; req/s, p99 and server CPU per
request, medians of N rounds (3); skipped with a note without wrk. Then
the client row: hyper-util's pooled client on weft and on tokio (64
request loops each) against the weft server; req/s and client CPU per
request. http-client: the client row alone.
coro: weft coroutines vs may (context switch), the echo scenario on
weft-coro, weft, tokio and may, and server RSS per idle connection (10,000
connections); medians of N rounds (3).
sync: weft::sync on weft against tokio::sync on tokio, in the shapes of
tokio's benches/sync_*.rs (mpsc bounded/unbounded with 1 and 10 producers,
oneshot request/reply, Mutex uncontended/contended, Semaphore, Notify, watch,
broadcast), current-thread and 2-worker; weft time / tokio time, medians of
N rounds (7).
timer: weft's timers against tokio's, in the shapes of tokio's
benches/time_timeout.rs and time_now.rs (timeouts around a ready future,
sleeps dropped unpolled, block_on reading the clock) plus timeouts whose
timer enters the wheel and is cancelled, and timers firing; current-thread
and 2-worker; weft time / tokio time, medians of N rounds (7).
soak: a weft server (async echo, hyper, coroutine echo) under N seconds (600)
of mixed hostile load; reports every 10 s; fails unless every normal byte
came back and descriptors, tasks, RSS and idle CPU return to normal.

options:
  --rounds N        interleaved rounds; medians are reported (default 5)
  --secs S          measured seconds per run (default 3)
  --warmup W        unmeasured warmup seconds per run (default 0.5)
  --conns C         concurrent connections (default 64)
  --size B          message size in bytes (default 64)
  --peers LIST      comma-separated subset of weft,tokio,raw (default all)
  --rate R          echo: messages per second in all, paced (default 0: as
                    fast as echoes come back); below what either side can
                    do, server CPU per message compares the servers at the
                    same load
";

/// A parsed command line.
#[derive(Debug, PartialEq)]
enum Command {
    /// `bench echo ...`: run the echo benchmark.
    Echo(EchoOpts),
    /// `bench echo-instr ...`: instructions per echo message under callgrind.
    EchoInstr(EchoOpts),
    /// `bench micro [--rounds N]`: scheduler micro-benchmarks.
    Micro(usize),
    /// `bench fs [--rounds N]`: file system workloads.
    Fs(usize, bool),
    /// `bench process [--rounds N]`: spawn-and-wait.
    Process(usize),
    /// `bench http [--rounds N]`: hyper under wrk, then the client row.
    Http(usize),
    /// `bench http-client [--rounds N]`: the client row alone.
    HttpClient(usize),
    /// `bench http-close [--rounds N]`: the server rows with a new
    /// connection per request (`Connection: close`).
    HttpClose(usize),
    /// `bench sync [--rounds N] [--only SHAPE]`: weft::sync against
    /// tokio::sync.
    Sync(usize, Option<String>),
    /// `bench timer [--rounds N] [--only SHAPE]`: weft's timers against
    /// tokio's.
    Timer(usize, Option<String>),
    /// `bench soak [--secs N]`: reliability under hostile load.
    Soak(u64),
    /// `bench serve-soak` (hidden): the soak server.
    ServeSoak,
    /// `bench coro [--rounds N]`: coroutines.
    Coro(usize),
    /// `bench coro-switch-may <iters>` (hidden): may's switch cost.
    CoroSwitchMay(u64, bool),
    /// `bench coro-switch-weft <iters>` (hidden): weft's switch cost, alone
    /// in a process (for profiling).
    CoroSwitchWeft(u64, bool),
    /// `bench serve-http <impl> <addr>` (hidden): one HTTP server.
    ServeHttp(http::HttpImpl, SocketAddr),
    /// `bench load-http <impl> <addr> <secs> <conns>` (hidden): one HTTP
    /// client load.
    LoadHttp(http_client::ClientImpl, SocketAddr, u64, usize),
    /// `bench sched [--rounds N] [--workers W] [--only NAME]`: multi-thread
    /// scheduler shapes.
    Sched(SchedOpts),
    /// `bench serve-echo <impl> <addr>` (hidden): run one echo server.
    ServeEcho(ServerImpl, servers::Endpoint),
    /// `bench load-echo ...` (hidden): run the echo load client.
    LoadEcho(LoadOpts),
    /// `bench --help`.
    Help,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse_args(&args) {
        Ok(command) => command,
        Err(msg) => {
            eprintln!("bench: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (what, result) = match command {
        Command::Help => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::Echo(opts) => ("echo", echo::run(&opts)),
        Command::EchoInstr(opts) => ("echo-instr", instr::run(&opts)),
        Command::Micro(rounds) => ("micro", micro::run(rounds)),
        Command::Fs(rounds, mt) => ("fs", fsbench::run(rounds, mt)),
        Command::Process(rounds) => ("process", procbench::run(rounds)),
        Command::Http(rounds) => ("http", http::run(rounds, 8, 64)),
        Command::HttpClient(rounds) => ("http-client", http::run_client(rounds, 8, 64)),
        Command::HttpClose(rounds) => ("http-close", http::run_close(rounds, 8, 64)),
        Command::Coro(rounds) => ("coro", corobench::run(rounds)),
        Command::Soak(secs) => ("soak", soak::run(secs)),
        Command::Sync(rounds, only) => ("sync", syncbench::run(rounds, only.as_deref())),
        Command::Timer(rounds, only) => ("timer", timerbench::run(rounds, only.as_deref())),
        Command::ServeSoak => {
            exit_with_parent();
            ("serve-soak", soak::serve())
        }
        Command::CoroSwitchMay(iters, pair) => {
            exit_with_parent();
            ("coro-switch-may", corobench::may_switch(iters, pair))
        }
        Command::CoroSwitchWeft(iters, pair) => {
            ("coro-switch-weft", corobench::weft_switch(iters, pair))
        }
        Command::ServeHttp(which, addr) => {
            exit_with_parent();
            ("serve-http", http::serve(which, addr))
        }
        Command::LoadHttp(which, addr, secs, conns) => {
            exit_with_parent();
            ("load-http", http_client::load(which, addr, secs, conns))
        }
        Command::Sched(opts) => (
            "sched",
            sched::run(opts.rounds, opts.workers, opts.only.as_deref()),
        ),
        Command::ServeEcho(which, addr) => {
            exit_with_parent();
            ("serve-echo", servers::serve(which, addr))
        }
        Command::LoadEcho(opts) => {
            exit_with_parent();
            ("load-echo", load::run(&opts))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench {what}: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Makes a child process (server or client) die with the orchestrator, even if the
/// orchestrator is killed without a chance to clean up.
fn exit_with_parent() {
    if let Err(e) =
        rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
    {
        eprintln!("bench: warning: PR_SET_PDEATHSIG failed ({e}); may outlive the orchestrator");
    }
}

/// Parses the arguments after the program name.
fn parse_args(args: &[String]) -> Result<Command, String> {
    let Some((sub, rest)) = args.split_first() else {
        return Err("missing subcommand".into());
    };
    match sub.as_str() {
        "-h" | "--help" | "help" => Ok(Command::Help),
        "echo" => parse_echo(rest).map(Command::Echo),
        "echo-instr" => parse_echo(rest).map(Command::EchoInstr),
        "micro" => match rest {
            [] => Ok(Command::Micro(7)),
            [flag, n] if flag == "--rounds" => match n.parse::<usize>() {
                Ok(n) if n > 0 => Ok(Command::Micro(n)),
                _ => Err(format!("--rounds must be a positive integer, got {n:?}")),
            },
            _ => Err("usage: bench micro [--rounds N]".into()),
        },
        "sched" => parse_sched(rest).map(Command::Sched),
        "fs" => {
            // `--mt` (anywhere): multi-thread runtimes, two workers each.
            let mt = rest.iter().any(|a| a == "--mt");
            let rest: Vec<String> = rest.iter().filter(|a| *a != "--mt").cloned().collect();
            parse_rounds(&rest, "fs [--mt]").map(|rounds| Command::Fs(rounds, mt))
        }
        "process" => parse_rounds(rest, "process").map(Command::Process),
        "http" => match rest {
            [] => Ok(Command::Http(3)),
            _ => parse_rounds(rest, "http").map(Command::Http),
        },
        "http-close" => match rest {
            [] => Ok(Command::HttpClose(3)),
            _ => parse_rounds(rest, "http-close").map(Command::HttpClose),
        },
        "http-client" => match rest {
            [] => Ok(Command::HttpClient(3)),
            _ => parse_rounds(rest, "http-client").map(Command::HttpClient),
        },
        "sync" => parse_rounds_only(rest, "sync").map(|(n, only)| Command::Sync(n, only)),
        "timer" => parse_rounds_only(rest, "timer").map(|(n, only)| Command::Timer(n, only)),
        "soak" => match rest {
            [] => Ok(Command::Soak(600)),
            [flag, n] if flag == "--secs" => match n.parse::<u64>() {
                Ok(n) if n >= 10 => Ok(Command::Soak(n)),
                _ => Err(format!(
                    "--secs must be an integer of at least 10, got {n:?}"
                )),
            },
            _ => Err("usage: bench soak [--secs N]".into()),
        },
        "serve-soak" => match rest {
            [] => Ok(Command::ServeSoak),
            _ => Err("usage: bench serve-soak".into()),
        },
        "coro" => match rest {
            [] => Ok(Command::Coro(3)),
            _ => parse_rounds(rest, "coro").map(Command::Coro),
        },
        "coro-switch-may" => parse_switch(rest).map(|(n, pair)| Command::CoroSwitchMay(n, pair)),
        "coro-switch-weft" => parse_switch(rest).map(|(n, pair)| Command::CoroSwitchWeft(n, pair)),
        "serve-http" => match rest {
            [which, addr] => Ok(Command::ServeHttp(
                http::HttpImpl::parse(which)?,
                parse_value("<addr>", addr)?,
            )),
            _ => Err(
                "usage: bench serve-http <weft|weft-mt|weft-uring|weft-mt-uring|tokio|tokio-mt> <addr>".into(),
            ),
        },
        "load-http" => match rest {
            [which, addr, secs, conns] => Ok(Command::LoadHttp(
                http_client::ClientImpl::parse(which)?,
                parse_value("<addr>", addr)?,
                parse_value("<secs>", secs)?,
                parse_value("<conns>", conns)?,
            )),
            _ => Err("usage: bench load-http <weft|tokio> <addr> <secs> <conns>".into()),
        },
        "serve-echo" => match rest {
            [which, addr] => Ok(Command::ServeEcho(which.parse()?, addr.parse()?)),
            _ => Err("usage: bench serve-echo <weft|tokio|raw> <addr>".into()),
        },
        "load-echo" => parse_load(rest).map(Command::LoadEcho),
        other => Err(format!("unknown subcommand {other:?}")),
    }
}

/// Parses `<iters> <alone|pair>` for the hidden switch subcommands.
fn parse_switch(args: &[String]) -> Result<(u64, bool), String> {
    let usage = || "usage: bench coro-switch-{weft,may} <iters> <alone|pair>".to_string();
    let [n, mode] = args else { return Err(usage()) };
    let iters = match n.parse::<u64>() {
        Ok(n) if n > 0 => n,
        _ => return Err(format!("<iters> must be a positive integer, got {n:?}")),
    };
    match mode.as_str() {
        "alone" => Ok((iters, false)),
        "pair" => Ok((iters, true)),
        _ => Err(usage()),
    }
}

/// Parses `[--rounds N]` (default 5) for `bench <what>`.
fn parse_rounds(args: &[String], what: &str) -> Result<usize, String> {
    match args {
        [] => Ok(5),
        [flag, n] if flag == "--rounds" => match n.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("--rounds must be a positive integer, got {n:?}")),
        },
        _ => Err(format!("usage: bench {what} [--rounds N]")),
    }
}

/// Parses `bench <what> [--rounds N] [--only SHAPE]` (7 rounds by default),
/// for `sync` and `timer`.
fn parse_rounds_only(args: &[String], what: &str) -> Result<(usize, Option<String>), String> {
    let (mut rounds, mut only) = (7, None);
    let mut rest = args;
    while let [flag, value, tail @ ..] = rest {
        match flag.as_str() {
            "--rounds" => {
                rounds = match value.parse::<usize>() {
                    Ok(n) if n > 0 => n,
                    _ => {
                        return Err(format!(
                            "--rounds must be a positive integer, got {value:?}"
                        ))
                    }
                }
            }
            "--only" => only = Some(value.clone()),
            _ => break,
        }
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(format!("usage: bench {what} [--rounds N] [--only SHAPE]"));
    }
    Ok((rounds, only))
}

/// Options of `bench sched`.
#[derive(Debug, PartialEq)]
struct SchedOpts {
    rounds: usize,
    workers: usize,
    only: Option<String>,
}

/// Parses the options of `bench sched`: `--rounds N` (default 7),
/// `--workers N` (default: one per CPU), `--only NAME` (one workload).
fn parse_sched(args: &[String]) -> Result<SchedOpts, String> {
    let mut opts = SchedOpts {
        rounds: 7,
        workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        only: None,
    };
    let mut rest = args;
    while let Some((flag, tail)) = rest.split_first() {
        let Some((value, tail)) = tail.split_first() else {
            return Err(format!("{flag} needs a value"));
        };
        let count = || match value.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{flag} must be a positive integer, got {value:?}")),
        };
        match flag.as_str() {
            "--rounds" => opts.rounds = count()?,
            "--workers" => opts.workers = count()?,
            "--only" => opts.only = Some(value.clone()),
            other => return Err(format!("unknown option {other:?} to sched")),
        }
        rest = tail;
    }
    Ok(opts)
}

/// Parses the options of `bench echo`.
fn parse_echo(args: &[String]) -> Result<EchoOpts, String> {
    let mut opts = EchoOpts::default();
    for (flag, value) in parse_flags(args)? {
        match flag.as_str() {
            "--rounds" => opts.rounds = parse_value(&flag, &value)?,
            "--secs" => opts.secs = parse_value(&flag, &value)?,
            "--warmup" => opts.warmup = parse_value(&flag, &value)?,
            "--conns" => opts.conns = parse_value(&flag, &value)?,
            "--size" => opts.size = parse_value(&flag, &value)?,
            "--peers" => opts.peers = parse_peers(&value)?,
            "--rate" => opts.rate = parse_value(&flag, &value)?,
            _ => return Err(format!("unknown option {flag} for `bench echo`")),
        }
    }
    if opts.rounds == 0 {
        return Err("--rounds must be at least 1".into());
    }
    check_common(opts.secs, opts.warmup, opts.conns, opts.size)?;
    Ok(opts)
}

/// Parses the options of `bench load-echo`.
fn parse_load(args: &[String]) -> Result<LoadOpts, String> {
    let defaults = EchoOpts::default();
    let mut addr = None;
    let mut opts = LoadOpts {
        addr: servers::Endpoint::Tcp(SocketAddr::from(([127, 0, 0, 1], 0))),
        conns: defaults.conns,
        size: defaults.size,
        secs: defaults.secs,
        warmup: defaults.warmup,
        rate: 0,
    };
    for (flag, value) in parse_flags(args)? {
        match flag.as_str() {
            "--addr" => addr = Some(parse_value(&flag, &value)?),
            "--secs" => opts.secs = parse_value(&flag, &value)?,
            "--warmup" => opts.warmup = parse_value(&flag, &value)?,
            "--conns" => opts.conns = parse_value(&flag, &value)?,
            "--size" => opts.size = parse_value(&flag, &value)?,
            "--rate" => opts.rate = parse_value(&flag, &value)?,
            _ => return Err(format!("unknown option {flag} for `bench load-echo`")),
        }
    }
    opts.addr = addr.ok_or("`bench load-echo` needs --addr")?;
    check_common(opts.secs, opts.warmup, opts.conns, opts.size)?;
    Ok(opts)
}

/// Range checks shared by `echo` and `load-echo`.
fn check_common(secs: f64, warmup: f64, conns: usize, size: usize) -> Result<(), String> {
    if !(secs.is_finite() && secs > 0.0) {
        return Err("--secs must be a positive number".into());
    }
    if !(warmup.is_finite() && warmup >= 0.0) {
        return Err("--warmup must be a non-negative number".into());
    }
    if conns == 0 || size == 0 {
        return Err("--conns and --size must be at least 1".into());
    }
    Ok(())
}

/// Splits `--flag value` and `--flag=value` pairs.
fn parse_flags(args: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if !arg.starts_with("--") {
            return Err(format!("unexpected argument {arg:?}"));
        }
        match arg.split_once('=') {
            Some((flag, value)) => out.push((flag.to_string(), value.to_string())),
            None => {
                let value = it.next().ok_or_else(|| format!("{arg} needs a value"))?;
                out.push((arg.clone(), value.clone()));
            }
        }
    }
    Ok(out)
}

/// Parses one option value, naming the option in the error.
fn parse_value<T: FromStr>(flag: &str, value: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    value
        .parse()
        .map_err(|e| format!("bad value {value:?} for {flag}: {e}"))
}

/// Parses `--peers weft,tokio,raw` (order kept, duplicates rejected).
fn parse_peers(list: &str) -> Result<Vec<ServerImpl>, String> {
    let mut peers: Vec<ServerImpl> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let which: ServerImpl = name.parse()?;
        if peers.contains(&which) {
            return Err(format!("{name} listed twice in --peers"));
        }
        peers.push(which);
    }
    if peers.is_empty() {
        return Err("--peers is empty".into());
    }
    Ok(peers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn sync_options() {
        assert_eq!(parse_args(&args("sync")), Ok(Command::Sync(7, None)));
        assert_eq!(
            parse_args(&args("sync --only notify --rounds 3")),
            Ok(Command::Sync(3, Some("notify".into())))
        );
        assert!(parse_args(&args("sync --rounds 0")).is_err());
        assert!(parse_args(&args("sync --bogus 1")).is_err());
    }

    #[test]
    fn timer_options() {
        assert_eq!(parse_args(&args("timer")), Ok(Command::Timer(7, None)));
        assert_eq!(
            parse_args(&args("timer --rounds 11")),
            Ok(Command::Timer(11, None))
        );
        assert_eq!(
            parse_args(&args("timer --only timeout-cancelled --rounds 3")),
            Ok(Command::Timer(3, Some("timeout-cancelled".into())))
        );
        assert!(timerbench::SHAPES.contains(&"timeout-cancelled"));
        assert!(parse_args(&args("timer --rounds 0")).is_err());
        assert!(parse_args(&args("timer --rounds")).is_err());
        assert!(parse_args(&args("timer --bogus 1")).is_err());
    }

    #[test]
    fn echo_defaults() {
        let Command::Echo(opts) = parse_args(&args("echo")).expect("parses") else {
            panic!("not echo");
        };
        assert_eq!(opts, EchoOpts::default());
        assert_eq!(
            (opts.rounds, opts.secs, opts.conns, opts.size),
            (5, 3.0, 64, 64)
        );
        assert_eq!(opts.peers, ServerImpl::ALL.to_vec());
    }

    #[test]
    fn echo_and_load_take_a_rate_and_the_raw_uring_shapes() {
        let Command::Echo(opts) = parse_args(&args(
            "echo --rate 90000 --peers raw-uring,raw-uring-one-call-coop",
        ))
        .expect("parses") else {
            panic!("not echo");
        };
        assert_eq!(opts.rate, 90_000);
        assert_eq!(opts.peers.len(), 2);
        assert_eq!(opts.peers[0].name(), "raw-uring");
        assert_eq!(opts.peers[1].name(), "raw-uring-one-call-coop");
        let Command::LoadEcho(load) =
            parse_args(&args("load-echo --addr 127.0.0.1:1 --rate 5")).expect("parses")
        else {
            panic!("not load-echo");
        };
        assert_eq!(load.rate, 5);
        assert!(parse_args(&args("echo --rate fast")).is_err());
    }

    #[test]
    fn echo_options_both_spellings() {
        let cmd = parse_args(&args(
            "echo --rounds 3 --secs=2 --conns 8 --size=1024 --peers tokio,raw --warmup 0",
        ))
        .expect("parses");
        let Command::Echo(opts) = cmd else {
            panic!("not echo");
        };
        assert_eq!(
            (opts.rounds, opts.secs, opts.conns, opts.size, opts.warmup),
            (3, 2.0, 8, 1024, 0.0)
        );
        assert_eq!(opts.peers, vec![ServerImpl::Tokio, ServerImpl::Raw]);
    }

    #[test]
    fn bad_arguments_are_rejected() {
        for bad in [
            "",
            "echo --rounds",
            "echo --rounds 0",
            "echo --secs -1",
            "echo --size 0",
            "echo --peers tokio,tokio",
            "echo --peers mio",
            "echo --frobnicate 1",
            "echo stray",
            "serve-echo raw",
            "serve-echo nginx 127.0.0.1:0",
            "load-echo --conns 4",
        ] {
            assert!(parse_args(&args(bad)).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn hidden_subcommands() {
        assert_eq!(
            parse_args(&args("serve-echo raw 127.0.0.1:0")),
            Ok(Command::ServeEcho(
                ServerImpl::Raw,
                servers::Endpoint::Tcp(SocketAddr::from(([127, 0, 0, 1], 0)))
            ))
        );
        let Ok(Command::LoadEcho(opts)) = parse_args(&args(
            "load-echo --addr 127.0.0.1:9000 --conns 2 --size 16 --secs 1.5 --warmup 0.25",
        )) else {
            panic!("load-echo should parse");
        };
        assert_eq!(
            opts.addr,
            servers::Endpoint::Tcp(SocketAddr::from(([127, 0, 0, 1], 9000)))
        );
        assert_eq!(
            "unix:/tmp/x.sock".parse::<servers::Endpoint>(),
            Ok(servers::Endpoint::Unix("/tmp/x.sock".into()))
        );
        assert!("unix:".parse::<servers::Endpoint>().is_err());
        assert_eq!(
            (opts.conns, opts.size, opts.secs, opts.warmup),
            (2, 16, 1.5, 0.25)
        );
    }
}
