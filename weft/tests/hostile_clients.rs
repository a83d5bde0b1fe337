//! Hostile clients and a hostile environment: thousands of idle connections
//! and slow drip-feeding clients beside a normal one, and a storm of signals
//! interrupting the loop's system calls. (A peer that resets while the
//! server writes is in `net.rs`: `reset_mid_transfer_*`.)

mod common;

use std::os::unix::thread::JoinHandleExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use common::within;
use weft::io::{AsyncReadExt, AsyncWriteExt};
use weft::net::{TcpListener, TcpStream};

/// The echo server of the `echo` example and the benchmarks, compiled
/// into this test (the examples crate depends on weft, so weft's tests
/// cannot depend on it).
#[path = "../../examples/src/echo.rs"]
#[allow(dead_code)] // `serve_unix` is not used here.
mod echo;

/// `rounds` round trips of a 64-byte message, every byte checked.
async fn normal_client(addr: std::net::SocketAddr, rounds: usize) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut back = [0u8; 64];
    for round in 0..rounds {
        let message: Vec<u8> = (0..64).map(|i| (round * 7 + i) as u8).collect();
        stream.write_all(&message).await.unwrap();
        stream.read_exact(&mut back).await.unwrap();
        assert_eq!(&back[..], &message[..], "round {round} came back exact");
    }
}

#[test]
fn idle_and_slow_clients_do_not_stop_a_normal_client() {
    within(180, || {
        let limit = common::raise_fd_limit();
        // Each connection is two descriptors in this process (both ends).
        let wanted = (2000, 200);
        let fits = |idle: usize, slow: usize| ((idle + slow) * 2 + 200) as u64 <= limit;
        let (idle, slow) = if fits(wanted.0, wanted.1) {
            wanted
        } else {
            let scale = (limit.saturating_sub(200) / 2) as usize;
            let idle = scale * 10 / 11;
            println!(
                "note: the open-file limit is {limit}; running with {idle} idle and {} slow \
                 clients instead of 2,000 and 200",
                scale - idle
            );
            (idle, scale - idle)
        };
        common::rt().block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            weft::spawn(echo::serve(listener));
            let mut idle_conns = Vec::with_capacity(idle);
            for _ in 0..idle {
                idle_conns.push(TcpStream::connect(addr).await.unwrap());
            }
            let stop = Arc::new(AtomicBool::new(false));
            let dripped = Arc::new(AtomicU64::new(0));
            let mut slow_clients = Vec::new();
            for i in 0..slow {
                let (stop, dripped) = (Arc::clone(&stop), Arc::clone(&dripped));
                slow_clients.push(weft::spawn(async move {
                    let mut stream = TcpStream::connect(addr).await.unwrap();
                    let mut byte = [0u8; 1];
                    let mut n = 0u8;
                    while !stop.load(SeqCst) {
                        let sent = n.wrapping_add(i as u8);
                        stream.write_all(&[sent]).await.unwrap();
                        stream.read_exact(&mut byte).await.unwrap();
                        assert_eq!(byte[0], sent);
                        dripped.fetch_add(1, SeqCst);
                        n = n.wrapping_add(1);
                        weft::time::sleep(Duration::from_millis(10)).await;
                    }
                }));
            }
            normal_client(addr, 1000).await;
            stop.store(true, SeqCst);
            for client in slow_clients {
                client.await.unwrap();
            }
            assert!(
                dripped.load(SeqCst) >= slow as u64,
                "every slow client was served"
            );
            // The idle connections are all still open and served.
            let mut last = idle_conns.pop().unwrap();
            last.write_all(b"still here").await.unwrap();
            let mut back = [0u8; 10];
            last.read_exact(&mut back).await.unwrap();
            assert_eq!(&back, b"still here");
        });
    });
}

