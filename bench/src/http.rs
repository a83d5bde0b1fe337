//! HTTP benchmark: the same hyper hello-world service on weft
//! (current-thread, and multi-thread with one worker) and on tokio
//! (current_thread, multi_thread with one worker), each server pinned to
//! one core, loaded by `wrk -t1 -c64 --latency` pinned to the other.
//!
//! On 2 cores wrk nearly saturates its own core, so the server's CPU time
//! per request (from /proc) is the figure that separates runtimes; req/s
//! and p99 latency are printed beside it. Rounds interleave the servers;
//! medians are reported. `RESULT http weft/tokio` is req/s (weft over
//! tokio: above 1 is better), `RESULT http-cpu weft/tokio` is tokio's CPU
//! per request over weft's (above 1 is better), `RESULT http-p99 weft/tokio`
//! is weft's p99 over tokio's (below 1 is better), `RESULT http-user-cpu`
//! is tokio's user-space CPU per request over weft's (the part that is the
//! runtime's and hyper's code; the kernel's TCP path is most of the rest and
//! is the same for both). Without `wrk` the server rows are skipped with
//! the reason printed. Then the client row (`http_client.rs`): hyper-util's
//! pooled client on weft and on tokio against the weft server.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};

use crate::echo::{find_in_path, plan_pinning, Proc};
use crate::procstat;
use crate::rounds::{interleave, median_of};

/// Which server runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpImpl {
    Weft,
    WeftMt,
    /// weft's current-thread runtime on the io_uring I/O driver.
    WeftUring,
    /// weft's multi-thread runtime (one worker) on the io_uring I/O driver.
    WeftMtUring,
    Tokio,
    TokioMt,
}

impl HttpImpl {
    const ALL: [HttpImpl; 6] = [
        HttpImpl::Weft,
        HttpImpl::Tokio,
        HttpImpl::WeftMt,
        HttpImpl::TokioMt,
        HttpImpl::WeftUring,
        HttpImpl::WeftMtUring,
    ];

    pub fn name(self) -> &'static str {
        match self {
            HttpImpl::Weft => "weft",
            HttpImpl::WeftMt => "weft-mt",
            HttpImpl::WeftUring => "weft-uring",
            HttpImpl::WeftMtUring => "weft-mt-uring",
            HttpImpl::Tokio => "tokio",
            HttpImpl::TokioMt => "tokio-mt",
        }
    }

    pub fn parse(s: &str) -> Result<HttpImpl, String> {
        HttpImpl::ALL
            .into_iter()
            .find(|i| i.name() == s)
            .ok_or_else(|| {
                format!("unknown http server {s:?} (weft, weft-mt, weft-uring, weft-mt-uring, tokio, tokio-mt)")
            })
    }
}

async fn hello(_: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, World!",
    ))))
}

/// Runs one server until killed (the `serve-http` subcommand).
pub fn serve(which: HttpImpl, addr: SocketAddr) -> io::Result<()> {
    match which {
        HttpImpl::Weft | HttpImpl::WeftMt | HttpImpl::WeftUring | HttpImpl::WeftMtUring => {
            let rt = match which {
                HttpImpl::WeftMt => weft::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .build()?,
                HttpImpl::WeftMtUring => weft::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .io_driver(weft::runtime::IoDriver::Uring)
                    .build()?,
                HttpImpl::WeftUring => weft::runtime::Builder::new_current_thread()
                    .io_driver(weft::runtime::IoDriver::Uring)
                    .build()?,
                _ => weft::runtime::Builder::new_current_thread().build()?,
            };
            rt.block_on(async {
                let listener = weft::net::TcpListener::bind(addr).await?;
                crate::servers::announce_ready(listener.local_addr()?)?;
                loop {
                    let (stream, _) = listener.accept().await?;
                    stream.set_nodelay(true)?;
                    weft::spawn(async move {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(stream, hyper::service::service_fn(hello))
                            .await;
                    });
                }
            })
        }
        HttpImpl::Tokio | HttpImpl::TokioMt => {
            let rt = if which == HttpImpl::TokioMt {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()?
            } else {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
            };
            rt.block_on(async {
                let listener = tokio::net::TcpListener::bind(addr).await?;
                crate::servers::announce_ready(listener.local_addr()?)?;
                loop {
                    let (stream, _) = listener.accept().await?;
                    stream.set_nodelay(true)?;
                    tokio::spawn(async move {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(
                                hyper_util::rt::TokioIo::new(stream),
                                hyper::service::service_fn(hello),
                            )
                            .await;
                    });
                }
            })
        }
    }
}

