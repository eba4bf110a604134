//! Planning migrations, the same on every backend: read the table, compare it with the model,
//! write each change in the backend's DDL.

use super::sql::SqlText;
use super::{Backend, Connection};
use crate::error::StoreError;
use crate::model::TableDef;
use crate::schema::{self, MigrateOptions, MigrationPlan, MigrationStep};

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
pub(crate) async fn plan_on<B: Backend>(
    connection: &mut Connection<B>,
    table: &TableDef,
    options: &MigrateOptions,
) -> Result<MigrationPlan, StoreError> {
    let (existing, mut layout) = match B::introspect(connection, table).await? {
        Some((schema, layout)) => (Some(schema), layout),
        None => (None, B::Layout::default()),
    };
    let planned = schema::diff(table, existing.as_ref(), options, B::type_name)?;
    let mut steps = Vec::with_capacity(planned.len());
    for change in &planned {
        if let Some(sql) = B::ddl(table.name, &mut layout, change)? {
            steps.push(MigrationStep { change: change.change(B::type_name), sql });
        }
    }
    Ok(MigrationPlan { table: table.name.to_owned(), steps })
}

/// Plans `table` and runs the plan on `connection` (a transaction the caller holds).
pub(crate) async fn plan_and_apply<B: Backend>(
    connection: &mut Connection<B>,
    table: &TableDef,
    options: &MigrateOptions,
) -> Result<MigrationPlan, StoreError> {
    let plan = plan_on::<B>(connection, table, options).await?;
    for sql in plan.statements() {
        let sql = SqlText::assembled(sql.to_owned());
        sqlx::query(sql.into_sqlx()).execute(B::on_connection(connection)).await.map_err(B::error)?;
    }
    Ok(plan)
}
