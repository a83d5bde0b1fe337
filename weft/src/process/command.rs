//! `Command`: what to run, and how.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

use super::reap::{reap_orphans, sweep_orphans_on_sigchld};
use super::Child;

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
        let std = self
            .std
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("spawning `{}`: {e}", self.program())))?;
        Child::start(std, self.kill_on_drop)
            .map_err(|e| io::Error::new(e.kind(), format!("spawning `{}`: {e}", self.program())))
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
