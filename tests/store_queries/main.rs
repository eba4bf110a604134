//! `GenericStore` queries — filters, tags, ordering, paging, bulk writes, streaming and row locking —
//! on both backends (PostgreSQL-only features in [`postgres_only`], SQLite's refusals in
//! [`sqlite_refusals`]).

use chrono::{DateTime, Utc};
use storehaus::prelude::*;
use storehaus_suite::raw::rows;
use storehaus_suite::{TestBackend, on_both_backends, raw};

mod deep_filters;
mod filters;
mod json_ranges;
mod paging;
mod paging_backward;
mod postgres_only;
mod sqlite_refusals;
mod writes;

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

async fn products<B: TestBackend>(db: &B) -> (StoreHaus, GenericStore<Product>) {
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
    rows(
        storehaus,
        r#"SELECT "id", "name", "price", "stock", "__updated_at__", "__deleted_at__" FROM "products" ORDER BY "id""#,
    )
    .await
}

/// The database's clock: PostgreSQL's `now()`; on SQLite, which runs in this process, the system
/// clock as SQLite reads it (to the millisecond, rounded down).
async fn database_now<B: TestBackend>(storehaus: &StoreHaus) -> DateTime<Utc> {
    let sql = if B::NAME == "postgres" { "SELECT now()" } else { "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')" };
    let (now,): (DateTime<Utc>,) = rows(storehaus, sql).await.remove(0);
    now
}

/// The SQL literal of an empty array column (PostgreSQL's array text, SQLite's JSON array).
fn empty_array<B: TestBackend>() -> &'static str {
    if B::NAME == "postgres" { "'{}'" } else { "'[]'" }
}

/// Columns whose values SQLite stores as text that does not sort like the values.
#[model]
#[table(name = "prices")]
pub struct Price {
    #[primary_key]
    pub id: i64,
    pub amount: Decimal,
    pub meta: serde_json::Value,
    pub codes: Vec<String>,
}

/// Three prices: `1.50`, `10`, `2.25`.
async fn prices<B: TestBackend>(db: &B) -> (StoreHaus, GenericStore<Price>) {
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Price>(false).await.unwrap();
    let store = GenericStore::<Price>::new(storehaus.pool().clone(), None, None);
    let price = |id: i64, amount: Decimal, a: i64, codes: &[&str]| Price {
        id,
        amount,
        meta: json!({ "a": a }),
        codes: codes.iter().map(|c| (*c).to_owned()).collect(),
    };
    store.create(price(1, Decimal::new(150, 2), 1, &["x"]), None).await.unwrap();
    store.create(price(2, Decimal::new(10, 0), 2, &["y"]), None).await.unwrap();
    store.create(price(3, Decimal::new(225, 2), 3, &[]), None).await.unwrap();
    (storehaus, store)
}

fn price_ids(records: &[Record<Price>]) -> Vec<i64> {
    records.iter().map(|r| r.id).collect()
}
