//! PostgreSQL spellings of StoreHaus column types.

use crate::backend::sql::ddl::standard_type;
use crate::model::system::SystemDefault;
use crate::types::{ColumnType, ScalarType};

/// The PostgreSQL type name of a scalar.
pub(crate) fn scalar_name(scalar: ScalarType) -> &'static str {
    match scalar {
        ScalarType::Json => "JSONB",
        ScalarType::Bytes => "BYTEA",
        other => standard_type(other),
    }
}

/// The PostgreSQL type name of a column type, such as `TEXT[]`.
pub(crate) fn type_name(ty: ColumnType) -> String {
    match ty {
        ColumnType::Scalar(s) => scalar_name(s).to_owned(),
        ColumnType::Array(s) => format!("{}[]", scalar_name(s)),
    }
}

/// The column type StoreHaus reads from a `pg_type.typname` (`_int4` is an `INTEGER[]`), or `None`
/// for a type StoreHaus does not map.
pub(crate) fn from_typname(typname: &str) -> Option<ColumnType> {
    match typname.strip_prefix('_') {
        Some(element) => scalar_from_typname(element).map(ColumnType::Array),
        None => scalar_from_typname(typname).map(ColumnType::Scalar),
    }
}

fn scalar_from_typname(typname: &str) -> Option<ScalarType> {
    Some(match typname {
        "bool" => ScalarType::Bool,
        "int2" => ScalarType::SmallInt,
        "int4" => ScalarType::Integer,
        "int8" => ScalarType::BigInt,
        "float4" => ScalarType::Real,
        "float8" => ScalarType::Double,
        // All read back as `String`, so a table made with VARCHAR by hand still fits a `String` field.
        "text" | "varchar" | "bpchar" | "name" | "citext" => ScalarType::Text,
        "uuid" => ScalarType::Uuid,
        "timestamptz" => ScalarType::TimestampTz,
        "timestamp" => ScalarType::Timestamp,
        "date" => ScalarType::Date,
        "time" => ScalarType::Time,
        "numeric" => ScalarType::Decimal,
        "jsonb" | "json" => ScalarType::Json,
        "bytea" => ScalarType::Bytes,
        _ => return None,
    })
}

/// The SQL expression of a system column default.
pub(crate) fn default_expr(default: SystemDefault) -> &'static str {
    match default {
        SystemDefault::Now => "now()",
        SystemDefault::EmptyArray => "'{}'",
        SystemDefault::One => "1",
    }
}

#[cfg(test)]
mod tests;
