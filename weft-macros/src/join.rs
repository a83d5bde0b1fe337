//! The expansion of `weft::join!` and `weft::try_join!` (tokio's syntax and
//! semantics).
//!
//! Input: `{ <path of the weft crate> } [biased;] <expr>, <expr>, ...`. Each
//! expression goes through `IntoFuture` into a `MaybeDone`, all of them in
//! one tuple pinned on the stack. Each poll of the joined future polls every
//! future once — a finished one answers at once from its stored output —
//! starting one further along each time (tokio's rotation: with an
//! always-ready first future, the others still get polled first in turn),
//! or always from the first with `biased;`. `try_join!` returns the first
//! `Err` as soon as it is seen, dropping the other futures.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Token};

use crate::pinned;

/// Which macro is being expanded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Join,
    TryJoin,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Join => "join!",
            Kind::TryJoin => "try_join!",
        }
    }
}

struct Join {
    biased: bool,
    futures: Vec<Expr>,
}

/// Expands `join_internal!` or `try_join_internal!`'s input.
pub(crate) fn expand(kind: Kind, input: TokenStream) -> TokenStream {
    let (krate, rest) = match crate::split_crate_path(input) {
        Ok(split) => split,
        Err(err) => return err.to_compile_error(),
    };
    let parser = |input: ParseStream<'_>| -> syn::Result<Join> {
        let biased = crate::parse_biased(input)?;
        let futures = Punctuated::<Expr, Token![,]>::parse_terminated(input).map_err(|err| {
            syn::Error::new(
                err.span(),
                format!(
                    "{}'s input is a comma-separated list of async expressions, \
                     optionally after `biased;`: {}",
                    kind.name(),
                    err
                ),
            )
        })?;
        Ok(Join {
            biased,
            futures: futures.into_iter().collect(),
        })
    };
    match parser.parse2(rest) {
        Ok(join) => build(kind, &krate, join),
        Err(err) => err.to_compile_error(),
    }
}

fn build(kind: Kind, krate: &TokenStream, join: Join) -> TokenStream {
    let Join { biased, futures } = join;
    let n = futures.len();
    if n == 0 {
        return match kind {
            Kind::Join => quote! { async {}.await },
            Kind::TryJoin => quote! { async { #krate::macros::support::Result::Ok(()) }.await },
        };
    }
    let count = n as u32;
    let support = quote! { #krate::macros::support };
    let futures_id = format_ident!("__weft_futures", span = Span::mixed_site());
    let cx = format_ident!("__weft_cx", span = Span::mixed_site());
    let pending = format_ident!("__weft_pending", span = Span::mixed_site());
    let start = format_ident!("__weft_start", span = Span::mixed_site());
    let next = format_ident!("__weft_next", span = Span::mixed_site());
    let step = format_ident!("__weft_step", span = Span::mixed_site());
    let names: Vec<_> = (0..n).map(pinned::future_name).collect();

    let spans: Vec<Span> = futures.iter().map(|f| f.span()).collect();
    let wrapped = futures
        .iter()
        .zip(&spans)
        .map(|(future, span)| quote_spanned! {*span=> #support::maybe_done(#future) })
        .collect();
    let tuple = pinned::tuple(wrapped);
    let project = pinned::project(krate, quote! { #futures_id.as_mut() }, &names);

    let arms = names
        .iter()
        .zip(&spans)
        .enumerate()
        .map(|(i, (name, span))| {
            let index = i as u32;
            let on_ready = match kind {
                Kind::Join => quote! {},
                Kind::TryJoin => quote_spanned! {*span=>
                    else if #support::is_err(#name.as_mut().output_mut()) {
                        return #support::Poll::Ready(#support::Result::Err(
                            #support::take_err(#name.as_mut()),
                        ));
                    }
                },
            };
            quote! {
                #index => {
                    if #support::Future::poll(#name.as_mut(), #cx).is_pending() {
                        #pending = true;
                    } #on_ready
                }
            }
        });

    let outputs = names.iter().map(|name| match kind {
        Kind::Join => quote! { #support::take_output(#name) },
        Kind::TryJoin => quote! { #support::take_ok(#name) },
    });
    let ready = match kind {
        Kind::Join => quote! { #support::Poll::Ready(( #( #outputs, )* )) },
        Kind::TryJoin => {
            quote! { #support::Poll::Ready(#support::Result::Ok(( #( #outputs, )* ))) }
        }
    };

    // The first future to poll: tokio's rotator (one further each poll),
    // or always the first one with `biased;` (no state at all).
    let (rotator, first) = if biased || n == 1 {
        (quote! {}, quote! { let #start: u32 = 0; })
    } else {
        (
            quote! { let mut #next: u32 = 0; },
            quote! {
                let #start: u32 = #next;
                #next = if #next + 1 == #count { 0 } else { #next + 1 };
            },
        )
    };

    quote! {{
        let mut #futures_id = #support::pin!(#tuple);
        #rotator
        #support::poll_fn(move |#cx| {
            let mut #pending = false;
            #first
            #project
            for #step in 0..#count {
                #[allow(clippy::modulo_one)]
                let #step = (#start + #step) % #count;
                match #step {
                    #( #arms )*
                    _ => ::core::unreachable!("join! polled a future that does not exist"),
                }
            }
            if #pending {
                #support::Poll::Pending
            } else {
                #ready
            }
        })
        .await
    }}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(kind: Kind, source: &str) -> String {
        let input: TokenStream = format!("{{ ::weft }} {source}").parse().unwrap();
        expand(kind, input).to_string()
    }

    #[test]
    fn empty_joins_are_unit() {
        assert_eq!(
            expand_str(Kind::Join, ""),
            quote! { async {}.await }.to_string()
        );
        assert!(expand_str(Kind::TryJoin, "biased;").contains("Ok (())"));
    }

    #[test]
    fn trailing_comma_and_biased_are_accepted() {
        for source in ["a, b,", "biased; a, b", "biased; a,", "a"] {
            assert!(!expand_str(Kind::Join, source).contains("compile_error"));
        }
    }

    #[test]
    fn rotation_is_off_when_biased() {
        assert!(expand_str(Kind::Join, "a, b").contains("__weft_next"));
        assert!(!expand_str(Kind::Join, "biased; a, b").contains("__weft_next"));
    }

    #[test]
    fn bad_input_is_explained() {
        let out = expand_str(Kind::Join, "a b");
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("comma-separated list"), "{out}");
    }

    #[test]
    fn many_futures_nest_tuples() {
        let source: String = (0..100).map(|i| format!("f({i}),")).collect();
        let out = expand_str(Kind::TryJoin, &source);
        assert!(!out.contains("compile_error"));
        assert!(out.contains("__weft_group_"));
    }
}
