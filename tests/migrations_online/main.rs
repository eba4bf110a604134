//! Migrations on a busy table: a migration waiting for a lock must not make the table's other
//! queries queue behind it, an index added to a large table is built without blocking writes, and
//! a unique index over duplicated values is refused before anything runs.
//!
//! The latency figures are measured against a baseline taken in the same test, a second before
//! the migration, so a slow machine raises both.

use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::{Connection, PgConnection};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use storehaus::prelude::*;
use storehaus::schema::Change;
use storehaus::testing::TestDatabase;
use tokio::task::JoinHandle;

mod concurrent_index;
mod lock_queue;
mod unique;

/// The table the PostgreSQL suites migrate.
pub const ARTICLES: &str = "online_articles";

/// The article table as first deployed.
#[model]
#[table(name = "online_articles")]
pub struct ArticleV1 {
    #[primary_key]
    pub id: i64,
    pub title: String,
    pub author_id: i64,
}

/// [`ArticleV1`] plus a nullable field: `ADD COLUMN` needs the table's ACCESS EXCLUSIVE lock.
#[model]
#[table(name = "online_articles")]
pub struct ArticleV2 {
    #[primary_key]
    pub id: i64,
    pub title: String,
    pub author_id: i64,
    pub summary: Option<String>,
}

/// [`ArticleV1`] with an index on `author_id`.
#[model]
#[table(name = "online_articles")]
pub struct ArticleByAuthor {
    #[primary_key]
    pub id: i64,
    pub title: String,
    #[index]
    pub author_id: i64,
}

/// [`ArticleV1`] with `title` unique.
#[model]
#[table(name = "online_articles")]
pub struct ArticleUniqueTitle {
    #[primary_key]
    pub id: i64,
    #[unique]
    pub title: String,
    pub author_id: i64,
}

/// A fresh database with [`ArticleV1`]'s table holding `rows` articles (ids `1..=rows`, author
/// `id % 1000`), filled by one statement.
pub async fn articles(db: &TestDatabase, rows: i64) -> StoreHaus {
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<ArticleV1>(false).await.unwrap();
    sqlx::query(
        "INSERT INTO online_articles (id, title, author_id)
         SELECT g, 'article ' || g, g % 1000 FROM generate_series(1, $1::bigint) AS g",
    )
    .bind(rows)
    .execute(storehaus_suite::pg(&storehaus))
    .await
    .unwrap();
    storehaus
}

/// One statement of a [`Load`]: when it was sent and how long it took to come back.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// When the statement was sent.
    pub started: Instant,
    /// Until its result arrived.
    pub took: Duration,
}

impl Sample {
    /// Whether the statement was running at some moment between `from` and `to`.
    fn overlaps(&self, from: Instant, to: Instant) -> bool {
        self.started <= to && self.started + self.took >= from
    }
}

/// What the tasks of a [`Load`] recorded.
#[derive(Debug, Default)]
pub struct Samples {
    /// Every statement that succeeded.
    pub all: Vec<Sample>,
    /// The message of every statement that failed.
    pub errors: Vec<String>,
}

impl Samples {
    /// The longest statement among those running at some moment between `from` and `to`.
    pub fn longest(&self, from: Instant, to: Instant) -> Duration {
        self.all.iter().filter(|s| s.overlaps(from, to)).map(|s| s.took).max().unwrap_or_default()
    }

    /// How many statements both started and finished between `from` and `to`.
    pub fn completed_within(&self, from: Instant, to: Instant) -> usize {
        self.all.iter().filter(|s| s.started >= from && s.started + s.took <= to).count()
    }
}

/// One statement run in a loop by several tasks, each on a pool connection of its own, each
/// statement sent as soon as the previous one returned (after `pause`), until [`Load::stop`].
#[derive(Debug)]
pub struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<Samples>>,
    /// When the tasks began recording.
    pub started: Instant,
}

