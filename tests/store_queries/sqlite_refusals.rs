//! What SQLite refuses with `StoreError::Unsupported` rather than answer wrongly: JSON containment,
//! and sorting, ordering comparisons and keyset pages on columns whose stored text does not sort
//! like the values (decimal, JSON, arrays). Each refusal comes before anything runs.

use super::*;
use futures_util::StreamExt;
use storehaus::testing::TestSqlite;

#[track_caller]
fn assert_unsupported<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::Unsupported { backend: "sqlite", .. }) => {}
        other => panic!("{what}: expected Unsupported by the sqlite backend, got {other:?}"),
    }
}

#[tokio::test]
async fn json_containment_is_unsupported() {
    let db = TestSqlite::new();
    let (storehaus, store) = products(&db).await;
    let before = raw_rows(&storehaus).await;
    let orange = || QueryBuilder::new().filter(QueryFilter::json_contains("attrs", json!({"color": "orange"})));

    assert_unsupported(store.find(orange()).await, "find");
    assert_unsupported(store.find_one(orange()).await, "find_one");
    assert_unsupported(store.count_where(orange()).await, "count_where");
    assert_unsupported(store.find_page(orange().order_by("id", SortOrder::Asc).limit(2)).await, "find_page");
    let nested = QueryFilter::or(vec![
        QueryFilter::eq("id", json!(1)),
        !QueryFilter::json_contains("attrs", json!({"dims": {}})),
    ]);
    assert_unsupported(store.find(QueryBuilder::new().filter(nested.clone())).await, "nested in OR / NOT");
    let mut stream = store.find_stream(orange());
    assert_unsupported(stream.next().await.expect("the stream reports the error"), "find_stream");
    assert!(stream.next().await.is_none());

    assert_unsupported(store.update_where(orange(), UpdateSet::new().set("stock", json!(0))).await, "update_where");
    assert_unsupported(store.delete_where(QueryBuilder::new().filter(nested)).await, "delete_where");
    assert_unsupported(store.force_delete_where(orange().with_deleted()).await, "force_delete_where");
    assert_eq!(raw_rows(&storehaus).await, before, "nothing was written");
}

#[tokio::test]
async fn sorting_by_decimal_json_or_array_columns_is_unsupported() {
    let db = TestSqlite::new();
    let (_storehaus, store) = prices(&db).await;
    for column in ["amount", "meta", "codes"] {
        for order in [SortOrder::Asc, SortOrder::Desc] {
            let by = || QueryBuilder::new().order_by(column, order);
            assert_unsupported(store.find(by()).await, &format!("find by {column} {order:?}"));
            assert_unsupported(store.find_one(by()).await, &format!("find_one by {column}"));
            assert_unsupported(store.find_page(by().limit(2)).await, &format!("find_page by {column}"));
            let mut stream = store.find_stream(by());
            assert_unsupported(stream.next().await.expect("the stream reports the error"), "find_stream");
            assert!(stream.next().await.is_none());
        }
    }
    // As a second key too, behind one that sorts.
    let by = QueryBuilder::new().order_by("id", SortOrder::Asc).order_by("amount", SortOrder::Asc);
    assert_unsupported(store.find(by).await, "find by id, amount");
    // Columns that sort still do.
    let by_id = store.find(QueryBuilder::new().order_by("id", SortOrder::Desc)).await.unwrap();
    assert_eq!(price_ids(&by_id), [3, 2, 1]);
}

#[tokio::test]
async fn ordering_comparisons_on_decimal_and_json_columns_are_unsupported() {
    let db = TestSqlite::new();
    let (storehaus, store) = prices(&db).await;
    let amount = Price::columns().amount;
    let two = || Decimal::new(2, 0);
    let refused = [
        ("amount > 2", amount.gt(two())),
        ("amount >= 2", amount.gte(two())),
        ("amount < 2", amount.lt(two())),
        ("amount <= 2", amount.lte(two())),
        ("meta > {}", QueryFilter::gt("meta", json!({"a": 2}))),
        ("meta < {}", QueryFilter::lt("meta", json!({"a": 2}))),
    ];
    let before: Vec<(i64, String)> = rows(&storehaus, r#"SELECT "id", "amount" FROM "prices" ORDER BY "id""#).await;
    for (what, filter) in refused {
        let q = || QueryBuilder::new().filter(filter.clone());
        assert_unsupported(store.find(q()).await, what);
        assert_unsupported(store.count_where(q()).await, what);
        assert_unsupported(
            store.update_where(q(), UpdateSet::new().set_column(amount, Decimal::new(0, 0))).await,
            what,
        );
        assert_unsupported(store.force_delete_where(q()).await, what);
        let not = QueryBuilder::new().filter(!filter.clone());
        assert_unsupported(store.find(not).await, what);
    }
    let after: Vec<(i64, String)> = rows(&storehaus, r#"SELECT "id", "amount" FROM "prices" ORDER BY "id""#).await;
    assert_eq!(after, before, "nothing was written");
    assert_eq!(after, [(1, "1.5".to_owned()), (2, "10".to_owned()), (3, "2.25".to_owned())], "normalized text");

    // Equality on the same columns is exact, so it stays.
    let equal = store.find(QueryBuilder::new().filter(amount.eq(Decimal::new(225, 2)))).await.unwrap();
    assert_eq!(price_ids(&equal), [3]);
    let equal = store.find(QueryBuilder::new().filter(QueryFilter::eq("meta", json!({"a": 2})))).await.unwrap();
    assert_eq!(price_ids(&equal), [2]);
}
