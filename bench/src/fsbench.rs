//! File system benchmarks: `weft::fs` against `tokio::fs`, in one process.
//!
//! `small_files`: 10,000 cycles of write a 4 KiB file, read it back, remove
//! it (`fs::write`, `fs::read`, `fs::remove_file`: three trips to the
//! blocking pool each). `seq_read`: read a 256 MiB file (page-cached: made
//! once beforehand, not timed) through a `File` in 1 MiB reads. Each round
//! runs both runtimes, order alternating, on fresh current-thread runtimes;
//! the figure is the median per operation. `RESULT fs <workload>
//! weft/tokio <ratio>` is weft's time over tokio's: below 1.0, weft is
//! faster.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::echo::median;

const SMALL_FILES: usize = 10_000;
const SMALL_SIZE: usize = 4096;
const BIG_SIZE: usize = 256 * 1024 * 1024;
const READ_CHUNK: usize = 1024 * 1024;

fn weft_small(dir: &Path, n: usize) -> io::Result<Duration> {
    let rt = weft::runtime::Builder::new_current_thread().build()?;
    let dir = dir.to_path_buf();
    rt.block_on(async move {
        let data = vec![7u8; SMALL_SIZE];
        let start = Instant::now();
        for i in 0..n {
            let path = dir.join(format!("w{i}"));
            weft::fs::write(&path, &data).await?;
            let back = weft::fs::read(&path).await?;
            assert_eq!(back.len(), SMALL_SIZE);
            weft::fs::remove_file(&path).await?;
        }
        Ok(start.elapsed())
    })
}

fn tokio_small(dir: &Path, n: usize) -> io::Result<Duration> {
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    let dir = dir.to_path_buf();
    rt.block_on(async move {
        let data = vec![7u8; SMALL_SIZE];
        let start = Instant::now();
        for i in 0..n {
            let path = dir.join(format!("t{i}"));
            tokio::fs::write(&path, &data).await?;
            let back = tokio::fs::read(&path).await?;
            assert_eq!(back.len(), SMALL_SIZE);
            tokio::fs::remove_file(&path).await?;
        }
        Ok(start.elapsed())
    })
}

fn weft_seq(path: &Path) -> io::Result<Duration> {
    use weft::io::AsyncReadExt;
    let rt = weft::runtime::Builder::new_current_thread().build()?;
    let path = path.to_path_buf();
    rt.block_on(async move {
        let start = Instant::now();
        let mut file = weft::fs::File::open(&path).await?;
        let mut buf = vec![0u8; READ_CHUNK];
        let mut total = 0;
        loop {
            let n = file.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, BIG_SIZE);
        Ok(start.elapsed())
    })
}

fn tokio_seq(path: &Path) -> io::Result<Duration> {
    use tokio::io::AsyncReadExt;
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    let path = path.to_path_buf();
    rt.block_on(async move {
        let start = Instant::now();
        let mut file = tokio::fs::File::open(&path).await?;
        let mut buf = vec![0u8; READ_CHUNK];
        let mut total = 0;
        loop {
            let n = file.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, BIG_SIZE);
        Ok(start.elapsed())
    })
}

/// Removes the benchmark's directory however the run ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs both workloads for `rounds` rounds.
pub fn run(rounds: usize) -> io::Result<()> {
    let dir = std::env::temp_dir().join(format!("weft-bench-fs-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let scratch = Scratch(dir);
    let big = scratch.0.join("big.bin");
    std::fs::write(&big, vec![1u8; BIG_SIZE])?;
    println!(
        "fs: {rounds} rounds in {}; small_files = {SMALL_FILES} x (write {SMALL_SIZE} B, read, \
         remove), seq_read = 256 MiB in 1 MiB reads (page-cached)",
        scratch.0.display()
    );
    // Warm both up once.
    weft_small(&scratch.0, 100)?;
    tokio_small(&scratch.0, 100)?;
    let (mut ws, mut ts, mut wq, mut tq) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let per_cycle = |d: Duration| d.as_nanos() as f64 / SMALL_FILES as f64 / 1000.0;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        if round % 2 == 0 {
            ws.push(per_cycle(weft_small(&scratch.0, SMALL_FILES)?));
            ts.push(per_cycle(tokio_small(&scratch.0, SMALL_FILES)?));
            wq.push(ms(weft_seq(&big)?));
            tq.push(ms(tokio_seq(&big)?));
        } else {
            ts.push(per_cycle(tokio_small(&scratch.0, SMALL_FILES)?));
            ws.push(per_cycle(weft_small(&scratch.0, SMALL_FILES)?));
            tq.push(ms(tokio_seq(&big)?));
            wq.push(ms(weft_seq(&big)?));
        }
    }
    let (ws, ts, wq, tq) = (median(ws), median(ts), median(wq), median(tq));
    println!(
        "{:<14}{:>12}{:>12}{:>12}",
        "workload", "weft", "tokio", "weft/tokio"
    );
    println!(
        "{:<14}{:>9.1} us{:>9.1} us{:>12.3}   (per cycle)",
        "small_files",
        ws,
        ts,
        ws / ts
    );
    println!(
        "{:<14}{:>9.1} ms{:>9.1} ms{:>12.3}   (256 MiB)",
        "seq_read",
        wq,
        tq,
        wq / tq
    );
    println!();
    println!("RESULT fs small_files weft/tokio {:.3}", ws / ts);
    println!("RESULT fs seq_read weft/tokio {:.3}", wq / tq);
    Ok(())
}
