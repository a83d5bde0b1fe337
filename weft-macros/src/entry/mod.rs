//! The expansion of `#[weft::main]` and `#[weft::test]`, on `proc_macro2`
//! types so that it can be unit-tested outside of a macro invocation.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{AttrStyle, Attribute, Expr, ExprLit, ItemFn, Lit, LitStr, Meta, Token};

/// The arguments the macros accept, for the "unknown argument" error.
const ACCEPTED_ARGUMENTS: &str = "the accepted arguments are `flavor = \"current_thread\"` or \
     `flavor = \"multi_thread\"`, `worker_threads = N` (multi-thread only), \
     `name = \"runtime name\"`, `start_paused = true` (weft's `test-util` feature) and \
     `crate = \"path::to::weft\"`";

/// Which of the two macros is being expanded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[weft::main]`.
    Main,
    /// `#[weft::test]`.
    Test,
}

impl Kind {
    /// The attribute as the user writes it, for error messages.
    fn attribute(self) -> &'static str {
        match self {
            Kind::Main => "#[weft::main]",
            Kind::Test => "#[weft::test]",
        }
    }

    /// What the annotated function is called in error messages.
    fn function(self) -> &'static str {
        match self {
            Kind::Main => "main function",
            Kind::Test => "test function",
        }
    }

    /// The flavor when none is given: multi-thread for `main`, current-thread
    /// for tests, as tokio does.
    fn default_flavor(self) -> Flavor {
        match self {
            Kind::Main => Flavor::MultiThread,
            Kind::Test => Flavor::CurrentThread,
        }
    }
}

/// The runtime the macro builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    CurrentThread,
    MultiThread,
}

/// The settings given by the macro arguments.
pub(crate) struct Config {
    /// Path of the weft crate (`crate = "..."`), `::weft` by default.
    crate_path: syn::Path,
    /// `flavor = ...`, when given.
    flavor: Option<Flavor>,
    /// `worker_threads = N`, when given and valid.
    worker_threads: Option<syn::LitInt>,
    /// `name = "..."`: the runtime's name (`Builder::name`).
    name: Option<LitStr>,
    /// `start_paused = true|false`: `Builder::start_paused`.
    start_paused: Option<syn::LitBool>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            crate_path: syn::parse_quote!(::weft),
            flavor: None,
            worker_threads: None,
            name: None,
            start_paused: None,
        }
    }
}

/// Expands `#[weft::main]` or `#[weft::test]` with arguments `args` on `item`.
///
/// Errors are returned as `compile_error!` invocations placed next to the
/// best item that can still be produced: the original tokens when `item` is
/// not a fn, otherwise the full expansion (with default settings for the
/// arguments that were rejected), so that one mistake does not cascade into
/// "`main` not found" or unresolved-name errors.
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let input: ItemFn = match syn::parse2(item.clone()) {
        Ok(input) => input,
        Err(err) => {
            let err = err.to_compile_error();
            return quote! { #item #err };
        }
    };

    let (config, mut errors) = parse_args(kind, args);
    if let Err(err) = validate(kind, &input) {
        push_error(&mut errors, err);
    }

    let expanded = build(kind, input, &config);
    match errors {
        None => expanded,
        Some(err) => {
            let err = err.to_compile_error();
            quote! { #expanded #err }
        }
    }
}

/// Parses the macro arguments into a [`Config`].
///
/// Every argument is checked; the returned error combines all problems, and
/// the returned `Config` holds the arguments that were accepted.
pub(crate) fn parse_args(kind: Kind, args: TokenStream) -> (Config, Option<syn::Error>) {
    let mut config = Config::default();
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args) {
        Ok(metas) => metas,
        Err(err) => return (config, Some(err)),
    };

    let mut errors = None;
    let mut seen = Vec::new();
    for meta in &metas {
        if let Err(err) = apply_arg(kind, meta, &mut config, &mut seen) {
            push_error(&mut errors, err);
        }
    }
    let flavor = config.flavor.unwrap_or(kind.default_flavor());
    if flavor == Flavor::CurrentThread {
        if let Some(workers) = config.worker_threads.take() {
            let why = if config.flavor.is_some() {
                "with `flavor = \"current_thread\"`"
            } else {
                "and the default flavor of `#[weft::test]` is current-thread"
            };
            push_error(
                &mut errors,
                syn::Error::new_spanned(
                    &workers,
                    format!(
                        "`worker_threads` only applies to `flavor = \"multi_thread\"`, {why}; \
                         add `flavor = \"multi_thread\"` or remove `worker_threads`"
                    ),
                ),
            );
        }
    }
    (config, errors)
}

