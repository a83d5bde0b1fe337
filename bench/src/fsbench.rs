//! File system benchmarks: `weft::fs` (on each I/O driver) against `tokio::fs`, in one
//! process, with an io_uring floor for the small-file cycle.
//!
//! `small_files`: 10,000 cycles of write a 4 KiB file, read it back, remove it
//! (`fs::write`, `fs::read`, `fs::remove_file`). `seq_read`: read a 256 MiB file
//! (page-cached: made once beforehand, not timed) through a `File` in 1 MiB reads.
//! `open_read`: 10,000 times what a static file server does per request: open a cached
//! 4 KiB file, read its metadata, read it to the end. Each
//! round runs every peer, order rotating, on fresh current-thread runtimes; the figure is
//! the median per operation. `RESULT fs <workload> <peer>/tokio <ratio>` is the peer's
//! time over tokio's: below 1.0, faster.
//!
//! Peers: `weft` (the epoll driver), `weft-uring` (the io_uring driver; skipped with a
//! printed reason where the kernel refuses a ring), `tokio`, and for `small_files` only
//! `ring`: the same cycle as requests on an io_uring ring (`SINGLE_ISSUER |
//! DEFER_TASKRUN`), each submitted and waited for in one `io_uring_enter` by the one
//! thread, no runtime: what a runtime that put these calls on the ring could reach at
//! best. The kernel runs an open that creates, an ext4 buffered write and an unlink on
//! its io-wq worker threads.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use io_uring::{opcode, squeue, types, IoUring};

use crate::echo::median;

const SMALL_FILES: usize = 10_000;
const SMALL_SIZE: usize = 4096;
const BIG_SIZE: usize = 256 * 1024 * 1024;
const READ_CHUNK: usize = 1024 * 1024;

/// Who runs a workload.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Peer {
    Weft,
    WeftUring,
    Tokio,
    Ring,
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Weft => "weft",
            Peer::WeftUring => "weft-uring",
            Peer::Tokio => "tokio",
            Peer::Ring => "ring",
        }
    }

    fn small(self, dir: &Path, n: usize) -> io::Result<Duration> {
        match self {
            Peer::Weft => weft_small(weft_rt(weft::runtime::IoDriver::Epoll)?, dir, n),
            Peer::WeftUring => weft_small(weft_rt(weft::runtime::IoDriver::Uring)?, dir, n),
            Peer::Tokio => tokio_small(dir, n),
            Peer::Ring => ring_small(dir, n),
        }
    }

    /// `None`: the peer does not run this workload.
    fn open_read(self, path: &Path, n: usize) -> io::Result<Option<Duration>> {
        match self {
            Peer::Weft => weft_open(weft_rt(weft::runtime::IoDriver::Epoll)?, path, n).map(Some),
            Peer::WeftUring => {
                weft_open(weft_rt(weft::runtime::IoDriver::Uring)?, path, n).map(Some)
            }
            Peer::Tokio => tokio_open(path, n).map(Some),
            Peer::Ring => Ok(None),
        }
    }

    /// `None`: the peer does not run this workload.
    fn seq(self, path: &Path) -> io::Result<Option<Duration>> {
        match self {
            Peer::Weft => weft_seq(weft_rt(weft::runtime::IoDriver::Epoll)?, path).map(Some),
            Peer::WeftUring => weft_seq(weft_rt(weft::runtime::IoDriver::Uring)?, path).map(Some),
            Peer::Tokio => tokio_seq(path).map(Some),
            Peer::Ring => Ok(None),
        }
    }
}

