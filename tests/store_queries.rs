//! `GenericStore` queries — filters, tags, ordering, paging, bulk writes, streaming and row locking —
//! against a real PostgreSQL server.

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use std::collections::HashSet;
use storehaus::prelude::*;
use storehaus::testing::TestDatabase;
use storehaus_suite::pg;

/// One column of most kinds a filter can meet, on a soft-delete table.
#[model]
#[table(name = "products", soft_delete)]
pub struct Product {
    #[primary_key]
    pub id: i64,
    pub name: String,
    pub sku: String,
    pub price: i32,
    pub rating: Option<f64>,
    pub category: Option<String>,
    pub stock: i64,
    pub attrs: serde_json::Value,
    pub labels: Vec<String>,
    pub sizes: Vec<i32>,
}

/// A UUID-shaped value kept in a TEXT column.
const UUID_TEXT: &str = "6f1c0c2e-4f7a-4d8b-9a43-0c8f5d6b7e21";

#[allow(clippy::too_many_arguments)]
fn product(
    id: i64,
    name: &str,
    sku: &str,
    price: i32,
    rating: Option<f64>,
    category: Option<&str>,
    stock: i64,
    attrs: serde_json::Value,
    labels: &[&str],
    sizes: &[i32],
) -> Product {
    Product {
        id,
        name: name.to_owned(),
        sku: sku.to_owned(),
        price,
        rating,
        category: category.map(str::to_owned),
        stock,
        attrs,
        labels: labels.iter().map(|l| (*l).to_owned()).collect(),
        sizes: sizes.to_vec(),
    }
}

fn catalogue() -> Vec<(Product, &'static [&'static str])> {
    vec![
        (
            product(
                1,
                "Apple",
                "A-1",
                10,
                Some(4.5),
                Some("fruit"),
                100,
                json!({"color": "red", "dims": {"w": 10}}),
                &["fresh", "red"],
                &[1, 2],
            ),
            &["food", "sale"],
        ),
        (
            product(2, "apricot", "A-2", 20, None, Some("fruit"), 50, json!({"color": "orange"}), &["fresh"], &[2, 3]),
            &["food"],
        ),
        (
            product(
                3,
                "Banana",
                "B-1",
                30,
                Some(3.0),
                None,
                0,
                json!({"color": "yellow", "dims": {"w": 20}}),
                &[],
                &[],
            ),
            &["sale", "new"],
        ),
        (product(4, "Cherry", UUID_TEXT, 40, Some(5.0), Some("berry"), 7, json!({}), &["red"], &[5]), &[]),
        (product(5, "Date", "D-1", 50, None, None, 3, json!({"color": "brown"}), &["dried"], &[1]), &["food", "new"]),
    ]
}

async fn products(db: &TestDatabase) -> (StoreHaus, GenericStore<Product>) {
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Product>(false).await.unwrap();
    let store = GenericStore::<Product>::new(storehaus.pool().clone(), None, None);
    for (p, tags) in catalogue() {
        store.create(p, Some(tags.iter().map(|t| (*t).to_owned()).collect())).await.unwrap();
    }
    (storehaus, store)
}

fn ids(records: &[Record<Product>]) -> Vec<i64> {
    records.iter().map(|r| r.id).collect()
}

async fn find_ids(store: &GenericStore<Product>, filter: QueryFilter) -> Vec<i64> {
    ids(&store.find(QueryBuilder::new().filter(filter)).await.unwrap())
}

/// What the table holds, read without StoreHaus: `(id, name, price, stock, updated_at, deleted_at)`.
type RawRow = (i64, String, i32, i64, DateTime<Utc>, Option<DateTime<Utc>>);

async fn raw_rows(storehaus: &StoreHaus) -> Vec<RawRow> {
    sqlx::query_as("SELECT id, name, price, stock, __updated_at__, __deleted_at__ FROM products ORDER BY id")
        .fetch_all(pg(storehaus))
        .await
        .unwrap()
}

async fn server_now(storehaus: &StoreHaus) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT now()").fetch_one(pg(storehaus)).await.unwrap()
}

