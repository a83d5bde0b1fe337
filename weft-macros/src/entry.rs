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
mod tests {
    use super::*;

    fn tokens(source: &str) -> TokenStream {
        source.parse().expect("test input must tokenize")
    }

    fn expand_str(kind: Kind, args: &str, item: &str) -> TokenStream {
        expand(kind, tokens(args), tokens(item))
    }

    fn parse_file(expansion: &TokenStream) -> syn::File {
        syn::parse2(expansion.clone()).expect("expansion must parse as items")
    }

    /// The messages of the `compile_error!`s in an expansion.
    fn errors(expansion: &TokenStream) -> Vec<String> {
        parse_file(expansion)
            .items
            .iter()
            .filter_map(|item| match item {
                syn::Item::Macro(mac)
                    if mac
                        .mac
                        .path
                        .segments
                        .last()
                        .is_some_and(|s| s.ident == "compile_error") =>
                {
                    let message: LitStr =
                        syn::parse2(mac.mac.tokens.clone()).expect("message literal");
                    Some(message.value())
                }
                _ => None,
            })
            .collect()
    }

    /// The only fn in an expansion, checked to have the expected shape: not
    /// async, no arguments, a nested `async fn` of the same name and return
    /// type holding the body, then a tail expression. Returns the outer fn,
    /// the nested fn and the tail expression as a string.
    fn only_function(expansion: &TokenStream) -> (ItemFn, ItemFn, String) {
        let mut fns: Vec<ItemFn> = parse_file(expansion)
            .items
            .into_iter()
            .filter_map(|item| match item {
                syn::Item::Fn(f) => Some(f),
                _ => None,
            })
            .collect();
        assert_eq!(fns.len(), 1, "expected one fn in {expansion}");
        let outer = fns.remove(0);
        assert!(outer.sig.asyncness.is_none(), "still async: {expansion}");
        assert!(outer.sig.inputs.is_empty(), "has arguments: {expansion}");

        let [syn::Stmt::Item(syn::Item::Fn(inner)), syn::Stmt::Expr(tail, None)] =
            outer.block.stmts.as_slice()
        else {
            panic!("unexpected body shape: {expansion}");
        };
        assert!(inner.sig.asyncness.is_some(), "{expansion}");
        assert_eq!(inner.sig.ident, outer.sig.ident);
        assert_eq!(
            inner.sig.output.to_token_stream().to_string(),
            outer.sig.output.to_token_stream().to_string()
        );
        let tail = tail.to_token_stream().to_string();
        let inner = inner.clone();
        (outer, inner, tail)
    }

    /// Like [`only_function`], and checks that the tail runs the body.
    fn runtime_function(expansion: &TokenStream) -> (ItemFn, ItemFn, String) {
        let (outer, inner, tail) = only_function(expansion);
        assert!(
            tail.contains("new_current_thread ()") || tail.contains("new_multi_thread ()"),
            "{tail}"
        );
        let call = format!("block_on ({} ())", outer.sig.ident);
        assert!(tail.contains(&call), "{tail}");
        (outer, inner, tail)
    }

    fn attr_strings(f: &ItemFn) -> Vec<String> {
        f.attrs
            .iter()
            .map(|attr| attr.to_token_stream().to_string())
            .collect()
    }

    /// Asserts exactly one error, containing each of `needles`.
    fn assert_one_error(expansion: &TokenStream, needles: &[&str]) {
        let errors = errors(expansion);
        assert_eq!(errors.len(), 1, "expected one error, got {errors:?}");
        for needle in needles {
            assert!(
                errors[0].contains(needle),
                "error {:?} does not contain {needle:?}",
                errors[0]
            );
        }
    }

    /// (line, column) where an error starts.
    fn start(err: &syn::Error) -> (usize, usize) {
        let start = err.span().start();
        (start.line, start.column)
    }

