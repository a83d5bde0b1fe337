//! Runnable weft examples live beside this crate as `[[example]]` targets;
//! the servers they run are here, so tests can drive them.

pub mod axum_app;
pub mod chat;
pub mod coro_http;
pub mod echo;
pub mod graceful;
pub mod grpc;
pub mod hello;
pub mod https;
pub mod quic;
pub mod tls;