#[tokio::test]
async fn comparison_filters() {
    let Some(db) = TestDatabase::new().await else { return };
    let (_storehaus, store) = products(&db).await;
    assert_eq!(find_ids(&store, QueryFilter::eq("name", json!("Banana"))).await, [3]);
    assert_eq!(find_ids(&store, QueryFilter::eq("price", json!(40))).await, [4]);
    assert_eq!(find_ids(&store, QueryFilter::ne("price", json!(40))).await, [1, 2, 3, 5]);
    assert_eq!(find_ids(&store, QueryFilter::gt("price", json!(30))).await, [4, 5]);
    assert_eq!(find_ids(&store, QueryFilter::gte("price", json!(30))).await, [3, 4, 5]);
    assert_eq!(find_ids(&store, QueryFilter::lt("price", json!(30))).await, [1, 2]);
    assert_eq!(find_ids(&store, QueryFilter::lte("price", json!(30))).await, [1, 2, 3]);
    assert_eq!(find_ids(&store, QueryFilter::gt("rating", json!(4))).await, [1, 4], "NULL ratings never compare");
    assert_eq!(find_ids(&store, QueryFilter::ne("category", json!("fruit"))).await, [4], "NULL is not <> 'fruit'");

    let err = store.find(QueryBuilder::new().filter(QueryFilter::eq("price", json!("ten")))).await.unwrap_err();
    assert!(matches!(&err, StoreError::Validation { field: Some(f), .. } if f == "price"), "{err:?}");
    let err = store.find(QueryBuilder::new().filter(QueryFilter::eq("category", json!(null)))).await.unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "comparing with null: {err:?}");
}

#[tokio::test]
async fn pattern_filters() {
    let Some(db) = TestDatabase::new().await else { return };
    let (_storehaus, store) = products(&db).await;
    assert_eq!(find_ids(&store, QueryFilter::like("name", "A%")).await, [1]);
    assert_eq!(find_ids(&store, QueryFilter::ilike("name", "a%")).await, [1, 2]);
    assert_eq!(find_ids(&store, QueryFilter::like("name", "%an%")).await, [3]);
    assert_eq!(find_ids(&store, QueryFilter::like("sku", "_-1")).await, [1, 3, 5]);
    assert_eq!(find_ids(&store, QueryFilter::not_ilike("name", "a%")).await, [3, 4, 5]);
    let err = store.find(QueryBuilder::new().filter(QueryFilter::like("price", "1%"))).await.unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "LIKE on an integer: {err:?}");
}