    #[test]
    fn main_expands_to_a_blocking_fn() {
        let out = expand_str(
            Kind::Main,
            "",
            "#[doc = \"entry\"] pub async fn main() { println!(\"hi\"); }",
        );
        assert!(errors(&out).is_empty(), "{out}");
        let (outer, inner, tail) = runtime_function(&out);
        assert_eq!(outer.sig.ident, "main");
        assert!(matches!(outer.vis, syn::Visibility::Public(_)));
        assert_eq!(attr_strings(&outer), ["# [doc = \"entry\"]"]);
        assert_eq!(
            tail,
            ":: weft :: runtime :: Builder :: new_multi_thread () . build () \
             . expect (\"failed to build the weft runtime\") . block_on (main ())"
        );
        assert_eq!(
            inner.block.to_token_stream().to_string(),
            "{ println ! (\"hi\") ; }"
        );
        assert!(matches!(inner.vis, syn::Visibility::Inherited));
        assert_eq!(
            attr_strings(&inner),
            ["# [allow (clippy :: unused_async , clippy :: future_not_send)]"]
        );
    }

    #[test]
    fn main_keeps_its_return_type() {
        let out = expand_str(
            Kind::Main,
            "",
            "async fn main() -> std::io::Result<()> { std::fs::metadata(\"/\")?; Ok(()) }",
        );
        assert!(errors(&out).is_empty(), "{out}");
        let (outer, _, _) = runtime_function(&out);
        assert_eq!(
            outer.sig.output.to_token_stream().to_string(),
            "-> std :: io :: Result < () >"
        );
    }

    #[test]
    fn any_return_type_is_kept() {
        for ty in [
            "impl std::process::Termination",
            "!",
            "Result<(), Box<dyn Error>>",
        ] {
            let out = expand_str(
                Kind::Main,
                "",
                &format!("async fn main() -> {ty} {{ loop {{}} }}"),
            );
            assert!(errors(&out).is_empty(), "{out}");
            let (outer, _, _) = runtime_function(&out);
            let expected: syn::ReturnType = syn::parse2(tokens(&format!("-> {ty}"))).unwrap();
            let expected = expected.to_token_stream().to_string();
            assert_eq!(outer.sig.output.to_token_stream().to_string(), expected);
        }
    }

    #[test]
    fn main_may_have_another_name() {
        let out = expand_str(Kind::Main, "", "async fn start() {}");
        assert!(errors(&out).is_empty(), "{out}");
        assert_eq!(runtime_function(&out).0.sig.ident, "start");
    }

    #[test]
    fn inner_attributes_stay_in_the_body() {
        let out = expand_str(
            Kind::Main,
            "",
            "#[inline(never)] async fn main() { #![allow(unused)] let x = 1; }",
        );
        assert!(errors(&out).is_empty(), "{out}");
        let (outer, inner, _) = runtime_function(&out);
        assert_eq!(attr_strings(&outer), ["# [inline (never)]"]);
        assert_eq!(
            attr_strings(&inner),
            [
                "# [allow (clippy :: unused_async , clippy :: future_not_send)]",
                "# ! [allow (unused)]",
            ]
        );
        assert_eq!(inner.block.to_token_stream().to_string(), "{ let x = 1 ; }");
    }

    #[test]
    fn test_expands_to_a_test_fn_keeping_attributes() {
        let out = expand_str(
            Kind::Test,
            "",
            "#[should_panic(expected = \"boom\")] #[ignore] async fn boom() { panic!(\"boom\") }",
        );
        assert!(errors(&out).is_empty(), "{out}");
        let (outer, _, _) = runtime_function(&out);
        assert_eq!(outer.sig.ident, "boom");
        assert_eq!(
            attr_strings(&outer),
            [
                "# [:: core :: prelude :: v1 :: test]",
                "# [should_panic (expected = \"boom\")]",
                "# [ignore]",
            ]
        );
    }

