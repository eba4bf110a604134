//! The embedded backend: StoreHaus on a SQLite file next to raw sqlx-sqlite sending the same
//! statements.
//!
//! Each workload opens one file in a fresh temporary directory (under `/dev/shm` where there is
//! one), as StoreHaus opens a file (WAL, `synchronous = NORMAL`, foreign keys on), and deletes the
//! directory at the end. StoreHaus and sqlx each have a pool of their own on it, built by the
//! same [`pool_options`] and [`connect_options`], so each connection keeps only its own
//! contender's prepared statements.
//! The texts sqlx sends are StoreHaus's own; [`check_same_sql`] confirms it before measuring.
//!
//! - `sqlite_pk_lookup`: `get_by_id` of one row of 10 000.
//! - `sqlite_trivial_query`: `list_all()` of 1, 100 and 10 000 rows.
//! - `sqlite_insert` (1, 10, 100 rows) and `sqlite_bulk_insert` (1 000, 10 000 rows, into an
//!   emptied table): `create_many`, which on SQLite is one `INSERT … RETURNING` per row in one
//!   `BEGIN IMMEDIATE` transaction; sqlx sends the same statements in the same transaction.

use super::by_key::{TABLE_ROWS, key};
use crate::Result;
use crate::runner::{Contender, Cost, expect_rows, measure, timed};
use crate::schema::{User, id, medium_hair, new_user};
use crate::setup::Bench;
use crate::stats::Summary;
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::types::Json;
use sqlx::{ConnectOptions, Connection, FromRow, Row};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use storehaus::{DbPool, GenericStore, StoreHaus};

pub const PK_LOOKUP: &str = "sqlite_pk_lookup";
pub const TRIVIAL: &str = "sqlite_trivial_query";
pub const INSERT: &str = "sqlite_insert";
pub const BULK_INSERT: &str = "sqlite_bulk_insert";

/// The record columns StoreHaus reads on SQLite, qualified with the table, in its order.
macro_rules! user_columns {
    () => {
        concat!(
            r#""bench_users"."id", "bench_users"."name", "bench_users"."hair_color", "#,
            r#""bench_users"."__created_at__", "bench_users"."__updated_at__", "bench_users"."__tags__""#
        )
    };
}

/// `list_all()`.
const LIST_USERS: &str = concat!("SELECT ", user_columns!(), r#" FROM "bench_users" ORDER BY "bench_users"."id" ASC"#);

/// `get_by_id(&id)`.
const GET_USER: &str = concat!("SELECT ", user_columns!(), r#" FROM "bench_users" WHERE "bench_users"."id" = ?"#);

/// One row of `create_many`: the create columns, the tags (a JSON array), then the transaction's
/// clock twice (SQLite has no server clock; StoreHaus binds it).
const INSERT_USER: &str = concat!(
    r#"INSERT INTO "bench_users" ("id", "name", "hair_color", "__tags__", "__created_at__", "__updated_at__") "#,
    "VALUES (?, ?, ?, ?, ?, ?) RETURNING ",
    user_columns!()
);

/// How StoreHaus stores a `TIMESTAMPTZ` on SQLite: fixed-width text, so text order is time order.
const TIMESTAMPTZ_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// Identical for both contenders' pools. `test_before_acquire(false)` as on PostgreSQL: the ping
/// is a round trip to the connection's worker thread on every checkout.
fn pool_options() -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(4)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(30))
        .test_before_acquire(false)
}

/// The options StoreHaus opens a SQLite file with (`DatabaseConfig::embedded`), statement logging off.
fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(30))
        .foreign_keys(true)
        .disable_statement_logging()
}

/// A `bench_users` row as raw sqlx reads it from SQLite, by position: timestamps from their text,
/// tags from their JSON array.
#[derive(Debug)]
#[expect(dead_code, reason = "decoded as a result; what is read of it does not matter")]
struct LiteUserRow {
    id: i32,
    name: String,
    hair_color: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    tags: Vec<String>,
}

