//! The futures of a `select!` or `join!`, stored in one tuple pinned on the
//! stack and projected to a `Pin<&mut F>` per future at each poll.
//!
//! weft's support module implements the projection for tuples of up to
//! [`ARITY`] elements; more futures are stored as a tuple of such tuples (and
//! so on), projected level by level. The expansion itself holds no `unsafe`.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

/// The largest tuple weft's `Project` trait is implemented for.
pub(crate) const ARITY: usize = 16;

/// A tuple expression holding `items` (a tree of tuples when there are more
/// than [`ARITY`]), in order.
pub(crate) fn tuple(items: Vec<TokenStream>) -> TokenStream {
    if items.len() <= ARITY {
        return quote! { ( #( #items, )* ) };
    }
    let chunks = chunked(items).into_iter().map(tuple).collect();
    tuple(chunks)
}

/// Statements that bind `names[i]` to a `Pin<&mut _>` of the i-th item of
/// the tuple built by [`tuple`], from `pinned`, an expression of type
/// `Pin<&mut Tuple>`.
pub(crate) fn project(krate: &TokenStream, pinned: TokenStream, names: &[Ident]) -> TokenStream {
    let mut out = TokenStream::new();
    project_into(krate, pinned, names, 0, &mut out);
    out
}

fn project_into(
    krate: &TokenStream,
    pinned: TokenStream,
    names: &[Ident],
    depth: usize,
    out: &mut TokenStream,
) {
    if names.len() <= ARITY {
        out.extend(quote! {
            #[allow(unused_mut)]
            let ( #( mut #names, )* ) = #krate::macros::support::Project::project(#pinned);
        });
        return;
    }
    let groups = chunked(names.to_vec());
    let inner: Vec<Ident> = (0..groups.len())
        .map(|i| format_ident!("__weft_group_{}_{}", depth, i, span = Span::mixed_site()))
        .collect();
    // Project the outer level, then each group of `ARITY` (or fewer).
    let mut outer = TokenStream::new();
    project_into(krate, pinned, &inner, depth + 1, &mut outer);
    out.extend(outer);
    for (group, name) in groups.iter().zip(&inner) {
        project_into(krate, quote! { #name }, group, depth + 1, out);
    }
}

/// `items` cut into runs of [`ARITY`] (the last one may be shorter).
fn chunked<T>(items: Vec<T>) -> Vec<Vec<T>> {
    let mut chunks = Vec::new();
    let mut current = Vec::with_capacity(ARITY);
    for item in items {
        current.push(item);
        if current.len() == ARITY {
            chunks.push(std::mem::replace(&mut current, Vec::with_capacity(ARITY)));
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// The identifier of the i-th future's projection: hygienic (mixed-site),
/// so it cannot clash with a name in the user's expressions.
pub(crate) fn future_name(i: usize) -> Ident {
    format_ident!("__weft_fut_{}", i, span = Span::mixed_site())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_sets_are_one_flat_tuple() {
        let items = (0..3).map(|i| quote! { f(#i) }).collect();
        let expr: syn::ExprTuple = syn::parse2(tuple(items)).unwrap();
        assert_eq!(expr.elems.len(), 3);
    }

    #[test]
    fn large_sets_nest_tuples_of_at_most_arity() {
        let items = (0..40).map(|i| quote! { f(#i) }).collect();
        let expr: syn::ExprTuple = syn::parse2(tuple(items)).unwrap();
        // 40 = 16 + 16 + 8.
        assert_eq!(expr.elems.len(), 3);
        let sizes: Vec<usize> = expr
            .elems
            .iter()
            .map(|e| match e {
                syn::Expr::Tuple(t) => t.elems.len(),
                other => panic!("expected a tuple, got {}", quote!(#other)),
            })
            .collect();
        assert_eq!(sizes, [16, 16, 8]);
    }

    #[test]
    fn projection_binds_every_name() {
        let names: Vec<Ident> = (0..40).map(future_name).collect();
        let krate = quote! { ::weft };
        let stmts = project(&krate, quote! { futures.as_mut() }, &names);
        let text = stmts.to_string();
        for i in 0..40 {
            assert!(
                text.contains(&format!("mut __weft_fut_{i} ,")),
                "missing binding {i}"
            );
        }
    }
}
