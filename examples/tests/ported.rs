//! The ported service: `ported/jobs_tokio.rs`, a job queue written against
//! tokio (mpsc, oneshot, broadcast, watch, Mutex, select!, join!, JoinSet,
//! timeouts, TCP, the paused clock), and `ported/jobs_weft.rs`, the same text
//! with `tokio::` renamed to `weft::` and nothing else. Both are compiled
//! here and their tests run, each on its own runtime: the port is a rename.

#[path = "../ported/jobs_tokio.rs"]
mod jobs_tokio;

#[path = "../ported/jobs_weft.rs"]
mod jobs_weft;

#[test]
fn the_weft_service_is_the_tokio_service_renamed() {
    let tokio_src = include_str!("../ported/jobs_tokio.rs");
    let weft_src = include_str!("../ported/jobs_weft.rs");
    assert!(tokio_src.contains("tokio::select!") && tokio_src.contains("start_paused"));
    assert_eq!(
        weft_src,
        tokio_src.replace("tokio::", "weft::"),
        "ported/jobs_weft.rs must be ported/jobs_tokio.rs with `tokio::` renamed to `weft::` \
         (regenerate it with `sed 's/tokio::/weft::/g'`)"
    );
}