impl<'r> FromRow<'r, SqliteRow> for LiteUserRow {
    fn from_row(row: &'r SqliteRow) -> sqlx::Result<Self> {
        Ok(LiteUserRow {
            id: row.try_get(0)?,
            name: row.try_get(1)?,
            hair_color: row.try_get(2)?,
            created_at: row.try_get(3)?,
            updated_at: row.try_get(4)?,
            tags: row.try_get::<Json<Vec<String>>, _>(5)?.0,
        })
    }
}

/// The temporary directory of the database file, removed when dropped (also on a failed run).
#[derive(Debug)]
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where the file goes: memory-backed `/dev/shm` where there is one, so the flushes of WAL
/// checkpoints, whose cost depends on what else the machine writes, do not decide a ratio; else
/// the system's temporary directory.
fn scratch_dir() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() { shm.to_owned() } else { std::env::temp_dir() }
}

/// One SQLite file and the pools on it.
#[derive(Debug)]
struct Lite {
    /// Emptying and seeding; never timed.
    setup: SqlitePool,
    sqlx: SqlitePool,
    storehaus: StoreHaus,
    users: GenericStore<User>,
    /// Last, so the pools are closed before the directory goes.
    dir: TempDir,
}

/// Whether the SQL parity note was made in this run.
static PARITY_NOTED: AtomicBool = AtomicBool::new(false);

impl Lite {
    /// A new file with the users table, after checking that sqlx's texts are StoreHaus's.
    async fn open(b: &Bench) -> Result<Lite> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
        let dir = TempDir(scratch_dir().join(format!("storehaus-bench-sqlite-{}-{nanos}", std::process::id())));
        std::fs::create_dir_all(&dir.0)?;
        let options = connect_options(&dir.0.join("bench.db"));
        let pool = || pool_options().connect_with(options.clone());
        let setup = pool().await?;
        let storehaus = StoreHaus::with_pool(DbPool::from_sqlite(pool().await?));
        storehaus.auto_migrate::<User>(false).await?;
        let users = GenericStore::<User>::new(storehaus.pool().clone(), None, None);
        let lite = Lite { setup, sqlx: pool().await?, storehaus, users, dir };

        let checked = check_same_sql(b, &options).await?;
        if !PARITY_NOTED.swap(true, Ordering::Relaxed) {
            b.note(format!(
                "sqlite: the {checked} statements sqlx sends are byte-identical to StoreHaus's (one connection's statement cache did not grow)"
            ));
        }
        Ok(lite)
    }

    /// Deletes every row.
    async fn empty(&self) -> Result<()> {
        sqlx::query(r#"DELETE FROM "bench_users""#).execute(&self.setup).await?;
        Ok(())
    }

    /// An emptied table with users `1..=n`, written by StoreHaus so they are stored as it stores
    /// them.
    async fn seed(&self, n: usize) -> Result<()> {
        self.empty().await?;
        let store = GenericStore::<User>::new(DbPool::from_sqlite(self.setup.clone()), None, None);
        let users: Vec<User> = (0..n).map(|i| new_user(id(i + 1), i, medium_hair(i))).collect();
        expect_rows("seed", store.create_many(users, None).await?.len(), n)
    }

    async fn close(self) {
        self.storehaus.close().await;
        self.sqlx.close().await;
        self.setup.close().await;
        drop(self.dir);
    }
}

