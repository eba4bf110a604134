//! Applying migrations on PostgreSQL without stalling a busy table.
//!
//! A statement that needs a table lock waits behind every transaction holding a conflicting one,
//! and every query that arrives meanwhile waits behind it: a migration stuck behind one idle
//! transaction stops all reads of the table. So each statement waits at most `lock_timeout`;
//! an attempt that timed out is rolled back (freeing the queue at once) and tried again after a
//! backoff, until the budget is spent.

use super::{Postgres, row_security};
use crate::backend::Backend;
use crate::backend::migrate::{self, LockRetry};
use crate::backend::sql::{SqlText, quote_ident};
use crate::error::{BlockingSession, StoreError};
use crate::model::TableDef;
use crate::schema::{self, Change, MigrateOptions, MigrationPlan, MigrationStep};
use sqlx::postgres::PgPool;
use sqlx::{Connection as _, PgConnection, Row};
use std::time::Duration;

/// Migrates `table`, serialized across processes by a session advisory lock on its name.
///
/// The migration has a connection of its own, closed at the end: its lock and settings go with
/// it even when the caller drops this future halfway. The steps that run outside the
/// transaction (concurrent index builds, key validation) follow its commit under the same lock,
/// so a second process never starts the same build.
pub(super) async fn migrate(
    pool: &PgPool,
    table: &TableDef,
    options: &MigrateOptions,
) -> Result<MigrationPlan, StoreError> {
    let mut connection = pool.acquire().await.map_err(Postgres::error)?.detach();
    let migrated = migrate_locked(&mut connection, table, options).await;
    // Closing ends the session, which releases the advisory lock.
    connection.close().await.ok();
    migrated
}

async fn migrate_locked(
    connection: &mut PgConnection,
    table: &TableDef,
    options: &MigrateOptions,
) -> Result<MigrationPlan, StoreError> {
    advisory_lock(connection, migration_lock_key(table.name)).await?;
    set_lock_timeout(connection, options.lock_timeout).await?;
    let mut ran = Vec::new();
    let mut retry = LockRetry::<Postgres>::new(options, table.name, lock_relations(table));
    while let Err(error) = attempt(connection, table, options, &mut ran, retry.remaining()).await {
        retry.wait_or_fail(connection, error).await?;
    }
    Ok(MigrationPlan { table: table.name.to_owned(), steps: ran })
}

/// The tables a migration of `table` locks: it and the parents of its foreign keys.
fn lock_relations(table: &TableDef) -> Vec<String> {
    let parents = table.foreign_keys.iter().map(|fk| fk.parent().name.to_owned());
    std::iter::once(table.name.to_owned()).chain(parents).collect()
}

/// One attempt: plan and apply in a transaction, then the steps that run after it. Steps that
/// took effect are added to `ran`; a later attempt plans only what is still missing.
///
/// The steps after the transaction wait for locks up to `remaining` (what is left of the
/// budget), not the short timeout: their locks (`SHARE UPDATE EXCLUSIVE`) let reads and writes
/// go on, so nothing queues behind them, and a concurrent build that gave up on a long
/// transaction would have to start over.
async fn attempt(
    connection: &mut PgConnection,
    table: &TableDef,
    options: &MigrateOptions,
    ran: &mut Vec<MigrationStep>,
    remaining: Duration,
) -> Result<(), StoreError> {
    let mut tx = connection.begin().await.map_err(Postgres::error)?;
    let applied = async {
        // A policy reading a column would block changing it: policies go first, come back last.
        let before = row_security::prepare(&mut tx, table).await?;
        let plan = migrate::plan_and_apply::<Postgres>(&mut tx, table, options).await?;
        let after = row_security::migrate(&mut tx, table).await?;
        Ok::<_, StoreError>((before, plan, after))
    }
    .await;
    let (before, plan, after) = match applied {
        Ok(applied) => applied,
        Err(error) => {
            // At once, not when the connection is next used: the aborted transaction still
            // holds the locks it took, and the retry sleeps first.
            tx.rollback().await.ok();
            return Err(error);
        }
    };
    tx.commit().await.map_err(Postgres::error)?;
    let policy = |sql| MigrationStep { change: Change::RowSecurity, sql, outside_transaction: false };
    let (later, now): (Vec<_>, Vec<_>) = plan.steps.into_iter().partition(|step| step.outside_transaction);
    ran.extend(before.into_iter().map(policy).chain(now).chain(after.into_iter().map(policy)));
    if later.is_empty() {
        return Ok(());
    }
    set_lock_timeout(connection, remaining.max(options.lock_timeout)).await?;
    for step in later {
        let sql = SqlText::assembled(step.sql.clone());
        if let Err(error) = sqlx::query(sql.into_sqlx()).execute(&mut *connection).await.map_err(Postgres::error) {
            set_lock_timeout(connection, options.lock_timeout).await?;
            drop_invalid_index(connection, &step).await;
            return Err(error);
        }
        ran.push(step);
    }
    set_lock_timeout(connection, options.lock_timeout).await
}

