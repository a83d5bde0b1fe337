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

use std::ffi::OsStr;
use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

pub use std::process::{ExitStatus, Output, Stdio};

use crate::io::Interest;
use crate::net::evented::Evented;

/// A process builder, as [`std::process::Command`] (same methods), whose
/// `spawn`, `output` and `status` do not block the loop.
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
}

impl Command {
    /// A command running `program`, found through `PATH` if it has no `/`.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command {
            std: std::process::Command::new(program),
            kill_on_drop: false,
        }
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, value);
        self
    }

    /// Sets environment variables.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts from an empty environment.
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// The child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// The child's stdin (default: inherited).
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self
    }

    /// The child's stdout (default: inherited, piped for `output`).
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self
    }

    /// The child's stderr (default: inherited, piped for `output`).
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self
    }

    /// Sends SIGKILL to the child when its [`Child`] is dropped before it
    /// exited (default `false`: the child runs on, and is reaped when it
    /// exits).
    pub fn kill_on_drop(&mut self, kill: bool) -> &mut Command {
        self.kill_on_drop = kill;
        self
    }

    /// The `std` command, for options this type does not mirror
    /// (`CommandExt::uid`, `pre_exec`, ...).
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    fn program(&self) -> String {
        self.std.get_program().to_string_lossy().into_owned()
    }

    /// Starts the child.
    ///
    /// # Errors
    ///
    /// As [`std::process::Command::spawn`] (`NotFound` for a missing
    /// program, `PermissionDenied`, ...), naming the program; or outside a
    /// weft runtime.
    pub fn spawn(&mut self) -> io::Result<Child> {
        // Before anything runs: without a runtime the child could not be
        // watched, and must not be started.
        crate::runtime::Handle::try_current()
            .map_err(|e| io::Error::other(format!("spawning `{}`: {e}", self.program())))?;
        reap_orphans();
        sweep_orphans_on_sigchld();
        let mut std = self
            .std
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("spawning `{}`: {e}", self.program())))?;
        match Child::watch(&mut std) {
            Ok((stdin, stdout, stderr, pidfd)) => Ok(Child {
                std: Some(std),
                pidfd,
                status: None,
                kill_on_drop: self.kill_on_drop,
                stdin: stdin.map(|io| ChildStdin { io }),
                stdout: stdout.map(|io| ChildStdout { io }),
                stderr: stderr.map(|io| ChildStderr { io }),
            }),
            Err(e) => {
                // Started but not watchable: stop it, and reap it later.
                let _ = std.kill();
                lock_orphans().push(std);
                Err(io::Error::new(
                    e.kind(),
                    format!("spawning `{}`: {e}", self.program()),
                ))
            }
        }
    }

    /// Runs the child to completion and returns its exit status (stdio
    /// inherited unless set).
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn) and [`Child::wait`].
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        let mut child = self.spawn()?;
        // Closed stdin, as std does: the child must not wait for input.
        drop(child.stdin.take());
        child.wait().await
    }

    /// Runs the child with stdout and stderr piped, collecting both while
    /// it runs (stdin as configured: inherited by default, and closed at
    /// once if piped).
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn) and [`Child::wait`].
    pub async fn output(&mut self) -> io::Result<Output> {
        self.std.stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = self.spawn()?;
        child.wait_with_output().await
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)
    }
}

/// Makes a pipe end non-blocking and registers it.
fn pipe(fd: OwnedFd) -> io::Result<Evented<File>> {
    rustix::io::ioctl_fionbio(&fd, true)?;
    Evented::new(File::from(fd))
}

/// A running (or exited) child process.
pub struct Child {
    /// `None` once dropped into the orphan path.
    std: Option<std::process::Child>,
    pidfd: Option<Evented<File>>,
    status: Option<ExitStatus>,
    kill_on_drop: bool,
    /// The child's stdin, if piped. Drop it to send EOF.
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if piped.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if piped.
    pub stderr: Option<ChildStderr>,
}

/// The registered pipes and pidfd of a freshly spawned child.
type Watched = (
    Option<Evented<File>>,
    Option<Evented<File>>,
    Option<Evented<File>>,
    Option<Evented<File>>,
);

