//! Store reads retried after PostgreSQL connections are reset under load: with retries on, no
//! error reaches a caller and every read returns the right rows; with them off, the errors that
//! reach callers are all transient. A store's own policy overrides its pool's; writes are never
//! retried. On SQLite reads do not fail, so nothing is retried.

use crate::{Entry, entries_labelled};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use storehaus::prelude::*;
use storehaus::resilience::{RetryPolicy, RetryStats};
use storehaus::testing::{TestDatabase, TestSqlite};
use storehaus_suite::fault_proxy::{self, Fault, FaultProxy};
use storehaus_suite::pg;

#[model]
#[table(name = "retry_items")]
pub struct Item {
    #[primary_key]
    pub id: Uuid,
    pub slot: i32,
    pub n: i64,
}

const ROWS: i32 = 40;
/// Rows each `find` reads.
const SPAN: i32 = 4;
/// A connection per reader, each nearly always busy when it is reset.
const READERS: usize = 8;
const MAX_CONNECTIONS: u32 = READERS as u32;
const RESETS: usize = 4;
const RESET_EVERY: Duration = Duration::from_millis(500);
/// Each way, per chunk of bytes.
const NETWORK_LATENCY: Duration = Duration::from_millis(10);
/// Load after the last reset, before the readers stop.
const TAIL: Duration = Duration::from_secs(1);

/// The rows the readers look for, `rows[slot]`.
async fn seed(store: &GenericStore<Item>) -> Vec<Item> {
    let items: Vec<Item> =
        (0..ROWS).map(|slot| Item { id: Uuid::new_v4(), slot, n: i64::from(slot) * 1_000 + 7 }).collect();
    store.create_many(items.clone(), None).await.expect("the rows are written");
    items
}

/// What the readers of one store saw.
#[derive(Debug, Default)]
struct Tally {
    reads: u64,
    errors: Vec<StoreError>,
    /// Reads that returned other rows than the ones written.
    wrong: Vec<String>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.reads += other.reads;
        self.errors.extend(other.errors);
        self.wrong.extend(other.wrong);
    }
}

fn same(record: &Record<Item>, item: &Item) -> bool {
    (record.id, record.slot, record.n) == (item.id, item.slot, item.n)
}

/// Reads rows of `rows` by key and by range until `stop`, checking each answer.
async fn read_until(store: GenericStore<Item>, rows: Arc<Vec<Item>>, reader: usize, stop: Arc<AtomicBool>) -> Tally {
    let mut tally = Tally::default();
    let mut step = reader;
    while !stop.load(Ordering::Relaxed) {
        step += 1;
        // A spread of rows without a random number generator.
        let item = &rows[(step * 7919) % rows.len()];
        tally.reads += 1;
        if step.is_multiple_of(2) {
            match store.get_by_id(&item.id).await {
                Ok(Some(record)) if same(&record, item) => {}
                Ok(other) => tally.wrong.push(format!("get_by_id({}) returned {other:?}", item.id)),
                Err(error) => tally.errors.push(error),
            }
        } else {
            let first = item.slot.min(ROWS - SPAN);
            let query = QueryBuilder::new()
                .filter(QueryFilter::gte("slot", first))
                .filter(QueryFilter::lt("slot", first + SPAN))
                .order_by("slot", SortOrder::Asc);
            match store.find(query).await {
                Ok(records)
                    if records.len() == SPAN as usize
                        && records.iter().zip(&rows[first as usize..]).all(|(r, i)| same(r, i)) => {}
                Ok(records) => tally.wrong.push(format!("find from slot {first} returned {records:?}")),
                Err(error) => tally.errors.push(error),
            }
        }
    }
    tally
}

