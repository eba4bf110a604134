//! Applying migrations on SQLite: the connection settings a table rebuild needs, and the write
//! lock that serializes concurrent migrations.

use super::{Sqlite, ddl};
use crate::backend::{Backend, migrate};
use crate::error::StoreError;
use crate::model::TableDef;
use crate::schema::{Change, MigrateOptions, MigrationPlan};
use chrono::{DateTime, Utc};
use sqlx::Row;
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
    let applied = match migrate::plan_and_apply::<Sqlite>(&mut tx, table, options).await {
        Ok(plan) => foreign_key_check(&mut tx, table, &plan).await.map(|()| plan),
        Err(error) => Err(error),
    };
    match applied {
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

/// After a plan that added foreign keys, refuses a table that has a row referring to a missing
/// parent row. The plan's own check of the rows ran before anything changed; this one covers
/// what the rebuild copied unchecked (foreign keys are off while a migration runs), such as rows
/// a key the table already had should have refused.
async fn foreign_key_check(
    conn: &mut SqliteConnection,
    table: &TableDef,
    plan: &MigrationPlan,
) -> Result<(), StoreError> {
    if !plan.steps.iter().any(|step| matches!(step.change, Change::AddForeignKey { .. })) {
        return Ok(());
    }
    // `fkid` is the key's `id` in the key list, whose first column names it.
    let found = sqlx::query(
        "SELECT c.parent, c.rowid, k.\"from\" FROM pragma_foreign_key_check(?1) AS c \
         JOIN pragma_foreign_key_list(?1) AS k ON k.id = c.fkid AND k.seq = 0 LIMIT 1",
    )
    .bind(table.name)
    .fetch_optional(&mut *conn)
    .await
    .map_err(Sqlite::error)?;
    let Some(row) = found else { return Ok(()) };
    let parent: String = row.try_get(0).map_err(Sqlite::error)?;
    let rowid: Option<i64> = row.try_get(1).map_err(Sqlite::error)?;
    let column: String = row.try_get(2).map_err(Sqlite::error)?;
    Err(StoreError::UnsafeMigration {
        table: table.name.to_owned(),
        column,
        reason: format!(
            "the row with rowid {} refers to a missing `{parent}` row; fix or delete the rows \
             `PRAGMA foreign_key_check` lists, then migrate again",
            rowid.map_or_else(|| "(none)".to_owned(), |id| id.to_string())
        ),
    })
}

#[cfg(test)]
mod tests;
