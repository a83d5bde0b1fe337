//! Child processes on the loop.

mod common;

use std::time::Duration;

use common::within;
use weft::io::{AsyncReadExt, AsyncWriteExt};
use weft::process::{Command, Stdio};

/// Zombie children of this process, from /proc.
fn zombies() -> Vec<u32> {
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.first() == Some(&"Z") && fields.get(1) == Some(&me.to_string().as_str()) {
            found.push(pid);
        }
    }
    found
}

#[test]
fn a_hundred_concurrent_children_report_their_exit_codes() {
    within(120, || {
        weft::runtime::Runtime::new().unwrap().block_on(async {
            let children: Vec<_> = (0..100)
                .map(|n| {
                    weft::spawn(async move {
                        let status = Command::new("sh")
                            .arg("-c")
                            .arg(format!("exit {n}"))
                            .status()
                            .await
                            .unwrap();
                        (n, status.code())
                    })
                })
                .collect();
            for child in children {
                let (n, code) = child.await.unwrap();
                assert_eq!(code, Some(n));
            }
        });
    });
}

#[test]
fn cat_echoes_a_mebibyte_with_both_pipes_driven_at_once() {
    within(60, || {
        common::rt().block_on(async {
            let mut child = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
            let mut stdin = child.stdin.take().unwrap();
            let mut stdout = child.stdout.take().unwrap();
            let to_write = data.clone();
            // Writing all before reading would deadlock on the pipe buffers.
            let writer = weft::spawn(async move {
                stdin.write_all(&to_write).await.unwrap();
                // Dropping stdin closes it: cat sees EOF.
            });
            let mut back = Vec::new();
            stdout.read_to_end(&mut back).await.unwrap();
            writer.await.unwrap();
            assert!(back == data, "cat's output differs");
            assert!(child.wait().await.unwrap().success());
            assert_eq!(child.id(), None, "no id once reaped");
        });
    });
}

#[test]
fn output_try_wait_kill_and_missing_programs() {
    within(60, || {
        common::rt().block_on(async {
            let out = Command::new("sh")
                .args(["-c", "echo out; echo err >&2; exit 7"])
                .output()
                .await
                .unwrap();
            assert_eq!(out.stdout, b"out\n");
            assert_eq!(out.stderr, b"err\n");
            assert_eq!(out.status.code(), Some(7));
            let mut sleeper = Command::new("sleep").arg("60").spawn().unwrap();
            assert!(sleeper.id().is_some());
            assert!(sleeper.try_wait().unwrap().is_none());
            sleeper.kill().await.unwrap();
            assert!(sleeper.try_wait().unwrap().is_some());
            let err = Command::new("weft-no-such-program").spawn().unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
            assert!(err.to_string().contains("weft-no-such-program"), "{err}");
        });
    });
}

