//! Many tasks sharing one pool: throughput rather than the latency of one call.
//!
//! Each contender gets a pool of its own of [`POOL_SIZE`] connections, built like every other
//! pool of the bench; StoreHaus reaches its pool through `StoreHaus::with_pool` and a
//! `GenericStore<User>`. Both workloads use `pk_lookup`'s table and statements (sqlx sends
//! StoreHaus's texts).
//!
//! - `concurrent_mix`: [`MIX_TASKS`] tasks, 9 primary-key lookups to 1 update by primary key.
//!   `sqlx-same-sql` sends each update in `BEGIN` … `COMMIT`, as StoreHaus does for every write
//!   on a pool (so a returned row that does not decode undoes the write): it separates the cost
//!   of that transaction from the cost of the library.
//! - `pk_lookup_16`: [`LOOKUP_TASKS`] tasks of lookups alone, next to the C client's floor: a
//!   `pgbench -S -M prepared` run on the same server (its own `pgbench_accounts` table).
//!
//! A sample is a fixed number of operations, its keys drawn from the sample number so both
//! contenders touch the same rows; it times from releasing the tasks, all started and waiting,
//! to the last one finishing, and reports that time over the operations: the median is µs per
//! operation, so a ratio under 1 still means StoreHaus is faster. The notes give operations per
//! second.

use crate::Result;
use crate::runner::{Contender, Mode, Plan, expect_rows, measure};
use crate::schema::{User, UserRow};
use crate::setup::Bench;
use crate::sql;
use crate::stats::{Summary, set_ratios};
use crate::workloads::by_key::{self, TABLE_ROWS};
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use storehaus::{DbPool, GenericStore, StoreHaus};
use tokio::sync::{Barrier, watch};

pub const MIX: &str = "concurrent_mix";
pub const LOOKUP_16: &str = "pk_lookup_16";

/// Connections in each contender's pool.
const POOL_SIZE: u32 = 16;

/// `concurrent_mix`: tasks, operations each per sample, and one update in every [`UPDATE_EVERY`].
const MIX_TASKS: usize = 64;
const MIX_PER_TASK: usize = 50;
const MIX_OPS: usize = MIX_TASKS * MIX_PER_TASK;
const UPDATE_EVERY: usize = 10;

/// `pk_lookup_16`: tasks and lookups each per sample.
const LOOKUP_TASKS: usize = 16;
const LOOKUP_PER_TASK: usize = 100;
const LOOKUP_OPS: usize = LOOKUP_TASKS * LOOKUP_PER_TASK;

/// Throughput targets of the product docs, printed next to the figures.
const MIX_TARGET: f64 = 0.95;
const PGBENCH_TARGET: f64 = 0.8;

/// A sample takes tens of milliseconds, so fewer rounds than `Cost::Light` asks fit the run's time.
fn plan(mode: Mode) -> Plan {
    match mode {
        Mode::Quick => Plan { warmup: 2, min: 10, max: 1_000, budget: Duration::from_secs(3) },
        Mode::Full => Plan { warmup: 5, min: 40, max: 5_000, budget: Duration::from_secs(15) },
    }
}

/// StoreHaus's and sqlx's pools, of [`POOL_SIZE`] connections each.
struct Pools {
    sqlx: PgPool,
    storehaus: StoreHaus,
    /// Behind an `Arc`, so a task's operation clones a pointer, as sqlx's side clones its pool's.
    users: Arc<GenericStore<User>>,
}

impl Pools {
    async fn open(b: &Bench) -> Result<Pools> {
        let sqlx = pool(b).await?;
        let storehaus = StoreHaus::with_pool(DbPool::from_postgres(pool(b).await?));
        let users = Arc::new(GenericStore::<User>::new(storehaus.pool().clone(), None, None));
        Ok(Pools { sqlx, storehaus, users })
    }

    async fn close(self) {
        self.sqlx.close().await;
        self.storehaus.close().await;
    }
}

