//! `try_join!`: wait on several fallible futures at once, for all of their
//! values or the first error. The expansion is `weft-macros`'
//! `try_join_internal!`.

/// Waits on several async expressions returning `Result` at once on the
/// current task: `Ok` with all of their values, as a tuple in the order
/// written, once every one succeeded, or the **first** `Err` as soon as one
/// fails (the other futures are then dropped). tokio's `try_join!`, with the
/// same syntax and semantics.
///
/// Must be used inside an `async` function, block or closure. The operands
/// are comma-separated (a trailing comma is fine), anything implementing
/// `IntoFuture` whose output is a `Result`, all with the same error type;
/// `try_join!()` is `Ok(())`. They are polled as [`join!`](crate::join!) polls them: every
/// unfinished future once per poll, starting one further along each time,
/// or always from the first with `biased;`.
///
/// # Examples
///
/// ```
/// async fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
///     text.parse()
/// }
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() {
///     let sum = weft::try_join!(parse("1"), parse("2"))
///         .map(|(a, b)| a + b);
///     assert_eq!(sum, Ok(3));
///
///     // The first error wins; the slow future is dropped unfinished.
///     let slow = async {
///         weft::time::sleep(std::time::Duration::from_secs(60)).await;
///         parse("3").await
///     };
///     let failed = weft::try_join!(biased; parse("x"), slow);
///     assert!(failed.is_err());
/// }
/// ```
///
/// An operand whose output is not a `Result` is a compile error:
///
/// ```compile_fail
/// # async fn demo() {
/// // error: mismatched types: expected `Option<&mut Result<_, _>>`
/// let _ = weft::try_join!(async { 1 });
/// # }
/// ```
#[macro_export]
macro_rules! try_join {
    ($($input:tt)*) => {
        $crate::macros::support::try_join_internal! { { $crate } $($input)* }
    };
}
