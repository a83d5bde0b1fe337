//! A QUIC echo server and client on weft (quinn, through
//! `weft::quinn_rt`): every bidirectional stream is echoed back byte for
//! byte.
//!
//! ```text
//! cargo run --release -p examples --example quic_echo -- server 127.0.0.1:4433
//! cargo run --release -p examples --example quic_echo -- client 127.0.0.1:4433 --ca /tmp/quic_echo.pem hello world
//! cargo run --release -p examples --example quic_echo        # both, in one process
//! ```
//!
//! The server makes a self-signed certificate for `localhost` and
//! `127.0.0.1` at start, says so, and writes it to `quic_echo.pem` in the
//! temporary directory for clients to trust (`--ca`).

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

use examples::quic::{client, echo, serve, server, Stats};
use examples::tls::Identity;

const USAGE: &str =
    "usage: quic_echo server [ADDR] | quic_echo client ADDR [--ca CA.pem] MESSAGE... | quic_echo";

type Error = Box<dyn std::error::Error>;

/// Starts a server on `addr` with a fresh self-signed certificate; returns
/// its address and the certificate.
fn start_server(addr: SocketAddr) -> Result<(SocketAddr, Identity), Error> {
    let identity = Identity::self_signed(&["localhost", "127.0.0.1"])?;
    let trusted = identity.clone();
    let path = std::env::temp_dir().join("quic_echo.pem");
    std::fs::write(&path, &identity.cert_pem)?;
    let endpoint = server(identity, addr)?;
    let addr = endpoint.local_addr()?;
    println!(
        "quic_echo: serving on {addr} with a SELF-SIGNED certificate for localhost and 127.0.0.1, \
         written to {} (clients must trust it: --ca)",
        path.display()
    );
    weft::spawn(serve(endpoint, Arc::new(Stats::default())));
    Ok((addr, trusted))
}

/// Connects to `addr` trusting `roots` and echoes each message on its own
/// stream.
async fn run_client(
    addr: SocketAddr,
    roots: RootCertStore,
    messages: &[String],
) -> Result<(), Error> {
    // Bound in the server's address family.
    let local: SocketAddr = if addr.is_ipv6() {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    }
    .parse()?;
    let endpoint = client(roots, local)?;
    let connection = endpoint.connect(addr, "localhost")?.await?;
    for message in messages {
        let back = echo(&connection, message.as_bytes()).await?;
        println!("{}", String::from_utf8_lossy(&back));
    }
    connection.close(0u32.into(), b"done");
    endpoint.wait_idle().await;
    Ok(())
}

#[weft::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("server") => {
            let addr = args
                .get(1)
                .map_or("127.0.0.1:4433", String::as_str)
                .parse()?;
            start_server(addr)?;
            std::future::pending::<()>().await;
            Ok(())
        }
        Some("client") => {
            let addr: SocketAddr = args.get(1).ok_or(USAGE)?.parse()?;
            let (mut roots, mut messages) = (RootCertStore::empty(), Vec::new());
            let mut rest = args[2..].iter();
            while let Some(arg) = rest.next() {
                if arg == "--ca" {
                    let path = rest.next().ok_or(USAGE)?;
                    for cert in
                        CertificateDer::pem_file_iter(path).map_err(|e| format!("{path}: {e}"))?
                    {
                        roots.add(cert.map_err(|e| format!("{path}: {e}"))?)?;
                    }
                } else {
                    messages.push(arg.clone());
                }
            }
            if roots.is_empty() {
                return Err(
                    format!("the client needs --ca (the server's certificate)\n{USAGE}").into(),
                );
            }
            run_client(addr, roots, &messages).await
        }
        None => {
            let (addr, identity) = start_server("127.0.0.1:0".parse()?)?;
            let mut roots = RootCertStore::empty();
            roots.add(identity.certs[0].clone())?;
            run_client(addr, roots, &["hello".into(), "over QUIC, on weft".into()]).await
        }
        Some(_) => Err(USAGE.into()),
    }
}
