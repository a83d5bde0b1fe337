//! `join!`: wait on several futures at once, for all of their outputs. The
//! expansion is `weft-macros`' `join_internal!`.

/// Waits on several async expressions at once on the current task and
/// returns all of their outputs, as a tuple in the order written. tokio's
/// `join!`, with the same syntax and semantics.
///
/// Must be used inside an `async` function, block or closure. The operands
/// are comma-separated (a trailing comma is fine), anything implementing
/// `IntoFuture`; `join!()` is `()`. They run concurrently on the current
/// task, not in parallel: spawn work that must run in parallel and join its
/// `JoinHandle`s. The futures are pinned on the stack (no allocation).
///
/// Each time the joined future is polled, it polls every future that has
/// not finished yet once, starting one further along the list each time
/// (the first poll starts at the first future, the next at the second, and
/// so on, wrapping around), so that a future that uses up the task's
/// cooperative budget does not keep the others from running. With `biased;`
/// before the operands, every poll starts at the first future instead.
///
/// `join!` waits for every future even if one fails; [`try_join!`](crate::try_join!)
/// returns at the first `Err`.
///
/// # Examples
///
/// ```
/// async fn fetch_user() -> &'static str {
///     "ada"
/// }
///
/// async fn fetch_count() -> u32 {
///     weft::task::yield_now().await;
///     3
/// }
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() {
///     let (user, count) = weft::join!(fetch_user(), fetch_count());
///     assert_eq!((user, count), ("ada", 3));
///
///     let (a, b) = weft::join!(biased; async { 1 }, async { 2 },);
///     assert_eq!(a + b, 3);
/// }
/// ```
///
/// An operand that is not a future is a compile error:
///
/// ```compile_fail
/// # async fn demo() {
/// let (x,) = weft::join!(5); // error: `{integer}` is not a future
/// # }
/// ```
#[macro_export]
macro_rules! join {
    ($($input:tt)*) => {
        $crate::macros::support::join_internal! { { $crate } $($input)* }
    };
}
