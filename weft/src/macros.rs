//! weft's function-like macros: `pin!` (tokio's statement form of
//! `std::pin::pin!`, here), `select!`, `join!` and `try_join!` (one file
//! each, expanded by `weft-macros`), and `support`, what their expansions
//! name.

mod join;
mod select;
pub mod support;
mod try_join;

/// Pins values on the stack, as tokio's `pin!`: each named variable is
/// shadowed by a `Pin<&mut T>` to its value, so a `!Unpin` future can be
/// polled by reference (in a `select!` loop, or with `.as_mut()`).
///
/// Two forms, as tokio's: a list of existing variables, or `let`
/// statements whose values are pinned as they are bound. The value stays
/// on the stack of the enclosing block (no allocation), through
/// `std::pin::pin!`.
///
/// ```
/// use std::future::Future;
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() {
///     let sleep = weft::time::sleep(std::time::Duration::from_millis(1));
///     weft::pin!(sleep);
///     // `sleep` is now `Pin<&mut Sleep>`: poll it by reference.
///     (&mut sleep).await;
///     assert!(sleep.is_elapsed());
///
///     weft::pin! {
///         let answer = async { 42 };
///     }
///     assert_eq!(answer.as_mut().await, 42);
/// }
/// ```
#[macro_export]
macro_rules! pin {
    ($($x:ident),* $(,)?) => { $(
        #[allow(unused_mut)]
        let mut $x = ::core::pin::pin!($x);
    )* };
    ($(let $x:ident = $init:expr;)*) => { $(
        let $x = $init;
        $crate::pin!($x);
    )* };
}
