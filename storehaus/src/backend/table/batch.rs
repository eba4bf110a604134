//! Batch writes, all or nothing per call, in one of two ways a backend chooses
//! ([`Backend::BATCH_ROWS`]):
//!
//! - **in chunks**: each chunk of rows is one statement taking one array parameter per column
//!   (PostgreSQL's `UNNEST`), so the text, and its prepared statement, is the same whatever the
//!   chunk size, and no call comes near a parameter limit;
//! - **row by row**: the per-call statements, one run per row inside one transaction, for a
//!   database in this process, where a statement costs no round trip.

use super::crud::{self, bind_scope, update_params, write_rows, written_values};
use super::{BackendTable, Result};
use crate::backend::Backend;
use crate::backend::executor::Executor;
use crate::backend::sql::{EventKind, SqlText, TEXT_ARRAY};
use crate::model::{Model, Record, Write, key_identity, key_is_unset, key_values};
use crate::query::Scope;
use crate::types::{ColumnType, Value};
use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};

/// How a batch insert meets a row that conflicts with one stored.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Insert {
    /// Fails the call with the unique violation.
    Plain,
    /// Skips the row on any unique constraint or the key.
    IgnoreAny,
    /// Skips the row on the key only; another constraint still fails the call.
    IgnoreKey,
}

/// Inserts `data`; the records of the rows inserted, in the order given.
pub(super) async fn insert_rows<B: Backend, T: Model, I: Borrow<T> + Sync>(
    table: &BackendTable<B, T>,
    exec: Executor<'_, B>,
    scope: &Scope,
    data: &[I],
    tags: &[String],
    insert: Insert,
) -> Result<Vec<Record<T>>> {
    data.iter().try_for_each(|item| crud::check_unset_key(item.borrow()))?;
    let s = table.statements(scope)?;
    let Some(rows) = B::BATCH_ROWS else {
        return exec
            .atomically(async |exec| {
                let mut records = Vec::with_capacity(data.len());
                for item in data {
                    let item = item.borrow();
                    match insert {
                        Insert::Plain => records.push(crud::insert(exec, s, scope, item, tags).await?),
                        Insert::IgnoreAny => {
                            records.extend(crud::insert_or_ignore(exec, s, scope, item, tags, 0).await?)
                        }
                        Insert::IgnoreKey => {
                            records.extend(crud::insert_or_ignore(exec, s, scope, item, tags, 1).await?)
                        }
                    }
                }
                Ok(records)
            })
            .await;
    };
    let batch = table.batch(scope)?;
    let sql = match insert {
        Insert::Plain => &batch.insert,
        Insert::IgnoreAny => &batch.insert_or_ignore[0],
        Insert::IgnoreKey => &batch.insert_or_ignore[1],
    };
    insert_chunks(exec, sql, scope, rows, data, tags).await
}

/// Inserts `data`, and writes to the live rows whose keys exist what `update` writes (and the
/// tags when `Some`; `None` keeps them). Values whose key belongs to a soft-deleted row are left
/// alone and not returned. The records come in the order given.
pub(super) async fn upsert_many<B: Backend, T: Model>(
    table: &BackendTable<B, T>,
    exec: Executor<'_, B>,
    scope: &Scope,
    data: &[T],
    tags: Option<&[String]>,
) -> Result<Vec<Record<T>>> {
    if T::TABLE.generated_key().is_some() {
        return upsert_generated(table, exec, scope, data, tags).await;
    }
    // Insert what is new, then update the rest: each half is one statement per chunk, and the
    // update half is exactly `update_many`'s, so an upsert writes what `update` writes.
    exec.atomically(async |exec| {
        let inserted = insert_rows(table, exec, scope, data, tags.unwrap_or_default(), Insert::IgnoreKey).await?;
        let inserted_keys = inserted.iter().map(|r| key_identity::<T>(&r.key())).collect::<Result<HashSet<_>>>()?;
        let mut rest_keys = Vec::with_capacity(data.len() - inserted.len());
        let mut rest_items = Vec::with_capacity(data.len() - inserted.len());
        for item in data {
            let key = item.key();
            if !inserted_keys.contains(&key_identity::<T>(&key)?) {
                rest_keys.push(key);
                rest_items.push(item);
            }
        }
        let rest: Vec<(&T::Key, &T)> = rest_keys.iter().zip(rest_items).collect();
        let updated = if rest.is_empty() { Vec::new() } else { update_rows(table, exec, scope, &rest, tags).await? };
        // Back in the order given.
        let mut by_key = HashMap::with_capacity(inserted.len() + updated.len());
        for record in inserted.into_iter().chain(updated) {
            by_key.insert(key_identity::<T>(&record.key())?, record);
        }
        let mut records = Vec::with_capacity(by_key.len());
        for item in data {
            records.extend(by_key.remove(&key_identity::<T>(&item.key())?));
        }
        Ok(records)
    })
    .await
}

