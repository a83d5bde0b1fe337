//! Procedural macros for [weft](https://docs.rs/weft): `#[weft::main]` and
//! `#[weft::test]`, and the expansions behind `weft::select!`,
//! `weft::join!` and `weft::try_join!` (use those through the `weft` crate:
//! its `macro_rules!` wrappers pass the crate's path in).
//!
//! Use them through the re-exports in the `weft` crate (`weft::main` and
//! `weft::test`) rather than depending on this crate directly.
//!
//! Both macros turn an `async fn` into an ordinary fn that builds a weft
//! runtime (multi-thread for `main`, current-thread for tests, as tokio's
//! macros do) and blocks on the original body:
//!
//! ```ignore
//! #[weft::main]
//! async fn main() -> std::io::Result<()> {
//!     let listener = weft::net::TcpListener::bind("127.0.0.1:0").await?;
//!     println!("listening on {}", listener.local_addr()?);
//!     Ok(())
//! }
//! ```
//!
//! expands to (roughly)
//!
//! ```ignore
//! fn main() -> std::io::Result<()> {
//!     async fn main() -> std::io::Result<()> {
//!         let listener = weft::net::TcpListener::bind("127.0.0.1:0").await?;
//!         println!("listening on {}", listener.local_addr()?);
//!         Ok(())
//!     }
//!     ::weft::runtime::Builder::new_multi_thread()
//!         .build()
//!         .expect("failed to build the weft runtime")
//!         .block_on(main())
//! }
//! ```
//!
//! The body stays an `async fn` with the declared return type (nested inside
//! the generated fn), so `?`, a bare `Ok(())` and `return` in the body behave
//! exactly as in any `async fn`, type errors are reported on the body as
//! usual, and any return type works, `impl Trait` and `!` included.
//!
//! `#[weft::test]` does the same and adds `#[test]`; other attributes such as
//! `#[should_panic]` or `#[ignore]` are kept when written after it:
//!
//! ```ignore
//! #[weft::test]
//! #[should_panic(expected = "boom")]
//! async fn panics_inside_the_runtime() {
//!     weft::time::sleep(std::time::Duration::from_millis(1)).await;
//!     panic!("boom");
//! }
//! ```
//!
//! # Arguments
//!
//! Both macros accept the same optional arguments:
//!
//! - `flavor = "multi_thread"` or `flavor = "current_thread"`: the runtime
//!   flavor; `main` defaults to multi-thread, `test` to current-thread.
//! - `worker_threads = N`: worker threads of a multi-thread runtime (default:
//!   one per CPU); an error with the current-thread flavor.
//! - `name = "..."`: the runtime's name (`Builder::name`, read back with
//!   `Handle::name`); it must not be empty.
//! - `start_paused = true`: the runtime's clock starts paused
//!   (`Builder::start_paused`, see `weft::time::pause`), on either flavor
//!   (tokio's allows only current-thread). Needs weft's `test-util` feature;
//!   without it the argument is a compile error saying so.
//! - `crate = "path::to::weft"`: the path of the weft crate, for when it has
//!   been renamed or re-exported (default `::weft`).
//!
//! ```ignore
//! #[weft::main(flavor = "current_thread", crate = "my_runtime::weft")]
//! async fn main() {}
//! ```
//!
//! # Errors
//!
//! Misuse is reported as a compile error pointing at the offending tokens:
//!
//! ```text
//! #[weft::main] fn main() {}
//!   -> the `async` keyword is missing from the function declaration
//! #[weft::main] async fn main(x: u32) {}
//!   -> the main function cannot accept arguments
//! #[weft::test] async fn t(x: u32) {}
//!   -> the test function cannot accept arguments
//! #[weft::main(flavor = "current_thread", worker_threads = 4)] async fn main() {}
//!   -> `worker_threads` only applies to `flavor = "multi_thread"`, ...
//! #[weft::main(flavor = "parallel")] async fn main() {}
//!   -> unknown runtime flavor `parallel`; the flavors are ...
//! #[weft::main(foo = 1)] async fn main() {}
//!   -> unknown argument `foo` to `#[weft::main]`; the accepted arguments are ...
//! #[weft::test] #[test] async fn t() {}
//!   -> a second test attribute is supplied; ...
//! ```
//!
//! Alongside the error the macro still emits the function (expanded with the
//! default settings where possible), so the error is not followed by a cascade
//! of "`main` function not found" or unresolved-name errors.
#![warn(missing_docs)]

