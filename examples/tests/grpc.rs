//! gRPC on weft: tonic's generated greeter (`grpc_greeter`) through hyper,
//! both ends, with no tokio runtime in the process.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use examples::grpc::proto::HelloRequest;
use examples::grpc::{connect, serve, Stats, MAX_STREAM};
use weft::net::TcpListener;

/// Bounds a test: a hang fails it instead of stalling the suite. A
/// watchdog, not a timing check.
async fn bounded<F: std::future::Future>(what: &str, future: F) -> F::Output {
    weft::time::timeout(Duration::from_secs(300), future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within 300 s"))
}

async fn greeter() -> (hyper::Uri, Arc<Stats>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    let stats = Arc::new(Stats::default());
    weft::spawn(serve(listener, Arc::clone(&stats)));
    (origin, stats)
}

fn request(name: &str, count: u32) -> HelloRequest {
    HelloRequest {
        name: name.into(),
        count,
    }
}

async fn thousand_unary_calls_and_a_stream() {
    let (origin, stats) = greeter().await;
    let client = connect(origin);
    // 1,000 unary calls, 50 in flight at a time, over the one HTTP/2
    // connection.
    let mut set = weft::task::JoinSet::new();
    for i in 0..1000 {
        if set.len() == 50 {
            set.join_next().await.unwrap().unwrap();
        }
        let mut client = client.clone();
        set.spawn(async move {
            let name = format!("caller {i}");
            let reply = client.say_hello(request(&name, 0)).await.unwrap();
            assert_eq!(reply.into_inner().message, format!("Hello {name}!"));
            assert!(tokio::runtime::Handle::try_current().is_err());
        });
    }
    while let Some(done) = set.join_next().await {
        done.unwrap();
    }
    // One server-streaming call: every reply, in order, then the end.
    let mut stream = client
        .clone()
        .say_hello_stream(request("stream", 500))
        .await
        .unwrap()
        .into_inner();
    let mut got = 0;
    while let Some(reply) = stream.message().await.unwrap() {
        got += 1;
        assert_eq!(reply.message, format!("Hello stream, {got} of 500!"));
    }
    assert_eq!(got, 500);
    assert_eq!(stats.calls.load(Relaxed), 1001);
    assert_eq!(stats.calls_on_tokio.load(Relaxed), 0);
    // The pool kept one HTTP/2 connection for all of it (the first calls
    // may race to open one each, as on tokio: at most the first batch).
    let opened = stats.accepted.load(Relaxed);
    assert!((1..=50).contains(&opened), "{opened} connections");
}

#[weft::test]
async fn a_thousand_unary_calls_and_a_server_streaming_call() {
    bounded("1,000 gRPC calls", thousand_unary_calls_and_a_stream()).await;
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_on_the_multi_thread_runtime() {
    bounded("1,000 gRPC calls", thousand_unary_calls_and_a_stream()).await;
}

#[weft::test]
async fn errors_come_back_as_statuses() {
    bounded("gRPC errors", async {
        let (origin, _) = greeter().await;
        let mut client = connect(origin);
        let status = client
            .say_hello_stream(request("greedy", MAX_STREAM + 1))
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().contains("over the limit"), "{status}");
        // Nothing listens: the call fails with `Unavailable`, not a panic
        // or a hang.
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", closed.local_addr().unwrap())
            .parse()
            .unwrap();
        drop(closed);
        let status = connect(origin)
            .say_hello(request("nobody", 0))
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status}");
    })
    .await;
}

#[weft::test]
async fn a_client_that_drops_a_stream_stops_the_server_producing() {
    bounded("a dropped stream", async {
        let (origin, stats) = greeter().await;
        let mut client = connect(origin);
        let mut stream = client
            .say_hello_stream(request("quitter", MAX_STREAM))
            .await
            .unwrap()
            .into_inner();
        assert!(stream.message().await.unwrap().is_some());
        drop(stream);
        // The stream is reset; the server drops its end, and the producer,
        // held back by the bounded channel and HTTP/2 flow control, ends
        // long before its 100,000 replies.
        while stats.streams_ended.load(Relaxed) == 0 {
            weft::task::yield_now().await;
        }
        let streamed = stats.streamed.load(Relaxed);
        assert!(streamed < MAX_STREAM as usize, "{streamed} replies made");
        // The connection still serves new calls.
        let reply = client.say_hello(request("after", 0)).await.unwrap();
        assert_eq!(reply.into_inner().message, "Hello after!");
        assert_eq!(stats.calls.load(Relaxed), 2);
    })
    .await;
}
