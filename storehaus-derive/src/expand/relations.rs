//! Relations: the foreign keys of `TableDef`, one function per relation returning its
//! `Relation` handle (`User::posts()`), and the checks that the fields a relation names hold the
//! keys it joins on.

use super::{sql_type_item, type_spans};
use crate::ast::{Container, Field, GENERATED_FUNCTIONS, RelationAttr, ident_named};
use crate::attr::{Kind, OnDelete};
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::{Ident, LitStr, Path};

/// One relation whose name is valid and unique, with the field a `#[belongs_to]` is on.
struct Declared<'m, 'a> {
    relation: &'m RelationAttr<'a>,
    field: Option<&'m Field<'a>>,
    target: &'m Path,
    name: String,
    function: Ident,
}

/// The relations that functions are generated for: struct attributes first, then `#[belongs_to]`
/// fields, leaving out those whose name is missing, invalid or taken (errors already reported).
fn declared<'m, 'a>(model: &'m Container<'a>) -> Vec<Declared<'m, 'a>> {
    let mut out: Vec<Declared<'m, 'a>> = Vec::new();
    for (relation, field) in model.all_relations() {
        let Some(target) = &relation.args.target else { continue };
        let Some(name) = relation.name(model.ident, field) else { continue };
        // Spanned where the name comes from, so that the function leads back to it.
        let span = match (&relation.args.name, field) {
            (Some(name), _) => name.span(),
            (None, Some(field)) => field.ident.span(),
            (None, None) => target.segments.last().map_or_else(Span::call_site, |s| s.ident.span()),
        };
        let Some(function) = ident_named(&name, span) else { continue };
        if GENERATED_FUNCTIONS.contains(&name.as_str()) || out.iter().any(|d| d.name == name) {
            continue;
        }
        out.push(Declared { relation, field, target, name, function });
    }
    out
}

/// A model named in a relation: `Self` stands for the declaring model, also where `Self` has no
/// meaning (a constant outside its impls).
fn model_type(path: &Path, model: &Container<'_>) -> TokenStream {
    if path.is_ident("Self") { model.ident.to_token_stream() } else { path.to_token_stream() }
}

/// The last segment of a model's path, for docs and messages.
fn short_name(path: &Path) -> String {
    path.segments.last().map_or_else(String::new, |s| s.ident.unraw().to_string())
}

/// `TableDef::foreign_keys`: one per `#[belongs_to]` field, in field order.
pub fn foreign_keys(model: &Container<'_>) -> Vec<TokenStream> {
    let foreign_key = |field: &Field<'_>| {
        let relation = field.belongs_to.as_ref()?;
        let target = model_type(relation.args.target.as_ref()?, model);
        let column = field.column();
        let on_delete = relation.args.on_delete.as_ref().map_or(OnDelete::Restrict, |(action, _)| *action);
        let on_delete = Ident::new(on_delete.variant(), Span::call_site());
        Some(quote! {
            ::storehaus::__private::ForeignKeyDef {
                column: #column,
                references: || <#target as ::storehaus::__private::Model>::TABLE,
                on_delete: ::storehaus::__private::OnDelete::#on_delete,
            }
        })
    };
    model.fields.iter().filter_map(foreign_key).collect()
}

/// The relation functions of a model without errors.
pub fn functions(model: &Container<'_>) -> TokenStream {
    let functions = declared(model).into_iter().map(|declared| function(model, &declared));
    impl_block(model, functions.collect())
}

/// The relation functions of a model with errors: the same signatures, so that code calling them
/// reports nothing more, with bodies that never run (the crate does not compile).
pub fn function_stubs(model: &Container<'_>) -> TokenStream {
    // Without a key the model has no `Model` impl, which `Relation` needs.
    if model.primary_key().is_none() {
        return TokenStream::new();
    }
    let vis = model.vis;
    let functions = declared(model).into_iter().map(|declared| {
        let function = &declared.function;
        let return_type = return_type(declared.target, &model_type(declared.target, model));
        quote! {
            #vis fn #function() -> #return_type {
                ::core::unreachable!()
            }
        }
    });
    impl_block(model, functions.collect())
}

