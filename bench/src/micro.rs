//! Scheduler micro-benchmarks in the shapes of tokio's own
//! (`yield_many`, `spawn_many`, `ping_pong`), weft current-thread against
//! tokio current_thread, in one process.
//!
//! Each round runs every workload on both runtimes (order alternating), each
//! on a fresh runtime; the figure is the median time per operation over the
//! rounds. The process pins itself to one CPU so both runtimes see the same
//! core. `RESULT <scenario> weft/tokio <ratio>` is tokio's time over weft's:
//! above 1.0, weft is faster.

use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;

use crate::echo::median;

/// One workload: `ops` operations, run by `weft` or `tokio`.
struct Workload {
    name: &'static str,
    unit: &'static str,
    ops: u64,
    weft: fn(u64) -> Duration,
    tokio: fn(u64) -> Duration,
}

/// Runs the micro-benchmarks for `rounds` rounds.
pub fn run(rounds: usize) -> io::Result<()> {
    pin_to_first_cpu();
    let workloads = [
        Workload {
            name: "yield_many",
            unit: "yield",
            ops: 200_000,
            weft: weft_yield,
            tokio: tokio_yield,
        },
        Workload {
            name: "spawn_many",
            unit: "spawn",
            ops: 100_000,
            weft: weft_spawn,
            tokio: tokio_spawn,
        },
        Workload {
            name: "ping_pong",
            unit: "round trip",
            ops: 100_000,
            weft: weft_ping_pong,
            tokio: tokio_ping_pong,
        },
    ];
    println!("micro: {rounds} rounds, each workload on a fresh runtime per round");
    println!(
        "{:<12}{:>14}{:>14}{:>10}",
        "workload", "weft ns/op", "tokio ns/op", "ratio"
    );
    let mut results = Vec::new();
    for w in &workloads {
        let (mut weft, mut tokio) = (Vec::new(), Vec::new());
        // A warmup run of each, not counted.
        (w.weft)(w.ops / 10);
        (w.tokio)(w.ops / 10);
        for round in 0..rounds {
            let per_op = |d: Duration| d.as_nanos() as f64 / w.ops as f64;
            if round % 2 == 0 {
                weft.push(per_op((w.weft)(w.ops)));
                tokio.push(per_op((w.tokio)(w.ops)));
            } else {
                tokio.push(per_op((w.tokio)(w.ops)));
                weft.push(per_op((w.weft)(w.ops)));
            }
        }
        let (weft, tokio) = (median(weft), median(tokio));
        println!(
            "{:<12}{:>14.1}{:>14.1}{:>10.3}   (per {})",
            w.name,
            weft,
            tokio,
            tokio / weft,
            w.unit
        );
        results.push((w.name, tokio / weft));
    }
    println!();
    for (name, ratio) in results {
        println!("RESULT {name} weft/tokio {ratio:.3}");
    }
    Ok(())
}

fn pin_to_first_cpu() {
    let Ok(allowed) = rustix::thread::sched_getaffinity(None) else {
        return;
    };
    if let Some(cpu) = (0..rustix::thread::CpuSet::MAX_CPU).find(|&c| allowed.is_set(c)) {
        let mut set = rustix::thread::CpuSet::new();
        set.set(cpu);
        if rustix::thread::sched_setaffinity(None, &set).is_ok() {
            println!("pinning: this process on CPU {cpu}");
        }
    }
}

fn on_weft<F: Future<Output = ()>>(f: impl FnOnce() -> F) -> Duration {
    let rt = weft::runtime::Builder::new_current_thread()
        .build()
        .expect("weft runtime");
    rt.block_on(async {
        let start = Instant::now();
        f().await;
        start.elapsed()
    })
}

fn on_tokio<F: Future<Output = ()>>(f: impl FnOnce() -> F) -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let start = Instant::now();
        f().await;
        start.elapsed()
    })
}

/// One task yields `ops` times (the shape of tokio's `yield_many`, one task).
fn weft_yield(ops: u64) -> Duration {
    on_weft(|| async move {
        weft::spawn(async move {
            for _ in 0..ops {
                weft::task::yield_now().await;
            }
        })
        .await
        .expect("yield task");
    })
}

fn tokio_yield(ops: u64) -> Duration {
    on_tokio(|| async move {
        tokio::spawn(async move {
            for _ in 0..ops {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("yield task");
    })
}

/// Spawns `ops` tasks from a task and awaits them all.
fn weft_spawn(ops: u64) -> Duration {
    on_weft(|| async move {
        let handles: Vec<_> = (0..ops).map(|i| weft::spawn(async move { i })).collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.expect("spawned task");
        }
        assert_eq!(sum, ops * (ops - 1) / 2);
    })
}

fn tokio_spawn(ops: u64) -> Duration {
    on_tokio(|| async move {
        let handles: Vec<_> = (0..ops).map(|i| tokio::spawn(async move { i })).collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.expect("spawned task");
        }
        assert_eq!(sum, ops * (ops - 1) / 2);
    })
}

/// Two tasks hand a counter back and forth `ops` times, each waking the
/// other through its waker (a one-slot channel built on `AtomicWaker`).
fn weft_ping_pong(ops: u64) -> Duration {
    on_weft(|| async move {
        let (a, b) = (Arc::new(Slot::default()), Arc::new(Slot::default()));
        let (a2, b2) = (Arc::clone(&a), Arc::clone(&b));
        let pong = weft::spawn(async move {
            for _ in 0..ops {
                let v = b2.recv().await;
                a2.send(v + 1);
            }
        });
        for i in 0..ops {
            b.send(i);
            assert_eq!(a.recv().await, i + 1);
        }
        pong.await.expect("pong task");
    })
}

fn tokio_ping_pong(ops: u64) -> Duration {
    on_tokio(|| async move {
        let (a, b) = (Arc::new(Slot::default()), Arc::new(Slot::default()));
        let (a2, b2) = (Arc::clone(&a), Arc::clone(&b));
        let pong = tokio::spawn(async move {
            for _ in 0..ops {
                let v = b2.recv().await;
                a2.send(v + 1);
            }
        });
        for i in 0..ops {
            b.send(i);
            assert_eq!(a.recv().await, i + 1);
        }
        pong.await.expect("pong task");
    })
}

/// A runtime-neutral one-value mailbox: the same code for both runtimes.
struct Slot {
    value: AtomicUsize,
    waker: AtomicWaker,
}

const EMPTY: usize = usize::MAX;

impl Default for Slot {
    fn default() -> Slot {
        Slot {
            value: AtomicUsize::new(EMPTY),
            waker: AtomicWaker::new(),
        }
    }
}

impl Slot {
    fn send(&self, v: u64) {
        self.value.store(v as usize, Ordering::Release);
        self.waker.wake();
    }

    async fn recv(&self) -> u64 {
        std::future::poll_fn(|cx| {
            self.waker.register(cx.waker());
            match self.value.swap(EMPTY, Ordering::AcqRel) {
                EMPTY => std::task::Poll::Pending,
                v => std::task::Poll::Ready(v as u64),
            }
        })
        .await
    }
}
