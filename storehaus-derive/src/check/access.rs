//! Checks on row-level access: `#[table(auth, row_security)]` and the `#[tenant]` field.

use crate::ast::{Container, Field};
use crate::ctxt::Ctxt;
use syn::{GenericArgument, PathArguments, Type, TypePath};

pub fn check(cx: &Ctxt, model: &Container<'_>) {
    let tenants: Vec<_> = model.fields.iter().filter_map(|f| f.tenant.map(|attr| (f, attr))).collect();
    if let Some((first, _)) = tenants.first() {
        for (_, attr) in &tenants[1..] {
            cx.error_spanned_by(
                attr,
                format!("a model has at most one `#[tenant]` field, and `{}` is already it", first.column()),
            );
        }
    }
    for (field, _) in &tenants {
        check_tenant(cx, field);
    }
    if let Some(table) = &model.table
        && let Some(row_security) = &table.args.row_security
        && table.args.auth.is_none()
        && tenants.is_empty()
    {
        cx.error_spanned_by(
            row_security,
            "`row_security` needs `auth` or a `#[tenant]` field: without a scope its policies have nothing to check",
        );
    }
}

fn check_tenant(cx: &Ctxt, field: &Field<'_>) {
    if let Some(flags) = &field.flags {
        if let Some(key) = &flags.no_signal {
            cx.error_spanned_by(
                key,
                "every event carries the tenant as `__tenant__`, so `no_signal` cannot apply to the `#[tenant]` field",
            );
        }
        // A tenant scope puts its tenant into every row it creates: the field must be inserted.
        if let Some(key) = &flags.readonly {
            cx.error_spanned_by(
                key,
                "a tenant scope writes the tenant of every row it creates, so `readonly` cannot apply to the `#[tenant]` field",
            );
        } else if flags.create.is_none()
            && let Some(key) = &flags.update
        {
            cx.error_spanned_by(
                key,
                "a tenant scope writes the tenant of every row it creates, so the `#[tenant]` field needs `create` as well",
            );
        }
    }
    if field.generated
        && let Some(attr) = field.tenant
    {
        cx.error_spanned_by(
            attr,
            "the database assigns the key of an `auto_increment` table, so it cannot be the `#[tenant]` field",
        );
    }
    if let Some(kind) = non_scalar(field.ty) {
        cx.error_spanned_by(
            field.ty,
            format!("the `#[tenant]` field holds one scalar value (an id, a name, a number), not {kind}"),
        );
    }
}

/// Whether the type, or the `T` of `Option<T>`, is by its name an array or a JSON document.
/// A type alias hides this from the macro; the compile-time check on the column type (see
/// `expand::checks`) still refuses it.
fn non_scalar(ty: &Type) -> Option<&'static str> {
    let path = type_path(ty)?;
    let last = path.path.segments.last()?;
    if last.ident == "Option"
        && let PathArguments::AngleBracketed(args) = &last.arguments
        && let [GenericArgument::Type(inner)] = args.args.iter().collect::<Vec<_>>()[..]
    {
        return non_scalar(inner);
    }
    let segments: Vec<String> = path.path.segments.iter().map(|s| s.ident.to_string()).collect();
    match segments.last().map(String::as_str)? {
        "Vec" => Some("an array (`Vec<_>`)"),
        "Json" | "JsonValue" => Some("a JSON document"),
        // `Value` alone is taken to be `serde_json::Value`, imported; other `Value`s are qualified.
        "Value" if segments.len() == 1 || segments.iter().any(|s| s == "serde_json") => Some("a JSON document"),
        _ => None,
    }
}

fn type_path(ty: &Type) -> Option<&TypePath> {
    match ty {
        Type::Path(path) if path.qself.is_none() => Some(path),
        Type::Group(group) => type_path(&group.elem),
        Type::Paren(paren) => type_path(&paren.elem),
        _ => None,
    }
}
