//! The read-through cache of a store: rows by key, invalidated after every committed write.

mod key_text;
#[cfg(test)]
mod tests;

use self::key_text::KeyEquality;
use super::{GenericStore, Record};
use crate::cache::{CacheParams, QueryDigest, TableKeys};
use crate::error::{Result, StoreError};
use crate::model::Key as _;
use crate::model::Model;
use crate::model::{ValuesReader, read_record};
use crate::query::QueryBuilder;
use crate::query::resolved::ResolvedQuery;
use crate::types::Value;
use crate::types::wire::Wire;

/// A store's cache: where its rows live, for how long, and which keys name the same row.
#[derive(Debug)]
pub(crate) struct StoreCache {
    pub(crate) params: CacheParams,
    pub(crate) table: TableKeys,
    equality: KeyEquality,
}

impl StoreCache {
    /// The cache of table `table` on a database of system `db_system` (`postgresql`, `sqlite`).
    pub(crate) fn new(params: CacheParams, table: &str, db_system: &str) -> Self {
        let keys = params.table(table);
        StoreCache { params, table: keys, equality: KeyEquality::of(db_system) }
    }

    /// The text the row of primary key `key` is cached under: equal for every spelling of the
    /// key the database takes for the same row. `None` when the key names no row the cache can
    /// hold (NULL, or a value the database refuses): such reads go to the database.
    ///
    /// A composite key's text is each column's text after its length (`4:acme2:42`), so no two
    /// tuples share one, whatever their texts contain.
    fn key_text<T: Model>(&self, key: &T::Key) -> Option<String> {
        let values = key.to_values().ok()?;
        let mut columns = T::TABLE.key_columns();
        if values.len() == 1 {
            return self.equality.key_text(values.into_iter().next()?, columns.next()?.ty);
        }
        let mut text = String::new();
        for (value, column) in values.into_iter().zip(columns) {
            let part = self.equality.key_text(value, column.ty)?;
            text.push_str(&part.len().to_string());
            text.push(':');
            text.push_str(&part);
        }
        Some(text)
    }
}

impl<T: Model> GenericStore<T> {
    /// The live record `id`: from the cache when the store has one (outside transactions, whose
    /// reads may see uncommitted rows), first from its near cache when it has one, else from
    /// the database.
    ///
    /// The cache keeps the row's column values rather than the model's serde form, which cannot
    /// tell `Some(json!(null))` from `None` nor carry NaN.
    ///
    /// The cache keeps the row whatever the store's scope (it is loaded unscoped), and every hit is
    /// tested against the scope: a row out of scope reads as `None`, exactly as from the database.
    pub(crate) async fn read_by_id(&self, id: &T::Key) -> Result<Option<Record<T>>> {
        let cx = self.cx()?;
        let cached = self.shared.cache.as_ref().filter(|_| self.tx.is_none());
        let Some((cache, text)) = cached.and_then(|cache| Some((cache, cache.key_text::<T>(id)?))) else {
            return self.table().get(cx, id, false).await;
        };
        cache.params.manager().check_available().map_err(|error| StoreError::Cache(error.to_string()))?;
        let key = cache.table.row(&text);
        let load = || async {
            let values = self.table().get_values(self.unscoped_cx()?, id).await?;
            Ok::<_, StoreError>(values.map(|values| values.into_iter().map(Wire::from).collect::<Vec<_>>()))
        };
        let manager = cache.params.manager();
        let row: Option<Vec<Wire>> = match cache.params.near_cache() {
            Some(near) => manager.get_or_load_near(near, &key, cache.params.ttl(), load).await?,
            None => manager.get_or_load(&key, cache.params.ttl(), load).await?,
        };
        let row: Option<Vec<Value>> = row.map(|row| row.into_iter().map(Value::from).collect());
        row.filter(|row| cx.scope.admits(T::TABLE, row)).map(|row| read_record(&mut ValuesReader::new(row))).transpose()
    }

    /// Invalidates the cached rows of `records` once their write is committed: now, or when the
    /// store's transaction commits (never, if it rolls back).
    pub(crate) async fn written(&self, records: &[Record<T>]) {
        if self.shared.cache.is_none() {
            return;
        }
        let keys: Vec<T::Key> = records.iter().map(|r| r.key()).collect();
        self.written_keys(&keys).await;
    }

    /// [`GenericStore::written`] for keys.
    pub(crate) async fn written_keys<'k>(&self, keys: impl IntoIterator<Item = &'k T::Key>) {
        let Some(cache) = &self.shared.cache else { return };
        // A key without a text was never cached by it, but a written row might be under another
        // spelling: the whole table is invalidated then.
        let ids: Option<Vec<String>> = keys.into_iter().map(|key| cache.key_text::<T>(key)).collect();
        if ids.as_ref().is_some_and(Vec::is_empty) {
            return;
        }
        let manager = cache.params.manager().clone();
        let table = cache.table.clone();
        let invalidate = async move {
            match ids {
                Some(ids) => manager.invalidate_rows(&table, &ids).await,
                None => manager.invalidate_table(&table).await,
            }
        };
        match &self.tx {
            None => invalidate.await,
            Some(tx) => tx.after_commit(Box::new(move || Box::pin(invalidate))),
        }
    }
}

impl<T: Model> GenericStore<T> {
    /// Like [`GenericStore::find`], with the result kept in the store's cache.
    ///
    /// Results are keyed by a SHA-256 digest of the resolved query (its conditions and bound
    /// values) and the table's generation, which every write through any store of the table
    /// bumps after commit; so a cached result is never older than the last committed write. A
    /// result larger than the cache's `max_entry_bytes` is returned but not kept. Without a
    /// cache, inside a transaction, or for a locking query, this is `find`.
    pub async fn find_cached(&self, query: QueryBuilder) -> Result<Vec<Record<T>>> {
        let q = &query.resolve(T::TABLE)?;
        let cx = self.cx()?;
        let cache = self.shared.cache.as_ref().filter(|_| self.tx.is_none() && q.lock.is_none());
        self.read("find", || async move {
            match cache {
                None => self.table().find(cx, q).await,
                Some(cache) => {
                    cache.params.manager().check_available().map_err(|error| StoreError::Cache(error.to_string()))?;
                    // Streamed into the hash: the query's text, as large as its bound values, is
                    // never built. The scope is part of it: one scope's result never serves another.
                    let digest = QueryDigest::of_debug(&QueryFingerprint(&cx.scope.restrict(q)));
                    let load = || async { self.table().find(cx, q).await };
                    cache.params.manager().get_or_load_query(&cache.table, digest, cache.params.ttl(), load).await
                }
            }
        })
        .await
    }
}

/// Everything that decides a query's result, without the table's metadata (the cache key
/// already names the table).
struct QueryFingerprint<'q>(&'q ResolvedQuery);

impl std::fmt::Debug for QueryFingerprint<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let q = self.0;
        let order: Vec<_> = q.order.iter().map(|o| (o.column.name(), o.descending)).collect();
        f.debug_struct("Query")
            .field("condition", &q.condition)
            .field("visibility", &q.visibility)
            .field("order", &order)
            .field("limit", &q.limit)
            .field("offset", &q.offset)
            .field("keyset", &q.keyset)
            .field("from_end", &q.from_end)
            .finish()
    }
}
