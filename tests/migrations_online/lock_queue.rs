//! A reader holds a transaction open while a migration needs the table's ACCESS EXCLUSIVE lock.
//! PostgreSQL queues every later query behind the waiting `ALTER TABLE`; the migration's short
//! `lock_timeout` bounds that wait, and its retries end with `LockTimeout` naming the reader.

use super::*;
use storehaus::BlockingSession;
use storehaus_suite::{column_names, pg};

/// How much slower than the baseline's slowest read any read during the migration may be.
const EXTRA_READ_LATENCY: Duration = Duration::from_millis(100);

/// How long the reads run before the reader opens its transaction.
const BASELINE: Duration = Duration::from_secs(1);

/// Rows of the table: enough for a real scan, few enough to count in well under a millisecond.
const ROWS: i64 = 1000;

/// What one migration behind an open reader did, and the reads' latencies around it.
struct Run {
    result: Result<storehaus::schema::MigrationPlan, StoreError>,
    /// From calling `migrate` to its return.
    migration: Duration,
    /// The slowest read before the reader opened its transaction.
    baseline_max: Duration,
    /// The slowest read from the reader's `BEGIN` until the reads stopped.
    longest_during: Duration,
    /// Reads completed while the migration ran.
    reads_during: usize,
    /// The reader, when it was left open.
    reader: Option<OpenTransaction>,
    reader_pid: i32,
}

/// Probes reads for [`BASELINE`], opens the reader, runs `migrate::<ArticleV2>(options)` with the
/// reads going on, then reads a little longer. The reader commits `commit_after` the migration
/// started, or stays open when `None`.
/// Reads went on while the migration waited, none longer than the baseline's slowest by more
/// than [`EXTRA_READ_LATENCY`].
fn assert_reads_kept_flowing(run: &Run) {
    assert!(run.reads_during > 10, "reads stopped while the migration waited: {} completed", run.reads_during);
    assert!(
        run.longest_during < run.baseline_max + EXTRA_READ_LATENCY,
        "a read waited {} behind the migration (baseline max {})",
        ms(run.longest_during),
        ms(run.baseline_max)
    );
}

async fn migrate_behind_reader(
    db: &TestDatabase,
    storehaus: &StoreHaus,
    options: MigrateOptions,
    commit_after: Option<Duration>,
) -> Run {
    let reads = read_probes(pg(storehaus)).await;
    let reads_started = reads.started;
    tokio::time::sleep(BASELINE).await;
    let baseline_end = Instant::now();

    let reader = OpenTransaction::reader(db).await;
    let reader_pid = reader.pid;
    let (reader, commit) = match commit_after {
        Some(delay) => (None, Some(reader.commit_after(delay))),
        None => (Some(reader), None),
    };
    let started = Instant::now();
    let result = storehaus.migrate::<ArticleV2>(options).await;
    let migration = started.elapsed();
    let finished = Instant::now();
    if let Some(commit) = commit {
        commit.await.unwrap();
    }
    // Reads right after the lock is released or the migration gave up count as well.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let samples = reads.stop().await;
    assert!(samples.errors.is_empty(), "reads failed: {:?}", samples.errors);
    let baseline_max = samples.longest(reads_started, baseline_end);
    assert!(
        samples.completed_within(reads_started, baseline_end) > 100,
        "the probes read too rarely to give a baseline"
    );
    Run {
        result,
        migration,
        baseline_max,
        longest_during: samples.longest(baseline_end, Instant::now()),
        reads_during: samples.completed_within(started, finished),
        reader,
        reader_pid,
    }
}

/// The reader commits after 1.5 s: the migration retries until then and adds the column, and no
/// read waited more than the baseline's slowest plus 100 ms meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_waits_for_the_reader_without_holding_up_reads() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = articles(&db, ROWS).await;
    let options = MigrateOptions::new().lock_budget(Duration::from_secs(10));
    let run = migrate_behind_reader(&db, &storehaus, options, Some(Duration::from_millis(1500))).await;
    eprintln!(
        "reader open 1.5 s, lock_timeout 50 ms: baseline max read {}, longest read during {}, \
         {} reads during the migration, migration {}",
        ms(run.baseline_max),
        ms(run.longest_during),
        run.reads_during,
        ms(run.migration)
    );

    assert_reads_kept_flowing(&run);
    let plan = run.result.unwrap();
    assert_eq!(
        plan.steps.iter().map(|s| s.change.clone()).collect::<Vec<_>>(),
        [Change::AddColumn { column: "summary".into() }]
    );
    assert!(column_names(&storehaus, ARTICLES).await.contains(&"summary".to_owned()));
    assert!(run.migration >= Duration::from_millis(1400), "the migration cannot finish before the reader commits");
    assert!(run.migration < Duration::from_secs(5), "the migration took {:?} after a 1.5 s wait", run.migration);
}

