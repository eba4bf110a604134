//! What StoreHaus does when the network or the servers misbehave: a fault proxy between
//! StoreHaus and PostgreSQL or Redis (blackhole, reset, latency), killed backends, cancelled
//! futures and shutdown. Each test states a promise of docs/reliability.md and prints the figure
//! it measured (`cargo test --test faults -- --nocapture`).

mod cancellation;
mod listener;
mod listener_breaker;
mod postgres;
mod proxy;
mod redis;
mod shutdown;

use std::sync::{Arc, Mutex};
use storehaus::prelude::*;
use storehaus::testing::TestDatabase;
use storehaus_suite::fault_proxy::{FaultProxy, in_front_of};

/// Two processes on one database: a writer that talks to PostgreSQL directly, and a listener whose
/// connections go through a fault proxy, so that only the listener's network fails.
pub(crate) struct ProxiedListener<T: Model> {
    pub proxy: FaultProxy,
    pub writer: StoreHaus,
    /// Every event the listener's callback received, in order.
    pub inbox: Arc<Mutex<Vec<DatabaseEvent>>>,
    pub listening: Arc<SignalManager>,
    pub emitting: Arc<SignalManager>,
    /// A store of `T` on the writer's side, announcing through `emitting`.
    pub store: GenericStore<T>,
    /// Kept open: the listener's process.
    _listener: StoreHaus,
}

impl<T: Model> ProxiedListener<T> {
    pub(crate) async fn start(db: &TestDatabase, config: SignalConfig) -> Self {
        let writer = db.storehaus().await;
        writer.auto_migrate::<T>(false).await.unwrap();
        let (proxy, proxied) = in_front_of(db.config()).await;
        let listener = StoreHaus::new(DatabaseConfig { connection_timeout_seconds: 3, ..proxied }).await.unwrap();
        let listening = listener.signal_manager(config.clone()).await.unwrap();
        let inbox: Arc<Mutex<Vec<DatabaseEvent>>> = Arc::default();
        let sink = Arc::clone(&inbox);
        listening
            .add_callback(move |event| {
                sink.lock().unwrap().push(event);
                async { Ok(()) }
            })
            .unwrap();
        let emitting = writer.signal_manager(config).await.unwrap();
        let store = GenericStore::<T>::new(writer.pool().clone(), Some(emitting.clone()), None);
        ProxiedListener { proxy, writer, inbox, listening, emitting, store, _listener: listener }
    }
}
