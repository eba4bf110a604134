//! `impl Model`: the table metadata, the primary key, and writing and reading rows.

use super::{sql_type_item, type_spans};
use crate::ast::{Container, Field};
use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;

pub fn model_impl(model: &Container<'_>) -> TokenStream {
    let ident = model.ident;
    // The checks guarantee a table name and a primary key before code is generated.
    let (Some(table), Some((pk_index, _))) =
        (model.table.as_ref().and_then(|t| t.args.name.as_ref()), model.primary_key())
    else {
        return model_stub(model);
    };
    let model_name = ident.unraw().to_string();
    let soft_delete = model.table.as_ref().is_some_and(|t| t.args.soft_delete.is_some());
    let versioned = model.table.as_ref().is_some_and(|t| t.args.versioned.is_some());
    let auth = model.table.as_ref().is_some_and(|t| t.args.auth.is_some());
    let row_security = model.table.as_ref().is_some_and(|t| t.args.row_security.is_some());
    let tenant = match model.tenant() {
        Some((index, _)) => quote!(::core::option::Option::Some(#index)),
        None => quote!(::core::option::Option::None),
    };
    let columns = model.fields.iter().map(column_def);
    let indexes = indexes(model);
    let (key_ty, key_expr) = key(model);
    let write_values = write_values(model);
    let read_row = read_row(model);
    let foreign_keys = super::relations::foreign_keys(model);

    quote! {
        #[automatically_derived]
        impl ::storehaus::__private::Model for #ident {
            type Key = #key_ty;

            const TABLE: &'static ::storehaus::__private::TableDef = &::storehaus::__private::TableDef {
                name: #table,
                model: #model_name,
                columns: &[#(#columns),*],
                primary_key: #pk_index,
                indexes: &[#(#indexes),*],
                soft_delete: #soft_delete,
                versioned: #versioned,
                auth: #auth,
                tenant: #tenant,
                row_security: #row_security,
                foreign_keys: &[#(#foreign_keys),*],
            };

            #[inline]
            fn key(&self) -> Self::Key {
                #key_expr
            }

            #write_values

            #read_row
        }
    }
}

/// A `Model` impl for a model with errors, so that code using it reports no unrelated errors.
/// Its bodies never run: the crate does not compile while the errors remain. Its metadata is
/// empty, foreign keys included: their parents may be the models with errors.
pub fn model_stub(model: &Container<'_>) -> TokenStream {
    if model.primary_key().is_none() {
        return TokenStream::new();
    }
    let ident = model.ident;
    let model_name = ident.unraw().to_string();
    let (key_ty, key_expr) = key(model);
    quote! {
        #[automatically_derived]
        impl ::storehaus::__private::Model for #ident {
            type Key = #key_ty;

            const TABLE: &'static ::storehaus::__private::TableDef = &::storehaus::__private::TableDef {
                name: "",
                model: #model_name,
                columns: &[],
                primary_key: 0,
                indexes: &[],
                soft_delete: false,
                versioned: false,
                auth: false,
                tenant: ::core::option::Option::None,
                row_security: false,
                foreign_keys: &[],
            };

            fn key(&self) -> Self::Key {
                #key_expr
            }

            fn write_values(
                &self,
                _: ::storehaus::__private::Write,
                _: &mut ::std::vec::Vec<::storehaus::__private::Value>,
            ) -> ::core::result::Result<(), ::storehaus::__private::StoreError> {
                ::core::unreachable!()
            }

            fn read_row<__Row: ::storehaus::__private::RowReader>(
                _: &mut __Row,
            ) -> ::core::result::Result<Self, ::storehaus::__private::StoreError> {
                ::core::unreachable!()
            }
        }
    }
}

/// The key's type and the expression that builds it from `self`: the field for a single key, a
/// tuple of the fields, in declaration order, for a composite one.
fn key(model: &Container<'_>) -> (TokenStream, TokenStream) {
    // At most four: a longer key is an error already, and its stub must not add another.
    let mut fields = model.key_fields();
    fields.truncate(4);
    let clone = |f: &&Field<'_>| {
        let ident = f.ident;
        quote!(::core::clone::Clone::clone(&self.#ident))
    };
    match &fields[..] {
        [single] => (single.ty.to_token_stream(), clone(single)),
        several => {
            let types = several.iter().map(|f| f.ty);
            let values = several.iter().map(clone);
            (quote!((#(#types,)*)), quote!((#(#values,)*)))
        }
    }
}

fn column_def(field: &Field<'_>) -> TokenStream {
    let name = field.column();
    let column_type = sql_type_item(field.ty, "COLUMN_TYPE");
    let nullable = sql_type_item(field.ty, "NULLABLE");
    let int_range = sql_type_item(field.ty, "INT_RANGE");
    let primary_key = field.primary_key.is_some();
    let writes = field.writes();
    let (create, update) = (writes.create, writes.update);
    let signal = field.signal();
    quote! {
        ::storehaus::__private::ColumnDef {
            name: #name,
            ty: #column_type,
            nullable: #nullable,
            int_range: #int_range,
            primary_key: #primary_key,
            create: #create,
            update: #update,
            signal: #signal,
        }
    }
}

/// Field-level indexes in field order, then struct-level ones in attribute order.
fn indexes(model: &Container<'_>) -> Vec<TokenStream> {
    let index_def = |columns: Vec<String>, unique: bool| {
        quote! {
            ::storehaus::__private::IndexDef { columns: &[#(#columns),*], unique: #unique }
        }
    };
    let field_level =
        model.fields.iter().flat_map(|f| f.indexes.iter().map(move |&unique| index_def(vec![f.column()], unique)));
    let struct_level = model.indexes.iter().map(|index| {
        let columns = index.columns.iter().map(|c| c.unraw().to_string()).collect();
        index_def(columns, index.unique)
    });
    field_level.chain(struct_level).collect()
}

fn write_values(model: &Container<'_>) -> TokenStream {
    let pushes = |on_create: bool| {
        let fields: Vec<&Field<'_>> =
            model.fields.iter().filter(|f| if on_create { f.writes().create } else { f.writes().update }).collect();
        let count = fields.len();
        let pushes = fields.iter().map(|field| {
            let name = field.column();
            let (first, last) = type_spans(field.ty);
            // The whole call is spanned over the type, so an error on it points at the type.
            let mut ident = field.ident.clone();
            ident.set_span(last);
            let call = quote_spanned!(first=> ::storehaus::__private::encode);
            let args = quote_spanned!(last=> (&self.#ident, #name));
            quote!(out.push(#call #args?);)
        });
        if count == 0 {
            TokenStream::new()
        } else {
            quote! {
                out.reserve(#count);
                #(#pushes)*
            }
        }
    };
    let create = pushes(true);
    let update = pushes(false);
    quote! {
        fn write_values(
            &self,
            write: ::storehaus::__private::Write,
            out: &mut ::std::vec::Vec<::storehaus::__private::Value>,
        ) -> ::core::result::Result<(), ::storehaus::__private::StoreError> {
            match write {
                ::storehaus::__private::Write::Create => { #create }
                ::storehaus::__private::Write::Update => { #update }
            }
            ::core::result::Result::Ok(())
        }
    }
}

fn read_row(model: &Container<'_>) -> TokenStream {
    let reads = model.fields.iter().map(|field| {
        let ident = field.ident;
        let ty = field.ty;
        let (first, last) = type_spans(ty);
        let read = quote_spanned!(first=> row.read::<);
        let rest = quote_spanned!(last=> >());
        quote!(#ident: #read #ty #rest?)
    });
    quote! {
        fn read_row<__Row: ::storehaus::__private::RowReader>(
            row: &mut __Row,
        ) -> ::core::result::Result<Self, ::storehaus::__private::StoreError> {
            // Struct fields are initialised in the order written, which is the column order.
            ::core::result::Result::Ok(Self { #(#reads),* })
        }
    }
}
