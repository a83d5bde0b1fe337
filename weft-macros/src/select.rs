//! The expansion of `weft::select!` (tokio's syntax and semantics).
//!
//! Input: `{ <path of the weft crate> } <select! input>`, as `weft::select!`
//! forwards it. The expansion, for branches `0..n`:
//!
//! 1. evaluates every `if` precondition, marking false ones disabled;
//! 2. evaluates every future expression (disabled ones too, as tokio does)
//!    into one tuple pinned on the stack, through `IntoFuture`;
//! 3. polls, in a `poll_fn`, the enabled futures from a random start (or
//!    from the first with `biased;`), after checking that the task has
//!    coop budget left; a future whose output does not match its branch's
//!    pattern disables the branch; when every branch is disabled, the
//!    output is `Disabled`;
//! 4. drops the futures, then matches the output against the patterns and
//!    runs the handler (or the `else` expression, or panics with tokio's
//!    message when there is none).
//!
//! Handlers run outside the `poll_fn` closure, in the enclosing async
//! context, so `?`, `return`, `break`, `continue` and `.await` work in them,
//! and they may borrow what the futures borrowed.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Expr, Pat, Token};

use crate::pinned;

/// The most branches one `select!` may have (the disabled set is a `u64`).
pub(crate) const MAX_BRANCHES: usize = 64;

/// The shape of a branch, for error messages.
const BRANCH_SHAPE: &str = "a branch is `<pattern> = <async expression> => <handler>,` \
     or `<pattern> = <async expression>, if <precondition> => <handler>,`";

/// One `pattern = future, if precondition => handler` branch.
struct Branch {
    pattern: Pat,
    future: Expr,
    precondition: Option<Expr>,
    handler: Expr,
}

/// A parsed `select!` invocation.
struct Select {
    biased: bool,
    branches: Vec<Branch>,
    otherwise: Option<Expr>,
}

/// Expands `select_internal!`'s input; errors become `compile_error!`s.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let (krate, rest) = match crate::split_crate_path(input) {
        Ok(split) => split,
        Err(err) => return err.to_compile_error(),
    };
    match parse.parse2(rest) {
        Ok(select) => build(&krate, select),
        Err(err) => err.to_compile_error(),
    }
}

fn parse(input: ParseStream<'_>) -> syn::Result<Select> {
    let biased = crate::parse_biased(input)?;
    let mut branches = Vec::new();
    let mut otherwise = None;
    while !input.is_empty() {
        if input.peek(Token![else]) {
            let else_token: Token![else] = input.parse()?;
            input.parse::<Token![=>]>().map_err(|err| {
                syn::Error::new(
                    err.span(),
                    "expected `=>` after `else`: `else => <expression>`",
                )
            })?;
            let expr: Expr = input.parse()?;
            if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
            }
            if !input.is_empty() {
                return Err(syn::Error::new(
                    else_token.span,
                    "the `else` branch must be the last branch of `select!`",
                ));
            }
            otherwise = Some(expr);
            break;
        }
        branches.push(parse_branch(input)?);
    }
    if branches.is_empty() && otherwise.is_none() {
        return Err(syn::Error::new(
            Span::call_site(),
            "select! requires at least one branch.",
        ));
    }
    if branches.len() > MAX_BRANCHES {
        return Err(syn::Error::new(
            branches[MAX_BRANCHES].pattern.span(),
            format!(
                "select! supports up to {MAX_BRANCHES} branches; this one has {}",
                branches.len()
            ),
        ));
    }
    Ok(Select {
        biased,
        branches,
        otherwise,
    })
}

