//! Open transactions and their savepoints, the same way on every backend.
//!
//! A transaction is one connection and a stack of levels: the transaction itself, then one level
//! per open savepoint. Each level has a handle ([`TxCell`]); statements run on the innermost
//! level only, so work meant for an outer level never lands inside a savepoint by accident.

mod options;

pub use options::{IsolationLevel, TransactionOptions};

use super::executor::{Db, Executor, now};
use super::{Backend, Connection};
use crate::error::StoreError;
use crate::signals::{BoxFuture, DatabaseEvent};
use chrono::{DateTime, Utc};
use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};
use tokio::sync::{Mutex, MutexGuard};

/// An open transaction or savepoint, as the rest of StoreHaus holds it whatever its backend.
pub(crate) trait TxHandle: Any + Send + Sync + fmt::Debug {
    fn commit(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    fn rollback(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Opens a savepoint inside this level, which becomes the level statements run on.
    fn begin_nested(&self) -> BoxFuture<'_, Result<Arc<dyn TxHandle>, StoreError>>;
    /// Appends an application event on `channel`, delivered if the transaction commits.
    fn publish<'a>(&'a self, channel: &'a str, payload: serde_json::Value) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Records that a durable consumer handled an event; `false` when it was recorded before.
    fn mark_handled<'a>(&'a self, consumer: &'a str, event_id: i64) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Whether this level ended: committed, rolled back, or discarded with an outer level.
    fn is_finished(&self) -> BoxFuture<'_, bool>;
    /// 0 for a transaction, 1 for a savepoint in it, and so on.
    fn depth(&self) -> usize;
    fn as_any(&self) -> &dyn Any;
}

/// One level of an open transaction of backend `B`, shared by every store call made on it.
pub(crate) struct TxCell<B: Backend> {
    shared: Arc<Shared<B>>,
    /// The index of this level in [`TxState::levels`].
    depth: usize,
    /// Tells this level from a later one at the same depth.
    id: u64,
}

/// What every level of one transaction shares.
struct Shared<B: Backend> {
    state: Mutex<TxState<B>>,
    db: Db<B>,
    /// The clock of every write in the transaction, as PostgreSQL's `now()` is its start time
    /// (used by backends that bind the clock).
    now: DateTime<Utc>,
    /// Run on the connection before the transaction ends, undoing what `begin` set on it.
    reset: Option<&'static str>,
    next_id: AtomicU64,
    /// Savepoint levels whose handles were dropped while open: rolled back before the next
    /// statement, as a drop cannot wait for the database.
    abandoned: std::sync::Mutex<Vec<u64>>,
}

pub(crate) struct TxState<B: Backend> {
    /// `None` once committed or rolled back.
    tx: Option<sqlx::Transaction<'static, B::Database>>,
    /// The transaction, then each open savepoint, innermost last.
    levels: Vec<Level>,
    /// Events of the writes so far ([`Events::InProcess`](super::Events::InProcess)), logged on
    /// commit, dropped on rollback (of the level that wrote them).
    events: Vec<DatabaseEvent>,
}

struct Level {
    id: u64,
    /// A statement failed in this level. PostgreSQL aborts the level, so a `COMMIT` would
    /// silently roll back; SQLite would carry on. Both refuse to commit it, so code behaves the
    /// same on either; rolling a savepoint back makes its outer level usable again.
    aborted: bool,
    /// How many of `events` were written before this level began.
    events_from: usize,
}

impl<B: Backend> TxCell<B> {
    /// Starts a transaction on a connection of `db` with the database's default options.
    pub(crate) async fn begin(db: &Db<B>) -> Result<Self, StoreError> {
        Self::begin_with(db, &TransactionOptions::default()).await
    }

    /// Starts a transaction on a connection of `db`.
    pub(crate) async fn begin_with(db: &Db<B>, options: &TransactionOptions) -> Result<Self, StoreError> {
        let tx = B::begin(&db.pool, options).await?;
        let state =
            TxState { tx: Some(tx), levels: vec![Level { id: 0, aborted: false, events_from: 0 }], events: Vec::new() };
        let shared = Shared {
            state: Mutex::new(state),
            db: db.clone(),
            now: now(),
            reset: B::end_statement(options),
            next_id: AtomicU64::new(1),
            abandoned: std::sync::Mutex::default(),
        };
        Ok(TxCell { shared: Arc::new(shared), depth: 0, id: 0 })
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.shared.now
    }

    /// The transaction's state, once savepoints abandoned since the last call are rolled back.
    async fn lock(&self) -> Result<MutexGuard<'_, TxState<B>>, StoreError> {
        let mut state = self.shared.state.lock().await;
        let abandoned = std::mem::take(&mut *self.shared.abandoned.lock().unwrap_or_else(PoisonError::into_inner));
        if let Some(depth) = state.levels.iter().position(|level| abandoned.contains(&level.id)) {
            state.rollback_to(depth).await?;
        }
        Ok(state)
    }

    /// The state, when this level is the innermost open one: the one statements may run on.
    pub(crate) async fn current(&self) -> Result<MutexGuard<'_, TxState<B>>, StoreError> {
        let state = self.lock().await?;
        state.check_current(self)?;
        Ok(state)
    }

