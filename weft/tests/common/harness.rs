//! For tests converted from tokio's: [`bounded`], `#[tokio::test]` with a
//! time bound. Included with `#[path = "common/harness.rs"] mod harness;`
//! next to `mod common;`.
#![allow(dead_code)]

use std::future::Future;

/// Runs the future `make` returns on a current-thread runtime, failing the
/// test if it has not finished within 30 s (`common::within`): what
/// `#[weft::test]` does, bounded in time.
pub fn bounded<F>(make: impl FnOnce() -> F + Send + 'static)
where
    F: Future,
    F::Output: Send + 'static,
{
    crate::common::within(30, move || crate::common::rt().block_on(make()));
}