/// One run's figures.
#[derive(Clone, Copy, Debug)]
struct Run {
    req_per_sec: f64,
    p99_ms: f64,
    server_us_per_req: f64,
    /// The user-space part of the server's CPU time per request (clock-tick
    /// resolution): the part a runtime's own code spends, the rest is the kernel's.
    server_user_us_per_req: f64,
    /// wrk's CPU time per request (NaN if it could not be read).
    client_us_per_req: f64,
}

/// Parses wrk's `Requests/sec:`, total requests and `99%` latency lines.
fn parse_wrk(out: &str) -> Result<(f64, u64, f64), String> {
    let rps = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .ok_or("no Requests/sec line")?;
    let total = out
        .lines()
        .find_map(|l| {
            l.trim()
                .split_once(" requests in ")
                .map(|(n, _)| n.trim().to_owned())
        })
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or("no `N requests in` line")?;
    let p99 = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(str::trim)
        .and_then(parse_latency_ms)
        .ok_or("no 99% latency line (wrk --latency)")?;
    Ok((rps, total, p99))
}

fn parse_latency_ms(text: &str) -> Option<f64> {
    let (number, scale) = if let Some(v) = text.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = text.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = text.strip_suffix('s') {
        (v, 1000.0)
    } else {
        return None;
    };
    number.trim().parse::<f64>().ok().map(|n| n * scale)
}

fn run_one(
    exe: &std::path::Path,
    which: HttpImpl,
    secs: u32,
    conns: u32,
    pin: Option<(usize, usize)>,
    close: bool,
) -> io::Result<Run> {
    let mut server = Proc::spawn(
        "server",
        exe,
        pin.map(|p| p.0),
        &["serve-http", which.name(), "127.0.0.1:0"],
    )?;
    let ready = server.expect_line(Duration::from_secs(10), "READY", |l| {
        l.starts_with("READY ")
    })?;
    let addr = ready["READY ".len()..].trim().to_string();
    let pid = server.child.id();
    let mut wrk = Command::new("taskset");
    match pin {
        Some((_, client)) => wrk.arg("-c").arg(client.to_string()).arg("wrk"),
        None => wrk.arg("-c").arg("0-1023").arg("wrk"),
    };
    wrk.args([
        "-t1",
        &format!("-c{conns}"),
        &format!("-d{secs}s"),
        "--latency",
        &format!("http://{addr}/"),
    ]);
    if close {
        // A new connection per request: the server accepts, reads one
        // request, answers and closes, each time.
        wrk.args(["-H", "Connection: close"]);
    }
    wrk.stdout(std::process::Stdio::piped());
    let before = procstat::process_cpu_times(pid)?;
    let mut child = wrk.spawn()?;
    let mut text = String::new();
    io::Read::read_to_string(child.stdout.as_mut().expect("stdout is piped"), &mut text)?;
    // wrk's stdout closed: it is exiting. Its CPU time is read while it is a zombie
    // (before it is reaped), then it is reaped.
    let client_secs = procstat::exited_child_cpu_secs(child.id(), Duration::from_secs(5));
    let after = procstat::process_cpu_times(pid)?;
    let status = child.wait()?;
    if !status.success() {
        return Err(io::Error::other(format!("wrk failed ({status}): {text}")));
    }
    let (rps, total, p99) =
        parse_wrk(&text).map_err(|e| io::Error::other(format!("{e}: {text}")))?;
    let used = after.since(&before);
    let cpu = used.total();
    Ok(Run {
        req_per_sec: rps,
        p99_ms: p99,
        server_us_per_req: cpu * 1e6 / total.max(1) as f64,
        server_user_us_per_req: used.user * 1e6 / total.max(1) as f64,
        client_us_per_req: client_secs.map_or(f64::NAN, |c| c * 1e6 / total.max(1) as f64),
    })
}

/// Runs the benchmark: `rounds` interleaved rounds of `secs` seconds each.
pub fn run(rounds: usize, secs: u32, conns: u32) -> io::Result<()> {
    let exe = std::env::current_exe()?;
    let pin = plan_pinning().map(|p| (p.server_cpu, p.client_cpu));
    if find_in_path("wrk").is_none() {
        println!("http: servers skipped: `wrk` is not installed (Debian: apt-get install wrk)");
    } else {
        run_servers(&exe, pin, rounds, secs, conns, false)?;
    }
    crate::http_client::run(&exe, pin, rounds, secs, conns)
}

/// The server rows with a new connection per request (`bench
/// http-close`): what accepting and closing cost.
pub fn run_close(rounds: usize, secs: u32, conns: u32) -> io::Result<()> {
    let exe = std::env::current_exe()?;
    let pin = plan_pinning().map(|p| (p.server_cpu, p.client_cpu));
    if find_in_path("wrk").is_none() {
        println!("http-close: skipped: `wrk` is not installed (Debian: apt-get install wrk)");
        return Ok(());
    }
    run_servers(&exe, pin, rounds, secs, conns, true)
}

