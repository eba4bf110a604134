//! The DDL every dialect writes alike: column definitions and indexes. What differs (altering a
//! column, SQLite's table rebuild) is in each backend's `ddl.rs`.

use super::quote_ident;
use crate::schema::IndexSpec;
use crate::types::ScalarType;

/// The SQL name of a scalar type, as both dialects spell it unless they say otherwise.
pub(crate) fn standard_type(scalar: ScalarType) -> &'static str {
    match scalar {
        ScalarType::Bool => "BOOLEAN",
        ScalarType::SmallInt => "SMALLINT",
        ScalarType::Integer => "INTEGER",
        ScalarType::BigInt => "BIGINT",
        ScalarType::Real => "REAL",
        ScalarType::Double => "DOUBLE PRECISION",
        ScalarType::Text => "TEXT",
        ScalarType::Uuid => "UUID",
        ScalarType::TimestampTz => "TIMESTAMPTZ",
        ScalarType::Timestamp => "TIMESTAMP",
        ScalarType::Date => "DATE",
        ScalarType::Time => "TIME",
        ScalarType::Decimal => "NUMERIC",
        ScalarType::Json => "JSON",
        ScalarType::Bytes => "BLOB",
    }
}

/// `"name" TYPE [PRIMARY KEY] [NOT NULL] [DEFAULT …]`
pub(crate) fn column_def(
    name: &str,
    declared: &str,
    primary_key: bool,
    not_null: bool,
    default: Option<&str>,
) -> String {
    let mut def = quote_ident(name);
    let parts = [
        (!declared.is_empty()).then_some(declared),
        primary_key.then_some("PRIMARY KEY"),
        not_null.then_some("NOT NULL"),
    ];
    for part in parts.into_iter().flatten() {
        def.push(' ');
        def.push_str(part);
    }
    if let Some(default) = default {
        def.push_str(" DEFAULT ");
        def.push_str(default);
    }
    def
}

/// `CREATE [UNIQUE] INDEX [CONCURRENTLY] "name" ON "table" [USING method] ("c1", …)`;
/// `concurrently` is PostgreSQL's.
pub(crate) fn create_index(table: &str, index: &IndexSpec, method: Option<&str>, concurrently: bool) -> String {
    let columns: Vec<String> = index.columns.iter().map(|c| quote_ident(c)).collect();
    let unique = if index.unique { "UNIQUE " } else { "" };
    let concurrently = if concurrently { "CONCURRENTLY " } else { "" };
    let using = method.map(|m| format!(" USING {m}")).unwrap_or_default();
    format!(
        "CREATE {unique}INDEX {concurrently}{} ON {}{using} ({})",
        quote_ident(&index.name),
        quote_ident(table),
        columns.join(", ")
    )
}
