//! The `tokio-io` feature: tokio-ecosystem code on weft's types, with no
//! tokio runtime in the process.

use futures_util::{SinkExt, StreamExt};
use tokio_util::codec::{Framed, LinesCodec};
use weft::net::{TcpListener, TcpStream};

#[weft::test]
async fn framed_lines_round_trip_over_a_weft_tcp_stream() {
    weft::time::timeout(
        std::time::Duration::from_secs(300),
        framed_lines_round_trip_over_a_weft_tcp_stream_body(),
    )
    .await
    .expect("framed_lines_round_trip_over_a_weft_tcp_stream did not finish within 300 s");
}

async fn framed_lines_round_trip_over_a_weft_tcp_stream_body() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = weft::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut lines = Framed::new(stream, LinesCodec::new());
        while let Some(line) = lines.next().await {
            let line = line.unwrap();
            lines.send(line.to_uppercase()).await.unwrap();
        }
    });
    let mut client = Framed::new(TcpStream::connect(addr).await.unwrap(), LinesCodec::new());
    for word in ["alpha", "beta", "gamma"] {
        client.send(word).await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap(), word.to_uppercase());
    }
    drop(client);
    server.await.unwrap();
}

#[weft::test]
async fn tokio_io_util_copies_through_weft_files_and_pipes() {
    weft::time::timeout(
        std::time::Duration::from_secs(300),
        tokio_io_util_copies_through_weft_files_and_pipes_body(),
    )
    .await
    .expect("tokio_io_util_copies_through_weft_files_and_pipes did not finish within 300 s");
}

async fn tokio_io_util_copies_through_weft_files_and_pipes_body() {
    use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
    let path = std::env::temp_dir().join(format!("weft-tokio-io-{}", std::process::id()));
    let mut file = weft::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .await
        .unwrap();
    file.write_all(b"written with tokio's traits")
        .await
        .unwrap();
    file.flush().await.unwrap();
    file.seek(std::io::SeekFrom::Start(13)).await.unwrap();
    let mut rest = String::new();
    file.read_to_string(&mut rest).await.unwrap();
    assert_eq!(rest, "tokio's traits");
    weft::fs::remove_file(&path).await.unwrap();
    let (mut a, mut b) = weft::net::UnixStream::pair().unwrap();
    a.write_all(b"pair").await.unwrap();
    // `a.shutdown()` would be weft's inherent, synchronous
    // `shutdown(Shutdown)`: a porting clash, so tokio's is named in full.
    AsyncWriteExt::shutdown(&mut a).await.unwrap();
    let mut got = Vec::new();
    b.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, b"pair");
}
