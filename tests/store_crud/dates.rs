//! Dates and times outside the years every backend stores (1 to 9999) are refused with a
//! `Validation` error naming the field, on every write path and in filters, before anything is
//! written; the table stays as it was and readable.

use super::*;
use chrono::{NaiveDate, NaiveDateTime};
use serde_json::json;

/// One field of every date and time type, an array of dates among them.
#[model]
#[table(name = "calendar_entries")]
#[derive(PartialEq)]
pub struct Entry {
    #[primary_key]
    pub id: i64,
    pub title: String,
    pub at: DateTime<Utc>,
    pub local: Option<NaiveDateTime>,
    pub day: Option<NaiveDate>,
    pub days: Vec<NaiveDate>,
}

fn day(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 1, 1).unwrap()
}

fn entry(id: i64) -> Entry {
    Entry {
        id,
        title: format!("entry {id}"),
        at: day(2024).and_hms_opt(12, 0, 0).unwrap().and_utc(),
        local: Some(day(2024).and_hms_opt(8, 30, 0).unwrap()),
        day: Some(day(2024)),
        days: vec![day(1), NaiveDate::from_ymd_opt(9999, 12, 31).unwrap()],
    }
}

/// Each field set to a value outside 1..=9999, as `(field, year, entry)`. The first is what serde
/// accepts from an API's JSON, `"+10000-01-01T00:00:00Z"`.
fn out_of_range(id: i64) -> Vec<(&'static str, i32, Entry)> {
    let far: DateTime<Utc> = serde_json::from_value(json!("+10000-01-01T00:00:00Z")).unwrap();
    vec![
        ("at", 10000, Entry { at: far, ..entry(id) }),
        ("at", 0, Entry { at: day(0).and_hms_opt(0, 0, 0).unwrap().and_utc(), ..entry(id) }),
        ("local", 10000, Entry { local: Some(day(10000).and_hms_opt(0, 0, 0).unwrap()), ..entry(id) }),
        ("day", -1, Entry { day: Some(day(-1)), ..entry(id) }),
        ("days", 10000, Entry { days: vec![day(2024), day(10000)], ..entry(id) }),
    ]
}

/// `result` is a `Validation` error for `field` about `year`.
#[track_caller]
fn assert_refused<R: std::fmt::Debug>(result: Result<R, StoreError>, field: Option<&str>, year: i32, path: &str) {
    match result {
        Err(StoreError::Validation { field: got, message }) => {
            assert_eq!(got.as_deref(), field, "{path}: {message}");
            assert!(message.contains(&format!("year {year} ")), "{path}: {message}");
        }
        other => panic!("{path}: expected a Validation error for {field:?}, got {other:?}"),
    }
}

on_both_backends! {
    async fn dates_outside_years_1_to_9999_are_refused_on_every_write_path(db) {
        let storehaus = db.storehaus().await;
        storehaus.auto_migrate::<Entry>(false).await.unwrap();
        let store = GenericStore::<Entry>::new(storehaus.pool().clone(), None, None);
        let kept = store.create(entry(1), None).await.unwrap();

        for (field, year, bad) in out_of_range(1) {
            let fresh = Entry { id: 2, ..bad.clone() };
            let f = Some(field);
            assert_refused(store.create(fresh.clone(), None).await, f, year, "create");
            assert_refused(store.create_many(vec![entry(3), fresh.clone()], None).await, f, year, "create_many");
            assert_refused(store.upsert(fresh.clone(), None).await, f, year, "upsert of a new row");
            assert_refused(store.upsert(bad.clone(), None).await, f, year, "upsert of an existing row");
            assert_refused(store.upsert_many(vec![bad.clone(), fresh.clone()], None).await, f, year, "upsert_many");
            assert_refused(store.update(&1, bad.clone(), None).await, f, year, "update");
            assert_refused(store.update_many(vec![(1, bad.clone())]).await, f, year, "update_many");
            let record = Record::new(bad.clone(), kept.system().clone());
            assert_refused(store.save(&record).await, f, year, "save");

            let in_tx = storehaus
                .transaction(|tx| {
                    let store = store.with_transaction(&tx);
                    async move { store.create(fresh, None).await }
                })
                .await;
            assert_refused(in_tx, f, year, "create in a transaction");
        }

        // `update_where` values, typed and in their JSON form.
        let c = Entry::columns();
        let first = || QueryBuilder::new().filter(c.id.eq(1));
        let far: DateTime<Utc> = serde_json::from_value(json!("+10000-01-01T00:00:00Z")).unwrap();
        let result = store.update_where(first(), UpdateSet::new().set_column(c.at, far)).await;
        assert_refused(result, Some("at"), 10000, "update_where, typed");
        let result = store.update_where(first(), UpdateSet::new().set("local", json!("+10000-01-01T00:00:00"))).await;
        assert_refused(result, Some("local"), 10000, "update_where, JSON");
        let result = store.update_where(first(), UpdateSet::new().set("day", json!("0000-12-31"))).await;
        assert_refused(result, Some("day"), 0, "update_where, JSON date");
        let result = store.update_where(first(), UpdateSet::new().set("days", json!(["2024-01-01", "+10000-01-01"]))).await;
        assert_refused(result, Some("days"), 10000, "update_where, JSON array");

        // Filters are refused too: on SQLite such a value would compare as text out of order.
        let result = store.find(QueryBuilder::new().filter(c.at.lt(far))).await;
        assert_refused(result, None, 10000, "a filter");
        let result = store.count_where(QueryBuilder::new().filter(QueryFilter::gt("day", json!("-0001-01-01")))).await;
        assert_refused(result, None, -1, "a JSON filter");

        // Nothing was written, and the table reads back whole.
        assert_eq!(row_count(&storehaus, "calendar_entries").await, 1);
        let all = store.list_all().await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(*all[0].data(), entry(1));
        assert_eq!(store.get_by_id(&1).await.unwrap().map(Record::into_inner), Some(entry(1)));

        // The edges of the range are stored and read back unchanged.
        let edges = Entry {
            id: 4,
            at: day(1).and_hms_opt(0, 0, 0).unwrap().and_utc(),
            local: Some(NaiveDate::from_ymd_opt(9999, 12, 31).unwrap().and_hms_micro_opt(23, 59, 59, 999_999).unwrap()),
            ..entry(4)
        };
        store.create(edges.clone(), None).await.unwrap();
        let found = store.find(QueryBuilder::new().filter(c.at.lt(day(2).and_hms_opt(0, 0, 0).unwrap().and_utc()))).await;
        assert_eq!(found.unwrap().into_iter().map(Record::into_inner).collect::<Vec<_>>(), [edges]);
    }
}