    #[test]
    fn test_may_return_a_result() {
        let out = expand_str(
            Kind::Test,
            "",
            "async fn fallible() -> Result<(), String> { Err(\"no\".to_string())?; Ok(()) }",
        );
        assert!(errors(&out).is_empty(), "{out}");
        let (outer, _, _) = runtime_function(&out);
        assert_eq!(
            outer.sig.output.to_token_stream().to_string(),
            "-> Result < () , String >"
        );
    }

    #[test]
    fn current_thread_flavor_is_accepted() {
        for kind in [Kind::Main, Kind::Test] {
            let out = expand_str(kind, "flavor = \"current_thread\"", "async fn main() {}");
            assert!(errors(&out).is_empty(), "{out}");
            runtime_function(&out);
        }
    }

    #[test]
    fn crate_path_is_used() {
        let out = expand_str(
            Kind::Main,
            "crate = \"renamed::rt\", flavor = \"current_thread\"",
            "async fn main() {}",
        );
        assert!(errors(&out).is_empty(), "{out}");
        let (_, _, tail) = runtime_function(&out);
        assert!(
            tail.starts_with("renamed :: rt :: runtime :: Builder :: new_current_thread ()"),
            "{tail}"
        );
        assert!(!out.to_string().contains("weft ::"), "{out}");
    }

    #[test]
    fn default_flavors_follow_tokio() {
        let (_, _, tail) = runtime_function(&expand_str(Kind::Main, "", "async fn main() {}"));
        assert!(tail.contains("new_multi_thread ()"), "{tail}");
        let (_, _, tail) = runtime_function(&expand_str(Kind::Test, "", "async fn t() {}"));
        assert!(tail.contains("new_current_thread ()"), "{tail}");
    }

    #[test]
    fn multi_thread_flavor_and_worker_threads_are_used() {
        for kind in [Kind::Main, Kind::Test] {
            let out = expand_str(kind, "flavor = \"multi_thread\"", "async fn main() {}");
            assert!(errors(&out).is_empty(), "{out}");
            let (_, _, tail) = runtime_function(&out);
            assert!(tail.contains("new_multi_thread () . build ()"), "{tail}");
            let out = expand_str(
                kind,
                "flavor = \"multi_thread\", worker_threads = 3",
                "async fn main() {}",
            );
            assert!(errors(&out).is_empty(), "{out}");
            let (_, _, tail) = runtime_function(&out);
            assert!(
                tail.contains("new_multi_thread () . worker_threads (3) . build ()"),
                "{tail}"
            );
        }
        // `main` is multi-thread by default, so `worker_threads` alone works.
        let out = expand_str(Kind::Main, "worker_threads = 2", "async fn main() {}");
        assert!(errors(&out).is_empty(), "{out}");
    }

    #[test]
    fn worker_threads_needs_the_multi_thread_flavor() {
        let out = expand_str(
            Kind::Main,
            "flavor = \"current_thread\", worker_threads = 4",
            "async fn main() {}",
        );
        assert_one_error(&out, &["`worker_threads` only applies", "current_thread"]);
        runtime_function(&out);
        let out = expand_str(Kind::Test, "worker_threads = 4", "async fn t() {}");
        assert_one_error(
            &out,
            &["default flavor of `#[weft::test]` is current-thread"],
        );
        for bad in [
            "worker_threads = 0",
            "worker_threads = \"4\"",
            "worker_threads = -1",
        ] {
            let out = expand_str(Kind::Main, bad, "async fn main() {}");
            assert_eq!(errors(&out).len(), 1, "{bad}: {out}");
            runtime_function(&out);
        }
    }

