//! What only PostgreSQL does: JSON containment, ordering by decimal, JSON and array columns, the
//! GIN index of tags, and `FOR UPDATE SKIP LOCKED` that skips. SQLite refuses the first two (see
//! `sqlite_refusals`), has no GIN index, and makes workers take turns instead of skipping (see
//! `writes::concurrent_workers_never_claim_the_same_job`).

use super::writes::{Job, ready_jobs};
use super::*;
use storehaus::testing::TestDatabase;
use storehaus_suite::pg;

#[tokio::test]
async fn json_containment_filters() {
    let Some(db) = TestDatabase::new().await else { return };
    let (_storehaus, store) = products(&db).await;
    assert_eq!(find_ids(&store, QueryFilter::json_contains("attrs", json!({"color": "orange"}))).await, [2]);
    assert_eq!(find_ids(&store, QueryFilter::json_contains("attrs", json!({"dims": {}}))).await, [1, 3]);
}

#[tokio::test]
async fn decimal_json_and_array_columns_sort_and_page() {
    let Some(db) = TestDatabase::new().await else { return };
    let (_storehaus, store) = prices(&db).await;
    let find = |q: QueryBuilder| {
        let store = store.clone();
        async move { price_ids(&store.find(q).await.unwrap()) }
    };
    assert_eq!(find(QueryBuilder::new().order_by("amount", SortOrder::Asc)).await, [1, 3, 2]);
    assert_eq!(find(QueryBuilder::new().order_by("amount", SortOrder::Desc)).await, [2, 3, 1]);
    assert_eq!(find(QueryBuilder::new().filter(Price::columns().amount.gt(Decimal::new(2, 0)))).await, [2, 3]);
    assert_eq!(find(QueryBuilder::new().order_by("meta", SortOrder::Desc)).await, [3, 2, 1]);
    assert_eq!(find(QueryBuilder::new().order_by("codes", SortOrder::Asc)).await, [3, 1, 2]);

    let by_amount = || QueryBuilder::new().order_by("amount", SortOrder::Asc).limit(2);
    let first = store.find_page(by_amount()).await.unwrap();
    assert_eq!(price_ids(&first.records), [1, 3]);
    let rest = store.find_page(by_amount().after(&first.next.unwrap())).await.unwrap();
    assert_eq!(price_ids(&rest.records), [2]);
}

