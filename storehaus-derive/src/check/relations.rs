//! Checks on relations: the keys each attribute needs, and the names of the functions generated
//! for them. Whether the named fields exist and hold the right keys is left to the compiler (see
//! `expand::relations`).

use crate::ast::{Container, Field, GENERATED_FUNCTIONS, RelationAttr, ident_named};
use crate::attr::Kind;
use crate::ctxt::Ctxt;
use proc_macro2::Span;
use syn::LitStr;

pub fn check(cx: &Ctxt, model: &Container<'_>) {
    for relation in &model.relations {
        check_keys(cx, relation);
    }
    // In source order, so that a repeated name is reported where it repeats.
    let mut seen: Vec<String> = Vec::new();
    for (relation, field) in model.all_relations() {
        let Some(name) = check_name(cx, model, relation, field) else { continue };
        if seen.contains(&name) {
            name_error(
                cx,
                relation,
                format!(
                    "duplicate relation name `{name}`: each relation of a model names its own function; set `name = \"...\"`"
                ),
            );
        } else {
            seen.push(name);
        }
    }
}

/// The keys `#[has_many]`, `#[has_one]` and `#[many_to_many]` need.
fn check_keys(cx: &Ctxt, relation: &RelationAttr<'_>) {
    let args = &relation.args;
    let attr = relation.kind.name();
    let target = relation.target_name();
    let holder = match &args.through {
        Some(through) => through.segments.last().map_or_else(String::new, |s| s.ident.to_string()),
        None => target.clone(),
    };
    for key in [&args.foreign_key, &args.target_key].into_iter().flatten() {
        check_column(cx, key, &holder);
    }
    if args.malformed {
        return;
    }
    if args.foreign_key.is_none() {
        let holder =
            if relation.kind == Kind::ManyToMany { "the join model".to_owned() } else { format!("`{holder}`") };
        cx.error_spanned_by(
            relation.attr,
            format!("`#[{attr}]` needs `foreign_key = \"...\"`: the field of {holder} that holds this model's key"),
        );
    }
    if relation.kind == Kind::ManyToMany {
        if args.through.is_none() {
            cx.error_spanned_by(
                relation.attr,
                format!("`#[{attr}]` needs `through = JoinModel`: the model whose rows pair this model's key with `{target}`'s"),
            );
        }
        if args.target_key.is_none() {
            cx.error_spanned_by(
                relation.attr,
                format!(
                    "`#[{attr}]` needs `target_key = \"...\"`: the field of the join model that holds `{target}`'s key"
                ),
            );
        }
    }
}

/// A `foreign_key` or `target_key` names a field.
fn check_column(cx: &Ctxt, key: &LitStr, holder: &str) {
    let value = key.value();
    if ident_named(&value, key.span()).is_none() {
        cx.error_spanned_by(
            key,
            format!("{value:?} is not a field name; name the field of `{holder}` that holds the key"),
        );
    }
}

/// The relation's name, when it has a valid one.
fn check_name(
    cx: &Ctxt,
    model: &Container<'_>,
    relation: &RelationAttr<'_>,
    field: Option<&Field<'_>>,
) -> Option<String> {
    let attr = relation.kind.name();
    let Some(name) = relation.name(model.ident, field) else {
        if let Some(field) = field
            && !relation.args.malformed
        {
            cx.error_spanned_by(
                relation.attr,
                format!(
                    "`{}` does not end in `_id`, so the relation has no default name; add `name = \"...\"`, as in `#[{attr}({}, name = \"...\")]`",
                    field.column(),
                    relation.target_name()
                ),
            );
        }
        return None;
    };
    let model_name = model.ident.to_string();
    if ident_named(&name, Span::call_site()).is_none() {
        name_error(
            cx,
            relation,
            format!("the relation name {name:?} is not an identifier: it names the function `{model_name}::{name}()`"),
        );
        return None;
    }
    if GENERATED_FUNCTIONS.contains(&name.as_str()) {
        let hint = if relation.args.name.is_some() { "" } else { "; add `name = \"...\"`" };
        name_error(
            cx,
            relation,
            format!("the relation name `{name}` is taken: `#[model]` generates `{model_name}::{name}()` already{hint}"),
        );
        return None;
    }
    if model.fields.iter().any(|f| f.column() == name) {
        let hint = if relation.args.name.is_some() { "" } else { "; add `name = \"...\"`" };
        name_error(
            cx,
            relation,
            format!(
                "the relation name `{name}` is also a field of `{model_name}`: a loaded record serializes its relations beside its fields, so the names must differ{hint}"
            ),
        );
        return None;
    }
    Some(name)
}

/// Reports a problem with the relation's name at its `name` literal, or at the attribute when
/// the name is the default one.
fn name_error(cx: &Ctxt, relation: &RelationAttr<'_>, message: String) {
    match &relation.args.name {
        Some(name) => cx.error_spanned_by(name, message),
        None => cx.error_spanned_by(relation.attr, message),
    }
}
