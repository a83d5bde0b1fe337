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

use std::ffi::OsStr;
use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::{Arc, Mutex};

pub use std::process::{ExitStatus, Output, Stdio};

use crate::driver::io::evented::Evented;
use crate::io::Interest;
use crate::sys::lock::lock;

/// A process builder, as [`std::process::Command`] (same methods), whose
/// `spawn`, `output` and `status` do not block the loop.
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
}

impl Command {
    /// A command running `program`, found through `PATH` if it has no `/`.
    pub fn new<S: AsRef<OsStr>>(program: S) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// The `std` command this one configures.
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The `std` command, for options this type does not mirror.
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// The `std` command; the [`kill_on_drop`](Self::kill_on_drop) setting,
    /// which `std` does not have, is dropped.
    pub fn into_std(self) -> std::process::Command {
        self.std
    }

    /// Adds an argument.
    pub fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
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
    pub fn env<K, V>(&mut self, key: K, val: V) -> &mut Command
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.env(key, val);
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
    pub fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts from an empty environment.
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// The child's working directory.
    pub fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// The child's stdin (default: inherited).
    pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdin(cfg);
        self
    }

    /// The child's stdout (default: inherited, piped for `output`).
    pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdout(cfg);
        self
    }

    /// The child's stderr (default: inherited, piped for `output`).
    pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stderr(cfg);
        self
    }

    /// Sends SIGKILL to the child when its [`Child`] is dropped before it
    /// exited (default `false`: the child runs on, and is reaped when it
    /// exits).
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// Whether the child is killed when its [`Child`] is dropped (see
    /// [`kill_on_drop`](Self::kill_on_drop)).
    pub fn get_kill_on_drop(&self) -> bool {
        self.kill_on_drop
    }

    /// Runs the child as user `id` (`setuid` in the child before `exec`;
    /// changing to another user needs privileges, and a failure is
    /// `spawn`'s error).
    pub fn uid(&mut self, id: u32) -> &mut Command {
        std::os::unix::process::CommandExt::uid(&mut self.std, id);
        self
    }

    /// Runs the child with group `id` (`setgid` before `exec`), as
    /// [`uid`](Self::uid).
    pub fn gid(&mut self, id: u32) -> &mut Command {
        std::os::unix::process::CommandExt::gid(&mut self.std, id);
        self
    }

    /// Sets the child's `argv[0]`, which otherwise is the program as given
    /// to [`new`](Self::new).
    ///
    /// ```
    /// #[weft::main(flavor = "current_thread")]
    /// async fn main() -> std::io::Result<()> {
    ///     let out = weft::process::Command::new("sh")
    ///         .arg0("renamed")
    ///         .args(["-c", "echo $0"])
    ///         .output()
    ///         .await?;
    ///     assert_eq!(out.stdout, b"renamed\n");
    ///     Ok(())
    /// }
    /// ```
    pub fn arg0<S>(&mut self, arg: S) -> &mut Command
    where
        S: AsRef<OsStr>,
    {
        std::os::unix::process::CommandExt::arg0(&mut self.std, arg);
        self
    }

    /// Schedules `f` to run in the child after `fork` and the stdio and
    /// directory changes, just before `exec`. Closures run in the order
    /// they were added; an `Err` stops the spawn, and `spawn` returns that
    /// error (its OS error code, naming the program).
    ///
    /// # Safety
    ///
    /// As [`std::os::unix::process::CommandExt::pre_exec`]: `f` runs in a
    /// copy of the parent made by `fork` while other threads (weft's
    /// workers and pool among them) may have held locks, so it must only
    /// make async-signal-safe calls: no allocation, no locks, no `println!`.
    /// Its memory writes are not seen by the parent, and the descriptors and
    /// mappings it sees are duplicates it must not use in ways that break
    /// the owners' invariants (closing a descriptor weft's driver registered
    /// in the parent is fine in the child; it does not affect the parent).
    pub unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Command
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        // SAFETY: this function's caller promises that `f` does only what
        // may be done between `fork` and `exec` (std's `pre_exec` contract,
        // restated in `# Safety` above).
        unsafe { std::os::unix::process::CommandExt::pre_exec(&mut self.std, f) };
        self
    }

    /// Puts the child in process group `pgroup` (`setpgid` before `exec`);
    /// `0` makes it the leader of a new group whose id is its pid, so a
    /// signal to the parent's group (Ctrl-C in a terminal) does not reach it.
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        std::os::unix::process::CommandExt::process_group(&mut self.std, pgroup);
        self
    }

    /// The program, as given to [`new`](Self::new).
    pub fn get_program(&self) -> &OsStr {
        self.std.get_program()
    }

    /// The arguments after the program (not `argv[0]`).
    pub fn get_args(&self) -> std::process::CommandArgs<'_> {
        self.std.get_args()
    }

    /// The environment changes made with `env`, `envs` and `env_remove`
    /// (`None` for a removed variable); [`env_clear`](Self::env_clear)
    /// empties this list as well.
    pub fn get_envs(&self) -> std::process::CommandEnvs<'_> {
        self.std.get_envs()
    }

    /// The working directory set with [`current_dir`](Self::current_dir).
    pub fn get_current_dir(&self) -> Option<&Path> {
        self.std.get_current_dir()
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
                lock(&ORPHANS).push(std);
                Err(io::Error::new(
                    e.kind(),
                    format!("spawning `{}`: {e}", self.program()),
                ))
            }
        }
    }

    /// Starts the child now and returns a future of its exit status
    /// (stdio inherited unless set). As tokio's, the future does not borrow
    /// the command, and pipes set up for the child are closed at once on
    /// this side, so a child cannot block on a pipe nobody reads.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn) (reported by the future) and
    /// [`Child::wait`].
    pub fn status(&mut self) -> impl std::future::Future<Output = io::Result<ExitStatus>> {
        let child = self.spawn();
        async {
            let mut child = child?;
            // As tokio: the child must not wait for input, nor block
            // writing to a pipe no one reads.
            drop(child.stdin.take());
            drop(child.stdout.take());
            drop(child.stderr.take());
            child.wait().await
        }
    }

    /// Starts the child now with stdout and stderr piped and returns a
    /// future that collects both while it runs (stdin as configured:
    /// inherited by default, and closed at once if piped). As tokio's, the
    /// future does not borrow the command.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn) (reported by the future) and
    /// [`Child::wait`].
    pub fn output(&mut self) -> impl std::future::Future<Output = io::Result<Output>> {
        self.std.stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = self.spawn();
        async { child?.wait_with_output().await }
    }
}