/// Applies one argument to `config`; `seen` holds the names already given.
fn apply_arg(
    kind: Kind,
    meta: &Meta,
    config: &mut Config,
    seen: &mut Vec<String>,
) -> syn::Result<()> {
    let name = path_to_string(meta.path());
    let example = match name.as_str() {
        "flavor" => "flavor = \"current_thread\"",
        "crate" => "crate = \"::weft\"",
        "worker_threads" => "worker_threads = 4",
        "name" => "name = \"ingest\"",
        "start_paused" => "start_paused = true",
        _ => {
            return Err(syn::Error::new_spanned(
                meta.path(),
                format!(
                    "unknown argument `{name}` to `{}`; {ACCEPTED_ARGUMENTS}",
                    kind.attribute()
                ),
            ));
        }
    };
    if seen.contains(&name) {
        return Err(syn::Error::new_spanned(
            meta,
            format!("the `{name}` argument is given more than once"),
        ));
    }
    seen.push(name.clone());

    let value = match meta {
        Meta::NameValue(name_value) => &name_value.value,
        Meta::Path(_) | Meta::List(_) => {
            return Err(syn::Error::new_spanned(
                meta,
                format!("the `{name}` argument expects a value, as in `{example}`"),
            ));
        }
    };

    match name.as_str() {
        "worker_threads" => {
            let workers = match value {
                Expr::Lit(ExprLit {
                    lit: Lit::Int(lit), ..
                }) => lit.clone(),
                _ => {
                    return Err(syn::Error::new_spanned(
                        value,
                        format!("expected an integer literal, as in `{example}`"),
                    ))
                }
            };
            match workers.base10_parse::<usize>() {
                Ok(n) if n >= 1 => {
                    config.worker_threads = Some(workers);
                    Ok(())
                }
                _ => Err(syn::Error::new_spanned(
                    &workers,
                    "`worker_threads` must be a whole number of at least 1",
                )),
            }
        }
        "flavor" => {
            let flavor = string_literal(value, example)?;
            match flavor.value().as_str() {
                "current_thread" => {
                    config.flavor = Some(Flavor::CurrentThread);
                    Ok(())
                }
                "multi_thread" => {
                    config.flavor = Some(Flavor::MultiThread);
                    Ok(())
                }
                other => Err(syn::Error::new_spanned(
                    &flavor,
                    format!(
                        "unknown runtime flavor `{other}`; the flavors are `\"current_thread\"` \
                         and `\"multi_thread\"`"
                    ),
                )),
            }
        }
        "start_paused" => match value {
            Expr::Lit(ExprLit {
                lit: Lit::Bool(paused),
                ..
            }) => {
                config.start_paused = Some(paused.clone());
                Ok(())
            }
            _ => Err(syn::Error::new_spanned(
                value,
                format!("expected `true` or `false`, as in `{example}`"),
            )),
        },
        "name" => {
            let runtime_name = string_literal(value, example)?;
            if runtime_name.value().is_empty() {
                return Err(syn::Error::new_spanned(
                    &runtime_name,
                    "the runtime's `name` must not be empty",
                ));
            }
            config.name = Some(runtime_name);
            Ok(())
        }
        _ => {
            // "crate"
            let path = string_literal(value, example)?;
            config.crate_path = path.parse::<syn::Path>().map_err(|_| {
                syn::Error::new_spanned(
                    &path,
                    format!(
                        "`{}` is not a path; `crate` expects the path of the weft crate, as in \
                         `{example}`",
                        path.value()
                    ),
                )
            })?;
            Ok(())
        }
    }
}

/// Returns the string literal `value`, or an error pointing at it.
fn string_literal(value: &Expr, example: &str) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit.clone()),
        _ => Err(syn::Error::new_spanned(
            value,
            format!("expected a string literal, as in `{example}`"),
        )),
    }
}

/// Writes `path` the way the user would, e.g. `foo` or `a::b`.
fn path_to_string(path: &syn::Path) -> String {
    let mut out = String::new();
    if path.leading_colon.is_some() {
        out.push_str("::");
    }
    for (i, segment) in path.segments.iter().enumerate() {
        if i > 0 {
            out.push_str("::");
        }
        out.push_str(&segment.ident.to_string());
    }
    out
}

/// Checks that `input` can carry the attribute: it is `async`, takes no
/// arguments and, for a test, is not already marked as a test.
pub(crate) fn validate(kind: Kind, input: &ItemFn) -> syn::Result<()> {
    let mut errors = None;
    if input.sig.asyncness.is_none() {
        push_error(
            &mut errors,
            syn::Error::new_spanned(
                input.sig.fn_token,
                "the `async` keyword is missing from the function declaration",
            ),
        );
    }
    if !input.sig.inputs.is_empty() {
        push_error(
            &mut errors,
            syn::Error::new_spanned(
                &input.sig.inputs,
                format!("the {} cannot accept arguments", kind.function()),
            ),
        );
    }
    if kind == Kind::Test {
        if let Some(attr) = input.attrs.iter().find(|attr| is_test_attribute(attr)) {
            push_error(
                &mut errors,
                syn::Error::new_spanned(
                    attr,
                    "a second test attribute is supplied; `#[weft::test]` already marks the \
                     function as a test, so remove this one",
                ),
            );
        }
    }
    match errors {
        None => Ok(()),
        Some(err) => Err(err),
    }
}

