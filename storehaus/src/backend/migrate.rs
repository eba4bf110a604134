//! Planning migrations, the same on every backend: read the table, compare it with the model,
//! write each change in the backend's DDL.

use super::sql::{SqlText, quote_ident};
use super::{Backend, Connection};
use crate::error::StoreError;
use crate::model::TableDef;
use crate::schema::{self, Change, ForeignKeySpec, MigrateOptions, MigrationPlan, MigrationStep, Planned};

/// The plan that would bring `table` in line with its model; runs nothing.
pub(crate) async fn plan<B: Backend>(
    pool: &sqlx::Pool<B::Database>,
    table: &TableDef,
    options: &MigrateOptions,
) -> Result<MigrationPlan, StoreError> {
    let mut connection = pool.acquire().await.map_err(B::error)?;
    plan_on::<B>(&mut connection, table, options).await
}

/// The plan of `table` against what `connection` sees of it.
///
/// Before planning a foreign key, checks that the parent's table exists and, on a table that
/// has rows, that no row refers to a missing parent: either would make the migration fail
/// halfway (or, for a key PostgreSQL adds `NOT VALID`, after its first transaction).
pub(crate) async fn plan_on<B: Backend>(
    connection: &mut Connection<B>,
    table: &TableDef,
    options: &MigrateOptions,
) -> Result<MigrationPlan, StoreError> {
    let (existing, mut layout) = match B::introspect(connection, table).await? {
        Some((schema, layout)) => (Some(schema), layout),
        None => (None, B::Layout::default()),
    };
    let existing = existing.filter(|_| !options.recreate);
    let mut missing_parents: Vec<&str> = Vec::new();
    for fk in table.foreign_keys {
        let parent = fk.parent();
        // A key already in place proves its parent is there; the parent is asked about once.
        let known = parent.name == table.name
            || missing_parents.contains(&parent.name)
            || existing.as_ref().is_some_and(|e| e.refers_to_parent(fk));
        if !known && B::introspect(connection, parent).await?.is_none() {
            missing_parents.push(parent.name);
        }
    }
    let planned = schema::diff(table, existing.as_ref(), options, &missing_parents, B::type_name)?;
    if let Some(existing) = existing.as_ref().filter(|e| e.has_rows) {
        let mut checked: Vec<&str> = Vec::new();
        for change in &planned {
            let (Planned::AddForeignKey(fk) | Planned::ValidateForeignKey(fk)) = change else { continue };
            // A column this plan adds holds nothing but NULL yet.
            if checked.contains(&fk.column) || !existing.columns.iter().any(|c| c.name == fk.column) {
                continue;
            }
            checked.push(fk.column);
            if let Some(value) = orphan::<B>(connection, table.name, fk).await? {
                return Err(StoreError::UnsafeMigration {
                    table: table.name.to_owned(),
                    column: fk.column.to_owned(),
                    reason: format!(
                        "a row refers to the missing `{}` row with key {value:?} (among any others); delete \
                         those rows, set the column to NULL or add the parent rows, then migrate again",
                        fk.parent
                    ),
                });
            }
        }
    }
    let mut steps = Vec::with_capacity(planned.len());
    for change in &planned {
        // An empty statement: the dialect needs none for this change (SQLite declared the key
        // in the `CREATE TABLE` it already wrote, and has no unvalidated keys).
        if let Some(sql) = B::ddl(table.name, &mut layout, change)?.filter(|sql| !sql.is_empty()) {
            steps.push(MigrationStep { change: change.change(B::type_name), sql });
        }
    }
    Ok(MigrationPlan { table: table.name.to_owned(), steps })
}

/// One value of `fk`'s column, as text, that no parent row has as its key; `None` when every
/// non-NULL value has its parent.
async fn orphan<B: Backend>(
    connection: &mut Connection<B>,
    table: &str,
    fk: &ForeignKeySpec,
) -> Result<Option<String>, StoreError> {
    let (column, key) = (quote_ident(fk.column), quote_ident(fk.parent_key));
    let sql = SqlText::assembled(format!(
        "SELECT CAST(c.{column} AS TEXT) FROM {} AS c WHERE c.{column} IS NOT NULL AND NOT EXISTS \
         (SELECT 1 FROM {} AS p WHERE p.{key} = c.{column}) LIMIT 1",
        quote_ident(table),
        quote_ident(fk.parent),
    ));
    let row = sqlx::query(sql.into_sqlx()).fetch_optional(B::on_connection(connection)).await.map_err(B::error)?;
    row.map(|row| B::read::<String>(&row, 0))
        .transpose()
        .map_err(|message| StoreError::Decode { column: fk.column.to_owned(), message })
}

/// Whether a step runs after the migration's transaction has committed: validating a foreign key
/// added `NOT VALID`, which would otherwise hold the transaction's stronger locks while it scans.
pub(crate) fn after_commit(step: &MigrationStep) -> bool {
    matches!(step.change, Change::ValidateForeignKey { .. })
}

/// Plans `table` and runs the plan on `connection` (a transaction the caller holds), except the
/// steps that run [`after_commit`], which the caller runs once it has committed.
pub(crate) async fn plan_and_apply<B: Backend>(
    connection: &mut Connection<B>,
    table: &TableDef,
    options: &MigrateOptions,
) -> Result<MigrationPlan, StoreError> {
    let plan = plan_on::<B>(connection, table, options).await?;
    for step in plan.steps.iter().filter(|step| !after_commit(step)) {
        let sql = SqlText::assembled(step.sql.clone());
        sqlx::query(sql.into_sqlx()).execute(B::on_connection(connection)).await.map_err(B::error)?;
    }
    Ok(plan)
}
