//! Typed parsing of the attributes `#[model]` reads: `#[table(..)]`, `#[primary_key]`,
//! `#[field(..)]`, `#[index]`, `#[unique]`, `#[tenant]` and the relations `#[belongs_to(..)]`,
//! `#[has_many(..)]`, `#[has_one(..)]` and `#[many_to_many(..)]`.
//!
//! Each function reads one attribute, records what is wrong with it in the [`Ctxt`] and returns
//! whatever it could understand, so that one bad key does not hide the errors after it.

mod relation;

pub use relation::{OnDelete, RelationArgs, relation};

use crate::ctxt::Ctxt;
use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, ExprLit, Ident, Lit, LitStr, Meta, Token};

/// The attributes that belong to `#[model]` and are removed from its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Table,
    PrimaryKey,
    Field,
    Index,
    Unique,
    Tenant,
    BelongsTo,
    HasMany,
    HasOne,
    ManyToMany,
}

impl Kind {
    /// Which of our attributes `attr` is, if any. Only bare names count, so that a path such as
    /// `#[other::index]` stays somebody else's attribute; the one exception is `table`, which is
    /// also a macro of ours and may be written `#[storehaus::table(..)]`.
    pub fn of(attr: &Attribute) -> Option<Kind> {
        let path = attr.path();
        if let [crate_name, table] = path.segments.iter().collect::<Vec<_>>()[..]
            && crate_name.ident == "storehaus"
            && table.ident == "table"
        {
            return Some(Kind::Table);
        }
        let ident = path.get_ident()?;
        Some(match ident.to_string().as_str() {
            "table" => Kind::Table,
            "primary_key" => Kind::PrimaryKey,
            "field" => Kind::Field,
            "index" => Kind::Index,
            "unique" => Kind::Unique,
            "tenant" => Kind::Tenant,
            "belongs_to" => Kind::BelongsTo,
            "has_many" => Kind::HasMany,
            "has_one" => Kind::HasOne,
            "many_to_many" => Kind::ManyToMany,
            _ => return None,
        })
    }

    /// The attribute's name as users write it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Table => "table",
            Kind::PrimaryKey => "primary_key",
            Kind::Field => "field",
            Kind::Index => "index",
            Kind::Unique => "unique",
            Kind::Tenant => "tenant",
            Kind::BelongsTo => "belongs_to",
            Kind::HasMany => "has_many",
            Kind::HasOne => "has_one",
            Kind::ManyToMany => "many_to_many",
        }
    }
}

/// Whether an attribute's path is `model` (possibly qualified, as in `storehaus::model`).
pub fn is_model_attr(attr: &Attribute) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == "model")
}

/// `#[table(name = "..", soft_delete, versioned, auto_increment, auth, row_security)]`.
#[derive(Default)]
pub struct TableArgs {
    pub name: Option<LitStr>,
    /// The key that enabled soft delete (`soft_delete` or its alias `auto_soft_delete`).
    pub soft_delete: Option<Ident>,
    pub versioned: Option<Ident>,
    /// The database assigns the primary key on insert.
    pub auto_increment: Option<Ident>,
    /// Rows carry `__auth__`, the principals that may see them.
    pub auth: Option<Ident>,
    /// PostgreSQL enforces the access scopes with row-level security as well.
    pub row_security: Option<Ident>,
    /// The attribute could not be read in full (an error is recorded), so what it seems to lack
    /// may just be unreadable.
    pub malformed: bool,
}

const TABLE_KEYS: &str =
    "`name`, `soft_delete`, `auto_soft_delete`, `versioned`, `auto_increment`, `auth` or `row_security`";

