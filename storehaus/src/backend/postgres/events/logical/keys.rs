//! The primary keys of the tables raw changes come from, looked up in the catalog once per table.

use super::changes::TableName;
use sqlx::PgPool;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};

/// The primary-key columns of table `$2` in schema `$1`, in key order; none without a key.
const PRIMARY_KEY: &str = "SELECT a.attname::text FROM pg_catalog.pg_index i \
     JOIN pg_catalog.pg_class c ON c.oid = i.indrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey) \
     WHERE i.indisprimary AND n.nspname = $1 AND c.relname = $2 \
     ORDER BY array_position(i.indkey::int2[], a.attnum)";

/// Primary keys already looked up. A key changed later (`ALTER TABLE`) is seen by a new source.
#[derive(Debug, Default)]
pub(super) struct KeyCache {
    known: Mutex<HashMap<TableName, Vec<String>>>,
}

impl KeyCache {
    /// The keys of `tables`, looking up those not seen before.
    pub(super) async fn keys_of(
        &self,
        pool: &PgPool,
        tables: BTreeSet<TableName>,
    ) -> Result<HashMap<TableName, Vec<String>>, sqlx::Error> {
        let mut keys = HashMap::with_capacity(tables.len());
        for table in tables {
            let cached = self.known.lock().unwrap_or_else(PoisonError::into_inner).get(&table).cloned();
            let columns = match cached {
                Some(columns) => columns,
                None => {
                    let columns: Vec<String> =
                        sqlx::query_scalar(PRIMARY_KEY).bind(&table.schema).bind(&table.table).fetch_all(pool).await?;
                    self.known.lock().unwrap_or_else(PoisonError::into_inner).insert(table.clone(), columns.clone());
                    columns
                }
            };
            keys.insert(table, columns);
        }
        Ok(keys)
    }
}
