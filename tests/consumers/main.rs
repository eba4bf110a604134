//! Durable consumers on PostgreSQL: a position kept in the database and moved only after the
//! callback succeeded, retries and dead letters, partitions shared by several members, and
//! retention that waits for consumers within their maximum lag.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use storehaus::prelude::*;
use storehaus::signals::{Consumer, Subscription};
use storehaus::testing::TestDatabase;
use storehaus_suite::inbox::Inbox;
use storehaus_suite::{TestBackend, on_both_backends, pg, raw};

mod basics;
mod partitions;
mod processes;
mod retention;
mod retries;

#[model]
#[table(name = "orders")]
pub struct Order {
    #[primary_key]
    pub id: Uuid,
    pub customer: String,
    pub total: i64,
}

pub fn order(customer: &str) -> Order {
    Order::new(Uuid::new_v4(), customer.into(), 100)
}

/// A database with the `orders` table, a signal manager and a store that writes through it.
#[derive(Debug)]
pub struct Setup {
    pub storehaus: StoreHaus,
    pub manager: Arc<SignalManager>,
    pub orders: GenericStore<Order>,
}

pub async fn setup(db: &impl TestBackend) -> Setup {
    setup_with(db, SignalConfig { heartbeat_seconds: 2, ..SignalConfig::default() }).await
}

pub async fn setup_with(db: &impl TestBackend, config: SignalConfig) -> Setup {
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Order>(false).await.unwrap();
    let manager = storehaus.signal_manager(config).await.unwrap();
    let orders = GenericStore::<Order>::new(storehaus.pool().clone(), Some(manager.clone()), None);
    Setup { storehaus, manager, orders }
}

/// Starts a consumer of `orders` creates that records every call and succeeds.
pub async fn recording_consumer(manager: &SignalManager, name: &str, calls: &Inbox) -> Consumer {
    manager.consumer(name).subscription(Subscription::table("orders")).start(calls.recorder()).await.unwrap()
}

/// The saved positions of consumer `name` (a plain name), by partition.
pub async fn positions(storehaus: &StoreHaus, name: &str) -> Vec<i64> {
    let sql = format!(
        "SELECT p.\"position\" FROM \"storehaus_consumer_positions\" p JOIN \"storehaus_consumers\" c \
         ON c.\"id\" = p.\"consumer_id\" WHERE c.\"name\" = '{name}' ORDER BY p.\"partition\""
    );
    raw::rows::<(i64,)>(storehaus, &sql).await.into_iter().map(|(p,)| p).collect()
}

/// The id of the last event in the (durable) log.
pub async fn last_event_id(storehaus: &StoreHaus) -> i64 {
    raw::int(storehaus, "SELECT COALESCE(max(\"id\"), 0) FROM \"storehaus_events\"").await
}

/// Waits until `check` holds (or `limit` passed); returns whether it did.
pub async fn eventually(limit: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
