//! Checks that need the whole model: the table, the primary key, field names, the columns of
//! struct-level indexes, row-level access and relations. Checks on field types are left to the compiler
//! (see `expand::checks`), except what their names show.

mod access;
mod relations;

use crate::ast::{Container, Field};
use crate::ctxt::Ctxt;
use syn::ext::IdentExt;

/// PostgreSQL truncates identifiers longer than this many bytes (`NAMEDATALEN - 1`).
const MAX_IDENTIFIER_BYTES: usize = 63;

pub fn check(cx: &Ctxt, model: &Container<'_>) {
    check_table(cx, model);
    check_primary_key(cx, model);
    for field in &model.fields {
        check_field_name(cx, field);
    }
    check_indexes(cx, model);
    access::check(cx, model);
    relations::check(cx, model);
}

fn check_table(cx: &Ctxt, model: &Container<'_>) {
    let Some(table) = &model.table else {
        cx.error_spanned_by(
            model.ident,
            "missing `#[table(name = \"...\")]`: a model needs a table, declared after `#[model]`",
        );
        return;
    };
    let Some(name) = &table.args.name else {
        if table.args.malformed {
            return;
        }
        cx.error_spanned_by(table.attr, "`#[table]` needs the table name: `#[table(name = \"...\")]`");
        return;
    };
    let value = name.value();
    if value.is_empty() {
        cx.error_spanned_by(name, "the table name cannot be empty");
    } else if value.len() > MAX_IDENTIFIER_BYTES {
        cx.error_spanned_by(
            name,
            format!(
                "the table name is {} bytes long; PostgreSQL names are at most {MAX_IDENTIFIER_BYTES} bytes",
                value.len()
            ),
        );
    }
    if value.contains('\0') {
        cx.error_spanned_by(name, "the table name cannot contain a NUL character");
    }
}

/// The most fields a composite key may have (the largest key tuple).
const MAX_KEY_FIELDS: usize = 4;

fn check_primary_key(cx: &Ctxt, model: &Container<'_>) {
    let keys: Vec<_> = model.fields.iter().filter_map(|f| f.primary_key.map(|attr| (f, attr))).collect();
    if keys.is_empty() {
        cx.error_spanned_by(model.ident, "a model needs one field marked `#[primary_key]`");
        return;
    }
    if keys.len() > MAX_KEY_FIELDS {
        cx.error_spanned_by(
            keys[MAX_KEY_FIELDS].1,
            format!("a composite primary key has at most {MAX_KEY_FIELDS} fields"),
        );
    }
    if keys.len() > 1
        && let Some(auto) = model.table.as_ref().and_then(|t| t.args.auto_increment.as_ref())
    {
        cx.error_spanned_by(
            auto,
            "`auto_increment` needs a single `#[primary_key]`: the database assigns one integer, not a composite key",
        );
    }
    for (field, _) in keys {
        check_key_flags(cx, field);
    }
}

/// The write flags a key field cannot have.
fn check_key_flags(cx: &Ctxt, first: &Field<'_>) {
    if let Some(flags) = &first.flags {
        // The key is always inserted and never SET; a flag that says otherwise would be ignored.
        for key in [&flags.update, &flags.readonly].into_iter().flatten() {
            cx.error_spanned_by(
                key,
                format!("the primary key is written on create and never updated, so `{key}` cannot apply to it"),
            );
        }
        if first.generated
            && let Some(key) = &flags.create
        {
            cx.error_spanned_by(
                key,
                "the database assigns the key of an `auto_increment` table and inserts never write it, so `create` cannot apply to it",
            );
        }
        if let Some(key) = &flags.no_signal {
            cx.error_spanned_by(
                key,
                "every event carries the primary key as its `record_id`, so `no_signal` cannot apply to it",
            );
        }
    }
}

fn check_field_name(cx: &Ctxt, field: &Field<'_>) {
    let column = field.column();
    if is_reserved(&column) {
        cx.error_spanned_by(
            field.ident,
            format!("`{column}` is reserved: names that start and end with `__` belong to system columns"),
        );
    } else if column.len() > MAX_IDENTIFIER_BYTES {
        cx.error_spanned_by(
            field.ident,
            format!(
                "the column name is {} bytes long; PostgreSQL names are at most {MAX_IDENTIFIER_BYTES} bytes",
                column.len()
            ),
        );
    }
}

/// The same rule as `storehaus::model::system::is_reserved`, which a proc macro cannot call.
fn is_reserved(name: &str) -> bool {
    name.len() >= 4 && name.starts_with("__") && name.ends_with("__")
}

fn check_indexes(cx: &Ctxt, model: &Container<'_>) {
    for index in &model.indexes {
        let attr = if index.unique { "unique" } else { "index" };
        let mut seen: Vec<String> = Vec::new();
        for column in &index.columns {
            let name = column.unraw().to_string();
            if !model.fields.iter().any(|f| f.column() == name) {
                cx.error_spanned_by(column, format!("`#[{attr}]` names `{name}`, which is not a field of this struct"));
            } else if seen.contains(&name) {
                cx.error_spanned_by(column, format!("`{name}` appears twice in this `#[{attr}]`"));
            } else {
                seen.push(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_reserved;

    #[test]
    fn reserved_names_start_and_end_with_two_underscores() {
        assert!(is_reserved("__tags__"));
        assert!(is_reserved("____"));
        assert!(!is_reserved("___"));
        assert!(!is_reserved("__tags"));
        assert!(!is_reserved("tags__"));
        assert!(!is_reserved("_tags_"));
    }
}