fn impl_block(model: &Container<'_>, functions: Vec<TokenStream>) -> TokenStream {
    if functions.is_empty() {
        return TokenStream::new();
    }
    let ident = model.ident;
    quote! {
        // A relation that the crate itself never loads still gets its function.
        #[allow(dead_code)]
        impl #ident {
            #(#functions)*
        }
    }
}

fn function(model: &Container<'_>, declared: &Declared<'_, '_>) -> TokenStream {
    let Declared { relation, field, target, name, function } = declared;
    let ident = model.ident;
    let vis = model.vis;
    let model_name = ident.unraw().to_string();
    let target_name = short_name(target);
    let target = model_type(target, model);
    let args = &relation.args;
    let column = |key: &Option<LitStr>| key.as_ref().map(LitStr::value).unwrap_or_default();

    let (doc, kind, keys) = match (relation.kind, field) {
        // The checks guarantee the join columns and the model of a relation of a model that has
        // no errors; a `#[belongs_to]` is always on a field.
        (Kind::BelongsTo, None) => return TokenStream::new(),
        (Kind::BelongsTo, Some(field)) => {
            let foreign_key = field.column();
            let doc = format!("The `{target_name}` this `{model_name}` belongs to, through `{foreign_key}`.");
            let kind = quote!(BelongsTo { foreign_key: #foreign_key });
            (doc, kind, belongs_to_keys(model, field, &target))
        }
        (Kind::HasMany | Kind::HasOne, None) => {
            let foreign_key = column(&args.foreign_key);
            let (doc, kind) = if relation.kind == Kind::HasMany {
                (
                    format!("The `{target_name}`s of this `{model_name}`: those whose `{foreign_key}` holds its key."),
                    quote!(HasMany { foreign_key: #foreign_key }),
                )
            } else {
                (
                    format!("The `{target_name}` of this `{model_name}`: the one whose `{foreign_key}` holds its key."),
                    quote!(HasOne { foreign_key: #foreign_key }),
                )
            };
            (doc, kind, own_keys(model))
        }
        (_, _) => {
            let (foreign_key, target_key) = (column(&args.foreign_key), column(&args.target_key));
            let through_path = args.through.as_ref();
            let through_name = through_path.map(short_name).unwrap_or_default();
            let through = through_path.map(|path| model_type(path, model));
            let doc = format!(
                "The `{target_name}`s of this `{model_name}`, paired in `{through_name}` (`{foreign_key}` with `{target_key}`)."
            );
            let kind = quote! {
                ManyToMany {
                    through: || <#through as ::storehaus::__private::Model>::TABLE,
                    foreign_key: #foreign_key,
                    target_key: #target_key,
                }
            };
            (doc, kind, own_keys(model))
        }
    };
    // A related model that is no model, or whose key cannot be looked up (a composite one), is
    // reported at the attribute's name.
    let attr_span = relation.attr.path().segments.last().map_or_else(Span::call_site, |s| s.ident.span());
    let new = quote_spanned!(attr_span=> ::storehaus::__private::Relation::new(&DEF, &KEYS));
    let return_type = return_type(declared.target, &target);
    quote! {
        #[doc = #doc]
        #[must_use]
        #vis fn #function() -> #return_type {
            #keys
            static DEF: ::storehaus::__private::RelationDef = ::storehaus::__private::RelationDef {
                name: #name,
                kind: ::storehaus::__private::RelationKind::#kind,
                from: || <#ident as ::storehaus::__private::Model>::TABLE,
                to: || <#target as ::storehaus::__private::Model>::TABLE,
            };
            #new
        }
    }
}

/// `Relation<Self, Target>`, spanned over the target as written, so that a target that is no
/// model is reported there.
fn return_type(path: &Path, target: &TokenStream) -> TokenStream {
    let span = path.segments.last().map_or_else(Span::call_site, |s| s.ident.span());
    quote_spanned!(span=> ::storehaus::__private::Relation<Self, #target>)
}

/// A `#[belongs_to]` looks parents up by the key its field holds; reading it through
/// `ForeignKey` checks the field's type against the parent's key, reported on that type.
fn belongs_to_keys(model: &Container<'_>, field: &Field<'_>, target: &TokenStream) -> TokenStream {
    let ident = model.ident;
    let (first, last) = type_spans(field.ty);
    let mut field_ident = field.ident.clone();
    field_ident.set_span(last);
    let row = Ident::new("row", last);
    let key = quote!(<#target as ::storehaus::__private::Model>::Key);
    let call = quote_spanned!(first=> ::storehaus::__private::ForeignKey::<#key>::key);
    let args = quote_spanned!(last=> (&#row.#field_ident));
    quote! {
        static KEYS: ::storehaus::__private::KeyFn<#ident, #key> =
            ::storehaus::__private::KeyFn(|#row: &#ident| #call #args);
    }
}

/// `#[has_many]`, `#[has_one]` and `#[many_to_many]` look related rows up by the model's key.
fn own_keys(model: &Container<'_>) -> TokenStream {
    let ident = model.ident;
    quote! {
        static KEYS: ::storehaus::__private::KeyFn<#ident, <#ident as ::storehaus::__private::Model>::Key> =
            ::storehaus::__private::KeyFn(|row: &#ident| {
                ::core::option::Option::Some(::storehaus::__private::Model::key(row))
            });
    }
}

/// Checks only the compiler can make: the fields `foreign_key` and `target_key` name exist on
/// the related (or join) model and hold the right key, reported on the string that names them;
/// and a `set_null` foreign key is nullable, reported on its type.
pub fn checks(model: &Container<'_>) -> TokenStream {
    let set_null = model.fields.iter().filter_map(|field| set_null(model, field));
    let columns = model.relations.iter().filter_map(|relation| key_columns(model, relation));
    set_null.chain(columns).collect()
}

fn set_null(model: &Container<'_>, field: &Field<'_>) -> Option<TokenStream> {
    let relation = field.belongs_to.as_ref()?;
    let (OnDelete::SetNull, _) = relation.args.on_delete.as_ref()? else {
        return None;
    };
    let nullable = sql_type_item(field.ty, "NULLABLE");
    let (first, last) = type_spans(field.ty);
    let parent = relation.args.target.as_ref().map_or_else(|| model.ident.to_string(), short_name);
    let message = format!(
        "`on_delete = \"set_null\"` sets `{}` to NULL when its `{parent}` is deleted, so its type must be an Option<_>",
        field.column()
    );
    let panic = quote_spanned!(first=> ::core::panic!);
    let message = quote_spanned!(last=> (#message));
    Some(quote! {
        const _: () = if !#nullable { #panic #message };
    })
}

/// The field of `holder` named by `key` must hold values of `key_type`'s key (or an `Option` of
/// it). Read through the holder's typed columns, which are public whatever the field's
/// visibility.
fn holds_key(holder: &Ident, key: &LitStr, key_type: &TokenStream) -> Option<TokenStream> {
    let span = key.span();
    let field = ident_named(&key.value(), span)?;
    Some(quote_spanned! {span=>
        let _ = ::storehaus::__private::ForeignKey::<<#key_type as ::storehaus::__private::Model>::Key>::key(
            &value_of(#holder::columns().#field),
        );
    })
}

fn key_columns(model: &Container<'_>, relation: &RelationAttr<'_>) -> Option<TokenStream> {
    let ident = model.ident;
    let args = &relation.args;
    let target = model_type(args.target.as_ref()?, model);
    // Aliases keep the checks' tokens on the key strings while errors about the types themselves
    // stay where the types are written.
    let (related, join) = (format_ident!("__Related"), format_ident!("__Join"));
    let (holder_alias, checks) = if relation.kind == Kind::ManyToMany {
        let through = model_type(args.through.as_ref()?, model);
        let own = holds_key(&join, args.foreign_key.as_ref()?, &ident.to_token_stream())?;
        let other = holds_key(&join, args.target_key.as_ref()?, &quote!(#related))?;
        (quote!(type #join = #through; type #related = #target;), quote!(#own #other))
    } else {
        let own = holds_key(&related, args.foreign_key.as_ref()?, &ident.to_token_stream())?;
        (quote!(type #related = #target;), own)
    };
    Some(quote! {
        const _: () = {
            #holder_alias
            fn value_of<M, T>(_: ::storehaus::__private::Column<M, T>) -> T {
                ::core::unreachable!()
            }
            #[allow(dead_code)]
            fn check() {
                #checks
            }
        };
    })
}
