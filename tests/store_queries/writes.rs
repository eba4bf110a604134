//! Bulk writes: `update_where`, `delete_where`, `restore_where`, `force_delete_where`, and the
//! refusal of unbounded ones.

use super::*;

on_both_backends! {
    async fn bulk_writes_without_a_filter_are_refused_unless_all_rows(db) {
        let (storehaus, store) = products(&db).await;
        let before = raw_rows(&storehaus).await;

        let err = store.update_where(QueryBuilder::new(), UpdateSet::new().set("price", json!(0))).await.unwrap_err();
        assert!(matches!(&err, StoreError::UnboundedWrite { table } if table == "products"), "{err:?}");
        let err = store.delete_where(QueryBuilder::new()).await.unwrap_err();
        assert!(matches!(err, StoreError::UnboundedWrite { .. }), "{err:?}");
        let err = store.delete_where(QueryBuilder::new().order_by("id", SortOrder::Asc).limit(1)).await.unwrap_err();
        assert!(matches!(err, StoreError::UnboundedWrite { .. }), "a limit is not a filter: {err:?}");
        let err = store.delete_where(QueryBuilder::new().filter(QueryFilter::and(vec![]))).await.unwrap_err();
        assert!(matches!(err, StoreError::UnboundedWrite { .. }), "an empty AND is not a filter: {err:?}");
        let err = store.force_delete_where(QueryBuilder::new().with_deleted()).await.unwrap_err();
        assert!(matches!(err, StoreError::UnboundedWrite { .. }), "{err:?}");
        let err = store.restore_where(QueryBuilder::new()).await.unwrap_err();
        assert!(matches!(err, StoreError::UnboundedWrite { .. }), "{err:?}");
        assert_eq!(raw_rows(&storehaus).await, before, "nothing was written");

        let updated = store.update_where(QueryBuilder::new().all_rows(), UpdateSet::new().set("price", json!(1))).await;
        assert_eq!(updated.unwrap().len(), 5);
        assert!(raw_rows(&storehaus).await.iter().all(|r| r.2 == 1));
        assert_eq!(store.delete_where(QueryBuilder::new().all_rows()).await.unwrap(), 5);
        assert!(raw_rows(&storehaus).await.iter().all(|r| r.5.is_some()), "every row is soft-deleted");
        let restored = store.restore_where(QueryBuilder::new().all_rows()).await.unwrap();
        assert_eq!(ids(&restored), [1, 2, 3, 4, 5]);
        assert!(raw_rows(&storehaus).await.iter().all(|r| r.5.is_none()), "every row is back");
    }

    async fn update_where_sets_updated_at_returns_the_rows_and_skips_deleted_ones(db) {
        let (storehaus, store) = products(&db).await;
        store.delete(&2).await.unwrap();
        let before = raw_rows(&storehaus).await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let started = database_now::<B>(&storehaus).await;

        let fruit = QueryBuilder::new().filter(QueryFilter::eq("category", json!("fruit")));
        let updated =
            store.update_where(fruit, UpdateSet::new().set("name", json!("Fruit")).set("rating", json!(null)));
        let updated = updated.await.unwrap();
        assert_eq!(ids(&updated), [1], "the deleted fruit (2) is not updated");
        assert_eq!(updated[0].name, "Fruit");
        assert_eq!(updated[0].rating, None);

        let after = raw_rows(&storehaus).await;
        assert_eq!(after[0].1, "Fruit");
        assert!(after[0].4 >= started, "__updated_at__ comes from the database clock: {} < {started}", after[0].4);
        assert_eq!(updated[0].updated_at(), after[0].4, "the returned record is the row as written");
        assert_eq!(after[1], before[1], "the soft-deleted row is untouched");
        assert_eq!(after[2..], before[2..], "rows outside the filter are untouched");

        let err = store
            .update_where(
                QueryBuilder::new().filter(QueryFilter::eq("id", json!(1))),
                UpdateSet::new().set("id", json!(9)),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Validation { .. }), "the key cannot be set: {err:?}");
        let err = store
            .update_where(
                QueryBuilder::new().filter(QueryFilter::eq("id", json!(1))),
                UpdateSet::new().set("__deleted_at__", json!(null)),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Validation { .. }), "system fields cannot be set: {err:?}");

        // With `with_deleted()` a bulk update reaches the deleted row too, but does not bring it back.
        let deleted_fruit = QueryBuilder::new().filter(QueryFilter::eq("id", json!(2))).with_deleted();
        let updated = store.update_where(deleted_fruit, UpdateSet::new().set("stock", json!(1))).await.unwrap();
        assert_eq!(ids(&updated), [2]);
        assert!(updated[0].is_deleted());
        let row_2 = &raw_rows(&storehaus).await[1];
        assert_eq!((row_2.3, row_2.5), (1, before[1].5), "still deleted, at the same time");

        let restored =
            store.restore_where(QueryBuilder::new().filter(QueryFilter::eq("id", json!(2)))).await.unwrap();
        assert_eq!(ids(&restored), [2]);
        assert_eq!(raw_rows(&storehaus).await[1].5, None);
    }

    async fn delete_where_soft_deletes_and_force_delete_where_removes(db) {
        let (storehaus, store) = products(&db).await;
        let cheap = || QueryBuilder::new().filter(QueryFilter::lt("price", json!(30)));
        assert_eq!(store.delete_where(cheap()).await.unwrap(), 2);
        assert_eq!(store.delete_where(cheap()).await.unwrap(), 0, "deleted rows are not deleted again");
        let rows = raw_rows(&storehaus).await;
        assert_eq!(rows.len(), 5);
        assert!(rows[0].5.is_some() && rows[1].5.is_some() && rows[2].5.is_none());

        assert_eq!(store.force_delete_where(cheap().with_deleted()).await.unwrap(), 2);
        assert_eq!(raw_rows(&storehaus).await.iter().map(|r| r.0).collect::<Vec<_>>(), [3, 4, 5]);
    }

    async fn increment_and_decrement_happen_in_the_database(db) {
        let (storehaus, store) = products(&db).await;
        let apple = || QueryBuilder::new().filter(QueryFilter::eq("id", json!(1)));

        let updated = store.update_where(apple(), UpdateSet::new().increment("stock", json!(5))).await.unwrap();
        assert_eq!(updated[0].stock, 105);
        let updated = store
            .update_where(apple(), UpdateSet::new().decrement("stock", json!(15)).increment("price", json!(2)))
            .await
            .unwrap();
        assert_eq!((updated[0].stock, updated[0].price), (90, 12));
        let rows = raw_rows(&storehaus).await;
        assert_eq!((rows[0].2, rows[0].3), (12, 90));

        // Concurrent increments add up instead of overwriting each other.
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    store.update_where(apple(), UpdateSet::new().increment("stock", json!(1))).await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(raw_rows(&storehaus).await[0].3, 110);

        let err = store.update_where(apple(), UpdateSet::new().increment("name", json!(1))).await.unwrap_err();
        assert!(matches!(err, StoreError::Validation { .. }), "{err:?}");
    }

    /// A sum outside the column's type is a database error and writes nothing; on SQLite, whose
    /// integers are 64-bit, it would otherwise be stored and fail to read back.
    async fn an_increment_out_of_the_column_range_is_an_error_and_writes_nothing(db) {
        let (storehaus, store) = products(&db).await;
        let apple = || QueryBuilder::new().filter(QueryFilter::eq("id", json!(1)));
        store.update_where(apple(), UpdateSet::new().set("price", json!(i32::MAX - 1))).await.unwrap();
        store.update_where(apple(), UpdateSet::new().set("stock", json!(i64::MIN + 1))).await.unwrap();
        let before = raw_rows(&storehaus).await;

        for set in [
            UpdateSet::new().increment("price", json!(2)),
            UpdateSet::new().increment("price", json!(i32::MIN)).increment("stock", json!(-3)),
            UpdateSet::new().decrement("stock", json!(2)),
            UpdateSet::new().increment("stock", json!(i64::MAX)).increment("price", json!(2)),
        ] {
            let err = store.update_where(apple(), set.clone()).await.unwrap_err();
            assert!(matches!(err, StoreError::Database { .. }), "{set:?}: {err:?}");
            assert_eq!(raw_rows(&storehaus).await, before, "{set:?} wrote something");
        }
        let updated = store.update_where(apple(), UpdateSet::new().increment("price", json!(1))).await.unwrap();
        assert_eq!(updated[0].price, i32::MAX, "up to the bound is fine");
    }

    /// Workers claiming jobs in transactions never get the same job: on PostgreSQL the second
    /// skips the rows the first holds (`SKIP LOCKED`); on SQLite they take turns.
    async fn concurrent_workers_never_claim_the_same_job(db) {
        let storehaus = Arc::new(db.storehaus().await);
        storehaus.auto_migrate::<Job>(false).await.unwrap();
        let store = GenericStore::<Job>::new(storehaus.pool().clone(), None, None);
        for id in 1..=12 {
            store.create(Job { id, state: "ready".into(), worker: None }, None).await.unwrap();
        }

        let workers: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|name| {
                let (storehaus, store) = (storehaus.clone(), store.clone());
                tokio::spawn(async move {
                    storehaus
                        .transaction(|tx| async move {
                            let jobs = store.with_transaction(&tx);
                            let batch: Vec<i64> = jobs.find(ready_jobs()).await?.iter().map(|j| j.id).collect();
                            let mine = QueryBuilder::new().filter(QueryFilter::in_values("id", batch.clone()));
                            let set = UpdateSet::new().set("state", json!("done")).set("worker", json!(name));
                            jobs.update_where(mine, set).await?;
                            Ok::<_, StoreError>((name, batch))
                        })
                        .await
                })
            })
            .collect();
        let mut claimed = Vec::new();
        let mut expected = Vec::new();
        for worker in workers {
            let (name, batch) = worker.await.unwrap().unwrap();
            assert_eq!(batch.len(), 5, "worker {name} got a full batch: {batch:?}");
            expected.extend(batch.iter().map(|id| (*id, name.to_owned())));
            claimed.extend(batch);
        }
        claimed.sort_unstable();
        assert_eq!(claimed, (1..=10).collect::<Vec<i64>>(), "each job was claimed once");

        expected.sort();
        let done: Vec<(i64, String)> =
            rows(&storehaus, r#"SELECT "id", "worker" FROM "jobs" WHERE "state" = 'done' ORDER BY "id""#).await;
        assert_eq!(done, expected);
        let left = store.find(ready_jobs()).await.unwrap();
        assert_eq!(left.iter().map(|j| j.id).collect::<Vec<_>>(), [11, 12]);
    }
}

/// A work queue.
#[model]
#[table(name = "jobs")]
pub struct Job {
    #[primary_key]
    pub id: i64,
    pub state: String,
    pub worker: Option<String>,
}

/// The next five ready jobs, locked for the claiming transaction.
pub(crate) fn ready_jobs() -> QueryBuilder {
    QueryBuilder::new()
        .filter(QueryFilter::eq("state", json!("ready")))
        .order_by("id", SortOrder::Asc)
        .limit(5)
        .for_update_skip_locked()
}
