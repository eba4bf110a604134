//! Model definition in depth: one model using every kind of field type StoreHaus maps (integers,
//! floats, decimals, dates and times, UUIDs, JSON, arrays, `Option`s and an enum of its own), with
//! single and composite indexes, unique constraints, soft delete and optimistic versioning. It
//! prints the metadata `#[model]` generates and the migration plan, round-trips every type, and
//! walks through soft delete (`delete`, `get_by_id_with_deleted`, `restore`, `force_delete`),
//! version numbers and unique violations. Two more models show a key the database assigns
//! (`#[table(auto_increment)]`) and a composite key (`#[primary_key]` on two fields).
//!
//! ```text
//! cargo run --example 02_model_definition
//! ```
//!
//! It reads its configuration with `AppConfig::load()`: `storehaus.toml` or `$STOREHAUS_CONFIG`,
//! overridden by `DATABASE_URL` and `STOREHAUS_*` variables (see docs/configuration.md); e.g.
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/app` or `DATABASE_URL=sqlite::memory:`.
//! The tables `models_items`, `models_restocks` and `models_stock_levels` are recreated on every
//! run. Every step reads its result back from the
//! database and the example exits non-zero when one is not what it should be.

use storehaus::prelude::*;
use storehaus::types::{ColumnType, SqlType, Value, ValueError};

/// An enum of our own, stored as text through `SqlType`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Category {
    Tools,
    Garden,
}

impl SqlType for Category {
    const COLUMN_TYPE: ColumnType = String::COLUMN_TYPE;

    fn to_value(&self) -> Result<Value, ValueError> {
        Ok(Value::Text(
            match self {
                Category::Tools => "tools",
                Category::Garden => "garden",
            }
            .into(),
        ))
    }

    fn from_value(value: Value) -> Result<Self, ValueError> {
        match String::from_value(value)?.as_str() {
            "tools" => Ok(Category::Tools),
            "garden" => Ok(Category::Garden),
            other => Err(ValueError::new(format!("unknown category {other:?}"))),
        }
    }
}

/// Any serde type can live in a JSON column through `Json<T>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dimensions {
    pub width_cm: f64,
    pub height_cm: f64,
}

#[model]
#[table(name = "models_items", soft_delete, versioned)]
#[index(category, price)] // composite index: "this category, by price"
#[unique(vendor, vendor_sku)] // one item per vendor part number
#[derive(PartialEq)]
pub struct Item {
    #[primary_key]
    pub id: Uuid,
    #[field(create, update)]
    #[unique]
    pub sku: String,
    #[field(create)] // who supplies it is fixed when the item is created
    pub vendor: String,
    #[field(create)]
    pub vendor_sku: i32,
    #[index]
    pub category: Category,
    pub shelf: u8, // stored in a SMALLINT, kept in 0..=255 by the table itself
    pub units_sold: i64,
    pub weight_kg: f64,
    pub price: Decimal,
    pub in_stock: bool,
    pub released_on: NaiveDate,
    pub restocked_at: DateTime<Utc>,
    pub discontinued_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
    pub attributes: serde_json::Value,
    pub dimensions: Json<Dimensions>,
    pub keywords: Vec<String>,
    pub bin_numbers: Vec<i32>,
}

/// A key the database assigns: create with `id: 0`, and the record returned carries the key.
#[model]
#[table(name = "models_restocks", auto_increment)]
pub struct Restock {
    #[primary_key]
    pub id: i64,
    pub sku: String,
    pub units: i32,
}

/// A composite key: one row per (warehouse, sku); the key is the tuple `(String, String)`.
#[model]
#[table(name = "models_stock_levels")]
pub struct StockLevel {
    #[primary_key]
    pub warehouse: String,
    #[primary_key]
    pub sku: String,
    pub units: i32,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = AppConfig::load()?;
    let storehaus = StoreHaus::new(config.database.clone()).await?;
    let backend = storehaus.pool().backend_name();
    println!("Connected to {} ({backend}).", config.database);

