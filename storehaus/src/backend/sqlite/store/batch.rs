//! Batch writes on SQLite: one prepared statement run per row inside one transaction.
//!
//! SQLite runs in this process, so a statement per row costs no network round trip; what a
//! batch needs is atomicity, which [`SqliteExec::atomically`] gives, and one fsync at commit.

use super::crud::{bind_clock, bind_key, bind_model, bind_tags, delete, insert, key_args, write_rows};
use super::{SqliteExec, Statements};
use crate::backend::outcome::name_field;
use crate::backend::sqlite::values::bind;
use crate::error::StoreError;
use crate::model::{Model, Write};
use crate::signals::EventType;
use crate::store::Record;
use sqlx::Row;
use sqlx::sqlite::SqliteArguments;

/// Rows a batch call hands to one transaction; the store needs no transaction of its own around
/// a call, since each call here is atomic by itself.
pub(crate) const BATCH_ROWS: usize = usize::MAX;

/// Inserts every row of `data` with `tags`; returns the records in the order given.
pub(crate) async fn create_many<T: Model>(
    exec: SqliteExec<'_>,
    statements: &Statements,
    data: &[T],
    tags: &[String],
) -> Result<Vec<Record<T>>, StoreError> {
    exec.atomically(async |exec| {
        let mut records = Vec::with_capacity(data.len());
        for item in data {
            records.push(insert(exec, statements, item, tags).await?);
        }
        Ok(records)
    })
    .await
}

/// Inserts `data`, updating live rows whose key exists; rows whose key belongs to a soft-deleted
/// row are left alone and not returned. `tags: None` keeps existing rows' tags.
pub(crate) async fn upsert_many<T: Model>(
    exec: SqliteExec<'_>,
    statements: &Statements,
    data: &[T],
    tags: Option<&[String]>,
) -> Result<Vec<Record<T>>, StoreError> {
    let update_sql = if tags.is_some() { &statements.upsert_update_with_tags } else { &statements.upsert_update };
    exec.atomically(async |exec| {
        let mut records = Vec::with_capacity(data.len());
        for item in data {
            match exec.fetch_optional(&statements.probe, key_args::<T>(item.key())?).await? {
                None => records.push(insert(exec, statements, item, tags.unwrap_or_default()).await?),
                Some(row) if row.try_get::<bool, _>(0)? => {}
                Some(_) => {
                    let mut args = SqliteArguments::default();
                    bind_upsert_columns(&mut args, item)?;
                    if let Some(tags) = tags {
                        bind_tags(&mut args, tags)?;
                    }
                    bind_clock(&mut args, exec.now())?;
                    bind_key::<T>(&mut args, item.key())?;
                    records.extend(write_rows(exec, statements.emit, EventType::Update, update_sql, args).await?);
                }
            }
        }
        Ok(records)
    })
    .await
}

/// The columns written on both create and update, as an upsert writes them to an existing row.
fn bind_upsert_columns<T: Model>(args: &mut SqliteArguments, item: &T) -> Result<(), StoreError> {
    let mut values = Vec::new();
    item.write_values(Write::Create, &mut values)?;
    for (value, column) in values.into_iter().zip(T::TABLE.written_columns(Write::Create)) {
        if column.update {
            bind(args, value, column.ty).map_err(|e| name_field(e, column.name))?;
        }
    }
    Ok(())
}

/// Writes the update columns of each value to the live row of its key; returns the rows updated.
pub(crate) async fn update_many<T: Model>(
    exec: SqliteExec<'_>,
    statements: &Statements,
    items: &[(T::Key, T)],
) -> Result<Vec<Record<T>>, StoreError> {
    exec.atomically(async |exec| {
        let mut records = Vec::with_capacity(items.len());
        for (key, item) in items {
            let mut args = SqliteArguments::default();
            bind_model(&mut args, item, Write::Update)?;
            bind_clock(&mut args, exec.now())?;
            bind_key::<T>(&mut args, key)?;
            records.extend(write_rows(exec, statements.emit, EventType::Update, &statements.update, args).await?);
        }
        Ok(records)
    })
    .await
}

/// Soft-deletes (or deletes, without soft delete) the live rows with these keys.
pub(crate) async fn delete_many<T: Model>(
    exec: SqliteExec<'_>,
    statements: &Statements,
    keys: &[T::Key],
) -> Result<Vec<Record<T>>, StoreError> {
    exec.atomically(async |exec| {
        let mut records = Vec::with_capacity(keys.len());
        for key in keys {
            records.extend(delete(exec, statements, key).await?);
        }
        Ok(records)
    })
    .await
}
