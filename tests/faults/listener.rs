//! A listener whose network goes silent: the connection stays open and no byte moves, so only
//! the heartbeat can tell. Promise: the listener notices within `heartbeat_seconds`, reconnects
//! once the network is back, catches up from the log, and delivers every event once, in commit
//! order, although the writers never stopped.

use crate::ProxiedListener;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use storehaus::prelude::*;
use storehaus::testing::TestDatabase;
use storehaus_suite::fault_proxy::Fault;
use storehaus_suite::time_until;

#[model]
#[table(name = "listener_items")]
pub struct Item {
    #[primary_key]
    pub id: Uuid,
    pub writer: i32,
    pub seq: i32,
}

const HEARTBEAT_SECONDS: u64 = 2;
/// Timer and scheduling slack on a loaded 2-core machine, on top of the heartbeat.
const SLACK: Duration = Duration::from_millis(400);
const WRITERS: i32 = 2;
const BLACKHOLES: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_listener_is_noticed_within_the_heartbeat_and_loses_nothing() {
    let Some(db) = TestDatabase::new().await else { return };
    // The writers' process talks to PostgreSQL directly; the listening process goes through the
    // proxy, so only the listener's network fails.
    let config = SignalConfig { heartbeat_seconds: HEARTBEAT_SECONDS, ..SignalConfig::default() };
    let ProxiedListener { proxy, inbox, listening, emitting, store, .. } =
        ProxiedListener::<Item>::start(&db, config).await;

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (store, stop) = (store.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut seq = 0;
                while !stop.load(Ordering::Relaxed) {
                    store.create(Item::new(Uuid::new_v4(), writer, seq), None).await.unwrap();
                    seq += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                seq
            })
        })
        .collect();

    let heartbeat = Duration::from_secs(HEARTBEAT_SECONDS);
    for round in 1..=BLACKHOLES {
        let delivered = inbox.lock().unwrap().len();
        let flowing = time_until(Duration::from_secs(20), || inbox.lock().unwrap().len() > delivered + 20).await;
        assert!(flowing.is_some(), "round {round}: events flow before the fault: {:?}", listening.get_stats());

        let reconnects = listening.get_stats().listener_reconnects;
        proxy.set(Fault::Blackhole);
        let noticed = time_until(heartbeat * 3, || listening.get_stats().listener_reconnects > reconnects).await;
        let noticed = noticed.unwrap_or_else(|| panic!("round {round}: never noticed: {:?}", listening.get_stats()));
        println!("figure: blackhole {round} noticed after {noticed:?} (heartbeat {heartbeat:?})");
        assert!(noticed <= heartbeat + SLACK, "round {round}: noticed after {noticed:?}, heartbeat {heartbeat:?}");
        assert!(!listening.get_stats().listener_connected);

        // The writers go on while the listener is cut off; then the network comes back.
        tokio::time::sleep(Duration::from_secs(1)).await;
        proxy.set(Fault::PassThrough);
        let back = time_until(Duration::from_secs(40), || listening.get_stats().listener_connected).await;
        let back = back.unwrap_or_else(|| panic!("round {round}: never reconnected: {:?}", listening.get_stats()));
        println!("figure: blackhole {round}: listener connected again {back:?} after the network came back");
    }

    stop.store(true, Ordering::Relaxed);
    let mut written = BTreeMap::new();
    for (writer, task) in writers.into_iter().enumerate() {
        written.insert(writer as i64, i64::from(task.await.unwrap()));
    }
    let total = written.values().sum::<i64>() as usize;
    let caught_up = time_until(Duration::from_secs(30), || inbox.lock().unwrap().len() >= total).await;
    assert!(caught_up.is_some(), "{} of {total} events: {:?}", inbox.lock().unwrap().len(), listening.get_stats());
    // Anything late would be a duplicate: give it the time to show up.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let events = inbox.lock().unwrap().clone();
    assert_eq!(events.len(), total, "every event is delivered once");
    let ids: HashSet<i64> = events.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), total, "no event is delivered twice");
    let mut per_writer: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for event in &events {
        let seq = event.payload["seq"].as_i64().unwrap();
        per_writer.entry(event.payload["writer"].as_i64().unwrap()).or_default().push(seq);
    }
    for (writer, count) in &written {
        let expected: Vec<i64> = (0..*count).collect();
        assert_eq!(per_writer.get(writer), Some(&expected), "writer {writer}: every event, in commit order");
    }
    let stats = listening.get_stats();
    println!(
        "figure: {total} events written during {BLACKHOLES} blackholes, {} delivered once each, {} reconnects, \
         {} connection attempts through the proxy",
        events.len(),
        stats.listener_reconnects,
        proxy.accepted()
    );
    listening.shutdown().await;
    emitting.shutdown().await;
}