#[tokio::test]
async fn list_and_null_filters() {
    let Some(db) = TestDatabase::new().await else { return };
    let (_storehaus, store) = products(&db).await;
    assert_eq!(find_ids(&store, QueryFilter::in_values("price", [json!(10), json!(50), json!(99)])).await, [1, 5]);
    assert_eq!(find_ids(&store, QueryFilter::in_values("name", ["Apple", "Date"])).await, [1, 5]);
    assert_eq!(find_ids(&store, QueryFilter::not_in_values("price", [10, 50])).await, [2, 3, 4]);
    assert!(find_ids(&store, QueryFilter::in_values("price", Vec::<i32>::new())).await.is_empty());
    assert_eq!(find_ids(&store, QueryFilter::not_in_values("price", Vec::<i32>::new())).await, [1, 2, 3, 4, 5]);
    assert_eq!(find_ids(&store, QueryFilter::is_null("category")).await, [3, 5]);
    assert_eq!(find_ids(&store, QueryFilter::is_not_null("category")).await, [1, 2, 4]);
    assert_eq!(find_ids(&store, QueryFilter::is_null("rating")).await, [2, 5]);
    assert_eq!(find_ids(&store, QueryFilter::is_not_null("rating")).await, [1, 3, 4]);

    // A list is one array parameter, so its length is not bounded by the 65 535-parameter cap.
    let many: Vec<i64> = (1..=70_000).map(|i| i * 10).collect();
    assert_eq!(find_ids(&store, QueryFilter::in_values("price", many.clone())).await, [1, 2, 3, 4, 5]);
    assert_eq!(find_ids(&store, Product::columns().id.not_in_values(many)).await, [1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn and_or_and_nested_filters() {
    let Some(db) = TestDatabase::new().await else { return };
    let (_storehaus, store) = products(&db).await;
    let and = QueryFilter::and(vec![QueryFilter::eq("category", json!("fruit")), QueryFilter::gt("price", json!(10))]);
    assert_eq!(find_ids(&store, and).await, [2]);
    let or = QueryFilter::or(vec![QueryFilter::eq("name", json!("Apple")), QueryFilter::is_null("category")]);
    assert_eq!(find_ids(&store, or).await, [1, 3, 5]);

    // (price < 25 AND rating IS NOT NULL) OR (stock < 10 AND (name = 'Date' OR category = 'berry'))
    let nested = QueryFilter::or(vec![
        QueryFilter::and(vec![QueryFilter::lt("price", json!(25)), QueryFilter::is_not_null("rating")]),
        QueryFilter::and(vec![
            QueryFilter::lt("stock", json!(10)),
            QueryFilter::or(vec![QueryFilter::eq("name", json!("Date")), QueryFilter::eq("category", json!("berry"))]),
        ]),
    ]);
    assert_eq!(find_ids(&store, nested.clone()).await, [1, 4, 5]);
    // SQL's three-valued logic: for Banana the inner OR is NULL (its category is NULL), so NOT is NULL too.
    assert_eq!(find_ids(&store, !nested).await, [2]);

    // Several top-level filters must all hold.
    let q =
        QueryBuilder::new().filter(QueryFilter::gte("price", json!(20))).filter(QueryFilter::lte("price", json!(40)));
    assert_eq!(ids(&store.find(q).await.unwrap()), [2, 3, 4]);
    assert!(find_ids(&store, QueryFilter::or(vec![])).await.is_empty(), "an empty OR holds for no row");
    assert_eq!(find_ids(&store, QueryFilter::and(vec![])).await, [1, 2, 3, 4, 5], "an empty AND holds for every row");
}

#[tokio::test]
async fn tag_filters() {
    let Some(db) = TestDatabase::new().await else { return };
    let (_storehaus, store) = products(&db).await;
    let find = |q: QueryBuilder| {
        let store = store.clone();
        async move { ids(&store.find(q).await.unwrap()) }
    };
    assert_eq!(find(QueryBuilder::new().filter_by_tag("sale")).await, [1, 3]);
    assert_eq!(find(QueryBuilder::new().filter_by_any_tag(["sale", "new"])).await, [1, 3, 5]);
    assert_eq!(find(QueryBuilder::new().filter_by_all_tags(["food", "new"])).await, [5]);
    assert_eq!(find(QueryBuilder::new().filter_by_all_tags(["food"])).await, [1, 2, 5]);
    assert!(find(QueryBuilder::new().filter_by_tag("nope")).await.is_empty());
    assert!(find(QueryBuilder::new().filter_by_any_tag(Vec::<String>::new())).await.is_empty());
    assert_eq!(find(QueryBuilder::new().filter_by_all_tags(Vec::<String>::new())).await, [1, 2, 3, 4, 5]);
    let combined = QueryBuilder::new().filter_by_tag("food").filter(QueryFilter::gt("price", json!(10)));
    assert_eq!(find(combined).await, [2, 5]);
    assert_eq!(store.count_where(QueryBuilder::new().filter_by_any_tag(["sale"])).await.unwrap(), 2);
}

#[tokio::test]
async fn order_limit_and_offset() {
    let Some(db) = TestDatabase::new().await else { return };
    let (_storehaus, store) = products(&db).await;
    let by_price_desc = QueryBuilder::new().order_by("price", SortOrder::Desc);
    assert_eq!(ids(&store.find(by_price_desc.clone()).await.unwrap()), [5, 4, 3, 2, 1]);
    assert_eq!(ids(&store.find(by_price_desc.clone().limit(2)).await.unwrap()), [5, 4]);
    assert_eq!(ids(&store.find(by_price_desc.clone().limit(2).offset(2)).await.unwrap()), [3, 2]);
    assert!(store.find(by_price_desc.offset(10)).await.unwrap().is_empty());

    // NULL ratings: ascending puts them last, as PostgreSQL does.
    let by_rating = QueryBuilder::new().order_by("rating", SortOrder::Asc);
    assert_eq!(ids(&store.find(by_rating).await.unwrap()), [3, 1, 4, 2, 5]);
    let by_category_then_name =
        QueryBuilder::new().order_by("category", SortOrder::Asc).order_by("name", SortOrder::Desc);
    assert_eq!(ids(&store.find(by_category_then_name).await.unwrap()), [4, 2, 1, 5, 3]);
    let by_created = QueryBuilder::new().order_by("__created_at__", SortOrder::Desc).limit(1);
    assert_eq!(ids(&store.find(by_created).await.unwrap()), [5], "system columns sort too");

    let err = store.find(QueryBuilder::new().limit(-1)).await.unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "{err:?}");
}

#[tokio::test]
async fn deleted_rows_only_with_deleted_or_only_deleted() {
    let Some(db) = TestDatabase::new().await else { return };
    let (_storehaus, store) = products(&db).await;
    store.delete(&2).await.unwrap();
    store.delete(&5).await.unwrap();
    let food = || QueryBuilder::new().filter_by_tag("food");
    assert_eq!(ids(&store.find(food()).await.unwrap()), [1]);
    assert_eq!(ids(&store.find(food().with_deleted()).await.unwrap()), [1, 2, 5]);
    assert_eq!(ids(&store.find(food().only_deleted()).await.unwrap()), [2, 5]);
    assert_eq!(store.count_where(food()).await.unwrap(), 1);
    assert_eq!(store.count_where(food().with_deleted()).await.unwrap(), 3);
    assert_eq!(store.count_where(QueryBuilder::new().only_deleted()).await.unwrap(), 2);
    assert!(store.find_one(QueryBuilder::new().filter(QueryFilter::eq("id", json!(2)))).await.unwrap().is_none());
    let deleted = store.find(QueryBuilder::new().only_deleted()).await.unwrap();
    assert!(deleted.iter().all(|r| r.is_deleted()));
}

#[tokio::test]
async fn an_unknown_field_is_refused_before_anything_runs() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, store) = products(&db).await;
    let before = raw_rows(&storehaus).await;
    let injected = || QueryBuilder::new().filter(QueryFilter::eq("1=1 OR name", json!("x")));
    let unknown = |err: StoreError| {
        assert!(
            matches!(&err, StoreError::UnknownField { table, field } if table == "products" && field == "1=1 OR name"),
            "{err:?}"
        );
    };

    unknown(store.find(injected()).await.unwrap_err());
    unknown(store.find_one(injected()).await.unwrap_err());
    unknown(store.count_where(injected()).await.unwrap_err());
    unknown(store.find_page(injected().limit(2)).await.unwrap_err());
    unknown(store.update_where(injected(), UpdateSet::new().set("name", json!("pwned"))).await.unwrap_err());
    unknown(store.delete_where(injected()).await.unwrap_err());
    unknown(store.delete_where(injected().all_rows()).await.unwrap_err());
    let mut stream = store.find_stream(injected());
    unknown(stream.next().await.expect("the stream reports the error").unwrap_err());
    assert!(stream.next().await.is_none());

    let nested =
        QueryFilter::or(vec![QueryFilter::eq("id", json!(1)), QueryFilter::is_null("x\"; DROP TABLE products; --")]);
    let err = store.delete_where(QueryBuilder::new().filter(nested)).await.unwrap_err();
    assert!(matches!(err, StoreError::UnknownField { .. }), "{err:?}");
    let err = store.find(QueryBuilder::new().order_by("price; DROP TABLE products", SortOrder::Asc)).await.unwrap_err();
    assert!(matches!(err, StoreError::UnknownField { .. }), "{err:?}");
    let all = QueryBuilder::new().filter(QueryFilter::gt("id", json!(0)));
    let err = store.update_where(all, UpdateSet::new().set("name = 'pwned', price", json!(0))).await.unwrap_err();
    assert!(matches!(err, StoreError::UnknownField { .. }), "{err:?}");

    assert_eq!(raw_rows(&storehaus).await, before, "no row changed");
}

