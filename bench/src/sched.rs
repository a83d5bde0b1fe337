//! Multi-thread scheduler benchmarks in the shapes of tokio's own
//! (`benches/rt_multi_threaded.rs`): weft's multi-thread runtime against
//! tokio's `multi_thread` with the same worker count, in one process.
//!
//! Every workload is written once, generic over [`Rt`], so both runtimes run
//! the same user code (the channels are runtime-neutral `futures-channel`
//! ones). Each round runs every workload on both runtimes, order
//! alternating, each on a fresh runtime whose creation is not timed; the
//! figure is the median time per operation over the rounds. `RESULT sched
//! <workload> weft/tokio <ratio>` is weft's time over tokio's: below 1.0,
//! weft is faster.

use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_channel::oneshot;

use crate::echo::median;

/// What a workload needs of a runtime.
trait Rt {
    fn new(workers: usize) -> Self;
    fn block_on<F: Future>(&self, future: F) -> F::Output;
    /// Spawns on the current runtime (inside it) or on `self` (outside).
    fn spawn<F: Future<Output = ()> + Send + 'static>(future: F);
    fn spawn_from_outside<F: Future<Output = ()> + Send + 'static>(&self, future: F);
    fn yield_now() -> impl Future<Output = ()> + Send;
}

struct Weft(weft::runtime::Runtime);

impl Rt for Weft {
    fn new(workers: usize) -> Self {
        Weft(
            weft::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .build()
                .expect("weft runtime"),
        )
    }
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
    fn spawn<F: Future<Output = ()> + Send + 'static>(future: F) {
        drop(weft::spawn(future));
    }
    fn spawn_from_outside<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        drop(self.0.spawn(future));
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        weft::task::yield_now()
    }
}

struct Tokio(tokio::runtime::Runtime);

impl Rt for Tokio {
    fn new(workers: usize) -> Self {
        Tokio(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .build()
                .expect("tokio runtime"),
        )
    }
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
    fn spawn<F: Future<Output = ()> + Send + 'static>(future: F) {
        drop(tokio::spawn(future));
    }
    fn spawn_from_outside<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        drop(self.0.spawn(future));
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
}

/// Counts down; the task that takes it to zero fires `done`.
#[derive(Clone)]
struct Countdown(Arc<(AtomicUsize, std::sync::Mutex<Option<oneshot::Sender<()>>>)>);

impl Countdown {
    fn new(n: usize) -> (Countdown, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let inner = (AtomicUsize::new(n), std::sync::Mutex::new(Some(tx)));
        (Countdown(Arc::new(inner)), rx)
    }

    fn tick(&self) {
        if self.0 .0.fetch_sub(1, Ordering::AcqRel) == 1 {
            if let Some(tx) = self.0 .1.lock().unwrap().take() {
                let _ = tx.send(());
            }
        }
    }
}

/// Spawns `n` tiny tasks from a task on a worker (the local-queue path).
fn spawn_many_local<R: Rt>(rt: &R, n: u64) -> Duration {
    let (countdown, done) = Countdown::new(n as usize);
    rt.block_on(async move {
        let start = Instant::now();
        R::spawn(async move {
            for _ in 0..n {
                let countdown = countdown.clone();
                R::spawn(async move { countdown.tick() });
            }
        });
        done.await.unwrap();
        start.elapsed()
    })
}

/// Spawns `n` tiny tasks from outside the runtime onto idle workers.
fn spawn_many_remote_idle<R: Rt>(rt: &R, n: u64) -> Duration {
    let (countdown, done) = Countdown::new(n as usize);
    let start = Instant::now();
    for _ in 0..n {
        let countdown = countdown.clone();
        rt.spawn_from_outside(async move { countdown.tick() });
    }
    rt.block_on(done).unwrap();
    start.elapsed()
}

/// As `spawn_many_remote_idle`, while every worker runs a task that keeps
/// yielding.
fn spawn_many_remote_busy<R: Rt>(rt: &R, n: u64, workers: usize) -> Duration {
    let stop = Arc::new(AtomicBool::new(false));
    let (busy, busy_done) = Countdown::new(workers);
    for _ in 0..workers {
        let stop = Arc::clone(&stop);
        let busy = busy.clone();
        rt.spawn_from_outside(async move {
            while !stop.load(Ordering::Relaxed) {
                R::yield_now().await;
            }
            busy.tick();
        });
    }
    let elapsed = spawn_many_remote_idle(rt, n);
    stop.store(true, Ordering::Relaxed);
    rt.block_on(busy_done).unwrap();
    elapsed
}

const YIELD_TASKS: u64 = 200;

/// `YIELD_TASKS` tasks each yielding `n / YIELD_TASKS` times.
fn yield_many<R: Rt>(rt: &R, n: u64) -> Duration {
    let (countdown, done) = Countdown::new(YIELD_TASKS as usize);
    let per_task = n / YIELD_TASKS;
    rt.block_on(async move {
        let start = Instant::now();
        for _ in 0..YIELD_TASKS {
            let countdown = countdown.clone();
            R::spawn(async move {
                for _ in 0..per_task {
                    R::yield_now().await;
                }
                countdown.tick();
            });
        }
        done.await.unwrap();
        start.elapsed()
    })
}

