//! The chat example: lines from one client reach the others.

use std::time::Duration;

use weft::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use weft::net::{TcpListener, TcpStream};

async fn read_line(lines: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    weft::time::timeout(Duration::from_secs(10), lines.read_line(&mut line))
        .await
        .expect("a line within 10 s")
        .unwrap();
    line
}

#[weft::test]
async fn lines_reach_the_other_clients() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    weft::spawn(examples::chat::serve(listener));
    let mut alice = BufReader::new(TcpStream::connect(addr).await.unwrap());
    assert!(read_line(&mut alice).await.starts_with("* welcome"));
    let mut bob = BufReader::new(TcpStream::connect(addr).await.unwrap());
    assert!(read_line(&mut bob).await.starts_with("* welcome"));
    assert!(read_line(&mut alice).await.contains("joined"));
    alice.get_mut().write_all(b"hello bob\n").await.unwrap();
    let line = read_line(&mut bob).await;
    assert!(line.ends_with(": hello bob\n"), "{line:?}");
    bob.get_mut().write_all(b"hi alice\n").await.unwrap();
    assert!(read_line(&mut alice).await.ends_with(": hi alice\n"));
    drop(bob);
    assert!(read_line(&mut alice).await.contains("left"));
}
