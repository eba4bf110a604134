//! Planning migrations, the same on every backend: read the table, compare it with the model,
//! write each change in the backend's DDL.

use super::sql::SqlText;
use super::{Backend, Connection};
use crate::error::StoreError;
use crate::model::TableDef;
use crate::schema::{self, MigrateOptions, MigrationPlan, MigrationStep, Planned};

mod checks;
mod down;
pub(crate) mod files;
mod lock;

pub(crate) use lock::LockRetry;

/// Who a plan is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlanFor<'a> {
    /// This database, now: a table's rows decide how a change is made.
    Database,
    /// A migration file, which may run on a database whose tables have rows: changes to an
    /// existing table take the forms that are safe on a busy one. It creates the tables listed
    /// before this one's statements.
    File { created: &'a [&'a str] },
    /// This database, as [`PlanFor::Database`], for a report on a set of models: a parent
    /// table among `created` (planned to be created before this one) counts as present.
    Drift { created: &'a [&'a str] },
}

/// The plan that would bring `table` in line with its model; runs nothing.
pub(crate) async fn plan<B: Backend>(
    pool: &sqlx::Pool<B::Database>,
    table: &TableDef,
    options: &MigrateOptions,
    purpose: PlanFor<'_>,
) -> Result<MigrationPlan, StoreError> {
    let mut connection = pool.acquire().await.map_err(B::error)?;
    plan_on::<B>(&mut connection, table, options, purpose).await
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
    purpose: PlanFor<'_>,
) -> Result<MigrationPlan, StoreError> {
    let (planned, mut layout) = changes::<B>(connection, table, options, purpose).await?;
    Ok(steps::<B>(table, &planned, &mut layout)?.0)
}

/// The plan of `table` for a migration file, with the statements that undo it, in the order
/// they run, or why there are none (a change that cannot be undone, such as a type change).
pub(crate) async fn plan_file<B: Backend>(
    pool: &sqlx::Pool<B::Database>,
    table: &TableDef,
    options: &MigrateOptions,
    created: &[&str],
) -> Result<(MigrationPlan, Result<Vec<String>, String>), StoreError> {
    let mut connection = pool.acquire().await.map_err(B::error)?;
    let purpose = PlanFor::File { created };
    let (planned, mut layout) = changes::<B>(&mut connection, table, options, purpose).await?;
    // Only what the dialect wrote a statement for is undone (SQLite has no GIN index to drop).
    let (plan, made) = steps::<B>(table, &planned, &mut layout)?;
    let down = match down::undo(table.name, &made) {
        Ok(undo) => undo
            .iter()
            .map(|change| B::ddl(table.name, &mut layout, change))
            .filter_map(Result::transpose)
            .filter(|sql| sql.as_ref().map_or(true, |sql| !sql.is_empty()))
            .collect::<Result<Vec<String>, StoreError>>()?,
        Err(reason) => return Ok((plan, Err(reason))),
    };
    Ok((plan, Ok(down)))
}

/// The changes that bring `table` in line with its model, checked against its rows, and the
/// backend's layout of the table they start from.
async fn changes<B: Backend>(
    connection: &mut Connection<B>,
    table: &TableDef,
    options: &MigrateOptions,
    purpose: PlanFor<'_>,
) -> Result<(Vec<Planned>, B::Layout), StoreError> {
    let (existing, layout) = match B::introspect(connection, table).await? {
        Some((schema, layout)) => (Some(schema), layout),
        None => (None, B::Layout::default()),
    };
    let existing = existing.filter(|_| !options.recreate).map(|mut existing| {
        existing.has_rows |= matches!(purpose, PlanFor::File { .. });
        existing
    });
    let mut missing_parents: Vec<&str> = Vec::new();
    for fk in table.foreign_keys {
        let parent = fk.parent();
        // A key already in place proves its parent is there; the parent is asked about once.
        let created = match purpose {
            PlanFor::File { created } | PlanFor::Drift { created } => created.contains(&parent.name),
            PlanFor::Database => false,
        };
        let known = parent.name == table.name
            || created
            || missing_parents.contains(&parent.name)
            || existing.as_ref().is_some_and(|e| e.refers_to_parent(fk));
        if !known && B::introspect(connection, parent).await?.is_none() {
            missing_parents.push(parent.name);
        }
    }
    let mut planned = schema::diff(table, existing.as_ref(), options, &missing_parents, B::type_name)?;
    if !B::CONCURRENT_INDEX_BUILDS {
        for change in &mut planned {
            if let Planned::CreateIndex(index) = change {
                index.concurrently = false;
            }
        }
    }
    if let Some(existing) = existing.as_ref().filter(|e| e.has_rows) {
        checks::existing_rows::<B>(connection, table, existing, &planned).await?;
    }
    Ok((planned, layout))
}

/// The statements of `planned`, in the backend's dialect, and the changes that got one.
fn steps<B: Backend>(
    table: &TableDef,
    planned: &[Planned],
    layout: &mut B::Layout,
) -> Result<(MigrationPlan, Vec<Planned>), StoreError> {
    let mut steps = Vec::with_capacity(planned.len());
    let mut made = Vec::with_capacity(planned.len());
    for change in planned {
        // An empty statement: the dialect needs none for this change (SQLite declared the key
        // in the `CREATE TABLE` it already wrote, and has no unvalidated keys).
        if let Some(sql) = B::ddl(table.name, layout, change)?.filter(|sql| !sql.is_empty()) {
            made.push(change.clone());
            let outside_transaction = B::CONCURRENT_INDEX_BUILDS && change.outside_transaction();
            steps.push(MigrationStep { change: change.change(B::type_name), sql, outside_transaction });
        }
    }
    // Listed in the order they run: the transaction's steps, then the ones after its commit.
    let (now, later): (Vec<_>, Vec<_>) = steps.into_iter().partition(|step| !step.outside_transaction);
    Ok((MigrationPlan { table: table.name.to_owned(), steps: now.into_iter().chain(later).collect() }, made))
}

/// Plans `table` and runs the plan on `connection` (a transaction the caller holds), except the
/// steps that run outside the transaction, which the caller runs once it has committed.
pub(crate) async fn plan_and_apply<B: Backend>(
    connection: &mut Connection<B>,
    table: &TableDef,
    options: &MigrateOptions,
) -> Result<MigrationPlan, StoreError> {
    let plan = plan_on::<B>(connection, table, options, PlanFor::Database).await?;
    for step in plan.steps.iter().filter(|step| !step.outside_transaction) {
        let sql = SqlText::assembled(step.sql.clone());
        sqlx::query(sql.into_sqlx()).execute(B::on_connection(connection)).await.map_err(B::error)?;
    }
    Ok(plan)
}
