//! How Rust field types map to columns.
//!
//! Every field type implements [`SqlType`]: it names a backend-neutral [`ColumnType`], says whether
//! the column is nullable, and converts to and from a [`Value`]. The backend turns a `ColumnType`
//! into its own type name (`TIMESTAMPTZ`, `JSONB`, …) and a `Value` into a bound parameter, so the
//! mapping is decided by the type itself, never by how its name is spelled.
//!
//! | Rust type | column |
//! |---|---|
//! | `bool` | `BOOLEAN` |
//! | `i8`, `u8`, `i16` | `SMALLINT` |
//! | `i32`, `u16` | `INTEGER` |
//! | `i64`, `u32` | `BIGINT` |
//! | `f32` / `f64` | `REAL` / `DOUBLE PRECISION` |
//! | `String` | `TEXT` |
//! | `Uuid` | `UUID` |
//! | `DateTime<Utc>` | `TIMESTAMPTZ` |
//! | `NaiveDateTime` / `NaiveDate` / `NaiveTime` | `TIMESTAMP` / `DATE` / `TIME` |
//! | `Decimal` | `NUMERIC` |
//! | `serde_json::Value`, [`Json<T>`], `sqlx::types::Json<T>` | `JSONB` |
//! | `Vec<u8>` | `BYTEA` |
//! | `Vec<T>` of the scalars above | `T[]` |
//! | `Option<T>` | the column of `T`, nullable |
//!
//! `i8`, `u8`, `u16` and `u32` keep their own range ([`SqlType::INT_RANGE`]): a filter or update
//! value outside it is refused with `StoreError::Validation` naming the field, and migrations guard
//! the column so arithmetic in SQL cannot leave it either. `u8` is a scalar field only (`Vec<u8>` is
//! `BYTEA`).
//!
//! Dates and times are stored for the years in [`STORABLE_YEARS`] (1 to 9999) on every backend; a
//! write or filter value outside them is refused with `StoreError::Validation` naming the field.
//!
//! A newtype or enum of your own implements [`SqlType`] by delegating to a type above:
//!
//! ```
//! use storehaus::types::{ColumnType, SqlType, Value, ValueError};
//!
//! #[derive(Debug, Clone, PartialEq)]
//! pub enum Status { Active, Banned }
//!
//! impl SqlType for Status {
//!     const COLUMN_TYPE: ColumnType = String::COLUMN_TYPE;
//!
//!     fn to_value(&self) -> Result<Value, ValueError> {
//!         Ok(Value::Text(match self { Status::Active => "active", Status::Banned => "banned" }.into()))
//!     }
//!
//!     fn from_value(value: Value) -> Result<Self, ValueError> {
//!         match String::from_value(value)?.as_str() {
//!             "active" => Ok(Status::Active),
//!             "banned" => Ok(Status::Banned),
//!             other => Err(ValueError::new(format!("unknown status {other:?}"))),
//!         }
//!     }
//! }
//!
//! assert_eq!(Status::from_value(Status::Banned.to_value().unwrap()).unwrap(), Status::Banned);
//! ```

#[cfg(test)]
pub(crate) mod fixtures;
mod impls;
mod int_range;
mod json;
mod range;
mod value;
pub(crate) mod wire;

pub use int_range::IntRange;
pub(crate) use json::check_json;
pub use json::{Json, MAX_JSON_DEPTH};
pub use range::STORABLE_YEARS;
pub(crate) use range::check_storable;
pub use value::Value;

use std::fmt;

/// The scalar column types StoreHaus knows, independent of any backend's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScalarType {
    /// `BOOLEAN`
    Bool,
    /// 16-bit integer (`SMALLINT`)
    SmallInt,
    /// 32-bit integer (`INTEGER`)
    Integer,
    /// 64-bit integer (`BIGINT`)
    BigInt,
    /// 32-bit float (`REAL`)
    Real,
    /// 64-bit float (`DOUBLE PRECISION`)
    Double,
    /// Unbounded text (`TEXT`)
    Text,
    /// `UUID`
    Uuid,
    /// Instant with time zone (`TIMESTAMPTZ`)
    TimestampTz,
    /// Wall-clock date and time without zone (`TIMESTAMP`)
    Timestamp,
    /// `DATE`
    Date,
    /// `TIME`
    Time,
    /// Arbitrary-precision decimal (`NUMERIC`)
    Decimal,
    /// JSON document (`JSONB`)
    Json,
    /// Byte string (`BYTEA`)
    Bytes,
}

/// The type of one column: a scalar or a one-dimensional array of a scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// A single value.
    Scalar(ScalarType),
    /// A one-dimensional array.
    Array(ScalarType),
}

impl ColumnType {
    /// The scalar type, or the element type of an array.
    pub const fn scalar(self) -> ScalarType {
        match self {
            ColumnType::Scalar(s) | ColumnType::Array(s) => s,
        }
    }

    /// Whether this is an array column.
    pub const fn is_array(self) -> bool {
        matches!(self, ColumnType::Array(_))
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::Scalar(s) => write!(f, "{s:?}"),
            ColumnType::Array(s) => write!(f, "{s:?}[]"),
        }
    }
}

/// A Rust type that can be stored in a column.
///
/// Implemented for the types in the [module table](self); implement it for your own newtypes and
/// enums. A field whose type does not implement it is a compile error on that field.
pub trait SqlType: Sized + Send + Sync + 'static {
    /// The column type this Rust type is stored as.
    const COLUMN_TYPE: ColumnType;

    /// Whether the column accepts `NULL` (only `Option<T>` says yes).
    const NULLABLE: bool = false;

    /// The values of an integer type narrower than its column (`i8`, `u8`, `u16`, `u32`), which
    /// StoreHaus enforces on every write and filter; `None` when the column's own range is the
    /// type's. A newtype over a narrow integer should delegate it.
    const INT_RANGE: Option<IntRange> = None;

    /// Converts the value for binding as a parameter.
    fn to_value(&self) -> Result<Value, ValueError>;

    /// Converts a value read from the database.
    fn from_value(value: Value) -> Result<Self, ValueError>;
}

/// A scalar type that may be the element of an array column (`Vec<T>`).
pub trait ArrayElement: SqlType {}

/// A value could not be converted: it did not fit the field type when read, or could not be
/// encoded when written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    message: String,
}

impl ValueError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        ValueError { message: message.into() }
    }

    /// The usual error: the value is not of the `expected` kind.
    pub fn unexpected(expected: &str, found: &Value) -> Self {
        ValueError::new(format!("expected {expected}, found {}", found.kind_name()))
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ValueError {}
