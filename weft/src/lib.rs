//! weft — an asynchronous I/O runtime for Rust.
//!
//! weft runs futures on an event loop built on edge-triggered epoll, a
//! hierarchical timer wheel and either a work-stealing multi-thread
//! scheduler or a current-thread one, with a blocking pool for what would
//! block it. Modules: [`runtime`], [`task`], [`time`], [`net`] (TCP, UDP,
//! Unix sockets, name lookups), [`fs`], [`signal`], [`process`], [`io`],
//! [`sync`] (channels, locks, `Notify`).
//! Its API follows
//! tokio's names and signatures, so a port is mostly a rename; its sockets
//! implement the runtime-neutral [`futures_io`] traits, re-exported with their
//! extension traits from [`weft::io`](crate::io).
//!
//! ```
//! use weft::io::{AsyncReadExt, AsyncWriteExt};
//! use weft::net::{TcpListener, TcpStream};
//!
//! #[weft::main]
//! async fn main() -> std::io::Result<()> {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let server = weft::spawn(async move {
//!         let (mut stream, _) = listener.accept().await?;
//!         let mut buf = [0u8; 5];
//!         stream.read_exact(&mut buf).await?;
//!         stream.write_all(&buf).await?;
//!         std::io::Result::Ok(())
//!     });
//!     let mut client = TcpStream::connect(addr).await?;
//!     client.write_all(b"hello").await?;
//!     let mut echoed = [0u8; 5];
//!     client.read_exact(&mut echoed).await?;
//!     assert_eq!(&echoed, b"hello");
//!     server.await.expect("server task")?;
//!     Ok(())
//! }
//! ```
//!
//! The map of the code is `ARCHITECTURE.md` in the repository; moving a
//! tokio program over is covered API by API in `MIGRATING_FROM_TOKIO.md`.
//!
//! # A tour
//!
//! ## Runtimes
//!
//! [`#[weft::main]`](macro@main) builds a multi-thread runtime with one
//! worker per core; `#[weft::main(flavor = "current_thread")]` runs
//! everything on the calling thread. [`runtime::Builder`] does the same by
//! hand, with the knobs (worker count, thread names and hooks, blocking-pool
//! size, event and global-queue intervals), and [`runtime::Handle::metrics`]
//! reports workers, alive tasks, queue depths and per-worker counters.
//!
//! ```
//! let rt = weft::runtime::Builder::new_multi_thread()
//!     .worker_threads(2)
//!     .thread_name("app-worker")
//!     .build()?;
//! let answer = rt.block_on(async {
//!     let task = weft::spawn(async { 6 * 7 });
//!     task.await.expect("the task did not panic")
//! });
//! assert_eq!(answer, 42);
//! assert_eq!(rt.handle().metrics().num_workers(), 2);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## Tasks
//!
//! [`spawn`] starts a `Send` task that any worker may run (work-stealing);
//! [`task::spawn_local`] starts a `!Send` task pinned to the current worker,
//! with no `LocalSet` needed. Both return a [`task::JoinHandle`]: await it
//! for the output, [`abort`](task::JoinHandle::abort) it, and a panic in the
//! task comes back as a [`task::JoinError`] instead of tearing down the
//! worker. Code that would block the loop goes to the blocking pool with
//! [`task::spawn_blocking`] (or [`task::spawn_blocking_with`] to mark work
//! as CPU, fast I/O or slow I/O: slow work may hold at most half the pool), or
//! runs in place with [`task::block_in_place`] on a multi-thread runtime.
//!
//! ```
//! # #[weft::main(flavor = "current_thread")]
//! # async fn main() {
//! let digest = weft::task::spawn_blocking(|| (1..=10u64).product::<u64>());
//! assert_eq!(digest.await.unwrap(), 3_628_800);
//!
//! let failed = weft::spawn(async { panic!("boom") });
//! assert!(failed.await.unwrap_err().is_panic());
//! # }
//! ```
//!
//! ## Time
//!
//! [`time::sleep`], [`time::timeout`] and [`time::interval`] run on a
//! hierarchical timer wheel with 1 ms ticks; deadlines are rounded up, so a
//! timer never fires early.
//!
//! ```
//! use std::time::Duration;
//! # #[weft::main(flavor = "current_thread")]
//! # async fn main() {
//! let slow = weft::time::sleep(Duration::from_secs(60));
//! let result = weft::time::timeout(Duration::from_millis(5), slow).await;
//! assert!(result.is_err(), "the sleep took longer than the timeout");
//! # }
//! ```
//!
//! For tests, the `test-util` feature adds tokio's paused clock:
//! `time::{pause, resume, advance}`, `runtime::Builder::start_paused` and
//! `#[weft::test(start_paused = true)]`. Paused, time moves only when told
//! or when the runtime is idle (it then jumps to the next timer), on either
//! runtime flavour, and a `sleep(d)` takes exactly `d`.
//!
//! ## Channels, locks and select!
//!
//! [`sync`] has tokio's channels (`mpsc`, `oneshot`, `broadcast`, `watch`)
//! and locks (`Mutex`, `RwLock`, `Semaphore`, `Notify`, `Barrier`,
//! `OnceCell`, `SetOnce`) with tokio's API; they spend the task's coop
//! budget, so a loop on an always-ready channel cannot starve the thread.
//! [`select!`], [`join!`] and [`try_join!`] have tokio's syntax.
//!
//! ```
//! use std::time::Duration;
//! use weft::sync::{mpsc, oneshot};
//!
//! # #[weft::main(flavor = "current_thread")]
//! # async fn main() {
//! let (jobs, mut queue) = mpsc::channel::<(u32, oneshot::Sender<u32>)>(16);
//! weft::spawn(async move {
//!     while let Some((n, reply)) = queue.recv().await {
//!         let _ = reply.send(n * 2);
//!     }
//! });
//! let (reply, answer) = oneshot::channel();
//! jobs.send((21, reply)).await.expect("the worker is running");
//! let doubled = weft::select! {
//!     doubled = answer => doubled.expect("the worker replied"),
//!     _ = weft::time::sleep(Duration::from_secs(60)) => panic!("no reply"),
//! };
//! assert_eq!(doubled, 42);
//! # }
//! ```
//!
//! ## Networking, files, signals, processes
//!
//! - [`net`]: [`TcpListener`](net::TcpListener) (with an accept loop that
//!   survives fd exhaustion), [`TcpStream`](net::TcpStream) (with `split` and
//!   `into_split`), [`TcpSocket`](net::TcpSocket) for socket options before
//!   `bind`/`connect`, [`UdpSocket`](net::UdpSocket), Unix streams, listeners
//!   and datagrams, and [`net::lookup_host`] (getaddrinfo on the blocking
//!   pool).
//! - [`fs`]: [`File`](fs::File) and the `std::fs` functions, run on the
//!   blocking pool; every error names its path.
//! - [`signal`]: [`ctrl_c`](signal::ctrl_c) and Unix signal streams, delivered
//!   through the I/O driver.
//! - [`process`]: [`Command`](process::Command) with piped stdio as async
//!   streams; child exits are watched through a pidfd on the driver.
//!
//! ```
//! # #[weft::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let dir = std::env::temp_dir().join(format!("weft-tour-{}", std::process::id()));
//! weft::fs::create_dir_all(&dir).await?;
//! weft::fs::write(dir.join("note.txt"), "written on the blocking pool").await?;
//! let text = weft::fs::read_to_string(dir.join("note.txt")).await?;
//! assert_eq!(text, "written on the blocking pool");
//! weft::fs::remove_dir_all(&dir).await?;
//!
//! let output = weft::process::Command::new("echo").arg("hi").output().await?;
//! assert_eq!(output.stdout, b"hi\n");
//! # Ok(())
//! # }
//! ```
//!
//! ## I/O traits and the ecosystem
//!
//! weft's streams implement [`futures_io::AsyncRead`] and
//! [`futures_io::AsyncWrite`]; `use weft::io::{AsyncReadExt, AsyncWriteExt}`
//! brings `read`, `read_exact`, `write_all`, `close` and friends.
//! Runtime-neutral crates (`async-channel`, `async-lock`, `futures`, and
//! tokio's own `sync` module) work as they are. Cargo features connect the rest:
//!
//! - `tokio-io`: tokio's `AsyncRead`/`AsyncWrite` on weft's streams, halves,
//!   child pipes and files (tokio's traits only, no tokio runtime), so
//!   `tokio-util` codecs and hyper-util's `TokioIo` take weft types.
//! - `hyper`: `hyper_rt` — hyper 1.x's executor, timer and `rt::Read`/`Write`
//!   for weft's TCP and Unix streams, so hyper's HTTP/1 and HTTP/2 servers and
//!   clients (and axum on top of them) run on weft. The `hello_http`,
//!   `http_client` and `axum_hello` examples in the repository show the whole
//!   program.
//! - `hyper-client` (with `hyper`): `hyper_rt::WeftConnector` and
//!   `hyper_rt::client_builder`, so hyper-util's pooled
//!   `client::legacy::Client` runs on weft, and HTTPS through hyper-rustls's
//!   `HttpsConnector` over a `WeftConnector` (the `http_get` and
//!   `https_hello` examples).
//! - `quinn`: `quinn_rt::WeftRuntime`, quinn's `Runtime` on weft, so QUIC
//!   endpoints run with no tokio runtime (the `quic_echo` example).
//! - `tokio-bridge`: `tokio_bridge::Bridge`, a tokio runtime on a thread of
//!   its own that weft tasks hand futures to, for crates that hard-wire
//!   tokio's runtime (reqwest); it costs a thread and two cross-thread
//!   wakes per call.
//! - `console`: weft's tasks (where they were spawned, their polls, wakes and
//!   wakers) and timers as the `tracing` spans and events console-subscriber
//!   reads, so `tokio-console` shows a weft program (the `console_demo`
//!   example in the repository's `console-demo` crate). Off by default, and
//!   not compiled at all when off. console-subscriber also needs `--cfg
//!   console_without_tokio_unstable` (its README's "Using other runtimes").
//!
//! One clash to know when porting: with `weft::io::*` in scope,
//! `stream.split()` resolves to futures' by-value `AsyncReadExt::split`
//! (owned halves behind a lock), because method lookup tries by-value
//! receivers first. For tokio's borrowed halves write
//! `TcpStream::split(&mut stream)`; `MIGRATING_FROM_TOKIO.md` lists every
//! such pair.
//!
//! # Misuse of `#[weft::main]` and `#[weft::test]`
//!
//! Misuse of the entry-point macros is a compile error that says what is
//! wrong. The function must be `async`:
//!
//! ```compile_fail
//! #[weft::main]
//! fn main() {} // error: the `async` keyword is missing from the function declaration
//! ```
//!
//! `main` cannot take arguments:
//!
//! ```compile_fail
//! #[weft::main]
//! async fn main(_argc: i32) {} // error: the main function cannot accept arguments
//! ```
//!
//! `worker_threads` needs the multi-thread flavor:
//!
//! ```compile_fail
//! #[weft::main(flavor = "current_thread", worker_threads = 2)]
//! async fn main() {} // error: `worker_threads` only applies to `flavor = "multi_thread"`
//! ```
//!
//! and unknown arguments are named:
//!
//! ```compile_fail
//! #[weft::main(workers = 2)]
//! async fn main() {} // error: unknown argument `workers` to `#[weft::main]`
//! ```
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod blocking;
mod compat;
mod driver;
mod scheduler;
mod sys;
#[cfg(test)]
mod test_util;

// Public for the expansions of `select!`, `join!` and `try_join!`
// (`$crate::macros::support`); not an API.
#[doc(hidden)]
pub mod macros;

pub mod coro;
pub mod fs;
#[cfg(feature = "hyper")]
pub use compat::hyper_rt;
#[cfg(feature = "quinn")]
pub use compat::quinn_rt;
#[cfg(feature = "tokio-bridge")]
pub use compat::tokio_bridge;
pub mod io;
pub mod net;
pub mod process;
pub mod runtime;
pub mod signal;
pub mod sync;
pub mod task;
pub mod time;

pub use task::spawn;
pub use weft_macros::{main, test};