/// [`upsert_many`] of a model whose key the database assigns: an unset key is an insert, a set
/// one an update of that live row (none when there is no such row), so a key is never inserted as
/// given.
async fn upsert_generated<B: Backend, T: Model>(
    table: &BackendTable<B, T>,
    exec: Executor<'_, B>,
    scope: &Scope,
    data: &[T],
    tags: Option<&[String]>,
) -> Result<Vec<Record<T>>> {
    let (new, existing): (Vec<&T>, Vec<&T>) = data.iter().partition(|item| key_is_unset(&item.key()));
    exec.atomically(async |exec| {
        let mut inserted =
            insert_rows(table, exec, scope, &new, tags.unwrap_or_default(), Insert::Plain).await?.into_iter();
        let keys: Vec<T::Key> = existing.iter().map(|item| item.key()).collect();
        let rest: Vec<(&T::Key, &T)> = keys.iter().zip(existing.iter().copied()).collect();
        let updated = if rest.is_empty() { Vec::new() } else { update_rows(table, exec, scope, &rest, tags).await? };
        let mut by_key = HashMap::with_capacity(updated.len());
        for record in updated {
            by_key.insert(key_identity::<T>(&record.key())?, record);
        }
        // Back in the order given: new values take the inserted records in turn.
        let mut records = Vec::with_capacity(data.len());
        for item in data {
            let key = item.key();
            if key_is_unset(&key) {
                records.extend(inserted.next());
            } else {
                records.extend(by_key.remove(&key_identity::<T>(&key)?));
            }
        }
        Ok(records)
    })
    .await
}

/// `INSERT … SELECT … FROM UNNEST(…)`: the tags of every row, the `__auth__` of every row (on
/// `auth` tables), then the create columns.
async fn insert_chunks<B: Backend, T: Model, I: Borrow<T> + Sync>(
    exec: Executor<'_, B>,
    sql: &SqlText,
    scope: &Scope,
    rows: usize,
    data: &[I],
    tags: &[String],
) -> Result<Vec<Record<T>>> {
    let columns: Vec<_> = T::TABLE.written_columns(Write::Create).map(|c| (c.name, c.ty)).collect();
    each_chunk(exec, sql, rows, data, |chunk| {
        let mut args = B::Arguments::default();
        let tags = Value::Array(tags.iter().cloned().map(Value::Text).collect());
        B::bind(&mut args, tags, TEXT_ARRAY)?;
        if T::TABLE.auth {
            B::bind(&mut args, scope.owner(), TEXT_ARRAY)?;
        }
        let mut values = Columns::new(&columns, chunk.len());
        for item in chunk {
            values.push(written_values(item.borrow(), Write::Create, scope)?);
        }
        values.bind_into::<B>(&mut args)?;
        Ok(args)
    })
    .await
}

pub(super) async fn update_many<B: Backend, T: Model>(
    table: &BackendTable<B, T>,
    exec: Executor<'_, B>,
    scope: &Scope,
    items: &[(T::Key, T)],
) -> Result<Vec<Record<T>>> {
    let items: Vec<(&T::Key, &T)> = items.iter().map(|(key, item)| (key, item)).collect();
    update_rows(table, exec, scope, &items, None).await
}

/// Writes the update columns of each value (and `tags` when `Some`) to the live row of its key;
/// returns the rows updated.
async fn update_rows<B: Backend, T: Model>(
    table: &BackendTable<B, T>,
    exec: Executor<'_, B>,
    scope: &Scope,
    items: &[(&T::Key, &T)],
    tags: Option<&[String]>,
) -> Result<Vec<Record<T>>> {
    let s = table.statements(scope)?;
    let Some(rows) = B::BATCH_ROWS else {
        let update = &s.update[usize::from(tags.is_some())];
        return exec
            .atomically(async |exec| {
                let mut records = Vec::with_capacity(items.len());
                for (key, item) in items {
                    let params = update_params(exec, update, scope, *key, *item, tags)?;
                    records.extend(write_rows(exec, s.emit, EventKind::Update, update, params).await?);
                }
                Ok(records)
            })
            .await;
    };
    let columns: Vec<_> =
        T::TABLE.key_columns().chain(T::TABLE.written_columns(Write::Update)).map(|c| (c.name, c.ty)).collect();
    each_chunk(exec, &table.batch(scope)?.update[usize::from(tags.is_some())], rows, items, |chunk| {
        let mut args = B::Arguments::default();
        if let Some(tags) = tags {
            let tags = Value::Array(tags.iter().cloned().map(Value::Text).collect());
            B::bind(&mut args, tags, TEXT_ARRAY)?;
        }
        let mut values = Columns::new(&columns, chunk.len());
        for (key, item) in chunk {
            values.push_key::<T>(key)?;
            values.push(written_values(*item, Write::Update, scope)?);
        }
        values.bind_into::<B>(&mut args)?;
        bind_scope::<B, T>(&mut args, scope)?;
        Ok(args)
    })
    .await
}