#[test]
fn kill_on_drop_kills_and_dropped_children_leave_no_zombies() {
    within(60, || {
        common::rt().block_on(async {
            let sleeper = Command::new("sleep")
                .arg("60")
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            let pid = sleeper.id().unwrap();
            drop(sleeper);
            // Killed and reaped: /proc/<pid> goes away.
            while std::path::Path::new(&format!("/proc/{pid}")).exists() {
                weft::time::sleep(Duration::from_millis(5)).await;
            }
            let mut ours = Vec::new();
            for _ in 0..50 {
                let child = Command::new("true").spawn().unwrap();
                ours.push(child.id().unwrap());
                drop(child);
            }
            // Each is reaped as it exits: every one of these disappears
            // from /proc (a zombie stays there until reaped). Only these
            // are counted: other tests' children come and go meanwhile.
            let left = || {
                ours.iter()
                    .filter(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
                    .count()
            };
            let mut rounds = 0;
            while left() > 0 {
                rounds += 1;
                assert!(
                    rounds < 4_000,
                    "{} of them not reaped: {:?}",
                    left(),
                    zombies()
                );
                weft::time::sleep(Duration::from_millis(5)).await;
            }
        });
    });
}

#[test]
fn spawning_outside_a_runtime_starts_nothing() {
    let marker = std::env::temp_dir().join(format!("weft-spawn-marker-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let err = Command::new("touch").arg(&marker).spawn().unwrap_err();
    assert!(err.to_string().contains("touch"), "{err}");
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        !marker.exists(),
        "the program ran without a runtime to watch it"
    );
}

#[test]
fn a_child_dropped_as_its_runtime_shuts_down_is_still_reaped() {
    within(60, || {
        let pid = {
            let rt = common::rt();
            rt.block_on(async {
                let child = Command::new("true").spawn().unwrap();
                let pid = child.id().unwrap();
                drop(child); // its reaper task never runs: the runtime ends
                pid
            })
        };
        // The orphan queue holds it; a later spawn sweeps it.
        common::rt().block_on(async {
            let mut rounds = 0;
            loop {
                Command::new("true").status().await.unwrap();
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
                if stat.map_or(true, |s| !s.contains(") Z ")) {
                    break;
                }
                rounds += 1;
                assert!(rounds < 500, "child {pid} stays a zombie");
                weft::time::sleep(Duration::from_millis(5)).await;
            }
        });
    });
}

#[test]
fn an_orphan_that_exits_later_is_reaped_on_sigchld_without_another_spawn() {
    within(60, || {
        let rt = common::rt();
        let (child, stdin) = rt.block_on(async {
            let mut child = Command::new("sh")
                .arg("-c")
                .arg("read line")
                .stdin(Stdio::piped())
                .spawn()
                .unwrap();
            let stdin = child.stdin.take().unwrap();
            (child, stdin)
        });
        let pid = child.id().unwrap();
        // Dropped outside any runtime, still running (it waits for a
        // line): it joins the orphan queue.
        drop(child);
        rt.block_on(async {
            // A spawn sweeps the queue (the orphan is still running) and,
            // seeing it not empty, starts the SIGCHLD sweep.
            Command::new("true").status().await.unwrap();
            // Now let the orphan exit; nothing spawns or waits from here.
            drop(stdin);
            let gone_or_zombie = || std::fs::read_to_string(format!("/proc/{pid}/stat"));
            let mut rounds = 0;
            while gone_or_zombie().is_ok() {
                rounds += 1;
                assert!(
                    rounds < 4_000,
                    "orphan {pid} not reaped: {:?}",
                    gone_or_zombie()
                );
                weft::time::sleep(Duration::from_millis(5)).await;
            }
        });
    });
}

#[test]
fn a_child_spawned_in_one_runtime_is_waited_on_in_another_200_times() {
    // tokio's `process_spawned_and_wait_in_different_runtime`, 200 times:
    // runtime A spawns and is dropped, runtime B waits.
    within(120, || {
        for round in 0..200 {
            let mut child = common::rt().block_on(async { Command::new("true").spawn().unwrap() });
            let status = common::rt()
                .block_on(child.wait())
                .unwrap_or_else(|e| panic!("round {round}: {e}"));
            assert!(status.success(), "round {round}: {status}");
        }
    });
}

/// A child that runs until its stdin closes (spawned in the current
/// runtime).
fn cat_until_stdin_closes() -> weft::process::Child {
    Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_child_still_running_when_its_runtime_ends_is_waited_on_in_another() {
    // The child cannot have exited before B waits: it reads stdin until
    // EOF, and B closes stdin.
    within(60, || {
        let mut child = common::rt().block_on(async { cat_until_stdin_closes() });
        let stdin = child.stdin.take().unwrap();
        let status = common::rt()
            .block_on(async {
                drop(stdin);
                child.wait().await
            })
            .unwrap();
        assert!(status.success(), "{status}");
    });
}

#[test]
fn a_child_of_a_runtime_nobody_drives_is_waited_on_in_another() {
    // Runtime A stays alive but no thread runs its loop while B waits.
    within(60, || {
        let a = common::rt();
        let mut child = a.block_on(async { cat_until_stdin_closes() });
        let stdin = child.stdin.take().unwrap();
        let status = std::thread::spawn(move || {
            common::rt().block_on(async {
                drop(stdin);
                child.wait().await
            })
        })
        .join()
        .unwrap()
        .unwrap();
        assert!(status.success(), "{status}");
        drop(a);
    });
}

#[test]
fn tokio_s_unix_command_options_reach_the_child() {
    within(60, || {
        common::rt().block_on(async {
            // tokio's process_arg0.rs.
            let mut cmd = Command::new("sh");
            cmd.arg0("test_string").arg("-c").arg("echo $0");
            let output = cmd.output().await.unwrap();
            assert_eq!(output.stdout, b"test_string\n");

            // uid/gid: our own ids always work; another user only as root.
            let (uid, gid) = (
                rustix::process::getuid().as_raw(),
                rustix::process::getgid().as_raw(),
            );
            let target = if uid == 0 { 65534 } else { uid };
            let out = Command::new("sh")
                .args(["-c", "id -u; id -g"])
                .gid(if uid == 0 { 65534 } else { gid })
                .uid(target)
                .output()
                .await
                .unwrap();
            let expected_gid = if uid == 0 { 65534 } else { gid };
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                format!("{target}\n{expected_gid}\n")
            );

            // process_group(0): the child leads a new group. It waits on
            // its stdin, so it is still running when we look.
            let mut child = Command::new("sh")
                .args(["-c", "read line; exit 0"])
                .stdin(Stdio::piped())
                .process_group(0)
                .spawn()
                .unwrap();
            let pid = rustix::process::Pid::from_raw(child.id().unwrap() as i32).unwrap();
            let group = rustix::process::getpgid(Some(pid)).unwrap();
            assert_eq!(group, pid, "a group of its own");
            assert_ne!(group, rustix::process::getpgrp());
            drop(child.stdin.take());
            assert!(child.wait().await.unwrap().success());

            // pre_exec: runs in the child before exec, in order; an error
            // stops the spawn and comes back from it.
            let mut cmd = Command::new("sh");
            cmd.args(["-c", "umask"]);
            // SAFETY: `umask` is async-signal-safe; nothing is allocated
            // or locked in the child.
            unsafe {
                cmd.pre_exec(|| {
                    libc_umask(0o027);
                    Ok(())
                })
            };
            let out = cmd.output().await.unwrap();
            assert_eq!(out.stdout, b"0027\n");
            let mut cmd = Command::new("true");
            // SAFETY: builds an error from a number: no allocation (a raw
            // OS error is stored inline), no lock.
            unsafe { cmd.pre_exec(|| Err(std::io::Error::from_raw_os_error(13))) };
            let err = cmd.status().await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
            assert_eq!(err.raw_os_error(), None, "wrapped, naming the program");
            assert!(err.to_string().contains("`true`"), "{err}");
        });
    });
}

/// `umask(2)` without a libc dependency in the tests.
fn libc_umask(mask: u32) {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(mask));
}

#[test]
fn command_getters_and_std_conversions() {
    within(30, || {
        common::rt().block_on(async {
            let mut cmd = Command::new("sh");
            cmd.args(["-c", "echo $A$B"])
                .env("A", "x")
                .env_remove("B")
                .current_dir("/");
            assert_eq!(cmd.get_program(), "sh");
            let args: Vec<_> = cmd.get_args().collect();
            assert_eq!(args, ["-c", "echo $A$B"]);
            let envs: Vec<_> = cmd.get_envs().collect();
            assert_eq!(
                envs,
                [
                    (std::ffi::OsStr::new("A"), Some(std::ffi::OsStr::new("x"))),
                    (std::ffi::OsStr::new("B"), None)
                ]
            );
            assert_eq!(cmd.get_current_dir(), Some(std::path::Path::new("/")));
            assert!(!cmd.get_kill_on_drop());
            assert!(cmd.kill_on_drop(true).get_kill_on_drop());
            assert_eq!(cmd.as_std().get_program(), "sh");

            // tokio's status/output futures do not borrow the command.
            let status = {
                let mut temporary = Command::new("sh");
                temporary.args(["-c", "exit 4"]);
                temporary.status()
            };
            assert_eq!(status.await.unwrap().code(), Some(4));
            let output = Command::new("echo").arg("owned").output();
            assert_eq!(output.await.unwrap().stdout, b"owned\n");

            // `status` closes piped stdout on our side: a child writing
            // more than a pipe holds gets EPIPE instead of blocking forever.
            let status = Command::new("sh")
                .args(["-c", "yes | head -c 1000000; exit 0"])
                .stdout(Stdio::piped())
                .status()
                .await
                .unwrap();
            assert!(status.success());

            let std_cmd: std::process::Command = cmd.into_std();
            let mut cmd = Command::from(std_cmd);
            assert!(!cmd.get_kill_on_drop(), "std has no kill_on_drop");
            let out = cmd.output().await.unwrap();
            assert_eq!(out.stdout, b"x\n");
        });
    });
}

/// Whether `O_NONBLOCK` is set on `fd`'s open file description.
fn is_nonblocking(fd: &impl std::os::fd::AsFd) -> bool {
    rustix::fs::fcntl_getfl(fd)
        .unwrap()
        .contains(rustix::fs::OFlags::NONBLOCK)
}

/// `O_NONBLOCK` as the child saw it on its stdin, from the `flags:` line
/// of `/proc/self/fdinfo/0` (octal) that `sh -c 'grep flags ...'` printed.
fn child_saw_nonblocking(line: &str) -> bool {
    let octal = line.trim().strip_prefix("flags:").unwrap().trim();
    let flags = u32::from_str_radix(octal, 8).unwrap();
    flags & rustix::fs::OFlags::NONBLOCK.bits() != 0
}

#[test]
fn one_child_s_pipes_become_another_child_s_stdio_in_blocking_mode() {
    within(30, || {
        common::rt().block_on(async {
            // tokio's pipeline: echo's stdout is tr's stdin. The child
            // reading it sees a blocking pipe (weft's end was non-blocking).
            let mut echo = Command::new("echo")
                .arg("hello")
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let stdout = echo.stdout.take().unwrap();
            assert!(is_nonblocking(&stdout));
            let tr_stdin: Stdio = stdout.try_into().unwrap();
            let tr = Command::new("sh")
                .args(["-c", "grep flags /proc/self/fdinfo/0; tr a-z A-Z"])
                .stdin(tr_stdin)
                .output()
                .await
                .unwrap();
            assert!(echo.wait().await.unwrap().success());
            let text = String::from_utf8(tr.stdout).unwrap();
            let (flags, rest) = text.split_once('\n').unwrap();
            assert!(!child_saw_nonblocking(flags), "{flags}");
            assert_eq!(rest, "HELLO\n");

            // A ChildStdin as another child's stdout, a ChildStderr as
            // another's stdin.
            let mut cat = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let into_cat: Stdio = cat.stdin.take().unwrap().try_into().unwrap();
            let status = Command::new("echo")
                .arg("via stdin")
                .stdout(into_cat)
                .status()
                .await
                .unwrap();
            assert!(status.success());
            let mut text = String::new();
            cat.stdout
                .take()
                .unwrap()
                .read_to_string(&mut text)
                .await
                .unwrap();
            assert_eq!(text, "via stdin\n");
            assert!(cat.wait().await.unwrap().success());

            let mut complain = Command::new("sh")
                .args(["-c", "echo oops >&2"])
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let errors: Stdio = complain.stderr.take().unwrap().try_into().unwrap();
            let upper = Command::new("tr")
                .args(["a-z", "A-Z"])
                .stdin(errors)
                .output()
                .await
                .unwrap();
            assert_eq!(upper.stdout, b"OOPS\n");
            assert!(complain.wait().await.unwrap().success());
        });
    });
}

#[test]
fn child_pipes_from_std_are_registered_non_blocking_and_into_owned_fd_gives_them_back_blocking() {
    use std::io::Read as _;
    use std::os::fd::{AsFd as _, AsRawFd as _};
    use weft::process::{ChildStdin, ChildStdout};
    within(30, || {
        common::rt().block_on(async {
            // A child started by std: its blocking pipes, made async.
            let mut std_child = std::process::Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let std_stdin = std_child.stdin.take().unwrap();
            let std_stdout = std_child.stdout.take().unwrap();
            assert!(!is_nonblocking(&std_stdin) && !is_nonblocking(&std_stdout));
            let mut stdin = ChildStdin::from_std(std_stdin).unwrap();
            let mut stdout = ChildStdout::from_std(std_stdout).unwrap();
            assert!(is_nonblocking(&stdin) && is_nonblocking(&stdout));
            assert_eq!(stdin.as_raw_fd(), stdin.as_fd().as_raw_fd());
            // Nothing written yet: a read waits instead of blocking the
            // thread (the pipe is non-blocking and registered).
            let mut buf = [0u8; 4];
            let mut read = std::pin::pin!(stdout.read(&mut buf));
            assert!(futures_util::poll!(read.as_mut()).is_pending());
            stdin.write_all(b"ping").await.unwrap();
            assert_eq!(read.await.unwrap(), 4);
            assert_eq!(&buf, b"ping");

            // Back out: blocking again, and no longer registered (the
            // same descriptor registers again without EEXIST).
            let fd = stdout.into_owned_fd().unwrap();
            assert!(!is_nonblocking(&fd));
            let stdout = ChildStdout::from_std(std::process::ChildStdout::from(fd)).unwrap();
            let fd = stdout.into_owned_fd().unwrap();
            drop(stdin);
            // The child got EOF and exits; its stdout then reads EOF.
            assert!(std_child.wait().unwrap().success());
            let mut rest = Vec::new();
            std::fs::File::from(fd).read_to_end(&mut rest).unwrap();
            assert!(rest.is_empty());

            // Outside a runtime: an error, not tokio's panic.
            let mut std_child = std::process::Command::new("true")
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let pipe = std_child.stdout.take().unwrap();
            let err = std::thread::spawn(move || ChildStdout::from_std(pipe).unwrap_err())
                .join()
                .unwrap();
            assert!(err.to_string().contains("runtime"), "{err}");
            std_child.wait().unwrap();
        });
    });
}
