//! `bench http`'s client row: hyper-util's pooled `client::legacy::Client`
//! on weft (over `weft::hyper_rt::WeftConnector`) and on tokio (over
//! hyper-util's `HttpConnector`), each a current-thread runtime in a process
//! of its own pinned to the client core, against the weft hello server
//! pinned to the other. `conns` tasks each send GETs in turn (reading every
//! body, so connections go back to the pool) for the run's seconds.
//!
//! The client's CPU time per request is the figure that separates the two
//! (on 2 cores the server's core caps requests per second); requests per
//! second and the server's CPU per request are printed beside it.
//! `RESULT http-client weft/tokio` is requests per second (weft over tokio:
//! above 1 is better), `RESULT http-client-cpu weft/tokio` is tokio's client
//! CPU per request over weft's (above 1 is better). A third client, `bridge`,
//! is reqwest on a `weft::tokio_bridge::Bridge` called from weft tasks:
//! `RESULT http-client-cpu bridge/weft` is its client CPU per request over
//! weft's, what the bridge (and reqwest's own layers) cost.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};

use crate::echo::Proc;
use crate::http::HttpImpl;
use crate::procstat;
use crate::rounds::{interleave, median_of};

/// Which client runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientImpl {
    Weft,
    Tokio,
    /// reqwest on a `weft::tokio_bridge::Bridge`, called from weft tasks:
    /// what the bridge costs.
    Bridge,
}

impl ClientImpl {
    const ALL: [ClientImpl; 3] = [ClientImpl::Weft, ClientImpl::Tokio, ClientImpl::Bridge];

    pub fn name(self) -> &'static str {
        match self {
            ClientImpl::Weft => "weft",
            ClientImpl::Tokio => "tokio",
            ClientImpl::Bridge => "bridge",
        }
    }

    pub fn parse(s: &str) -> Result<ClientImpl, String> {
        ClientImpl::ALL
            .into_iter()
            .find(|i| i.name() == s)
            .ok_or_else(|| format!("unknown http client {s:?} (weft, tokio, bridge)"))
    }
}

/// `conns` loops of `get` (one request each) until `deadline`, each a task
/// `spawn` starts at once (it returns the task's join future); returns the
/// number of requests answered.
async fn drive<F, Fut, Spawn, H>(
    get: F,
    conns: usize,
    deadline: Instant,
    spawn: Spawn,
) -> io::Result<u64>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = io::Result<()>> + Send,
    Spawn: Fn(Pin<Box<dyn std::future::Future<Output = io::Result<u64>> + Send>>) -> H,
    H: std::future::Future<Output = io::Result<u64>>,
{
    let handles: Vec<H> = (0..conns)
        .map(|_| {
            let get = get.clone();
            spawn(Box::pin(async move {
                let mut done = 0;
                while Instant::now() < deadline {
                    get().await?;
                    done += 1;
                }
                Ok(done)
            }))
        })
        .collect();
    let mut total = 0;
    for handle in handles {
        total += handle.await?;
    }
    Ok(total)
}

/// Reads a response's whole body, failing on anything but `200 OK`.
async fn take<B>(response: hyper::Response<B>) -> io::Result<()>
where
    B: hyper::body::Body,
    B::Error: std::fmt::Display,
{
    if response.status() != 200 {
        return Err(io::Error::other(format!("status {}", response.status())));
    }
    response
        .into_body()
        .collect()
        .await
        .map(drop)
        .map_err(|e| io::Error::other(e.to_string()))
}

/// The client process (the hidden `load-http` subcommand): runs `conns`
/// loops for `secs` against `addr`, then prints `DONE <requests> <cpu
/// seconds>` (the process's own user + system time over the run).
pub fn load(which: ClientImpl, addr: SocketAddr, secs: u64, conns: usize) -> io::Result<()> {
    let uri: hyper::Uri = format!("http://{addr}/")
        .parse()
        .map_err(|e| io::Error::other(format!("{e}")))?;
    let cpu0 = procstat::process_cpu_times(std::process::id())?;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let total = match which {
        ClientImpl::Weft => {
            let rt = weft::runtime::Builder::new_current_thread().build()?;
            rt.block_on(async {
                let client: hyper_util::client::legacy::Client<_, Empty<Bytes>> =
                    weft::hyper_rt::client_builder().build(weft::hyper_rt::WeftConnector::new());
                let get = move || {
                    let (client, uri) = (client.clone(), uri.clone());
                    async move { take(client.get(uri).await.map_err(io::Error::other)?).await }
                };
                drive(get, conns, deadline, |f| {
                    let task = weft::spawn(f);
                    async move { task.await.map_err(io::Error::other)? }
                })
                .await
            })?
        }
        ClientImpl::Tokio => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
                connector.set_nodelay(true);
                let client: hyper_util::client::legacy::Client<_, Empty<Bytes>> =
                    hyper_util::client::legacy::Client::builder(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .timer(hyper_util::rt::TokioTimer::new())
                    .pool_timer(hyper_util::rt::TokioTimer::new())
                    .build(connector);
                let get = move || {
                    let (client, uri) = (client.clone(), uri.clone());
                    async move { take(client.get(uri).await.map_err(io::Error::other)?).await }
                };
                drive(get, conns, deadline, |f| {
                    let task = tokio::spawn(f);
                    async move { task.await.map_err(io::Error::other)? }
                })
                .await
            })?
        }
        ClientImpl::Bridge => {
            let rt = weft::runtime::Builder::new_current_thread().build()?;
            rt.block_on(async {
                let bridge = weft::tokio_bridge::Bridge::start()?;
                let client = reqwest::Client::new();
                let url = uri.to_string();
                let get = move || {
                    let (bridge, client, url) = (bridge.clone(), client.clone(), url.clone());
                    async move {
                        let call = bridge.run(async move {
                            let response = client.get(url).send().await?.error_for_status()?;
                            response.bytes().await.map(drop)
                        });
                        call.await
                            .map_err(io::Error::other)?
                            .map_err(io::Error::other)
                    }
                };
                drive(get, conns, deadline, |f| {
                    let task = weft::spawn(f);
                    async move { task.await.map_err(io::Error::other)? }
                })
                .await
            })?
        }
    };
    let cpu = procstat::process_cpu_times(std::process::id())?.since(&cpu0);
    println!("DONE {total} {:.6}", cpu.total());
    Ok(())
}

