//! Code generation for `#[model]` and the stand-alone `#[table]`.
//!
//! On success the output is the struct (our attributes removed, standard derives added), the
//! checks on field types and relations, the `Model` impl, `new`, the typed columns, and one
//! function per relation. When the model has
//! errors the output is the errors plus the struct and whatever impls can still be generated, so
//! that code using the model does not fail with unrelated errors as well.

mod checks;
mod derives;
mod inherent;
mod model_impl;
mod relations;

use crate::ast::Container;
use crate::attr::{self, Kind};
use crate::check;
use crate::ctxt::Ctxt;
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, Type, Visibility};

/// `#[model]`: `args` are the attribute's own arguments (there should be none).
pub fn model(args: TokenStream, input: TokenStream) -> TokenStream {
    let item: DeriveInput = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => return not_a_type(input),
    };
    let (model, result) = analyse(&args, &item);
    let stripped = strip(item.clone());
    match (model, result) {
        (Some(model), Ok(())) => {
            let derives = derives::derives(&stripped.attrs);
            let checks = checks::field_types(&model);
            let relation_checks = relations::checks(&model);
            let model_impl = model_impl::model_impl(&model);
            let inherent = inherent::inherent(&model);
            let relations = relations::functions(&model);
            quote! {
                #derives
                #stripped
                #checks
                #relation_checks
                #model_impl
                #inherent
                #relations
            }
        }
        (Some(model), Err(error)) => {
            let derives = derives::derives(&stripped.attrs);
            let stub = model_impl::model_stub(&model);
            let inherent = inherent::inherent(&model);
            let relations = relations::function_stubs(&model);
            let output = quote! {
                #derives
                #stripped
                #stub
                #inherent
                #relations
            };
            with_errors(error, output)
        }
        (None, result) => {
            let error = result
                .err()
                .unwrap_or_else(|| syn::Error::new(Span::call_site(), "`#[model]` could not read this struct"));
            with_errors(error, stripped.into_token_stream())
        }
    }
}

/// Reads and checks the model, collecting every error.
pub fn analyse<'a>(args: &TokenStream, item: &'a DeriveInput) -> (Option<Container<'a>>, Result<(), syn::Error>) {
    let cx = Ctxt::new();
    if !args.is_empty() {
        cx.error_spanned_by(args, "`#[model]` takes no arguments; table options go in `#[table(..)]`");
    }
    let model = Container::from_ast(&cx, item);
    if let Some(model) = &model {
        check::check(&cx, model);
    }
    (model, cx.check())
}

/// `#[table]` only runs when it comes before `#[model]` (or without it): `#[model]` removes the
/// `#[table]` it is given before the compiler sees it.
pub fn table(args: TokenStream, input: TokenStream) -> TokenStream {
    let error = syn::Error::new(
        Span::call_site(),
        "`#[table]` must follow `#[model]`: write `#[model]` first, then `#[table(..)]`",
    );
    let Ok(mut item) = syn::parse2::<DeriveInput>(input.clone()) else {
        return with_errors(error, input);
    };
    // Give the table options back to `#[model]`, after it, so that the order is the only error.
    let Some(position) = item.attrs.iter().position(attr::is_model_attr) else {
        return with_errors(error, input);
    };
    let table: Attribute =
        if args.is_empty() { syn::parse_quote!(#[table]) } else { syn::parse_quote!(#[table(#args)]) };
    item.attrs.insert(position + 1, table);
    with_errors(error, item.into_token_stream())
}

/// `#[model]` on a function, an impl or another item that is not a type: the error points at
/// the item's keyword, and our attributes are removed so that they raise no errors of their own.
fn not_a_type(input: TokenStream) -> TokenStream {
    let parser = |stream: ParseStream<'_>| {
        let attrs = stream.call(Attribute::parse_outer)?;
        let vis: Visibility = stream.parse()?;
        let rest: TokenStream = stream.parse()?;
        Ok((attrs, vis, rest))
    };
    let (span, output) = match parser.parse2(input.clone()) {
        Ok((mut attrs, vis, rest)) => {
            let span = rest.clone().into_iter().next().map_or_else(Span::call_site, |t| t.span());
            attrs.retain(|a| Kind::of(a).is_none());
            (span, quote!(#(#attrs)* #vis #rest))
        }
        Err(_) => (Span::call_site(), input),
    };
    let error = syn::Error::new(span, "`#[model]` can only be applied to a struct with named fields");
    with_errors(error, output)
}

fn with_errors(error: syn::Error, output: TokenStream) -> TokenStream {
    let errors = error.into_compile_error();
    quote! {
        #errors
        #output
    }
}

/// The item without the attributes `#[model]` reads, on the struct and on every field.
fn strip(mut item: DeriveInput) -> DeriveInput {
    item.attrs.retain(|a| Kind::of(a).is_none());
    let strip_fields = |fields: &mut Fields| {
        for field in fields.iter_mut() {
            field.attrs.retain(|a| Kind::of(a).is_none());
        }
    };
    match &mut item.data {
        Data::Struct(data) => strip_fields(&mut data.fields),
        Data::Enum(data) => {
            for variant in &mut data.variants {
                strip_fields(&mut variant.fields);
            }
        }
        Data::Union(data) => {
            for field in &mut data.fields.named {
                field.attrs.retain(|a| Kind::of(a).is_none());
            }
        }
    }
    item
}

/// `<Ty as SqlType>::NAME`, spanned over the field's type so that a missing `SqlType` impl, or a
/// check on one of its constants, is reported on the type the user wrote.
fn sql_type_item(ty: &Type, name: &str) -> TokenStream {
    let (first, last) = type_spans(ty);
    let name = syn::Ident::new(name, last);
    let open = quote_spanned!(first=> <);
    let close = quote_spanned!(last=> as ::storehaus::__private::SqlType>::#name);
    quote!(#open #ty #close)
}

/// The spans of the first and last tokens of a type: the compiler joins tokens spanned by them
/// into one span covering the whole type (a single token span cannot on stable Rust).
fn type_spans(ty: &Type) -> (Span, Span) {
    let mut tokens = ty.to_token_stream().into_iter();
    let first = tokens.next().map_or_else(|| ty.span(), |t| t.span());
    let last = tokens.last().map_or(first, |t| t.span());
    (first, last)
}
