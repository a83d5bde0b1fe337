//! The tokio bridge (`weft::tokio_bridge`): reqwest, which hard-wires
//! tokio, called from weft tasks against `hello_http`'s server on weft.
//! The bridge's is the one tokio runtime in this process; the server and
//! the calling tasks run on weft.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use examples::hello::{Protocol, Stats, HELLO};
use weft::io::AsyncReadExt;
use weft::net::TcpListener;
use weft::tokio_bridge::Bridge;

/// Bounds a test: a hang fails it instead of stalling the suite. A
/// watchdog, not a timing check.
async fn bounded<F: std::future::Future>(what: &str, future: F) -> F::Output {
    weft::time::timeout(Duration::from_secs(300), future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within 300 s"))
}

#[weft::test]
async fn reqwest_through_the_bridge_gets_hello_http_s_page() {
    bounded("reqwest calls", async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let stats = Arc::new(Stats::default());
        weft::spawn(examples::hello::serve(
            listener,
            Protocol::Http1,
            Arc::clone(&stats),
        ));

        let bridge = Bridge::start().unwrap();
        let client = reqwest::Client::new();
        for _ in 0..100 {
            let (client, url) = (client.clone(), url.clone());
            let (status, body) = bridge
                .run(async move {
                    let response = client.get(url).send().await?;
                    let status = response.status();
                    Ok::<_, reqwest::Error>((status, response.bytes().await?))
                })
                .await
                .unwrap()
                .unwrap();
            assert_eq!(status, 200);
            assert_eq!(body, HELLO);
            // The weft task that awaited it is not in a tokio context.
            assert!(tokio::runtime::Handle::try_current().is_err());
        }
        // reqwest's pool kept its connection; the server ran on weft.
        assert_eq!(stats.accepted.load(Relaxed), 1);
        assert_eq!(stats.requests.load(Relaxed), 100);
        assert_eq!(stats.requests_on_tokio.load(Relaxed), 0);
    })
    .await;
}

#[weft::test]
async fn dropping_a_bridged_call_cancels_it_on_the_tokio_side() {
    bounded("a cancelled reqwest call", async {
        // A server that takes the connection and never answers.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let bridge = Bridge::start().unwrap();
        let call = bridge.run(async move { reqwest::get(url).await.map(drop) });
        let (mut accepted, _) = listener.accept().await.unwrap();
        // The request arrives; the weft side gives up on the call.
        let mut first = [0u8; 1];
        accepted.read_exact(&mut first).await.unwrap();
        drop(call);
        // Aborting the tokio task dropped reqwest's connection: the server
        // reads to the end of the stream.
        let mut rest = Vec::new();
        accepted.read_to_end(&mut rest).await.unwrap();
        assert!(
            rest.starts_with(b"GET / HTTP/1.1"[1..].as_ref()),
            "{rest:?}"
        );
    })
    .await;
}

#[weft::test]
async fn a_panic_on_the_bridge_comes_back_as_a_join_error() {
    bounded("a panicking bridged call", async {
        let bridge = Bridge::start().unwrap();
        let error = bridge
            .run(async { panic!("boom on the bridge") })
            .await
            .unwrap_err();
        assert!(error.is_panic());
        let payload = error.into_panic();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom on the bridge"));
        // The bridge goes on working.
        assert_eq!(bridge.run(async { 7 }).await.unwrap(), 7);
    })
    .await;
}

#[test]
fn dropping_the_last_bridge_inside_a_weft_task_does_not_block_or_panic() {
    let rt = weft::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let bridge = Bridge::start().unwrap();
        let pending = bridge.run(std::future::pending::<()>());
        drop(bridge);
        // The runtime shut down; the future still on it was dropped.
        let error = pending.await.unwrap_err();
        assert!(error.is_cancelled());
    });
}
