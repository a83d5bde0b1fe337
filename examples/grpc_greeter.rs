//! gRPC on weft: tonic's generated greeter served through hyper's HTTP/2,
//! and called through hyper-util's pooled client, with no tokio runtime.
//!
//! ```text
//! cargo run --release -p examples --example grpc_greeter -- server 127.0.0.1:50051
//! cargo run --release -p examples --example grpc_greeter -- client http://127.0.0.1:50051 weft
//! cargo run --release -p examples --example grpc_greeter        # both, in one process
//! ```
//!
//! The code is generated at build time from `proto/helloworld.proto` with a
//! vendored `protoc` (see `build.rs`): nothing beyond cargo is needed.

use std::sync::Arc;

use examples::grpc::proto::HelloRequest;
use examples::grpc::{connect, serve, Stats};

const USAGE: &str =
    "usage: grpc_greeter server [ADDR] | grpc_greeter client [URL] [NAME] | grpc_greeter";

type Error = Box<dyn std::error::Error>;

async fn run_client(origin: hyper::Uri, name: &str) -> Result<(), Error> {
    let mut client = connect(origin);
    let reply = client
        .say_hello(HelloRequest {
            name: name.into(),
            count: 0,
        })
        .await?;
    println!("{}", reply.into_inner().message);
    let mut stream = client
        .say_hello_stream(HelloRequest {
            name: name.into(),
            count: 3,
        })
        .await?
        .into_inner();
    while let Some(reply) = stream.message().await? {
        println!("{}", reply.message);
    }
    Ok(())
}

#[weft::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("server") => {
            let addr = args.get(1).map_or("127.0.0.1:50051", String::as_str);
            let listener = weft::net::TcpListener::bind(addr).await?;
            println!("grpc_greeter: serving on http://{}", listener.local_addr()?);
            serve(listener, Arc::default()).await?;
            Ok(())
        }
        Some("client") => {
            let origin = args
                .get(1)
                .map_or("http://127.0.0.1:50051", String::as_str)
                .parse()?;
            run_client(origin, args.get(2).map_or("weft", String::as_str)).await
        }
        None => {
            let listener = weft::net::TcpListener::bind("127.0.0.1:0").await?;
            let origin = format!("http://{}", listener.local_addr()?).parse()?;
            weft::spawn(serve(listener, Arc::<Stats>::default()));
            run_client(origin, "weft").await
        }
        Some(_) => Err(USAGE.into()),
    }
}