#[tokio::test]
async fn tag_filters_use_the_gin_index() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, store) = products(&db).await;
    sqlx::query(
        "INSERT INTO products (id, name, sku, price, stock, attrs, labels, sizes, __tags__)
         SELECT i, 'p' || i, 's' || i, i, i, '{}', '{}', '{}', ARRAY['t' || (i % 100), 'g' || (i % 7)]
         FROM generate_series(100, 2099) AS i",
    )
    .execute(pg(&storehaus))
    .await
    .unwrap();
    sqlx::query("ANALYZE products").execute(pg(&storehaus)).await.unwrap();

    // The store's answers first, so the plans below are plans of queries that work.
    let any = store.find(QueryBuilder::new().filter_by_any_tag(["t1", "t2"])).await.unwrap();
    assert_eq!(any.len(), 40);
    let all = store.count_where(QueryBuilder::new().filter_by_all_tags(["t1", "g1"])).await.unwrap();
    assert_eq!(all, (100..2100).filter(|i| i % 100 == 1 && i % 7 == 1).count() as u64);

    // The statements the store really sends, caught while they wait for a table lock, then
    // explained with sequential scans made expensive: both tag operators must reach the GIN index.
    let any = QueryBuilder::new().filter_by_any_tag(["t1", "t2"]);
    let sql = statement_sent(&storehaus, &db, {
        let store = store.clone();
        async move { store.find(any).await.map(|_| ()) }
    })
    .await;
    assert!(sql.contains(r#""__tags__" && $1"#), "{sql}");
    assert_uses_gin_index(&storehaus, &sql, &["t1", "t2"]).await;

    let all = QueryBuilder::new().filter_by_all_tags(["t1", "g1"]);
    let sql = statement_sent(&storehaus, &db, {
        let store = store.clone();
        async move { store.count_where(all).await.map(|_| ()) }
    })
    .await;
    assert!(sql.contains(r#""__tags__" @> $1"#), "{sql}");
    assert_uses_gin_index(&storehaus, &sql, &["t1", "g1"]).await;
}

/// The SQL text `call` sends for the `products` table, read from `pg_stat_activity` while the
/// statement waits for a lock this function holds.
async fn statement_sent(
    storehaus: &StoreHaus,
    db: &TestDatabase,
    call: impl Future<Output = Result<(), StoreError>> + Send + 'static,
) -> String {
    let mut lock = pg(storehaus).begin().await.unwrap();
    sqlx::query("LOCK TABLE products IN ACCESS EXCLUSIVE MODE").execute(&mut *lock).await.unwrap();
    let running = tokio::spawn(call);
    let mut sql = None;
    for _ in 0..100 {
        sql = sqlx::query_scalar(
            "SELECT query FROM pg_stat_activity
             WHERE datname = $1 AND wait_event_type = 'Lock' AND query LIKE '%\"products\"%'",
        )
        .bind(db.name())
        .fetch_optional(pg(storehaus))
        .await
        .unwrap();
        if sql.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    lock.rollback().await.unwrap();
    running.await.unwrap().unwrap();
    sql.expect("the store's statement was seen waiting for the lock")
}

async fn assert_uses_gin_index(storehaus: &StoreHaus, sql: &str, tags: &[&str]) {
    let mut tx = pg(storehaus).begin().await.unwrap();
    sqlx::query("SET LOCAL enable_seqscan = off").execute(&mut *tx).await.unwrap();
    let plan: Vec<String> =
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}"))).bind(tags).fetch_all(&mut *tx).await.unwrap();
    tx.rollback().await.unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("products_tags_gin"), "the GIN index is not used by\n{sql}\n{plan}");
}

/// Two transactions open at once from one task: on SQLite the second would wait for the first.
#[tokio::test]
async fn for_update_skip_locked_hands_out_disjoint_batches() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Job>(false).await.unwrap();
    let store = GenericStore::<Job>::new(storehaus.pool().clone(), None, None);
    for id in 1..=12 {
        store.create(Job { id, state: "ready".into(), worker: None }, None).await.unwrap();
    }

    let first = storehaus.begin().await.unwrap();
    let second = storehaus.begin().await.unwrap();
    let a = store.with_transaction(&first).find(ready_jobs()).await.unwrap();
    let b = store.with_transaction(&second).find(ready_jobs()).await.unwrap();
    let a_ids: Vec<i64> = a.iter().map(|j| j.id).collect();
    let b_ids: Vec<i64> = b.iter().map(|j| j.id).collect();
    assert_eq!(a_ids, [1, 2, 3, 4, 5]);
    assert_eq!(b_ids, [6, 7, 8, 9, 10], "the second worker skips the rows the first one holds");

    for (tx, name, batch) in [(&first, "a", &a_ids), (&second, "b", &b_ids)] {
        let mine = QueryBuilder::new().filter(QueryFilter::in_values("id", batch.clone()));
        let set = UpdateSet::new().set("state", json!("done")).set("worker", json!(name));
        store.with_transaction(tx).update_where(mine, set).await.unwrap();
    }
    first.commit().await.unwrap();
    second.commit().await.unwrap();

    let done: Vec<(i64, String)> = sqlx::query_as("SELECT id, worker FROM jobs WHERE state = 'done' ORDER BY id")
        .fetch_all(pg(&storehaus))
        .await
        .unwrap();
    let expected: Vec<(i64, String)> =
        (1..=10).map(|id| (id, if id <= 5 { "a".to_owned() } else { "b".to_owned() })).collect();
    assert_eq!(done, expected);
    let left = store.find(ready_jobs()).await.unwrap();
    assert_eq!(left.iter().map(|j| j.id).collect::<Vec<_>>(), [11, 12]);
}