/// A pool of [`POOL_SIZE`] connections, otherwise built like every other pool of the bench.
async fn pool(b: &Bench) -> Result<PgPool> {
    let options = b.setup.options().clone().max_connections(POOL_SIZE);
    Ok(options.connect_with((*b.setup.connect_options()).clone()).await?)
}

/// Runs `tasks` tasks of `per_task` calls of `op` (argument: the operation's number in the
/// sample), all released at once when every task is waiting; returns the time from the release
/// to the last task finishing, over the operations.
async fn per_operation<F, Fut>(tasks: usize, per_task: usize, op: F) -> Result<Duration>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let ready = Arc::new(Barrier::new(tasks + 1));
    let (release, start_line) = watch::channel(false);
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let (op, ready, mut start_line) = (op.clone(), ready.clone(), start_line.clone());
            tokio::spawn(async move {
                ready.wait().await;
                start_line.wait_for(|go| *go).await?;
                for n in t * per_task..(t + 1) * per_task {
                    op(n).await?;
                }
                Ok::<_, crate::Error>(Instant::now())
            })
        })
        .collect();
    ready.wait().await;
    let released = Instant::now();
    release.send_replace(true);
    let mut last = released;
    for handle in handles {
        last = last.max(handle.await??);
    }
    Ok((last - released) / u32::try_from(tasks * per_task)?)
}

/// The global number of operation `n` of sample `i`, from which its key and kind follow.
fn op_number(i: usize, ops: usize, n: usize) -> usize {
    i * ops + n
}

/// The new values an update writes: they change every time, so every update really writes.
fn changed(op: usize) -> User {
    let id = by_key::key(op, TABLE_ROWS);
    User { id, name: format!("User {id} op {op}"), hair_color: Some("teal".to_owned()) }
}

async fn store_get(users: &GenericStore<User>, op: usize) -> Result<()> {
    let row = users.get_by_id(&by_key::key(op, TABLE_ROWS)).await?;
    expect_rows("storehaus", row.iter().len(), 1)
}

async fn sqlx_get(pool: &PgPool, op: usize) -> Result<()> {
    let row =
        sqlx::query_as::<_, UserRow>(sql::GET_USER).bind(by_key::key(op, TABLE_ROWS)).fetch_optional(pool).await?;
    expect_rows("sqlx", row.iter().len(), 1)
}

async fn store_mixed(users: Arc<GenericStore<User>>, op: usize) -> Result<()> {
    if !op.is_multiple_of(UPDATE_EVERY) {
        return store_get(&users, op).await;
    }
    let user = changed(op);
    let id = user.id;
    users.update(&id, user, None).await?;
    Ok(())
}

async fn sqlx_mixed(pool: PgPool, op: usize) -> Result<()> {
    if !op.is_multiple_of(UPDATE_EVERY) {
        return sqlx_get(&pool, op).await;
    }
    let user = changed(op);
    sqlx::query_as::<_, UserRow>(sql::UPDATE_USER)
        .bind(&user.name)
        .bind(&user.hair_color)
        .bind(user.id)
        .fetch_one(&pool)
        .await?;
    Ok(())
}