    // What #[model] generated: the table's metadata, known at compile time.
    let table = Item::TABLE;
    println!(
        "`{}` (model {}): soft_delete={}, versioned={}",
        table.name, table.model, table.soft_delete, table.versioned
    );
    for column in table.columns {
        let written = match (column.create, column.update) {
            (true, true) => "create+update",
            (true, false) => "create only",
            (false, true) => "update only",
            (false, false) => "readonly",
        };
        let nullable = if column.nullable { "NULL" } else { "NOT NULL" };
        println!("  {:<16} {:<12} {nullable:<8} {written}", column.name, column.ty.to_string());
    }
    for index in table.indexes {
        println!("  {} on ({})", if index.unique { "unique index" } else { "index" }, index.columns.join(", "));
    }
    let system: Vec<&str> = table.system_columns().map(|c| c.name).collect();
    println!("  system columns: {}", system.join(", "));
    assert_eq!(table.primary_key().name, "id", "the primary key should be `id`");
    assert_eq!(table.column("category").map(|c| c.ty), Some(String::COLUMN_TYPE), "the enum should be stored as text");
    assert_eq!(table.column("keywords").map(|c| c.ty), Some(<Vec<String>>::COLUMN_TYPE), "keywords is a text array");
    assert!(table.column("note").is_some_and(|c| c.nullable), "an Option field should be nullable");
    assert_eq!(table.indexes.len(), 4, "sku, (vendor, vendor_sku), category and (category, price)");
    let expected = ["__created_at__", "__updated_at__", "__tags__", "__deleted_at__", "__version__"];
    assert_eq!(system, expected, "soft_delete and versioned add __deleted_at__ and __version__");

    // The DDL auto_migrate would run now, without running it: the whole table on a fresh
    // database, nothing when an earlier run left a matching table.
    let plan = storehaus.plan::<Item>().await?;
    if !plan.is_empty() {
        print!("Plan ({backend} dialect), {} statements:\n{plan}", plan.steps.len());
    }
    // `true` drops the table first, so every run starts empty; the returned plan is what ran.
    let ran = storehaus.auto_migrate::<Item>(true).await?;
    if plan.is_empty() {
        print!("Plan: the table already matches the model. auto_migrate(true) recreated it:\n{ran}");
    } else {
        println!("auto_migrate(true) ran {} statements.", ran.steps.len());
    }
    assert!(storehaus.plan::<Item>().await?.is_empty(), "after auto_migrate the plan should be empty");

    let items = GenericStore::<Item>::new(storehaus.pool().clone(), None, None);

    // Round trip: every value reads back exactly as written.
    let full = Item {
        id: Uuid::new_v4(),
        sku: "HAM-001".into(),
        vendor: "Acme".into(),
        vendor_sku: 1001,
        category: Category::Tools,
        shelf: 3,
        units_sold: 9_000_000_000,
        weight_kg: 0.685,
        price: Decimal::new(1999, 2),
        in_stock: true,
        released_on: NaiveDate::from_ymd_opt(2024, 2, 29).ok_or("invalid date")?,
        // Both databases keep microseconds: a value with nanoseconds would not read back equal.
        restocked_at: "2024-05-01T12:30:45.123456Z".parse()?,
        discontinued_at: Some("2025-01-31T23:59:59Z".parse()?),
        note: Some("ships with a spare handle".into()),
        attributes: json!({ "material": "steel", "grip": { "kind": "rubber", "sizes": [1, 2] } }),
        dimensions: Json(Dimensions { width_cm: 12.5, height_cm: 33.0 }),
        keywords: vec!["hammer".into(), "claw".into()],
        bin_numbers: vec![4, 8, 15],
    };
    // The same model with every `Option` empty and every collection empty.
    let sparse = Item {
        id: Uuid::new_v4(),
        sku: "RAKE-7".into(),
        vendor: "Acme".into(),
        vendor_sku: 1002,
        category: Category::Garden,
        discontinued_at: None,
        note: None,
        attributes: json!({}),
        keywords: vec![],
        bin_numbers: vec![],
        ..full.clone()
    };
    for item in [&full, &sparse] {
        items.create(item.clone(), None).await?;
        let stored = items.get_by_id(&item.id).await?.ok_or("a created item cannot be read back")?;
        assert_eq!(stored.data(), item, "{} should read back exactly as written", item.sku);
    }
    println!("Round trip: both items read back field for field as written.");

