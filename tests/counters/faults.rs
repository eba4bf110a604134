//! Exactly once when the database connection of the syncing process is reset mid-batch: the
//! load of [`exactness`](super::exactness) with a fault proxy between the syncing counters and
//! PostgreSQL (Redis and PostgreSQL only).

use super::*;
use crate::env::Env;
use crate::exactness::hammer;
use storehaus::testing::TestDatabase;
use storehaus_suite::fault_proxy::in_front_of;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eighty_thousand_increments_with_syncs_on_reset_connections_end_exact() {
    storehaus_suite::run_on::<TestDatabase, _>(|db| async move {
        let Some(env) = Env::open(&db, "faults::reset_connections").await else { return };
        let (proxy, proxied) = in_front_of(db.config()).await;
        let syncing = StoreHaus::new(DatabaseConfig { connection_timeout_seconds: 3, ..proxied }).await.unwrap();
        let syncer = env.builder_on(syncing.pool().clone()).build().await.unwrap();
        hammer(&env, &syncer, Some(&proxy)).await;
        assert!(proxy.accepted() > 1, "the syncing pool reconnected after resets");
        env.cleanup().await;
    })
    .await;
}
