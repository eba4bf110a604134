//! Store operations on PostgreSQL: statements built once per model, executed on a pool or a
//! transaction, rows read back as records.

mod batch;
mod crud;
mod statements;

pub(crate) use batch::*;
pub(crate) use crud::*;
pub(crate) use statements::Statements;

use crate::backend::postgres::record::read_record;
use crate::error::StoreError;
use crate::model::Model;
use crate::store::Record;
use futures_util::{Stream, TryStreamExt};
use sqlx::postgres::{PgArguments, PgPool, PgRow};
use sqlx::{Postgres, Transaction};
use tokio::sync::Mutex;

/// An open transaction, shared by every store call made on it.
#[derive(Debug)]
pub(crate) struct TxCell {
    state: Mutex<TxConn>,
}

#[derive(Debug)]
struct TxConn {
    /// `None` once committed or rolled back.
    tx: Option<Transaction<'static, Postgres>>,
    /// A statement failed on the server, so PostgreSQL aborted the transaction: a `COMMIT` would
    /// silently roll back, and must be reported as the failure it is.
    aborted: bool,
}

impl TxCell {
    pub(crate) fn new(tx: Transaction<'static, Postgres>) -> Self {
        TxCell { state: Mutex::new(TxConn { tx: Some(tx), aborted: false }) }
    }

    pub(crate) async fn commit(&self) -> Result<(), StoreError> {
        let mut state = self.state.lock().await;
        let tx = state.tx.take().ok_or_else(finished)?;
        if state.aborted {
            tx.rollback().await?;
            return Err(StoreError::Transaction(
                "rolled back instead of committed: a statement in the transaction failed".into(),
            ));
        }
        Ok(tx.commit().await?)
    }

    pub(crate) async fn rollback(&self) -> Result<(), StoreError> {
        let tx = self.state.lock().await.tx.take().ok_or_else(finished)?;
        Ok(tx.rollback().await?)
    }

    pub(crate) async fn is_finished(&self) -> bool {
        self.state.lock().await.tx.is_none()
    }
}

/// Whether PostgreSQL aborted the transaction because of an error (client-side decoding errors
/// leave it intact).
trait AbortsTransaction {
    fn aborts_transaction(&self) -> bool;
}

impl AbortsTransaction for sqlx::Error {
    fn aborts_transaction(&self) -> bool {
        matches!(
            self,
            sqlx::Error::Database(_) | sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed
        )
    }
}

/// Where a statement runs: any pooled connection, or the connection of a transaction.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PgExec<'a> {
    Pool(&'a PgPool),
    Tx(&'a TxCell),
}

/// Runs `$work` with `$conn` bound to the executor: the pool, or the transaction's connection,
/// which is marked aborted when `$work` fails in a way that aborts it on the server.
macro_rules! run {
    ($exec:expr, |$conn:ident| $work:expr) => {{
        match $exec {
            PgExec::Pool($conn) => $work.await.map_err(StoreError::from),
            PgExec::Tx(cell) => {
                let mut state = cell.state.lock().await;
                let $conn = &mut **state.tx.as_mut().ok_or_else(finished)?;
                let result = $work.await;
                if result.as_ref().is_err_and(AbortsTransaction::aborts_transaction) {
                    state.aborted = true;
                }
                result.map_err(StoreError::from)
            }
        }
    }};
}

impl PgExec<'_> {
    /// The rows of a statement as records, each decoded as it arrives: a large result never
    /// sits in memory twice, as rows and as records.
    pub(crate) async fn fetch_records<T: Model>(
        self,
        sql: &str,
        args: PgArguments,
    ) -> Result<Vec<Record<T>>, StoreError> {
        run!(self, |conn| decode_each(sqlx::query_with(sqlx::AssertSqlSafe(sql), args).fetch(conn)))
    }

    pub(crate) async fn fetch_all(self, sql: &str, args: PgArguments) -> Result<Vec<PgRow>, StoreError> {
        run!(self, |conn| sqlx::query_with(sqlx::AssertSqlSafe(sql), args).fetch_all(conn))
    }

    pub(crate) async fn fetch_optional(self, sql: &str, args: PgArguments) -> Result<Option<PgRow>, StoreError> {
        run!(self, |conn| sqlx::query_with(sqlx::AssertSqlSafe(sql), args).fetch_optional(conn))
    }

    pub(crate) async fn fetch_one(self, sql: &str, args: PgArguments) -> Result<PgRow, StoreError> {
        run!(self, |conn| sqlx::query_with(sqlx::AssertSqlSafe(sql), args).fetch_one(conn))
    }
}

/// Why [`decode_each`] stopped: the statement failed, or a row did not decode (which leaves a
/// transaction intact).
enum Failure {
    Database(sqlx::Error),
    Decode(StoreError),
}

impl AbortsTransaction for Failure {
    fn aborts_transaction(&self) -> bool {
        matches!(self, Failure::Database(error) if error.aborts_transaction())
    }
}

impl From<Failure> for StoreError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Database(error) => error.into(),
            Failure::Decode(error) => error,
        }
    }
}

async fn decode_each<T: Model>(
    mut rows: impl Stream<Item = Result<PgRow, sqlx::Error>> + Unpin,
) -> Result<Vec<Record<T>>, Failure> {
    let mut records = Vec::new();
    while let Some(row) = rows.try_next().await.map_err(Failure::Database)? {
        records.push(read_record(&row).map_err(Failure::Decode)?);
    }
    Ok(records)
}

/// The error for a statement on a transaction that already ended.
pub(crate) fn finished() -> StoreError {
    StoreError::Transaction("the transaction was already committed or rolled back".into())
}
