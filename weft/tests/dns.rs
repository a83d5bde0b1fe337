//! Name resolution on the blocking pool.

mod common;

use std::io::ErrorKind;

use common::within;
use weft::net::{lookup_host, TcpListener, TcpStream, UdpSocket};

#[test]
fn a_thousand_concurrent_localhost_lookups_complete() {
    within(60, || {
        weft::runtime::Runtime::new().unwrap().block_on(async {
            let lookups: Vec<_> = (0..1_000)
                .map(|_| weft::spawn(async { lookup_host("localhost:80").await }))
                .collect();
            for lookup in lookups {
                let addrs: Vec<_> = lookup.await.unwrap().unwrap().collect();
                assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 80));
            }
        });
    });
}

#[test]
fn a_thousand_concurrent_getaddrinfo_lookups_complete_on_the_pool() {
    // `localhost` is answered without a lookup; `127.1` is not an address
    // Rust parses, so it goes to getaddrinfo on the pool, which reads it
    // as 127.0.0.1 (inet_aton's short form) without any network.
    within(60, || {
        weft::runtime::Runtime::new().unwrap().block_on(async {
            let metrics = weft::runtime::Handle::current().metrics();
            assert_eq!(metrics.num_blocking_threads(), 0);
            let lookups: Vec<_> = (0..1_000)
                .map(|_| weft::spawn(async { lookup_host("127.1:80").await }))
                .collect();
            let mut resolved = 0;
            for lookup in lookups {
                match lookup.await.unwrap() {
                    Ok(addrs) => {
                        let addrs: Vec<_> = addrs.collect();
                        assert!(
                            addrs.contains(&"127.0.0.1:80".parse().unwrap()),
                            "{addrs:?}"
                        );
                        resolved += 1;
                    }
                    Err(e) => {
                        println!("skipped: this libc does not resolve `127.1` ({e})");
                        return;
                    }
                }
            }
            assert_eq!(resolved, 1_000);
            assert!(
                metrics.num_blocking_threads() > 0,
                "the lookups ran on the pool"
            );
        });
    });
}

#[test]
fn names_go_through_getaddrinfo_on_the_pool() {
    within(60, || {
        common::rt().block_on(async {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .unwrap_or_default()
                .trim()
                .to_string();
            let first = match lookup_host((host.as_str(), 7)).await {
                Ok(addrs) => addrs.collect::<Vec<_>>(),
                Err(e) => {
                    println!("skipped: this host's own name `{host}` does not resolve ({e})");
                    return;
                }
            };
            assert!(!first.is_empty() && first.iter().all(|a| a.port() == 7));
            let lookups: Vec<_> = (0..200)
                .map(|_| {
                    let name = format!("{host}:9");
                    weft::spawn(async move { lookup_host(name).await.map(|a| a.count()) })
                })
                .collect();
            for lookup in lookups {
                assert!(lookup.await.unwrap().unwrap() >= 1);
            }
            // Sockets take names too.
            let listener = TcpListener::bind((host.as_str(), 0)).await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let client = TcpStream::connect(format!("{host}:{port}")).await;
            if let Ok(client) = client {
                let (server, _) = listener.accept().await.unwrap();
                assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
            }
            UdpSocket::bind(format!("{host}:0")).await.unwrap();
        });
    });
}

#[test]
fn bad_names_are_errors_that_name_them() {
    within(60, || {
        common::rt().block_on(async {
            let err = lookup_host("no-such-host.invalid:80").await.err().unwrap();
            assert!(err.to_string().contains("no-such-host.invalid"), "{err}");
            let err = TcpStream::connect("no-such-host.invalid:80")
                .await
                .unwrap_err();
            assert!(err.to_string().contains("no-such-host.invalid"), "{err}");
            let err = lookup_host("no-port-here").await.err().unwrap();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert!(err.to_string().contains("no-port-here"), "{err}");
        });
    });
}
