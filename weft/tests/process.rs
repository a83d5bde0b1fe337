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

#[test]
fn a_child_still_running_when_its_runtime_ends_is_waited_on_in_another() {
    // The child cannot have exited before B waits: it reads stdin until
    // EOF, and B closes stdin.
    within(60, || {
        let mut child = common::rt().block_on(async {
            Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        });
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
        let mut child = a.block_on(async {
            Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        });
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
