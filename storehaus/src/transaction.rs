//! Transactions: store calls on one connection, committed or rolled back together; savepoints
//! nested inside them.

use crate::backend::{DbPool, TransactionOptions, TxHandle};
use crate::error::{Result, StoreError};
use crate::resilience::{RetryPolicy, Transient};
use crate::signals::BoxFuture;
use crate::signals::Channel;
use std::fmt;
use std::sync::{Arc, Mutex};

/// An open database transaction, or a savepoint nested in one.
///
/// Cheap to clone; every clone is the same transaction. Hand it to stores with
/// [`GenericStore::with_transaction`](crate::GenericStore::with_transaction). Dropping the last
/// clone without [`Transaction::commit`] rolls it back, so a cancelled task never leaves a
/// half-done transaction behind.
///
/// [`Transaction::begin_nested`] and [`Transaction::transaction`] open a savepoint: a
/// `Transaction` whose commit keeps its work as part of the outer transaction and whose rollback
/// undoes only its own work. While it is open, store calls run on it; calls on the outer
/// transaction fail with [`StoreError::Transaction`] until it ends.
#[derive(Clone)]
pub struct Transaction {
    handle: Arc<dyn TxHandle>,
    after_commit: Arc<Mutex<Vec<AfterCommit>>>,
    /// For a savepoint, the outer level's after-commit work, which a release hands its own to.
    outer_after_commit: Option<Arc<Mutex<Vec<AfterCommit>>>>,
}

/// Work that must wait until the transaction's writes are visible to everyone (cache
/// invalidation): run after a successful commit, dropped on rollback.
pub(crate) type AfterCommit = Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send>;

impl Transaction {
    /// Starts a transaction on a connection of `pool`.
    pub async fn begin(pool: &DbPool) -> Result<Self> {
        Self::begin_with(pool, TransactionOptions::default()).await
    }

    /// Starts a transaction on a connection of `pool` with `options` (isolation level,
    /// read-only).
    pub async fn begin_with(pool: &DbPool, options: TransactionOptions) -> Result<Self> {
        Ok(Transaction { handle: pool.begin(&options).await?, after_commit: Arc::default(), outer_after_commit: None })
    }

    /// Opens a savepoint in this transaction, as sqlx's `Transaction::begin` does: the returned
    /// `Transaction` runs on the same connection.
    ///
    /// - Committing it keeps its work as part of this transaction (which may still roll it all
    ///   back); its cache invalidations and signals take effect when the outermost transaction
    ///   commits.
    /// - Rolling it back (or dropping it without commit) undoes its work only, including its
    ///   events and cache invalidations; this transaction carries on. After a failed statement
    ///   inside it, this is how the outer transaction becomes usable again on PostgreSQL.
    /// - While it is open, calls on this transaction fail with [`StoreError::Transaction`];
    ///   rolling this transaction back also rolls back the savepoint.
    pub async fn begin_nested(&self) -> Result<Self> {
        Ok(Transaction {
            handle: self.handle.begin_nested().await?,
            after_commit: Arc::default(),
            outer_after_commit: Some(self.after_commit.clone()),
        })
    }

    /// Runs `work` in a savepoint of this transaction ([`Transaction::begin_nested`]): releases
    /// it when `work` returns `Ok`, rolls back to it when `work` returns `Err` (or is cancelled),
    /// keeping this transaction's earlier work either way.
    pub async fn transaction<F, Fut, R, E>(&self, work: F) -> std::result::Result<R, E>
    where
        F: FnOnce(Transaction) -> Fut,
        Fut: Future<Output = std::result::Result<R, E>>,
        E: From<StoreError>,
    {
        run(self.begin_nested().await?, work).await
    }

    /// 0 for a transaction, 1 for a savepoint in it, 2 for a savepoint in that, and so on.
    pub fn depth(&self) -> usize {
        self.handle.depth()
    }

    pub(crate) fn handle(&self) -> &dyn TxHandle {
        &*self.handle
    }

    /// Runs `work` after this transaction commits; never if it rolls back.
    pub(crate) fn after_commit(&self, work: AfterCommit) {
        lock(&self.after_commit).push(work);
    }

    /// Makes every write of the transaction permanent; for a savepoint, part of the outer
    /// transaction.
    pub async fn commit(self) -> Result<()> {
        let committed = self.handle.commit().await;
        let pending = std::mem::take(&mut *lock(&self.after_commit));
        if committed.is_ok() {
            match &self.outer_after_commit {
                Some(outer) => lock(outer).extend(pending),
                None => {
                    for work in pending {
                        work().await;
                    }
                }
            }
        }
        committed
    }

    /// Discards every write of the transaction; for a savepoint, those made since it began.
    pub async fn rollback(self) -> Result<()> {
        lock(&self.after_commit).clear();
        self.handle.rollback().await
    }

    /// Publishes `data` on a signal channel as part of this transaction: subscribers in every
    /// process receive it if, and only after, the transaction commits.
    ///
    /// The database needs the event log, which [`StoreHaus::signal_manager`](crate::StoreHaus::signal_manager) creates.
    pub async fn publish<T: serde::Serialize>(&self, channel: &Channel<T>, data: &T) -> Result<()> {
        let payload = channel
            .envelope(data)
            .to_json()
            .map_err(|e| StoreError::Signal(format!("channel `{}`: {e}", channel.name())))?;
        self.handle.publish(channel.name(), payload).await
    }

