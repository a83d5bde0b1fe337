//! Child processes on the loop: [`Command`] mirrors
//! [`std::process::Command`]; a [`Child`]'s exit is observed through a
//! pidfd registered with the driver (Linux ≥ 5.3), and its piped stdio are
//! `futures-io` streams. No thread waits for a child.
//!
//! **No zombies.** A `Child` dropped before it was awaited is reaped for
//! you: when dropped inside a runtime, a small task waits on its pidfd and
//! reaps it; otherwise (or on kernels without pidfds) it joins an orphan
//! queue that every later `spawn` and `wait` sweeps. Whenever a runtime
//! sees that queue not empty (a child dropped without a pidfd, or outside
//! a runtime, or whose reaping task a runtime shutdown dropped), it also
//! starts a task that sweeps the queue on every SIGCHLD until it is empty,
//! as tokio does. With
//! [`kill_on_drop(true)`](Command::kill_on_drop) it is also sent SIGKILL.
//!
//! ```
//! use weft::io::AsyncReadExt;
//! use weft::process::{Command, Stdio};
//!
//! #[weft::main(flavor = "current_thread")]
//! async fn main() -> std::io::Result<()> {
//!     let out = Command::new("sh").arg("-c").arg("echo hi; exit 3").output().await?;
//!     assert_eq!(out.stdout, b"hi\n");
//!     assert_eq!(out.status.code(), Some(3));
//!
//!     let mut child = Command::new("echo").arg("piped").stdout(Stdio::piped()).spawn()?;
//!     let mut text = String::new();
//!     child.stdout.take().unwrap().read_to_string(&mut text).await?;
//!     assert!(child.wait().await?.success());
//!     assert_eq!(text, "piped\n");
//!     Ok(())
//! }
//! ```
//!
//! One child's piped output becomes another's input through
//! `TryInto<Stdio>`, as in tokio (the two children share the pipe; this
//! process reads neither end). Name the target type: `Command::stdin` takes
//! any `Into<Stdio>`, so a bare `try_into()` there cannot be inferred.
//!
//! ```
//! use weft::process::{Command, Stdio};
//!
//! #[weft::main(flavor = "current_thread")]
//! async fn main() -> std::io::Result<()> {
//!     let mut echo = Command::new("echo").arg("hello").stdout(Stdio::piped()).spawn()?;
//!     let tr_stdin: Stdio = echo.stdout.take().unwrap().try_into()?;
//!     let tr = Command::new("tr").arg("a-z").arg("A-Z").stdin(tr_stdin).output();
//!     assert_eq!(tr.await?.stdout, b"HELLO\n");
//!     assert!(echo.wait().await?.success());
//!     Ok(())
//! }
//! ```

mod child;
mod command;
mod pipes;
mod reap;

pub use child::Child;
pub use command::Command;
pub use pipes::{ChildStderr, ChildStdin, ChildStdout};
pub use std::process::{ExitStatus, Output, Stdio};