    // Versioned: every update bumps __version__; a write based on an old version is refused.
    let created = items.get_by_id(&full.id).await?.ok_or("the full item is missing")?;
    assert_eq!(created.version(), Some(1), "a new record starts at version 1");
    let updated = items.update(&full.id, Item { units_sold: full.units_sold + 1, ..full.clone() }, None).await?;
    let mut edited = updated.clone();
    edited.in_stock = false;
    let saved = items.save(&edited).await?; // checks that the row is still at `edited`'s version
    assert_eq!((updated.version(), saved.version()), (Some(2), Some(3)), "each update should add one");
    let stale = items.update_versioned(&full.id, full.clone(), None, 1).await;
    assert!(matches!(stale, Err(StoreError::Conflict { .. })), "a stale version should conflict, got {stale:?}");
    let current = items.get_by_id(&full.id).await?.ok_or("the full item is missing")?;
    assert_eq!((current.version(), current.in_stock), (Some(3), false), "the conflict should change nothing");
    println!("Versions: created 1, update 2, save 3; an update expecting version 1 was refused.");

    // Narrow integers keep their Rust range: `shelf` is a `u8` in a SMALLINT column, so an increment
    // past 255 (computed by the database) or a filter value of 300 is refused and changes nothing.
    let hammer = || QueryBuilder::new().filter(QueryFilter::eq("sku", json!("HAM-001")));
    let past_255 = items.update_where(hammer(), UpdateSet::new().increment("shelf", json!(253))).await;
    assert!(
        matches!(&past_255, Err(StoreError::Validation { field: Some(f), .. }) if f == "shelf"),
        "expected a Validation error on shelf, got {past_255:?}"
    );
    let shelf_300 = items.find(QueryBuilder::new().filter(QueryFilter::eq("shelf", json!(300)))).await;
    assert!(matches!(shelf_300, Err(StoreError::Validation { .. })), "300 is no u8, got {shelf_300:?}");
    assert_eq!(items.get_by_id(&full.id).await?.as_ref(), Some(&current), "the refused increment changed nothing");
    println!("Range: shelf 3 + 253 was refused (a u8 holds 0..=255); the row is unchanged.");

    // Unique constraints: a duplicate sku, or a duplicate (vendor, vendor_sku) pair, is refused
    // with a typed error and writes nothing.
    let duplicate_sku = Item { id: Uuid::new_v4(), vendor_sku: 2001, ..full.clone() };
    let duplicate_part = Item { id: Uuid::new_v4(), sku: "HAM-002".into(), ..full.clone() };
    let attempts = [
        (duplicate_sku, "models_items_sku_key", "models_items.sku"),
        (duplicate_part, "models_items_vendor_vendor_sku_key", "models_items.vendor, models_items.vendor_sku"),
    ];
    for (attempt, index, columns) in attempts {
        match items.create(attempt, None).await {
            Err(StoreError::UniqueViolation { constraint }) => {
                // PostgreSQL names the index; SQLite names the columns, in its own message.
                println!("Unique violation, as expected: {constraint}");
                let expected = if backend == "postgres" { constraint == index } else { constraint.ends_with(columns) };
                assert!(expected, "expected a violation of {index} ({columns}), got {constraint}");
            }
            other => return Err(format!("expected a unique violation of {index}, got {other:?}").into()),
        }
    }
    assert_eq!(items.count().await?, 2, "the refused inserts should leave two items");
    assert_eq!(items.get_by_id(&full.id).await?.as_ref(), Some(&current), "the original should be unchanged");

    // Soft delete: the row stays in the table with __deleted_at__ set, hidden from every read.
    assert!(items.delete(&sparse.id).await?, "delete should report that it deleted the rake");
    assert!(items.get_by_id(&sparse.id).await?.is_none(), "a deleted item should be hidden from get_by_id");
    assert_eq!(items.count().await?, 1, "count should leave out the deleted item");
    let listed: Vec<Uuid> = items.list_all().await?.iter().map(|item| item.id).collect();
    assert_eq!(listed, [full.id], "list_all should leave out the deleted item");
    let deleted = items.get_by_id_with_deleted(&sparse.id).await?.ok_or("the deleted row should still exist")?;
    let deleted_at = deleted.deleted_at().ok_or("a deleted row should have deleted_at set")?;
    assert!(deleted.is_deleted(), "is_deleted should agree with deleted_at");
    let in_trash = items.count_where(QueryBuilder::new().only_deleted()).await?;
    assert_eq!(in_trash, 1, "only_deleted should find the rake");
    println!("Soft-deleted {} at {deleted_at}: hidden from get_by_id, list_all and count.", deleted.sku);

