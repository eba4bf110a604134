//! Graceful shutdown. Promises: `StoreHaus::close()` ends the signal listener, the pool and every
//! background task within 10 s, even while other tasks are still calling the store, and the
//! server ends its sessions moments after; a signal manager's `shutdown` returns within
//! `heartbeat_seconds` when its database stops answering, and what it could not deliver stays in
//! the log.

use crate::ProxiedListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use storehaus::prelude::*;
use storehaus::testing::TestDatabase;
use storehaus_suite::fault_proxy::Fault;
use storehaus_suite::{pg, time_until};

#[model]
#[table(name = "shutdown_items")]
pub struct Item {
    #[primary_key]
    pub id: Uuid,
    pub name: String,
}

/// What `close()` and the server's clean-up may take together.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(10);

/// Client sessions on the test database other than the one asking.
async fn sessions(admin: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
    )
    .fetch_one(admin)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_ends_listener_pool_and_tasks_within_ten_seconds() {
    let Some(db) = TestDatabase::new().await else { return };
    // One connection, reused for every look at pg_stat_activity, so it excludes only itself.
    let admin = StoreHaus::new(DatabaseConfig { max_connections: 1, ..db.config().clone() }).await.unwrap();
    let admin_pool = pg(&admin);
    let tasks_before = tokio::runtime::Handle::current().metrics().num_alive_tasks();

    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Item>(false).await.unwrap();
    let config = SignalConfig { heartbeat_seconds: 1, ..SignalConfig::default() };
    let manager = storehaus.signal_manager(config).await.unwrap();
    let heard = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&heard);
    manager
        .add_callback(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
            async { Ok(()) }
        })
        .unwrap();
    let store = GenericStore::<Item>::new(storehaus.pool().clone(), Some(manager.clone()), None);

    // Callers that keep going until the pool refuses them.
    let callers: Vec<_> = (0..4)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut done = 0u64;
                loop {
                    let created = store.create(Item::new(Uuid::new_v4(), format!("caller {n}")), None).await;
                    let read = match created {
                        Ok(item) => store.get_by_id(&item.id).await.map(|_| ()),
                        Err(error) => Err(error),
                    };
                    match read {
                        Ok(()) => done += 1,
                        Err(error) => return (done, error),
                    }
                }
            })
        })
        .collect();
    storehaus_suite::time_until(Duration::from_secs(20), || heard.load(Ordering::Relaxed) >= 50).await;
    assert!(heard.load(Ordering::Relaxed) >= 50, "events flow before the shutdown: {:?}", manager.get_stats());
    assert!(sessions(admin_pool).await >= 2, "the pool and the listener are connected");

    let closing = Instant::now();
    tokio::time::timeout(SHUTDOWN_LIMIT, storehaus.close()).await.expect("close() returns within 10 s");
    let closed_in = closing.elapsed();
    assert_eq!(storehaus.pool().connections().0, 0, "the pool holds no connection once close() returns");
    assert!(manager.is_shut_down());
    assert!(!manager.get_stats().listener_connected);

    // Every caller ends with the pool's refusal, not a hang.
    let mut calls = 0;
    for caller in callers {
        let (done, error) = tokio::time::timeout(SHUTDOWN_LIMIT, caller).await.expect("callers end").unwrap();
        assert!(error.to_string().contains("closed"), "{error:?}");
        calls += done;
    }
    let refused = store.get_by_id(&Uuid::new_v4()).await.unwrap_err();
    assert!(refused.to_string().contains("closed"), "{refused:?}");
    tokio::time::timeout(SHUTDOWN_LIMIT, storehaus.close()).await.expect("closing again returns at once");

    // The server has let go of every session: sqlx closes each connection on its way out,
    // and the backend exits a moment later.
    let mut left = sessions(admin_pool).await;
    while left > 0 && closing.elapsed() < SHUTDOWN_LIMIT {
        tokio::time::sleep(Duration::from_millis(10)).await;
        left = sessions(admin_pool).await;
    }
    let sessions_gone_in = closing.elapsed();
    assert_eq!(left, 0, "no session is left in pg_stat_activity");

    // With the handles dropped, no task of StoreHaus is left on the runtime.
    drop((store, manager, storehaus));
    let mut tasks_after = tokio::runtime::Handle::current().metrics().num_alive_tasks();
    while tasks_after > tasks_before && closing.elapsed() < SHUTDOWN_LIMIT {
        tokio::time::sleep(Duration::from_millis(10)).await;
        tasks_after = tokio::runtime::Handle::current().metrics().num_alive_tasks();
    }
    assert_eq!(tasks_after, tasks_before, "background tasks left running");
    println!(
        "figure: close() returned in {closed_in:?} with 4 callers running ({calls} calls made); \
         no session in pg_stat_activity after {sessions_gone_in:?}; tasks {tasks_before} before, {tasks_after} after"
    );
    admin.close().await;
}

/// Timer and scheduling slack on a loaded 2-core machine, on top of the heartbeat.
const SLACK: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_the_database_blackholed_returns_within_the_heartbeat() {
    let Some(db) = TestDatabase::new().await else { return };
    // The writer talks to PostgreSQL directly; the listening process goes through the proxy.
    let config = SignalConfig { heartbeat_seconds: 2, ..SignalConfig::default() };
    let heartbeat = Duration::from_secs(config.heartbeat_seconds);
    let ProxiedListener { proxy, writer: writer_side, inbox, listening, emitting, store, .. } =
        ProxiedListener::<Item>::start(&db, config.clone()).await;

    store.create(Item::new(Uuid::new_v4(), "before".into()), None).await.unwrap();
    let heard = time_until(Duration::from_secs(10), || inbox.lock().unwrap().len() == 1).await;
    assert!(heard.is_some(), "the listener works before the fault: {:?}", listening.get_stats());

    proxy.set(Fault::Blackhole);
    let unheard = store.create(Item::new(Uuid::new_v4(), "during".into()), None).await.unwrap();
    let closing = Instant::now();
    tokio::time::timeout(heartbeat * 10, listening.shutdown()).await.expect("shutdown returns");
    let took = closing.elapsed();
    println!("figure: shutdown with the database blackholed returned in {took:?} (heartbeat {heartbeat:?})");
    assert!(took <= heartbeat + SLACK, "shutdown took {took:?}, heartbeat {heartbeat:?}");
    assert_eq!(inbox.lock().unwrap().len(), 1, "nothing could be read during the blackhole");

    // What it could not deliver is still in the log, after the position it reached.
    let resumed = SignalManager::start_from(
        config,
        writer_side.pool().event_source().await.unwrap(),
        listening.get_stats().position,
    )
    .unwrap();
    let replayed: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&replayed);
    resumed
        .add_callback(move |event| {
            sink.lock().unwrap().push(event.record_id);
            async { Ok(()) }
        })
        .unwrap();
    let found = time_until(Duration::from_secs(10), || !replayed.lock().unwrap().is_empty()).await;
    assert!(found.is_some(), "the undelivered event is in the log: {:?}", resumed.get_stats());
    resumed.shutdown().await;
    assert_eq!(*replayed.lock().unwrap(), [unheard.id.to_string()]);
    emitting.shutdown().await;
    drop(proxy);
}
