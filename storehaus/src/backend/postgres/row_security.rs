//! Row-level security of `#[table(.., row_security)]` models on PostgreSQL: the policy the
//! migration installs, and the transaction-local settings that make it narrow a transaction.
//!
//! The policy `storehaus_scope` reads two settings: `storehaus.principals` (a `text[]` literal)
//! and `storehaus.tenant` (the tenant value as text). A missing or empty setting means "no scope",
//! so migrations and unrestricted code see every row; a scoped store sets them with
//! `set_config(.., true)`, which ends with the transaction, so a pooled connection never carries
//! a scope into its next use. RLS is forced because the application role usually owns its tables,
//! and an owner is otherwise exempt.

use super::Postgres;
use super::introspect::{self, RowSecurityState};
use super::types::type_name;
use crate::backend::Backend;
use crate::backend::sql::{SqlText, TEXT_ARRAY, quote_ident, quote_literal};
use crate::error::StoreError;
use crate::model::TableDef;
use crate::model::system::AUTH;
use crate::schema::fnv1a;
use crate::types::Value;
use chrono::SecondsFormat;
use sqlx::postgres::PgArguments;
use sqlx::{Arguments, PgConnection};
use std::fmt::Write as _;

/// The name of the one policy StoreHaus manages on a table.
pub(crate) const POLICY: &str = "storehaus_scope";

const PRINCIPALS: &str = "storehaus.principals";
const TENANT: &str = "storehaus.tenant";

/// Sets both scope settings for the rest of the current transaction; `$1` is a `text[]` literal,
/// `$2` the tenant as text, each empty for "no scope".
const SET_SCOPE: &str = "SELECT set_config('storehaus.principals', $1, true), set_config('storehaus.tenant', $2, true)";

/// The statement that scopes the current transaction to `principals` and `tenant` (`None`: no
/// scope of that kind). `Some(&[])` is a scope that sees no row.
pub(crate) fn scope_settings(
    principals: Option<&[String]>,
    tenant: Option<&Value>,
) -> Result<(SqlText, PgArguments), StoreError> {
    let principals = principals.map(text_array_literal).transpose()?.unwrap_or_default();
    let tenant = tenant.map(tenant_text).transpose()?.unwrap_or_default();
    let mut args = PgArguments::default();
    let bind_error = |e: sqlx::error::BoxDynError| StoreError::Validation { field: None, message: e.to_string() };
    args.add(principals).map_err(bind_error)?;
    args.add(tenant).map_err(bind_error)?;
    Ok((SqlText::fixed(SET_SCOPE), args))
}

/// A PostgreSQL `text[]` literal holding exactly `items`: every element double-quoted, with `\`
/// and `"` escaped, so commas, braces, spaces and the word `NULL` stay plain text.
pub(crate) fn text_array_literal(items: &[String]) -> Result<String, StoreError> {
    let mut literal = String::with_capacity(2 + items.iter().map(|i| i.len() + 3).sum::<usize>());
    literal.push('{');
    for (n, item) in items.iter().enumerate() {
        if item.contains('\0') {
            return Err(StoreError::validation(AUTH, "a principal contains a NUL byte"));
        }
        if n > 0 {
            literal.push(',');
        }
        literal.push('"');
        for c in item.chars() {
            if matches!(c, '"' | '\\') {
                literal.push('\\');
            }
            literal.push(c);
        }
        literal.push('"');
    }
    literal.push('}');
    Ok(literal)
}

/// The tenant value as the text PostgreSQL casts back to the same value of the column's type.
pub(crate) fn tenant_text(value: &Value) -> Result<String, StoreError> {
    let invalid = |message: &str| Err(StoreError::Validation { field: None, message: message.to_owned() });
    Ok(match value {
        // An empty setting means "no scope"; an empty tenant would therefore widen, not narrow.
        Value::Text(text) if text.is_empty() => return invalid("an empty tenant cannot scope a row_security table"),
        Value::Text(text) if text.contains('\0') => return invalid("the tenant contains a NUL byte"),
        Value::Text(text) => text.clone(),
        Value::Bool(b) => b.to_string(),
        Value::SmallInt(n) => n.to_string(),
        Value::Integer(n) => n.to_string(),
        Value::BigInt(n) => n.to_string(),
        Value::Real(n) => n.to_string(),
        Value::Double(n) => n.to_string(),
        Value::Uuid(id) => id.hyphenated().to_string(),
        Value::Decimal(d) => d.to_string(),
        Value::TimestampTz(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        Value::Timestamp(t) => t.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
        Value::Date(d) => d.format("%Y-%m-%d").to_string(),
        Value::Time(t) => t.format("%H:%M:%S%.f").to_string(),
        Value::Bytes(bytes) => bytes.iter().fold(String::from("\\x"), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        }),
        Value::Null => return invalid("the tenant is NULL"),
        other => return invalid(&format!("a {} value cannot be a tenant", other.kind_name())),
    })
}

