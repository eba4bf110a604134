//! Applying migrations on SQLite: the connection settings a table rebuild needs, and the write
//! lock that serializes concurrent migrations.

use super::{Sqlite, ddl};
use crate::backend::{Backend, migrate};
use crate::error::StoreError;
use crate::model::TableDef;
use crate::schema::{MigrateOptions, MigrationPlan};
use chrono::{DateTime, Utc};
use sqlx::{Connection, SqliteConnection, SqlitePool};

/// What a plan carries from one change to the next: the table's layout, and the time of the
/// plan, which existing rows get in a `now` column added to them (`ADD COLUMN` refuses a
/// non-constant default).
#[derive(Debug, Default)]
pub(crate) struct Planning {
    pub layout: ddl::Layout,
    pub now: DateTime<Utc>,
}

/// Plans and applies the migration of `table` in one transaction.
///
/// While it runs, the connection has foreign keys off and `legacy_alter_table` on, as the table
/// rebuild procedure of the SQLite manual requires: otherwise dropping the old table would delete
/// (or cascade to) rows of tables that reference it, and renaming the new one would fail on views
/// that name it. Both are connection settings that SQLite ignores inside a transaction, so they
/// are set before it begins and restored after it ends.
pub(super) async fn migrate(
    pool: &SqlitePool,
    table: &TableDef,
    options: &MigrateOptions,
) -> Result<MigrationPlan, StoreError> {
    let mut conn = pool.acquire().await.map_err(Sqlite::error)?;
    let (foreign_keys, legacy): (i64, i64) =
        sqlx::query_as("SELECT * FROM pragma_foreign_keys, pragma_legacy_alter_table")
            .fetch_one(&mut *conn)
            .await
            .map_err(Sqlite::error)?;
    sqlx::query("PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON")
        .execute(&mut *conn)
        .await
        .map_err(Sqlite::error)?;
    let migrated = migrate_on(&mut conn, table, options).await;
    // The two settings are 0 or 1, read back from SQLite itself.
    let restore = match (foreign_keys != 0, legacy != 0) {
        (true, true) => "PRAGMA foreign_keys = 1; PRAGMA legacy_alter_table = 1",
        (true, false) => "PRAGMA foreign_keys = 1; PRAGMA legacy_alter_table = 0",
        (false, true) => "PRAGMA foreign_keys = 0; PRAGMA legacy_alter_table = 1",
        (false, false) => "PRAGMA foreign_keys = 0; PRAGMA legacy_alter_table = 0",
    };
    let restored = sqlx::query(restore).execute(&mut *conn).await.map_err(Sqlite::error);
    let plan = migrated?;
    restored?;
    Ok(plan)
}

/// Plans and applies in a transaction that takes the write lock before it reads the schema, so
/// concurrent migrations (from this pool, other pools or other processes) run one after the other
/// and each plans against what the previous one left, as PostgreSQL's advisory lock ensures there.
async fn migrate_on(
    conn: &mut SqliteConnection,
    table: &TableDef,
    options: &MigrateOptions,
) -> Result<MigrationPlan, StoreError> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(Sqlite::error)?;
    match migrate::plan_and_apply::<Sqlite>(&mut tx, table, options).await {
        Ok(plan) => {
            tx.commit().await.map_err(Sqlite::error)?;
            Ok(plan)
        }
        Err(error) => {
            // Roll back now rather than on drop, so the settings are restored outside the
            // transaction; the migration's error matters more than a failed rollback.
            tx.rollback().await.ok();
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests;