/// Runs `READERS` readers on `store` while `proxy` resets every open connection `RESETS`
/// times; returns what they saw.
async fn read_under_resets(proxy: &FaultProxy, store: &GenericStore<Item>, rows: &Arc<Vec<Item>>) -> Tally {
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..READERS)
        .map(|reader| tokio::spawn(read_until(store.clone(), Arc::clone(rows), reader, Arc::clone(&stop))))
        .collect();
    let mut broken = Vec::new();
    for _ in 0..RESETS {
        tokio::time::sleep(RESET_EVERY).await;
        broken.push(proxy.open());
        proxy.reset_open();
    }
    tokio::time::sleep(TAIL).await;
    stop.store(true, Ordering::Relaxed);
    let mut tally = Tally::default();
    for reader in readers {
        tally.add(reader.await.expect("a reader panicked"));
    }
    eprintln!("figure: {RESETS} resets of the open connections, each breaking {broken:?} of them");
    assert!(broken.iter().all(|open| *open > 0), "every reset found connections to break: {broken:?}");
    tally
}

/// A database seeded with `ROWS` rows, and a `StoreHaus` on it through a fault proxy.
struct Proxied {
    db: TestDatabase,
    proxy: FaultProxy,
    storehaus: StoreHaus,
    store: GenericStore<Item>,
    rows: Arc<Vec<Item>>,
}

async fn proxied() -> Option<Proxied> {
    let db = TestDatabase::new().await?;
    let admin = db.storehaus().await;
    admin.auto_migrate::<Item>(false).await.unwrap();
    let rows = Arc::new(seed(&GenericStore::new(admin.pool().clone(), None, None)).await);
    admin.close().await;
    let (proxy, proxied) = fault_proxy::in_front_of(db.config()).await;
    // A network between hosts: every query spends most of its time in flight, where a reset
    // catches it, rather than the connection idling in the pool, where the pool replaces it.
    proxy.set(Fault::Latency(NETWORK_LATENCY));
    let config = DatabaseConfig { max_connections: MAX_CONNECTIONS, connection_timeout_seconds: 3, ..proxied };
    let storehaus = StoreHaus::new(config).await.unwrap();
    let store = GenericStore::<Item>::new(storehaus.pool().clone(), None, None);
    Some(Proxied { db, proxy, storehaus, store, rows })
}

