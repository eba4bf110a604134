//! Transactions: store calls on one connection, committed or rolled back together.

use crate::backend::{DbPool, TxHandle};
use crate::error::{Result, StoreError};
use crate::signals::BoxFuture;
use crate::signals::Channel;
use std::fmt;
use std::sync::{Arc, Mutex};

/// An open database transaction.
///
/// Cheap to clone; every clone is the same transaction. Hand it to stores with
/// [`GenericStore::with_transaction`](crate::GenericStore::with_transaction). Dropping the last
/// clone without [`Transaction::commit`] rolls it back, so a cancelled task never leaves a
/// half-done transaction behind.
#[derive(Clone)]
pub struct Transaction {
    handle: Arc<dyn TxHandle>,
    after_commit: Arc<Mutex<Vec<AfterCommit>>>,
}

/// Work that must wait until the transaction's writes are visible to everyone (cache
/// invalidation): run after a successful commit, dropped on rollback.
pub(crate) type AfterCommit = Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send>;

impl Transaction {
    /// Starts a transaction on a connection of `pool`.
    pub async fn begin(pool: &DbPool) -> Result<Self> {
        Ok(Transaction { handle: pool.begin().await?, after_commit: Arc::default() })
    }

    pub(crate) fn handle(&self) -> &dyn TxHandle {
        &*self.handle
    }

    /// Runs `work` after this transaction commits; never if it rolls back.
    pub(crate) fn after_commit(&self, work: AfterCommit) {
        self.pending().push(work);
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Vec<AfterCommit>> {
        // A panic while holding the lock leaves a plain Vec behind, still usable.
        self.after_commit.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes every write of the transaction permanent.
    pub async fn commit(self) -> Result<()> {
        let committed = self.handle.commit().await;
        let pending = std::mem::take(&mut *self.pending());
        if committed.is_ok() {
            for work in pending {
                work().await;
            }
        }
        committed
    }

    /// Discards every write of the transaction.
    pub async fn rollback(self) -> Result<()> {
        self.pending().clear();
        self.handle.rollback().await
    }

    /// Publishes `data` on a signal channel as part of this transaction: subscribers in every
    /// process receive it if, and only after, the transaction commits.
    ///
    /// The database needs the event log, which [`StoreHaus::signal_manager`](crate::StoreHaus::signal_manager) creates.
    pub async fn publish<T: serde::Serialize>(&self, channel: &Channel<T>, data: &T) -> Result<()> {
        let payload = channel.envelope(data).to_json().map_err(|e| StoreError::Signal(e.to_string()))?;
        self.handle.publish(channel.name(), payload).await
    }

    /// Whether it was committed or rolled back already.
    pub async fn is_finished(&self) -> bool {
        self.handle.is_finished().await
    }
}

impl fmt::Debug for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction").finish_non_exhaustive()
    }
}
