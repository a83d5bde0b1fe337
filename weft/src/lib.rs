//! weft — an asynchronous I/O runtime for Rust.
//!
//! weft runs futures on an event loop built on edge-triggered epoll, a
//! hierarchical timer wheel and either a work-stealing multi-thread
//! scheduler or a current-thread one, with a blocking pool for what would
//! block it. Modules: [`runtime`], [`task`], [`time`], [`net`] (TCP, UDP,
//! Unix sockets, name lookups), [`fs`], [`signal`], [`process`], [`io`].
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
//! The map of the code is `ARCHITECTURE.md` in the repository.
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
mod driver;
mod loom;
mod scheduler;
#[cfg(test)]
mod test_util;

pub mod fs;
#[cfg(feature = "hyper")]
pub mod hyper_rt;
pub mod io;
pub mod net;
pub mod process;
pub mod runtime;
pub mod signal;
pub mod task;
pub mod time;

pub use task::spawn;
pub use weft_macros::{main, test};
