//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::{mpsc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// Runs `f` on its own thread and fails the test if it has not finished
/// within `secs` seconds, so a bug that hangs the loop fails instead of
/// hanging CI. Panics inside `f` are re-raised here.
pub fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let out = f();
        let _ = tx.send(());
        out
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => worker
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p)),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // `f` panicked before sending.
            match worker.join() {
                Err(payload) => std::panic::resume_unwind(payload),
                Ok(_) => unreachable!("the worker sends before it returns"),
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("test did not finish within {secs} s"),
    }
}

/// A connected TCP pair on 127.0.0.1: (client, server).
pub async fn pair() -> (weft::net::TcpStream, weft::net::TcpStream) {
    let listener = weft::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let client = weft::net::TcpStream::connect(listener.local_addr().expect("local addr"))
        .await
        .expect("connect");
    let (server, _) = listener.accept().await.expect("accept");
    (client, server)
}

/// Raises the open-file soft limit to the hard limit; returns the limit.
pub fn raise_fd_limit() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        },
    );
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// A current-thread runtime.
pub fn rt() -> weft::runtime::Runtime {
    weft::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

/// A multi-thread runtime with one worker (`multi`), else a current-thread
/// one: for tests that check both schedulers.
pub fn rt_one_worker(multi: bool) -> weft::runtime::Runtime {
    if multi {
        weft::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .expect("runtime")
    } else {
        rt()
    }
}

/// Deterministic xorshift generator (no dependency, reproducible failures).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A one-shot flag that one thread sets and a future on another awaits.
#[derive(Default)]
pub struct Signal {
    state: Mutex<(bool, Option<Waker>)>,
}

impl Signal {
    /// Sets the flag and wakes the waiter.
    pub fn set(&self) {
        let waker = {
            let mut state = self.state.lock().unwrap();
            state.0 = true;
            state.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Ready once `set` was called.
    pub fn poll(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.state.lock().unwrap();
        if state.0 {
            return Poll::Ready(());
        }
        state.1 = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Signal {
    /// Waits until `set` was called.
    pub async fn wait(&self) {
        std::future::poll_fn(|cx| self.poll(cx)).await
    }
}

/// Makes a FIFO (a named pipe) at `path`, readable and writable by us.
pub fn mkfifo(path: &std::path::Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
        0,
    )
    .unwrap_or_else(|e| panic!("mkfifo {}: {e}", path.display()));
}

/// A current-thread runtime on io_uring, or `None` (printing why).
pub fn uring_rt() -> Option<weft::runtime::Runtime> {
    uring_built(&mut weft::runtime::Builder::new_current_thread())
}

/// `builder`'s runtime on io_uring, or `None` (printing why).
pub fn uring_built(builder: &mut weft::runtime::Builder) -> Option<weft::runtime::Runtime> {
    match builder.io_driver(weft::runtime::IoDriver::Uring).build() {
        Ok(rt) => Some(rt),
        Err(e) => {
            assert_eq!(e.kind(), std::io::ErrorKind::Unsupported, "{e}");
            println!("skipped: io_uring unavailable here: {e}");
            None
        }
    }
}

/// True if this kernel is at least `version` (major, minor); if not,
/// prints that the test skips because `what` needs it.
fn kernel_at_least(version: (u32, u32), what: &str) -> bool {
    let uname = rustix::system::uname();
    let release = String::from_utf8_lossy(uname.release().to_bytes()).into_owned();
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let here = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if here < version {
        let (major, minor) = version;
        println!("skipped: {what} needs Linux {major}.{minor} (this is {release})");
        return false;
    }
    true
}

/// True if this kernel lets TCP streams read through the ring (Linux 6.13
/// or later; before it they read as on epoll, and only the tests of what
/// the ring holds skip).
pub fn ring_reads_here() -> bool {
    kernel_at_least((6, 13), "reading streams through the ring")
}

/// True if a multi-thread runtime on io_uring gets a ring per worker here
/// (`DEFER_TASKRUN`, Linux 6.1; before it the workers share one ring).
pub fn rings_per_worker_here() -> bool {
    kernel_at_least((6, 1), "a ring per worker")
}

/// The process's open descriptors.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Waits (10 s at most) until the process holds no more descriptors than
/// `baseline`: the kernel lets go of a cancelled request's file in the
/// ring's completion work, a moment after the close.
pub fn assert_fds_back_to(baseline: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while open_fds() > baseline && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        open_fds() <= baseline,
        "descriptors: {} now, {baseline} before",
        open_fds()
    );
}
