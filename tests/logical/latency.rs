//! Delivery is in commit order and waits for nothing still running: a transaction held open
//! for 10 s delays no write committed meanwhile, and a writer that began before others and
//! commits after them is delivered too, at its commit.

use super::{Item, execute, item, logical, logical_server};
use sqlx::{Connection, PgConnection};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use storehaus::prelude::*;
use storehaus::signals::EventType;
use storehaus_suite::time_until;

/// Writes committed while the other transaction stays open.
const WRITES: usize = 100;

/// How long the unrelated transaction stays open.
const HELD_OPEN: Duration = Duration::from_secs(10);

/// Longest acceptable time from a commit to its callback.
const DEADLINE: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_arrive_within_a_second_while_another_transaction_stays_open() {
    let Some((server, storehaus)) = logical_server().await else { return };
    execute(&storehaus, "CREATE TABLE other_table (id serial PRIMARY KEY, note text)").await;
    // Started first: creating the slot waits for the transactions running at that moment.
    let manager = storehaus.signal_manager(logical("latency")).await.unwrap();
    let arrivals: Arc<Mutex<HashMap<String, (EventType, Instant)>>> = Arc::default();
    let sink = Arc::clone(&arrivals);
    manager
        .add_callback(move |event| {
            sink.lock()
                .unwrap()
                .insert(format!("{}:{}", event.table_name, event.record_id), (event.event_type, Instant::now()));
            async { Ok(()) }
        })
        .unwrap();
    let store = GenericStore::<Item>::new(storehaus.pool().clone(), Some(manager.clone()), None);

    let mut blocker = PgConnection::connect(&server.url()).await.unwrap();
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query("INSERT INTO other_table (note) VALUES ('held')").execute(&mut blocker).await.unwrap();
    let opened = Instant::now();

    // An event writer that begins before the writes and commits after them.
    let late = storehaus.begin().await.unwrap();
    let late_item = store.with_transaction(&late).create(item("late", -1), None).await.unwrap();

    // The commit instant is taken when the call returns, so the delays are, if anything, short
    // by the time the reply takes to arrive.
    let mut committed = Vec::with_capacity(WRITES);
    for seq in 0..WRITES {
        let record = store.create(item("write", seq as i32), None).await.unwrap();
        committed.push((format!("logical_items:{}", record.id), Instant::now()));
    }
    late.commit().await.unwrap();
    committed.push((format!("logical_items:{}", late_item.id), Instant::now()));

    let all_arrived = time_until(Duration::from_secs(5), || {
        let arrivals = arrivals.lock().unwrap();
        committed.iter().all(|(key, _)| arrivals.contains_key(key))
    })
    .await;
    assert!(all_arrived.is_some(), "missing: {:?}", missing(&arrivals, &committed));
    assert!(opened.elapsed() < HELD_OPEN, "the writes were not all delivered while the transaction was open");

    let mut delays: Vec<Duration> = {
        let arrivals = arrivals.lock().unwrap();
        committed.iter().map(|(key, at)| arrivals[key].1.saturating_duration_since(*at)).collect()
    };
    let late_delay = delays.pop().unwrap();
    delays.sort();
    let percentile = |p: usize| delays[(delays.len() * p / 100).min(delays.len() - 1)];
    println!(
        "commit → callback with a transaction open for {HELD_OPEN:?}, {WRITES} writes: p50 {:?}, p99 {:?}, max {:?}; \
         writer that began first and committed last: {late_delay:?}",
        percentile(50),
        percentile(99),
        delays.last().unwrap(),
    );
    assert!(*delays.last().unwrap() < DEADLINE, "slowest delivery {:?}", delays.last());
    assert!(late_delay < DEADLINE, "the late writer took {late_delay:?}");

    // The held transaction's own raw insert arrives once it commits.
    tokio::time::sleep(HELD_OPEN.saturating_sub(opened.elapsed())).await;
    sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();
    let held_arrived = time_until(DEADLINE, || {
        arrivals.lock().unwrap().get("other_table:1").is_some_and(|(kind, _)| *kind == EventType::Create)
    })
    .await;
    assert!(held_arrived.is_some(), "the held transaction's insert was not delivered");
    println!("held transaction's insert delivered {held_arrived:?} after its commit");

    blocker.close().await.unwrap();
    manager.shutdown().await;
    storehaus.close().await;
}

fn missing(arrivals: &Mutex<HashMap<String, (EventType, Instant)>>, committed: &[(String, Instant)]) -> Vec<String> {
    let arrivals = arrivals.lock().unwrap();
    committed.iter().filter(|(key, _)| !arrivals.contains_key(key)).map(|(key, _)| key.clone()).collect()
}
