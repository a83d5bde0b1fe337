//! The I/O driver backend: `Builder::io_driver`, `WEFT_IO_DRIVER`, io_uring
//! where the kernel allows it, and `Auto`'s fallback to epoll when io_uring
//! is refused (a seccomp filter in a child process refuses it for real).

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::within;
use weft::io::{AsyncReadExt, AsyncWriteExt};
use weft::runtime::{Builder, IoDriver, Runtime, IO_DRIVER_ENV};

/// A current-thread runtime on io_uring, or `None` (printing why) where
/// this machine cannot run it.
fn uring_rt(multi: bool) -> Option<Runtime> {
    let mut builder = if multi {
        Builder::new_multi_thread()
    } else {
        Builder::new_current_thread()
    };
    match builder.worker_threads(2).io_driver(IoDriver::Uring).build() {
        Ok(rt) => Some(rt),
        Err(e) => {
            assert_eq!(e.kind(), std::io::ErrorKind::Unsupported, "{e}");
            println!("skipped: io_uring unavailable here: {e}");
            None
        }
    }
}

#[test]
fn the_builder_the_environment_and_the_default_choose_in_that_order() {
    let rt = Builder::new_current_thread()
        .io_driver(IoDriver::Epoll)
        .build()
        .unwrap();
    assert_eq!(rt.metrics().io_driver(), IoDriver::Epoll, "explicit wins");
    // Unset by the builder: `WEFT_IO_DRIVER` (which `.ci/run`'s second
    // pass sets), else epoll.
    let rt = Builder::new_current_thread().build().unwrap();
    let expected = match std::env::var(IO_DRIVER_ENV).as_deref() {
        Err(_) | Ok("epoll") => vec![IoDriver::Epoll],
        Ok("uring") => vec![IoDriver::Uring],
        Ok(_) => vec![IoDriver::Epoll, IoDriver::Uring],
    };
    assert!(expected.contains(&rt.metrics().io_driver()));
    let auto = Builder::new_current_thread()
        .io_driver(IoDriver::Auto)
        .build()
        .unwrap();
    assert_ne!(auto.metrics().io_driver(), IoDriver::Auto, "resolved");
}

#[test]
fn sockets_pipes_and_closes_work_on_io_uring() {
    for multi in [false, true] {
        let Some(rt) = uring_rt(multi) else { return };
        assert_eq!(rt.metrics().io_driver(), IoDriver::Uring);
        within(60, move || {
            rt.block_on(async {
                // TCP echo, 1,000 round trips of 64 B.
                let (mut client, mut server) = common::pair().await;
                let echo = weft::spawn(async move {
                    let mut buf = [0u8; 64];
                    loop {
                        match server.read(&mut buf).await.unwrap() {
                            0 => return,
                            n => server.write_all(&buf[..n]).await.unwrap(),
                        }
                    }
                });
                let mut back = [0u8; 64];
                for round in 0..1_000u32 {
                    let msg = [round as u8; 64];
                    client.write_all(&msg).await.unwrap();
                    client.read_exact(&mut back).await.unwrap();
                    assert_eq!(back, msg);
                }
                // Dropping a socket closes it (the ring's requests on it are
                // cancelled first): the peer reads end-of-file.
                drop(client);
                echo.await.unwrap();

                // UDP.
                let a = weft::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
                let b = weft::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
                a.send_to(b"ping", b.local_addr().unwrap()).await.unwrap();
                let mut buf = [0u8; 8];
                let (n, from) = b.recv_from(&mut buf).await.unwrap();
                assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr().unwrap()));

                // A pipe.
                let (mut tx, mut rx) = weft::net::unix::pipe::pipe().unwrap();
                tx.write_all(b"through a pipe").await.unwrap();
                drop(tx);
                let mut got = Vec::new();
                rx.read_to_end(&mut got).await.unwrap();
                assert_eq!(got, b"through a pipe");
            });
        });
    }
}

