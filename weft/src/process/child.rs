//! `Child`: a running child process, its exit observed through a pidfd.

use std::fmt;
use std::fs::File;
use std::io;
use std::process::{ExitStatus, Output};

use super::pipes::{pipe, ChildStderr, ChildStdin, ChildStdout};
use super::reap::{orphan, reap_orphans, sweep_orphans_on_sigchld, Orphan};
use crate::driver::io::evented::Evented;
use crate::io::Interest;

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
    /// Watches a child just started: registers its pipes and (where the
    /// kernel has it) its pidfd. If that fails, the child is killed and
    /// queued to be reaped.
    pub(super) fn start(mut std: std::process::Child, kill_on_drop: bool) -> io::Result<Child> {
        match Child::watch(&mut std) {
            Ok((stdin, stdout, stderr, pidfd)) => Ok(Child {
                std: Some(std),
                pidfd,
                status: None,
                kill_on_drop,
                stdin: stdin.map(|io| ChildStdin { io }),
                stdout: stdout.map(|io| ChildStdout { io }),
                stderr: stderr.map(|io| ChildStderr { io }),
            }),
            Err(e) => {
                let _ = std.kill();
                orphan(std);
                Err(e)
            }
        }
    }

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
        orphan(std);
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
