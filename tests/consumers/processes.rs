//! Durable consumers in separate processes: a consumer killed with SIGKILL again and again loses
//! no event and, with `mark_handled`, makes its effect once; two processes running the same
//! consumer split its partitions and never work on one event at the same time.
//!
//! The processes are this test binary run again with `--exact processes::child_consumer` and the
//! settings in environment variables (see [`children`]); the parent writes orders and reads what
//! the children recorded in the test database.

mod child;
mod children;

use super::*;
use children::Children;
use std::collections::HashSet;

/// The effect made exactly once per order. Not unique by order, so a second mail would show.
#[model]
#[table(name = "mails")]
pub struct Mail {
    #[primary_key]
    pub id: Uuid,
    pub order_id: String,
    pub child: String,
}

/// Tables the children write into besides `mails`, without events: `deliveries` has one row per
/// callback run (started in autocommit before any effect, ended after the commit), `child_status`
/// what each child's consumer reports.
///
/// First, the test database's commits stop waiting for the disk (on connections opened from then
/// on, the children's): these tests kill client processes, never the server, so a commit is
/// kept all the same, and the callback's three commits per event skip three disk flushes.
const PREPARE: &[&str] = &[
    "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = off', current_database()); END $$",
    "CREATE TABLE deliveries (id BIGSERIAL PRIMARY KEY, event_id BIGINT NOT NULL, order_id TEXT NOT NULL, \
     child TEXT NOT NULL, started_at TIMESTAMPTZ NOT NULL, ended_at TIMESTAMPTZ)",
    "CREATE TABLE child_status (child TEXT PRIMARY KEY, partitions_held INT NOT NULL, reported_at TIMESTAMPTZ NOT NULL)",
];

/// Runs a child's consumer when this binary was started as one; returns at once otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_consumer() {
    child::run_if_asked().await;
}

async fn prepare(db: &TestDatabase) -> Setup {
    let s = setup(db).await;
    s.storehaus.auto_migrate::<Mail>(false).await.unwrap();
    for &statement in PREPARE {
        sqlx::query(statement).execute(pg(&s.storehaus)).await.unwrap();
    }
    s
}

/// How far the orders written may run ahead of the mails made, so that writing lasts as long as
/// the work, whatever the machine's speed, and a kill always finds work in progress.
const MAX_AHEAD: usize = 300;

/// Writes `count` orders in batches of 50, keeping at most [`MAX_AHEAD`] unmailed; calls
/// `between` after each batch with its index. Returns the order ids.
async fn write_orders(s: &Setup, count: usize, mut between: impl AsyncFnMut(usize)) -> Vec<String> {
    let mut ids = Vec::with_capacity(count);
    for (batch, start) in (0..count).step_by(50).enumerate() {
        let mailed = eventually(Duration::from_secs(30), async || {
            scalar(s, "SELECT count(*) FROM mails").await as usize + MAX_AHEAD >= start
        });
        assert!(
            mailed.await,
            "the consumer stalled at {} of {start} orders",
            scalar(s, "SELECT count(*) FROM mails").await
        );
        let orders: Vec<Order> = (start..count.min(start + 50)).map(|i| order(&format!("c{i}"))).collect();
        ids.extend(orders.iter().map(|o| o.id.to_string()));
        s.orders.create_many(orders, None).await.unwrap();
        between(batch).await;
    }
    ids
}

async fn scalar(s: &Setup, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pg(&s.storehaus)).await.unwrap()
}

async fn strings(s: &Setup, sql: &'static str) -> HashSet<String> {
    sqlx::query_scalar::<_, String>(sql).fetch_all(pg(&s.storehaus)).await.unwrap().into_iter().collect()
}

async fn clock(s: &Setup) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT clock_timestamp()").fetch_one(pg(&s.storehaus)).await.unwrap()
}

/// Deliveries `child` started, finished or not.
async fn deliveries_by(s: &Setup, child: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE child = $1")
        .bind(child)
        .fetch_one(pg(&s.storehaus))
        .await
        .unwrap()
}

