//! `begin_with` / `transaction_with`: isolation levels and read-only transactions.

use super::*;

fn read_only() -> TransactionOptions {
    TransactionOptions::new().read_only()
}

on_both_backends! {
    async fn a_write_in_a_read_only_transaction_fails_and_changes_nothing(db) {
        let (storehaus, store) = setup(&db).await;
        let ada = store.create(entry("ada", 1), None).await.unwrap();

        let tx = storehaus.begin_with(read_only()).await.unwrap();
        let in_tx = store.with_transaction(&tx);
        assert_eq!(in_tx.count().await.unwrap(), 1, "reads work");
        let err = in_tx.create(entry("bob", 2), None).await.unwrap_err();
        assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
        tx.rollback().await.unwrap();

        let tx = storehaus.begin_with(read_only()).await.unwrap();
        let err = store.with_transaction(&tx).update(&ada.id, entry("ada", 99), None).await.unwrap_err();
        assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
        assert!(tx.commit().await.is_err(), "a transaction whose write failed does not commit");

        // The closure form, with a delete.
        let result = storehaus
            .transaction_with(read_only(), |tx| {
                let store = store.clone();
                async move { store.with_transaction(&tx).delete(&ada.id).await }
            })
            .await;
        assert!(matches!(result, Err(StoreError::ReadOnly { .. })), "{result:?}");
        assert_eq!(committed(&storehaus).await, ["ada"]);
        let balance: Vec<(i64,)> = rows(&storehaus, r#"SELECT "balance" FROM "ledger""#).await;
        assert_eq!(balance, [(1,)]);

        // Connections that held read-only transactions write again afterwards.
        let writers: Vec<_> = (0..6)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move { store.create(entry(&format!("w{i}"), i), None).await })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
        assert_eq!(committed(&storehaus).await.len(), 7);
    }

    async fn a_dropped_read_only_transaction_leaves_its_connection_writable(db) {
        let (storehaus, store) = setup(&db).await;
        for _ in 0..3 {
            let tx = storehaus.begin_with(read_only()).await.unwrap();
            assert_eq!(store.with_transaction(&tx).count().await.unwrap(), 0);
            drop(tx);
        }
        assert_eq!(transactions_left_open::<B>(&storehaus).await, 0);
        // Every pooled connection, including those the dropped transactions held, writes.
        let writers: Vec<_> = (0..6)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move { store.create(entry(&format!("w{i}"), i), None).await })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
        let tx = storehaus.begin().await.unwrap();
        store.with_transaction(&tx).create(entry("in_tx", 0), None).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(committed(&storehaus).await.len(), 7);
    }

    /// A repeatable-read transaction reads one snapshot: a row committed by another connection
    /// after its first read stays invisible to it. (Read-only, so that on SQLite the other
    /// connection can write meanwhile: a SQLite write transaction holds the write lock.)
    async fn repeatable_read_sees_one_snapshot(db) {
        let (storehaus, store) = setup(&db).await;
        store.create(entry("ada", 1), None).await.unwrap();
        let options = TransactionOptions::new().isolation(IsolationLevel::RepeatableRead).read_only();
        let tx = storehaus.begin_with(options).await.unwrap();
        let in_tx = store.with_transaction(&tx);
        assert_eq!(in_tx.count().await.unwrap(), 1);
        store.create(entry("bob", 2), None).await.unwrap();
        assert_eq!(committed(&storehaus).await, ["ada", "bob"], "bob is committed");
        assert_eq!(in_tx.count().await.unwrap(), 1, "the snapshot does not see bob");
        assert_eq!(in_tx.list_all().await.unwrap().len(), 1);
        tx.commit().await.unwrap();
    }

    async fn every_isolation_level_runs_store_calls(db) {
        let (storehaus, store) = setup(&db).await;
        for (i, level) in
            [IsolationLevel::ReadCommitted, IsolationLevel::RepeatableRead, IsolationLevel::Serializable]
                .into_iter()
                .enumerate()
        {
            let options = TransactionOptions::new().isolation(level);
            storehaus
                .transaction_with(options, |tx| {
                    let store = store.clone();
                    async move {
                        let created = store.with_transaction(&tx).create(entry(&format!("e{i}"), 0), None).await?;
                        store.with_transaction(&tx).update(&created.id, entry(&format!("e{i}"), 5), None).await
                    }
                })
                .await
                .unwrap();
        }
        assert_eq!(committed(&storehaus).await, ["e0", "e1", "e2"]);
        let balances: Vec<(i64,)> = rows(&storehaus, r#"SELECT "balance" FROM "ledger""#).await;
        assert_eq!(balances, [(5,), (5,), (5,)]);
    }
}

