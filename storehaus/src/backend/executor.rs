//! The one executor: statements run on a pool or on a transaction's connection, the same way on
//! every backend.

use super::sql::SqlText;
use super::{Backend, Events};
use crate::error::StoreError;
use crate::model::{Model, Record, read_record};
use crate::signals::{DatabaseEvent, EventType, MemorySource};
use chrono::{DateTime, SubsecRound, Utc};
use futures_util::{Stream, TryFutureExt, TryStreamExt};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub(crate) use super::tx::{TxCell, TxHandle, tx_cell};

/// A pool of one backend and, for backends that record change events in this process, the log
/// they go to.
pub(crate) struct Db<B: Backend> {
    pub(crate) pool: sqlx::Pool<B::Database>,
    /// Set for [`Events::InProcess`].
    pub(crate) log: Option<Arc<MemorySource>>,
    /// Whether the database was seen to have the backend's [`DurableLog`](super::DurableLog)
    /// (which, once created, stays).
    durable: Arc<AtomicBool>,
}

impl<B: Backend> Db<B> {
    pub(crate) fn new(pool: sqlx::Pool<B::Database>) -> Self {
        let log = (B::EVENTS == Events::InProcess).then(|| Arc::new(MemorySource::new()));
        Db { pool, log, durable: Arc::default() }
    }
}

impl<B: Backend> Clone for Db<B> {
    fn clone(&self) -> Self {
        Db { pool: self.pool.clone(), log: self.log.clone(), durable: self.durable.clone() }
    }
}

impl<B: Backend> fmt::Debug for Db<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").field("backend", &B::NAME).finish_non_exhaustive()
    }
}

/// The current time at the precision the backends store (microseconds).
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Whether a failed statement stops the transaction from committing: a row that did not decode
/// does not, as nothing failed on the server (unless a write returned it: see `Executor::write`).
fn aborts_transaction(error: &StoreError) -> bool {
    match error {
        StoreError::UniqueViolation { .. } | StoreError::ForeignKeyViolation { .. } | StoreError::ReadOnly { .. } => {
            true
        }
        StoreError::Database { source, .. } => source.downcast_ref::<sqlx::Error>().is_none_or(|error| {
            matches!(
                error,
                sqlx::Error::Database(_) | sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed
            )
        }),
        _ => false,
    }
}