thread_local! {
    /// `bench fs --mt`: multi-thread runtimes with two workers.
    static MT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn weft_rt(driver: weft::runtime::IoDriver) -> io::Result<weft::runtime::Runtime> {
    let mut builder = if MT.get() {
        let mut builder = weft::runtime::Builder::new_multi_thread();
        builder.worker_threads(2);
        builder
    } else {
        weft::runtime::Builder::new_current_thread()
    };
    builder.io_driver(driver).build()
}

fn tokio_rt() -> io::Result<tokio::runtime::Runtime> {
    if MT.get() {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread().build()
    }
}

fn weft_small(rt: weft::runtime::Runtime, dir: &Path, n: usize) -> io::Result<Duration> {
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

/// `n` times what a static file server does per request: open the file, read its
/// metadata, read it to the end.
fn weft_open(rt: weft::runtime::Runtime, path: &Path, n: usize) -> io::Result<Duration> {
    use weft::io::AsyncReadExt;
    let path = path.to_path_buf();
    rt.block_on(async move {
        let mut back = Vec::with_capacity(SMALL_SIZE);
        let start = Instant::now();
        for _ in 0..n {
            let mut file = weft::fs::File::open(&path).await?;
            let len = file.metadata().await?.len();
            back.clear();
            file.read_to_end(&mut back).await?;
            assert_eq!(back.len() as u64, len);
        }
        Ok(start.elapsed())
    })
}

fn tokio_open(path: &Path, n: usize) -> io::Result<Duration> {
    use tokio::io::AsyncReadExt;
    let rt = tokio_rt()?;
    let path = path.to_path_buf();
    rt.block_on(async move {
        let mut back = Vec::with_capacity(SMALL_SIZE);
        let start = Instant::now();
        for _ in 0..n {
            let mut file = tokio::fs::File::open(&path).await?;
            let len = file.metadata().await?.len();
            back.clear();
            file.read_to_end(&mut back).await?;
            assert_eq!(back.len() as u64, len);
        }
        Ok(start.elapsed())
    })
}

/// The small-file cycle as io_uring requests, one at a time: open (create, truncate),
/// write, close, open, read to the end, close, unlink.
fn ring_small(dir: &Path, n: usize) -> io::Result<Duration> {
    ring_small_steps(dir, n).map(|(whole, _)| whole)
}

/// The names of [`ring_small_steps`]' steps.
const RING_STEPS: [&str; 6] = ["create-open", "write", "close", "open", "read", "unlink"];

/// [`ring_small`], also timing each kind of request (submitted and completed, in
/// `RING_STEPS` order; both closes count as `close`, both reads as `read`).
fn ring_small_steps(dir: &Path, n: usize) -> io::Result<(Duration, [Duration; 6])> {
    let mut ring: IoUring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(8)?;
    let data = vec![7u8; SMALL_SIZE];
    let mut back = vec![0u8; SMALL_SIZE * 2];
    let cwd = types::Fd(libc::AT_FDCWD);
    let mut steps = [Duration::ZERO; 6];
    let mut timed = |ring: &mut IoUring, step: usize, entry: squeue::Entry| {
        let start = Instant::now();
        let result = one(ring, entry);
        steps[step] += start.elapsed();
        result
    };
    let start = Instant::now();
    for i in 0..n {
        let path = CString::new(dir.join(format!("r{i}")).as_os_str().as_bytes())?;
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC;
        let create = opcode::OpenAt::new(cwd, path.as_ptr())
            .flags(flags)
            .mode(0o644);
        let file = types::Fd(timed(&mut ring, 0, create.build())?);
        let write = opcode::Write::new(file, data.as_ptr(), SMALL_SIZE as u32).offset(u64::MAX);
        let wrote = timed(&mut ring, 1, write.build())?;
        assert_eq!(wrote as usize, SMALL_SIZE);
        timed(&mut ring, 2, opcode::Close::new(file).build())?;
        let flags = libc::O_RDONLY | libc::O_CLOEXEC;
        let open = opcode::OpenAt::new(cwd, path.as_ptr()).flags(flags);
        let file = types::Fd(timed(&mut ring, 3, open.build())?);
        let mut total = 0;
        loop {
            let read =
                opcode::Read::new(file, back.as_mut_ptr(), back.len() as u32).offset(u64::MAX);
            match timed(&mut ring, 4, read.build())? {
                0 => break,
                n => total += n as usize,
            }
        }
        assert_eq!(total, SMALL_SIZE);
        timed(&mut ring, 2, opcode::Close::new(file).build())?;
        timed(
            &mut ring,
            5,
            opcode::UnlinkAt::new(cwd, path.as_ptr()).build(),
        )?;
    }
    Ok((start.elapsed(), steps))
}

/// Submits `entry` and waits for its completion, taking it off the ring before it
/// returns: the caller's buffers are the kernel's only until then.
fn one(ring: &mut IoUring, entry: squeue::Entry) -> io::Result<i32> {
    // SAFETY: every pointer in the entry (a path, a buffer) is borrowed by the caller
    // until this returns, and this returns only once the entry's completion is taken
    // (the ring holds one request at a time), or aborts the process.
    unsafe { ring.submission().push(&entry) }.map_err(|_| io::Error::other("full"))?;
    loop {
        match ring.submit_and_wait(1) {
            Ok(_) => {}
            // Interrupted, or short of memory for a moment: the entry is still queued
            // or in flight; submit and wait again.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EINTR | libc::EAGAIN | libc::EBUSY)
                ) => {}
            Err(e) => {
                // The request may still be in flight, writing into the caller's
                // buffers: returning would let them be freed under it.
                eprintln!("bench fs: io_uring_enter failed with a request in flight: {e}");
                std::process::abort();
            }
        }
        if let Some(done) = ring.completion().next() {
            let result = done.result();
            return if result < 0 {
                Err(io::Error::from_raw_os_error(-result))
            } else {
                Ok(result)
            };
        }
    }
}

fn tokio_small(dir: &Path, n: usize) -> io::Result<Duration> {
    let rt = tokio_rt()?;
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

fn weft_seq(rt: weft::runtime::Runtime, path: &Path) -> io::Result<Duration> {
    use weft::io::AsyncReadExt;
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
    let rt = tokio_rt()?;
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

/// Runs the workloads for `rounds` rounds (`mt`: on multi-thread runtimes).
pub fn run(rounds: usize, mt: bool) -> io::Result<()> {
    MT.set(mt);
    let dir = std::env::temp_dir().join(format!("weft-bench-fs-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let scratch = Scratch(dir);
    let big = scratch.0.join("big.bin");
    std::fs::write(&big, vec![1u8; BIG_SIZE])?;
    println!(
        "fs: {rounds} rounds{} in {}; small_files = {SMALL_FILES} x (write {SMALL_SIZE} B, read, \
         remove), seq_read = 256 MiB in 1 MiB reads (page-cached)",
        if mt {
            " (multi-thread runtimes, 2 workers)"
        } else {
            ""
        },
        scratch.0.display()
    );
    let mut peers = Vec::new();
    for peer in [Peer::Weft, Peer::WeftUring, Peer::Tokio, Peer::Ring] {
        // A warm-up, which also finds a peer on io_uring that this kernel or
        // process cannot run (the others must run).
        match peer.small(&scratch.0, 100) {
            Ok(_) => peers.push(peer),
            Err(e) if matches!(peer, Peer::WeftUring | Peer::Ring) => {
                println!("{}: skipped ({e})", peer.name())
            }
            Err(e) => return Err(e),
        }
    }
    let mut small: Vec<Vec<f64>> = vec![Vec::new(); peers.len()];
    let mut seq: Vec<Vec<f64>> = vec![Vec::new(); peers.len()];
    let mut opens: Vec<Vec<f64>> = vec![Vec::new(); peers.len()];
    let served = scratch.0.join("served.html");
    std::fs::write(&served, vec![b'x'; SMALL_SIZE])?;
    for round in 0..rounds {
        // Each round starts with the next peer, so none always runs first.
        for k in 0..peers.len() {
            let i = (round + k) % peers.len();
            let cycle = peers[i].small(&scratch.0, SMALL_FILES)?;
            small[i].push(cycle.as_nanos() as f64 / SMALL_FILES as f64 / 1000.0);
            if let Some(whole) = peers[i].seq(&big)? {
                seq[i].push(whole.as_secs_f64() * 1000.0);
            }
            if let Some(whole) = peers[i].open_read(&served, SMALL_FILES)? {
                opens[i].push(whole.as_nanos() as f64 / SMALL_FILES as f64 / 1000.0);
            }
        }
    }
    let small: Vec<f64> = small.into_iter().map(median).collect();
    let some_median = |v: Vec<f64>| (!v.is_empty()).then(|| median(v));
    let seq: Vec<Option<f64>> = seq.into_iter().map(some_median).collect();
    let opens: Vec<Option<f64>> = opens.into_iter().map(some_median).collect();
    print!("{:<14}", "workload");
    for peer in &peers {
        print!("{:>14}", peer.name());
    }
    println!();
    print!("{:<14}", "small_files");
    for us in &small {
        print!("{:>11.1} us", us);
    }
    println!("   (per cycle)");
    print!("{:<14}", "seq_read");
    for ms in &seq {
        match ms {
            Some(ms) => print!("{:>11.1} ms", ms),
            None => print!("{:>14}", "-"),
        }
    }
    println!("   (256 MiB)");
    print!("{:<14}", "open_read");
    for us in &opens {
        match us {
            Some(us) => print!("{:>11.1} us", us),
            None => print!("{:>14}", "-"),
        }
    }
    println!("   (open, metadata, read 4 KiB)");
    if peers.contains(&Peer::Ring) {
        // Where the ring's cycle goes: what runs inline, what on io-wq threads.
        let (_, steps) = ring_small_steps(&scratch.0, SMALL_FILES)?;
        let per_cycle: Vec<String> = RING_STEPS
            .iter()
            .zip(steps)
            .map(|(name, took)| {
                let us = took.as_nanos() as f64 / SMALL_FILES as f64 / 1000.0;
                format!("{name} {us:.1}")
            })
            .collect();
        println!("ring, us per cycle by request: {}", per_cycle.join(", "));
    }
    println!();
    let Some(tokio) = peers.iter().position(|&p| p == Peer::Tokio) else {
        return Ok(());
    };
    for (i, peer) in peers.iter().enumerate() {
        if i == tokio {
            continue;
        }
        println!(
            "RESULT fs small_files {}/tokio {:.3}",
            peer.name(),
            small[i] / small[tokio]
        );
        if let (Some(mine), Some(theirs)) = (seq[i], seq[tokio]) {
            println!(
                "RESULT fs seq_read {}/tokio {:.3}",
                peer.name(),
                mine / theirs
            );
        }
        if let (Some(mine), Some(theirs)) = (opens[i], opens[tokio]) {
            println!(
                "RESULT fs open_read {}/tokio {:.3}",
                peer.name(),
                mine / theirs
            );
        }
    }
    Ok(())
}