#[tokio::test]
async fn a_uuid_looking_string_matches_a_text_column_as_text() {
    let Some(db) = TestDatabase::new().await else { return };
    let (_storehaus, store) = products(&db).await;
    assert_eq!(find_ids(&store, QueryFilter::eq("sku", json!(UUID_TEXT))).await, [4]);
    assert_eq!(find_ids(&store, QueryFilter::in_values("sku", [UUID_TEXT, "A-1"])).await, [1, 4]);
    assert_eq!(find_ids(&store, QueryFilter::like("sku", "6f1c0c2e-%")).await, [4]);
    // The same text in another case is another value for TEXT (it would be equal as UUID).
    assert!(find_ids(&store, QueryFilter::eq("sku", json!(UUID_TEXT.to_uppercase()))).await.is_empty());
}

#[tokio::test]
async fn bulk_writes_without_a_filter_are_refused_unless_all_rows() {
    let Some(db) = TestDatabase::new().await else { return };
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
    assert_eq!(raw_rows(&storehaus).await, before, "nothing was written");

    let updated = store.update_where(QueryBuilder::new().all_rows(), UpdateSet::new().set("price", json!(1))).await;
    assert_eq!(updated.unwrap().len(), 5);
    assert!(raw_rows(&storehaus).await.iter().all(|r| r.2 == 1));
    assert_eq!(store.delete_where(QueryBuilder::new().all_rows()).await.unwrap(), 5);
    assert!(raw_rows(&storehaus).await.iter().all(|r| r.5.is_some()), "every row is soft-deleted");
}

