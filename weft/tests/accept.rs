//! Accept strategy: draining vs single-accept, and surviving fd exhaustion.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::within;
use weft::net::TcpListener;

/// Queues `n` connections in `listener`'s backlog (the kernel completes the
/// handshakes before any accept), then accepts them all and returns how
/// many driver turns that took.
fn turns_to_accept_queued(single: bool, n: usize) -> u64 {
    let rt = common::rt();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.set_single_accept(single);
        assert_eq!(listener.single_accept(), single);
        let addr = listener.local_addr().unwrap();
        let clients: Vec<_> = (0..n).map(|_| StdStream::connect(addr).unwrap()).collect();
        // Let one driver turn see the listener ready.
        weft::time::sleep(Duration::from_millis(5)).await;
        let metrics = weft::runtime::Handle::current().metrics();
        let before = metrics.io_driver_turns();
        for _ in 0..n {
            listener.accept().await.unwrap();
        }
        drop(clients);
        metrics.io_driver_turns() - before
    })
}

#[test]
fn draining_accepts_the_whole_queue_in_one_turn_single_accept_one_per_turn() {
    within(30, || {
        let drained = turns_to_accept_queued(false, 8);
        let single = turns_to_accept_queued(true, 8);
        assert!(drained <= 2, "draining took {drained} driver turns for 8");
        assert!(
            single >= 7,
            "single-accept took only {single} driver turns for 8"
        );
    });
}

#[test]
fn listeners_convert_to_and_from_std() {
    within(30, || {
        common::rt().block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let std_listener = listener.into_std().unwrap();
            assert_eq!(std_listener.local_addr().unwrap(), addr);
            let listener = TcpListener::from_std(std_listener).unwrap();
            let client = weft::net::TcpStream::connect(addr).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            let std_server = server.into_std().unwrap();
            assert_eq!(
                std_server.peer_addr().unwrap(),
                client.local_addr().unwrap()
            );
        });
    });
}

/// The child half of the exhaustion test: an echo server that uses up its
/// descriptors, stays exhausted until the parent writes `DONE` to its
/// stdin, then frees them.
fn exhausted_child() {
    // Few descriptors, so exhausting them is quick.
    let limit = rustix::process::Rlimit {
        current: Some(128),
        maximum: rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum,
    };
    rustix::process::setrlimit(rustix::process::Resource::Nofile, limit).unwrap();
    let rt = common::rt();
    rt.block_on(async {
        use weft::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("LISTENING {}", listener.local_addr().unwrap());
        weft::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.expect("accept never gives up");
                weft::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = stream.read(&mut buf).await {
                        if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        // CPU time (user + system) of this process, from getrusage.
        let cpu_ms = || {
            // SAFETY: `usage` is a zeroed `rusage` that getrusage fills.
            let usage = unsafe {
                let mut usage: libc::rusage = std::mem::zeroed();
                assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut usage), 0);
                usage
            };
            let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
            ms(usage.ru_utime) + ms(usage.ru_stime)
        };
        let start = cpu_ms();
        let wall = std::time::Instant::now();
        // Use up every descriptor.
        let mut filler = Vec::new();
        while let Ok(fd) = rustix::io::dup(std::io::stdin()) {
            filler.push(fd);
        }
        println!("EXHAUSTED {}", filler.len());
        // Clients keep arriving meanwhile (the parent sends them), until
        // the parent says it is done; a pool thread waits for that line
        // (it needs no new descriptor), the loop goes on accepting.
        let line = weft::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map(|_| line)
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(line.trim(), "DONE");
        drop(filler);
        let used_ms = cpu_ms() - start;
        let wall_ms = wall.elapsed().as_secs_f64() * 1000.0;
        println!("FREED {used_ms:.0} {wall_ms:.0}");
        // Serve until the parent is done.
        weft::time::sleep(Duration::from_secs(20)).await;
    });
}

#[test]
fn an_exhausted_listener_does_not_spin_closes_queued_clients_and_recovers() {
    if std::env::var_os("WEFT_TEST_EXHAUSTED_CHILD").is_some() {
        exhausted_child();
        return;
    }
    within(60, || {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "an_exhausted_listener_does_not_spin_closes_queued_clients_and_recovers",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("WEFT_TEST_EXHAUSTED_CHILD", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut expect = |prefix: &str| -> String {
            loop {
                let line = lines.next().expect("child output").unwrap();
                // The harness may print "test <name> ... " on the same line.
                if let Some(at) = line.find(prefix) {
                    return line[at + prefix.len()..].trim().to_string();
                }
            }
        };
        let addr: SocketAddr = expect("LISTENING").parse().unwrap();
        expect("EXHAUSTED");
        // Clients arriving while the server has no descriptors: each is
        // closed promptly (EOF or reset), none hangs. At least 5 of them,
        // for at least 1 s; the server stays exhausted until told.
        let deadline = Instant::now() + Duration::from_millis(1000);
        let mut closed = 0;
        while closed < 5 || Instant::now() < deadline {
            let mut client = StdStream::connect(addr).unwrap();
            client
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut buf = [0u8; 8];
            let started = Instant::now();
            match client.read(&mut buf) {
                Ok(0) => {}
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
                other => panic!("client neither closed nor reset: {other:?}"),
            }
            assert!(
                started.elapsed() < Duration::from_secs(4),
                "a queued client hung"
            );
            closed += 1;
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"DONE\n").unwrap();
        let freed = expect("FREED");
        let (used_ms, wall_ms) = freed.split_once(' ').expect("FREED <cpu ms> <wall ms>");
        let (used_ms, wall_ms): (f64, f64) = (used_ms.parse().unwrap(), wall_ms.parse().unwrap());
        println!("exhausted server CPU: {used_ms} ms in {wall_ms} ms ({closed} clients closed)");
        // A spinning accept loop would burn all of it.
        assert!(
            used_ms < wall_ms / 2.0,
            "the exhausted server used {used_ms} ms of CPU in {wall_ms} ms"
        );
        // Descriptors are back: the same listener serves again.
        let mut client = StdStream::connect(addr).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        client.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        client.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
        child.kill().unwrap();
        let _ = child.wait();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(
            stderr.contains("weft: accept on"),
            "no exhaustion warning: {stderr}"
        );
    });
}
