//! Process benchmark: spawn-and-wait of `true`, weft against tokio, in one
//! process. Each round runs both (order alternating) on fresh
//! current-thread runtimes; the figure is the median time per child.
//! `RESULT process weft/tokio <ratio>` is weft's time over tokio's: below
//! 1.0, weft is faster.

use std::io;
use std::time::{Duration, Instant};

use crate::echo::median;

const CHILDREN: usize = 1_000;

fn weft_run(n: usize) -> io::Result<Duration> {
    let rt = weft::runtime::Builder::new_current_thread().build()?;
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..n {
            let status = weft::process::Command::new("true").status().await?;
            assert!(status.success());
        }
        Ok(start.elapsed())
    })
}

fn tokio_run(n: usize) -> io::Result<Duration> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..n {
            let status = tokio::process::Command::new("true").status().await?;
            assert!(status.success());
        }
        Ok(start.elapsed())
    })
}

/// Runs the benchmark for `rounds` rounds.
pub fn run(rounds: usize) -> io::Result<()> {
    println!("process: {rounds} rounds of {CHILDREN} sequential spawn-and-wait of `true`");
    weft_run(20)?;
    tokio_run(20)?;
    let per_child = |d: Duration| d.as_secs_f64() * 1e6 / CHILDREN as f64;
    let (mut weft, mut tokio) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        if round % 2 == 0 {
            weft.push(per_child(weft_run(CHILDREN)?));
            tokio.push(per_child(tokio_run(CHILDREN)?));
        } else {
            tokio.push(per_child(tokio_run(CHILDREN)?));
            weft.push(per_child(weft_run(CHILDREN)?));
        }
    }
    let (weft, tokio) = (median(weft), median(tokio));
    println!("weft {weft:.1} us per child, tokio {tokio:.1} us per child");
    println!();
    println!("RESULT process weft/tokio {:.3}", weft / tokio);
    Ok(())
}