/// Checks what every test here expects once all `written` orders were handled: each delivered
/// at least once, and mailed exactly once.
async fn assert_each_mailed_once(s: &Setup, written: &[String]) {
    let written: HashSet<String> = written.iter().cloned().collect();
    let delivered = strings(s, "SELECT DISTINCT order_id FROM deliveries").await;
    assert!(delivered == written, "{} of {} orders delivered", delivered.intersection(&written).count(), written.len());
    let mailed = strings(s, "SELECT DISTINCT order_id FROM mails").await;
    assert!(mailed == written, "{} of {} orders mailed", mailed.intersection(&written).count(), written.len());
    assert_eq!(scalar(s, "SELECT count(*) FROM mails").await, written.len() as i64, "one mail per order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_killed_five_times_loses_nothing_and_mails_once() {
    const ORDERS: usize = 5_000;
    const KILLS: usize = 5;
    let Some(db) = TestDatabase::new().await else { return };
    let s = prepare(&db).await;
    let mut children = Children::new(&db, "mail-once", 1);
    children.spawn("run-0");

    // A kill at a random batch in each fifth of the 100 but the last, and one after the last
    // batch: from that restart on, the figures show recovery alone, with no writes to follow.
    let mut kill_after: Vec<usize> = (0..KILLS - 1).map(|k| k * 20 + 5 + child::random_below(15) as usize).collect();
    kill_after.push(ORDERS / 50 - 1);
    let mut run = 0;
    let mut last_restart = (clock(&s).await, std::time::Instant::now());
    let mut backlog_at_last_kill = 0;
    let written = write_orders(&s, ORDERS, async |batch| {
        if !kill_after.contains(&batch) {
            return;
        }
        // A kill counts only when it hits a process at work: wait until it delivered something.
        let label = format!("run-{run}");
        let working = eventually(Duration::from_secs(20), async || {
            children.assert_running();
            deliveries_by(&s, &label).await > 0
        });
        assert!(working.await, "{label} delivered nothing within 20 s");
        children.kill(&label);
        backlog_at_last_kill = (batch as i64 + 1) * 50 - scalar(&s, "SELECT count(*) FROM mails").await;
        run += 1;
        last_restart = (clock(&s).await, std::time::Instant::now());
        children.spawn(&format!("run-{run}"));
    })
    .await;
    assert_eq!(run, KILLS);

    let last = last_event_id(&s.storehaus).await;
    let caught_up = eventually(Duration::from_secs(60), async || {
        children.assert_running();
        positions(&s.storehaus, "mail-once").await == [last]
    });
    assert!(caught_up.await, "positions {:?}, last event {last}", positions(&s.storehaus, "mail-once").await);
    let recovered = last_restart.1.elapsed();
    children.stop_all();

    assert_each_mailed_once(&s, &written).await;
    let deliveries = scalar(&s, "SELECT count(*) FROM deliveries").await;
    // A position is saved after each read batch of up to 100 events, so a kill repeats at
    // most the 100 events of the batch it cut short.
    assert!(deliveries - ORDERS as i64 <= (KILLS * 100) as i64, "{deliveries} deliveries");
    let interrupted = scalar(&s, "SELECT count(*) FROM deliveries WHERE ended_at IS NULL").await;
    let resumed: f64 = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM min(started_at) - $1)::float8 * 1000 FROM deliveries WHERE child = $2",
    )
    .bind(last_restart.0)
    .bind(format!("run-{KILLS}"))
    .fetch_one(pg(&s.storehaus))
    .await
    .unwrap();
    println!(
        "killed consumer: {ORDERS} events, {KILLS} kills (after batches {kill_after:?} of 50), \
         {deliveries} deliveries = {} duplicates ({interrupted} cut off by a kill), {} mails; \
         last restart: {backlog_at_last_kill} events behind, first delivery after {resumed:.0} ms, \
         caught up after {:.2} s",
        deliveries - ORDERS as i64,
        scalar(&s, "SELECT count(*) FROM mails").await,
        recovered.as_secs_f64(),
    );
    s.manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_a_consumer_without_overlap() {
    const ORDERS: usize = 2_000;
    let Some(db) = TestDatabase::new().await else { return };
    let s = prepare(&db).await;
    let mut children = Children::new(&db, "mail-shared", 4);
    children.spawn("a");

    // The second process joins while the first is busy, so two partitions move between them
    // mid-stream; the rest of the orders are written while both hold two each.
    let written = write_orders(&s, ORDERS, async |batch| {
        if batch == 9 {
            children.spawn("b");
        }
    })
    .await;
    let done = eventually(Duration::from_secs(60), async || {
        children.assert_running();
        scalar(&s, "SELECT count(DISTINCT order_id) FROM mails").await == ORDERS as i64
    });
    assert!(done.await, "{} of {ORDERS} mailed", scalar(&s, "SELECT count(DISTINCT order_id) FROM mails").await);
    let held: Vec<(String, i32)> = sqlx::query_as("SELECT child, partitions_held FROM child_status ORDER BY child")
        .fetch_all(pg(&s.storehaus))
        .await
        .unwrap();
    // Settled: every callback that started also ended, so the intervals below are complete.
    let settled = eventually(Duration::from_secs(10), async || {
        scalar(&s, "SELECT count(*) FROM deliveries WHERE ended_at IS NULL").await == 0
    });
    assert!(settled.await, "a callback never ended");
    children.stop_all();

    assert_each_mailed_once(&s, &written).await;
    let handled = scalar(&s, "SELECT count(*) FROM storehaus_handled_events WHERE consumer = 'mail-shared'").await;
    assert_eq!(handled, ORDERS as i64, "handled once each");
    let by_child: Vec<(String, i64)> =
        sqlx::query_as("SELECT child, count(*) FROM mails GROUP BY child ORDER BY child")
            .fetch_all(pg(&s.storehaus))
            .await
            .unwrap();
    assert!(by_child.len() == 2 && by_child.iter().all(|(_, n)| *n > 0), "both handled events: {by_child:?}");
    assert_eq!(held, [("a".to_owned(), 2), ("b".to_owned(), 2)], "two partitions each");
    let overlapping = scalar(
        &s,
        "SELECT count(*) FROM deliveries x JOIN deliveries y ON x.event_id = y.event_id AND x.child < y.child \
         WHERE tstzrange(x.started_at, x.ended_at) && tstzrange(y.started_at, y.ended_at)",
    )
    .await;
    assert_eq!(overlapping, 0, "an event was in flight in both processes at once");
    let in_both = scalar(
        &s,
        "SELECT count(*) FROM (SELECT event_id FROM deliveries GROUP BY event_id HAVING count(DISTINCT child) = 2) e",
    )
    .await;
    let deliveries = scalar(&s, "SELECT count(*) FROM deliveries").await;
    println!(
        "shared consumer: {ORDERS} events over 4 partitions, handled {by_child:?}, {deliveries} deliveries, \
         {in_both} events delivered in both processes (never at the same time)"
    );
    s.manager.shutdown().await;
}
