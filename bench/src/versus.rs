//! The loop `bench sync` and `bench timer` share: each shape on weft and
//! on tokio, a fresh runtime per run, order alternating per round, on the
//! current-thread runtime and then on 2 workers; medians and
//! `RESULT <bench>-<shape>-<ct|mt2> weft/tokio <ratio>` lines. Beside each
//! median time, the median CPU time of the process over the same runs (all
//! threads, the runtime's start and stop included): a runtime that spends
//! more CPU to finish sooner shows it there.

use std::io;
use std::time::Duration;

use crate::echo::median;
use crate::procstat::self_cpu_secs;

/// One workload, on each runtime (`true`: the 2-worker runtime).
pub(crate) struct Shape {
    pub(crate) name: &'static str,
    pub(crate) weft: fn(bool) -> Duration,
    pub(crate) tokio: fn(bool) -> Duration,
    /// Also run on the 2-worker runtime.
    pub(crate) multi: bool,
}

/// Runs `shapes` (or only the one named `only`) for `rounds` rounds each
/// and prints the table and the `RESULT bench-…` lines.
pub(crate) fn run(
    bench: &str,
    shapes: &[Shape],
    rounds: usize,
    only: Option<&str>,
) -> io::Result<()> {
    if let Some(only) = only {
        if !shapes.iter().any(|s| s.name == only) {
            let names: Vec<&str> = shapes.iter().map(|s| s.name).collect();
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no shape named {only:?} (one of {})", names.join(", ")),
            ));
        }
    }
    println!(
        "{bench}: {rounds} rounds; each shape on a fresh runtime per round, weft and tokio \
         alternating first; ratio = weft time / tokio time (below 1.0: weft faster)"
    );
    println!(
        "{:<22}{:>6}{:>10}{:>10}{:>8}{:>10}{:>10}",
        "shape", "rt", "weft ms", "tokio ms", "ratio", "weft cpu", "tokio cpu"
    );
    println!(
        "(ms: median time of a run; cpu: median CPU ms of the process over a run, all threads, \
         runtime start and stop included)"
    );
    let mut results = Vec::new();
    for multi in [false, true] {
        let flavour = if multi { "mt2" } else { "ct" };
        let chosen = shapes
            .iter()
            .filter(|s| only.is_none_or(|o| o == s.name) && (s.multi || !multi));
        for s in chosen {
            // A warmup run of each, not counted.
            (s.weft)(multi);
            (s.tokio)(multi);
            let (mut w, mut t) = (Vec::new(), Vec::new());
            let (mut wc, mut tc) = (Vec::new(), Vec::new());
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            let measure = |run: fn(bool) -> Duration, wall: &mut Vec<f64>, cpu: &mut Vec<f64>| {
                let before = self_cpu_secs();
                wall.push(ms(run(multi)));
                cpu.push((self_cpu_secs() - before) * 1e3);
            };
            for round in 0..rounds {
                if round % 2 == 0 {
                    measure(s.weft, &mut w, &mut wc);
                    measure(s.tokio, &mut t, &mut tc);
                } else {
                    measure(s.tokio, &mut t, &mut tc);
                    measure(s.weft, &mut w, &mut wc);
                }
            }
            // Every round's time, to see a bimodal shape for what it is.
            if std::env::var("WEFT_BENCH_SAMPLES").is_ok_and(|v| !v.is_empty() && v != "0") {
                for (who, times, cpu) in [("weft", &w, &wc), ("tokio", &t, &tc)] {
                    let show =
                        |v: &Vec<f64>| v.iter().map(|ms| format!("{ms:.1}")).collect::<Vec<_>>();
                    eprintln!(
                        "{} {flavour} {who} ms: {:?} cpu ms: {:?}",
                        s.name,
                        show(times),
                        show(cpu)
                    );
                }
            }
            let (w, t) = (median(w), median(t));
            println!(
                "{:<22}{:>6}{:>10.2}{:>10.2}{:>8.3}{:>10.2}{:>10.2}",
                s.name,
                flavour,
                w,
                t,
                w / t,
                median(wc),
                median(tc)
            );
            results.push((format!("{}-{flavour}", s.name), w / t));
        }
    }
    println!();
    for (name, ratio) in results {
        println!("RESULT {bench}-{name} weft/tokio {ratio:.3}");
    }
    Ok(())
}
