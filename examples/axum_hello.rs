//! An axum app on weft (no tokio runtime).
//!
//! ```text
//! cargo run --release -p examples --example axum_hello
//! curl http://127.0.0.1:3001/add/2/40
//! ```

#[weft::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3001".to_string());
    let listener = weft::net::TcpListener::bind(addr.as_str()).await?;
    println!(
        "axum_hello: listening on http://{}/",
        listener.local_addr()?
    );
    examples::axum_app::serve(listener, examples::axum_app::router()).await
}