#[tokio::test]
async fn update_where_sets_updated_at_returns_the_rows_and_skips_deleted_ones() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, store) = products(&db).await;
    store.delete(&2).await.unwrap();
    let before = raw_rows(&storehaus).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let started = server_now(&storehaus).await;

    let fruit = QueryBuilder::new().filter(QueryFilter::eq("category", json!("fruit")));
    let updated = store.update_where(fruit, UpdateSet::new().set("name", json!("Fruit")).set("rating", json!(null)));
    let updated = updated.await.unwrap();
    assert_eq!(ids(&updated), [1], "the deleted fruit (2) is not updated");
    assert_eq!(updated[0].name, "Fruit");
    assert_eq!(updated[0].rating, None);

    let after = raw_rows(&storehaus).await;
    assert_eq!(after[0].1, "Fruit");
    assert!(after[0].4 >= started, "__updated_at__ comes from the server clock: {} < {started}", after[0].4);
    assert_eq!(updated[0].updated_at(), after[0].4, "the returned record is the row as written");
    assert_eq!(after[1], before[1], "the soft-deleted row is untouched");
    assert_eq!(after[2..], before[2..], "rows outside the filter are untouched");

    let err = store
        .update_where(QueryBuilder::new().filter(QueryFilter::eq("id", json!(1))), UpdateSet::new().set("id", json!(9)))
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

    let restored = store.restore_where(QueryBuilder::new().filter(QueryFilter::eq("id", json!(2)))).await.unwrap();
    assert_eq!(ids(&restored), [2]);
    assert_eq!(raw_rows(&storehaus).await[1].5, None);
}

#[tokio::test]
async fn delete_where_soft_deletes_and_force_delete_where_removes() {
    let Some(db) = TestDatabase::new().await else { return };
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

#[tokio::test]
async fn increment_and_decrement_happen_in_the_database() {
    let Some(db) = TestDatabase::new().await else { return };
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
            tokio::spawn(
                async move { store.update_where(apple(), UpdateSet::new().increment("stock", json!(1))).await },
            )
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(raw_rows(&storehaus).await[0].3, 110);

    let err = store.update_where(apple(), UpdateSet::new().increment("name", json!(1))).await.unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "{err:?}");
}

#[tokio::test]
async fn json_filters() {
    let Some(db) = TestDatabase::new().await else { return };
    let (_storehaus, store) = products(&db).await;
    assert_eq!(find_ids(&store, QueryFilter::json_path_text_eq("attrs", ["color"], "red")).await, [1]);
    assert_eq!(find_ids(&store, QueryFilter::json_path_eq("attrs", ["dims", "w"], json!(20))).await, [3]);
    assert_eq!(find_ids(&store, QueryFilter::json_path_text_eq("attrs", ["dims", "w"], "10")).await, [1]);
    assert_eq!(find_ids(&store, QueryFilter::json_contains("attrs", json!({"color": "orange"}))).await, [2]);
    assert_eq!(find_ids(&store, QueryFilter::json_contains("attrs", json!({"dims": {}}))).await, [1, 3]);
    assert_eq!(find_ids(&store, QueryFilter::json_has_key("attrs", "dims")).await, [1, 3]);
    assert!(find_ids(&store, QueryFilter::json_has_key("attrs", "x' OR '1'='1")).await.is_empty());
    let err = store.find(QueryBuilder::new().filter(QueryFilter::json_has_key("name", "x"))).await.unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "JSON operator on text: {err:?}");
}

#[tokio::test]
async fn array_filters() {
    let Some(db) = TestDatabase::new().await else { return };
    let (_storehaus, store) = products(&db).await;
    assert_eq!(find_ids(&store, QueryFilter::array_contains("labels", ["red"])).await, [1, 4]);
    assert_eq!(find_ids(&store, QueryFilter::array_contains("labels", ["fresh", "red"])).await, [1]);
    assert_eq!(find_ids(&store, QueryFilter::array_overlaps("labels", ["dried", "red"])).await, [1, 4, 5]);
    assert_eq!(find_ids(&store, QueryFilter::array_overlaps("sizes", [3, 5])).await, [2, 4]);
    assert_eq!(find_ids(&store, QueryFilter::array_contains("sizes", [1])).await, [1, 5]);
    let err = store.find(QueryBuilder::new().filter(QueryFilter::array_contains("sizes", ["x"]))).await.unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "{err:?}");
}