/// Checks that every text sqlx sends is one StoreHaus prepared, byte for byte: on a pool of one
/// connection, StoreHaus makes the calls the workloads measure, then sqlx sends its texts; sqlx
/// caches prepared statements by text, so the connection's cache must not grow. The rows written
/// are deleted. Returns how many texts were checked.
async fn check_same_sql(b: &Bench, options: &SqliteConnectOptions) -> Result<usize> {
    let pool = pool_options().max_connections(1).connect_with(options.clone()).await?;
    let store = GenericStore::<User>::new(DbPool::from_sqlite(pool.clone()), None, None);
    let user = new_user(b.fresh_ids(1).start, 0, Some("black"));
    let id = user.id;
    store.create_many(vec![user], None).await?;
    store.get_by_id(&id).await?;
    store.list_all().await?;

    let mut connection = pool.acquire().await?;
    let mut grew = Vec::new();
    let other = new_user(b.fresh_ids(1).start, 1, None);
    let texts = [INSERT_USER, GET_USER, LIST_USERS];
    for sql in texts {
        let before = connection.cached_statements_size();
        match sql {
            INSERT_USER => {
                let mut tx = connection.begin_with("BEGIN IMMEDIATE").await?;
                sqlx_insert_row(&mut tx, &other, &clock()).await?;
                tx.commit().await?;
            }
            GET_USER => {
                sqlx::query_as::<_, LiteUserRow>(GET_USER).bind(id).fetch_optional(&mut *connection).await?;
            }
            _ => {
                sqlx::query_as::<_, LiteUserRow>(sql).fetch_all(&mut *connection).await?;
            }
        }
        if connection.cached_statements_size() != before {
            grew.push(sql);
        }
    }
    sqlx::query(r#"DELETE FROM "bench_users""#).execute(&mut *connection).await?;
    drop(connection);
    pool.close().await;
    if grew.is_empty() {
        Ok(texts.len())
    } else {
        Err(format!("sqlx sent statements StoreHaus did not prepare on SQLite: {grew:#?}").into())
    }
}

/// A write's clock as StoreHaus binds it: the current time to the microsecond, as stored text.
fn clock() -> String {
    Utc::now().trunc_subsecs(6).format(TIMESTAMPTZ_FORMAT).to_string()
}

async fn sqlx_insert_row(connection: &mut sqlx::SqliteConnection, u: &User, now: &str) -> Result<LiteUserRow> {
    Ok(sqlx::query_as::<_, LiteUserRow>(INSERT_USER)
        .bind(u.id)
        .bind(&u.name)
        .bind(&u.hair_color)
        .bind("[]")
        .bind(now)
        .bind(now)
        .fetch_one(connection)
        .await?)
}

/// `create_many`'s statements through sqlx: one insert per row in one `BEGIN IMMEDIATE`
/// transaction, every row with the transaction's clock.
async fn sqlx_insert(pool: &SqlitePool, users: &[User]) -> Result<usize> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let now = clock();
    let mut rows = Vec::with_capacity(users.len());
    for u in users {
        rows.push(sqlx_insert_row(&mut tx, u, &now).await?);
    }
    tx.commit().await?;
    Ok(rows.len())
}