/// Where a statement runs: any pooled connection, or the connection of a transaction.
pub(crate) enum Executor<'a, B: Backend> {
    Pool(&'a Db<B>),
    Tx(&'a TxCell<B>),
}

impl<B: Backend> Clone for Executor<'_, B> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<B: Backend> Copy for Executor<'_, B> {}

/// Runs `$work` (a future of `Result<_, StoreError>`) with `$on` bound to the executor's sqlx
/// executor: the pool, or the transaction's connection, which is marked aborted when `$work`
/// fails in a way that aborts it on the server.
macro_rules! run {
    ($exec:expr, |$on:ident| $work:expr) => {{
        match $exec {
            Executor::Pool(db) => {
                let $on = B::on_pool(&db.pool);
                $work.await
            }
            Executor::Tx(cell) => {
                let mut state = cell.current().await?;
                let $on = B::on_connection(state.connection()?);
                let result = $work.await;
                if result.as_ref().is_err_and(aborts_transaction) {
                    state.abort();
                }
                result
            }
        }
    }};
}

impl<'a, B: Backend> Executor<'a, B> {
    /// The rows of a statement as records, each decoded as it arrives: a large result never sits
    /// in memory twice, as rows and as records.
    pub(crate) async fn fetch_records<T: Model>(
        self,
        sql: SqlText,
        args: B::Arguments,
    ) -> Result<Vec<Record<T>>, StoreError> {
        run!(self, |on| decode_each::<B, T>(sqlx::query_with(sql.into_sqlx(), args).fetch(on)))
    }

    /// Hands the rows of a statement to `each` as they arrive.
    pub(crate) async fn fetch_each(
        self,
        sql: SqlText,
        args: B::Arguments,
        each: impl FnMut(&B::Row) -> Result<(), StoreError> + Send,
    ) -> Result<(), StoreError> {
        run!(self, |on| for_each_row::<B>(sqlx::query_with(sql.into_sqlx(), args).fetch(on), each))
    }

    pub(crate) async fn fetch_all(self, sql: SqlText, args: B::Arguments) -> Result<Vec<B::Row>, StoreError> {
        run!(self, |on| sqlx::query_with(sql.into_sqlx(), args).fetch_all(on).map_err(B::error))
    }

    pub(crate) async fn fetch_optional(self, sql: SqlText, args: B::Arguments) -> Result<Option<B::Row>, StoreError> {
        run!(self, |on| sqlx::query_with(sql.into_sqlx(), args).fetch_optional(on).map_err(B::error))
    }

    pub(crate) async fn fetch_one(self, sql: SqlText, args: B::Arguments) -> Result<B::Row, StoreError> {
        run!(self, |on| sqlx::query_with(sql.into_sqlx(), args).fetch_one(on).map_err(B::error))
    }

    /// Sends the records of a statement to `sink` as they are read; stops early when the consumer
    /// is gone.
    pub(crate) async fn stream<T: Model>(
        self,
        sql: SqlText,
        args: B::Arguments,
        sink: &tokio::sync::mpsc::Sender<Result<Record<T>, StoreError>>,
    ) -> Result<(), StoreError> {
        match self {
            Executor::Pool(db) => {
                let mut rows = sqlx::query_with(sql.into_sqlx(), args).fetch(B::on_pool(&db.pool));
                while let Some(row) = rows.try_next().await.map_err(B::error)? {
                    if sink.send(read_record::<T, _>(&mut RowReader::<B>::new(&row))).await.is_err() {
                        break;
                    }
                }
            }
            // A transaction's connection cannot be held across the consumer's awaits without
            // blocking the transaction's other calls, so its rows are read first.
            Executor::Tx(_) => {
                for row in self.fetch_all(sql, args).await? {
                    if sink.send(read_record::<T, _>(&mut RowReader::<B>::new(&row))).await.is_err() {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// The clock of a write made now: the transaction's, or the current time.
    pub(crate) fn now(self) -> DateTime<Utc> {
        match self {
            Executor::Pool(_) => now(),
            Executor::Tx(cell) => cell.now(),
        }
    }

    /// Hands the events of a write that succeeded to the in-process log: at once outside a
    /// transaction (the statement committed), at commit inside one. Where the database keeps a
    /// durable log for its durable consumers, they are also written there, in the transaction.
    pub(crate) async fn emit(self, events: Vec<DatabaseEvent>) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        self.append_durable(&events).await?;
        match self {
            Executor::Pool(db) => {
                if let Some(log) = &db.log {
                    log.append_committed(events);
                }
            }
            Executor::Tx(cell) => cell.record(events).await,
        }
        Ok(())
    }

    /// Writes `events` to the backend's durable log, when the database has one. Until it was
    /// seen, every write looks for it in its own transaction, so no write that commits after a
    /// durable consumer was registered (from any process) is missed.
    async fn append_durable(self, events: &[DatabaseEvent]) -> Result<(), StoreError> {
        let Some(durable) = B::DURABLE_LOG else { return Ok(()) };
        let seen = match self {
            Executor::Pool(db) => &db.durable,
            Executor::Tx(cell) => &cell.db().durable,
        };
        if !seen.load(Ordering::Acquire) {
            if self.fetch_optional(SqlText::fixed(durable.exists), B::Arguments::default()).await?.is_none() {
                return Ok(());
            }
            seen.store(true, Ordering::Release);
        }
        let events = serde_json::to_value(events).map_err(|e| StoreError::Signal(e.to_string()))?;
        let mut args = B::Arguments::default();
        B::bind(&mut args, crate::types::Value::Json(events), super::sql::JSON)?;
        self.fetch_optional(SqlText::fixed(durable.append), args).await?;
        Ok(())
    }

    /// Appends an application event on `channel`, part of the transaction when there is one.
    pub(crate) async fn publish(self, channel: &str, payload: serde_json::Value) -> Result<(), StoreError> {
        match B::EVENTS {
            Events::InDatabase { publish, .. } => {
                let mut args = B::Arguments::default();
                B::bind(&mut args, crate::types::Value::Text(channel.to_owned()), super::sql::TEXT)?;
                B::bind(&mut args, crate::types::Value::Json(payload), super::sql::JSON)?;
                self.fetch_one(SqlText::fixed(publish), args).await?;
            }
            Events::InProcess => self.emit(vec![DatabaseEvent::new(EventType::Channel, channel, "", payload)]).await?,
        }
        Ok(())
    }

    /// Records that durable consumer `consumer` handled event `event_id`, part of the transaction
    /// when there is one; `false` when it was recorded before.
    pub(crate) async fn mark_handled(self, consumer: &str, event_id: i64) -> Result<bool, StoreError> {
        let mark_handled = match (B::EVENTS, B::DURABLE_LOG) {
            (Events::InDatabase { mark_handled, .. }, _) => mark_handled,
            (Events::InProcess, Some(durable)) => durable.mark_handled,
            (Events::InProcess, None) => {
                return Err(StoreError::Unsupported { backend: B::NAME, operation: "durable consumers".into() });
            }
        };
        let mut args = B::Arguments::default();
        B::bind(&mut args, crate::types::Value::Text(consumer.to_owned()), super::sql::TEXT)?;
        B::bind(&mut args, crate::types::Value::BigInt(event_id), super::sql::BIGINT)?;
        Ok(self.fetch_optional(SqlText::fixed(mark_handled), args).await?.is_some())
    }

    /// Runs a write and reads the rows it returns, all or nothing: a returned row that does not
    /// decode undoes the write instead of leaving behind a row no read gets past. On the pool the
    /// write runs in a transaction of its own, committed once its rows are read; in the caller's
    /// transaction, such a failure keeps the transaction from committing.
    pub(crate) async fn write<R>(
        self,
        work: impl AsyncFnOnce(Executor<'_, B>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        match self {
            Executor::Pool(_) => self.atomically(work).await,
            Executor::Tx(cell) => {
                let result = work(self).await;
                if let Err(StoreError::Decode { .. }) = result {
                    cell.mark_aborted().await;
                }
                result
            }
        }
    }

    /// Runs `work` atomically: in the caller's transaction, or in one of its own that commits when
    /// `work` succeeds and rolls back when it fails.
    pub(crate) async fn atomically<R>(
        self,
        work: impl AsyncFnOnce(Executor<'_, B>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        match self {
            Executor::Tx(_) => work(self).await,
            Executor::Pool(db) => {
                let cell = TxCell::begin(db).await?;
                match work(Executor::Tx(&cell)).await {
                    Ok(result) => {
                        cell.commit().await?;
                        Ok(result)
                    }
                    Err(error) => {
                        // The error that matters is the one `work` returned.
                        let _ = cell.rollback().await;
                        Err(error)
                    }
                }
            }
        }
    }
}

async fn decode_each<B: Backend, T: Model>(
    rows: impl Stream<Item = Result<B::Row, sqlx::Error>> + Unpin,
) -> Result<Vec<Record<T>>, StoreError> {
    let mut records = Vec::new();
    for_each_row::<B>(rows, |row| {
        records.push(read_record(&mut RowReader::<B>::new(row))?);
        Ok(())
    })
    .await?;
    Ok(records)
}

/// Hands every row to `each` as it arrives, so no result is held as rows and decoded again.
async fn for_each_row<B: Backend>(
    mut rows: impl Stream<Item = Result<B::Row, sqlx::Error>> + Unpin,
    mut each: impl FnMut(&B::Row) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    while let Some(row) = rows.try_next().await.map_err(B::error)? {
        each(&row)?;
    }
    Ok(())
}

/// Reads a row's columns in order; a model's generated `read_row` drives it.
pub(crate) struct RowReader<'r, B: Backend> {
    row: &'r B::Row,
    index: usize,
}

impl<'r, B: Backend> RowReader<'r, B> {
    pub(crate) fn new(row: &'r B::Row) -> Self {
        Self::at(row, 0)
    }

    /// A reader positioned at column `index`.
    pub(crate) fn at(row: &'r B::Row, index: usize) -> Self {
        RowReader { row, index }
    }
}

impl<B: Backend> fmt::Debug for RowReader<'_, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowReader").field("index", &self.index).finish_non_exhaustive()
    }
}

impl<B: Backend> crate::model::RowReader for RowReader<'_, B> {
    // Inlined into each model's generated `read_row`, where a backend's type tests fold away: a
    // call per column was a tenth of the time of reading a large result.
    #[inline]
    fn read<T: crate::types::SqlType>(&mut self) -> Result<T, StoreError> {
        let index = self.index;
        self.index += 1;
        B::read::<T>(self.row, index)
            .map_err(|message| StoreError::Decode { column: column_name(self.row, index), message })
    }
}

/// The name of column `index` of `row`, for errors.
pub(crate) fn column_name<R: sqlx::Row>(row: &R, index: usize) -> String {
    row.columns().get(index).map(|c| sqlx::Column::name(c).to_owned()).unwrap_or_default()
}
