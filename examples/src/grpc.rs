//! `grpc_greeter`'s two ends: tonic's generated server served through
//! hyper's HTTP/2 on weft, and tonic's generated client over hyper-util's
//! pooled client on weft (`WeftConnector`). tonic runs without its
//! `transport` feature, which hard-wires tokio; what that feature's
//! `Server::builder().add_service(..).serve(addr)` and `Channel` did is
//! [`serve`] and [`connect`] here.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use hyper_util::client::legacy::Client;
use hyper_util::service::TowerToHyperService;
use tonic::{Request, Response, Status};
use weft::hyper_rt::{WeftConnector, WeftExecutor, WeftTimer};
use weft::net::TcpListener;

/// The code tonic-prost-build generated from `proto/helloworld.proto`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("helloworld");
}

use proto::greeter_client::GreeterClient;
use proto::greeter_server::{Greeter, GreeterServer};
use proto::{HelloReply, HelloRequest};

/// The most replies one streaming call may ask for.
pub const MAX_STREAM: u32 = 100_000;

/// What the server saw, for tests and logs.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub accepted: AtomicUsize,
    /// Calls answered (a streaming call counts once).
    pub calls: AtomicUsize,
    /// Calls answered on a thread where a tokio runtime was current: 0 on
    /// weft.
    pub calls_on_tokio: AtomicUsize,
    /// Replies the streaming calls' producers handed over.
    pub streamed: AtomicUsize,
    /// Streaming calls whose producer has ended (all sent, or the client
    /// went away).
    pub streams_ended: AtomicUsize,
}

/// Counts a producer's end however it ends.
struct Ended(Arc<Stats>);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.streams_ended.fetch_add(1, Relaxed);
    }
}

/// The greeter service.
#[derive(Debug, Default)]
pub struct MyGreeter {
    stats: Arc<Stats>,
}

impl MyGreeter {
    fn count(&self) {
        self.stats.calls.fetch_add(1, Relaxed);
        if tokio::runtime::Handle::try_current().is_ok() {
            self.stats.calls_on_tokio.fetch_add(1, Relaxed);
        }
    }
}

/// The server side of a streaming call: replies come through a bounded
/// channel from a weft task, so a slow reader holds the producer back.
type ReplyStream = Pin<Box<dyn futures_core::Stream<Item = Result<HelloReply, Status>> + Send>>;

#[tonic::async_trait]
impl Greeter for MyGreeter {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        self.count();
        Ok(Response::new(HelloReply {
            message: format!("Hello {}!", request.into_inner().name),
        }))
    }

    type SayHelloStreamStream = ReplyStream;

    async fn say_hello_stream(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<ReplyStream>, Status> {
        self.count();
        let HelloRequest { name, count } = request.into_inner();
        if count > MAX_STREAM {
            return Err(Status::invalid_argument(format!(
                "count {count} is over the limit of {MAX_STREAM}"
            )));
        }
        let (tx, rx) = async_channel::bounded(16);
        let ended = Ended(Arc::clone(&self.stats));
        weft::spawn(async move {
            let stats = &ended.0;
            for i in 1..=count {
                let reply = HelloReply {
                    message: format!("Hello {name}, {i} of {count}!"),
                };
                // The client went away: stop producing.
                if tx.send(Ok(reply)).await.is_err() {
                    return;
                }
                stats.streamed.fetch_add(1, Relaxed);
            }
        });
        Ok(Response::new(Box::pin(rx)))
    }
}

/// Serves the greeter on every connection `listener` accepts (HTTP/2, as
/// gRPC requires), until accepting fails (only for errors weft's accept
/// cannot recover from).
pub async fn serve(listener: TcpListener, stats: Arc<Stats>) -> io::Result<()> {
    let service = GreeterServer::new(MyGreeter {
        stats: Arc::clone(&stats),
    });
    loop {
        let (stream, _) = listener.accept().await?;
        stats.accepted.fetch_add(1, Relaxed);
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(service.clone());
        weft::spawn(async move {
            let _ = hyper::server::conn::http2::Builder::new(WeftExecutor)
                .timer(WeftTimer)
                .serve_connection(stream, service)
                .await;
        });
    }
}

/// The channel a generated client calls through: hyper-util's pooled
/// client, HTTP/2 only, on weft. As tonic's transport `Channel` does, a
/// connection that cannot be made fails the call with `Unavailable`; other
/// errors go to tonic as they are (an HTTP/2 reset keeps its code).
#[derive(Clone, Debug)]
pub struct Channel {
    client: Client<WeftConnector, tonic::body::Body>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn status_of(error: hyper_util::client::legacy::Error) -> BoxError {
    if !error.is_connect() {
        return Box::new(error);
    }
    // The message names the cause ("... tcp connect to 127.0.0.1:50051:
    // Connection refused"), as the error's chain does.
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    let mut status = Status::unavailable(message);
    status.set_source(Arc::new(error));
    Box::new(status)
}

impl tower_service::Service<hyper::Request<tonic::body::Body>> for Channel {
    type Response = hyper::Response<hyper::body::Incoming>;
    type Error = BoxError;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), BoxError>> {
        tower_service::Service::poll_ready(&mut self.client, cx).map_err(status_of)
    }

    fn call(&mut self, request: hyper::Request<tonic::body::Body>) -> Self::Future {
        let response = self.client.request(request);
        Box::pin(async move { response.await.map_err(status_of) })
    }
}

/// A greeter client for the server at `origin` (`http://host:port`). It
/// connects on its first call, and again after a connection is lost.
pub fn connect(origin: hyper::Uri) -> GreeterClient<Channel> {
    let client = weft::hyper_rt::client_builder()
        .http2_only(true)
        .build(WeftConnector::new());
    GreeterClient::with_origin(Channel { client }, origin)
}
