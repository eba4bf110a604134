//! Migrations: compare a model with its table and bring the table in line.
//!
//! [`StoreHaus::auto_migrate`](crate::StoreHaus::auto_migrate) applies a [`MigrationPlan`];
//! [`StoreHaus::plan`](crate::StoreHaus::plan) returns the same plan without running it, so the DDL
//! can be reviewed or written to a migration file. Changes that would lose data or fail on
//! existing rows are refused with [`StoreError::UnsafeMigration`](crate::StoreError) unless
//! [`MigrateOptions`] allows them.

mod diff;
mod plan;
mod range;

pub(crate) use diff::{
    ColumnSpec, ExistingColumn, ExistingForeignKey, ExistingIndex, ForeignKeySpec, IndexSpec, Planned, TableSchema,
    diff, fnv1a, foreign_key_name,
};
pub use plan::{Change, MigrationPlan, MigrationStep};
pub(crate) use range::{RangeCheck, range_violation};

/// What a migration may do beyond the always-safe changes (create the table, add nullable or
/// defaulted columns, add indexes and foreign keys, relax `NOT NULL`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigrateOptions {
    /// Drop the table and create it anew (every row is lost).
    pub recreate: bool,
    /// Change a column's type when the model's type differs (PostgreSQL casts the data).
    pub allow_type_changes: bool,
    /// Drop columns the model no longer declares (their data is lost).
    pub allow_column_drops: bool,
    /// Make a nullable column `NOT NULL` (fails if it holds nulls).
    pub allow_set_not_null: bool,
}

impl MigrateOptions {
    /// Only the safe changes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Drop and recreate the table.
    pub fn recreate(mut self) -> Self {
        self.recreate = true;
        self
    }

    /// Allow column type changes.
    pub fn allow_type_changes(mut self) -> Self {
        self.allow_type_changes = true;
        self
    }

    /// Allow dropping columns the model no longer has.
    pub fn allow_column_drops(mut self) -> Self {
        self.allow_column_drops = true;
        self
    }

    /// Allow making nullable columns `NOT NULL`.
    pub fn allow_set_not_null(mut self) -> Self {
        self.allow_set_not_null = true;
        self
    }
}
