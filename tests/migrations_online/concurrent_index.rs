//! An index added to a table that already exists is built with `CREATE INDEX CONCURRENTLY`,
//! after the migration's transaction: writers go on inserting while a million rows are indexed.
//! A concurrent build that failed leaves an INVALID index, which the next migration rebuilds.

use super::*;
use storehaus_suite::pg;

/// Rows in the table before the index is built.
const ROWS: i64 = 1_000_000;

/// How much slower than the baseline's slowest insert any insert during the build may be.
const EXTRA_WRITE_LATENCY: Duration = Duration::from_millis(100);

/// How long the writers run before the migration.
const BASELINE: Duration = Duration::from_secs(1);

/// `pg_index.indisvalid` of every index named `name` (one, unless something went wrong).
async fn validity(storehaus: &StoreHaus, name: &str) -> Vec<bool> {
    sqlx::query_scalar(
        "SELECT ix.indisvalid FROM pg_index ix JOIN pg_class c ON c.oid = ix.indexrelid
         WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace",
    )
    .bind(name)
    .fetch_all(pg(storehaus))
    .await
    .unwrap()
}

/// Four writers insert one row per statement, each on its own connection; ids
/// `10_000_000 × (writer + 1) + n` stay clear of the filled rows and of each other.
async fn writers(pool: &sqlx::PgPool) -> Load {
    // Two milliseconds between inserts leave the build some of the machine's two cores.
    Load::start(
        pool,
        4,
        Duration::from_millis(2),
        "INSERT INTO online_articles (id, title, author_id) VALUES ($1, 'written', $2)",
        |writer, n| {
            let n = n as i64;
            vec![10_000_000 * (writer as i64 + 1) + n, n % 1000]
        },
    )
    .await
}

/// The index on `author_id` is built concurrently on a million rows while four writers insert:
/// no insert waits more than the baseline's slowest plus 100 ms, none fails, and the index ends
/// valid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_on_a_million_rows_is_built_while_writers_insert() {
    let Some(db) = TestDatabase::new().await else { return };
    let filling = Instant::now();
    let storehaus = articles(&db, ROWS).await;
    let filled_in = filling.elapsed();
    // Settle the server the way a table that has been in use for a while is: its rows vacuumed
    // (autovacuum may be off) and the fill's dirty pages written out. Otherwise the baseline
    // catches the flush of a million fresh rows, and the build's scan dirties every page again.
    for settle in ["VACUUM (ANALYZE) online_articles", "CHECKPOINT"] {
        sqlx::query(settle).execute(pg(&storehaus)).await.unwrap();
    }
    let settled_in = filling.elapsed() - filled_in;

    let load = writers(pg(&storehaus)).await;
    let load_started = load.started;
    tokio::time::sleep(BASELINE).await;
    let baseline_end = Instant::now();
    let plan = storehaus.migrate::<ArticleByAuthor>(MigrateOptions::new()).await.unwrap();
    let build = baseline_end.elapsed();
    let built = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let samples = load.stop().await;

    let baseline_max = samples.longest(load_started, baseline_end);
    let longest_during = samples.longest(baseline_end, built);
    let writes_during = samples.completed_within(baseline_end, built);
    eprintln!(
        "{ROWS} rows filled in {}, vacuumed and checkpointed in {}; CREATE INDEX CONCURRENTLY took {}: \
         baseline max insert {}, longest insert during {}, {writes_during} inserts during the build, {} in all",
        ms(filled_in),
        ms(settled_in),
        ms(build),
        ms(baseline_max),
        ms(longest_during),
        samples.all.len()
    );
    assert!(samples.errors.is_empty(), "inserts failed: {:?}", samples.errors);

    let name = "online_articles_author_id_idx";
    let changes: Vec<Change> = plan.steps.iter().map(|s| s.change.clone()).collect();
    assert_eq!(changes, [Change::CreateIndex { name: name.into(), columns: vec!["author_id".into()], unique: false }]);
    let step = &plan.steps[0];
    assert!(step.outside_transaction, "{step:?}");
    assert!(step.sql.contains("CONCURRENTLY"), "{}", step.sql);
    assert_eq!(validity(&storehaus, name).await, [true]);
    assert!(storehaus.plan::<ArticleByAuthor>().await.unwrap().is_empty());

    assert!(samples.completed_within(load_started, baseline_end) > 50, "too few inserts for a baseline");
    assert!(writes_during > 50, "the writers barely wrote during the build: {writes_during} inserts");
    assert!(
        longest_during < baseline_max + EXTRA_WRITE_LATENCY,
        "an insert waited {} during the build (baseline max {})",
        ms(longest_during),
        ms(baseline_max)
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM online_articles").fetch_one(pg(&storehaus)).await.unwrap();
    // Every writer's unrecorded first insert is a row too.
    assert_eq!(rows, ROWS + samples.all.len() as i64 + 4);
}

