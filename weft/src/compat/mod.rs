//! The top layer: weft's types under other ecosystems' traits, with no
//! runtime of theirs.
//!
//! * `hyper_rt` (feature `hyper`, public as [`crate::hyper_rt`]): hyper
//!   1.x's executor, timer and I/O traits; with `hyper-client`, also
//!   hyper-util's pooled client's connector (`hyper_client`).
//! * `quinn_rt` (feature `quinn`, public as [`crate::quinn_rt`]): quinn's
//!   `Runtime`, for QUIC endpoints.
//! * `tokio_bridge` (feature `tokio-bridge`, public as
//!   [`crate::tokio_bridge`]): a tokio runtime on a thread of its own, for
//!   crates that hard-wire tokio.
//! * `tokio_io` (feature `tokio-io`): tokio's `AsyncRead`/`AsyncWrite`/
//!   `AsyncSeek` on weft's streams, pipes and files.

#[cfg(feature = "hyper-client")]
mod hyper_client;
#[cfg(feature = "hyper")]
pub mod hyper_rt;
#[cfg(feature = "quinn")]
pub mod quinn_rt;
#[cfg(feature = "tokio-bridge")]
pub mod tokio_bridge;
#[cfg(feature = "tokio-io")]
mod tokio_io;