    #[test]
    fn every_bad_argument_is_reported() {
        let out = expand_str(
            Kind::Test,
            "flavor = \"parallel\", worker_threads = 0, bogus",
            "async fn t() {}",
        );
        let errors = errors(&out);
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("unknown runtime flavor `parallel`"));
        assert!(errors[1].contains("`worker_threads` must be"));
        assert!(errors[2].contains("unknown argument `bogus` to `#[weft::test]`"));
    }

    #[test]
    fn unknown_arguments_are_named() {
        for (args, name) in [
            ("foo = 1", "foo"),
            ("multi_thread", "multi_thread"),
            ("paused = true", "paused"),
            ("a::b(c)", "a::b"),
        ] {
            let out = expand_str(Kind::Main, args, "async fn main() {}");
            assert_one_error(
                &out,
                &[
                    &format!("unknown argument `{name}` to `#[weft::main]`"),
                    "flavor = \"current_thread\"",
                    "crate = \"path::to::weft\"",
                ],
            );
            runtime_function(&out);
        }
    }

    #[test]
    fn start_paused_goes_through_weft_s_macro() {
        for kind in [Kind::Main, Kind::Test] {
            for flavor in ["current_thread", "multi_thread"] {
                let out = expand_str(
                    kind,
                    &format!("flavor = \"{flavor}\", start_paused = true"),
                    "async fn main() {}",
                );
                assert!(errors(&out).is_empty(), "{out}");
                let (_, _, tail) = runtime_function(&out);
                assert!(
                    tail.starts_with(&format!(
                        ":: weft :: __start_paused ! (:: weft :: runtime :: Builder :: \
                         new_{flavor} () , true) . build ()"
                    )),
                    "{tail}"
                );
            }
        }
        let out = expand_str(
            Kind::Test,
            "start_paused = false, name = \"n\", crate = \"other\"",
            "async fn t() {}",
        );
        assert!(errors(&out).is_empty(), "{out}");
        let (_, _, tail) = runtime_function(&out);
        assert!(
            tail.starts_with(
                "other :: __start_paused ! (other :: runtime :: Builder :: \
                 new_current_thread () . name (\"n\") , false)"
            ),
            "{tail}"
        );
    }

    #[test]
    fn start_paused_takes_a_bool() {
        for (args, needle) in [
            ("start_paused = 1", "expected `true` or `false`"),
            ("start_paused = \"true\"", "expected `true` or `false`"),
            (
                "start_paused",
                "the `start_paused` argument expects a value",
            ),
            (
                "start_paused = true, start_paused = false",
                "the `start_paused` argument is given more than once",
            ),
        ] {
            let out = expand_str(Kind::Test, args, "async fn t() {}");
            assert_one_error(&out, &[needle]);
            runtime_function(&out);
        }
    }

    #[test]
    fn malformed_arguments_are_rejected() {
        for (args, needle) in [
            ("flavor", "the `flavor` argument expects a value"),
            ("crate(\"x\")", "the `crate` argument expects a value"),
            ("flavor = current_thread", "expected a string literal"),
            ("flavor = \"local\"", "unknown runtime flavor `local`"),
            ("crate = weft", "expected a string literal"),
            ("crate = \"not a path\"", "`not a path` is not a path"),
            (
                "flavor = \"current_thread\", flavor = \"current_thread\"",
                "the `flavor` argument is given more than once",
            ),
        ] {
            let out = expand_str(Kind::Main, args, "async fn main() {}");
            assert_one_error(&out, &[needle]);
            runtime_function(&out);
        }
    }

    #[test]
    fn unparsable_arguments_still_emit_the_fn() {
        let out = expand_str(Kind::Main, "42", "async fn main() {}");
        assert_eq!(errors(&out).len(), 1, "{out}");
        runtime_function(&out);
    }

    #[test]
    fn missing_async_is_an_error() {
        for kind in [Kind::Main, Kind::Test] {
            let out = expand_str(kind, "", "fn main() {}");
            assert_one_error(
                &out,
                &["the `async` keyword is missing from the function declaration"],
            );
            // Still emitted, so that there is no "`main` not found" error.
            assert_eq!(runtime_function(&out).0.sig.ident, "main");
        }
    }

    #[test]
    fn main_with_arguments_is_an_error() {
        for item in [
            "async fn main(argc: i32) { let _ = argc; }",
            "async fn start(a: u8, b: u8) {}",
        ] {
            let out = expand_str(Kind::Main, "", item);
            assert_one_error(&out, &["the main function cannot accept arguments"]);
            // The outer fn loses the arguments (no "`main` has wrong type"),
            // the body keeps them (no unresolved names).
            let (_, inner, tail) = only_function(&out);
            assert!(!inner.sig.inputs.is_empty());
            assert_eq!(tail, ":: core :: unreachable ! ()");
        }
    }

    #[test]
    fn test_with_arguments_is_an_error() {
        let out = expand_str(Kind::Test, "", "async fn t(x: u32) {}");
        assert_one_error(&out, &["the test function cannot accept arguments"]);
        let (outer, inner, _) = only_function(&out);
        assert_eq!(
            attr_strings(&outer),
            ["# [:: core :: prelude :: v1 :: test]"]
        );
        assert_eq!(inner.sig.inputs.to_token_stream().to_string(), "x : u32");
    }

    #[test]
    fn all_signature_errors_are_reported() {
        let out = expand_str(Kind::Test, "", "fn t(x: u32) {}");
        let errors = errors(&out);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("`async` keyword is missing"));
        assert!(errors[1].contains("the test function cannot accept arguments"));
    }

    #[test]
    fn second_test_attribute_is_an_error() {
        for attr in ["#[test]", "#[::core::prelude::v1::test]", "#[tokio::test]"] {
            let out = expand_str(Kind::Test, "", &format!("{attr} async fn t() {{}}"));
            assert_one_error(&out, &["second test attribute"]);
            let (outer, _, _) = runtime_function(&out);
            assert_eq!(
                attr_strings(&outer),
                ["# [:: core :: prelude :: v1 :: test]"],
                "{out}"
            );
        }
        // Only a test attribute counts.
        let out = expand_str(Kind::Test, "", "#[test_log] async fn t() {}");
        assert!(errors(&out).is_empty(), "{out}");
    }

    #[test]
    fn main_ignores_test_attributes() {
        let out = expand_str(Kind::Main, "", "#[test] async fn main() {}");
        assert!(errors(&out).is_empty(), "{out}");
        assert_eq!(attr_strings(&runtime_function(&out).0), ["# [test]"]);
    }

    #[test]
    fn non_fn_items_are_kept_next_to_the_error() {
        for kind in [Kind::Main, Kind::Test] {
            let out = expand_str(kind, "", "struct NotAFn;");
            assert_eq!(errors(&out).len(), 1, "{out}");
            assert!(
                parse_file(&out)
                    .items
                    .iter()
                    .any(|item| matches!(item, syn::Item::Struct(s) if s.ident == "NotAFn")),
                "{out}"
            );
        }
    }

    #[test]
    fn errors_point_at_the_offending_tokens() {
        // Columns are 0-based.
        let parse = |source: &str| -> ItemFn { syn::parse2(tokens(source)).unwrap() };

        let err = validate(Kind::Main, &parse("pub fn main() {}")).unwrap_err();
        assert_eq!(start(&err), (1, 4), "at `fn`");

        let err = validate(Kind::Main, &parse("async fn main(x: u8) {}")).unwrap_err();
        assert_eq!(start(&err), (1, 14), "at the arguments");

        let err = validate(Kind::Test, &parse("#[test]\nasync fn t() {}")).unwrap_err();
        assert_eq!(start(&err), (1, 0), "at the second test attribute");

        let arg_error = |args: &str| parse_args(Kind::Main, tokens(args)).1.unwrap();

        let err = arg_error("crate = \"x\", flavor = \"current_thread\", worker_threads = 2");
        assert_eq!(start(&err), (1, 57), "at the worker count");

        let err = arg_error("flavor = \"nope\"");
        assert_eq!(start(&err), (1, 9), "at the flavor value");

        let err = arg_error("worker_threads = 0, wat = 2");
        assert_eq!(start(&err), (1, 17), "at the bad worker count");
        let err = arg_error("flavor = \"current_thread\", wat = 2");
        assert_eq!(start(&err), (1, 27), "at the unknown argument");
    }
}
