//! Batch writes, all or nothing per call, in one of two ways a backend chooses
//! ([`Backend::BATCH_ROWS`]):
//!
//! - **in chunks**: each chunk of rows is one statement taking one array parameter per column
//!   (PostgreSQL's `UNNEST`), so the text, and its prepared statement, is the same whatever the
//!   chunk size, and no call comes near a parameter limit;
//! - **row by row**: the per-call statements, one run per row inside one transaction, for a
//!   database in this process, where a statement costs no round trip.

use super::crud::{self, Params, write_rows};
use super::{BackendTable, Result};
use crate::backend::Backend;
use crate::backend::executor::Executor;
use crate::backend::sql::{EventKind, SqlText};
use crate::model::{Model, Record, Write, key_is_unset};
use crate::types::{ColumnType, Value};

pub(super) async fn create_many<B: Backend, T: Model>(
    table: &BackendTable<B, T>,
    exec: Executor<'_, B>,
    data: &[T],
    tags: &[String],
) -> Result<Vec<Record<T>>> {
    data.iter().try_for_each(crud::check_unset_key)?;
    let Some(rows) = B::BATCH_ROWS else {
        return exec
            .atomically(async |exec| {
                let mut records = Vec::with_capacity(data.len());
                for item in data {
                    records.push(crud::insert(exec, &table.statements, item, tags).await?);
                }
                Ok(records)
            })
            .await;
    };
    let sql = &table.batch()?.insert;
    insert_chunks(exec, sql, rows, data, tags).await
}

/// Inserts `data`, updating the live rows whose keys exist already; `tags: None` keeps their tags.
///
/// On a model whose key the database assigns, an unset key is an insert and a set one an update
/// of that live row (none when there is no such row): the key is never inserted as given.
pub(super) async fn upsert_many<B: Backend, T: Model>(
    table: &BackendTable<B, T>,
    exec: Executor<'_, B>,
    data: &[T],
    tags: Option<&[String]>,
) -> Result<Vec<Record<T>>> {
    let s = &table.statements;
    let generated = T::TABLE.generated_key().is_some();
    // `ON CONFLICT` needs the key in the insert, so generated keys take the row-by-row way.
    let Some(rows) = B::BATCH_ROWS.filter(|_| !generated) else {
        let update = &s.upsert_update[usize::from(tags.is_some())];
        return exec
            .atomically(async |exec| {
                let mut records = Vec::with_capacity(data.len());
                for item in data {
                    let key = &item.key();
                    if generated && key_is_unset(key) {
                        records.push(crud::insert(exec, s, item, tags.unwrap_or_default()).await?);
                        continue;
                    }
                    match crud::probe::<B, T>(exec, s, key).await? {
                        None if generated => {}
                        None => records.push(crud::insert(exec, s, item, tags.unwrap_or_default()).await?),
                        // A soft-deleted row is left alone.
                        Some((true, _)) => {}
                        Some((false, _)) => {
                            let mut params = Params::new().upsert_values(item)?;
                            if let Some(tags) = tags {
                                params = params.tags(tags)?;
                            }
                            let params = params.clocks(update, exec.now())?.key::<T>(key)?;
                            records.extend(write_rows(exec, s.emit, EventKind::Update, update, params).await?);
                        }
                    }
                }
                Ok(records)
            })
            .await;
    };
    let sql = &table.batch()?.upsert[usize::from(tags.is_some())];
    insert_chunks(exec, sql, rows, data, tags.unwrap_or_default()).await
}

/// `INSERT … SELECT … FROM UNNEST(…)`: the tags of every row, then the create columns.
async fn insert_chunks<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    sql: &SqlText,
    rows: usize,
    data: &[T],
    tags: &[String],
) -> Result<Vec<Record<T>>> {
    let columns: Vec<_> = T::TABLE.written_columns(Write::Create).map(|c| (c.name, c.ty)).collect();
    each_chunk(exec, sql, rows, data, |chunk| {
        let mut args = B::Arguments::default();
        let tags = Value::Array(tags.iter().cloned().map(Value::Text).collect());
        B::bind(&mut args, tags, crate::backend::sql::TEXT_ARRAY)?;
        let mut values = Columns::new(&columns, chunk.len());
        for item in chunk {
            values.push(item, Write::Create)?;
        }
        values.bind_into::<B>(&mut args)?;
        Ok(args)
    })
    .await
}

pub(super) async fn update_many<B: Backend, T: Model>(
    table: &BackendTable<B, T>,
    exec: Executor<'_, B>,
    items: &[(T::Key, T)],
) -> Result<Vec<Record<T>>> {
    let s = &table.statements;
    let Some(rows) = B::BATCH_ROWS else {
        let update = &s.update[0];
        return exec
            .atomically(async |exec| {
                let mut records = Vec::with_capacity(items.len());
                for (key, item) in items {
                    let params =
                        Params::new().values(item, Write::Update)?.clocks(update, exec.now())?.key::<T>(key)?;
                    records.extend(write_rows(exec, s.emit, EventKind::Update, update, params).await?);
                }
                Ok(records)
            })
            .await;
    };
    let columns: Vec<_> =
        T::TABLE.key_columns().chain(T::TABLE.written_columns(Write::Update)).map(|c| (c.name, c.ty)).collect();
    each_chunk(exec, &table.batch()?.update, rows, items, |chunk| {
        let mut values = Columns::new(&columns, chunk.len());
        for (key, item) in chunk {
            values.push_key::<T>(key)?;
            values.push(item, Write::Update)?;
        }
        values.into_args::<B>()
    })
    .await
}

/// Deletes (soft-deletes, where the table has it) the live rows with these keys.
pub(super) async fn delete_many<B: Backend, T: Model>(
    table: &BackendTable<B, T>,
    exec: Executor<'_, B>,
    keys: &[T::Key],
) -> Result<Vec<Record<T>>> {
    let Some(rows) = B::BATCH_ROWS else {
        return exec
            .atomically(async |exec| {
                let mut records = Vec::with_capacity(keys.len());
                for key in keys {
                    records.extend(crud::delete(exec, &table.statements, key).await?);
                }
                Ok(records)
            })
            .await;
    };
    let columns: Vec<_> = T::TABLE.key_columns().map(|c| (c.name, c.ty)).collect();
    let sql = table.batch()?.delete.as_ref().map_err(Clone::clone)?;
    each_chunk(exec, sql, rows, keys, |chunk| {
        let mut values = Columns::new(&columns, chunk.len());
        for key in chunk {
            values.push_key::<T>(key)?;
        }
        values.into_args::<B>()
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
        crud::key_values::<T>(key)?.into_iter().for_each(|value| self.push_value(value));
        Ok(())
    }

    fn push<T: Model>(&mut self, data: &T, write: Write) -> Result<()> {
        let mut values = Vec::with_capacity(self.columns.len());
        data.write_values(write, &mut values)?;
        values.into_iter().for_each(|value| self.push_value(value));
        Ok(())
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