pub fn table(cx: &Ctxt, attr: &Attribute) -> TableArgs {
    let mut args = TableArgs::default();
    let Some(items) = list_items(cx, attr, "#[table(name = \"...\")]") else {
        args.malformed = true;
        return args;
    };
    for meta in items {
        let Some(key) = meta.path().get_ident() else {
            cx.error_spanned_by(meta.path(), format!("unknown `#[table]` key; expected {TABLE_KEYS}"));
            continue;
        };
        match key.to_string().as_str() {
            "name" => {
                let Some(lit) = string_value(cx, &meta, "#[table(name = \"...\")]") else {
                    args.malformed = true;
                    continue;
                };
                if args.name.is_some() {
                    cx.error_spanned_by(key, "duplicate `name` in `#[table]`");
                } else {
                    args.name = Some(lit);
                }
            }
            "soft_delete" | "auto_soft_delete" => {
                if !no_value(cx, &meta, key, "table") {
                    continue;
                }
                match &args.soft_delete {
                    Some(first) if first == key => {
                        cx.error_spanned_by(key, format!("duplicate `{key}` in `#[table]`"));
                    }
                    Some(first) => cx.error_spanned_by(
                        key,
                        format!(
                            "`{key}` repeats `{first}`: `auto_soft_delete` is an alias of `soft_delete`, give only one"
                        ),
                    ),
                    None => args.soft_delete = Some(key.clone()),
                }
            }
            "versioned" | "auto_increment" | "auth" | "row_security" => {
                if !no_value(cx, &meta, key, "table") {
                    continue;
                }
                let slot = match key.to_string().as_str() {
                    "versioned" => &mut args.versioned,
                    "auto_increment" => &mut args.auto_increment,
                    "auth" => &mut args.auth,
                    _ => &mut args.row_security,
                };
                if slot.is_some() {
                    cx.error_spanned_by(key, format!("duplicate `{key}` in `#[table]`"));
                } else {
                    *slot = Some(key.clone());
                }
            }
            _ => cx.error_spanned_by(key, format!("unknown `#[table]` key `{key}`; expected {TABLE_KEYS}")),
        }
    }
    args
}

/// `#[field(create, update)]` / `#[field(readonly)]`, and `#[field(no_signal)]` alone or with
/// either.
#[derive(Default)]
pub struct FieldArgs {
    pub create: Option<Ident>,
    pub update: Option<Ident>,
    pub readonly: Option<Ident>,
    /// Left out of change-event payloads.
    pub no_signal: Option<Ident>,
}

impl FieldArgs {
    /// Whether the attribute says which writes include the field; without `create`, `update` or
    /// `readonly` (as in `#[field(no_signal)]`) a field is written on create and update.
    pub fn chooses_writes(&self) -> bool {
        self.create.is_some() || self.update.is_some() || self.readonly.is_some()
    }
}

const FIELD_KEYS: &str = "`create`, `update`, `readonly` or `no_signal`";

pub fn field(cx: &Ctxt, attr: &Attribute) -> FieldArgs {
    let mut args = FieldArgs::default();
    let Some(items) = list_items(cx, attr, "#[field(create, update)]") else {
        return args;
    };
    if items.is_empty() {
        cx.error_spanned_by(
            attr,
            format!("`#[field]` needs at least one of {FIELD_KEYS}; without `#[field]` a field is written on create and update"),
        );
        return args;
    }
    for meta in items {
        let Some(key) = meta.path().get_ident() else {
            cx.error_spanned_by(meta.path(), format!("unknown `#[field]` key; expected {FIELD_KEYS}"));
            continue;
        };
        let slot = match key.to_string().as_str() {
            "create" => &mut args.create,
            "update" => &mut args.update,
            "readonly" => &mut args.readonly,
            "no_signal" => &mut args.no_signal,
            _ => {
                cx.error_spanned_by(key, format!("unknown `#[field]` key `{key}`; expected {FIELD_KEYS}"));
                continue;
            }
        };
        if !no_value(cx, &meta, key, "field") {
            continue;
        }
        if slot.is_some() {
            cx.error_spanned_by(key, format!("duplicate `{key}` in `#[field]`"));
        } else {
            *slot = Some(key.clone());
        }
    }
    if let Some(readonly) = &args.readonly
        && let Some(other) = args.create.as_ref().or(args.update.as_ref())
    {
        cx.error_spanned_by(
            readonly,
            format!("`readonly` means the field is never written, so it cannot be combined with `{other}`"),
        );
    }
    args
}

