//! Planning and applying migrations on SQLite.

use super::{ddl, introspect, types};
use crate::error::StoreError;
use crate::model::TableDef;
use crate::schema::{self, MigrateOptions, MigrationPlan, MigrationStep, Planned, TableSchema};
use sqlx::{Connection, SqliteConnection, SqlitePool};

/// The plan that would bring `table` in line with its model; runs nothing.
pub(crate) async fn plan(
    pool: &SqlitePool,
    table: &TableDef,
    options: &MigrateOptions,
) -> Result<MigrationPlan, StoreError> {
    let mut conn = pool.acquire().await?;
    plan_on(&mut conn, table, options).await
}

/// Plans and applies the migration of `table` in one transaction.
///
/// While it runs, the connection has foreign keys off and `legacy_alter_table` on, as the table
/// rebuild procedure of the SQLite manual requires: otherwise dropping the old table would delete
/// (or cascade to) rows of tables that reference it, and renaming the new one would fail on views
/// that name it. Both are connection settings that SQLite ignores inside a transaction, so they
/// are set before it begins and restored after it ends.
pub(crate) async fn migrate(
    pool: &SqlitePool,
    table: &TableDef,
    options: &MigrateOptions,
) -> Result<MigrationPlan, StoreError> {
    let mut conn = pool.acquire().await?;
    let (foreign_keys, legacy): (i64, i64) =
        sqlx::query_as("SELECT * FROM pragma_foreign_keys, pragma_legacy_alter_table").fetch_one(&mut *conn).await?;
    sqlx::query("PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON").execute(&mut *conn).await?;
    let migrated = migrate_on(&mut conn, table, options).await;
    let restore = format!("PRAGMA foreign_keys = {foreign_keys}; PRAGMA legacy_alter_table = {legacy}");
    let restored = sqlx::query(sqlx::AssertSqlSafe(restore)).execute(&mut *conn).await;
    let plan = migrated?;
    restored?;
    if !plan.is_empty() {
        tracing::info!(table = table.name, steps = plan.steps.len(), "migrated");
    }
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
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let applied = async {
        let plan = plan_on(&mut tx, table, options).await?;
        for sql in plan.statements() {
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
        }
        Ok::<_, StoreError>(plan)
    }
    .await;
    match applied {
        Ok(plan) => {
            tx.commit().await?;
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

async fn plan_on(
    conn: &mut SqliteConnection,
    table: &TableDef,
    options: &MigrateOptions,
) -> Result<MigrationPlan, StoreError> {
    let existing = introspect::table_schema(conn, table.name).await?;
    let (mut schema, mut layout) = existing.map_or((None, ddl::Layout::default()), |(s, l)| (Some(s), l));
    if let Some(schema) = &mut schema {
        model_spelling(table, schema, &mut layout);
    }
    let planned = schema::diff(table, schema.as_ref(), options, types::type_name)?;
    let now = chrono::Utc::now();
    let mut steps = Vec::with_capacity(planned.len());
    // SQLite cannot index the elements of a JSON array, so the GIN index of `__tags__` has no
    // equivalent: it is left out of every plan, so it is never missing either.
    for planned in planned.iter().filter(|p| !matches!(p, Planned::CreateIndex(i) if i.inverted)) {
        let sql = ddl::statement(table.name, &mut layout, planned, now)?;
        steps.push(MigrationStep { change: planned.change(types::type_name), sql });
    }
    Ok(MigrationPlan { table: table.name.to_owned(), steps })
}

/// Spells the table's column names as the model does where they differ only in ASCII case: SQLite
/// matches column names without regard to it, so `Name` already is the model's `name`, and adding
/// `name` would fail as a duplicate.
fn model_spelling(table: &TableDef, schema: &mut TableSchema, layout: &mut ddl::Layout) {
    let names: Vec<&str> = table.columns.iter().map(|c| c.name).chain(table.system_columns().map(|c| c.name)).collect();
    let respell = |found: &mut String| {
        if let Some(name) = names.iter().find(|n| n.eq_ignore_ascii_case(found)) {
            (*name).clone_into(found);
        }
    };
    schema.columns.iter_mut().for_each(|c| respell(&mut c.name));
    schema.indexes.iter_mut().flat_map(|i| &mut i.columns).for_each(respell);
    layout.columns.iter_mut().for_each(|c| respell(&mut c.name));
    layout.indexes.iter_mut().flat_map(|i| &mut i.columns).for_each(respell);
}

#[cfg(test)]
mod tests;
