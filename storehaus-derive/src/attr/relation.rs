//! The relation attributes: `#[belongs_to(..)]` on a field, `#[has_many(..)]`, `#[has_one(..)]`
//! and `#[many_to_many(..)]` on the struct.

use super::{Kind, list_items, string_value};
use crate::ctxt::Ctxt;
use syn::{Attribute, Expr, ExprLit, ExprPath, Lit, LitStr, Meta, Path};

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