/// One run's figures.
#[derive(Clone, Copy, Debug)]
struct Run {
    req_per_sec: f64,
    client_us_per_req: f64,
    server_us_per_req: f64,
}

fn run_one(
    exe: &std::path::Path,
    which: ClientImpl,
    secs: u32,
    conns: u32,
    pin: Option<(usize, usize)>,
) -> io::Result<Run> {
    let mut server = Proc::spawn(
        "server",
        exe,
        pin.map(|p| p.0),
        &["serve-http", HttpImpl::Weft.name(), "127.0.0.1:0"],
    )?;
    let ready = server.expect_line(Duration::from_secs(10), "READY", |l| {
        l.starts_with("READY ")
    })?;
    let addr = ready["READY ".len()..].trim().to_string();
    let server_cpu0 = procstat::process_cpu_times(server.child.id())?;
    let started = Instant::now();
    let mut client = Proc::spawn(
        "client",
        exe,
        pin.map(|p| p.1),
        &[
            "load-http",
            which.name(),
            &addr,
            &secs.to_string(),
            &conns.to_string(),
        ],
    )?;
    let done = client.expect_line(Duration::from_secs(u64::from(secs) + 30), "DONE", |l| {
        l.starts_with("DONE ")
    })?;
    let elapsed = started.elapsed().as_secs_f64();
    let server_cpu = procstat::process_cpu_times(server.child.id())?.since(&server_cpu0);
    let mut fields = done.split_ascii_whitespace().skip(1);
    let (Some(total), Some(cpu)) = (
        fields.next().and_then(|n| n.parse::<u64>().ok()),
        fields.next().and_then(|n| n.parse::<f64>().ok()),
    ) else {
        return Err(io::Error::other(format!("unreadable client line {done:?}")));
    };
    let total = total.max(1) as f64;
    Ok(Run {
        // The client's own deadline bounds the run; `elapsed` adds its
        // start-up, so this slightly understates both clients alike.
        req_per_sec: total / elapsed.max(f64::from(secs)),
        client_us_per_req: cpu * 1e6 / total,
        server_us_per_req: server_cpu.total() * 1e6 / total,
    })
}

/// Runs the client row: `rounds` interleaved rounds of `secs` seconds.
pub fn run(
    exe: &std::path::Path,
    pin: Option<(usize, usize)>,
    rounds: usize,
    secs: u32,
    conns: u32,
) -> io::Result<()> {
    println!();
    println!("http client: {rounds} rounds x [weft, tokio, bridge], hyper-util's pooled client, {conns} request loops, {secs}s, against the weft server");
    let runs = interleave(&ClientImpl::ALL, rounds, |which, round| {
        let run = run_one(exe, which, secs, conns, pin)?;
        println!(
            "round {}  client {:<6} {:>10.0} req/s  client {:>5.2} us/req  server {:>5.2} us/req",
            round + 1,
            which.name(),
            run.req_per_sec,
            run.client_us_per_req,
            run.server_us_per_req
        );
        Ok::<_, io::Error>(run)
    })?;
    let med = |which: ClientImpl| Run {
        req_per_sec: median_of(&runs, which, |r| r.req_per_sec),
        client_us_per_req: median_of(&runs, which, |r| r.client_us_per_req),
        server_us_per_req: median_of(&runs, which, |r| r.server_us_per_req),
    };
    println!();
    println!("client medians:");
    for which in ClientImpl::ALL {
        let r = med(which);
        println!(
            "  client {:<6} {:>10.0} req/s  client {:>5.2} us/req  server {:>5.2} us/req",
            which.name(),
            r.req_per_sec,
            r.client_us_per_req,
            r.server_us_per_req
        );
    }
    let (weft, tokio) = (med(ClientImpl::Weft), med(ClientImpl::Tokio));
    println!(
        "RESULT http-client weft/tokio {:.3}",
        weft.req_per_sec / tokio.req_per_sec
    );
    println!(
        "RESULT http-client-cpu weft/tokio {:.3}",
        tokio.client_us_per_req / weft.client_us_per_req
    );
    // What the tokio bridge costs over hyper-util's client on weft.
    let bridge = med(ClientImpl::Bridge);
    println!(
        "RESULT http-client-cpu bridge/weft {:.3}",
        bridge.client_us_per_req / weft.client_us_per_req
    );
    Ok(())
}
