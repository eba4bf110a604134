//! The system columns StoreHaus adds to every table.

use super::TableDef;
use crate::types::{ColumnType, ScalarType};

/// `__created_at__`: set once by the server's clock on insert.
pub const CREATED_AT: &str = "__created_at__";
/// `__updated_at__`: set by the server's clock on insert and on every update.
pub const UPDATED_AT: &str = "__updated_at__";
/// `__tags__`: the record's tags (GIN-indexed).
pub const TAGS: &str = "__tags__";
/// `__deleted_at__`: when a soft-deleted row was deleted; `NULL` while it is live.
pub const DELETED_AT: &str = "__deleted_at__";
/// `__version__`: the optimistic-locking version, starting at 1.
pub const VERSION: &str = "__version__";
/// `__auth__`: the principals that may see the row (`#[table(auth)]`; GIN-indexed).
pub const AUTH: &str = "__auth__";

/// A column the framework adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemColumn {
    /// The column name.
    pub name: &'static str,
    /// The column type.
    pub ty: ColumnType,
    /// Whether the column accepts `NULL`.
    pub nullable: bool,
    /// The column default, if any.
    pub default: Option<SystemDefault>,
    /// Which tables carry it.
    pub presence: Presence,
}

/// The default of a system column, spelled by each backend in its own dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemDefault {
    /// The current time.
    Now,
    /// An empty array.
    EmptyArray,
    /// The integer one.
    One,
}

/// Which tables carry a system column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Every table.
    Always,
    /// Tables declared `soft_delete`.
    SoftDelete,
    /// Tables declared `versioned`.
    Versioned,
    /// Tables declared `auth`.
    Auth,
}

impl SystemColumn {
    /// Whether `table` carries this column.
    pub fn applies_to(&self, table: &TableDef) -> bool {
        match self.presence {
            Presence::Always => true,
            Presence::SoftDelete => table.soft_delete,
            Presence::Versioned => table.versioned,
            Presence::Auth => table.auth,
        }
    }
}

/// Every system column, in the order they follow a table's declared columns.
pub const SYSTEM_COLUMNS: &[SystemColumn] = &[
    SystemColumn {
        name: CREATED_AT,
        ty: ColumnType::Scalar(ScalarType::TimestampTz),
        nullable: false,
        default: Some(SystemDefault::Now),
        presence: Presence::Always,
    },
    SystemColumn {
        name: UPDATED_AT,
        ty: ColumnType::Scalar(ScalarType::TimestampTz),
        nullable: false,
        default: Some(SystemDefault::Now),
        presence: Presence::Always,
    },
    SystemColumn {
        name: TAGS,
        ty: ColumnType::Array(ScalarType::Text),
        nullable: false,
        default: Some(SystemDefault::EmptyArray),
        presence: Presence::Always,
    },
    SystemColumn {
        name: DELETED_AT,
        ty: ColumnType::Scalar(ScalarType::TimestampTz),
        nullable: true,
        default: None,
        presence: Presence::SoftDelete,
    },
    SystemColumn {
        name: VERSION,
        ty: ColumnType::Scalar(ScalarType::BigInt),
        nullable: false,
        default: Some(SystemDefault::One),
        presence: Presence::Versioned,
    },
    SystemColumn {
        name: AUTH,
        ty: ColumnType::Array(ScalarType::Text),
        nullable: false,
        default: Some(SystemDefault::EmptyArray),
        presence: Presence::Auth,
    },
];

/// The `__tags__` column, which tag filters test.
pub(crate) const TAGS_COLUMN: &SystemColumn = &SYSTEM_COLUMNS[2];

/// The `__auth__` column, which principal scopes test.
pub(crate) const AUTH_COLUMN: &SystemColumn = &SYSTEM_COLUMNS[5];

/// Whether `name` is reserved for a system column (every name that starts and ends with `__`).
pub fn is_reserved(name: &str) -> bool {
    name.len() >= 4 && name.starts_with("__") && name.ends_with("__")
}
