//! A hyper HTTP/1.1 client on weft: fetches a URL path from `hello_http`.
//!
//! ```text
//! cargo run --release -p examples --example hello_http &
//! cargo run --release -p examples --example http_client -- 127.0.0.1:3000 /
//! ```

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};

#[weft::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3000".to_string());
    let path = args.next().unwrap_or_else(|| "/".to_string());
    let stream = weft::net::TcpStream::connect(addr.as_str()).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(stream).await?;
    weft::spawn(connection);
    let request = hyper::Request::builder()
        .uri(path)
        .header("host", addr.as_str())
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    println!("{}", response.status());
    let body = response.into_body().collect().await?.to_bytes();
    print!("{}", String::from_utf8_lossy(&body));
    Ok(())
}