impl From<std::process::Command> for Command {
    /// Wraps a `std` command (`kill_on_drop` off).
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
        }
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
    crate::scheduler::context::register(File::from(fd))
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
            .map(|fd| crate::scheduler::context::register(File::from(fd)))
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
            .is_some_and(|pidfd| !crate::scheduler::context::on_current_runtime(pidfd));
        if !elsewhere || crate::runtime::Handle::try_current().is_err() {
            return Ok(());
        }
        if let Some(pidfd) = self.pidfd.take() {
            let file: File = pidfd.into_std()?;
            self.pidfd = Some(crate::scheduler::context::register(file)?);
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
        let pidfd = self
            .pidfd
            .take()
            .filter(crate::scheduler::context::on_current_runtime);
        if let Some(pidfd) = pidfd {
            // Whatever happens to this task (the runtime may drop it
            // unrun), the guard hands an unreaped child to the queue.
            let orphan = Orphan(Some(std));
            crate::task::spawn(async move {
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
        lock(&ORPHANS).push(std);
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
            lock(&ORPHANS).push(std);
        }
    }
}

/// Children dropped un-reaped outside a runtime (or without a pidfd).
static ORPHANS: Mutex<Vec<std::process::Child>> = Mutex::new(Vec::new());

/// The runtimes (by their blocking pool's address) with a task sweeping
/// the orphan queue on SIGCHLD.
static SWEEPERS: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// If the orphan queue is not empty and this thread is in a runtime, makes
/// sure a task of that runtime sweeps it on every SIGCHLD until it is empty
/// (one such task per runtime: a runtime nobody drives for a while must not
/// keep the others from sweeping).
fn sweep_orphans_on_sigchld() {
    if lock(&ORPHANS).is_empty() {
        return;
    }
    let Ok(handle) = crate::runtime::Handle::try_current() else {
        return;
    };
    let runtime = Arc::as_ptr(handle.inner.blocking()) as usize;
    {
        let mut sweepers = lock(&SWEEPERS);
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
            lock(&SWEEPERS).retain(|&runtime| runtime != self.0);
        }
    }
    let sweeping = Sweeping(runtime);
    let sigchld = match crate::signal::unix::signal(crate::signal::unix::SignalKind::child()) {
        Ok(sigchld) => sigchld,
        // No signal stream: later `spawn`s and `wait`s still sweep.
        Err(_) => return,
    };
    crate::task::spawn(async move {
        let sweeping = sweeping;
        let mut sigchld = sigchld;
        loop {
            reap_orphans();
            if lock(&ORPHANS).is_empty() {
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
    let mut orphans = lock(&ORPHANS);
    orphans.retain_mut(|child| !matches!(child.try_wait(), Ok(Some(_)) | Err(_)));
}

macro_rules! child_pipe {
    ($name:ident, $std:ty, $doc:literal) => {
        #[doc = $doc]
        pub struct $name {
            io: Evented<File>,
        }

        impl $name {
            /// Wraps `std`'s end of this pipe (of a child started with
            /// `std::process::Command`): switches it to non-blocking mode and
            /// registers it with the current runtime.
            ///
            /// # Errors
            ///
            /// Outside a weft runtime (tokio's panics there), or if the pipe
            /// cannot be made non-blocking or registered.
            pub fn from_std(inner: $std) -> io::Result<$name> {
                Ok($name {
                    io: pipe(OwnedFd::from(inner))?,
                })
            }

            /// Deregisters the pipe and returns its descriptor, switched
            /// back to blocking mode (as tokio's): the mode other programs
            /// expect of an inherited pipe, and of `std`'s blocking reads
            /// and writes.
            ///
            /// # Errors
            ///
            /// If the pipe cannot be switched back to blocking mode (the
            /// descriptor is then closed).
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                let fd: OwnedFd = self.io.into_std()?;
                rustix::io::ioctl_fionbio(&fd, false)?;
                Ok(fd)
            }
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

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.io.get_ref().as_raw_fd()
            }
        }

        /// The pipe as another child's stdio, in blocking mode (see
        /// [`into_owned_fd`](Self::into_owned_fd)), as tokio's: connects
        /// two children directly, as a shell's `|` does (see the module
        /// docs).
        impl TryInto<Stdio> for $name {
            type Error = io::Error;

            fn try_into(self) -> Result<Stdio, Self::Error> {
                self.into_owned_fd().map(Stdio::from)
            }
        }
    };
}

child_pipe!(
    ChildStdin,
    std::process::ChildStdin,
    "The write end of a child's stdin (`futures-io` `AsyncWrite`). Drop it to close the pipe: the child reads EOF."
);
child_pipe!(
    ChildStdout,
    std::process::ChildStdout,
    "The read end of a child's stdout (`futures-io` `AsyncRead`)."
);
child_pipe!(
    ChildStderr,
    std::process::ChildStderr,
    "The read end of a child's stderr (`futures-io` `AsyncRead`)."
);

crate::net::pipe_async_write!(ChildStdin);

crate::net::pipe_async_read!(ChildStdout);

crate::net::pipe_async_read!(ChildStderr);