/// Whether `attr` is a test attribute of its own: `#[test]`,
/// `#[core::prelude::v1::test]`, another runtime's `#[..::test]`, ...
fn is_test_attribute(attr: &Attribute) -> bool {
    matches!(attr.style, AttrStyle::Outer)
        && attr
            .path()
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "test")
}

/// Adds `err` to the errors collected so far.
fn push_error(errors: &mut Option<syn::Error>, err: syn::Error) {
    match errors {
        Some(errors) => errors.combine(err),
        None => *errors = Some(err),
    }
}

/// Builds the non-async fn that runs the body of `input` on a runtime.
///
/// The body becomes a nested `async fn` with the user's signature (same
/// name, return type and arguments), and the outer fn blocks on it:
///
/// ```text
/// #[..] fn main() -> T {
///     async fn main() -> T { <body> }
///     <crate>::runtime::Builder::new_current_thread()
///         .build()
///         .expect("failed to build the weft runtime")
///         .block_on(main())
/// }
/// ```
///
/// Compared with `block_on(async move { <body> })`, the declared return
/// type is the body's output exactly as in a real `async fn`: `?` and
/// `Ok(())` are inferred against it, a mismatch is reported on the body's
/// tail expression with "expected because of return type", and any return
/// type (`impl Trait`, `!`) works without an unreachable-code warning after a
/// diverging body.
fn build(kind: Kind, input: ItemFn, config: &Config) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = input;

    // syn puts the body's inner attributes (`#![allow(..)]`) with the outer
    // ones; they go back at the top of the body.
    let (inner_attrs, outer_attrs): (Vec<_>, Vec<_>) = attrs
        .into_iter()
        .partition(|attr| matches!(attr.style, AttrStyle::Inner(_)));
    // A duplicate test attribute was reported by `validate`; leave it out.
    let outer_attrs = outer_attrs
        .into_iter()
        .filter(|attr| kind == Kind::Main || !is_test_attribute(attr));
    let test_attr = match kind {
        Kind::Main => quote! {},
        Kind::Test => quote! { #[::core::prelude::v1::test] },
    };

    let mut outer_sig = sig.clone();
    outer_sig.asyncness = None;
    outer_sig.inputs = Punctuated::new();
    outer_sig.variadic = None;

    let mut inner_sig = sig;
    let has_arguments = !inner_sig.inputs.is_empty() || inner_sig.variadic.is_some();
    inner_sig.asyncness = Some(Token![async](inner_sig.fn_token.span));
    let mut inner_body = TokenStream::new();
    block.brace_token.surround(&mut inner_body, |tokens| {
        tokens.extend(inner_attrs.iter().map(ToTokens::to_token_stream));
        tokens.extend(block.stmts.iter().map(ToTokens::to_token_stream));
    });
    let name = &inner_sig.ident;

    // Lints about the fn being `async` are about the macro's choice of a
    // nested `async fn`, not about the user's code.
    let inner_fn = quote! {
        #[allow(clippy::unused_async, clippy::future_not_send)]
        #inner_sig #inner_body
    };
    let run = if has_arguments {
        // Arguments were reported by `validate`. The outer fn drops them so
        // that rustc does not add "`main` function has wrong type" (or the
        // test equivalent), and the body keeps them so that it still
        // resolves; nothing here ever runs.
        quote! {
            #[allow(dead_code)]
            #inner_fn
            ::core::unreachable!()
        }
    } else {
        let crate_path = &config.crate_path;
        let builder = match config.flavor.unwrap_or(kind.default_flavor()) {
            Flavor::CurrentThread => quote! { new_current_thread() },
            Flavor::MultiThread => match &config.worker_threads {
                Some(workers) => quote! { new_multi_thread().worker_threads(#workers) },
                None => quote! { new_multi_thread() },
            },
        };
        let named = config.name.as_ref().map(|name| quote! { .name(#name) });
        let mut builder = quote! { #crate_path::runtime::Builder::#builder #named };
        if let Some(paused) = &config.start_paused {
            // Through a macro of weft's, which is `.start_paused(..)` with
            // weft's `test-util` feature and a compile error naming the
            // feature without it (this crate cannot see weft's features).
            // Spanned at the argument, where that error then points.
            builder = quote_spanned! {paused.span()=>
                #crate_path::__start_paused!(#builder, #paused)
            };
        }
        quote! {
            #inner_fn
            #builder
                .build()
                .expect("failed to build the weft runtime")
                .block_on(#name())
        }
    };

    quote! {
        #test_attr
        #(#outer_attrs)*
        #vis #outer_sig {
            #run
        }
    }
}

#[cfg(test)]
mod tests;
