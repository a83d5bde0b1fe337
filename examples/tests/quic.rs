//! QUIC on weft (`weft::quinn_rt`): `quic_echo`'s server and client over
//! one connection, with no tokio runtime in the process.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;

use examples::quic::{client, echo, serve, server, Stats};
use examples::tls::Identity;

/// Bounds a test: a hang fails it instead of stalling the suite. A
/// watchdog, not a timing check.
async fn bounded<F: std::future::Future>(what: &str, future: F) -> F::Output {
    weft::time::timeout(Duration::from_secs(300), future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within 300 s"))
}

/// Stream `i`'s message: its own length and bytes, so a mix-up between
/// streams shows.
fn message(i: usize) -> Vec<u8> {
    let len = (i * 7919) % 200_000;
    (0..len)
        .map(|j| (j as u8).wrapping_mul(31).wrapping_add(i as u8))
        .collect()
}

async fn hundred_streams_over_one_connection() {
    let identity = Identity::self_signed(&["localhost"]).unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(identity.certs[0].clone()).unwrap();
    let server = server(identity, "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = server.local_addr().unwrap();
    let stats = Arc::new(Stats::default());
    weft::spawn(serve(server.clone(), Arc::clone(&stats)));

    let client = client(roots, "127.0.0.1:0".parse().unwrap()).unwrap();
    let connection = client.connect(addr, "localhost").unwrap().await.unwrap();
    // All at once, each from its own task.
    let mut set = weft::task::JoinSet::new();
    for i in 0..100 {
        let connection = connection.clone();
        set.spawn(async move {
            let sent = message(i);
            let back = echo(&connection, &sent).await.unwrap();
            assert!(
                back == sent,
                "stream {i}: {} bytes back for {} sent",
                back.len(),
                sent.len()
            );
            assert!(tokio::runtime::Handle::try_current().is_err());
        });
    }
    while let Some(done) = set.join_next().await {
        done.unwrap();
    }
    connection.close(0u32.into(), b"done");
    client.wait_idle().await;
    assert_eq!(stats.connections.load(Relaxed), 1);
    // The server counts a stream once its echo is finished, which may be a
    // moment after the client has read it.
    while stats.streams.load(Relaxed) < 100 {
        weft::task::yield_now().await;
    }
    assert_eq!(stats.streams.load(Relaxed), 100);
    assert_eq!(stats.streams_on_tokio.load(Relaxed), 0);
    server.close(0u32.into(), b"bye");
    server.wait_idle().await;
}

#[weft::test]
async fn a_hundred_bidirectional_streams_echo_byte_exact_over_one_connection() {
    bounded("100 QUIC streams", hundred_streams_over_one_connection()).await;
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_on_the_multi_thread_runtime() {
    bounded("100 QUIC streams", hundred_streams_over_one_connection()).await;
}

#[weft::test]
async fn a_client_that_does_not_trust_the_certificate_fails_to_connect() {
    bounded("an untrusted QUIC server", async {
        let server = server(
            Identity::self_signed(&["localhost"]).unwrap(),
            "127.0.0.1:0".parse().unwrap(),
        )
        .unwrap();
        let addr = server.local_addr().unwrap();
        weft::spawn(serve(server.clone(), Arc::default()));
        let mut roots = RootCertStore::empty();
        roots
            .add(Identity::self_signed(&["localhost"]).unwrap().certs[0].clone())
            .unwrap();
        let client = client(roots, "127.0.0.1:0".parse().unwrap()).unwrap();
        let error = client
            .connect(addr, "localhost")
            .unwrap()
            .await
            .unwrap_err();
        assert!(format!("{error}").contains("certificate"), "{error}");
    })
    .await;
}

#[test]
fn an_endpoint_made_outside_the_runtime_runs_on_it() {
    let rt = weft::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    // quinn calls the runtime from this thread, which is in no runtime: its
    // driver task and socket registration go to `rt` through the handle.
    let identity = Identity::self_signed(&["localhost"]).unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(identity.certs[0].clone()).unwrap();
    let config = quinn::ServerConfig::with_single_cert(identity.certs, identity.key).unwrap();
    let server = quinn::Endpoint::new(
        quinn::EndpointConfig::default(),
        Some(config),
        std::net::UdpSocket::bind("127.0.0.1:0").unwrap(),
        Arc::new(weft::quinn_rt::WeftRuntime::with_handle(
            rt.handle().clone(),
        )),
    )
    .unwrap();
    let addr = server.local_addr().unwrap();
    rt.block_on(bounded("a handshake and an echo", async move {
        weft::spawn(serve(server.clone(), Arc::default()));
        let client = client(roots, "127.0.0.1:0".parse().unwrap()).unwrap();
        let connection = client.connect(addr, "localhost").unwrap().await.unwrap();
        assert_eq!(
            echo(&connection, b"made outside").await.unwrap(),
            b"made outside"
        );
        connection.close(0u32.into(), b"");
        server.close(0u32.into(), b"");
        server.wait_idle().await;
    }));
}
