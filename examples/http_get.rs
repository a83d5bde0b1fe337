//! Fetches a URL with hyper-util's pooled client on weft, and prints the
//! status, the headers and the body's size. `http` and `https` (rustls,
//! the system's roots), HTTP/1.1 or HTTP/2 as ALPN picks.
//!
//! ```text
//! cargo run --release -p examples --example hello_http &
//! cargo run --release -p examples --example http_get -- http://127.0.0.1:3000/
//! cargo run --release -p examples --example http_get -- --ca /tmp/https_hello.pem https://127.0.0.1:3443/
//! cargo run --release -p examples --example http_get -- --http2 http://127.0.0.1:3000/   # h2c (hello_http --http2)
//! ```
//!
//! `--ca FILE` trusts the certificates in FILE (PEM) instead of the
//! system's; `--http2` speaks HTTP/2 with prior knowledge to `http` URLs.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

use examples::tls::{client, client_config, system_roots};

const USAGE: &str = "usage: http_get [--ca CA.pem] [--http2] URL";

#[weft::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut ca, mut http2, mut url) = (None, false, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ca" => ca = Some(args.next().ok_or(USAGE)?),
            "--http2" => http2 = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ if arg.starts_with('-') => {
                return Err(format!("unknown option {arg}\n{USAGE}").into())
            }
            _ => url = Some(arg),
        }
    }
    let url: hyper::Uri = url.ok_or(USAGE)?.parse()?;
    let roots = match ca {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(&path).map_err(|e| format!("{path}: {e}"))? {
                roots.add(cert.map_err(|e| format!("{path}: {e}"))?)?;
            }
            roots
        }
        None => system_roots(),
    };
    let client = client::<Empty<Bytes>>(client_config(roots)?, http2);
    let response = client.get(url).await?;
    println!("{:?} {}", response.version(), response.status());
    for (name, value) in response.headers() {
        println!("{name}: {}", String::from_utf8_lossy(value.as_bytes()));
    }
    let body = response.into_body().collect().await?.to_bytes();
    println!("\n{} bytes of body", body.len());
    Ok(())
}