/// Deletes (soft-deletes, where the table has it) the live rows with these keys.
pub(super) async fn delete_many<B: Backend, T: Model>(
    table: &BackendTable<B, T>,
    exec: Executor<'_, B>,
    scope: &Scope,
    keys: &[T::Key],
) -> Result<Vec<Record<T>>> {
    let s = table.statements(scope)?;
    let Some(rows) = B::BATCH_ROWS else {
        return exec
            .atomically(async |exec| {
                let mut records = Vec::with_capacity(keys.len());
                for key in keys {
                    records.extend(crud::delete(exec, s, scope, key).await?);
                }
                Ok(records)
            })
            .await;
    };
    let columns: Vec<_> = T::TABLE.key_columns().map(|c| (c.name, c.ty)).collect();
    let sql = table.batch(scope)?.delete.as_ref().map_err(Clone::clone)?;
    each_chunk(exec, sql, rows, keys, |chunk| {
        let mut values = Columns::new(&columns, chunk.len());
        for key in chunk {
            values.push_key::<T>(key)?;
        }
        let mut args = values.into_args::<B>()?;
        bind_scope::<B, T>(&mut args, scope)?;
        Ok(args)
    })
    .await
}

/// Runs `sql` once per chunk of `rows` items, with the arguments `bind_chunk` makes for the chunk,
/// as one write: a returned row that does not decode undoes every chunk.
async fn each_chunk<B: Backend, I: Sync, T: Model>(
    exec: Executor<'_, B>,
    sql: &SqlText,
    rows: usize,
    items: &[I],
    bind_chunk: impl Fn(&[I]) -> Result<B::Arguments>,
) -> Result<Vec<Record<T>>> {
    let mut chunks = items.chunks(rows);
    // Bound before the write starts, so a bad value in a one-chunk call sends nothing at all.
    let first = chunks.next().map(&bind_chunk).transpose()?;
    exec.write(async |exec| {
        let mut records = Vec::with_capacity(items.len());
        if let Some(args) = first {
            records.extend(exec.fetch_records::<T>(sql.clone(), args).await?);
        }
        for chunk in chunks {
            let args = bind_chunk(chunk)?;
            records.extend(exec.fetch_records::<T>(sql.clone(), args).await?);
        }
        Ok(records)
    })
    .await
}

/// A chunk's values gathered by column, each column bound as one array parameter.
struct Columns<'c> {
    columns: &'c [(&'static str, ColumnType)],
    values: Vec<Vec<Value>>,
    /// The next column `push` fills.
    next: usize,
}

impl<'c> Columns<'c> {
    fn new(columns: &'c [(&'static str, ColumnType)], rows: usize) -> Self {
        Columns { columns, values: columns.iter().map(|_| Vec::with_capacity(rows)).collect(), next: 0 }
    }

    fn push_value(&mut self, value: Value) {
        self.values[self.next].push(value);
        self.next = (self.next + 1) % self.columns.len();
    }

    fn push_key<T: Model>(&mut self, key: &T::Key) -> Result<()> {
        key_values::<T>(key)?.into_iter().for_each(|value| self.push_value(value));
        Ok(())
    }

    fn push(&mut self, values: Vec<Value>) {
        values.into_iter().for_each(|value| self.push_value(value));
    }

    fn into_args<B: Backend>(self) -> Result<B::Arguments> {
        let mut args = B::Arguments::default();
        self.bind_into::<B>(&mut args)?;
        Ok(args)
    }

    fn bind_into<B: Backend>(self, args: &mut B::Arguments) -> Result<()> {
        for ((name, ty), values) in self.columns.iter().zip(self.values) {
            B::bind_column(args, values, *ty).map_err(|e| crate::backend::sql::name_field(e, name))?;
        }
        Ok(())
    }
}
