//! `select!`: wait on several futures at once, run the handler of the first
//! to finish. The expansion is `weft-macros`' `select_internal!`.

/// Waits on several async expressions at once on the current task and runs
/// the handler of the **first** one to complete, dropping (cancelling) the
/// others. tokio's `select!`, with the same syntax and semantics.
///
/// Must be used inside an `async` function, block or closure. Each branch is
///
/// ```text
/// <pattern> = <async expression> (, if <precondition>)? => <handler>,
/// ```
///
/// and a single optional `else => <expression>` may come last.
///
/// # What happens, step by step
///
/// 1. Every `if` precondition is evaluated; a branch whose precondition is
///    `false` is *disabled* for this `select!`.
/// 2. Every `<async expression>` is evaluated — those of disabled branches
///    too, but their futures are never polled. Anything implementing
///    `IntoFuture` is accepted. The futures are pinned on the stack (no
///    allocation), so `!Unpin` futures work as they are.
/// 3. If every branch is disabled, go to step 6.
/// 4. The enabled futures are polled, on the current task (concurrently,
///    not in parallel: spawn work that must run in parallel and select on
///    its `JoinHandle`).
/// 5. When a future completes, its output is matched against the branch's
///    `<pattern>`. On a match, the other futures are dropped and the
///    `<handler>` runs with the pattern's bindings; its value is the value
///    of the `select!`. On a mismatch the branch is disabled and the others
///    are waited on: go to step 3.
/// 6. The `else` expression is evaluated; without one, `select!` panics
///    with "all branches are disabled and there is no else branch".
///
/// Handlers run in the enclosing async context, after the futures have
/// been dropped: they may use `?`, `return`, `break`, `continue` and
/// `.await`, and borrow what the futures borrowed.
///
/// # Fairness and `biased;`
///
/// By default each poll starts from a randomly chosen branch (a cheap
/// thread-local generator), so a branch that is always ready cannot starve
/// the others in a loop. Writing `biased;` first polls the branches in the
/// order written instead: cheaper, and useful when order matters (a
/// shutdown signal before a busy stream), but starvation is then yours to
/// avoid.
///
/// # Cooperative budget
///
/// Like tokio's, `select!` checks once per poll that the task has budget
/// left, and yields when it has none (it spends none itself), so a loop
/// whose branches are always ready still lets the other tasks, timers and
/// I/O of the thread run.
///
/// # Cancellation safety
///
/// The losing futures are dropped. In a loop, use operations that lose
/// nothing when dropped before completing — reading into a buffer with
/// `AsyncReadExt::read`, `write`, `TcpListener::accept`, a stream's
/// `next()`, a channel's `recv()` — rather than `read_exact`,
/// `read_to_end` or `write_all`, whose partial progress is lost. Or pin a
/// future outside the loop and select on `&mut future`, so that it is
/// resumed, not restarted.
///
/// # Limits
///
/// Up to 64 branches. Misuse is a compile error that names the mistake:
///
/// ```compile_fail
/// # async fn demo() {
/// weft::select! {} // error: select! requires at least one branch.
/// # }
/// ```
///
/// ```compile_fail
/// # async fn demo() {
/// // error: expected `<pattern> =` before the async expression (use `_ =` ...)
/// weft::select! {
///     async { 1 } => {}
/// }
/// # }
/// ```
///
/// ```compile_fail
/// # async fn demo() {
/// // error: the `else` branch must be the last branch of `select!`
/// weft::select! {
///     else => {}
///     _ = async { 1 } => {}
/// }
/// # }
/// ```
///
/// ```compile_fail
/// # async fn demo() {
/// // error: expected `,` after the handler: a handler that is not a block
/// // is followed by a comma unless it is the last branch
/// weft::select! {
///     a = async { 1 } => a
///     b = async { 2 } => b
/// };
/// # }
/// ```
///
/// # Examples
///
/// The first of two futures to finish wins:
///
/// ```
/// use std::time::Duration;
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() {
///     let winner = weft::select! {
///         _ = weft::time::sleep(Duration::from_secs(60)) => "timer",
///         value = async { 7 } => if value == 7 { "value" } else { "other" },
///     };
///     assert_eq!(winner, "value");
/// }
/// ```
///
/// A loop over two streams until both are exhausted: a branch whose output
/// does not match its pattern (`None`) is disabled, and `else` runs once
/// every branch is.
///
/// ```
/// use futures_util::{stream, StreamExt};
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() {
///     let mut odds = stream::iter([1, 3, 5]);
///     let mut evens = stream::iter([2, 4]);
///     let mut all = Vec::new();
///     loop {
///         weft::select! {
///             Some(n) = odds.next() => all.push(n),
///             Some(n) = evens.next() => all.push(n),
///             else => break,
///         }
///     }
///     all.sort();
///     assert_eq!(all, [1, 2, 3, 4, 5]);
/// }
/// ```
///
/// Futures pinned outside the loop and resumed by reference, each
/// disabled by its precondition once it has given its value (polling a
/// finished `async` block again would panic):
///
/// ```
/// #[weft::main(flavor = "current_thread")]
/// async fn main() {
///     let first = async { 1 };
///     let second = async {
///         weft::task::yield_now().await;
///         2
///     };
///     weft::pin!(first, second);
///     let (mut a, mut b) = (None, None);
///     while a.is_none() || b.is_none() {
///         weft::select! {
///             v = &mut first, if a.is_none() => a = Some(v),
///             v = &mut second, if b.is_none() => b = Some(v),
///         }
///     }
///     assert_eq!((a, b), (Some(1), Some(2)));
/// }
/// ```
#[macro_export]
macro_rules! select {
    ($($input:tt)*) => {
        $crate::macros::support::select_internal! { { $crate } $($input)* }
    };
}