extern crate proc_macro;

mod entry;
mod join;
mod pinned;
mod select;

use proc_macro::TokenStream;

/// Marks an `async fn` as the program's entry point, run on a weft runtime.
///
/// The function keeps its name, visibility, attributes and return type; its
/// body runs inside `block_on` on a freshly built multi-thread runtime (one
/// worker per CPU unless `worker_threads` says otherwise). Any return type
/// works, so `?` can be used when `main` returns a `Result`.
///
/// ```ignore
/// #[weft::main]
/// async fn main() -> std::io::Result<()> {
///     weft::time::sleep(std::time::Duration::from_millis(10)).await;
///     Ok(())
/// }
/// ```
///
/// Arguments: `flavor = "multi_thread"` (the default) or
/// `flavor = "current_thread"`, `worker_threads = N`, `name = "..."`,
/// `start_paused = true` (weft's `test-util` feature) and
/// `crate = "path::to::weft"`. The function must be `async` and take no
/// arguments; see the [crate documentation](crate) for the errors.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(entry::Kind::Main, args.into(), item.into()).into()
}

/// Marks an `async fn` as a test, run on its own weft runtime.
///
/// Expands to a `#[test]` fn whose body runs inside `block_on` on a freshly
/// built current-thread runtime. Attributes written after `#[weft::test]`
/// (`#[should_panic]`, `#[ignore]`, ...) are kept; the test may return a
/// `Result` like any other test.
///
/// ```ignore
/// #[weft::test]
/// async fn sleeps() {
///     weft::time::sleep(std::time::Duration::from_millis(1)).await;
/// }
/// ```
///
/// Arguments: `flavor = "current_thread"` (the default) or
/// `flavor = "multi_thread"`, `worker_threads = N` (multi-thread only),
/// `name = "..."`, `start_paused = true` (weft's `test-util` feature) and
/// `crate = "path::to::weft"`. The function must be `async` and take no
/// arguments, and must not also carry a `#[test]` attribute; see the
/// [crate documentation](crate) for the errors.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(entry::Kind::Test, args.into(), item.into()).into()
}

/// The expansion of `weft::select!`; its input starts with the weft
/// crate's path in braces. Use `weft::select!` instead.
#[doc(hidden)]
#[proc_macro]
pub fn select_internal(input: TokenStream) -> TokenStream {
    select::expand(input.into()).into()
}

/// The expansion of `weft::join!`; use that instead.
#[doc(hidden)]
#[proc_macro]
pub fn join_internal(input: TokenStream) -> TokenStream {
    join::expand(join::Kind::Join, input.into()).into()
}

/// The expansion of `weft::try_join!`; use that instead.
#[doc(hidden)]
#[proc_macro]
pub fn try_join_internal(input: TokenStream) -> TokenStream {
    join::expand(join::Kind::TryJoin, input.into()).into()
}

/// Splits `{ <path of the weft crate> } <rest>` (as the `weft` wrappers
/// forward it, with `$crate` inside the braces) into the path and the rest.
fn split_crate_path(
    input: proc_macro2::TokenStream,
) -> syn::Result<(proc_macro2::TokenStream, proc_macro2::TokenStream)> {
    let mut tokens = input.into_iter();
    match tokens.next() {
        Some(proc_macro2::TokenTree::Group(group))
            if group.delimiter() == proc_macro2::Delimiter::Brace =>
        {
            Ok((group.stream(), tokens.collect()))
        }
        _ => Err(syn::Error::new(
            proc_macro2::Span::call_site(),
            "this is weft's internal macro: use `weft::select!`, `weft::join!` or \
             `weft::try_join!`",
        )),
    }
}

/// Consumes a leading `biased;`, returning whether it was there.
fn parse_biased(input: syn::parse::ParseStream<'_>) -> syn::Result<bool> {
    let fork = input.fork();
    match fork.parse::<syn::Ident>() {
        Ok(ident) if ident == "biased" && fork.peek(syn::Token![;]) => {
            input.parse::<syn::Ident>()?;
            input.parse::<syn::Token![;]>()?;
            Ok(true)
        }
        _ => Ok(false),
    }
}