/// PostgreSQL: a read-committed transaction sees what others committed after its first read;
/// a repeatable-read one that writes does not.
#[tokio::test]
async fn read_committed_sees_new_commits_and_repeatable_read_does_not() {
    let Some(db) = storehaus::testing::TestDatabase::new().await else { return };
    let (storehaus, store) = setup(&db).await;
    store.create(entry("ada", 1), None).await.unwrap();
    let read_committed =
        storehaus.begin_with(TransactionOptions::new().isolation(IsolationLevel::ReadCommitted)).await.unwrap();
    let repeatable =
        storehaus.begin_with(TransactionOptions::new().isolation(IsolationLevel::RepeatableRead)).await.unwrap();
    assert_eq!(store.with_transaction(&read_committed).count().await.unwrap(), 1);
    assert_eq!(store.with_transaction(&repeatable).count().await.unwrap(), 1);
    store.create(entry("bob", 2), None).await.unwrap();
    assert_eq!(store.with_transaction(&read_committed).count().await.unwrap(), 2);
    assert_eq!(store.with_transaction(&repeatable).count().await.unwrap(), 1);
    store.with_transaction(&repeatable).create(entry("cy", 3), None).await.unwrap();
    read_committed.commit().await.unwrap();
    repeatable.commit().await.unwrap();
    assert_eq!(committed(&storehaus).await, ["ada", "bob", "cy"]);
}

/// PostgreSQL: two serializable transactions that each read both rows and write one (write
/// skew) cannot both commit; the loser gets SQLSTATE 40001, a transient error, and a retry of
/// the whole transaction succeeds.
#[tokio::test]
async fn conflicting_serializable_transactions_surface_a_transient_error() {
    let Some(db) = storehaus::testing::TestDatabase::new().await else { return };
    let (storehaus, store) = setup(&db).await;
    let ada = store.create(entry("ada", 10), None).await.unwrap();
    let bob = store.create(entry("bob", 10), None).await.unwrap();
    let serializable = TransactionOptions::new().isolation(IsolationLevel::Serializable);

    let first = storehaus.begin_with(serializable).await.unwrap();
    let second = storehaus.begin_with(serializable).await.unwrap();
    let (in_first, in_second) = (store.with_transaction(&first), store.with_transaction(&second));
    let total = |records: Vec<Record<Entry>>| records.iter().map(|r| r.balance).sum::<i64>();
    assert_eq!(total(in_first.list_all().await.unwrap()), 20);
    assert_eq!(total(in_second.list_all().await.unwrap()), 20);
    in_first.update(&ada.id, entry("ada", 0), None).await.unwrap();
    let second_update = in_second.update(&bob.id, entry("bob", 0), None).await.map(drop);
    let first_commit = first.commit().await;
    let second_commit = match second_update {
        Ok(()) => second.commit().await,
        Err(error) => Err(error),
    };
    let failures: Vec<StoreError> = [first_commit, second_commit].into_iter().filter_map(Result::err).collect();
    assert_eq!(failures.len(), 1, "exactly one transaction loses: {failures:?}");
    assert_eq!(failures[0].sqlstate(), Some("40001"), "{failures:?}");
    assert!(failures[0].is_transient(), "{failures:?}");
    let balances: Vec<(String, i64)> =
        rows(&storehaus, r#"SELECT "owner", "balance" FROM "ledger" ORDER BY "owner""#).await;
    assert_eq!(balances.iter().map(|(_, b)| b).sum::<i64>(), 10, "exactly one of the two writes committed");

    // Retrying the loser's work in a fresh serializable transaction succeeds.
    let retried = storehaus
        .transaction_with(serializable, |tx| {
            let store = store.clone();
            async move {
                let in_tx = store.with_transaction(&tx);
                let total = total(in_tx.list_all().await?);
                assert_eq!(total, 10, "the retry sees the committed write");
                in_tx.update(&bob.id, entry("bob", 5), None).await
            }
        })
        .await;
    assert!(retried.is_ok(), "{retried:?}");
}
