//! Store operations on SQLite: statements built once per model, executed on the pool or a
//! transaction; change events collected from the written rows and logged after commit.

mod batch;
mod crud;
mod statements;

pub(crate) use batch::*;
pub(crate) use crud::*;
pub(crate) use statements::Statements;

use super::SqliteDb;
use crate::error::StoreError;
use crate::signals::{DatabaseEvent, MemorySource};
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Sqlite, Transaction};
use std::sync::Arc;
use tokio::sync::Mutex;

/// An open transaction, shared by every store call made on it.
#[derive(Debug)]
pub(crate) struct TxCell {
    state: Mutex<TxConn>,
    log: Arc<MemorySource>,
    /// The clock of every write in the transaction, as PostgreSQL's `now()` is its start time.
    now: DateTime<Utc>,
}

#[derive(Debug)]
struct TxConn {
    /// `None` once committed or rolled back.
    tx: Option<Transaction<'static, Sqlite>>,
    /// A statement failed. SQLite would let the transaction go on, but PostgreSQL aborts it; both
    /// backends refuse to commit after a failure, so code behaves the same on either.
    aborted: bool,
    /// Events of the writes so far, logged on commit and dropped on rollback.
    events: Vec<DatabaseEvent>,
}

impl TxCell {
    pub(crate) fn new(tx: Transaction<'static, Sqlite>, log: Arc<MemorySource>) -> Self {
        TxCell { state: Mutex::new(TxConn { tx: Some(tx), aborted: false, events: Vec::new() }), log, now: now() }
    }

    pub(crate) async fn commit(&self) -> Result<(), StoreError> {
        let mut state = self.state.lock().await;
        let tx = state.tx.take().ok_or_else(finished)?;
        let events = std::mem::take(&mut state.events);
        if state.aborted {
            tx.rollback().await?;
            return Err(StoreError::Transaction(
                "rolled back instead of committed: a statement in the transaction failed".into(),
            ));
        }
        tx.commit().await?;
        if !events.is_empty() {
            self.log.append_committed(events);
        }
        Ok(())
    }

    pub(crate) async fn rollback(&self) -> Result<(), StoreError> {
        let mut state = self.state.lock().await;
        state.events.clear();
        let tx = state.tx.take().ok_or_else(finished)?;
        Ok(tx.rollback().await?)
    }

    pub(crate) async fn is_finished(&self) -> bool {
        self.state.lock().await.tx.is_none()
    }
}

/// The current time at the precision the backends store (microseconds).
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Whether a failed statement should stop the transaction from committing (client-side
/// decoding errors do not: nothing was written).
fn aborts_transaction(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::Database(_) | sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed
    )
}

/// Where a statement runs: any pooled connection, or the connection of a transaction.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SqliteExec<'a> {
    Pool(&'a SqliteDb),
    Tx(&'a TxCell),
}

/// Runs `$method` (`fetch_all`, …) of a query on the executor.
macro_rules! run {
    ($exec:expr, $sql:expr, $args:expr, $method:ident) => {{
        let query = sqlx::query_with(sqlx::AssertSqlSafe($sql), $args);
        match $exec {
            SqliteExec::Pool(db) => query.$method(db.pool()).await.map_err(StoreError::from),
            SqliteExec::Tx(cell) => {
                let mut state = cell.state.lock().await;
                let tx = state.tx.as_mut().ok_or_else(finished)?;
                let result = query.$method(&mut **tx).await;
                if result.as_ref().is_err_and(aborts_transaction) {
                    state.aborted = true;
                }
                result.map_err(StoreError::from)
            }
        }
    }};
}

impl<'a> SqliteExec<'a> {
    pub(crate) async fn fetch_all(self, sql: &str, args: SqliteArguments) -> Result<Vec<SqliteRow>, StoreError> {
        run!(self, sql, args, fetch_all)
    }

    pub(crate) async fn fetch_optional(
        self,
        sql: &str,
        args: SqliteArguments,
    ) -> Result<Option<SqliteRow>, StoreError> {
        run!(self, sql, args, fetch_optional)
    }

    pub(crate) async fn fetch_one(self, sql: &str, args: SqliteArguments) -> Result<SqliteRow, StoreError> {
        run!(self, sql, args, fetch_one)
    }

    /// The clock of a write made now: the transaction's, or the current time.
    pub(crate) fn now(self) -> DateTime<Utc> {
        match self {
            SqliteExec::Pool(_) => now(),
            SqliteExec::Tx(cell) => cell.now,
        }
    }

    /// Hands the events of a write that succeeded to the log: at once outside a transaction
    /// (the statement committed), at commit inside one.
    pub(crate) async fn emit(self, events: Vec<DatabaseEvent>) {
        if events.is_empty() {
            return;
        }
        match self {
            SqliteExec::Pool(db) => {
                db.log.append_committed(events);
            }
            SqliteExec::Tx(cell) => cell.state.lock().await.events.extend(events),
        }
    }

    /// Runs `work` atomically: in the caller's transaction, or in one of its own that commits
    /// when `work` succeeds and rolls back when it fails.
    pub(crate) async fn atomically<R>(
        self,
        work: impl AsyncFnOnce(SqliteExec<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        match self {
            SqliteExec::Tx(_) => work(self).await,
            SqliteExec::Pool(db) => {
                let cell = db.begin().await?;
                match work(SqliteExec::Tx(&cell)).await {
                    Ok(result) => {
                        cell.commit().await?;
                        Ok(result)
                    }
                    Err(e) => {
                        // The error that matters is the one `work` returned.
                        let _ = cell.rollback().await;
                        Err(e)
                    }
                }
            }
        }
    }
}

/// The error for a statement on a transaction that already ended.
pub(crate) fn finished() -> StoreError {
    StoreError::Transaction("the transaction was already committed or rolled back".into())
}
