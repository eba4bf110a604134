//! Checks on field types, which only the compiler can make. Each is a constant spanned over the
//! field's type, so its error points there.

use super::sql_type_item;
use crate::ast::{Container, Field};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

pub fn field_types(model: &Container<'_>) -> TokenStream {
    model.fields.iter().filter_map(nullability).collect()
}

/// The primary key must not be nullable; a field that inserts leave out must be, since its
/// column is `NULL` until an update writes it.
fn nullability(field: &Field<'_>) -> Option<TokenStream> {
    let nullable = sql_type_item(field.ty, "NULLABLE");
    let (first, last) = super::type_spans(field.ty);
    let column = field.column();
    let (condition, message) = if field.primary_key.is_some() {
        (quote!(#nullable), format!("the primary key `{column}` cannot be an Option<_>"))
    } else if !field.writes().create {
        (quote!(!#nullable), format!("field `{column}` is not written on create, so its type must be an Option<_>"))
    } else {
        return None;
    };
    // Spanned from the type's first to its last token, so the error covers the whole type.
    let panic = quote_spanned!(first=> ::core::panic!);
    let message = quote_spanned!(last=> (#message));
    let panic = quote!(#panic #message);
    Some(quote! {
        const _: () = if #condition { #panic };
    })
}