    /// Records, as part of this transaction, that the durable consumer `consumer` handled
    /// `event`; `true` the first time, `false` when a transaction that committed recorded it
    /// before. A callback that makes its effects in the same transaction, and only when this
    /// returns `true`, makes them exactly once, however often the event is delivered:
    ///
    /// ```no_run
    /// # use storehaus::prelude::*;
    /// # use storehaus::signals::DatabaseEvent;
    /// # async fn handle(storehaus: &StoreHaus, event: DatabaseEvent) -> storehaus::Result<()> {
    /// let tx = storehaus.begin().await?;
    /// if tx.mark_handled("send-order-mail", &event).await? {
    ///     // ... record the mail in the outbox table, in `tx` ...
    /// }
    /// tx.commit().await
    /// # }
    /// ```
    ///
    /// The table it writes to comes with the event log on PostgreSQL, and with the first
    /// durable consumer registered on SQLite.
    pub async fn mark_handled(&self, consumer: &str, event: &crate::signals::DatabaseEvent) -> Result<bool> {
        self.handle.mark_handled(consumer, event.id).await
    }

    /// Whether it was committed or rolled back already (a savepoint also ends with a rollback
    /// of its outer transaction).
    pub async fn is_finished(&self) -> bool {
        self.handle.is_finished().await
    }
}

fn lock(work: &Mutex<Vec<AfterCommit>>) -> std::sync::MutexGuard<'_, Vec<AfterCommit>> {
    // A panic while holding the lock leaves a plain Vec behind, still usable.
    work.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `work` in `tx`: commits when it returns `Ok`, rolls back when it returns `Err`.
pub(crate) async fn run<F, Fut, R, E>(tx: Transaction, work: F) -> std::result::Result<R, E>
where
    F: FnOnce(Transaction) -> Fut,
    Fut: Future<Output = std::result::Result<R, E>>,
    E: From<StoreError>,
{
    match work(tx.clone()).await {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(error) => {
            // The work's error is the one to report; a failed rollback also ends the transaction.
            if let Err(rollback) = tx.rollback().await
                && !matches!(rollback, StoreError::Transaction(_))
            {
                tracing::warn!(error = %rollback, "rollback failed");
            }
            Err(error)
        }
    }
}

/// Runs `work` in a new transaction on `pool`, as [`run`] does, and runs it again from the
/// start (in a new transaction) after a transient failure, as `policy` allows.
///
/// A failure before the commit rolled the transaction back, so running it again is safe. A
/// commit is retried only when the database guarantees it did not happen: a serialization
/// failure or a deadlock (`40001`, `40P01`); a commit whose answer was lost may have committed.
pub(crate) async fn run_retrying<F, Fut, R, E>(
    pool: &DbPool,
    options: TransactionOptions,
    policy: &RetryPolicy,
    mut work: F,
) -> std::result::Result<R, E>
where
    F: FnMut(Transaction) -> Fut,
    Fut: Future<Output = std::result::Result<R, E>>,
    E: From<StoreError> + Transient,
{
    let counters = pool.retry_counters();
    let mut retry = policy.start();
    let mut attempt = async || -> std::result::Result<R, Failure<E>> {
        let tx = Transaction::begin_with(pool, options).await.map_err(|e| Failure::Retryable(E::from(e)))?;
        match work(tx.clone()).await {
            Ok(value) => match tx.commit().await {
                Ok(()) => Ok(value),
                Err(error) if matches!(error.sqlstate(), Some("40001" | "40P01")) => {
                    Err(Failure::Retryable(E::from(error)))
                }
                Err(error) => Err(Failure::Final(E::from(error))),
            },
            Err(error) => {
                if let Err(rollback) = tx.rollback().await
                    && !matches!(rollback, StoreError::Transaction(_))
                {
                    tracing::warn!(error = %rollback, "rollback failed");
                }
                Err(Failure::Retryable(error))
            }
        }
    };
    loop {
        let error = match attempt().await {
            Ok(value) => {
                if retry.attempts() > 1 {
                    counters.note_recovered();
                }
                return Ok(value);
            }
            Err(Failure::Retryable(error)) if error.is_transient() => error,
            Err(Failure::Retryable(error) | Failure::Final(error)) => return Err(error),
        };
        let Some(delay) = retry.next_delay() else {
            if policy.is_enabled() {
                counters.note_exhausted();
            }
            return Err(error);
        };
        counters.note_retry();
        tracing::debug!(
            attempt = retry.attempts(),
            delay_ms = delay.as_millis() as u64,
            "running a transaction again after a transient failure"
        );
        tokio::time::sleep(delay).await;
    }
}

/// How one attempt of [`run_retrying`] failed.
enum Failure<E> {
    /// Nothing committed: running again is safe if the error is transient.
    Retryable(E),
    /// The commit's outcome is unknown or the error is permanent.
    Final(E),
}

impl fmt::Debug for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction").field("depth", &self.depth()).finish_non_exhaustive()
    }
}

/// Applications spawn transactions on multi-threaded runtimes: their futures must be `Send`.
#[cfg(test)]
#[allow(dead_code)]
fn transaction_futures_are_send(storehaus: &crate::StoreHaus) {
    fn send<T: Send>(_: T) {}
    send(
        storehaus.transaction(|tx| async move { tx.depth().checked_sub(1).ok_or(StoreError::Transaction("".into())) }),
    );
    send(
        storehaus.transaction_retrying(|tx| async move {
            tx.depth().checked_sub(1).ok_or(StoreError::Transaction("".into()))
        }),
    );
}