/// [`sqlx_mixed`] with each update in a transaction of its own, as StoreHaus writes on a pool:
/// `BEGIN`, the update, `COMMIT`.
async fn sqlx_same_sql_mixed(pool: PgPool, op: usize) -> Result<()> {
    if !op.is_multiple_of(UPDATE_EVERY) {
        return sqlx_get(&pool, op).await;
    }
    let user = changed(op);
    let mut tx = pool.begin().await?;
    sqlx::query_as::<_, UserRow>(sql::UPDATE_USER)
        .bind(&user.name)
        .bind(&user.hair_color)
        .bind(user.id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Operations per second from a median in µs per operation.
fn per_second(us_per_op: f64) -> f64 {
    1e6 / us_per_op
}

/// The operations per second of `contender`'s line.
fn ops_of(summaries: &[Summary], contender: &str) -> Option<f64> {
    summaries.iter().find(|s| s.contender == contender).map(|s| per_second(s.median_us))
}

pub async fn mix(b: &Bench) -> Result<Vec<Summary>> {
    by_key::seed(b).await?;
    let pools = Pools::open(b).await?;
    let same_sql = pool(b).await?;
    let mut contenders = vec![
        Contender::new("storehaus", |i| {
            let users = pools.users.clone();
            Box::pin(per_operation(MIX_TASKS, MIX_PER_TASK, move |n| {
                store_mixed(users.clone(), op_number(i, MIX_OPS, n))
            }))
        }),
        Contender::new("sqlx", |i| {
            let pool = pools.sqlx.clone();
            Box::pin(per_operation(MIX_TASKS, MIX_PER_TASK, move |n| {
                sqlx_mixed(pool.clone(), op_number(i, MIX_OPS, n))
            }))
        }),
        Contender::new("sqlx-same-sql", |i| {
            let pool = same_sql.clone();
            Box::pin(per_operation(MIX_TASKS, MIX_PER_TASK, move |n| {
                sqlx_same_sql_mixed(pool.clone(), op_number(i, MIX_OPS, n))
            }))
        }),
    ];
    let measured = measure(MIX, MIX_OPS as u64, plan(b.mode), &mut contenders).await;
    drop(contenders);
    pools.close().await;
    same_sql.close().await;
    let summaries = measured?;

    let ops = |contender| ops_of(&summaries, contender);
    if let (Some(ours), Some(raw), Some(same)) = (ops("storehaus"), ops("sqlx"), ops("sqlx-same-sql")) {
        b.note(format!(
            "{MIX}: {MIX_OPS} operations (1 in {UPDATE_EVERY} an update) from {MIX_TASKS} tasks on a pool of \
             {POOL_SIZE}: storehaus {ours:.0} ops/s, sqlx {raw:.0} ops/s, sqlx-same-sql (updates in BEGIN … \
             COMMIT, as StoreHaus writes) {same:.0} ops/s; StoreHaus's throughput is {:.2}x raw sqlx's (target: \
             at least {MIX_TARGET:.2}x), {:.2}x sqlx-same-sql's",
            ours / raw,
            ours / same
        ));
    }
    Ok(summaries)
}

pub async fn lookup_16(b: &Bench) -> Result<Vec<Summary>> {
    by_key::seed(b).await?;
    let pools = Pools::open(b).await?;
    let mut contenders = vec![
        Contender::new("storehaus", |i| {
            let users = pools.users.clone();
            Box::pin(per_operation(LOOKUP_TASKS, LOOKUP_PER_TASK, move |n| {
                let users = users.clone();
                async move { store_get(&users, op_number(i, LOOKUP_OPS, n)).await }
            }))
        }),
        Contender::new("sqlx", |i| {
            let pool = pools.sqlx.clone();
            Box::pin(per_operation(LOOKUP_TASKS, LOOKUP_PER_TASK, move |n| {
                let pool = pool.clone();
                async move { sqlx_get(&pool, op_number(i, LOOKUP_OPS, n)).await }
            }))
        }),
    ];
    let measured = measure(LOOKUP_16, LOOKUP_OPS as u64, plan(b.mode), &mut contenders).await;
    drop(contenders);
    pools.close().await;
    let mut summaries = measured?;

    let connection = b.setup.connect_options();
    let floor = match pgbench_floor(&connection, b.mode).await {
        Ok(floor) => Some(floor),
        Err(e) => {
            b.note(format!("{LOOKUP_16}: no pgbench floor, {e}"));
            None
        }
    };
    if let Some(floor) = &floor {
        summaries.push(floor.summary.clone());
        set_ratios(&mut summaries);
    }
    if let (Some(ours), Some(raw)) = (ops_of(&summaries, "storehaus"), ops_of(&summaries, "sqlx")) {
        let mut note = format!(
            "{LOOKUP_16}: lookups from {LOOKUP_TASKS} tasks on a pool of {POOL_SIZE}: storehaus {ours:.0} ops/s, \
             sqlx {raw:.0} ops/s: StoreHaus's throughput is {:.2}x raw sqlx's",
            ours / raw
        );
        if let Some(floor) = &floor {
            note += &format!(
                "; pgbench -S -M prepared -c 16 -j 2: {:.0} tps, -c 1 -j 1: {:.0} tps; storehaus/pgbench {:.2}x \
                 (target: at least {PGBENCH_TARGET:.1}x)",
                floor.tps_16,
                floor.tps_1,
                ours / floor.tps_16
            );
        }
        b.note(note);
    }
    Ok(summaries)
}

/// What pgbench measured: its line of the table (16 clients) and the tps of both runs.
struct Floor {
    summary: Summary,
    tps_16: f64,
    tps_1: f64,
}

/// pgbench's select-only script (`-S`: one `SELECT abalance … WHERE aid = $1` a transaction, on a
/// table of its own) with prepared statements: several runs at 16 clients, one at 1 client. Its
/// tables are created first and dropped at the end.
async fn pgbench_floor(connection: &PgConnectOptions, mode: Mode) -> Result<Floor> {
    let (runs, seconds) = match mode {
        Mode::Quick => (3, 1),
        Mode::Full => (5, 3),
    };
    let target = [
        "-h".to_owned(),
        connection.get_host().to_owned(),
        "-p".to_owned(),
        connection.get_port().to_string(),
        "-U".to_owned(),
        connection.get_username().to_owned(),
    ];
    let database = connection.get_database().ok_or("the bench pool names no database")?.to_owned();
    let pgbench = |args: &[&str]| {
        let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        all.extend(target.iter().cloned());
        all.push(database.clone());
        run_pgbench(all)
    };
    pgbench(&["-i", "-s", "10", "-q"]).await?;
    let measured = async {
        let seconds = seconds.to_string();
        let mut tps_16 = Vec::new();
        for _ in 0..runs {
            tps_16.push(tps(&pgbench(&["-S", "-M", "prepared", "-c", "16", "-j", "2", "-T", &seconds, "-n"]).await?)?);
        }
        let tps_1 = tps(&pgbench(&["-S", "-M", "prepared", "-c", "1", "-j", "1", "-T", &seconds, "-n"]).await?)?;
        Ok::<_, crate::Error>((tps_16, tps_1))
    }
    .await;
    // Drops the pgbench tables (initialization step `d` alone); a failed measurement tells more.
    let dropped = pgbench(&["-i", "-I", "d", "-q"]).await;
    let (tps_16, tps_1) = measured?;
    dropped?;

    let samples: Vec<Duration> = tps_16.iter().map(|t| Duration::from_secs_f64(1.0 / t)).collect();
    let summary = Summary::new(LOOKUP_16, LOOKUP_OPS as u64, "pgbench", &samples);
    let tps_16 = per_second(summary.median_us);
    Ok(Floor { summary, tps_16, tps_1 })
}

/// Runs pgbench with `args` and returns what it printed; an error when it is missing or fails.
async fn run_pgbench(args: Vec<String>) -> Result<String> {
    let output = tokio::task::spawn_blocking(move || std::process::Command::new("pgbench").args(&args).output())
        .await?
        .map_err(|e| format!("cannot run pgbench: {e}"))?;
    if !output.status.success() {
        return Err(format!("pgbench failed: {}", String::from_utf8_lossy(&output.stderr).trim()).into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The figure of pgbench's `tps = N (without initial connection time)` line.
fn tps(output: &str) -> Result<f64> {
    output
        .lines()
        .filter(|line| line.contains("without initial connection time"))
        .find_map(|line| line.strip_prefix("tps = ")?.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no `tps = …` line in pgbench's output:\n{output}").into())
}
