//! Checks on field types, which only the compiler can make. Each is a constant spanned over the
//! field's type, so its error points there.

use super::sql_type_item;
use crate::ast::{Container, Field};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

pub fn field_types(model: &Container<'_>) -> TokenStream {
    let generated = model.fields.iter().filter(|f| f.generated).map(generated_key);
    let tenant = model.fields.iter().filter(|f| f.tenant.is_some()).map(tenant_type);
    model.fields.iter().filter_map(nullability).chain(generated).chain(tenant).collect()
}

/// The tenant must be one scalar value; `check` refuses arrays and JSON it can see by name, this
/// catches them behind an alias or a newtype.
fn tenant_type(field: &Field<'_>) -> TokenStream {
    let column_type = sql_type_item(field.ty, "COLUMN_TYPE");
    let (first, last) = super::type_spans(field.ty);
    let message =
        format!("the `#[tenant]` field `{}` must map to a scalar column, not an array or JSON", field.column());
    let panic = quote_spanned!(first=> ::core::panic!);
    let message = quote_spanned!(last=> (#message));
    quote! {
        const _: () = match #column_type {
            ::storehaus::types::ColumnType::Array(_)
            | ::storehaus::types::ColumnType::Scalar(::storehaus::types::ScalarType::Json) => #panic #message,
            _ => {}
        };
    }
}

/// The key of an `auto_increment` table must be a type the database can generate.
fn generated_key(field: &Field<'_>) -> TokenStream {
    let (first, last) = super::type_spans(field.ty);
    let ty = field.ty;
    let assert = quote_spanned!(first=> ::storehaus::__private::assert_generated_key::<);
    let rest = quote_spanned!(last=> >);
    quote! {
        const _: fn() = #assert #ty #rest;
    }
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