/// `n` pairs of tasks, each pair passing a message there and back through
/// two oneshot channels; all pairs spawned from one task.
fn ping_pong<R: Rt>(rt: &R, n: u64) -> Duration {
    let (countdown, done) = Countdown::new(n as usize);
    rt.block_on(async move {
        let start = Instant::now();
        R::spawn(async move {
            for _ in 0..n {
                let (ping_tx, ping_rx) = oneshot::channel::<()>();
                let (pong_tx, pong_rx) = oneshot::channel::<()>();
                R::spawn(async move {
                    ping_rx.await.unwrap();
                    pong_tx.send(()).unwrap();
                });
                let countdown = countdown.clone();
                R::spawn(async move {
                    ping_tx.send(()).unwrap();
                    pong_rx.await.unwrap();
                    countdown.tick();
                });
            }
        });
        done.await.unwrap();
        start.elapsed()
    })
}

/// A chain of `n` tasks, each spawning the next.
fn chained_spawn<R: Rt>(rt: &R, n: u64) -> Duration {
    fn link<R: Rt>(left: u64, done: oneshot::Sender<()>) {
        if left == 0 {
            let _ = done.send(());
        } else {
            R::spawn(async move { link::<R>(left - 1, done) });
        }
    }
    let (tx, done) = oneshot::channel();
    rt.block_on(async move {
        let start = Instant::now();
        R::spawn(async move { link::<R>(n, tx) });
        done.await.unwrap();
        start.elapsed()
    })
}

/// One workload, run on a fresh runtime of either kind.
struct Workload {
    name: &'static str,
    unit: &'static str,
    ops: u64,
    run: fn(Which, usize, u64) -> Duration,
}

#[derive(Clone, Copy)]
enum Which {
    Weft,
    Tokio,
}

fn on<R: Rt>(workers: usize, f: impl FnOnce(&R) -> Duration) -> Duration {
    let rt = R::new(workers);
    f(&rt)
}

macro_rules! workload {
    ($name:ident, $unit:expr, $ops:expr) => {
        Workload {
            name: stringify!($name),
            unit: $unit,
            ops: $ops,
            run: |which, workers, ops| match which {
                Which::Weft => on::<Weft>(workers, |rt| $name(rt, ops)),
                Which::Tokio => on::<Tokio>(workers, |rt| $name(rt, ops)),
            },
        }
    };
}

/// Runs the scheduler benchmarks: `rounds` rounds on `workers` workers.
pub fn run(rounds: usize, workers: usize, only: Option<&str>) -> io::Result<()> {
    let busy: fn(Which, usize, u64) -> Duration = |which, workers, ops| match which {
        Which::Weft => on::<Weft>(workers, |rt| spawn_many_remote_busy(rt, ops, workers)),
        Which::Tokio => on::<Tokio>(workers, |rt| spawn_many_remote_busy(rt, ops, workers)),
    };
    let workloads = [
        workload!(spawn_many_local, "spawn", 100_000),
        workload!(spawn_many_remote_idle, "spawn", 100_000),
        Workload {
            name: "spawn_many_remote_busy",
            unit: "spawn",
            ops: 100_000,
            run: busy,
        },
        workload!(yield_many, "yield", 200_000),
        workload!(ping_pong, "round trip", 20_000),
        workload!(chained_spawn, "spawn", 20_000),
    ];
    if let Some(only) = only {
        if !workloads.iter().any(|w| w.name == only) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no workload named {only:?}"),
            ));
        }
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "sched: {rounds} rounds, {workers} workers on each runtime ({cpus} CPUs), a fresh \
         runtime per workload per round"
    );
    println!(
        "{:<24}{:>12}{:>13}{:>12}",
        "workload", "weft ns/op", "tokio ns/op", "weft/tokio"
    );
    let mut results = Vec::new();
    for w in workloads
        .iter()
        .filter(|w| only.is_none_or(|o| o == w.name))
    {
        let (mut weft, mut tokio) = (Vec::new(), Vec::new());
        // One warmup run of each, not counted.
        (w.run)(Which::Weft, workers, w.ops / 10);
        (w.run)(Which::Tokio, workers, w.ops / 10);
        let per_op = |d: Duration| d.as_nanos() as f64 / w.ops as f64;
        for round in 0..rounds {
            let order = if round % 2 == 0 {
                [Which::Weft, Which::Tokio]
            } else {
                [Which::Tokio, Which::Weft]
            };
            for which in order {
                let t = per_op((w.run)(which, workers, w.ops));
                match which {
                    Which::Weft => weft.push(t),
                    Which::Tokio => tokio.push(t),
                }
            }
        }
        let (weft, tokio) = (median(weft), median(tokio));
        println!(
            "{:<24}{:>12.1}{:>13.1}{:>12.3}   (per {})",
            w.name,
            weft,
            tokio,
            weft / tokio,
            w.unit
        );
        results.push((w.name, weft / tokio));
    }
    println!();
    for (name, ratio) in results {
        println!("RESULT sched {name} weft/tokio {ratio:.3}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_completes_on_both_runtimes() {
        for which in [Which::Weft, Which::Tokio] {
            let run = |f: fn(&Weft, u64) -> Duration, g: fn(&Tokio, u64) -> Duration| match which {
                Which::Weft => on::<Weft>(2, |rt| f(rt, 400)),
                Which::Tokio => on::<Tokio>(2, |rt| g(rt, 400)),
            };
            run(spawn_many_local, spawn_many_local);
            run(spawn_many_remote_idle, spawn_many_remote_idle);
            run(yield_many, yield_many);
            run(ping_pong, ping_pong);
            run(chained_spawn, chained_spawn);
        }
        on::<Weft>(2, |rt| spawn_many_remote_busy(rt, 400, 2));
    }
}