#[test]
fn a_signal_storm_interrupts_nothing() {
    within(120, || {
        let (ready_tx, ready_rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let runtime_stop = Arc::clone(&stop);
        let loop_thread = std::thread::spawn(move || {
            common::rt().block_on(async move {
                // A handler is installed (weft's), so SIGUSR1 does not kill
                // the process; every delivery interrupts whatever this thread
                // is blocked in (epoll_wait returns EINTR).
                let mut usr1 =
                    weft::signal::unix::signal(weft::signal::unix::SignalKind::user_defined1())
                        .unwrap();
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                weft::spawn(echo::serve(listener));
                ready_tx.send(()).unwrap();
                let mut rounds = 0usize;
                let mut connections = 0usize;
                // Echo traffic, with fresh connections (accept) now and then,
                // for as long as the storm lasts (and at least once).
                loop {
                    normal_client(addr, 200).await;
                    rounds += 200;
                    connections += 1;
                    if runtime_stop.load(SeqCst) {
                        break;
                    }
                    weft::time::sleep(Duration::from_millis(1)).await;
                }
                // The handler saw the storm (coalesced: at least once).
                weft::time::timeout(Duration::from_secs(10), usr1.recv())
                    .await
                    .expect("at least one SIGUSR1 was delivered")
                    .expect("the signal stream is open");
                (rounds, connections)
            })
        });
        ready_rx.recv().unwrap();
        let target = loop_thread.as_pthread_t();
        let start = Instant::now();
        let mut sent = 0u64;
        // At least 2,000 signals and 2 s, however slow this machine is.
        while sent < 2_000 || start.elapsed() < Duration::from_secs(2) {
            // SAFETY: `target` is the loop thread, which is still running: it
            // only returns after `stop` is set below, and is joined after.
            let rc = unsafe { libc::pthread_kill(target, libc::SIGUSR1) };
            assert_eq!(rc, 0, "pthread_kill");
            sent += 1;
            std::thread::sleep(Duration::from_micros(100));
        }
        stop.store(true, SeqCst);
        let (rounds, connections) = loop_thread.join().expect("the loop thread survived");
        assert!(
            rounds >= 200 && connections >= 1,
            "{rounds} round trips on {connections} connections"
        );
        println!(
            "signal storm: {sent} SIGUSR1 in {:.1} s; {rounds} exact round trips on {connections} connections",
            start.elapsed().as_secs_f64()
        );
    });
}

/// Run only as the child of `a_reset_while_writing_is_an_error_even_with_sigpipe_on`:
/// TCP (plain and vectored) and Unix stream writes to a peer that is gone.
#[test]
fn sigpipe_child() {
    if std::env::var_os("WEFT_SIGPIPE_CHILD").is_none() {
        return;
    }
    // Rust ignores SIGPIPE at startup; a program (or a C library) may turn
    // it back on. weft's TCP writes must not kill the process even then.
    // SAFETY: setting a signal's disposition to the default has no memory
    // preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    common::rt().block_on(async {
        for _ in 0..20 {
            let (client, mut server) = common::pair().await;
            client.set_zero_linger().unwrap();
            drop(client);
            let chunk = vec![1u8; 64 * 1024];
            let err = loop {
                if let Err(e) = server.write_all(&chunk).await {
                    break e;
                }
            };
            assert!(
                matches!(
                    err.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ),
                "{err:?}"
            );
        }
        // Vectored TCP writes (std would use writev) and Unix stream writes
        // (std would use write) to a peer that is gone.
        let (client, mut server) = common::pair().await;
        client.set_zero_linger().unwrap();
        drop(client);
        let chunk = vec![2u8; 64 * 1024];
        let err = loop {
            let bufs = [std::io::IoSlice::new(&chunk), std::io::IoSlice::new(&chunk)];
            if let Err(e) = server.write_vectored(&bufs).await {
                break e;
            }
        };
        assert!(
            matches!(
                err.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            "{err:?}"
        );
        let (mut a, b) = weft::net::UnixStream::pair().unwrap();
        drop(b);
        let err = a.write_all(b"to nobody").await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
        let err = a
            .write_vectored(&[
                std::io::IoSlice::new(b"to"),
                std::io::IoSlice::new(b"nobody"),
            ])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    });
    println!("SURVIVED");
}

#[test]
fn a_reset_while_writing_is_an_error_even_with_sigpipe_on() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sigpipe_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("WEFT_SIGPIPE_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("SURVIVED"),
        "the child died ({:?}): {stdout} {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}