fn summary(name: &str, tally: &Tally) -> String {
    format!("{name}: {} reads, {} errors, {} wrong", tally.reads, tally.errors.len(), tally.wrong.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_retried_by_default_hide_connection_resets() {
    let Some(proxied) = proxied().await else { return };
    let Proxied { storehaus, store, .. } = &proxied;
    assert_eq!(storehaus.retry_policy(), RetryPolicy::default(), "retries are on by default");

    let tally = read_under_resets(&proxied.proxy, store, &proxied.rows).await;
    let stats = storehaus.pool().retry_stats();
    eprintln!(
        "figure: retries on: {}; {} retries, {} reads recovered, {} exhausted",
        summary("8 readers", &tally),
        stats.retries,
        stats.recovered,
        stats.exhausted
    );
    assert!(tally.errors.is_empty(), "errors reached callers: {:#?}", tally.errors);
    assert!(tally.wrong.is_empty(), "{:#?}", tally.wrong);
    assert!(tally.reads > 100, "the readers hardly ran: {}", tally.reads);
    assert_eq!(stats.exhausted, 0);
    // A reset under load may find every connection idle in the pool, which replaces it unseen
    // (on a loaded machine this happens); one reset of reads held mid-query is always felt.
    let admin = proxied.db.storehaus().await;
    reset_mid_read(&proxied, &admin, &store.with_retry_policy(RetryPolicy::disabled()), store).await;
    let stats = storehaus.pool().retry_stats();
    assert!(stats.retries > 0 && stats.recovered > 0, "the resets were not felt: {stats:?}");
    assert_eq!(storehaus.health_check().await.unwrap().retries, stats);
    admin.close().await;
    storehaus.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_retries_off_callers_see_the_resets_as_transient_errors() {
    let Some(proxied) = proxied().await else { return };
    let Proxied { storehaus, store, .. } = &proxied;
    storehaus.set_retry_policy(RetryPolicy::disabled());
    assert_eq!(store.retry_policy(), RetryPolicy::disabled(), "the pool's policy");

    let mut tally = read_under_resets(&proxied.proxy, store, &proxied.rows).await;
    let stats = storehaus.pool().retry_stats();
    eprintln!("figure: retries off: {}; {} retries", summary("8 readers", &tally), stats.retries);
    assert_eq!(stats, RetryStats::default(), "nothing retried, nothing counted");
    // A reset under load may find every connection idle in the pool, which replaces it unseen;
    // one reset of reads held mid-query always reaches the caller without retries.
    let admin = proxied.db.storehaus().await;
    tally.errors.push(reset_mid_read(&proxied, &admin, store, &store.with_retry_policy(RetryPolicy::default())).await);
    let permanent: Vec<_> = tally.errors.iter().filter(|e| !e.is_transient()).collect();
    assert!(permanent.is_empty(), "errors not marked transient: {permanent:#?}");
    assert!(tally.wrong.is_empty(), "{:#?}", tally.wrong);
    admin.close().await;
    storehaus.close().await;
}

/// The server processes of the test database's sessions that wait for a lock, once there are
/// `at_least` of them.
async fn waiting_for_a_lock(admin: &StoreHaus, at_least: usize) -> Vec<i32> {
    let started = Instant::now();
    loop {
        let waiting: Vec<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_all(pg(admin))
        .await
        .unwrap();
        if waiting.len() >= at_least {
            return waiting;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{} sessions wait for a lock, not {at_least}",
            waiting.len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Ends the server processes `pids`, sessions whose clients are gone.
async fn terminate(admin: &StoreHaus, pids: &[i32]) {
    for pid in pids {
        let _: bool =
            sqlx::query_scalar("SELECT pg_terminate_backend($1, 5000)").bind(pid).fetch_one(pg(admin)).await.unwrap();
    }
}

/// Reads `item` on `once` and on `retrying` while another session holds the table, so both
/// wait in the server mid-query; resets their connections there; and checks that `once` fails
/// while `retrying` reads again on a new connection and returns the row.
async fn reset_mid_read(
    proxied: &Proxied,
    admin: &StoreHaus,
    once: &GenericStore<Item>,
    retrying: &GenericStore<Item>,
) -> StoreError {
    let item = &proxied.rows[3];
    let id = item.id;
    let mut holder = pg(admin).begin().await.unwrap();
    sqlx::query(r#"LOCK TABLE "retry_items" IN ACCESS EXCLUSIVE MODE"#).execute(&mut *holder).await.unwrap();
    let failing = tokio::spawn({
        let store = once.clone();
        async move { store.get_by_id(&id).await }
    });
    let retried = tokio::spawn({
        let store = retrying.clone();
        async move { store.get_by_id(&id).await }
    });
    let orphans = waiting_for_a_lock(admin, 2).await;
    let before = proxied.storehaus.pool().retry_stats();
    proxied.proxy.reset_open();

    let error = tokio::time::timeout(Duration::from_secs(3), failing)
        .await
        .expect("answered while the table is still held")
        .expect("the read does not panic")
        .expect_err("its connection was reset mid-query");
    assert!(error.is_transient(), "a lost connection is transient: {error:?}");
    // The server still runs the two queries whose clients are gone, and now the retry's.
    waiting_for_a_lock(admin, 3).await;
    let during = proxied.storehaus.pool().retry_stats();
    assert_eq!(during.retries - before.retries, 1, "one read retried");
    terminate(admin, &orphans).await;
    holder.rollback().await.unwrap();
    let record = tokio::time::timeout(Duration::from_secs(3), retried)
        .await
        .expect("the retried read returns once the table is free")
        .expect("the read does not panic")
        .expect("the retried read succeeds")
        .expect("the row");
    assert!(same(&record, item), "{record:?}");
    assert_eq!(proxied.storehaus.pool().retry_stats().recovered - before.recovered, 1);
    error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_policy_overrides_the_pool_policy() {
    let Some(proxied) = proxied().await else { return };
    let admin = proxied.db.storehaus().await;
    let store = &proxied.store;

    // The pool retries; one store does not.
    let once = store.with_retry_policy(RetryPolicy::disabled());
    assert_eq!(store.retry_policy(), RetryPolicy::default(), "the pool's policy");
    let error = reset_mid_read(&proxied, &admin, &once, store).await;
    eprintln!("figure: pool retrying, store not: the store's read failed with {error}; the pool's was retried");

    // The pool does not retry; one store does.
    proxied.storehaus.set_retry_policy(RetryPolicy::disabled());
    let retrying = store.with_retry_policy(RetryPolicy::default());
    assert_eq!(store.retry_policy(), RetryPolicy::disabled(), "the pool's policy, changed");
    let error = reset_mid_read(&proxied, &admin, store, &retrying).await;
    eprintln!("figure: store retrying, pool not: the pool's read failed with {error}; the store's was retried");

    proxied.storehaus.close().await;
    admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_connection_is_reset_fails_and_is_not_retried() {
    let Some(db) = TestDatabase::new().await else { return };
    let admin = db.storehaus().await;
    admin.auto_migrate::<Entry>(false).await.unwrap();
    let (proxy, proxied) = fault_proxy::in_front_of(db.config()).await;
    let storehaus = StoreHaus::new(DatabaseConfig { max_connections: 2, ..proxied }).await.unwrap();
    let entries = GenericStore::<Entry>::new(storehaus.pool().clone(), None, None);
    assert!(entries.retry_policy().is_enabled(), "reads on this pool are retried");
    assert_eq!(entries.count().await.unwrap(), 0);

    // Another session holds the table, so the insert waits in the server, its connection open.
    let mut holder = pg(&admin).begin().await.unwrap();
    sqlx::query(r#"LOCK TABLE "retry_entries" IN EXCLUSIVE MODE"#).execute(&mut *holder).await.unwrap();
    let create = tokio::spawn({
        let entries = entries.clone();
        async move { entries.create(Entry { id: 0, label: "once".into() }, None).await }
    });
    let waiting = waiting_for_a_lock(&admin, 1).await;

    let before = storehaus.pool().retry_stats();
    let accepted = proxy.accepted();
    proxy.reset_open();
    // Answered while the table is still held: a retry would be waiting for it.
    let outcome = tokio::time::timeout(Duration::from_secs(3), create)
        .await
        .expect("the create returns while the table is still held")
        .expect("the create does not panic");
    let error = outcome.expect_err("the create's connection was reset");
    eprintln!("figure: create on a reset connection: {error}");
    assert!(error.is_transient(), "a lost connection is transient: {error:?}");
    assert_eq!(storehaus.pool().retry_stats(), before, "a write is never retried");
    assert_eq!(proxy.accepted(), accepted, "no connection was opened for another attempt");

    // The server still holds the insert its client gave up on; end it, then free the table: the
    // table then holds what the caller was told, nothing.
    terminate(&admin, &waiting).await;
    holder.rollback().await.unwrap();
    // Time for a late attempt, were there one, to commit.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(entries_labelled(&admin, "once").await, 0, "the failed create left no row");

    // The same write on a working connection: one row, once.
    let created = entries.create(Entry { id: 0, label: "once".into() }, None).await.unwrap();
    assert!(created.id > 0);
    assert_eq!(entries_labelled(&admin, "once").await, 1);
    assert_eq!(storehaus.pool().retry_stats(), before);
    storehaus.close().await;
    admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reads_with_retries_on_count_nothing() {
    let db = TestSqlite::new();
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Item>(false).await.unwrap();
    let store = GenericStore::<Item>::new(storehaus.pool().clone(), None, None);
    assert!(store.retry_policy().is_enabled(), "retries are on");
    let rows = Arc::new(seed(&store).await);

    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|reader| tokio::spawn(read_until(store.clone(), Arc::clone(&rows), reader, Arc::clone(&stop))))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut tally = Tally::default();
    for reader in readers {
        tally.add(reader.await.expect("a reader panicked"));
    }
    assert_eq!(store.count().await.unwrap(), ROWS as u64);
    assert_eq!(store.list_all().await.unwrap().len(), ROWS as usize);
    let stats = storehaus.pool().retry_stats();
    eprintln!("figure: SQLite: {}; {stats:?}", summary("4 readers", &tally));
    assert!(tally.errors.is_empty() && tally.wrong.is_empty(), "{tally:#?}");
    assert!(tally.reads > 100, "the readers hardly ran: {}", tally.reads);
    assert_eq!(stats, RetryStats::default(), "no read failed, so none was retried");
    assert_eq!(storehaus.health_check().await.unwrap().retries, RetryStats::default());
    storehaus.close().await;
}