    /// Marks the innermost level as failed: it can no longer commit.
    pub(crate) async fn mark_aborted(&self) {
        self.shared.state.lock().await.abort();
    }

    /// Keeps the events of a write until the transaction commits.
    /// The pool the transaction runs on.
    pub(crate) fn db(&self) -> &Db<B> {
        &self.shared.db
    }

    pub(crate) async fn record(&self, events: Vec<DatabaseEvent>) {
        self.shared.state.lock().await.events.extend(events);
    }

    async fn begin_nested(&self) -> Result<Self, StoreError> {
        let mut state = self.current().await?;
        let depth = state.levels.len();
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        state.execute(&savepoint("SAVEPOINT", depth)).await?;
        let events_from = state.events.len();
        state.levels.push(Level { id, aborted: false, events_from });
        Ok(TxCell { shared: self.shared.clone(), depth, id })
    }

    pub(crate) async fn commit(&self) -> Result<(), StoreError> {
        let mut state = self.lock().await?;
        state.check_current(self)?;
        if self.depth > 0 {
            return state.release(self.depth).await;
        }
        if let Some(reset) = self.shared.reset {
            state.execute(reset).await?;
        }
        let tx = state.tx.take().ok_or_else(finished)?;
        let events = std::mem::take(&mut state.events);
        if state.levels[0].aborted {
            tx.rollback().await.map_err(B::error)?;
            return Err(StoreError::Transaction(
                "rolled back instead of committed: a statement in the transaction failed".into(),
            ));
        }
        tx.commit().await.map_err(B::error)?;
        if let (Some(log), false) = (&self.shared.db.log, events.is_empty()) {
            log.append_committed(events);
        }
        Ok(())
    }

    /// Rolls this level back, with every savepoint still open inside it.
    pub(crate) async fn rollback(&self) -> Result<(), StoreError> {
        let mut state = self.lock().await?;
        if !state.is_open(self) {
            return Err(finished());
        }
        if self.depth > 0 {
            return state.rollback_to(self.depth).await;
        }
        state.events.clear();
        if let Some(reset) = self.shared.reset {
            // The rollback below ends the transaction whether or not this ran.
            let _ = state.execute(reset).await;
        }
        let tx = state.tx.take().ok_or_else(finished)?;
        tx.rollback().await.map_err(B::error)
    }
}

impl<B: Backend> TxState<B> {
    /// The transaction's connection.
    pub(crate) fn connection(&mut self) -> Result<&mut Connection<B>, StoreError> {
        Ok(&mut **self.tx.as_mut().ok_or_else(finished)?)
    }

    /// Marks the innermost level as failed.
    pub(crate) fn abort(&mut self) {
        if let Some(level) = self.levels.last_mut() {
            level.aborted = true;
        }
    }

    fn is_open(&self, cell: &TxCell<B>) -> bool {
        self.tx.is_some() && self.levels.get(cell.depth).is_some_and(|level| level.id == cell.id)
    }

