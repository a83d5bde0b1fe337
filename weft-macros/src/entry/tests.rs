//! Tests of `#[weft::main]` and `#[weft::test]`'s argument parsing and
//! expansion (`entry.rs`).

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
                let message: LitStr = syn::parse2(mac.mac.tokens.clone()).expect("message literal");
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