/// The scope predicate of `table`'s policy: the principal test and the tenant test, each true
/// when its setting is missing or empty. Only the model's identifiers are in it.
pub(crate) fn predicate(table: &TableDef) -> Option<String> {
    let principals = table.auth.then(|| {
        let test = format!("{} && CAST({} AS {})", quote_ident(AUTH), setting(PRINCIPALS), type_name(TEXT_ARRAY));
        unless_unset(PRINCIPALS, &test)
    });
    let tenant = table.tenant_column().map(|column| {
        let test = format!("{} = CAST({} AS {})", quote_ident(column.name), setting(TENANT), type_name(column.ty));
        unless_unset(TENANT, &test)
    });
    let parts: Vec<String> = principals.into_iter().chain(tenant).collect();
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

fn setting(name: &str) -> String {
    format!("NULLIF(current_setting('{name}', true), '')")
}

/// `test`, guarded so it runs only when setting `name` is set: PostgreSQL does not promise the
/// order of `OR`, but a `CASE` never evaluates a branch it does not take.
fn unless_unset(name: &str, test: &str) -> String {
    format!("(CASE WHEN {} IS NULL THEN true ELSE {test} END)", setting(name))
}

/// The comment that marks the policy as StoreHaus's: a hash of the predicate it was made from and
/// one of the expressions as the catalog holds them, so a model change or a hand edit shows.
fn fingerprint(source: &str, using: Option<&str>, check: Option<&str>) -> String {
    let stored = format!("{}\0{}", using.unwrap_or_default(), check.unwrap_or_default());
    format!("storehaus:{:016x}:{:016x}", fnv1a(source.as_bytes()), fnv1a(stored.as_bytes()))
}

/// Whether the table's policy is exactly the one the model wants.
fn current(table: &TableDef, state: &RowSecurityState) -> bool {
    match (predicate(table), &state.policy) {
        (Some(source), Some(policy)) => {
            policy.plain
                && policy.comment.as_deref()
                    == Some(&fingerprint(&source, policy.using.as_deref(), policy.check.as_deref()))
        }
        _ => false,
    }
}

/// What to remove before the table's columns change: a policy the model no longer wants in this
/// form (it would block changing or dropping a column it reads), and RLS itself when the model is
/// no longer `row_security` and no policy of anyone else's is left.
pub(crate) fn removals(table: &TableDef, state: &RowSecurityState) -> Vec<String> {
    let name = quote_ident(table.name);
    let mut statements = Vec::new();
    if state.policy.is_some() && !(table.row_security && current(table, state)) {
        statements.push(format!("DROP POLICY {} ON {name}", quote_ident(POLICY)));
    }
    if !table.row_security && state.policy.is_some() && state.other_policies == 0 {
        if state.forced {
            statements.push(format!("ALTER TABLE {name} NO FORCE ROW LEVEL SECURITY"));
        }
        if state.enabled {
            statements.push(format!("ALTER TABLE {name} DISABLE ROW LEVEL SECURITY"));
        }
    }
    statements
}

/// What to add after the columns are in line: RLS enabled and forced, and the policy when missing
/// (`removals` dropped a stale one).
pub(crate) fn additions(table: &TableDef, state: &RowSecurityState) -> Vec<String> {
    let (true, Some(source)) = (table.row_security, predicate(table)) else { return Vec::new() };
    let name = quote_ident(table.name);
    let mut statements = Vec::new();
    if !state.enabled {
        statements.push(format!("ALTER TABLE {name} ENABLE ROW LEVEL SECURITY"));
    }
    if !state.forced {
        statements.push(format!("ALTER TABLE {name} FORCE ROW LEVEL SECURITY"));
    }
    if state.policy.is_none() {
        statements.push(format!(
            "CREATE POLICY {} ON {name} AS PERMISSIVE FOR ALL TO PUBLIC USING ({source}) WITH CHECK ({source})",
            quote_ident(POLICY)
        ));
    }
    statements
}

/// Before the column changes of a migration, inside its transaction: drops what the model no
/// longer wants. Returns the statements it ran.
pub(crate) async fn prepare(conn: &mut PgConnection, table: &TableDef) -> Result<Vec<String>, StoreError> {
    let Some(state) = read_state(conn, table).await? else { return Ok(Vec::new()) };
    run(conn, removals(table, &state)).await
}

/// After the column changes of a migration, inside its transaction: enables and forces RLS and
/// creates the policy, marked with its fingerprint. Returns the statements it ran; none when the
/// table is already in line.
pub(crate) async fn migrate(conn: &mut PgConnection, table: &TableDef) -> Result<Vec<String>, StoreError> {
    // Turning RLS off is all `prepare`'s.
    let Some(source) = predicate(table).filter(|_| table.row_security) else { return Ok(Vec::new()) };
    let Some(mut state) = read_state(conn, table).await? else { return Ok(Vec::new()) };
    let mut statements = run(conn, removals(table, &state)).await?;
    if !statements.is_empty() {
        state = read_state(conn, table).await?.unwrap_or_default();
    }
    let added = run(conn, additions(table, &state)).await?;
    if !added.is_empty() {
        state = read_state(conn, table).await?.unwrap_or_default();
    }
    statements.extend(added);
    let Some(policy) = state.policy else { return Ok(statements) };
    // The catalog's spelling of the expressions is only known once the policy exists.
    let mark = fingerprint(&source, policy.using.as_deref(), policy.check.as_deref());
    if policy.comment.as_deref() != Some(mark.as_str()) {
        let (policy, table) = (quote_ident(POLICY), quote_ident(table.name));
        let comment = format!("COMMENT ON POLICY {policy} ON {table} IS {}", quote_literal(&mark));
        statements.extend(run(conn, vec![comment]).await?);
    }
    Ok(statements)
}

async fn read_state(conn: &mut PgConnection, table: &TableDef) -> Result<Option<RowSecurityState>, StoreError> {
    introspect::row_security(conn, table.name, POLICY).await.map_err(Postgres::error)
}

async fn run(conn: &mut PgConnection, statements: Vec<String>) -> Result<Vec<String>, StoreError> {
    for sql in &statements {
        let text = SqlText::assembled(sql.clone());
        sqlx::query(text.into_sqlx()).execute(&mut *conn).await.map_err(Postgres::error)?;
    }
    Ok(statements)
}

#[cfg(test)]
mod tests;