    fn check_current(&self, cell: &TxCell<B>) -> Result<(), StoreError> {
        if !self.is_open(cell) {
            return Err(finished());
        }
        if self.levels.len() > cell.depth + 1 {
            return Err(StoreError::Transaction(
                "a nested transaction (savepoint) of this transaction is open: use it, or commit or roll it back first"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Releases the savepoint of level `depth`, the innermost: its work becomes its outer
    /// level's. A failed level is rolled back instead.
    async fn release(&mut self, depth: usize) -> Result<(), StoreError> {
        if self.levels[depth].aborted {
            self.rollback_to(depth).await?;
            return Err(StoreError::Transaction(
                "rolled back instead of committed: a statement in the savepoint failed".into(),
            ));
        }
        self.levels.truncate(depth);
        if let Err(error) = self.execute(&savepoint("RELEASE SAVEPOINT", depth)).await {
            // The savepoint's fate is unknown: the transaction must not commit on top of it.
            self.abort();
            return Err(error);
        }
        Ok(())
    }

    /// Rolls back to the savepoint of level `depth` (`depth > 0`), discarding the levels from
    /// there on and their events; the outer level is usable again.
    async fn rollback_to(&mut self, depth: usize) -> Result<(), StoreError> {
        let events_from = self.levels[depth].events_from;
        self.levels.truncate(depth);
        self.events.truncate(events_from);
        let undone = async {
            self.execute(&savepoint("ROLLBACK TO SAVEPOINT", depth)).await?;
            self.execute(&savepoint("RELEASE SAVEPOINT", depth)).await
        };
        if let Err(error) = undone.await {
            self.abort();
            return Err(error);
        }
        Ok(())
    }

    /// Runs a statement of the transaction's own (no parameters, no user text).
    async fn execute(&mut self, sql: &str) -> Result<(), StoreError> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        sqlx::raw_sql(sql).execute(B::on_connection(self.connection()?)).await.map_err(B::error)?;
        Ok(())
    }
}

/// A savepoint statement: the name is generated from the level's depth, never from user text.
fn savepoint(verb: &str, depth: usize) -> String {
    format!("{verb} storehaus_savepoint_{depth}")
}

impl<B: Backend> TxHandle for TxCell<B> {
    fn commit(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(TxCell::commit(self))
    }

    fn rollback(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(TxCell::rollback(self))
    }

    fn begin_nested(&self) -> BoxFuture<'_, Result<Arc<dyn TxHandle>, StoreError>> {
        Box::pin(async { Ok(Arc::new(TxCell::begin_nested(self).await?) as Arc<dyn TxHandle>) })
    }

    fn publish<'a>(&'a self, channel: &'a str, payload: serde_json::Value) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(Executor::Tx(self).publish(channel, payload))
    }

    fn mark_handled<'a>(&'a self, consumer: &'a str, event_id: i64) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(Executor::Tx(self).mark_handled(consumer, event_id))
    }

    fn is_finished(&self) -> BoxFuture<'_, bool> {
        Box::pin(async { self.lock().await.map_or(true, |state| !state.is_open(self)) })
    }

    fn depth(&self) -> usize {
        self.depth
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl<B: Backend> Drop for TxCell<B> {
    fn drop(&mut self) {
        // A transaction's own drop is sqlx's (below); a savepoint is rolled back by the next call
        // on the transaction, or with it.
        if self.depth > 0 {
            self.shared.abandoned.lock().unwrap_or_else(PoisonError::into_inner).push(self.id);
        }
    }
}

impl<B: Backend> Drop for Shared<B> {
    fn drop(&mut self) {
        // Dropped without commit or rollback: sqlx rolls the transaction back when its connection
        // returns to the pool, but a setting `begin` made on the connection must be undone first,
        // on the runtime, as it outlives the transaction.
        let (Some(reset), Some(mut tx)) = (self.reset, self.state.get_mut().tx.take()) else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        runtime.spawn(async move {
            let _ = sqlx::raw_sql(reset).execute(B::on_connection(&mut tx)).await;
            let _ = tx.rollback().await;
        });
    }
}

impl<B: Backend> fmt::Debug for TxCell<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxCell").field("backend", &B::NAME).field("depth", &self.depth).finish_non_exhaustive()
    }
}

/// The error for a statement on a transaction that already ended.
pub(crate) fn finished() -> StoreError {
    StoreError::Transaction("the transaction was already committed or rolled back".into())
}

/// Reads an open transaction of `B` out of a handle; `Err` when the transaction belongs to
/// another backend's pool.
pub(crate) fn tx_cell<B: Backend>(tx: &dyn TxHandle) -> Result<&TxCell<B>, StoreError> {
    tx.as_any().downcast_ref::<TxCell<B>>().ok_or_else(|| {
        StoreError::Transaction(format!("the transaction is not on this store's {} database", B::NAME).into())
    })
}