impl Child {
    /// Registers a new child's pipes and (where the kernel has it) its
    /// pidfd with the driver. Kernels before 5.3 have no pidfd: exits are
    /// then seen through SIGCHLD.
    fn watch(std: &mut std::process::Child) -> io::Result<Watched> {
        let stdin = std.stdin.take().map(|s| pipe(s.into())).transpose()?;
        let stdout = std.stdout.take().map(|s| pipe(s.into())).transpose()?;
        let stderr = std.stderr.take().map(|s| pipe(s.into())).transpose()?;
        let pidfd = rustix::process::Pid::from_raw(std.id() as i32)
            .and_then(|pid| {
                rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()
            })
            .map(|fd| Evented::new(File::from(fd)))
            .transpose()?;
        Ok((stdin, stdout, stderr, pidfd))
    }

    /// Registers the pidfd with the runtime this task runs on if it is
    /// registered elsewhere: a child spawned on another runtime (since shut
    /// down, or driven by no thread while this one waits) can be waited on
    /// from any runtime, as in tokio. Outside a runtime it stays as it is.
    fn move_pidfd_here(&mut self) -> io::Result<()> {
        let elsewhere = self
            .pidfd
            .as_ref()
            .is_some_and(|pidfd| !pidfd.on_current_runtime());
        if !elsewhere || crate::runtime::Handle::try_current().is_err() {
            return Ok(());
        }
        if let Some(pidfd) = self.pidfd.take() {
            let file: File = pidfd.into_std()?;
            self.pidfd = Some(Evented::new(file)?);
        }
        Ok(())
    }

    fn std(&mut self) -> &mut std::process::Child {
        self.std
            .as_mut()
            .expect("weft: a live Child has its std child")
    }

    /// The process id, until the child is reaped.
    pub fn id(&self) -> Option<u32> {
        match self.status {
            Some(_) => None,
            None => self.std.as_ref().map(std::process::Child::id),
        }
    }

    /// The exit status if the child has exited (reaping it), without
    /// waiting.
    ///
    /// # Errors
    ///
    /// `waitpid`'s.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let status = self.std().try_wait()?;
        if status.is_some() {
            self.status = status;
            reap_orphans();
        }
        Ok(status)
    }

    /// Waits for the child to exit and returns its status. Closes nothing:
    /// drop `stdin` first if the child reads it to the end.
    ///
    /// # Errors
    ///
    /// `waitpid`'s, or the driver's if the runtime shut down.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        let mut backoff = std::time::Duration::from_millis(1);
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(status);
            }
            self.move_pidfd_here()?;
            match &self.pidfd {
                // Readable once the child has exited.
                Some(pidfd) => {
                    if pidfd.ready(Interest::READABLE).await?.is_readable() {
                        // Exited but not yet reapable (a tracer holds the
                        // zombie): the pidfd stays readable, so wait a
                        // little instead of spinning.
                        if self.try_wait()?.is_none() {
                            crate::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(std::time::Duration::from_millis(100));
                        }
                    }
                }
                None => {
                    // No pidfd: wake on every SIGCHLD and look again.
                    let mut sigchld =
                        crate::signal::unix::signal(crate::signal::unix::SignalKind::child())?;
                    if self.try_wait()?.is_some() {
                        continue;
                    }
                    sigchld.recv().await;
                }
            }
        }
    }

    /// Sends SIGKILL, then waits for the child to exit.
    ///
    /// # Errors
    ///
    /// As [`start_kill`](Self::start_kill) and [`wait`](Self::wait).
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// Sends SIGKILL without waiting (a no-op once the child was reaped).
    ///
    /// # Errors
    ///
    /// `kill(2)`'s.
    pub fn start_kill(&mut self) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        self.std().kill()
    }

    /// Waits for the child while collecting its piped stdout and stderr.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait), or a read error.
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        use futures_util::io::AsyncReadExt;
        drop(self.stdin.take());
        async fn read_all<R: futures_io::AsyncRead + Unpin>(
            pipe: Option<R>,
        ) -> io::Result<Vec<u8>> {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                pipe.read_to_end(&mut buf).await?;
            }
            Ok(buf)
        }
        let (stdout, stderr) = (self.stdout.take(), self.stderr.take());
        let (out, err, status) =
            futures_util::future::try_join3(read_all(stdout), read_all(stderr), self.wait())
                .await?;
        Ok(Output {
            status,
            stdout: out,
            stderr: err,
        })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.status.is_some() {
            return;
        }
        let Some(mut std) = self.std.take() else {
            return;
        };
        if self.kill_on_drop {
            let _ = std.kill();
        }
        if let Ok(Some(_)) = std.try_wait() {
            return;
        }
        // Reap it when it exits: a task waiting on its pidfd if this runs
        // inside a runtime, else the orphan queue.
        // The pidfd may be registered with another runtime (the child was
        // spawned there): re-register it with this one.
        let _ = self.move_pidfd_here();
        let pidfd = self.pidfd.take().filter(Evented::on_current_runtime);
        if let Some(pidfd) = pidfd {
            // Whatever happens to this task (the runtime may drop it
            // unrun), the guard hands an unreaped child to the queue.
            let orphan = Orphan(Some(std));
            crate::spawn(async move {
                let mut orphan = orphan;
                let _ = pidfd.ready(Interest::READABLE).await;
                if let Some(std) = orphan.0.as_mut() {
                    if let Ok(Some(_)) = std.try_wait() {
                        orphan.0 = None;
                    }
                }
                drop(orphan);
                reap_orphans();
            });
            return;
        }
        lock_orphans().push(std);
        sweep_orphans_on_sigchld();
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("id", &self.id())
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// A dropped child on its way to being reaped; goes to the orphan queue if
/// dropped unreaped.
struct Orphan(Option<std::process::Child>);

