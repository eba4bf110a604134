//! Model metadata: what `#[model]` generates and what stores and migrations read.
//!
//! Users do not implement [`Model`] by hand; `#[model]` does, from the struct and its attributes.

mod column;
pub(crate) mod generated;
mod key;
mod record;
pub mod system;

pub use column::Column;
pub use generated::GeneratedKey;
pub(crate) use generated::key_is_unset;
pub use key::Key;
pub(crate) use key::{key_identity, key_values};
pub use record::{Record, SystemFields};
pub(crate) use record::{ValuesReader, read_record};

use crate::error::StoreError;
use crate::types::{ColumnType, IntRange, SqlType, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A struct that `#[model]` turned into a table.
///
/// Models serialize with serde (`#[model]` derives it unless you do), which is how records travel
/// through caches and change events.
pub trait Model: Serialize + DeserializeOwned + Sized + Send + Sync + Unpin + 'static {
    /// The type of the primary key: the key field's type, or a tuple of the key fields' types
    /// in declaration order for a composite key.
    type Key: Key;

    /// The table's metadata.
    const TABLE: &'static TableDef;

    /// The primary key of this value.
    fn key(&self) -> Self::Key;

    /// Pushes the values of the columns that `write` includes, in column order.
    fn write_values(&self, write: Write, out: &mut Vec<Value>) -> Result<(), StoreError>;

    /// Reads the model's columns, in column order, from the current position of `row`.
    fn read_row<R: RowReader>(row: &mut R) -> Result<Self, StoreError>;
}

/// Which write a set of values is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Write {
    /// An insert.
    Create,
    /// An update.
    Update,
}

/// Reads column values by position; implemented by each backend's row type.
pub trait RowReader {
    /// Reads the next column as `T` and moves past it.
    fn read<T: SqlType>(&mut self) -> Result<T, StoreError>;
}

/// The metadata of a model's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDef {
    /// The table name (unquoted).
    pub name: &'static str,
    /// The Rust struct name.
    pub model: &'static str,
    /// The declared fields, in declaration order. System columns are not listed; see
    /// [`TableDef::system_columns`].
    pub columns: &'static [ColumnDef],
    /// Index into `columns` of the primary key (of its first column for a composite key; every
    /// key column has [`ColumnDef::primary_key`] set).
    pub primary_key: usize,
    /// Indexes declared with `#[index]`, `#[unique]`, `#[index(a, b)]` and `#[unique(a, b)]`.
    pub indexes: &'static [IndexDef],
    /// `#[table(soft_delete)]`: deletes set `__deleted_at__` instead of removing the row.
    pub soft_delete: bool,
    /// `#[table(versioned)]`: updates check and bump `__version__`.
    pub versioned: bool,
    /// `#[table(auth)]`: rows carry `__auth__`, the principals that may see them, and every call
    /// needs a principal scope ([`GenericStore::auth`](crate::GenericStore::auth)).
    pub auth: bool,
    /// Index into `columns` of the `#[tenant]` field: every call needs a tenant scope
    /// ([`GenericStore::tenant`](crate::GenericStore::tenant)).
    pub tenant: Option<usize>,
    /// `#[table(row_security)]`: PostgreSQL also enforces the scope with row-level security
    /// policies, for SQL written by hand inside scoped transactions.
    pub row_security: bool,
    /// The foreign keys declared with `#[belongs_to(..)]`, in field order.
    pub foreign_keys: &'static [ForeignKeyDef],
}

