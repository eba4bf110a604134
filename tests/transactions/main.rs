//! Savepoints nested in transactions, and transaction options (isolation level, read-only), on
//! both backends. Every test checks the committed rows with raw SQL on another connection.

use std::time::Duration;
use storehaus::prelude::*;
use storehaus::{IsolationLevel, TransactionOptions};
use storehaus_suite::raw::rows;
use storehaus_suite::{TestBackend, on_both_backends, pg};

mod options;
mod savepoints;

#[model]
#[table(name = "ledger", soft_delete)]
pub struct Entry {
    #[primary_key]
    pub id: Uuid,
    #[unique]
    pub owner: String,
    pub balance: i64,
}

fn entry(owner: &str, balance: i64) -> Entry {
    Entry { id: Uuid::new_v4(), owner: owner.to_owned(), balance }
}

async fn setup<B: TestBackend>(db: &B) -> (StoreHaus, GenericStore<Entry>) {
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Entry>(false).await.unwrap();
    let store = GenericStore::<Entry>::new(storehaus.pool().clone(), None, None);
    (storehaus, store)
}

/// The owners of the committed rows, in order, read outside any transaction of the test.
async fn committed(storehaus: &StoreHaus) -> Vec<String> {
    let owners: Vec<(String,)> = rows(storehaus, r#"SELECT "owner" FROM "ledger" ORDER BY "owner""#).await;
    owners.into_iter().map(|(owner,)| owner).collect()
}

/// Connections left inside an open transaction, after up to five seconds for a dropped
/// transaction's rollback to run: PostgreSQL sessions `idle in transaction`; on SQLite, 1 when no
/// write transaction can begin within that time.
async fn transactions_left_open<B: TestBackend>(storehaus: &StoreHaus) -> i64 {
    if B::NAME == "postgres" {
        for _ in 0..50 {
            if storehaus_suite::idle_in_transaction(pg(storehaus)).await == 0 {
                return 0;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        return storehaus_suite::idle_in_transaction(pg(storehaus)).await;
    }
    match tokio::time::timeout(Duration::from_secs(5), storehaus.begin()).await {
        Ok(Ok(tx)) => {
            tx.rollback().await.unwrap();
            0
        }
        Ok(Err(e)) => panic!("cannot begin a transaction: {e}"),
        Err(_) => 1,
    }
}
