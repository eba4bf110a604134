//! The read-through cache of single-key reads.
//!
//! An entry is cached under a text naming its owner kind, owner id, namespace and key, each part
//! after its length, so no two entries share one. A cached entry carries its expiry and is never
//! served at or after it; it is kept no longer than the time it has left. Writes invalidate what
//! they wrote after they commit. Whatever happens to the cache, reads fall back to the database.

use super::DataEntry;
use crate::backend::data::{Scope, Stored};
use crate::cache::{CacheParams, Lookup, TableKeys};
use crate::error::Result;
use crate::model::Model;
use chrono::Utc;

#[derive(Debug, Clone)]
pub(crate) struct DataCache {
    params: CacheParams,
    table: TableKeys,
}

impl DataCache {
    pub(crate) fn new(params: CacheParams) -> Self {
        let table = params.table(DataEntry::TABLE.name);
        DataCache { params, table }
    }

    /// The entry `key` of `scope`: from the cache when it holds it live, else from `load`,
    /// which then fills the cache.
    pub(crate) async fn read(
        &self,
        scope: &Scope,
        key: &str,
        load: impl AsyncFnOnce() -> Result<Option<Stored>>,
    ) -> Result<Option<Stored>> {
        let row = self.table.row(&row_id(scope, key));
        let manager = self.params.manager();
        match manager.lookup::<Stored>(&row).await {
            Lookup::Found(stored) if is_live(&stored) => Ok(Some(stored)),
            Lookup::Absent => Ok(None),
            Lookup::Miss(token) => {
                let loaded = load().await?;
                let ttl = match loaded.as_ref().and_then(|s| s.expires_at) {
                    None => Some(self.params.ttl()),
                    Some(at) => (at - Utc::now()).to_std().ok().map(|left| left.min(self.params.ttl())),
                };
                if let Some(ttl) = ttl.filter(|ttl| !ttl.is_zero()) {
                    manager.fill(&row, token, loaded.as_ref(), ttl).await;
                }
                Ok(loaded)
            }
            // Expired in the cache (its entry outlived the expiry by the cache's jitter): dropped,
            // and read from the database.
            Lookup::Found(_) => {
                manager.invalidate_rows(&self.table, &[row_id(scope, key)]).await;
                load().await
            }
            // The cache is not usable now.
            Lookup::Bypass => load().await,
        }
    }

    /// Invalidates the entries `keys` of `scope` (after their write committed).
    pub(crate) async fn written<K: AsRef<str>>(&self, scope: &Scope, keys: &[K]) {
        let ids: Vec<String> = keys.iter().map(|key| row_id(scope, key.as_ref())).collect();
        self.params.manager().invalidate_rows(&self.table, &ids).await;
    }

    /// Invalidates every cached entry of the data store.
    pub(crate) async fn written_all(&self) {
        self.params.manager().invalidate_table(&self.table).await;
    }
}

fn is_live(stored: &Stored) -> bool {
    stored.expires_at.is_none_or(|at| at > Utc::now())
}

/// The cache text of one entry: each part after its length in bytes.
fn row_id(scope: &Scope, key: &str) -> String {
    let mut id =
        String::with_capacity(scope.owner_kind.len() + scope.owner_id.len() + scope.namespace.len() + key.len() + 16);
    for part in [&scope.owner_kind[..], &scope.owner_id, &scope.namespace, key] {
        id.push_str(&part.len().to_string());
        id.push(':');
        id.push_str(part);
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(kind: &str, id: &str, namespace: &str) -> Scope {
        Scope { owner_kind: kind.into(), owner_id: id.into(), namespace: namespace.into() }
    }

    #[test]
    fn entry_ids_are_unambiguous() {
        assert_eq!(row_id(&scope("user", "4", "a"), "k"), "4:user1:41:a1:k");
        assert_ne!(row_id(&scope("user", "4", "a"), "1:k"), row_id(&scope("user", "4", "a1:"), "k"));
        assert_ne!(row_id(&scope("", "", "a"), "b"), row_id(&scope("", "", ""), "a.b"));
    }
}
