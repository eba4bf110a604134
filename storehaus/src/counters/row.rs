//! The table of counters, declared as a model so it is created and kept up to date by the same
//! migrations as every other table.

/// One counter's value in the database: what every sync so far has handed over.
///
/// The owner is part of the key as plain text, `''` and `''` standing for the global owner.
/// `sync_seq` is the sequence number of the last hand-over applied to the row: a hand-over is
/// applied only when its number is higher, so one applied twice (two syncs, or a sync retried
/// after a crash) changes nothing the second time.
#[crate::model]
#[table(name = "storehaus_counters")]
pub(crate) struct CounterRow {
    #[primary_key]
    pub owner_kind: String,
    #[primary_key]
    pub owner_id: String,
    #[primary_key]
    pub key: String,
    pub count: i64,
    pub sync_seq: i64,
}
