//! SQLite spellings of StoreHaus column types.
//!
//! SQLite stores any value in any column; a declared type only gives the column an *affinity*
//! (<https://sqlite.org/datatype3.html#determination_of_column_affinity>), which converts values on
//! the way in. The names below are chosen so that the affinity never alters the encoding of
//! `values.rs`: a name without `INT`, `CHAR`, `CLOB`, `TEXT`, `BLOB`, `REAL`, `FLOA` or `DOUB` gets
//! NUMERIC affinity, which turns text that looks like a number into a number. Decimals and JSON
//! are stored as text such as `1.50` or `5`, so their names end in ` TEXT` to get TEXT affinity.
//! The other text encodings (UUIDs, times, JSON arrays) never look like numbers, so their plain
//! names are safe.

use crate::backend::sql::ddl::standard_type;
use crate::model::system::SystemDefault;
use crate::types::{ColumnType, ScalarType};

/// The declared type of a scalar column.
fn scalar_name(scalar: ScalarType) -> &'static str {
    match scalar {
        ScalarType::Double => "DOUBLE",
        ScalarType::Decimal => "DECIMAL TEXT",
        ScalarType::Json => "JSON TEXT",
        other => standard_type(other),
    }
}

/// The declared type of a column, such as `TEXT ARRAY`.
///
/// Arrays are JSON text, which never looks like a number, so `<scalar> ARRAY` is safe under any
/// affinity and drops the scalar's ` TEXT` (`DECIMAL ARRAY`, not `DECIMAL TEXT ARRAY`).
pub(crate) fn type_name(ty: ColumnType) -> String {
    match ty {
        ColumnType::Scalar(s) => scalar_name(s).to_owned(),
        ColumnType::Array(s) => format!("{} ARRAY", scalar_name(s).trim_end_matches(" TEXT")),
    }
}

/// The column type of a declared type (any case), or `None` for one StoreHaus does not map.
///
/// Besides the names [`type_name`] writes, a few common hand-written names are read, so a table
/// created by hand still fits; a length such as `VARCHAR(40)` is ignored as SQLite ignores it.
pub(crate) fn from_declared(declared: &str) -> Option<ColumnType> {
    let upper = declared.to_ascii_uppercase();
    let without_length = match (upper.find('('), upper.rfind(')')) {
        (Some(open), Some(close)) if open < close => format!("{} {}", &upper[..open], &upper[close + 1..]),
        _ => upper,
    };
    let words: Vec<&str> = without_length.split_whitespace().collect();
    match words.split_last() {
        Some((&"ARRAY", scalar)) => scalar_from_declared(&scalar.join(" ")).map(ColumnType::Array),
        _ => scalar_from_declared(&words.join(" ")).map(ColumnType::Scalar),
    }
}

fn scalar_from_declared(name: &str) -> Option<ScalarType> {
    Some(match name {
        "BOOLEAN" | "BOOL" => ScalarType::Bool,
        "SMALLINT" | "INT2" => ScalarType::SmallInt,
        "INTEGER" | "INT" | "INT4" => ScalarType::Integer,
        "BIGINT" | "INT8" => ScalarType::BigInt,
        "REAL" | "FLOAT4" => ScalarType::Real,
        "DOUBLE" | "DOUBLE PRECISION" | "FLOAT" | "FLOAT8" => ScalarType::Double,
        "TEXT" | "VARCHAR" | "CHARACTER VARYING" | "CHARACTER" | "CHAR" | "CLOB" => ScalarType::Text,
        "UUID" => ScalarType::Uuid,
        "TIMESTAMPTZ" | "TIMESTAMP WITH TIME ZONE" => ScalarType::TimestampTz,
        "TIMESTAMP" => ScalarType::Timestamp,
        "DATE" => ScalarType::Date,
        "TIME" => ScalarType::Time,
        "DECIMAL TEXT" | "DECIMAL" | "NUMERIC" => ScalarType::Decimal,
        "JSON TEXT" | "JSON" | "JSONB" => ScalarType::Json,
        "BLOB" | "BYTEA" => ScalarType::Bytes,
        _ => return None,
    })
}

/// The expression after `DEFAULT` of a system column in `CREATE TABLE`.
///
/// `now` is written in the `TIMESTAMPTZ` storage format: `%f` gives milliseconds, and three zeros
/// pad them to the six fractional digits of `values::timestamptz_text`.
pub(crate) fn default_expr(default: SystemDefault) -> &'static str {
    match default {
        SystemDefault::Now => "(strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')",
        SystemDefault::EmptyArray => "'[]'",
        SystemDefault::One => "1",
    }
}

/// How the stored values of a column of type `from` can become values of type `to`.
///
/// A rebuild copies values as they are stored (a `CAST` would break the text encodings), so only
/// types sharing a storage class can change: integer widths, float widths, and text-stored scalars
/// to `TEXT`. `None` when the change is not possible; otherwise `Some` of an SQL condition on
/// `value` that holds for a value the new type cannot represent, when a value can be out of range.
pub(crate) fn conversion(from: ColumnType, to: ColumnType, value: &str) -> Option<Option<String>> {
    use ScalarType::{BigInt, Date, Decimal, Double, Integer, Json, Real, SmallInt, Text, Time, Timestamp, Uuid};
    let (ColumnType::Scalar(from), ColumnType::Scalar(to)) = (from, to) else { return None };
    let range = |min: i64, max: i64| Some(Some(format!("{value} NOT BETWEEN {min} AND {max}")));
    match (from, to) {
        (SmallInt, Integer | BigInt) | (Integer, BigInt) | (Real, Double) => Some(None),
        (Integer | BigInt, SmallInt) => range(i16::MIN.into(), i16::MAX.into()),
        (BigInt, Integer) => range(i32::MIN.into(), i32::MAX.into()),
        // Finite doubles beyond f32's range; 9e999 is how SQLite spells infinity.
        (Double, Real) => Some(Some(format!("abs({value}) > {:e} AND abs({value}) < 9e999", f64::from(f32::MAX)))),
        (ScalarType::TimestampTz | Timestamp | Date | Time | Uuid | Decimal | Json, Text) => Some(None),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
