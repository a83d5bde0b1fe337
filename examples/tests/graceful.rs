//! The graceful example, as a process: SIGINT mid-request, the request
//! completes, the server exits 0.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sigint_mid_request_completes_it_and_exits_zero() {
    // `cargo test` builds the examples next to the test binaries.
    let exe = std::env::current_exe().unwrap();
    let example = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("examples").join("graceful"));
    let Some(example) = example.filter(|p| p.exists()) else {
        println!("skipped: the graceful example is not built next to this test");
        return;
    };
    let mut server = Command::new(example)
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line.trim().rsplit(' ').next().unwrap().to_string();
    let mut client = TcpStream::connect(&addr).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // A first round trip: the connection is accepted and being served
    // (the server stops accepting on SIGINT, but serves what it accepted),
    // so what follows does not depend on how fast the server got here.
    client.write_all(b"warm\n").unwrap();
    let mut reply = [0u8; 5];
    client.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"WARM\n");
    client.write_all(b"hello\n").unwrap();
    // Most likely the request is in its 200 ms of work now; if not yet
    // read, it is read and answered after the signal all the same.
    std::thread::sleep(Duration::from_millis(50));
    let pid = rustix::process::Pid::from_raw(server.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let mut reply = [0u8; 6];
    client.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"HELLO\n", "the request in flight completed");
    drop(client);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the server did not exit"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("all connections finished"), "{rest}");
}
