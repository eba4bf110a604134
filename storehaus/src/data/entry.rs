//! The table of the data store, declared as a model so it is created and kept up to date by the
//! same migrations as every other table.

use chrono::{DateTime, Utc};

/// One entry of the data store: a JSON value under (owner, namespace, key).
///
/// The owner and the namespace are part of the key as plain text, `''` standing for the global
/// owner and for "no namespace", so the primary key also makes (owner, namespace, key) unique
/// where an owner or a namespace is absent. `__created_at__` / `__updated_at__` are the
/// entry's created and updated times.
#[crate::model]
#[table(name = "storehaus_data")]
pub(crate) struct DataEntry {
    #[primary_key]
    pub owner_kind: String,
    #[primary_key]
    pub owner_id: String,
    #[primary_key]
    pub namespace: String,
    #[primary_key]
    pub key: String,
    pub value: serde_json::Value,
    /// `NULL`: never expires. Indexed for the cleanup of expired entries.
    #[index]
    pub expires_at: Option<DateTime<Utc>>,
}
