//! An HTTPS hello-world server on weft: rustls (through tokio-rustls) over
//! weft's TCP streams, hyper over TLS, HTTP/2 or HTTP/1.1 by ALPN.
//!
//! ```text
//! cargo run --release -p examples --example https_hello -- --cert cert.pem --key key.pem 127.0.0.1:3443
//! cargo run --release -p examples --example https_hello        # a self-signed certificate made at start
//! cargo run --release -p examples --example http_get -- --ca /tmp/https_hello.pem https://127.0.0.1:3443/
//! ```
//!
//! With no `--cert`/`--key`, it makes a self-signed certificate for
//! `localhost` and `127.0.0.1`, says so, and writes the certificate to
//! `https_hello.pem` in the temporary directory for clients to trust.

use std::path::PathBuf;
use std::sync::Arc;

use examples::hello::Stats;
use examples::https::serve;
use examples::tls::{server_config, Identity};

const USAGE: &str = "usage: https_hello [--cert CERT.pem --key KEY.pem] [ADDR]";

#[weft::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut cert, mut key, mut addr) = (None, None, "127.0.0.1:3443".to_string());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--cert" => cert = Some(PathBuf::from(args.next().ok_or(USAGE)?)),
            "--key" => key = Some(PathBuf::from(args.next().ok_or(USAGE)?)),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ if arg.starts_with('-') => {
                return Err(format!("unknown option {arg}\n{USAGE}").into())
            }
            _ => addr = arg,
        }
    }
    let identity = match (cert, key) {
        (Some(cert), Some(key)) => {
            let identity = Identity::from_pem_files(&cert, &key)?;
            println!(
                "https_hello: certificate {} and key {}",
                cert.display(),
                key.display()
            );
            identity
        }
        (None, None) => {
            let identity = Identity::self_signed(&["localhost", "127.0.0.1"])?;
            let path = std::env::temp_dir().join("https_hello.pem");
            std::fs::write(&path, &identity.cert_pem)?;
            println!(
                "https_hello: no --cert/--key given: made a SELF-SIGNED certificate for localhost \
                 and 127.0.0.1, written to {} (clients must trust it explicitly)",
                path.display()
            );
            identity
        }
        _ => return Err(format!("--cert and --key go together\n{USAGE}").into()),
    };
    let listener = weft::net::TcpListener::bind(addr.as_str()).await?;
    println!(
        "https_hello: listening on https://{}/",
        listener.local_addr()?
    );
    serve(
        listener,
        server_config(identity)?,
        Arc::new(Stats::default()),
    )
    .await?;
    Ok(())
}