fn parse_branch(input: ParseStream<'_>) -> syn::Result<Branch> {
    let start = input.span();
    let missing_pattern = |span| {
        syn::Error::new(
            span,
            format!(
                "expected `<pattern> =` before the async expression (use `_ =` to ignore \
                 the output); {BRANCH_SHAPE}"
            ),
        )
    };
    let ahead = input.fork();
    let pattern = Pat::parse_multi_with_leading_vert(input).map_err(|err| {
        // `<expr> => ...` with no pattern gets the hint; a malformed
        // pattern keeps syn's precise error and position.
        if ahead.parse::<Expr>().is_ok() && ahead.peek(Token![=>]) {
            missing_pattern(start)
        } else {
            err
        }
    })?;
    if !input.peek(Token![=]) || input.peek(Token![=>]) {
        return Err(missing_pattern(start));
    }
    input.parse::<Token![=]>()?;
    let future: Expr = input.parse()?;
    let precondition = if input.peek(Token![,]) && input.peek2(Token![if]) {
        input.parse::<Token![,]>()?;
        input.parse::<Token![if]>()?;
        Some(input.parse::<Expr>()?)
    } else {
        None
    };
    if !input.peek(Token![=>]) {
        return Err(syn::Error::new(
            if input.is_empty() {
                future.span()
            } else {
                input.span()
            },
            format!("expected `=>` after the async expression; {BRANCH_SHAPE}"),
        ));
    }
    input.parse::<Token![=>]>()?;
    let handler = if input.peek(syn::token::Brace) {
        // A block handler needs no comma, as in a `match` arm.
        let block: syn::Block = input.parse()?;
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        }
        Expr::Block(syn::ExprBlock {
            attrs: Vec::new(),
            label: None,
            block,
        })
    } else {
        let expr: Expr = input.parse()?;
        if !input.is_empty() {
            input.parse::<Token![,]>().map_err(|err| {
                syn::Error::new(
                    err.span(),
                    "expected `,` after the handler: a handler that is not a block is \
                     followed by a comma unless it is the last branch",
                )
            })?;
        }
        expr
    };
    Ok(Branch {
        pattern,
        future,
        precondition,
        handler,
    })
}

