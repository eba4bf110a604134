//! The result of comparing a model with its table.

use crate::model::OnDelete;
use std::fmt;

/// One change a migration makes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// Drop the table (only with `recreate`).
    DropTable,
    /// Create the table with every column.
    CreateTable,
    /// Add a column.
    AddColumn {
        /// The new column.
        column: String,
    },
    /// Change a column's type.
    AlterColumnType {
        /// The column.
        column: String,
        /// Its type in the database now.
        from: String,
        /// The model's type.
        to: String,
    },
    /// Drop a column the model no longer declares.
    DropColumn {
        /// The column.
        column: String,
    },
    /// Make a column `NOT NULL`.
    SetNotNull {
        /// The column.
        column: String,
    },
    /// Allow `NULL` in a column.
    DropNotNull {
        /// The column.
        column: String,
    },
    /// Create an index.
    CreateIndex {
        /// The index name.
        name: String,
        /// The indexed columns.
        columns: Vec<String>,
        /// Whether it is unique.
        unique: bool,
    },
    /// Drop an index that a failed build left invalid (PostgreSQL), before building it again.
    DropIndex {
        /// The index name.
        name: String,
    },
    /// Guard a narrow integer column (`i8`, `u8`, `u16`, `u32` field) so no write, not even
    /// arithmetic in SQL, stores a value outside the field's range: a `CHECK` constraint on
    /// PostgreSQL, a pair of triggers on SQLite.
    AddRangeCheck {
        /// The guard's name, `{table}_{column}_{type}_range`.
        name: String,
        /// The guarded column.
        column: String,
    },
    /// Drop the guard of a column whose field type changed.
    DropRangeCheck {
        /// The guard's name.
        name: String,
    },
    /// Add the foreign key of a `#[belongs_to(..)]` field. On PostgreSQL a table that has rows
    /// gets it `NOT VALID` (only new writes are checked), and a [`Change::ValidateForeignKey`]
    /// step follows; on SQLite it is part of `CREATE TABLE`, or of a rebuild of the table.
    AddForeignKey {
        /// The constraint's name, `{table}_{column}_fkey`.
        name: String,
        /// The column holding the parent's key.
        column: String,
        /// The parent's table.
        references: String,
        /// What deleting the parent row does to the rows that refer to it.
        on_delete: OnDelete,
    },
    /// Check the existing rows against a foreign key added `NOT VALID` (PostgreSQL). Runs after
    /// the migration's transaction has committed, under a lock that lets reads and writes go on.
    ValidateForeignKey {
        /// The constraint's name.
        name: String,
    },
    /// Drop a foreign key whose parent or `on_delete` action the model changed; an
    /// [`Change::AddForeignKey`] step adds the new one.
    DropForeignKey {
        /// The constraint's name.
        name: String,
    },
    /// Turn PostgreSQL row-level security on or off for a `#[table(row_security)]` model, or
    /// create, mark or drop its policy; the step's statement says which. Listed in the plan
    /// `auto_migrate` ran, not in a dry run, which reads no policies.
    RowSecurity,
}

/// A change and the SQL statement that makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStep {
    /// What the statement does.
    pub change: Change,
    /// The statement, in the backend's dialect.
    pub sql: String,
    /// Runs on its own after the migration's transaction has committed: a statement PostgreSQL
    /// refuses inside a transaction (`CREATE INDEX CONCURRENTLY`) or one whose lock must not be
    /// held with the transaction's (`VALIDATE CONSTRAINT`).
    pub outside_transaction: bool,
}

/// The changes that bring one table in line with its model; empty when they already match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationPlan {
    /// The table.
    pub table: String,
    /// The steps, in the order they run.
    pub steps: Vec<MigrationStep>,
}

impl MigrationPlan {
    /// Whether the table already matches the model.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The SQL statements, in order.
    pub fn statements(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().map(|s| s.sql.as_str())
    }
}

/// The plan as an SQL script, one statement per line.
impl fmt::Display for MigrationPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for sql in self.statements() {
            writeln!(f, "{sql};")?;
        }
        Ok(())
    }
}