    // Writing to a deleted row is refused until it is restored.
    let refused = items.update(&sparse.id, sparse.clone(), None).await;
    assert!(matches!(refused, Err(StoreError::Deleted { .. })), "expected Deleted, got {refused:?}");
    let restored = items.restore(&sparse.id).await?;
    assert_eq!(restored.deleted_at(), None, "a restored row has no deleted_at");
    assert_eq!(items.count().await?, 2, "the restored item should be counted again");
    println!("Restored {}; {} items are live again.", restored.sku, items.count().await?);

    // force_delete removes the row for good, deleted or not.
    let every_row = || items.count_where(QueryBuilder::new().with_deleted());
    items.delete(&sparse.id).await?;
    assert_eq!(every_row().await?, 2, "a soft-deleted row is still in the table");
    assert!(items.force_delete(&sparse.id).await?, "force_delete should report that it removed the rake");
    assert!(items.get_by_id_with_deleted(&sparse.id).await?.is_none(), "force_delete leaves nothing behind");
    assert_eq!(every_row().await?, 1, "the table should hold one row after force_delete");
    println!("Force-deleted the rake: the table now holds {} row.", every_row().await?);

    // Keys the database assigns: inserts leave the key out and return the one assigned; a key
    // given by mistake is refused rather than silently replaced.
    storehaus.auto_migrate::<Restock>(true).await?;
    let restocks = GenericStore::<Restock>::new(storehaus.pool().clone(), None, None);
    let first = restocks.create(Restock::new(0, "HAM-001".into(), 12), None).await?;
    let batch = vec![Restock::new(0, "HAM-001".into(), 6), Restock::new(0, "RAKE-7".into(), 3)];
    let more = restocks.create_many(batch, None).await?;
    let keys: Vec<i64> = std::iter::once(first.id).chain(more.iter().map(|r| r.id)).collect();
    assert!(keys.windows(2).all(|pair| pair[0] < pair[1]), "assigned keys should rise: {keys:?}");
    let stored = restocks.get_by_id(&more[1].id).await?.ok_or("the assigned key should find the row")?;
    assert_eq!((stored.sku.as_str(), stored.units), ("RAKE-7", 3));
    let mistaken = restocks.create(Restock::new(99, "HAM-001".into(), 1), None).await;
    assert!(
        matches!(mistaken, Err(StoreError::Validation { .. })),
        "a key given on create is refused, got {mistaken:?}"
    );
    assert_eq!(restocks.count().await?, 3, "the refused create should write nothing");
    println!("Restocks got keys {keys:?} from the database; a create with id 99 was refused.");

    // A composite key: every by-key call takes the tuple, in field order.
    storehaus.auto_migrate::<StockLevel>(true).await?;
    let levels = GenericStore::<StockLevel>::new(storehaus.pool().clone(), None, None);
    let level = |warehouse: &str, sku: &str, units| StockLevel::new(warehouse.into(), sku.into(), units);
    levels
        .create_many(
            vec![level("north", "HAM-001", 5), level("south", "HAM-001", 9), level("north", "RAKE-7", 2)],
            None,
        )
        .await?;
    let key = ("south".to_owned(), "HAM-001".to_owned());
    levels.update(&key, level("south", "HAM-001", 8), None).await?;
    let south = levels.get_by_id(&key).await?.ok_or("the (south, HAM-001) row should exist")?;
    assert_eq!(south.units, 8, "the update should reach the row of both key values");
    let north = levels.get_by_id(&("north".to_owned(), "HAM-001".to_owned())).await?.ok_or("north is missing")?;
    assert_eq!(north.units, 5, "a row sharing one key value is another row");
    assert_eq!(levels.delete_many(vec![("north".to_owned(), "RAKE-7".to_owned())]).await?, 1);
    let keys: Vec<(String, String)> = levels.list_all().await?.iter().map(|r| r.key()).collect();
    println!("Stock levels by (warehouse, sku): {keys:?}");
    assert_eq!(keys.len(), 2, "delete_many should remove the one row of its key tuple");

    storehaus.close().await;
    println!("all checks passed");
    Ok(())
}