fn build(krate: &TokenStream, select: Select) -> TokenStream {
    let Select {
        biased,
        branches,
        otherwise,
    } = select;
    let otherwise = match otherwise {
        Some(expr) => expr.into_token_stream(),
        None => quote! {
            ::core::panic!("all branches are disabled and there is no else branch")
        },
    };
    if branches.is_empty() {
        // `select! { else => ... }`: nothing to wait on.
        return quote! { { #otherwise } };
    }

    let n = branches.len();
    let count = n as u32;
    let mask_ty = format_ident!(
        "{}",
        match n {
            0..=8 => "u8",
            9..=16 => "u16",
            17..=32 => "u32",
            _ => "u64",
        }
    );
    let mask = |i: usize| -> Literal {
        let bit = 1u64 << i;
        match n {
            0..=8 => Literal::u8_suffixed(bit as u8),
            9..=16 => Literal::u16_suffixed(bit as u16),
            17..=32 => Literal::u32_suffixed(bit as u32),
            _ => Literal::u64_suffixed(bit),
        }
    };

    let out_enum = format_ident!("__WeftSelectOutput", span = Span::mixed_site());
    let variants: Vec<_> = (0..n)
        .map(|i| format_ident!("_{}", i, span = Span::mixed_site()))
        .collect();
    let disabled = format_ident!("__weft_disabled", span = Span::mixed_site());
    let output = format_ident!("__weft_output", span = Span::mixed_site());
    let futures = format_ident!("__weft_futures", span = Span::mixed_site());
    let cx = format_ident!("__weft_cx", span = Span::mixed_site());
    let pending = format_ident!("__weft_pending", span = Span::mixed_site());
    let start = format_ident!("__weft_start", span = Span::mixed_site());
    let step = format_ident!("__weft_step", span = Span::mixed_site());
    let out = format_ident!("__weft_out", span = Span::mixed_site());
    let names: Vec<_> = (0..n).map(pinned::future_name).collect();

    let preconditions = branches.iter().enumerate().filter_map(|(i, branch)| {
        let cond = branch.precondition.as_ref()?;
        let bit = mask(i);
        Some(quote! {
            if !(#cond) {
                #disabled |= #bit;
            }
        })
    });

    let raw_futures: Vec<TokenStream> = branches
        .iter()
        .map(|b| b.future.to_token_stream())
        .collect();
    let init_tuple = pinned::tuple(raw_futures);
    let init_names: Vec<_> = (0..n)
        .map(|i| format_ident!("__weft_init_{}", i, span = Span::mixed_site()))
        .collect();
    let into_futures: Vec<TokenStream> = branches
        .iter()
        .zip(&init_names)
        .map(|(branch, name)| {
            let span = branch.future.span();
            quote_spanned! {span=>
                #krate::macros::support::IntoFuture::into_future(#name)
            }
        })
        .collect();
    let futures_tuple = pinned::tuple(into_futures);
    let init_pattern = pinned::tuple(init_names.iter().map(|n| quote! { #n }).collect());

    let project = pinned::project(krate, quote! { #futures.as_mut() }, &names);

    let arms = branches.iter().enumerate().map(|(i, branch)| {
        let index = i as u32;
        let bit = mask(i);
        let name = &names[i];
        let variant = &variants[i];
        let check = clean_pattern(branch.pattern.clone());
        quote! {
            #[allow(unreachable_code)]
            #index => {
                if #disabled & #bit == #bit {
                    continue;
                }
                let #out = match #krate::macros::support::Future::poll(#name.as_mut(), #cx) {
                    #krate::macros::support::Poll::Ready(#out) => #out,
                    #krate::macros::support::Poll::Pending => {
                        #pending = true;
                        continue;
                    }
                };
                // Completed: never poll it again, whether or not it matches.
                #disabled |= #bit;
                #[allow(unused_variables, unused_mut)]
                match &#out {
                    #check => {}
                    _ => continue,
                }
                return #krate::macros::support::Poll::Ready(#out_enum::#variant(#out));
            }
        }
    });

    let start_expr = if biased || n == 1 {
        quote! { 0u32 }
    } else {
        quote! { #krate::macros::support::thread_rng_n(#count) }
    };

    let handlers = branches.iter().zip(&variants).map(|(branch, variant)| {
        let pattern = &branch.pattern;
        let handler = &branch.handler;
        quote! { #out_enum::#variant(#pattern) => #handler, }
    });

    quote! {{
        enum #out_enum<#( #variants, )*> {
            #( #variants(#variants), )*
            Disabled,
        }

        let mut #disabled: #mask_ty = 0;
        #( #preconditions )*

        let mut #output = {
            // Stored as written first, so that temporaries in the
            // expressions live as long as the `select!` (temporary
            // lifetime extension), then turned into futures.
            let #init_pattern = #init_tuple;
            let mut #futures = #krate::macros::support::pin!(#futures_tuple);
            // `move`: the closure owns the `Pin<&mut _>` and the disabled
            // set (nothing else of the caller's), keeping the future small.
            #krate::macros::support::poll_fn(move |#cx| {
                // Out of budget: every budget-aware branch would yield
                // anyway, and the others must not run unchecked.
                #krate::macros::support::ready!(
                    #krate::macros::support::poll_budget_available(#cx)
                );
                let mut #pending = false;
                let #start: u32 = #start_expr;
                #project
                for #step in 0..#count {
                    #[allow(clippy::modulo_one)]
                    let #step = (#start + #step) % #count;
                    match #step {
                        #( #arms )*
                        _ => ::core::unreachable!("select! polled a branch that does not exist"),
                    }
                }
                if #pending {
                    #krate::macros::support::Poll::Pending
                } else {
                    #krate::macros::support::Poll::Ready(#out_enum::Disabled)
                }
            })
            .await
        };

        match #output {
            #( #handlers )*
            #out_enum::Disabled => #otherwise,
            #[allow(unreachable_patterns)]
            _ => ::core::unreachable!("select! output did not match its branch's pattern"),
        }
    }}
}

