//! Running migration files and keeping their history, the same on every backend.
//!
//! Each file runs in a transaction of its own that also records it in the history table, so a
//! file is either applied and recorded or neither. Statements that cannot run in a transaction
//! (`CREATE INDEX CONCURRENTLY`) follow its commit one by one; until the last of them has run,
//! the file is recorded as unfinished, and the next run takes them up again.

use super::LockRetry;
use crate::backend::sql::SqlText;
use crate::backend::{Backend, Connection};
use crate::error::StoreError;
use crate::schema::MigrateOptions;
use crate::types::{ColumnType, ScalarType, Value};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The history table. `TIMESTAMPTZ` is PostgreSQL's type and a name SQLite accepts.
const CREATE_HISTORY: &str = "CREATE TABLE IF NOT EXISTS \"storehaus_migrations\" (\
    \"version\" BIGINT PRIMARY KEY, \"name\" TEXT NOT NULL, \"checksum\" TEXT NOT NULL, \
    \"finished\" BOOLEAN NOT NULL, \"applied_at\" TIMESTAMPTZ NOT NULL, \"execution_ms\" BIGINT NOT NULL)";

const HISTORY: &str = "SELECT \"version\", \"name\", \"checksum\", \"finished\", \"applied_at\", \"execution_ms\" \
    FROM \"storehaus_migrations\" ORDER BY \"version\"";

const IS_RECORDED: &str = "SELECT \"finished\" FROM \"storehaus_migrations\" WHERE \"version\" = $1";

const RECORD: &str = "INSERT INTO \"storehaus_migrations\" \
    (\"version\", \"name\", \"checksum\", \"finished\", \"applied_at\", \"execution_ms\") VALUES ($1, $2, $3, $4, $5, $6)";

const FINISH: &str =
    "UPDATE \"storehaus_migrations\" SET \"finished\" = TRUE, \"execution_ms\" = $2 WHERE \"version\" = $1";

/// The name of the history table.
pub(crate) const HISTORY_TABLE: &str = "storehaus_migrations";

/// A file as the history table records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HistoryRow {
    pub version: i64,
    pub name: String,
    pub checksum: String,
    /// `false` while statements after the file's transaction are still to run.
    pub finished: bool,
    pub applied_at: DateTime<Utc>,
    pub execution: Duration,
}