impl Load {
    /// Starts `workers` tasks running `sql` with the `i64` parameters `binds(worker, n)` gives for
    /// their `n`-th statement, from 0. Statement 0 runs before the load starts and is not
    /// recorded, so no recorded sample pays the connection's first prepare.
    pub async fn start(
        pool: &PgPool,
        workers: usize,
        pause: Duration,
        sql: &'static str,
        binds: impl Fn(usize, u64) -> Vec<i64> + Send + Sync + 'static,
    ) -> Load {
        let binds = Arc::new(binds);
        let stop = Arc::new(AtomicBool::new(false));
        let mut connections = Vec::with_capacity(workers);
        for worker in 0..workers {
            let mut connection = pool.acquire().await.unwrap();
            let mut warm_up = sqlx::query(sql);
            for value in binds(worker, 0) {
                warm_up = warm_up.bind(value);
            }
            warm_up.execute(&mut *connection).await.unwrap();
            connections.push(connection);
        }
        let tasks = connections
            .into_iter()
            .enumerate()
            .map(|(worker, mut connection)| {
                let (stop, binds) = (Arc::clone(&stop), Arc::clone(&binds));
                tokio::spawn(async move {
                    let mut samples = Samples::default();
                    let mut n = 1;
                    while !stop.load(Ordering::Relaxed) {
                        let mut query = sqlx::query(sql);
                        for value in binds(worker, n) {
                            query = query.bind(value);
                        }
                        let started = Instant::now();
                        match query.execute(&mut *connection).await {
                            Ok(_) => samples.all.push(Sample { started, took: started.elapsed() }),
                            Err(e) => samples.errors.push(e.to_string()),
                        }
                        n += 1;
                        tokio::time::sleep(pause).await;
                    }
                    samples
                })
            })
            .collect();
        Load { stop, tasks, started: Instant::now() }
    }

    /// Stops the tasks and gathers what they recorded.
    pub async fn stop(self) -> Samples {
        self.stop.store(true, Ordering::Relaxed);
        let mut merged = Samples::default();
        for task in self.tasks {
            let samples = task.await.unwrap();
            merged.all.extend(samples.all);
            merged.errors.extend(samples.errors);
        }
        merged
    }
}

/// `SELECT count(*)` of [`ARTICLES`] by two tasks: the reads a migration must not hold up.
pub async fn read_probes(pool: &PgPool) -> Load {
    // A millisecond between reads keeps two probes from taking both cores of a small machine,
    // while still sending dozens of reads into every 50 ms lock wait.
    Load::start(pool, 2, Duration::from_millis(1), "SELECT count(*) FROM online_articles", |_, _| Vec::new()).await
}

/// The `application_name` of an [`OpenTransaction`]'s session, which a blocker's description
/// repeats.
pub const OPEN_TRANSACTION_APPLICATION: &str = "online_open_transaction";

/// A session that began a transaction, ran one statement on [`ARTICLES`] and stays
/// `idle in transaction`, holding that statement's lock until it commits: the long report or
/// forgotten transaction a migration has to wait for.
#[derive(Debug)]
pub struct OpenTransaction {
    connection: PgConnection,
    /// Its server process id.
    pub pid: i32,
}

impl OpenTransaction {
    /// Opens the session and its transaction, and runs `sql` in it.
    pub async fn begin(db: &TestDatabase, sql: &'static str) -> OpenTransaction {
        let options = PgConnectOptions::from_str(db.url()).unwrap().application_name(OPEN_TRANSACTION_APPLICATION);
        let mut connection = PgConnection::connect_with(&options).await.unwrap();
        let pid = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut connection).await.unwrap();
        sqlx::query("BEGIN").execute(&mut connection).await.unwrap();
        sqlx::query(sql).execute(&mut connection).await.unwrap();
        OpenTransaction { connection, pid }
    }

    /// A reader: its ACCESS SHARE lock lets reads and writes through but no `ALTER TABLE`.
    pub async fn reader(db: &TestDatabase) -> OpenTransaction {
        OpenTransaction::begin(db, "SELECT count(*) FROM online_articles").await
    }

    /// Ends the transaction, releasing the lock.
    pub async fn commit(mut self) {
        sqlx::query("COMMIT").execute(&mut self.connection).await.unwrap();
        self.connection.close().await.unwrap();
    }

    /// Commits after `delay`, in a task of its own; the task returns when it committed.
    pub fn commit_after(self, delay: Duration) -> JoinHandle<Instant> {
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            self.commit().await;
            Instant::now()
        })
    }
}

/// Milliseconds, for the printed figures.
pub fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}
