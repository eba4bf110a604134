//! `Transaction::begin_nested` and `Transaction::transaction`: savepoints.

use super::*;

on_both_backends! {
    async fn a_rolled_back_savepoint_keeps_the_outer_work(db) {
        let (storehaus, store) = setup(&db).await;
        let tx = storehaus.begin().await.unwrap();
        store.with_transaction(&tx).create(entry("ada", 1), None).await.unwrap();

        let inner = tx.begin_nested().await.unwrap();
        assert_eq!((tx.depth(), inner.depth()), (0, 1));
        let in_inner = store.with_transaction(&inner);
        in_inner.create(entry("bob", 2), None).await.unwrap();
        assert_eq!(in_inner.count().await.unwrap(), 2, "the savepoint sees the outer work and its own");
        inner.rollback().await.unwrap();

        let outer = store.with_transaction(&tx);
        assert_eq!(outer.count().await.unwrap(), 1, "only the savepoint's work was undone");
        outer.create(entry("cy", 3), None).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(committed(&storehaus).await, ["ada", "cy"]);
    }

    async fn the_outer_rollback_discards_a_released_savepoint(db) {
        let (storehaus, store) = setup(&db).await;
        let tx = storehaus.begin().await.unwrap();
        store.with_transaction(&tx).create(entry("ada", 1), None).await.unwrap();
        let inner = tx.begin_nested().await.unwrap();
        store.with_transaction(&inner).create(entry("bob", 2), None).await.unwrap();
        inner.commit().await.unwrap();
        assert_eq!(store.with_transaction(&tx).count().await.unwrap(), 2, "released into the outer transaction");
        assert!(committed(&storehaus).await.is_empty(), "a released savepoint is not committed");
        tx.rollback().await.unwrap();
        assert!(committed(&storehaus).await.is_empty());
        assert_eq!(transactions_left_open::<B>(&storehaus).await, 0);
    }

    async fn the_closure_form_nests_savepoints(db) {
        let (storehaus, store) = setup(&db).await;
        let result = storehaus
            .transaction(|tx| {
                let store = store.clone();
                async move {
                    store.with_transaction(&tx).create(entry("ada", 1), None).await?;
                    // Kept: the inner closure returns Ok, with a savepoint of its own rolled back.
                    tx.transaction(|inner| {
                        let store = store.clone();
                        async move {
                            store.with_transaction(&inner).create(entry("bob", 2), None).await?;
                            let deeper: Result<(), StoreError> = inner
                                .transaction(|deepest| {
                                    let store = store.clone();
                                    async move {
                                        assert_eq!(deepest.depth(), 2);
                                        store.with_transaction(&deepest).create(entry("dan", 4), None).await?;
                                        Err(StoreError::validation("owner", "rejected"))
                                    }
                                })
                                .await;
                            assert!(deeper.is_err());
                            Ok::<_, StoreError>(())
                        }
                    })
                    .await?;
                    // Undone: the inner closure returns Err, which the outer one handles.
                    let undone: Result<(), StoreError> = tx
                        .transaction(|inner| {
                            let store = store.clone();
                            async move {
                                store.with_transaction(&inner).create(entry("cy", 3), None).await?;
                                Err(StoreError::validation("owner", "rejected"))
                            }
                        })
                        .await;
                    assert!(undone.is_err());
                    store.with_transaction(&tx).count().await
                }
            })
            .await
            .unwrap();
        assert_eq!(result, 2);
        assert_eq!(committed(&storehaus).await, ["ada", "bob"]);

        // A savepoint released inside a closure that then fails is undone with it.
        let failed: Result<(), StoreError> = storehaus
            .transaction(|tx| {
                let store = store.clone();
                async move {
                    tx.transaction(|inner| async move {
                        store.with_transaction(&inner).create(entry("eve", 5), None).await
                    })
                    .await?;
                    Err(StoreError::validation("owner", "rejected"))
                }
            })
            .await;
        assert!(failed.is_err());
        assert_eq!(committed(&storehaus).await, ["ada", "bob"]);
    }

    async fn the_outer_transaction_refuses_calls_while_a_savepoint_is_open(db) {
        let (storehaus, store) = setup(&db).await;
        let tx = storehaus.begin().await.unwrap();
        let outer = store.with_transaction(&tx);
        outer.create(entry("ada", 1), None).await.unwrap();
        let inner = tx.begin_nested().await.unwrap();

        let err = outer.create(entry("bob", 2), None).await.unwrap_err();
        assert!(matches!(err, StoreError::Transaction(_)), "{err:?}");
        let err = outer.count().await.unwrap_err();
        assert!(matches!(err, StoreError::Transaction(_)), "{err:?}");
        let err = tx.begin_nested().await.unwrap_err();
        assert!(matches!(err, StoreError::Transaction(_)), "a second savepoint beside the open one: {err:?}");
        let err = tx.clone().commit().await.unwrap_err();
        assert!(matches!(err, StoreError::Transaction(_)), "committing around an open savepoint: {err:?}");
        assert!(!tx.is_finished().await, "the refused commit changed nothing");

        store.with_transaction(&inner).create(entry("cy", 3), None).await.unwrap();
        inner.commit().await.unwrap();
        outer.create(entry("dee", 4), None).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(committed(&storehaus).await, ["ada", "cy", "dee"]);
    }

    async fn rolling_back_the_outer_transaction_ends_its_open_savepoints(db) {
        let (storehaus, store) = setup(&db).await;
        let tx = storehaus.begin().await.unwrap();
        let inner = tx.begin_nested().await.unwrap();
        let in_inner = store.with_transaction(&inner);
        in_inner.create(entry("ada", 1), None).await.unwrap();
        tx.clone().rollback().await.unwrap();
        assert!(inner.is_finished().await);
        let err = in_inner.count().await.unwrap_err();
        assert!(matches!(err, StoreError::Transaction(_)), "{err:?}");
        let err = inner.commit().await.unwrap_err();
        assert!(matches!(err, StoreError::Transaction(_)), "{err:?}");
        assert!(committed(&storehaus).await.is_empty());

        // Rolling a savepoint back also ends the savepoints opened inside it.
        let tx = storehaus.begin().await.unwrap();
        let middle = tx.begin_nested().await.unwrap();
        let deepest = middle.begin_nested().await.unwrap();
        store.with_transaction(&deepest).create(entry("bob", 2), None).await.unwrap();
        middle.rollback().await.unwrap();
        assert!(deepest.is_finished().await);
        assert!(!tx.is_finished().await);
        store.with_transaction(&tx).create(entry("cy", 3), None).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(committed(&storehaus).await, ["cy"]);
    }

    async fn a_dropped_savepoint_rolls_back_to_where_it_began(db) {
        let (storehaus, store) = setup(&db).await;
        let tx = storehaus.begin().await.unwrap();
        store.with_transaction(&tx).create(entry("ada", 1), None).await.unwrap();
        {
            let inner = tx.begin_nested().await.unwrap();
            let in_inner = store.with_transaction(&inner);
            in_inner.create(entry("bob", 2), None).await.unwrap();
            // Neither committed nor rolled back: both handles go out of scope here.
        }
        let outer = store.with_transaction(&tx);
        assert_eq!(outer.count().await.unwrap(), 1, "the dropped savepoint's work is gone");
        // A savepoint abandoned by a cancelled closure is rolled back the same way.
        let cancelled = tx.transaction(|inner| {
            let store = store.clone();
            async move {
                store.with_transaction(&inner).create(entry("cy", 3), None).await?;
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok::<_, StoreError>(())
            }
        });
        assert!(tokio::time::timeout(Duration::from_millis(300), cancelled).await.is_err());
        outer.create(entry("dee", 4), None).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(committed(&storehaus).await, ["ada", "dee"]);
        assert_eq!(transactions_left_open::<B>(&storehaus).await, 0);
    }

    /// PostgreSQL aborts the transaction at a failed statement; rolling back to the savepoint
    /// makes it usable again. SQLite behaves the same through StoreHaus.
    async fn a_failed_statement_in_a_savepoint_leaves_the_outer_transaction_usable(db) {
        let (storehaus, store) = setup(&db).await;
        let tx = storehaus.begin().await.unwrap();
        let outer = store.with_transaction(&tx);
        outer.create(entry("ada", 1), None).await.unwrap();

        let inner = tx.begin_nested().await.unwrap();
        let in_inner = store.with_transaction(&inner);
        in_inner.create(entry("bob", 2), None).await.unwrap();
        let err = in_inner.create(entry("ada", 9), None).await.unwrap_err();
        assert!(matches!(err, StoreError::UniqueViolation { .. }), "{err:?}");
        if B::NAME == "postgres" {
            let err = in_inner.count().await.unwrap_err();
            assert_eq!(err.sqlstate(), Some("25P02"), "{err:?}");
        }
        let err = inner.commit().await.unwrap_err();
        assert!(matches!(err, StoreError::Transaction(_)), "a failed savepoint rolls back instead: {err:?}");

        assert_eq!(outer.count().await.unwrap(), 1, "the outer transaction works again, without bob");
        // The same failure, rolled back explicitly.
        let inner = tx.begin_nested().await.unwrap();
        let in_inner = store.with_transaction(&inner);
        assert!(in_inner.create(entry("ada", 9), None).await.is_err());
        inner.rollback().await.unwrap();
        outer.create(entry("cy", 3), None).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(committed(&storehaus).await, ["ada", "cy"]);
    }
}

/// `storehaus.transaction` (and `begin`) inside a transaction start an independent transaction
/// on another connection: its commit stands when the outer one rolls back. PostgreSQL only, as a
/// second SQLite write transaction waits for the first.
#[tokio::test]
async fn storehaus_transaction_inside_a_transaction_is_independent() {
    let Some(db) = storehaus::testing::TestDatabase::new().await else { return };
    let (storehaus, store) = setup(&db).await;
    let storehaus = std::sync::Arc::new(storehaus);
    let result: Result<(), StoreError> = storehaus
        .transaction(|tx| {
            let (storehaus, store) = (storehaus.clone(), store.clone());
            async move {
                store.with_transaction(&tx).create(entry("ada", 1), None).await?;
                storehaus
                    .transaction(|independent| async move {
                        assert_eq!(independent.depth(), 0);
                        store.with_transaction(&independent).create(entry("bob", 2), None).await
                    })
                    .await?;
                Err(StoreError::validation("owner", "rejected"))
            }
        })
        .await;
    assert!(result.is_err());
    assert_eq!(committed(&storehaus).await, ["bob"]);
}