/// A migration file to apply: its statements with the lines they start on.
#[derive(Debug, Clone)]
pub(crate) struct FileToApply<'a> {
    pub version: i64,
    pub name: &'a str,
    pub file_name: &'a str,
    pub checksum: &'a str,
    pub up: Vec<(&'a str, usize)>,
    pub after_commit: Vec<(&'a str, usize)>,
}

/// The history, oldest first; empty when the table does not exist yet.
pub(crate) async fn history<B: Backend>(pool: &sqlx::Pool<B::Database>) -> Result<Vec<HistoryRow>, StoreError> {
    let mut connection = pool.acquire().await.map_err(B::error)?;
    if !B::table_exists(&mut connection, HISTORY_TABLE).await? {
        return Ok(Vec::new());
    }
    read_history::<B>(&mut connection).await
}

async fn read_history<B: Backend>(connection: &mut Connection<B>) -> Result<Vec<HistoryRow>, StoreError> {
    let rows = sqlx::query(HISTORY).fetch_all(B::on_connection(connection)).await.map_err(B::error)?;
    let decode = |message| StoreError::Decode { column: HISTORY_TABLE.to_owned(), message };
    rows.iter()
        .map(|row| {
            Ok(HistoryRow {
                version: B::read(row, 0).map_err(decode)?,
                name: B::read(row, 1).map_err(decode)?,
                checksum: B::read(row, 2).map_err(decode)?,
                finished: B::read(row, 3).map_err(decode)?,
                applied_at: B::read(row, 4).map_err(decode)?,
                execution: Duration::from_millis(B::read::<i64>(row, 5).map_err(decode)?.max(0) as u64),
            })
        })
        .collect()
}

/// Applies the files of `files` (ordered by version) that the history does not list as finished,
/// under the lock that serializes runs across processes; returns the versions it applied (or
/// finished). Refuses, before running anything, when a recorded file's checksum differs.
pub(crate) async fn apply<B: Backend>(
    pool: &sqlx::Pool<B::Database>,
    files: &[FileToApply<'_>],
    options: &MigrateOptions,
) -> Result<Vec<i64>, StoreError> {
    let mut connection = pool.acquire().await.map_err(B::error)?;
    B::lock_migration_files(&mut connection, options).await?;
    let connection = &mut *connection;
    execute::<B>(connection, CREATE_HISTORY, Vec::new()).await?;
    let recorded: HashMap<i64, HistoryRow> =
        read_history::<B>(connection).await?.into_iter().map(|row| (row.version, row)).collect();
    for file in files {
        if let Some(row) = recorded.get(&file.version).filter(|row| row.checksum != file.checksum) {
            return Err(edited(file, row));
        }
    }
    let mut applied = Vec::new();
    for file in files {
        let started = Instant::now();
        match recorded.get(&file.version) {
            Some(row) if row.finished => continue,
            Some(_) => {}
            None => {
                if !apply_transaction::<B>(connection, file, options).await? {
                    continue;
                }
            }
        }
        apply_after_commit::<B>(connection, file, options, started).await?;
        tracing::info!(file = file.file_name, elapsed = ?started.elapsed(), "applied migration file");
        applied.push(file.version);
    }
    Ok(applied)
}

/// The refusal of a recorded file whose content changed since.
pub(crate) fn edited(file: &FileToApply<'_>, row: &HistoryRow) -> StoreError {
    StoreError::MigrationFile {
        file: file.file_name.to_owned(),
        message: format!(
            "it was applied on {} with checksum {} but has been edited since (checksum {}); restore the \
             applied content and put the change in a new file",
            row.applied_at, row.checksum, file.checksum
        ),
    }
}

/// Runs the file's transaction and records the file in it; `false` when another process
/// recorded it first (SQLite, whose runs only serialize at each file's write lock).
async fn apply_transaction<B: Backend>(
    connection: &mut Connection<B>,
    file: &FileToApply<'_>,
    options: &MigrateOptions,
) -> Result<bool, StoreError> {
    let started = Instant::now();
    let mut retry = LockRetry::<B>::new(options, file.file_name, Vec::new());
    loop {
        let error = match transaction::<B>(connection, file, started).await {
            Ok(applied) => return Ok(applied),
            Err(failed) => failed,
        };
        let Failed { statement, error } = error;
        match statement {
            Some(index) => match retry.wait_or_fail(connection, error).await {
                Ok(()) => {}
                Err(error) => return Err(failed_statement(file, index, error)),
            },
            None => return Err(error),
        }
    }
}

/// A failure, with the index (in the file's up section) of the statement that failed, if one did.
struct Failed {
    statement: Option<usize>,
    error: StoreError,
}

impl From<StoreError> for Failed {
    fn from(error: StoreError) -> Self {
        Failed { statement: None, error }
    }
}

async fn transaction<B: Backend>(
    connection: &mut Connection<B>,
    file: &FileToApply<'_>,
    started: Instant,
) -> Result<bool, Failed> {
    let mut tx = sqlx::Connection::begin_with(&mut *connection, B::MIGRATION_BEGIN).await.map_err(B::error)?;
    let ran = async {
        if fetch_recorded::<B>(&mut tx, file.version).await? {
            return Ok(false);
        }
        for (index, (sql, _)) in file.up.iter().enumerate() {
            execute::<B>(&mut tx, sql, Vec::new()).await.map_err(|error| Failed { statement: Some(index), error })?;
        }
        Ok(true)
    }
    .await;
    match ran {
        Ok(true) => {}
        Ok(false) => {
            tx.rollback().await.map_err(B::error)?;
            return Ok(false);
        }
        Err(failed) => {
            // At once: the aborted transaction still holds its locks, and a retry sleeps first.
            tx.rollback().await.ok();
            return Err(failed);
        }
    }
    let values = vec![
        (Value::BigInt(file.version), ScalarType::BigInt),
        (Value::Text(file.name.to_owned()), ScalarType::Text),
        (Value::Text(file.checksum.to_owned()), ScalarType::Text),
        (Value::Bool(file.after_commit.is_empty()), ScalarType::Bool),
        (Value::TimestampTz(Utc::now()), ScalarType::TimestampTz),
        (Value::BigInt(millis(started.elapsed())), ScalarType::BigInt),
    ];
    execute::<B>(&mut tx, RECORD, values).await?;
    tx.commit().await.map_err(B::error)?;
    Ok(true)
}

/// Runs the statements after the file's transaction, then marks the file finished.
///
/// They wait for locks up to what is left of the budget: the section is for statements whose
/// locks let reads and writes go on (concurrent index builds, key validations), so nothing
/// queues behind them. A failed lock wait runs the section again from its first statement, as
/// the next apply would: a generated section can be run again (`DROP INDEX CONCURRENTLY IF
/// EXISTS` before each build), and a failed build leaves an invalid index of its name behind.
async fn apply_after_commit<B: Backend>(
    connection: &mut Connection<B>,
    file: &FileToApply<'_>,
    options: &MigrateOptions,
    started: Instant,
) -> Result<(), StoreError> {
    if file.after_commit.is_empty() {
        return Ok(());
    }
    let mut retry = LockRetry::<B>::new(options, file.file_name, Vec::new());
    let ran = loop {
        match after_commit_section::<B>(connection, file, retry.remaining().max(options.lock_timeout)).await {
            Ok(()) => break Ok(()),
            Err((index, error)) => {
                if let Err(error) = retry.wait_or_fail(connection, error).await {
                    break Err(failed_statement(file, index, error));
                }
            }
        }
    };
    B::set_lock_timeout(connection, options.lock_timeout).await?;
    ran?;
    let values = vec![
        (Value::BigInt(file.version), ScalarType::BigInt),
        (Value::BigInt(millis(started.elapsed())), ScalarType::BigInt),
    ];
    execute::<B>(connection, FINISH, values).await
}

/// One run of the after-commit section, each statement waiting for locks up to `lock_timeout`;
/// the error names the failing statement's index in the file.
async fn after_commit_section<B: Backend>(
    connection: &mut Connection<B>,
    file: &FileToApply<'_>,
    lock_timeout: Duration,
) -> Result<(), (usize, StoreError)> {
    let first = file.up.len();
    B::set_lock_timeout(connection, lock_timeout).await.map_err(|error| (first, error))?;
    for (offset, (sql, _)) in file.after_commit.iter().enumerate() {
        execute::<B>(connection, sql, Vec::new()).await.map_err(|error| (first + offset, error))?;
    }
    Ok(())
}

/// Whether the history lists `version` (read in the file's transaction, after its write lock).
async fn fetch_recorded<B: Backend>(connection: &mut Connection<B>, version: i64) -> Result<bool, StoreError> {
    let mut args = B::Arguments::default();
    B::bind(&mut args, Value::BigInt(version), ColumnType::Scalar(ScalarType::BigInt))?;
    let row =
        sqlx::query_with(IS_RECORDED, args).fetch_optional(B::on_connection(connection)).await.map_err(B::error)?;
    Ok(row.is_some())
}

/// [`StoreError::MigrationFailed`] for the statement at `index` (up, then after-commit).
fn failed_statement(file: &FileToApply<'_>, index: usize, error: StoreError) -> StoreError {
    let (sql, line) = file.up.iter().chain(&file.after_commit).nth(index).copied().unwrap_or_default();
    StoreError::MigrationFailed {
        file: file.file_name.to_owned(),
        statement: index + 1,
        line,
        sql: sql.to_owned(),
        source: Box::new(error),
    }
}

/// Runs `sql`, a statement of this module or of a migration file, with `values` bound in order.
async fn execute<B: Backend>(
    connection: &mut Connection<B>,
    sql: &str,
    values: Vec<(Value, ScalarType)>,
) -> Result<(), StoreError> {
    let mut args = B::Arguments::default();
    for (value, ty) in values {
        B::bind(&mut args, value, ColumnType::Scalar(ty))?;
    }
    let sql = SqlText::migration_file(sql);
    sqlx::query_with(sql.into_sqlx(), args).execute(B::on_connection(connection)).await.map_err(B::error)?;
    Ok(())
}

fn millis(elapsed: Duration) -> i64 {
    i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
}
