//! A listener whose database refuses it for a while. Promise: after a few failed connections its
//! circuit breaker opens and the listener leaves the database alone for the open period (no
//! connection attempt at all); then one probe reconnects once the network is back, the breaker
//! closes, and every event committed meanwhile is delivered once, in commit order. With the
//! fail-fast strategy, `check_available` refuses while the breaker is open.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use storehaus::prelude::*;
use storehaus::resilience::{BreakerConfig, BreakerState, Strategy};
use storehaus::signals::SignalError;
use storehaus::testing::TestDatabase;
use storehaus_suite::fault_proxy::{Fault, in_front_of};
use storehaus_suite::time_until;

#[model]
#[table(name = "breaker_items")]
pub struct Item {
    #[primary_key]
    pub id: Uuid,
    pub seq: i32,
}

/// Failures within a minute that open the breaker.
const FAILURES: u32 = 3;
/// Long enough to watch the listener stay away, short enough for a test.
const OPEN_FOR: Duration = Duration::from_secs(4);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_listener_opens_its_breaker_stays_away_and_one_probe_brings_it_back() {
    let Some(db) = TestDatabase::new().await else { return };
    let writer = db.storehaus().await;
    writer.auto_migrate::<Item>(false).await.unwrap();
    // Only the listening process goes through the proxy. Without a minimum pool size nothing but
    // the listener opens connections there, so the proxy counts the listener's attempts.
    let (proxy, proxied) = in_front_of(db.config()).await;
    let listener =
        StoreHaus::new(DatabaseConfig { connection_timeout_seconds: 3, min_connections: 0, ..proxied }).await.unwrap();
    let config = SignalConfig {
        heartbeat_seconds: 2,
        breaker: BreakerConfig::new(FAILURES, Duration::from_secs(60), OPEN_FOR),
        strategy: Strategy::FailFast,
        ..SignalConfig::default()
    };
    let listening = listener.signal_manager(config).await.unwrap();
    let inbox: Arc<Mutex<Vec<DatabaseEvent>>> = Arc::default();
    let sink = Arc::clone(&inbox);
    listening
        .add_callback(move |event| {
            sink.lock().unwrap().push(event);
            async { Ok(()) }
        })
        .unwrap();
    let emitting = writer.signal_manager(SignalConfig::default()).await.unwrap();
    let store = GenericStore::<Item>::new(writer.pool().clone(), Some(emitting.clone()), None);

    write(&store, 0..10).await;
    let flowing = time_until(Duration::from_secs(20), || inbox.lock().unwrap().len() == 10).await;
    assert!(flowing.is_some(), "events flow before the fault: {:?}", listening.get_stats());
    listening.check_available().unwrap();

    // Every connection of the listener is reset: the lost doorbell, then failed subscribes.
    proxy.set(Fault::Reset);
    let cut = Instant::now();
    let opened = time_until(Duration::from_secs(60), || listening.listener_breaker() == BreakerState::Open).await;
    let opened = opened.unwrap_or_else(|| panic!("the breaker never opened: {:?}", listening.get_stats()));
    let stats = listening.get_stats();
    println!("figure: breaker open {opened:?} after the network failed, after {} failures", stats.listener_reconnects);
    assert_eq!(stats.listener_reconnects, u64::from(FAILURES));
    assert_eq!(stats.listener_breaker_opened, 1);
    assert!(!stats.listener_connected);
    assert!(matches!(listening.check_available(), Err(SignalError::Unavailable { .. })));

    // Written while the breaker is open; the listener makes no attempt meanwhile.
    let attempts = proxy.accepted();
    write(&store, 10..30).await;
    let watch_until = Instant::now() + OPEN_FOR / 2;
    while Instant::now() < watch_until {
        assert_eq!(proxy.accepted(), attempts, "a connection attempt while the breaker was open");
        assert_eq!(listening.listener_breaker(), BreakerState::Open);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    proxy.set(Fault::PassThrough);
    let closed = time_until(OPEN_FOR + Duration::from_secs(20), || {
        let stats = listening.get_stats();
        stats.listener_breaker == BreakerState::Closed && stats.listener_connected
    })
    .await;
    let closed = closed.unwrap_or_else(|| panic!("the breaker never closed: {:?}", listening.get_stats()));
    println!(
        "figure: breaker closed {closed:?} after the network came back ({:?} after it failed; open for {OPEN_FOR:?})",
        cut.elapsed()
    );
    assert!(closed <= OPEN_FOR + Duration::from_secs(5), "the probe came {closed:?} after the network was back");
    let stats = listening.get_stats();
    assert_eq!(stats.listener_breaker_opened, 1, "the first probe succeeded");
    assert_eq!(stats.listener_reconnects, u64::from(FAILURES));
    listening.check_available().unwrap();

    write(&store, 30..35).await;
    let caught_up = time_until(Duration::from_secs(30), || inbox.lock().unwrap().len() >= 35).await;
    assert!(caught_up.is_some(), "{} of 35 events: {:?}", inbox.lock().unwrap().len(), listening.get_stats());
    // Anything late would be a duplicate: give it the time to show up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seqs: Vec<i64> = inbox.lock().unwrap().iter().map(|event| event.payload["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (0..35).collect::<Vec<i64>>(), "every event once, in commit order");
    println!("figure: {} connection attempts through the proxy in all", proxy.accepted());

    listening.shutdown().await;
    emitting.shutdown().await;
}

/// Writes one item for each of `seqs`, in order.
async fn write(store: &GenericStore<Item>, seqs: std::ops::Range<i32>) {
    for seq in seqs {
        store.create(Item::new(Uuid::new_v4(), seq), None).await.unwrap();
    }
}