/// The reader never commits: the migration gives up when its 2 s budget is spent, names the
/// reader as the blocker, adds nothing, and no read was held up meanwhile. Once the reader
/// commits, the same migration goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_gives_up_after_its_budget_and_names_the_reader() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = articles(&db, ROWS).await;
    let budget = Duration::from_secs(2);
    let run = migrate_behind_reader(&db, &storehaus, MigrateOptions::new().lock_budget(budget), None).await;
    eprintln!(
        "reader never commits, budget 2 s: baseline max read {}, longest read during {}, \
         {} reads during the migration, gave up after {}",
        ms(run.baseline_max),
        ms(run.longest_during),
        run.reads_during,
        ms(run.migration)
    );

    assert_reads_kept_flowing(&run);
    let err = run.result.unwrap_err();
    let message = err.to_string();
    let StoreError::LockTimeout { table, waited, blockers } = err else {
        panic!("expected LockTimeout, got {err:?}");
    };
    assert_eq!(table, ARTICLES);
    // The budget is how long the migration keeps trying: it fails neither much before nor
    // much after it is spent.
    assert!(run.migration < budget + Duration::from_secs(1), "gave up after {:?}", run.migration);
    assert!(waited <= run.migration, "waited {waited:?} in a call of {:?}", run.migration);
    assert!(waited >= budget.mul_f64(0.9), "gave up after waiting {waited:?} of a {budget:?} budget");
    let reader: Vec<&BlockingSession> = blockers.iter().filter(|b| b.pid == run.reader_pid).collect();
    assert_eq!(reader.len(), 1, "the reader (pid {}) is not among the blockers: {blockers:?}", run.reader_pid);
    assert_eq!(reader[0].state, "idle in transaction");
    assert_eq!(reader[0].application, OPEN_TRANSACTION_APPLICATION);
    // The reader's transaction began before the migration did, and the age is read as it gives up.
    let age = reader[0].age;
    assert!(
        age + Duration::from_millis(50) >= waited,
        "the reader's transaction is {age:?} old after a {waited:?} wait"
    );
    assert!(message.contains(&run.reader_pid.to_string()), "{message}");
    assert!(!column_names(&storehaus, ARTICLES).await.contains(&"summary".to_owned()));

    run.reader.expect("the reader was left open").commit().await;
    storehaus.migrate::<ArticleV2>(MigrateOptions::new().lock_budget(budget)).await.unwrap();
    assert!(column_names(&storehaus, ARTICLES).await.contains(&"summary".to_owned()));
}

/// The contrast that shows the probes measure the queue: with a 10 s `lock_timeout` the
/// `ALTER TABLE` waits in the lock queue the whole second the reader stays open, and every read
/// sent meanwhile waits behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_long_lock_timeout_reads_queue_behind_the_migration() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = articles(&db, ROWS).await;
    let options = MigrateOptions::new().lock_timeout(Duration::from_secs(10)).lock_budget(Duration::from_secs(10));
    let run = migrate_behind_reader(&db, &storehaus, options, Some(Duration::from_secs(1))).await;
    eprintln!(
        "reader open 1 s, lock_timeout 10 s: baseline max read {}, longest read during {}, migration {}",
        ms(run.baseline_max),
        ms(run.longest_during),
        ms(run.migration)
    );

    run.result.unwrap();
    assert!(column_names(&storehaus, ARTICLES).await.contains(&"summary".to_owned()));
    assert!(
        run.longest_during > Duration::from_millis(500),
        "reads did not queue behind the waiting ALTER TABLE: longest {}",
        ms(run.longest_during)
    );
}