/// The client row alone (`bench http-client`).
pub fn run_client(rounds: usize, secs: u32, conns: u32) -> io::Result<()> {
    let exe = std::env::current_exe()?;
    let pin = plan_pinning().map(|p| (p.server_cpu, p.client_cpu));
    crate::http_client::run(&exe, pin, rounds, secs, conns)
}

/// The server rows: each server under wrk.
fn run_servers(
    exe: &std::path::Path,
    pin: Option<(usize, usize)>,
    rounds: usize,
    secs: u32,
    conns: u32,
    close: bool,
) -> io::Result<()> {
    let (name, header) = match close {
        true => ("http-close", " -H 'Connection: close'"),
        false => ("http", ""),
    };
    println!("{name}: {rounds} rounds x [weft, tokio, weft-mt, tokio-mt, weft-uring, weft-mt-uring], wrk -t1 -c{conns} -d{secs}s --latency{header}");
    let runs = interleave(&HttpImpl::ALL, rounds, |which, round| {
        let run = run_one(exe, which, secs, conns, pin, close)?;
        println!(
            "round {}  {:<9} {:>10.0} req/s  p99 {:>7.3} ms  server {:>5.2} us/req (user {:>4.2})  wrk {:>5.2} us/req",
            round + 1,
            which.name(),
            run.req_per_sec,
            run.p99_ms,
            run.server_us_per_req,
            run.server_user_us_per_req,
            run.client_us_per_req
        );
        Ok::<_, io::Error>(run)
    })?;
    let med = |which: HttpImpl| Run {
        req_per_sec: median_of(&runs, which, |r| r.req_per_sec),
        p99_ms: median_of(&runs, which, |r| r.p99_ms),
        server_us_per_req: median_of(&runs, which, |r| r.server_us_per_req),
        server_user_us_per_req: median_of(&runs, which, |r| r.server_user_us_per_req),
        client_us_per_req: median_of(&runs, which, |r| r.client_us_per_req),
    };
    println!();
    println!("medians:");
    for which in HttpImpl::ALL {
        let r = med(which);
        println!(
            "  {:<9} {:>10.0} req/s  p99 {:>7.3} ms  server {:>5.2} us/req (user {:>4.2})  wrk {:>5.2} us/req",
            which.name(),
            r.req_per_sec,
            r.p99_ms,
            r.server_us_per_req,
            r.server_user_us_per_req,
            r.client_us_per_req
        );
    }
    println!();
    for (ours, theirs, label) in [
        (HttpImpl::Weft, HttpImpl::Tokio, "weft/tokio"),
        (HttpImpl::WeftMt, HttpImpl::TokioMt, "weft-mt/tokio-mt"),
        (HttpImpl::WeftUring, HttpImpl::Tokio, "weft-uring/tokio"),
        (HttpImpl::WeftUring, HttpImpl::Weft, "weft-uring/weft"),
        (
            HttpImpl::WeftMtUring,
            HttpImpl::TokioMt,
            "weft-mt-uring/tokio-mt",
        ),
        (
            HttpImpl::WeftMtUring,
            HttpImpl::WeftMt,
            "weft-mt-uring/weft-mt",
        ),
    ] {
        let (a, b) = (med(ours), med(theirs));
        println!("RESULT {name} {label} {:.3}", a.req_per_sec / b.req_per_sec);
        println!(
            "RESULT {name}-cpu {label} {:.3}",
            b.server_us_per_req / a.server_us_per_req
        );
        println!("RESULT {name}-p99 {label} {:.3}", a.p99_ms / b.p99_ms);
        println!(
            "RESULT {name}-user-cpu {label} {:.3}",
            b.server_user_us_per_req / a.server_user_us_per_req
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wrk_output() {
        let out = "Running 8s test @ http://127.0.0.1:1/\n  1 threads and 64 connections\n\
                   Latency Distribution\n     50%  420.00us\n     99%    1.52ms\n\
                   812345 requests in 8.00s, 70.50MB read\nRequests/sec: 101543.12\n";
        let (rps, total, p99) = parse_wrk(out).unwrap();
        assert_eq!(total, 812_345);
        assert!((rps - 101_543.12).abs() < 1e-6);
        assert!((p99 - 1.52).abs() < 1e-9);
        assert_eq!(parse_latency_ms("900.00us"), Some(0.9));
        assert_eq!(parse_latency_ms("2.00s"), Some(2000.0));
        assert!(parse_wrk("nonsense").is_err());
    }
}