#[tokio::test]
async fn find_one_and_count_where() {
    let Some(db) = TestDatabase::new().await else { return };
    let (_storehaus, store) = products(&db).await;
    let cheapest_food = QueryBuilder::new().filter_by_tag("food").order_by("price", SortOrder::Asc);
    assert_eq!(store.find_one(cheapest_food).await.unwrap().unwrap().id, 1);
    let dearest = QueryBuilder::new().order_by("price", SortOrder::Desc);
    assert_eq!(store.find_one(dearest).await.unwrap().unwrap().name, "Date");
    assert!(
        store.find_one(QueryBuilder::new().filter(QueryFilter::eq("name", json!("Kiwi")))).await.unwrap().is_none()
    );

    assert_eq!(store.count_where(QueryBuilder::new()).await.unwrap(), 5);
    assert_eq!(store.count_where(QueryBuilder::new().filter(QueryFilter::gte("price", json!(30)))).await.unwrap(), 3);
    let limited = QueryBuilder::new().filter(QueryFilter::gte("price", json!(30))).limit(1);
    assert_eq!(store.count_where(limited).await.unwrap(), 3, "count_where counts every match, not a page");
}

#[tokio::test]
async fn typed_columns() {
    let Some(db) = TestDatabase::new().await else { return };
    let (_storehaus, store) = products(&db).await;
    let c = Product::columns();
    assert_eq!(find_ids(&store, c.name.eq("Banana")).await, [3]);
    assert_eq!(find_ids(&store, c.sku.eq(UUID_TEXT)).await, [4]);
    assert_eq!(find_ids(&store, c.price.gte(30)).await, [3, 4, 5]);
    assert_eq!(find_ids(&store, c.price.in_values([10, 20])).await, [1, 2]);
    assert_eq!(find_ids(&store, c.category.eq(Some("berry".to_owned()))).await, [4]);
    assert_eq!(find_ids(&store, c.category.is_null()).await, [3, 5]);
    assert_eq!(find_ids(&store, c.name.ilike("%A%")).await, [1, 2, 3, 5]);
    assert_eq!(find_ids(&store, c.labels.array_contains(["fresh"])).await, [1, 2]);
    assert_eq!(find_ids(&store, c.sizes.array_overlaps([2])).await, [1, 2]);
    assert_eq!(find_ids(&store, QueryFilter::and(vec![c.stock.lt(10_i64), !c.rating.is_null()])).await, [3, 4]);

    let q = QueryBuilder::new().filter(c.price.lt(50)).order(c.price.desc()).limit(2);
    assert_eq!(ids(&store.find(q).await.unwrap()), [4, 3]);
    let q = QueryBuilder::new().order_by(c.stock, SortOrder::Asc);
    assert_eq!(ids(&store.find(q).await.unwrap()), [3, 5, 4, 2, 1]);

    let updated =
        store.update_where(QueryBuilder::new().filter(c.id.eq(3)), UpdateSet::new().set_column(c.stock, 9)).await;
    assert_eq!(updated.unwrap()[0].stock, 9);
}

#[tokio::test]
async fn find_stream_yields_every_row() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, store) = products(&db).await;
    sqlx::query(
        "INSERT INTO products (id, name, sku, price, stock, attrs, labels, sizes)
         SELECT i, 'p' || i, 's' || i, i, i, '{}', '{}', '{}' FROM generate_series(100, 1099) AS i",
    )
    .execute(pg(&storehaus))
    .await
    .unwrap();

    let stream = store.find_stream(QueryBuilder::new().order_by("id", SortOrder::Asc));
    let rows: Vec<_> = stream.collect().await;
    let ids: Vec<i64> = rows.into_iter().map(|r| r.unwrap().id).collect();
    let expected: Vec<i64> = (1..=5).chain(100..1100).collect();
    assert_eq!(ids, expected);

    let cheap = store.find_stream(QueryBuilder::new().filter(QueryFilter::lt("price", json!(30))));
    let ids: Vec<i64> = cheap.map(|r| r.unwrap().id).collect().await;
    assert_eq!(ids, [1, 2]);

    // Dropping a stream early gives its connection back.
    let mut partial = store.find_stream(QueryBuilder::new());
    assert!(partial.next().await.unwrap().is_ok());
    drop(partial);
    assert_eq!(store.count().await.unwrap(), 1005);
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
    let plan: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN {sql}")).bind(tags).fetch_all(&mut *tx).await.unwrap();
    tx.rollback().await.unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("products_tags_gin"), "the GIN index is not used by\n{sql}\n{plan}");
}

/// Many rows sharing few sort values, for keyset pagination.
#[model]
#[table(name = "entries")]
pub struct Entry {
    #[primary_key]
    pub id: Uuid,
    pub bucket: i32,
    pub label: String,
}