impl Drop for Orphan {
    fn drop(&mut self) {
        if let Some(std) = self.0.take() {
            lock_orphans().push(std);
        }
    }
}

/// Children dropped un-reaped outside a runtime (or without a pidfd).
static ORPHANS: Mutex<Vec<std::process::Child>> = Mutex::new(Vec::new());

fn lock_orphans() -> std::sync::MutexGuard<'static, Vec<std::process::Child>> {
    ORPHANS.lock().unwrap_or_else(|e| e.into_inner())
}

/// The runtimes (by their blocking pool's address) with a task sweeping
/// the orphan queue on SIGCHLD.
static SWEEPERS: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn lock_sweepers() -> std::sync::MutexGuard<'static, Vec<usize>> {
    SWEEPERS.lock().unwrap_or_else(|e| e.into_inner())
}

/// If the orphan queue is not empty and this thread is in a runtime, makes
/// sure a task of that runtime sweeps it on every SIGCHLD until it is empty
/// (one such task per runtime: a runtime nobody drives for a while must not
/// keep the others from sweeping).
fn sweep_orphans_on_sigchld() {
    if lock_orphans().is_empty() {
        return;
    }
    let Ok(handle) = crate::runtime::Handle::try_current() else {
        return;
    };
    let runtime = Arc::as_ptr(handle.inner.blocking()) as usize;
    {
        let mut sweepers = lock_sweepers();
        if sweepers.contains(&runtime) {
            return;
        }
        sweepers.push(runtime);
    }
    /// Lets this runtime start a sweep again once this one ends, however
    /// it ends (the queue emptied, or its runtime dropped it unfinished).
    struct Sweeping(usize);
    impl Drop for Sweeping {
        fn drop(&mut self) {
            lock_sweepers().retain(|&runtime| runtime != self.0);
        }
    }
    let sweeping = Sweeping(runtime);
    let sigchld = match crate::signal::unix::signal(crate::signal::unix::SignalKind::child()) {
        Ok(sigchld) => sigchld,
        // No signal stream: later `spawn`s and `wait`s still sweep.
        Err(_) => return,
    };
    crate::spawn(async move {
        let sweeping = sweeping;
        let mut sigchld = sigchld;
        loop {
            reap_orphans();
            if lock_orphans().is_empty() {
                // An orphan queued here just before this sweep unregisters
                // would find it still running and start none: look once
                // more.
                drop(sweeping);
                sweep_orphans_on_sigchld();
                return;
            }
            if sigchld.recv().await.is_none() {
                return;
            }
        }
    });
}

/// Reaps every orphan that has exited.
fn reap_orphans() {
    let mut orphans = lock_orphans();
    orphans.retain_mut(|child| !matches!(child.try_wait(), Ok(Some(_)) | Err(_)));
}

macro_rules! child_pipe {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        pub struct $name {
            io: Evented<File>,
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.io.get_ref().as_fd()
            }
        }
    };
}

child_pipe!(ChildStdin, "The write end of a child's stdin (`futures-io` `AsyncWrite`). Drop it to close the pipe: the child reads EOF.");
child_pipe!(
    ChildStdout,
    "The read end of a child's stdout (`futures-io` `AsyncRead`)."
);
child_pipe!(
    ChildStderr,
    "The read end of a child's stderr (`futures-io` `AsyncRead`)."
);

impl futures_io::AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Nothing to flush; the pipe closes when the `ChildStdin` is dropped.
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl futures_io::AsyncRead for ChildStdout {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read(cx, buf)
    }
}

impl futures_io::AsyncRead for ChildStderr {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read(cx, buf)
    }
}
