//! `#[weft::test]` and `#[weft::main]`-style entry points.

use std::time::Duration;

#[weft::test]
async fn test_macro_runs_on_a_runtime() {
    assert!(weft::runtime::Handle::try_current().is_ok());
    weft::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(weft::spawn(async { 5 }).await.unwrap(), 5);
}

#[weft::test]
async fn test_macro_supports_results() -> std::io::Result<()> {
    let listener = weft::net::TcpListener::bind("127.0.0.1:0").await?;
    listener.local_addr()?;
    Ok(())
}

#[weft::test(flavor = "current_thread")]
#[should_panic(expected = "inside the test")]
async fn test_macro_keeps_should_panic() {
    panic!("inside the test");
}

#[weft::test(crate = "weft")]
async fn test_macro_accepts_a_crate_path() {
    weft::task::yield_now().await;
}

#[weft::test(name = "a valid runtime name")]
async fn the_name_argument_names_the_runtime() {
    // tokio's `test_macro_should_handle_the_name_if_provided`.
    let handle = weft::runtime::Handle::current();
    assert_eq!(handle.name(), Some("a valid runtime name"));
}