/// After a failed step: a concurrent index build that fails leaves an invalid index behind,
/// which writes would still maintain (and, for a unique one, check). It is dropped at once when
/// that takes no longer than the short lock timeout; otherwise the next attempt or migration
/// drops and builds it again.
async fn drop_invalid_index(connection: &mut PgConnection, step: &MigrationStep) {
    let Change::CreateIndex { name, .. } = &step.change else { return };
    let drop = SqlText::assembled(format!("DROP INDEX CONCURRENTLY IF EXISTS {}", quote_ident(name)));
    if let Err(error) = sqlx::query(drop.into_sqlx()).execute(&mut *connection).await {
        tracing::warn!(index = %name, %error, "the invalid index of a failed build stays until the next migration rebuilds it");
    }
}

/// Takes the session lock that serializes runs of migration files across processes and sets
/// the session's lock timeout; the connection is closed, not returned to the pool, when dropped,
/// so the lock never outlives the run.
pub(super) async fn lock_migration_files(
    connection: &mut sqlx::pool::PoolConnection<sqlx::Postgres>,
    options: &MigrateOptions,
) -> Result<(), StoreError> {
    connection.close_on_drop();
    advisory_lock(connection, files_lock_key()).await?;
    set_lock_timeout(connection, options.lock_timeout).await
}

/// The first pause between tries of a held advisory lock; it doubles up to [`LOCK_POLL_MAX`].
const LOCK_POLL_FIRST: Duration = Duration::from_millis(10);
const LOCK_POLL_MAX: Duration = Duration::from_millis(200);

/// Takes the session advisory lock `key`, however long another migration holds it.
///
/// Tries and sleeps rather than waiting in `pg_advisory_lock`: a session waiting inside a
/// statement holds a snapshot, and the holder's `CREATE INDEX CONCURRENTLY` waits for every
/// older snapshot to end, so the two would wait for each other.
async fn advisory_lock(connection: &mut PgConnection, key: i64) -> Result<(), StoreError> {
    let mut pause = LOCK_POLL_FIRST;
    loop {
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut *connection)
            .await
            .map_err(Postgres::error)?;
        if locked {
            return Ok(());
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LOCK_POLL_MAX);
    }
}

/// Sets the session's `lock_timeout` (a bound value: `set_config` takes it as text).
pub(super) async fn set_lock_timeout(connection: &mut PgConnection, timeout: Duration) -> Result<(), StoreError> {
    let millis = timeout.as_millis().max(1).to_string() + "ms";
    sqlx::query("SELECT set_config('lock_timeout', $1, false)")
        .bind(millis)
        .execute(&mut *connection)
        .await
        .map_err(Postgres::error)?;
    Ok(())
}

/// Sessions holding a lock on `table` or on a parent table of its foreign keys.
const TABLE_LOCK_HOLDERS: &str = "\
SELECT a.pid, coalesce(a.state, ''),
  extract(epoch FROM now() - coalesce(a.xact_start, a.query_start, now()))::float8,
  coalesce(a.application_name, '')
FROM pg_catalog.pg_stat_activity a
WHERE a.pid <> pg_backend_pid() AND a.pid IN (
  SELECT l.pid FROM pg_catalog.pg_locks l
  WHERE l.granted AND l.relation IN (SELECT to_regclass(quote_ident(t)) FROM unnest($1::text[]) AS t))
ORDER BY 3 DESC";

/// Transactions of this database open for longer than `$1` seconds: what a concurrent index
/// build waits for.
const OLD_TRANSACTIONS: &str = "\
SELECT a.pid, coalesce(a.state, ''), extract(epoch FROM now() - a.xact_start)::float8,
  coalesce(a.application_name, '')
FROM pg_catalog.pg_stat_activity a
WHERE a.pid <> pg_backend_pid() AND a.datname = current_database()
  AND a.xact_start < now() - make_interval(secs => $1)
ORDER BY 3 DESC";

/// Who held the locks the last attempt waited for: the sessions holding locks on `tables`, or,
/// when none does, the transactions open for longer than `lock_timeout`.
pub(super) async fn blocking_sessions(
    connection: &mut PgConnection,
    tables: &[String],
    lock_timeout: Duration,
) -> Result<Vec<BlockingSession>, sqlx::Error> {
    let mut rows = sqlx::query(TABLE_LOCK_HOLDERS).bind(tables).fetch_all(&mut *connection).await?;
    if rows.is_empty() {
        rows = sqlx::query(OLD_TRANSACTIONS).bind(lock_timeout.as_secs_f64()).fetch_all(&mut *connection).await?;
    }
    rows.iter()
        .map(|row| {
            Ok(BlockingSession {
                pid: row.try_get(0)?,
                state: row.try_get(1)?,
                age: Duration::try_from_secs_f64(row.try_get::<f64, _>(2)?.max(0.0)).unwrap_or_default(),
                application: row.try_get(3)?,
            })
        })
        .collect()
}

/// The advisory-lock key of migrations of `table`, the same in every process.
fn migration_lock_key(table: &str) -> i64 {
    lock_key(&format!("storehaus:migrate:{table}"))
}

/// The advisory-lock key of runs of migration files (no table name makes it: the prefix differs).
fn files_lock_key() -> i64 {
    lock_key("storehaus:migration-files")
}

fn lock_key(name: &str) -> i64 {
    i64::from_ne_bytes(schema::fnv1a(name.as_bytes()).to_ne_bytes())
}
