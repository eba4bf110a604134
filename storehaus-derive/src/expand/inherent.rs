//! `User::new(..)`, `User::columns()` and the `UserColumns` struct of typed columns.

use crate::ast::Container;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::ext::IdentExt;

pub fn inherent(model: &Container<'_>) -> TokenStream {
    let ident = model.ident;
    let vis = model.vis;
    let name = ident.unraw().to_string();
    let columns_ident = format_ident!("{}Columns", ident.unraw(), span = ident.span());

    let params = model.fields.iter().map(|f| {
        let (ident, ty) = (f.ident, f.ty);
        quote!(#ident: #ty)
    });
    let idents: Vec<_> = model.fields.iter().map(|f| f.ident).collect();
    let handles = model.fields.iter().enumerate().map(|(index, f)| {
        let (ident, column) = (f.ident, f.column());
        quote!(#ident: ::storehaus::__private::Column::new(#column, #index))
    });
    let column_fields = model.fields.iter().map(|f| {
        let (field, ty) = (f.ident, f.ty);
        let doc = format!("The `{}` column.", f.column());
        quote! {
            #[doc = #doc]
            pub #field: ::storehaus::__private::Column<#ident, #ty>
        }
    });

    let new_doc = format!("A `{name}` from one value per field, in declaration order.");
    let columns_doc = format!("The typed columns of `{name}`, for queries the compiler checks.");
    let struct_doc = format!("The typed columns of [`{name}`], returned by `{name}::columns()`.");

    quote! {
        // A model that the crate itself never builds or queries still gets these.
        #[allow(dead_code)]
        impl #ident {
            #[doc = #new_doc]
            #[must_use]
            #[allow(clippy::too_many_arguments)]
            #vis fn new(#(#params),*) -> Self {
                Self { #(#idents),* }
            }

            #[doc = #columns_doc]
            #[must_use]
            #vis const fn columns() -> #columns_ident {
                #columns_ident { #(#handles),* }
            }
        }

        #[doc = #struct_doc]
        #[allow(dead_code)]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy)]
        #vis struct #columns_ident {
            #(#column_fields),*
        }
    }
}
