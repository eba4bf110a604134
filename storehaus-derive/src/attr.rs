//! Typed parsing of the attributes `#[model]` reads: `#[table(..)]`, `#[primary_key]`,
//! `#[field(..)]`, `#[index]`, `#[unique]`, `#[tenant]` and the relations `#[belongs_to(..)]`,
//! `#[has_many(..)]`, `#[has_one(..)]` and `#[many_to_many(..)]`.
//!
//! Each function reads one attribute, records what is wrong with it in the [`Ctxt`] and returns
//! whatever it could understand, so that one bad key does not hide the errors after it.

use crate::ctxt::Ctxt;
use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, ExprLit, ExprPath, Ident, Lit, LitStr, Meta, Path, Token};

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

/// What deleting a parent row does to the rows whose `#[belongs_to]` field refers to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    Restrict,
    Cascade,
    SetNull,
}

impl OnDelete {
    fn parse(value: &str) -> Option<OnDelete> {
        match value {
            "restrict" => Some(OnDelete::Restrict),
            "cascade" => Some(OnDelete::Cascade),
            "set_null" => Some(OnDelete::SetNull),
            _ => None,
        }
    }

    /// The name of the matching `storehaus::OnDelete` variant.
    pub fn variant(self) -> &'static str {
        match self {
            OnDelete::Restrict => "Restrict",
            OnDelete::Cascade => "Cascade",
            OnDelete::SetNull => "SetNull",
        }
    }
}

const ON_DELETE_VALUES: &str = "`\"restrict\"` (the default), `\"cascade\"` or `\"set_null\"`";

/// A relation attribute: `#[belongs_to(User, on_delete = "..", name = "..")]` on a field,
/// `#[has_many(Post, foreign_key = "..", name = "..")]`, `#[has_one(..)]` (the same keys) and
/// `#[many_to_many(Tag, through = PostTag, foreign_key = "..", target_key = "..", name = "..")]`
/// on the struct. Which keys apply depends on the attribute; the others are refused.
#[derive(Default)]
pub struct RelationArgs {
    /// The related model, written first.
    pub target: Option<Path>,
    /// The relation's name, when not the default one.
    pub name: Option<LitStr>,
    /// `on_delete` of `#[belongs_to]`, with the literal that chose it.
    pub on_delete: Option<(OnDelete, LitStr)>,
    /// The column holding the declaring model's key: a field of the related model, or of the join
    /// model of `#[many_to_many]`.
    pub foreign_key: Option<LitStr>,
    /// The join model's column holding the related model's key (`#[many_to_many]`).
    pub target_key: Option<LitStr>,
    /// The join model of `#[many_to_many]`.
    pub through: Option<Path>,
    /// The attribute could not be read in full (an error is recorded), so what it seems to lack
    /// may just be unreadable.
    pub malformed: bool,
}

/// The keys each relation attribute takes, after the related model, and how it is written.
fn relation_syntax(kind: Kind) -> (&'static [&'static str], &'static str) {
    match kind {
        Kind::BelongsTo => (&["on_delete", "name"], "#[belongs_to(User, on_delete = \"cascade\")]"),
        Kind::HasMany => (&["foreign_key", "name"], "#[has_many(Post, foreign_key = \"author_id\")]"),
        Kind::HasOne => (&["foreign_key", "name"], "#[has_one(Profile, foreign_key = \"user_id\")]"),
        _ => (
            &["through", "foreign_key", "target_key", "name"],
            "#[many_to_many(Tag, through = PostTag, foreign_key = \"post_id\", target_key = \"tag_id\")]",
        ),
    }
}

/// `a`, `a` or `b`, `a`, `b` or `c`: the keys an attribute takes, for error messages.
fn one_of(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

pub fn relation(cx: &Ctxt, attr: &Attribute, kind: Kind) -> RelationArgs {
    let name = kind.name();
    let (keys, example) = relation_syntax(kind);
    let expected = one_of(keys);
    let mut args = RelationArgs::default();
    let Some(items) = list_items(cx, attr, example) else {
        args.malformed = true;
        return args;
    };
    let mut items = items.into_iter().peekable();
    match items.peek() {
        Some(Meta::Path(path)) => {
            args.target = Some(path.clone());
            items.next();
        }
        Some(first) => {
            cx.error_spanned_by(first, format!("`#[{name}]` names the related model first, as in `{example}`"));
            args.malformed = true;
        }
        None => {
            cx.error_spanned_by(attr, format!("`#[{name}]` needs the related model, as in `{example}`"));
            args.malformed = true;
            return args;
        }
    }
    for meta in items {
        let key = meta.path().get_ident().filter(|key| keys.iter().any(|k| key == k));
        let Some(key) = key else {
            let hint = match meta.path().get_ident() {
                Some(ident) if kind == Kind::BelongsTo && ident == "foreign_key" => {
                    "; the field under `#[belongs_to]` is the foreign key"
                }
                _ => "",
            };
            let shown = meta.path().get_ident().map(|ident| format!(" `{ident}`")).unwrap_or_default();
            cx.error_spanned_by(meta.path(), format!("unknown `#[{name}]` key{shown}; expected {expected}{hint}"));
            args.malformed = true;
            continue;
        };
        let key_example = match key.to_string().as_str() {
            "through" => format!("#[{name}(Tag, through = PostTag)]"),
            other => format!("#[{name}(.., {other} = \"...\")]"),
        };
        let duplicate = match key.to_string().as_str() {
            "name" => args.name.is_some(),
            "on_delete" => args.on_delete.is_some(),
            "foreign_key" => args.foreign_key.is_some(),
            "target_key" => args.target_key.is_some(),
            _ => args.through.is_some(),
        };
        if duplicate {
            cx.error_spanned_by(key, format!("duplicate `{key}` in `#[{name}]`"));
            continue;
        }
        if key == "through" {
            match through_value(cx, &meta, &key_example) {
                Some(path) => args.through = Some(path),
                None => args.malformed = true,
            }
            continue;
        }
        let Some(lit) = string_value(cx, &meta, &key_example) else {
            args.malformed = true;
            continue;
        };
        match key.to_string().as_str() {
            "name" => args.name = Some(lit),
            "foreign_key" => args.foreign_key = Some(lit),
            "target_key" => args.target_key = Some(lit),
            _ => match OnDelete::parse(&lit.value()) {
                Some(action) => args.on_delete = Some((action, lit)),
                None => {
                    cx.error_spanned_by(
                        &lit,
                        format!("unknown `on_delete` value {:?}; expected {ON_DELETE_VALUES}", lit.value()),
                    );
                    args.malformed = true;
                }
            },
        }
    }
    args
}

/// The model of `through = PostTag`.
fn through_value(cx: &Ctxt, meta: &Meta, example: &str) -> Option<Path> {
    let Meta::NameValue(nv) = meta else {
        cx.error_spanned_by(meta, format!("expected `{example}`"));
        return None;
    };
    match &nv.value {
        Expr::Path(ExprPath { attrs, qself: None, path }) if attrs.is_empty() => Some(path.clone()),
        Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) => {
            cx.error_spanned_by(lit, format!("`through` takes the join model's type, not a string: `{example}`"));
            None
        }
        other => {
            cx.error_spanned_by(other, format!("expected the join model's type: `{example}`"));
            None
        }
    }
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
