//! An axum `Router` (axum's `tokio` feature off) served over weft
//! `TcpStream`s through hyper's connection API.

use axum::routing::get;
use axum::Router;
use hyper_util::service::TowerToHyperService;
use weft::net::TcpListener;

/// The example's routes: `/` greets, `/add/{a}/{b}` adds.
pub fn router() -> Router {
    Router::new()
        .route("/", get(|| async { "Hello from axum on weft!\n" }))
        .route(
            "/add/{a}/{b}",
            get(
                |axum::extract::Path((a, b)): axum::extract::Path<(i64, i64)>| async move {
                    format!("{}\n", a + b)
                },
            ),
        )
}

/// Serves `router` on `listener`, one hyper HTTP/1.1 connection per task.
pub async fn serve(listener: TcpListener, router: Router) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(router.clone());
        weft::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(weft::hyper_rt::WeftTimer)
                .serve_connection(stream, service)
                .await;
        });
    }
}
