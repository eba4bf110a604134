//! Narrow integers (`i8`, `u8`, `u16`, `u32`) keep their Rust type's range on every path that
//! writes or compares a value, though their column is wider: a value out of range is
//! `Validation` naming the field, changes no row, and the table stays readable. Also the floats
//! at the edges of what each backend keeps.

use super::*;
use serde_json::json;
use storehaus::query::{QueryBuilder, QueryFilter, UpdateSet};
use storehaus::schema::Change;

#[model]
#[table(name = "gauges")]
#[derive(PartialEq)]
pub struct Gauge {
    #[primary_key]
    pub id: i64,
    pub tiny: i8,
    pub small: u16,
    pub count: u32,
    pub byte: u8,
    pub maybe: Option<i8>,
    pub ratio: f64,
}

fn gauge(id: i64) -> Gauge {
    Gauge { id, tiny: 127, small: 65_535, count: 0, byte: 255, maybe: None, ratio: 1.5 }
}

async fn gauges<B: TestBackend>(db: &B) -> (StoreHaus, GenericStore<Gauge>) {
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Gauge>(false).await.unwrap();
    let store = GenericStore::<Gauge>::new(storehaus.pool().clone(), None, None);
    (storehaus, store)
}

/// `(tiny, small, count, byte)` of row `id`, read without StoreHaus.
async fn stored(storehaus: &StoreHaus, id: i64) -> (i64, i64, i64, i64) {
    let pick = |column: &str| format!(r#"SELECT CAST("{column}" AS BIGINT) FROM "gauges" WHERE "id" = {id}"#);
    (
        raw::int(storehaus, &pick("tiny")).await,
        raw::int(storehaus, &pick("small")).await,
        raw::int(storehaus, &pick("count")).await,
        raw::int(storehaus, &pick("byte")).await,
    )
}

/// The error is `Validation` about `field`.
fn assert_range_error(result: Result<impl std::fmt::Debug, StoreError>, field: &str) {
    match result {
        Err(StoreError::Validation { field: Some(f), message }) if f == field => {
            assert!(message.contains("out of range"), "{message}");
        }
        other => panic!("expected a Validation error on `{field}`, got {other:?}"),
    }
}

/// Both rows are exactly as created, and every read of the table still works.
async fn unchanged(storehaus: &StoreHaus, store: &GenericStore<Gauge>) {
    for id in [1, 2] {
        assert_eq!(stored(storehaus, id).await, (127, 65_535, 0, 255));
        assert_eq!(*store.get_by_id(&id).await.unwrap().unwrap(), gauge(id));
    }
    assert_eq!(store.list_all().await.unwrap().len(), 2);
}

async fn two_rows<B: TestBackend>(db: &B) -> (StoreHaus, GenericStore<Gauge>) {
    let (storehaus, store) = gauges(db).await;
    store.create_many(vec![gauge(1), gauge(2)], None).await.unwrap();
    (storehaus, store)
}

fn by_id(id: i64) -> QueryBuilder {
    QueryBuilder::new().filter(QueryFilter::eq("id", json!(id)))
}

on_both_backends! {
    /// `i8` 127 + 1 is refused by the table's guard; nothing changes.
    async fn i8_increment_past_max_changes_no_row(db) {
        let (storehaus, store) = two_rows(&db).await;
        let all = QueryBuilder::new().all_rows();
        assert_range_error(store.update_where(all, UpdateSet::new().increment("tiny", json!(1))).await, "tiny");
        assert_range_error(store.update_where(by_id(1), UpdateSet::new().increment("tiny", json!(1))).await, "tiny");
        unchanged(&storehaus, &store).await;
    }

    /// `u16` 65535 + 1 is refused.
    async fn u16_increment_past_max_changes_no_row(db) {
        let (storehaus, store) = two_rows(&db).await;
        assert_range_error(store.update_where(by_id(2), UpdateSet::new().increment("small", json!(1))).await, "small");
        unchanged(&storehaus, &store).await;
    }

    /// `u32` 0 − 1 is refused, whether written as a decrement or a negative increment.
    async fn u32_decrement_below_zero_changes_no_row(db) {
        let (storehaus, store) = two_rows(&db).await;
        assert_range_error(store.update_where(by_id(1), UpdateSet::new().decrement("count", json!(1))).await, "count");
        assert_range_error(store.update_where(by_id(1), UpdateSet::new().increment("count", json!(-1))).await, "count");
        unchanged(&storehaus, &store).await;
    }

    /// `u8` 255 + 1 is refused too.
    async fn u8_increment_past_max_changes_no_row(db) {
        let (storehaus, store) = two_rows(&db).await;
        assert_range_error(store.update_where(by_id(1), UpdateSet::new().increment("byte", json!(1))).await, "byte");
        unchanged(&storehaus, &store).await;
    }

    /// Several assignments in one statement: the one out of range undoes the others.
    async fn one_assignment_out_of_range_undoes_the_statement(db) {
        let (storehaus, store) = two_rows(&db).await;
        let set = UpdateSet::new().increment("count", json!(5)).decrement("tiny", json!(1)).increment("small", json!(1));
        assert_range_error(store.update_where(QueryBuilder::new().all_rows(), set).await, "small");
        unchanged(&storehaus, &store).await;
    }

    /// `set` of 200 on an `i8` is refused before anything runs; so are other out-of-range sets.
    async fn set_out_of_range_is_refused(db) {
        let (storehaus, store) = two_rows(&db).await;
        assert_range_error(store.update_where(by_id(1), UpdateSet::new().set("tiny", json!(200))).await, "tiny");
        assert_range_error(store.update_where(by_id(1), UpdateSet::new().set("small", json!(-1))).await, "small");
        assert_range_error(
            store.update_where(by_id(1), UpdateSet::new().set("count", json!(4_294_967_296_i64))).await,
            "count",
        );
        assert_range_error(store.update_where(by_id(1), UpdateSet::new().set("maybe", json!(-129))).await, "maybe");
        unchanged(&storehaus, &store).await;
    }

    /// A filter value the field cannot hold is refused on every query path.
    async fn filter_out_of_range_is_refused(db) {
        let (storehaus, store) = two_rows(&db).await;
        let eq = || QueryBuilder::new().filter(QueryFilter::eq("tiny", json!(200)));
        assert_range_error(store.find(eq()).await, "tiny");
        assert_range_error(store.count_where(eq()).await, "tiny");
        assert_range_error(store.delete_where(eq()).await, "tiny");
        assert_range_error(store.update_where(eq(), UpdateSet::new().set("tiny", json!(1))).await, "tiny");
        let listed = QueryBuilder::new().filter(QueryFilter::in_values("count", vec![json!(1), json!(-1)]));
        assert_range_error(store.find(listed).await, "count");
        let greater = QueryBuilder::new().filter(QueryFilter::gt("small", json!(70_000)));
        assert_range_error(store.find(greater).await, "small");
        unchanged(&storehaus, &store).await;
    }

    /// Values at the ends of each range work on every path, typed filters included.
    async fn values_at_the_edges_work(db) {
        let (storehaus, store) = two_rows(&db).await;
        let down = UpdateSet::new().decrement("tiny", json!(255)).decrement("small", json!(65_535)).increment("count", json!(4_294_967_295_i64));
        let changed = store.update_where(by_id(1), down).await.unwrap();
        assert_eq!((changed[0].tiny, changed[0].small, changed[0].count), (-128, 0, u32::MAX));
        assert_eq!(stored(&storehaus, 1).await, (-128, 0, 4_294_967_295, 255));
        let typed = QueryBuilder::new().filter(Gauge::columns().count.eq(u32::MAX)).filter(Gauge::columns().tiny.eq(-128));
        assert_eq!(store.find(typed).await.unwrap().len(), 1);
        let set = UpdateSet::new().set("maybe", json!(-128)).set_column(Gauge::columns().byte, 0_u8);
        store.update_where(by_id(2), set).await.unwrap();
        let read = store.get_by_id(&2).await.unwrap().unwrap();
        assert_eq!((read.maybe, read.byte), (Some(-128), 0));
        assert_eq!(store.list_all().await.unwrap().len(), 2);
    }

    /// The guard holds against SQL that does not go through StoreHaus.
    async fn the_table_refuses_raw_writes_out_of_range(db) {
        let (storehaus, store) = two_rows(&db).await;
        let pool = storehaus.pool();
        let sql = r#"UPDATE "gauges" SET "tiny" = "tiny" + 1"#;
        let failed = match (pool.as_postgres(), pool.as_sqlite()) {
            (Some(pg), _) => sqlx::query(sql).execute(pg).await.is_err(),
            (_, Some(lite)) => sqlx::query(sql).execute(lite).await.is_err(),
            _ => unreachable!(),
        };
        assert!(failed);
        unchanged(&storehaus, &store).await;
    }

    /// A table made before the guards existed gets them from `auto_migrate`, and only once.
    async fn auto_migrate_adds_missing_guards(db) {
        let (storehaus, store) = two_rows(&db).await;
        let pool = storehaus.pool();
        if pool.as_postgres().is_some() {
            raw::execute(&storehaus, r#"ALTER TABLE "gauges" DROP CONSTRAINT "gauges_tiny_i8_range""#).await;
        } else {
            raw::execute(&storehaus, r#"DROP TRIGGER "gauges_tiny_i8_range"; DROP TRIGGER "gauges_tiny_i8_range__update""#).await;
        }
        let plan = storehaus.plan::<Gauge>().await.unwrap();
        let changes: Vec<&Change> = plan.steps.iter().map(|s| &s.change).collect();
        assert_eq!(
            changes,
            [&Change::AddRangeCheck { name: "gauges_tiny_i8_range".into(), column: "tiny".into() }],
            "{plan}"
        );
        storehaus.auto_migrate::<Gauge>(false).await.unwrap();
        assert!(storehaus.plan::<Gauge>().await.unwrap().is_empty());
        assert_range_error(store.update_where(by_id(1), UpdateSet::new().increment("tiny", json!(1))).await, "tiny");
        unchanged(&storehaus, &store).await;
    }

    /// `-0.0` keeps its sign on PostgreSQL; SQLite stores it as `0.0` (docs/backends.md), which
    /// still compares equal to it. Other float edges read back exactly on both.
    async fn float_edges_read_back(db) {
        let (_storehaus, store) = gauges(&db).await;
        let values = [-0.0, f64::MAX, f64::MIN_POSITIVE, -1e-300, f64::INFINITY, f64::NEG_INFINITY];
        for (id, ratio) in values.into_iter().enumerate() {
            let id = id as i64;
            store.create(Gauge { ratio, ..gauge(id) }, None).await.unwrap();
            let read = store.get_by_id(&id).await.unwrap().unwrap().ratio;
            assert_eq!(read, ratio);
            let negative_zero_kept = db_name(&db) == "postgres" || ratio != 0.0;
            assert_eq!(read.is_sign_negative(), ratio.is_sign_negative() && negative_zero_kept, "{ratio}");
        }
        let zero = QueryBuilder::new().filter(QueryFilter::eq("ratio", json!(0.0)));
        assert_eq!(store.find(zero).await.unwrap().len(), 1);
    }
}

fn db_name<B: TestBackend>(_: &B) -> &'static str {
    B::NAME
}