/// A flag attribute that takes no arguments: `#[primary_key]`, `#[tenant]`, and `#[index]` /
/// `#[unique]` on a field. Returns whether it was well formed.
pub fn flag(cx: &Ctxt, attr: &Attribute, kind: Kind) -> bool {
    let name = kind.name();
    let hint = match kind {
        Kind::Index | Kind::Unique => {
            format!("; for an index over several columns put `#[{name}(a, b)]` on the struct")
        }
        _ => String::new(),
    };
    match &attr.meta {
        Meta::Path(_) => true,
        Meta::List(list) => {
            cx.error_at(list.delimiter.span().join(), format!("`#[{name}]` on a field takes no arguments{hint}"));
            false
        }
        Meta::NameValue(nv) => {
            cx.error_spanned_by(&nv.value, format!("`#[{name}]` on a field takes no value{hint}"));
            false
        }
    }
}

/// The columns of a struct-level `#[index(a, b)]` / `#[unique(a, b)]`, as written. Field names
/// may be keywords (`#[index(type)]`) or raw identifiers (`#[index(r#type)]`).
pub fn composite(cx: &Ctxt, attr: &Attribute, kind: Kind) -> Option<Vec<Ident>> {
    let name = kind.name();
    let example = format!("#[{name}(a, b)]");
    let tokens = list_tokens(cx, attr, &example)?;
    let parser = |input: syn::parse::ParseStream<'_>| {
        Punctuated::<Ident, Token![,]>::parse_terminated_with(input, Ident::parse_any)
    };
    let columns: Vec<Ident> = match parser.parse2(tokens) {
        Ok(columns) => columns.into_iter().collect(),
        Err(error) => {
            cx.error_at(error.span(), format!("expected field names separated by commas, as in `{example}`"));
            return None;
        }
    };
    if columns.is_empty() {
        cx.error_spanned_by(attr, format!("`#[{name}]` on a struct needs the fields it covers, e.g. `{example}`"));
        return None;
    }
    Some(columns)
}

/// The items of `#[name(a, b = "..")]`; a bare `#[name]` has none.
fn list_items(cx: &Ctxt, attr: &Attribute, example: &str) -> Option<Vec<Meta>> {
    let tokens = list_tokens(cx, attr, example)?;
    match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens) {
        Ok(items) => Some(items.into_iter().collect()),
        Err(error) => {
            cx.error_at(error.span(), format!("{error}, as in `{example}`"));
            None
        }
    }
}

/// The tokens inside the parentheses of `attr`; empty for a bare `#[name]`.
fn list_tokens(cx: &Ctxt, attr: &Attribute, example: &str) -> Option<TokenStream> {
    match &attr.meta {
        Meta::Path(_) => Some(TokenStream::new()),
        Meta::List(list) => Some(list.tokens.clone()),
        Meta::NameValue(_) => {
            cx.error_spanned_by(attr, format!("expected `{example}`"));
            None
        }
    }
}

/// The string of `key = "value"`.
fn string_value(cx: &Ctxt, meta: &Meta, example: &str) -> Option<LitStr> {
    match meta {
        Meta::NameValue(nv) => match &nv.value {
            Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) => Some(lit.clone()),
            other => {
                cx.error_spanned_by(other, format!("expected a string literal: `{example}`"));
                None
            }
        },
        other => {
            cx.error_spanned_by(other, format!("expected `{example}`"));
            None
        }
    }
}

/// Checks that a key is a bare word, not `key = ..` or `key(..)`.
fn no_value(cx: &Ctxt, meta: &Meta, key: &Ident, attr: &str) -> bool {
    match meta {
        Meta::Path(_) => true,
        Meta::List(list) => {
            cx.error_at(list.delimiter.span().join(), format!("`{key}` in `#[{attr}]` takes no arguments"));
            false
        }
        Meta::NameValue(nv) => {
            cx.error_spanned_by(&nv.value, format!("`{key}` in `#[{attr}]` takes no value"));
            false
        }
    }
}