/// The pattern without `ref` and `mut` binding modes, to test the output by
/// reference before it is moved into the real match (tokio does the same).
fn clean_pattern(mut pat: Pat) -> TokenStream {
    clean(&mut pat);
    pat.into_token_stream()
}

fn clean(pat: &mut Pat) {
    match pat {
        Pat::Ident(ident) => {
            ident.by_ref = None;
            ident.mutability = None;
            if let Some((_, sub)) = &mut ident.subpat {
                clean(sub);
            }
        }
        Pat::Or(or) => or.cases.iter_mut().for_each(clean),
        Pat::Slice(slice) => slice.elems.iter_mut().for_each(clean),
        Pat::Struct(strukt) => strukt.fields.iter_mut().for_each(|f| clean(&mut f.pat)),
        Pat::Tuple(tuple) => tuple.elems.iter_mut().for_each(clean),
        Pat::TupleStruct(tuple) => tuple.elems.iter_mut().for_each(clean),
        Pat::Reference(reference) => {
            reference.mutability = None;
            clean(&mut reference.pat);
        }
        Pat::Type(typed) => clean(&mut typed.pat),
        Pat::Paren(paren) => clean(&mut paren.pat),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(source: &str) -> String {
        let input: TokenStream = format!("{{ ::weft }} {source}").parse().unwrap();
        expand(input).to_string()
    }

    fn error(source: &str) -> String {
        let out = expand_str(source);
        assert!(out.contains("compile_error"), "expected an error: {out}");
        out
    }

    #[test]
    fn empty_select_is_an_error() {
        assert!(error("").contains("select! requires at least one branch."));
        assert!(error("biased;").contains("select! requires at least one branch."));
    }

    #[test]
    fn else_only_is_the_else_expression() {
        let out = expand_str("else => 1,");
        assert!(!out.contains("compile_error"));
        assert!(!out.contains("poll_fn"));
    }

    #[test]
    fn else_must_come_last() {
        assert!(error("else => 1, x = async { 1 } => x,").contains("must be the last branch"));
        assert!(error("else => {} x = async { 1 } => x,").contains("must be the last branch"));
    }

    #[test]
    fn a_malformed_pattern_keeps_syn_s_error() {
        let e = error("Some(x,,) = f() => 1");
        assert!(!e.contains("expected `<pattern> =`"), "{e}");
    }

    #[test]
    fn missing_equals_and_arrow_are_named() {
        assert!(error("async { 1 } => 1").contains("expected `<pattern> =`"));
        assert!(error("rx.recv() => 1").contains("expected `<pattern> =`"));
        assert!(error("x = async { 1 }").contains("expected `=>` after the async expression"));
        assert!(error("x = async { 1 } => x y = async { 2 } => y")
            .contains("expected `,` after the handler"));
    }

    #[test]
    fn more_than_64_branches_is_an_error() {
        let branches: String = (0..65).map(|_| "x = async { 1 } => x,").collect();
        assert!(error(&branches).contains("supports up to 64 branches"));
        let branches: String = (0..64).map(|_| "x = async { 1 } => x,").collect();
        assert!(!expand_str(&branches).contains("compile_error"));
    }

    #[test]
    fn block_handlers_need_no_comma() {
        let out = expand_str("x = async { 1 } => { x } y = async { 2 } => { y } else => 0");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn biased_starts_at_zero_and_default_is_random() {
        assert!(!expand_str("biased; a = f() => a, b = g() => b").contains("thread_rng_n"));
        assert!(expand_str("a = f() => a, b = g() => b").contains("thread_rng_n"));
    }

    #[test]
    fn patterns_are_cleaned_of_ref_and_mut() {
        let pat = Pat::parse_single
            .parse2(quote! { Some((ref mut a, mut b, ref c)) })
            .unwrap();
        assert_eq!(
            clean_pattern(pat).to_string(),
            quote! { Some((a, b, c)) }.to_string()
        );
    }
}