impl TableDef {
    /// The primary-key column (the first one of a composite key).
    pub fn primary_key(&self) -> &'static ColumnDef {
        &self.columns[self.primary_key]
    }

    /// The primary-key columns, in declaration order (the order of [`Model::Key`]'s tuple).
    pub fn key_columns(&self) -> impl Iterator<Item = &'static ColumnDef> + Clone + use<> {
        let columns: &'static [ColumnDef] = self.columns;
        columns.iter().filter(|c| c.primary_key)
    }

    /// Whether the primary key spans several columns.
    pub fn composite_key(&self) -> bool {
        self.key_columns().nth(1).is_some()
    }

    /// The primary key when the database assigns it (`#[table(auto_increment)]`).
    pub fn generated_key(&self) -> Option<&'static ColumnDef> {
        Some(self.primary_key()).filter(|c| c.generated() && !self.composite_key())
    }

    /// The column with this name, if the model has one (system columns excluded).
    pub fn column(&self, name: &str) -> Option<&'static ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The system columns this table carries, in the order they follow the declared columns.
    pub fn system_columns(&self) -> impl Iterator<Item = &'static system::SystemColumn> + '_ {
        system::SYSTEM_COLUMNS.iter().filter(|c| c.applies_to(self))
    }

    /// The `#[tenant]` column, if the model has one.
    pub fn tenant_column(&self) -> Option<&'static ColumnDef> {
        let columns: &'static [ColumnDef] = self.columns;
        self.tenant.map(|index| &columns[index])
    }

    /// Whether calls need a scope: the table is `auth` or has a `#[tenant]` field.
    pub fn scoped(&self) -> bool {
        self.auth || self.tenant.is_some()
    }

    /// The declared columns that change-event payloads leave out (`#[field(no_signal)]`).
    pub fn no_signal_columns(&self) -> impl Iterator<Item = &'static ColumnDef> + '_ {
        self.columns.iter().filter(|c| !c.signal)
    }

    /// The foreign key declared on `column`, if any.
    pub fn foreign_key(&self, column: &str) -> Option<&'static ForeignKeyDef> {
        let keys: &'static [ForeignKeyDef] = self.foreign_keys;
        keys.iter().find(|k| k.column == column)
    }

    /// The declared columns that `write` includes.
    pub fn written_columns(&self, write: Write) -> impl Iterator<Item = &'static ColumnDef> + '_ {
        self.columns.iter().filter(move |c| c.written_on(write))
    }
}

/// The metadata of one declared field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnDef {
    /// The column name: the field name (a raw identifier loses its `r#`).
    pub name: &'static str,
    /// The column type, from the field type's [`SqlType`].
    pub ty: ColumnType,
    /// Whether the column accepts `NULL`.
    pub nullable: bool,
    /// The range of a field narrower than its column (`i8`, `u8`, `u16`, `u32`), from the field
    /// type's [`SqlType::INT_RANGE`]: enforced on filter and update values, and guarded in the
    /// table by migrations.
    pub int_range: Option<IntRange>,
    /// Whether this is the primary key, or one of the columns of a composite one.
    pub primary_key: bool,
    /// Written by inserts. A primary key that inserts do not write is one the database assigns
    /// (`#[table(auto_increment)]`).
    pub create: bool,
    /// Written by updates.
    pub update: bool,
    /// Carried in change-event payloads; `false` for a `#[field(no_signal)]` field.
    pub signal: bool,
}

impl ColumnDef {
    /// Whether the database assigns this column's value on insert: the primary key of an
    /// `#[table(auto_increment)]` model.
    pub fn generated(&self) -> bool {
        self.primary_key && !self.create
    }

    /// Whether `write` includes this column.
    pub fn written_on(&self, write: Write) -> bool {
        match write {
            Write::Create => self.create,
            Write::Update => self.update,
        }
    }
}

/// An index declared on the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexDef {
    /// The indexed columns, in order.
    pub columns: &'static [&'static str],
    /// Whether the index enforces uniqueness.
    pub unique: bool,
}

/// A foreign key, declared with `#[belongs_to(Parent)]` on the field that holds the parent's key:
/// migrations create the constraint and an index on the column.
#[derive(Clone, Copy)]
pub struct ForeignKeyDef {
    /// The column holding the parent's key.
    pub column: &'static str,
    /// The parent's table: a function, because two models may refer to each other.
    pub references: fn() -> &'static TableDef,
    /// What deleting the parent row does to this one.
    pub on_delete: OnDelete,
}

impl ForeignKeyDef {
    /// The parent's table.
    pub fn parent(&self) -> &'static TableDef {
        (self.references)()
    }
}

impl PartialEq for ForeignKeyDef {
    fn eq(&self, other: &Self) -> bool {
        self.column == other.column && self.on_delete == other.on_delete && self.parent().name == other.parent().name
    }
}

impl Eq for ForeignKeyDef {}

impl std::fmt::Debug for ForeignKeyDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignKeyDef")
            .field("column", &self.column)
            .field("references", &self.parent().name)
            .field("on_delete", &self.on_delete)
            .finish()
    }
}

/// What deleting (for good: a soft delete changes no key) a parent row does to the rows that
/// refer to it: `#[belongs_to(User, on_delete = "cascade")]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum OnDelete {
    /// The delete fails while rows refer to the parent (the default).
    #[default]
    Restrict,
    /// The referring rows are deleted with the parent.
    Cascade,
    /// The referring rows' column is set to `NULL` (the field must be an `Option<_>`).
    SetNull,
}

impl OnDelete {
    /// The SQL action: `RESTRICT`, `CASCADE` or `SET NULL`.
    pub fn sql(self) -> &'static str {
        match self {
            OnDelete::Restrict => "RESTRICT",
            OnDelete::Cascade => "CASCADE",
            OnDelete::SetNull => "SET NULL",
        }
    }
}