/// Runs `work` on a fresh file, closing it and removing the directory afterwards, also on failure.
async fn on_fresh_file<'b, F>(b: &'b Bench, work: impl FnOnce(&'b Bench, Lite) -> F) -> Result<Vec<Summary>>
where
    F: Future<Output = (Lite, Result<Vec<Summary>>)>,
{
    let lite = Lite::open(b).await?;
    let (lite, result) = work(b, lite).await;
    lite.close().await;
    result
}

pub async fn pk_lookup(b: &Bench) -> Result<Vec<Summary>> {
    on_fresh_file(b, |b, lite| async move {
        let result = measure_pk_lookup(b, &lite).await;
        (lite, result)
    })
    .await
}

async fn measure_pk_lookup(b: &Bench, lite: &Lite) -> Result<Vec<Summary>> {
    lite.seed(TABLE_ROWS).await?;
    let mut contenders = vec![
        Contender::new("storehaus", move |i| {
            Box::pin(async move {
                let (t, row) = timed!(lite.users.get_by_id(&key(i, TABLE_ROWS)).await?);
                expect_rows("storehaus", row.iter().len(), 1)?;
                Ok(t)
            })
        }),
        Contender::new("sqlx", move |i| {
            Box::pin(async move {
                let (t, row) = timed!(
                    sqlx::query_as::<_, LiteUserRow>(GET_USER)
                        .bind(key(i, TABLE_ROWS))
                        .fetch_optional(&lite.sqlx)
                        .await?
                );
                expect_rows("sqlx", row.iter().len(), 1)?;
                Ok(t)
            })
        }),
    ];
    measure(PK_LOOKUP, 1, b.mode.plan(Cost::Light), &mut contenders).await
}

pub async fn trivial(b: &Bench) -> Result<Vec<Summary>> {
    on_fresh_file(b, |b, lite| async move {
        let result = measure_trivial(b, &lite).await;
        (lite, result)
    })
    .await
}

async fn measure_trivial(b: &Bench, lite: &Lite) -> Result<Vec<Summary>> {
    let mut out = Vec::new();
    for size in [1, 100, 10_000] {
        lite.seed(size).await?;
        let mut contenders = vec![
            Contender::new("storehaus", move |_| {
                Box::pin(async move {
                    let (t, rows) = timed!(lite.users.list_all().await?);
                    expect_rows("storehaus", rows.len(), size)?;
                    Ok(t)
                })
            }),
            Contender::new("sqlx", move |_| {
                Box::pin(async move {
                    let (t, rows) = timed!(sqlx::query_as::<_, LiteUserRow>(LIST_USERS).fetch_all(&lite.sqlx).await?);
                    expect_rows("sqlx", rows.len(), size)?;
                    Ok(t)
                })
            }),
        ];
        let cost = if size >= 10_000 { Cost::Heavy } else { Cost::Light };
        out.extend(measure(TRIVIAL, size as u64, b.mode.plan(cost), &mut contenders).await?);
    }
    Ok(out)
}

/// `size` users with keys no earlier sample used.
fn batch(b: &Bench, size: usize) -> Vec<User> {
    b.fresh_ids(size).map(|id| new_user(id, id as usize, Some("brown"))).collect()
}

pub async fn insert(b: &Bench) -> Result<Vec<Summary>> {
    on_fresh_file(b, |b, lite| async move {
        let result = measure_inserts(b, &lite, INSERT, &[1, 10, 100], false).await;
        (lite, result)
    })
    .await
}

pub async fn bulk_insert(b: &Bench) -> Result<Vec<Summary>> {
    on_fresh_file(b, |b, lite| async move {
        let result = measure_inserts(b, &lite, BULK_INSERT, &[1_000, 10_000], true).await;
        (lite, result)
    })
    .await
}

/// `create_many` against its statements through sqlx, for each of `sizes`; with `empty_each`,
/// into a table emptied before every sample (outside the timed part), else into one that grows.
async fn measure_inserts(
    b: &Bench,
    lite: &Lite,
    workload: &'static str,
    sizes: &[usize],
    empty_each: bool,
) -> Result<Vec<Summary>> {
    let mut out = Vec::new();
    for &size in sizes {
        lite.empty().await?;
        let users = move || async move {
            if empty_each {
                lite.empty().await?;
            }
            Ok::<_, crate::Error>(batch(b, size))
        };
        let mut contenders = vec![
            Contender::new("storehaus", move |_| {
                Box::pin(async move {
                    let users = users().await?;
                    let (t, rows) = timed!(lite.users.create_many(users, None).await?);
                    expect_rows("storehaus", rows.len(), size)?;
                    Ok(t)
                })
            }),
            Contender::new("sqlx", move |_| {
                Box::pin(async move {
                    let users = users().await?;
                    let (t, n) = timed!(sqlx_insert(&lite.sqlx, &users).await?);
                    expect_rows("sqlx", n, size)?;
                    Ok(t)
                })
            }),
        ];
        let cost = if size >= 10_000 { Cost::Heavy } else { Cost::Light };
        out.extend(measure(workload, size as u64, b.mode.plan(cost), &mut contenders).await?);
    }
    lite.empty().await?;
    Ok(out)
}
