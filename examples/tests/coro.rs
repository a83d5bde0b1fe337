//! The coroutine examples' servers, driven through `weft::coro::serve`.

use std::io::{Read, Write};
use std::time::Duration;

use weft::coro::{self, ServeOptions};

async fn bounded<F: std::future::Future>(future: F) -> F::Output {
    weft::time::timeout(Duration::from_secs(60), future)
        .await
        .expect("finished within 60 s")
}

#[weft::test]
async fn coro_http_keep_alive_pipelining_bodies_and_close() {
    bounded(async {
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        weft::task::spawn_local(coro::serve(
            listener,
            ServeOptions::new(),
            examples::coro_http::handle,
        ));
        let client = coro::spawn(move || {
            let mut stream = coro::net::TcpStream::connect(addr).unwrap();
            // Two pipelined keep-alive requests (the second with a body split
            // across writes), then one that asks to close.
            stream
                .write_all(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234")
                .unwrap();
            coro::sleep(Duration::from_millis(5)).unwrap();
            stream
                .write_all(b"56789GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut all = String::new();
            stream.read_to_string(&mut all).unwrap(); // the server closes
            all
        });
        let all = client.await.unwrap();
        assert_eq!(all.matches("HTTP/1.1 200 OK").count(), 3, "{all}");
        assert_eq!(all.matches("Hello, World!").count(), 3, "{all}");
        let bad = coro::spawn(move || {
            let mut stream = coro::net::TcpStream::connect(addr).unwrap();
            stream.write_all(b"NOT HTTP\r\n\r\n").unwrap();
            let mut all = String::new();
            stream.read_to_string(&mut all).unwrap();
            all
        });
        assert!(bad.await.unwrap().starts_with("HTTP/1.1 400"));
    })
    .await;
}