async fn page_through(store: &GenericStore<Entry>, query: impl Fn() -> QueryBuilder) -> Vec<Record<Entry>> {
    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    for _ in 0..100 {
        let mut q = query().limit(37);
        if let Some(cursor) = &cursor {
            // A client hands the cursor back as text.
            let text = cursor.to_string();
            q = q.after(&text.parse::<Cursor>().unwrap());
        }
        let page = store.find_page(q).await.unwrap();
        assert!(page.records.len() <= 37);
        seen.extend(page.records);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
    panic!("pagination did not end");
}

#[tokio::test]
async fn keyset_pagination_visits_every_row_once_in_order() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Entry>(false).await.unwrap();
    let store = GenericStore::<Entry>::new(storehaus.pool().clone(), None, None);
    sqlx::query(
        "INSERT INTO entries (id, bucket, label)
         SELECT gen_random_uuid(), i % 10, 'e' || i FROM generate_series(1, 1000) AS i",
    )
    .execute(pg(&storehaus))
    .await
    .unwrap();

    for descending in [false, true] {
        let order = if descending { SortOrder::Desc } else { SortOrder::Asc };
        let seen = page_through(&store, || QueryBuilder::new().order_by("bucket", order)).await;
        assert_eq!(seen.len(), 1000, "descending={descending}");
        let unique: HashSet<Uuid> = seen.iter().map(|r| r.id).collect();
        assert_eq!(unique.len(), 1000, "a row was returned twice (descending={descending})");
        for pair in seen.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let bucket_ok = if descending { a.bucket >= b.bucket } else { a.bucket <= b.bucket };
            assert!(bucket_ok && (a.bucket != b.bucket || a.id < b.id), "out of order: {a:?} then {b:?}");
        }
    }

    // A filter and a page size that divides the matches exactly: the last full page has a cursor, the
    // page after it is empty and has none.
    let filtered = || QueryBuilder::new().filter(QueryFilter::lt("bucket", json!(1))).order_by("label", SortOrder::Asc);
    let all: Vec<_> = store.find(filtered()).await.unwrap().into_iter().map(|r| r.id).collect();
    let paged: Vec<_> = page_through(&store, filtered).await.into_iter().map(|r| r.id).collect();
    assert_eq!(paged, all);

    let exact = store.find_page(QueryBuilder::new().filter(QueryFilter::eq("bucket", json!(3))).limit(100)).await;
    let exact = exact.unwrap();
    assert_eq!(exact.records.len(), 100);
    let next = exact.next.expect("a full page has a cursor");
    let rest = store
        .find_page(QueryBuilder::new().filter(QueryFilter::eq("bucket", json!(3))).limit(100).after(&next))
        .await
        .unwrap();
    assert!(rest.records.is_empty() && rest.next.is_none());

    // A nullable sort key has no place in the keyset predicate.
    let by_nullable = QueryBuilder::new().order_by("label", SortOrder::Asc).limit(5);
    let first = store.find_page(by_nullable.clone()).await.unwrap().next.unwrap();
    assert!(store.find_page(by_nullable.after(&first)).await.is_ok(), "label is NOT NULL, so this pages");

    let err = store.find_page(QueryBuilder::new()).await.unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "find_page needs a limit: {err:?}");
    let err = store.find_page(QueryBuilder::new().order_by("label", SortOrder::Asc).limit(5).after(&next)).await;
    assert!(matches!(err, Err(StoreError::Validation { .. })), "a cursor of another order: {err:?}");
}

/// Sort keys whose values differ by less than a millisecond or are not exact in decimal.
#[model]
#[table(name = "readings")]
pub struct Reading {
    #[primary_key]
    pub id: i64,
    pub taken_at: DateTime<Utc>,
    pub value: f64,
}

#[tokio::test]
async fn cursors_keep_microseconds_and_exact_floats() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Reading>(false).await.unwrap();
    let store = GenericStore::<Reading>::new(storehaus.pool().clone(), None, None);
    sqlx::query(
        "INSERT INTO readings (id, taken_at, value)
         SELECT i, '2024-01-01T00:00:00Z'::timestamptz + (i % 13) * interval '1 microsecond', (i % 11) * 0.1
         FROM generate_series(1, 300) AS i",
    )
    .execute(pg(&storehaus))
    .await
    .unwrap();

    for (field, order) in [("taken_at", SortOrder::Asc), ("taken_at", SortOrder::Desc), ("value", SortOrder::Desc)] {
        let query = || QueryBuilder::new().order_by(field, order);
        let everything: Vec<i64> = store.find(query()).await.unwrap().iter().map(|r| r.id).collect();
        let mut paged = Vec::new();
        let mut cursor: Option<Cursor> = None;
        loop {
            let q = match &cursor {
                Some(c) => query().limit(7).after(c),
                None => query().limit(7),
            };
            let page = store.find_page(q).await.unwrap();
            paged.extend(page.records.iter().map(|r| r.id));
            match page.next {
                Some(next) => cursor = Some(next.to_string().parse().unwrap()),
                None => break,
            }
        }
        assert_eq!(paged, everything, "paging by {field} {order:?} skipped or repeated rows");
    }
}

