//! Migrations: compare a model with its table and bring the table in line.
//!
//! [`StoreHaus::auto_migrate`](crate::StoreHaus::auto_migrate) applies a [`MigrationPlan`];
//! [`StoreHaus::plan`](crate::StoreHaus::plan) returns the same plan without running it, so the DDL
//! can be reviewed or written to a migration file. Changes that would lose data or fail on
//! existing rows are refused with [`StoreError::UnsafeMigration`](crate::StoreError) unless
//! [`MigrateOptions`] allows them.

use std::time::Duration;

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
///
/// On PostgreSQL every statement also waits at most [`lock_timeout`](Self::lock_timeout) for a
/// table lock, so plain reads and writes never queue behind a migration for longer; a step that
/// timed out is retried with backoff until [`lock_budget`](Self::lock_budget) is spent, then the
/// migration fails with [`StoreError::LockTimeout`](crate::StoreError::LockTimeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrateOptions {
    /// Drop the table and create it anew (every row is lost).
    pub recreate: bool,
    /// Change a column's type when the model's type differs (PostgreSQL casts the data).
    pub allow_type_changes: bool,
    /// Drop columns the model no longer declares (their data is lost).
    pub allow_column_drops: bool,
    /// Make a nullable column `NOT NULL` (fails if it holds nulls).
    pub allow_set_not_null: bool,
    /// The longest one statement waits for a lock before its attempt is given up (default 50 ms).
    /// Queries that arrive while it waits queue behind it, so this bounds their extra wait.
    pub lock_timeout: Duration,
    /// How long a migration keeps retrying statements that timed out waiting for a lock, with
    /// exponential backoff and jitter, before it fails (default 30 s).
    pub lock_budget: Duration,
}

impl Default for MigrateOptions {
    fn default() -> Self {
        MigrateOptions {
            recreate: false,
            allow_type_changes: false,
            allow_column_drops: false,
            allow_set_not_null: false,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            lock_budget: DEFAULT_LOCK_BUDGET,
        }
    }
}

/// Short enough that a read queued behind a waiting migration is barely slower.
const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_millis(50);

/// Long enough to outlast ordinary transactions, short enough to fail a stuck start-up visibly.
const DEFAULT_LOCK_BUDGET: Duration = Duration::from_secs(30);

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

    /// The longest one statement waits for a lock (PostgreSQL `lock_timeout`; at least 1 ms).
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long lock waits are retried before the migration fails.
    pub fn lock_budget(mut self, budget: Duration) -> Self {
        self.lock_budget = budget;
        self
    }
}