/// A concurrent unique build that failed on duplicates leaves an INVALID index under the name
/// StoreHaus uses. While the duplicates remain, the migration is refused and the index is left
/// as it was; once they are gone, the migration drops the invalid index and builds it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_index_left_by_a_failed_build_is_rebuilt() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = articles(&db, 10_000).await;
    let name = "online_articles_title_key";
    sqlx::query("UPDATE online_articles SET title = 'article 1' WHERE id = 2").execute(pg(&storehaus)).await.unwrap();
    let failed =
        sqlx::raw_sql(r#"CREATE UNIQUE INDEX CONCURRENTLY "online_articles_title_key" ON "online_articles" ("title")"#)
            .execute(pg(&storehaus))
            .await;
    assert!(failed.is_err(), "the build over duplicates succeeded");
    assert_eq!(validity(&storehaus, name).await, [false]);

    let err = storehaus.migrate::<ArticleUniqueTitle>(MigrateOptions::new()).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::UnsafeMigration { column, reason, .. } if column == "title" && reason.contains("article 1")),
        "{err:?}"
    );
    assert_eq!(validity(&storehaus, name).await, [false]);

    sqlx::query("DELETE FROM online_articles WHERE id = 2").execute(pg(&storehaus)).await.unwrap();
    let plan = storehaus.migrate::<ArticleUniqueTitle>(MigrateOptions::new()).await.unwrap();
    eprintln!("rebuild of an invalid index:\n{plan}");
    let changes: Vec<Change> = plan.steps.iter().map(|s| s.change.clone()).collect();
    assert_eq!(
        changes,
        [
            Change::DropIndex { name: name.into() },
            Change::CreateIndex { name: name.into(), columns: vec!["title".into()], unique: true },
        ]
    );
    assert!(plan.steps[1].sql.contains("CONCURRENTLY"), "{}", plan.steps[1].sql);
    assert_eq!(validity(&storehaus, name).await, [true]);
    assert!(storehaus.plan::<ArticleUniqueTitle>().await.unwrap().is_empty());
    let duplicate = sqlx::query("INSERT INTO online_articles (id, title, author_id) VALUES (2, 'article 1', 2)")
        .execute(pg(&storehaus))
        .await;
    assert!(duplicate.is_err(), "the rebuilt index lets a duplicate in");
}

/// A writer left its transaction open: a concurrent build waits for it (its row lock conflicts
/// with the build's first phase), so each attempt times out and the migration gives up after
/// its budget, naming the writer, with no usable index and nothing but an INVALID one left. Once
/// the writer commits, the next migration builds the index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_behind_an_open_writer_gives_up_and_is_rebuilt_later() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = articles(&db, 1000).await;
    let name = "online_articles_author_id_idx";
    let writer = OpenTransaction::begin(
        &db,
        "INSERT INTO online_articles (id, title, author_id) VALUES (1000001, 'uncommitted', 1)",
    )
    .await;
    let budget = Duration::from_secs(1);
    let started = Instant::now();
    let err = storehaus.migrate::<ArticleByAuthor>(MigrateOptions::new().lock_budget(budget)).await.unwrap_err();
    let took = started.elapsed();
    eprintln!("build behind an open writer gave up after {}: {err}", ms(took));

    let StoreError::LockTimeout { table, blockers, .. } = &err else {
        panic!("expected LockTimeout, got {err:?}");
    };
    assert_eq!(table, ARTICLES);
    assert!(took < budget + Duration::from_secs(1), "gave up after {took:?}");
    assert!(blockers.iter().any(|b| b.pid == writer.pid), "the writer (pid {}) is not named: {blockers:?}", writer.pid);
    assert!(!validity(&storehaus, name).await.contains(&true), "an index was built behind the open writer");

    writer.commit().await;
    let plan = storehaus.migrate::<ArticleByAuthor>(MigrateOptions::new()).await.unwrap();
    eprintln!("after the writer committed:\n{plan}");
    assert!(
        plan.steps.iter().any(|s| matches!(&s.change, Change::CreateIndex { name: built, .. } if built == name)),
        "{plan}"
    );
    assert_eq!(validity(&storehaus, name).await, [true]);
    assert!(storehaus.plan::<ArticleByAuthor>().await.unwrap().is_empty());
}