/// Table and field names that are SQL keywords.
#[model]
#[table(name = "order", soft_delete)]
pub struct Order {
    #[primary_key]
    pub id: i64,
    pub r#type: String,
    pub user: String,
    pub select: i32,
}

#[tokio::test]
async fn keyword_names_work_in_every_statement() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Order>(false).await.unwrap();
    let store = GenericStore::<Order>::new(storehaus.pool().clone(), None, None);
    let order = |id: i64, ty: &str, select: i32| Order { id, r#type: ty.to_owned(), user: "u".to_owned(), select };

    store.create(order(1, "a", 1), Some(vec!["t".into()])).await.unwrap();
    store.create_many(vec![order(2, "b", 2), order(3, "a", 3)], None).await.unwrap();
    store.update(&1, order(1, "a", 10), None).await.unwrap();
    store.add_tags(&2, ["t"]).await.unwrap();
    let q = QueryBuilder::new()
        .filter(QueryFilter::eq("type", json!("a")))
        .filter(QueryFilter::gte("select", json!(1)))
        .order_by("user", SortOrder::Asc)
        .order_by("select", SortOrder::Desc);
    assert_eq!(store.find(q.clone()).await.unwrap().iter().map(|o| o.id).collect::<Vec<_>>(), [1, 3]);
    let page = store.find_page(q.clone().limit(1)).await.unwrap();
    let rest = store.find_page(q.limit(1).after(&page.next.unwrap())).await.unwrap();
    assert_eq!(rest.records[0].id, 3);
    let updated = store
        .update_where(QueryBuilder::new().filter_by_tag("t"), UpdateSet::new().increment("select", json!(100)))
        .await
        .unwrap();
    assert_eq!(updated.len(), 2);
    assert_eq!(store.delete_where(QueryBuilder::new().filter(QueryFilter::eq("type", json!("b")))).await.unwrap(), 1);
    store.restore(&2).await.unwrap();
    assert!(store.force_delete(&3).await.unwrap());
    let rows: Vec<(i64, String, i32)> = sqlx::query_as(r#"SELECT id, "type", "select" FROM "order" ORDER BY id"#)
        .fetch_all(pg(&storehaus))
        .await
        .unwrap();
    assert_eq!(rows, [(1, "a".to_owned(), 110), (2, "b".to_owned(), 102)]);
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

#[tokio::test]
async fn for_update_skip_locked_hands_out_disjoint_batches() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Job>(false).await.unwrap();
    let store = GenericStore::<Job>::new(storehaus.pool().clone(), None, None);
    for id in 1..=12 {
        store.create(Job { id, state: "ready".into(), worker: None }, None).await.unwrap();
    }
    let ready = || {
        QueryBuilder::new()
            .filter(QueryFilter::eq("state", json!("ready")))
            .order_by("id", SortOrder::Asc)
            .limit(5)
            .for_update_skip_locked()
    };

    let first = storehaus.begin().await.unwrap();
    let second = storehaus.begin().await.unwrap();
    let a = store.with_transaction(&first).find(ready()).await.unwrap();
    let b = store.with_transaction(&second).find(ready()).await.unwrap();
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
    let left = store.find(ready()).await.unwrap();
    assert_eq!(left.iter().map(|j| j.id).collect::<Vec<_>>(), [11, 12]);
}

#[tokio::test]
async fn find_page_refuses_a_nullable_sort_column_before_running() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Product>(false).await.unwrap();
    let store = GenericStore::<Product>::new(storehaus.pool().clone(), None, None);
    let err = store.find_page(QueryBuilder::new().order_by("rating", SortOrder::Asc).limit(5)).await.unwrap_err();
    assert!(matches!(&err, StoreError::Validation { field: Some(f), .. } if f == "rating"), "{err}");
    let err = store.find_page(QueryBuilder::new()).await.unwrap_err();
    assert!(err.to_string().contains("needs a limit"), "{err}");
}