#[test]
fn a_socket_registered_on_a_thread_that_exited_still_gets_events() {
    // A request on a ring belongs to the thread that submitted it, and the
    // kernel cancels it when that thread exits: the backend must submit the
    // poll again, or the read below would wait forever. Here the thread
    // that drives the runtime first (and so submits the socket's poll)
    // exits, and another drives it afterwards.
    let Some(rt) = uring_rt(false) else { return };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (accepted, _) = listener.accept().unwrap();
    accepted.set_nonblocking(true).unwrap();
    let stream = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                rt.block_on(async {
                    // A turn first, so this thread is the driving one and
                    // submits the poll itself.
                    weft::task::yield_now().await;
                    let stream = weft::net::TcpStream::from_std(accepted).unwrap();
                    weft::task::yield_now().await;
                    stream
                })
            })
            .join()
            .unwrap()
    });
    within(30, move || {
        rt.block_on(async move {
            let mut stream = stream;
            peer.write_all(b"after the thread exited").unwrap();
            let mut buf = [0u8; 23];
            stream.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"after the thread exited");
            stream.write_all(b"ok").await.unwrap();
            let mut ok = [0u8; 2];
            peer.read_exact(&mut ok).unwrap();
            assert_eq!(&ok, b"ok");
        });
    });
}

/// Set in the child process of the fallback test.
const CHILD: &str = "WEFT_TEST_IO_URING_REFUSED";

#[test]
fn auto_falls_back_to_epoll_when_io_uring_is_refused_and_says_why() {
    if std::env::var_os(CHILD).is_some() {
        return child_with_io_uring_refused();
    }
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "auto_falls_back_to_epoll_when_io_uring_is_refused_and_says_why",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env_remove(IO_DRIVER_ENV)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: a child that hangs is killed (which ends its output) and
    // fails the test. Its output is read as it comes, so a full pipe
    // cannot stall it.
    let pid = child.id() as libc::pid_t;
    let (done, exited) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let out = child.wait_with_output();
        let _ = done.send(());
        out
    });
    if exited.recv_timeout(Duration::from_secs(60)).is_err() {
        // SAFETY: `kill` takes integers; `pid` is our child, not yet
        // reaped (its reader thread is still waiting on it).
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let _ = reader.join();
        panic!("the child did not finish within 60 s");
    }
    let out = reader.join().unwrap().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    if stdout.contains("skipped:") {
        println!("{stdout}");
        return;
    }
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("child: ok"), "{stdout}\n{stderr}");
    // One line, once, saying why.
    let line = "weft: io_uring unavailable, using epoll: io_uring is not permitted here (EPERM";
    assert_eq!(stderr.matches(line).count(), 1, "{stderr}");
}

/// Refuses `io_uring_setup` with EPERM for this thread and the threads it
/// starts (a seccomp filter, as a container runtime's), then checks what
/// the runtimes built here run on.
fn child_with_io_uring_refused() {
    if let Err(e) = refuse_io_uring_setup() {
        println!("skipped: cannot install a seccomp filter here: {e}");
        return;
    }
    let auto = Builder::new_current_thread()
        .io_driver(IoDriver::Auto)
        .build()
        .unwrap();
    assert_eq!(auto.metrics().io_driver(), IoDriver::Epoll);
    within(30, move || {
        auto.block_on(async {
            let (mut a, mut b) = common::pair().await;
            a.write_all(b"on epoll").await.unwrap();
            let mut buf = [0u8; 8];
            b.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"on epoll");
        })
    });
    // A second `Auto` runtime falls back silently (the line is said once).
    let again = Builder::new_multi_thread()
        .io_driver(IoDriver::Auto)
        .build()
        .unwrap();
    assert_eq!(again.metrics().io_driver(), IoDriver::Epoll);
    let err = Builder::new_current_thread()
        .io_driver(IoDriver::Uring)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    assert!(err.to_string().contains("EPERM"), "{err}");
    println!("child: ok");
}

fn refuse_io_uring_setup() -> std::io::Result<()> {
    use libc::{sock_filter, sock_fprog};
    const fn stmt(code: u32, k: u32) -> sock_filter {
        sock_filter {
            code: code as u16,
            jt: 0,
            jf: 0,
            k,
        }
    }
    const fn jeq(k: u32, jt: u8, jf: u8) -> sock_filter {
        sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt,
            jf,
            k,
        }
    }
    let filter = [
        // seccomp_data.nr is at offset 0.
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0),
        jeq(libc::SYS_io_uring_setup as u32, 0, 1),
        stmt(
            libc::BPF_RET | libc::BPF_K,
            libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
        ),
        stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
    ];
    let prog = sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut sock_filter,
    };
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
    if unsafe {
        libc::prctl(
            libc::PR_SET_NO_NEW_PRIVS,
            1 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    } != 0
    {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `prog` points at `filter`, both alive across the call (the
    // kernel copies the program); the filter only returns ERRNO or ALLOW.
    if unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &prog as *const sock_fprog,
        )
    } != 0
    {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
