//! Transactions: store calls on one connection, committed or rolled back together.

use crate::app::StoreHaus;
use crate::backend::{DbPool, TxState};
use crate::error::{Result, StoreError};
use crate::signals::Channel;
use std::fmt;
use std::sync::Arc;

/// An open database transaction.
///
/// Cheap to clone; every clone is the same transaction. Hand it to stores with
/// [`GenericStore::with_transaction`](crate::GenericStore::with_transaction). Dropping the last
/// clone without [`Transaction::commit`] rolls it back, so a cancelled task never leaves a
/// half-done transaction behind.
#[derive(Clone)]
pub struct Transaction {
    state: Arc<TxState>,
}

impl Transaction {
    /// Starts a transaction on a connection of `pool`.
    pub async fn begin(pool: &DbPool) -> Result<Self> {
        Ok(Transaction { state: Arc::new(pool.begin().await?) })
    }

    pub(crate) fn state(&self) -> &TxState {
        &self.state
    }

    /// Makes every write of the transaction permanent.
    pub async fn commit(self) -> Result<()> {
        self.state.commit().await
    }

    /// Discards every write of the transaction.
    pub async fn rollback(self) -> Result<()> {
        self.state.rollback().await
    }

    /// Publishes `data` on a signal channel as part of this transaction: subscribers in every
    /// process receive it if, and only after, the transaction commits.
    ///
    /// The database needs the event log, which [`StoreHaus::signal_manager`] creates.
    pub async fn publish<T: serde::Serialize>(&self, channel: &Channel<T>, data: &T) -> Result<()> {
        let payload = channel.envelope(data).to_json().map_err(|e| StoreError::Signal(e.to_string()))?;
        self.state.publish(channel.name(), payload).await
    }

    /// Whether it was committed or rolled back already.
    pub async fn is_finished(&self) -> bool {
        self.state.is_finished().await
    }
}

impl fmt::Debug for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction").finish_non_exhaustive()
    }
}

impl StoreHaus {
    /// Starts a transaction; commit or roll it back explicitly.
    pub async fn begin(&self) -> Result<Transaction> {
        Transaction::begin(self.pool()).await
    }

    /// Runs `work` in a transaction: commits when it returns `Ok`, rolls back when it returns `Err`
    /// (or is cancelled).
    ///
    /// ```no_run
    /// # use storehaus::prelude::*;
    /// # #[model] #[table(name = "accounts")] pub struct Account { #[primary_key] pub id: Uuid, pub balance: i64 }
    /// # async fn run(storehaus: StoreHaus, accounts: GenericStore<Account>, a: Account, b: Account) -> Result<(), StoreError> {
    /// storehaus
    ///     .transaction(|tx| async move {
    ///         let accounts = accounts.with_transaction(&tx);
    ///         accounts.create(a, None).await?;
    ///         accounts.create(b, None).await?;
    ///         Ok::<_, StoreError>(())
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn transaction<F, Fut, R, E>(&self, work: F) -> std::result::Result<R, E>
    where
        F: FnOnce(Transaction) -> Fut,
        Fut: Future<Output = std::result::Result<R, E>>,
        E: From<StoreError>,
    {
        let tx = self.begin().await?;
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
}
