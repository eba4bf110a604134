//! Batch writes (`create_many`, `upsert`, `upsert_many`, `update_many`, `delete_many`), on
//! PostgreSQL and on SQLite.

use chrono::NaiveTime;
use std::str::FromStr;
use std::time::Duration;
use storehaus::prelude::*;
use storehaus::testing::TestDatabase;
use storehaus::{GenericStore, Record};
use storehaus_suite::{TestBackend, on_both_backends, pg, raw};

#[model]
#[table(name = "batch_items")]
pub struct Item {
    #[primary_key]
    pub id: i64,
    #[unique]
    pub code: String,
    pub n: i32,
}

#[model]
#[table(name = "batch_docs", soft_delete, versioned)]
#[derive(PartialEq)]
pub struct Doc {
    #[primary_key]
    pub id: Uuid,
    #[field(create, update)]
    pub title: String,
    #[field(create)]
    pub author: String,
    pub views: i32,
    pub labels: Vec<String>,
    pub scores: Option<Vec<i64>>,
}

#[model]
#[table(name = "batch_plain")]
pub struct Plain {
    #[primary_key]
    pub id: i32,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub theme: String,
    pub sizes: Vec<u8>,
}

#[model]
#[table(name = "batch_every_type")]
#[derive(PartialEq)]
pub struct Everything {
    #[primary_key]
    pub id: Uuid,
    pub flag: bool,
    pub tiny: i8,
    pub small: i16,
    pub int: i32,
    pub big: i64,
    pub unsigned: u32,
    pub real: f32,
    pub double: f64,
    pub text: String,
    pub maybe_text: Option<String>,
    pub uuid: Uuid,
    pub at: DateTime<Utc>,
    pub local: NaiveDateTime,
    pub day: NaiveDate,
    pub time: NaiveTime,
    pub amount: Decimal,
    pub doc: serde_json::Value,
    pub settings: Json<Settings>,
    pub bytes: Vec<u8>,
    pub maybe_bytes: Option<Vec<u8>>,
    pub names: Vec<String>,
    pub numbers: Option<Vec<i64>>,
    pub flags: Vec<bool>,
    pub smalls: Vec<i16>,
    pub ints: Vec<i32>,
    pub reals: Vec<f32>,
    pub doubles: Vec<f64>,
    pub uuids: Vec<Uuid>,
    pub stamps: Vec<DateTime<Utc>>,
    pub locals: Vec<NaiveDateTime>,
    pub days: Vec<NaiveDate>,
    pub times: Vec<NaiveTime>,
    pub amounts: Vec<Decimal>,
    pub docs: Vec<serde_json::Value>,
}

/// A model written for the original StoreHaus: its JSON fields are sqlx's wrapper.
#[model]
#[table(name = "batch_sqlx_json")]
#[derive(PartialEq)]
pub struct SqlxJson {
    #[primary_key]
    pub id: Uuid,
    pub settings: sqlx::types::Json<Settings>,
    pub maybe: Option<sqlx::types::Json<Settings>>,
}

fn item(i: i64) -> Item {
    Item { id: i, code: format!("code-{i}"), n: i32::try_from(i % 1000).unwrap() }
}

fn doc(title: &str) -> Doc {
    Doc {
        id: Uuid::new_v4(),
        title: title.to_owned(),
        author: "ada".to_owned(),
        views: 1,
        labels: vec!["x".to_owned(), "y,z".to_owned()],
        scores: Some(vec![1, -2]),
    }
}

fn tags(names: &[&str]) -> Option<Vec<String>> {
    Some(names.iter().map(|t| (*t).to_owned()).collect())
}

async fn setup<M: Model>(storehaus: &StoreHaus) -> GenericStore<M> {
    storehaus.auto_migrate::<M>(false).await.unwrap();
    GenericStore::<M>::new(storehaus.pool().clone(), None, None)
}

/// Lets the server clock move past the previous statement's `now()`.
async fn tick() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}

/// Rows of `table` whose clock columns were set within the last minute and whose tags are
/// exactly `bulk, import`, in the SQL of `B` (SQLite stores times as fixed-width text ending in
/// `Z`, so text order is time order, and tags as a JSON array).
fn fresh_bulk_import_rows_sql<B: TestBackend>() -> &'static str {
    match B::NAME {
        "postgres" => {
            "SELECT count(*) FROM batch_items
             WHERE __created_at__ BETWEEN now() - interval '1 minute' AND now()
               AND __updated_at__ BETWEEN now() - interval '1 minute' AND now()
               AND __tags__ = ARRAY['bulk', 'import']"
        }
        _ => {
            r#"SELECT COUNT(*) FROM "batch_items"
               WHERE "__created_at__" BETWEEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 minute')
                                          AND strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 AND "__updated_at__" BETWEEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 minute')
                                          AND strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 AND "__tags__" = '["bulk","import"]'"#
        }
    }
}

on_both_backends! {
    async fn create_many_writes_a_hundred_thousand_rows_in_one_call(db) {
        let storehaus = db.storehaus().await;
        let store = setup::<Item>(&storehaus).await;

        let records = store.create_many((0..100_000).map(item).collect(), tags(&["bulk", "import"])).await.unwrap();
        assert_eq!(records.len(), 100_000);
        assert!(records.iter().enumerate().all(|(i, r)| r.id == i as i64 && r.tags() == ["bulk", "import"]));
        let at = records[0].created_at();
        assert!(records.iter().all(|r| r.created_at() == at && r.updated_at() == at), "one batch, one clock");
        assert_eq!(store.count().await.unwrap(), 100_000);
        let fresh = raw::int(&storehaus, fresh_bulk_import_rows_sql::<B>()).await;
        assert_eq!(fresh, 100_000);
        let clocks = r#"SELECT COUNT(DISTINCT "__created_at__") + COUNT(DISTINCT "__updated_at__") FROM "batch_items""#;
        assert_eq!(raw::int(&storehaus, clocks).await, 2, "every row of the batch has the same clock");
        let last = store.get_by_id(&99_999).await.unwrap().unwrap();
        assert_eq!((last.code.as_str(), last.n), ("code-99999", 999));
    }
}

fn everything(id: Uuid) -> Everything {
    let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
    let local = at.naive_utc() - chrono::Duration::days(20_000);
    let time = NaiveTime::from_hms_micro_opt(23, 59, 58, 999_999).unwrap();
    let decimal = |s: &str| Decimal::from_str(s).unwrap();
    Everything {
        id,
        flag: true,
        tiny: -8,
        small: i16::MIN,
        int: i32::MAX,
        big: i64::MIN,
        unsigned: u32::MAX,
        real: 0.1,
        double: -2.5e-300,
        text: "quote\" back\\slash {a,b} NULL ünï ☃".to_owned(),
        maybe_text: Some(String::new()),
        uuid: Uuid::new_v4(),
        at,
        local,
        day: local.date(),
        time,
        amount: decimal("-12345.678900"),
        doc: json!({"nested": {"list": [1, "two", null]}}),
        settings: Json(Settings { theme: "dark".to_owned(), sizes: vec![1, 2] }),
        bytes: vec![0, 1, 159, 255],
        maybe_bytes: Some(Vec::new()),
        names: vec!["".to_owned(), "a,b".to_owned(), "{x}".to_owned(), "NULL".to_owned(), "\"q\" \\".to_owned()],
        numbers: Some(vec![i64::MIN, 0, i64::MAX]),
        flags: vec![true, false],
        smalls: vec![i16::MIN, i16::MAX],
        ints: vec![i32::MIN, 7],
        reals: vec![0.1, f32::MAX, f32::MIN_POSITIVE, f32::INFINITY],
        doubles: vec![0.1, 1e300, 5e-324, f64::NEG_INFINITY, -0.0],
        uuids: vec![Uuid::nil(), Uuid::new_v4()],
        stamps: vec![at, DateTime::from_timestamp_micros(-1_234_567_890_123_456).unwrap()],
        locals: vec![local],
        days: vec![NaiveDate::from_ymd_opt(1, 1, 1).unwrap(), NaiveDate::from_ymd_opt(9999, 12, 31).unwrap()],
        times: vec![time, NaiveTime::MIN],
        amounts: vec![decimal("1.50"), decimal("-0.000001"), decimal("79228162514264337593543950335")],
        docs: vec![json!(null), json!({"a": [1, "two"]}), json!("text"), json!(3.5)],
    }
}

fn empty_everything(id: Uuid) -> Everything {
    Everything {
        maybe_text: None,
        maybe_bytes: None,
        names: Vec::new(),
        numbers: None,
        flags: Vec::new(),
        reals: Vec::new(),
        doubles: Vec::new(),
        stamps: Vec::new(),
        amounts: Vec::new(),
        docs: Vec::new(),
        ..everything(id)
    }
}

on_both_backends! {
    async fn every_mapped_type_round_trips_through_create_many(db) {
        let storehaus = db.storehaus().await;
        let store = setup::<Everything>(&storehaus).await;

        let rows = vec![everything(Uuid::new_v4()), empty_everything(Uuid::new_v4())];
        let records = store.create_many(rows.clone(), None).await.unwrap();
        assert_eq!(records.iter().map(|r| r.data().clone()).collect::<Vec<_>>(), rows);
        for row in &rows {
            assert_eq!(&store.get_by_id(&row.id).await.unwrap().unwrap().into_inner(), row);
        }
        assert_eq!(rows[1].numbers, None);

        // The same values written one row at a time are stored identically, NaN included.
        let (single, batched) = (Uuid::new_v4(), Uuid::new_v4());
        let single_row = Everything { doubles: vec![f64::NAN, 1.0], reals: vec![f32::NAN], ..everything(single) };
        let batched_row = Everything { id: batched, ..single_row.clone() };
        store.create(single_row, None).await.unwrap();
        store.create_many(vec![batched_row], None).await.unwrap();
        let both = format!(r#"FROM "batch_every_type" WHERE "id" IN ('{single}', '{batched}')"#);
        assert_eq!(raw::int(&storehaus, &format!("SELECT COUNT(*) {both}")).await, 2);
        let columns = Everything::TABLE.columns.iter().map(|c| c.name).filter(|name| *name != "id");
        for column in columns.chain(["__tags__"]) {
            let sql = format!(r#"SELECT COUNT(DISTINCT CAST("{column}" AS TEXT)) {both}"#);
            assert_eq!(raw::int(&storehaus, &sql).await, 1, "`{column}` is stored the same both ways");
        }
        if B::NAME == "postgres" {
            let stored: Vec<String> = sqlx::query_scalar(
                "SELECT (to_jsonb(t) - 'id' - '__created_at__' - '__updated_at__')::text
                 FROM batch_every_type t WHERE id = ANY($1) ORDER BY id = $2",
            )
            .bind(vec![single, batched])
            .bind(single)
            .fetch_all(pg(&storehaus))
            .await
            .unwrap();
            assert_eq!(stored.len(), 2);
            assert_eq!(stored[0], stored[1]);
            assert!(stored[0].contains(r#""doubles": ["NaN", 1]"#), "{}", stored[0]);
        }
    }
}

on_both_backends! {
    /// `sqlx::types::Json<T>` fields are JSON documents like `Json<T>`: written by `create` and
    /// `create_many`, read back by `get_by_id`, refused when they hold NUL.
    async fn sqlx_json_fields_round_trip(db) {
        let storehaus = db.storehaus().await;
        let store = setup::<SqlxJson>(&storehaus).await;
        let settings = |theme: &str| sqlx::types::Json(Settings { theme: theme.to_owned(), sizes: vec![0, 255] });

        let one = SqlxJson { id: Uuid::new_v4(), settings: settings("dark"), maybe: Some(settings("light")) };
        let two = SqlxJson { id: Uuid::new_v4(), settings: settings("plain"), maybe: None };
        assert_eq!(store.create(one.clone(), None).await.unwrap().into_inner(), one);
        assert_eq!(store.create_many(vec![two.clone()], None).await.unwrap()[0].data(), &two);
        for row in [&one, &two] {
            assert_eq!(&store.get_by_id(&row.id).await.unwrap().unwrap().into_inner(), row);
        }

        // Stored as the document itself, in the column type of `Json<T>`.
        let sql = format!(r#"SELECT CAST("settings" AS TEXT) FROM "batch_sqlx_json" WHERE "id" = '{}'"#, one.id);
        let stored = raw::texts(&storehaus, &sql).await;
        let stored: serde_json::Value = serde_json::from_str(stored[0].as_deref().unwrap()).unwrap();
        assert_eq!(stored, json!({"theme": "dark", "sizes": [0, 255]}));
        let column = SqlxJson::TABLE.columns.iter().find(|c| c.name == "settings").unwrap();
        assert_eq!(column.ty, <Json<Settings> as storehaus::SqlType>::COLUMN_TYPE);
        if B::NAME == "postgres" {
            let columns = storehaus_suite::columns(&storehaus, "batch_sqlx_json").await;
            let jsonb: Vec<&str> = columns.iter().filter(|c| c.udt_name == "jsonb").map(|c| c.name.as_str()).collect();
            assert_eq!(jsonb, ["settings", "maybe"]);
        }

        let nul = SqlxJson { id: Uuid::new_v4(), settings: settings("a\0b"), maybe: None };
        let err = store.create(nul, None).await.unwrap_err();
        assert!(matches!(&err, StoreError::Validation { field: Some(f), .. } if f == "settings"), "{err}");
        assert_eq!(store.count().await.unwrap(), 2);
    }
}

/// PostgreSQL only: batches are `UNNEST` statements, one text per statement kind whatever the size
/// (SQLite runs one prepared statement per row instead).
#[tokio::test]
async fn batches_of_any_size_run_one_statement_text() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Item>(false).await.unwrap();
    // One connection, so every statement the store prepares is visible to the check below.
    let config = DatabaseConfig { max_connections: 1, ..db.config().clone() };
    let pool = DbPool::connect(&config).await.unwrap();
    let store = GenericStore::<Item>::new(pool.clone(), None, None);

    store.create_many((0..3).map(item).collect(), None).await.unwrap();
    store.create_many((3..10).map(item).collect(), tags(&["t"])).await.unwrap();
    store.upsert_many((0..2).map(item).collect(), None).await.unwrap();
    store.upsert_many((5..10).map(item).collect(), None).await.unwrap();
    let prepared: Vec<(String, i32)> = sqlx::query_as(
        "SELECT statement, cardinality(parameter_types) FROM pg_prepared_statements
         WHERE statement LIKE 'INSERT INTO %' ORDER BY statement",
    )
    .fetch_all(pool.as_postgres().unwrap())
    .await
    .unwrap();
    assert_eq!(prepared.len(), 2, "{prepared:#?}");
    for (statement, parameters) in &prepared {
        assert!(statement.contains("UNNEST("), "{statement}");
        assert_eq!(*parameters, 4, "one array per column and one for the tags: {statement}");
    }
    assert!(prepared.iter().any(|(s, _)| s.contains("ON CONFLICT")));
}

on_both_backends! {
    async fn create_many_is_all_or_nothing(db) {
        let storehaus = db.storehaus().await;
        let store = setup::<Item>(&storehaus).await;

        let mut rows: Vec<Item> = (0..12_000).map(item).collect();
        rows.last_mut().unwrap().code = "code-0".to_owned();
        let err = store.create_many(rows, None).await.unwrap_err();
        assert!(matches!(err, StoreError::UniqueViolation { .. }), "{err}");
        assert_eq!(store.count().await.unwrap(), 0);

        // On a transaction, the batch is part of it: visible inside, gone after a rollback.
        let tx = storehaus.begin().await.unwrap();
        let in_tx = store.with_transaction(&tx);
        in_tx.create_many((0..12_000).map(item).collect(), None).await.unwrap();
        assert_eq!(in_tx.count().await.unwrap(), 12_000);
        assert_eq!(store.count().await.unwrap(), 0);
        tx.rollback().await.unwrap();
        assert_eq!(store.count().await.unwrap(), 0);

        assert!(store.create_many(Vec::new(), None).await.unwrap().is_empty());
        assert!(store.upsert_many(Vec::new(), None).await.unwrap().is_empty());
        assert!(store.update_many(Vec::new()).await.unwrap().is_empty());
        assert_eq!(store.delete_many(Vec::new()).await.unwrap(), 0);
        let err = store.create_many(vec![item(1)], tags(&[""])).await.unwrap_err();
        assert!(matches!(err, StoreError::Validation { .. }), "{err}");
    }

    async fn upsert_inserts_then_updates_and_never_revives(db) {
        let storehaus = db.storehaus().await;
        let store = setup::<Doc>(&storehaus).await;

        let mut d = doc("first");
        let created = store.upsert(d.clone(), tags(&["a"])).await.unwrap();
        assert_eq!((created.version(), created.tags()), (Some(1), &["a".to_owned()][..]));
        tick().await;

        d.title = "second".to_owned();
        d.author = "not written on update".to_owned();
        d.labels = vec!["new".to_owned()];
        d.scores = None;
        let updated = store.upsert(d.clone(), None).await.unwrap();
        assert_eq!(updated.created_at(), created.created_at());
        assert!(updated.updated_at() > created.updated_at());
        assert_eq!(updated.version(), Some(2));
        assert_eq!(updated.tags(), ["a"]);
        assert_eq!((updated.title.as_str(), updated.author.as_str()), ("second", "ada"));
        assert_eq!((&updated.labels, &updated.scores), (&vec!["new".to_owned()], &None));

        let retagged = store.upsert(d.clone(), tags(&["b"])).await.unwrap();
        assert_eq!((retagged.version(), retagged.tags()), (Some(3), &["b".to_owned()][..]));

        assert!(store.delete(&d.id).await.unwrap());
        d.title = "revived?".to_owned();
        let err = store.upsert(d.clone(), None).await.unwrap_err();
        assert!(matches!(err, StoreError::Deleted { .. }), "{err}");
        let after = store.get_by_id_with_deleted(&d.id).await.unwrap().unwrap();
        assert!(after.is_deleted());
        assert_eq!((after.title.as_str(), after.version()), ("second", Some(3)));
    }

    async fn upsert_many_writes_new_and_existing_rows_and_refuses_repeated_keys(db) {
        let storehaus = db.storehaus().await;
        let store = setup::<Doc>(&storehaus).await;

        let existing = store.create_many(vec![doc("a"), doc("b")], tags(&["old"])).await.unwrap();
        let mut batch: Vec<Doc> =
            existing.iter().map(|r| Doc { title: format!("{}!", r.title), ..r.data().clone() }).collect();
        batch.push(doc("c"));
        let written = store.upsert_many(batch.clone(), None).await.unwrap();
        assert_eq!(
            written.iter().map(|r| (r.title.as_str(), r.version())).collect::<Vec<_>>(),
            [("a!", Some(2)), ("b!", Some(2)), ("c", Some(1))]
        );
        assert_eq!(written[0].tags(), ["old"]);
        assert!(written[2].tags().is_empty());
        let at = written[0].updated_at();
        assert!(written.iter().all(|r| r.updated_at() == at), "one batch, one clock");
        assert_eq!(written[2].created_at(), at);

        let fresh = doc("never");
        let repeated = vec![fresh.clone(), Doc { title: "changed".to_owned(), ..batch[0].clone() }, batch[0].clone()];
        let err = store.upsert_many(repeated, tags(&["x"])).await.unwrap_err();
        assert!(matches!(&err, StoreError::Validation { field: Some(f), .. } if f == "id"), "{err}");
        assert!(store.get_by_id(&fresh.id).await.unwrap().is_none());
        assert_eq!(store.get_by_id(&batch[0].id).await.unwrap().unwrap().title, "a!");
        assert_eq!(store.count().await.unwrap(), 3);
    }

    async fn update_many_updates_exactly_the_listed_live_rows(db) {
        let storehaus = db.storehaus().await;
        let store = setup::<Doc>(&storehaus).await;

        let rows = store.create_many((0..4).map(|i| doc(&format!("doc {i}"))).collect(), tags(&["t"])).await.unwrap();
        assert!(store.delete(&rows[2].id).await.unwrap());
        let deleted_before = store.get_by_id_with_deleted(&rows[2].id).await.unwrap().unwrap();
        tick().await;

        let change = |r: &Record<Doc>| {
            let data = Doc {
                id: Uuid::new_v4(), // ignored: the key of the pair decides the row
                title: format!("{} v2", r.title),
                author: "ignored".to_owned(),
                views: 10,
                labels: vec!["changed".to_owned()],
                scores: None,
            };
            (r.id, data)
        };
        let mut items: Vec<_> = rows[..3].iter().map(change).collect();
        items.push((Uuid::new_v4(), doc("missing")));
        let mut updated = store.update_many(items).await.unwrap();
        updated.sort_by_key(|r| r.title.clone());
        assert_eq!(updated.len(), 2);
        assert_eq!(updated[0].updated_at(), updated[1].updated_at(), "one batch, one clock");
        for (record, before) in updated.iter().zip(&rows) {
            assert_eq!(record.id, before.id);
            assert_eq!(record.title, format!("{} v2", before.title));
            assert_eq!((record.author.as_str(), record.views), ("ada", 10));
            assert_eq!((&record.labels, &record.scores), (&vec!["changed".to_owned()], &None));
            assert_eq!(record.version(), Some(2));
            assert_eq!(record.tags(), ["t"]);
            assert_eq!(record.created_at(), before.created_at());
            assert!(record.updated_at() > before.updated_at());
            assert_eq!(store.get_by_id(&before.id).await.unwrap().unwrap(), *record);
        }
        assert_eq!(store.get_by_id_with_deleted(&rows[2].id).await.unwrap().unwrap(), deleted_before);
        assert_eq!(store.get_by_id(&rows[3].id).await.unwrap().unwrap(), rows[3]);

        let err = store.update_many(vec![change(&rows[0]), change(&rows[0])]).await.unwrap_err();
        assert!(matches!(err, StoreError::Validation { .. }), "{err}");
    }

    async fn delete_many_soft_deletes_or_removes(db) {
        let storehaus = db.storehaus().await;

        let docs = setup::<Doc>(&storehaus).await;
        let rows = docs.create_many((0..5).map(|i| doc(&i.to_string())).collect(), None).await.unwrap();
        let mut ids: Vec<Uuid> = rows[..3].iter().map(|r| r.id).collect();
        ids.push(Uuid::new_v4());
        assert_eq!(docs.delete_many(ids.clone()).await.unwrap(), 3);
        assert_eq!(docs.count().await.unwrap(), 2);
        let total = raw::int(&storehaus, r#"SELECT COUNT(*) FROM "batch_docs""#).await;
        let deleted = raw::int(&storehaus, r#"SELECT COUNT("__deleted_at__") FROM "batch_docs""#).await;
        assert_eq!((total, deleted), (5, 3));
        let clocks = r#"SELECT COUNT(DISTINCT "__deleted_at__") FROM "batch_docs""#;
        assert_eq!(raw::int(&storehaus, clocks).await, 1, "one batch, one deletion time");
        assert_eq!(docs.delete_many(ids).await.unwrap(), 0, "deleted rows are not deleted again");

        let plain = setup::<Plain>(&storehaus).await;
        plain.create_many((0..5).map(|id| Plain { id, name: format!("p{id}") }).collect(), None).await.unwrap();
        assert_eq!(plain.delete_many(vec![0, 1, 42]).await.unwrap(), 2);
        let total = raw::int(&storehaus, r#"SELECT COUNT(*) FROM "batch_plain""#).await;
        assert_eq!(total, 3);
    }

    async fn every_batch_write_spans_chunks(db) {
        let storehaus = db.storehaus().await;
        let store = setup::<Doc>(&storehaus).await;

        let rows = store.create_many((0..10_001).map(|i| doc(&i.to_string())).collect(), None).await.unwrap();
        let items = rows.iter().map(|r| (r.id, Doc { views: 2, ..r.data().clone() })).collect();
        let updated = store.update_many(items).await.unwrap();
        assert_eq!(updated.len(), 10_001);
        assert!(updated.iter().all(|r| r.views == 2 && r.version() == Some(2)));
        let upserted = store.upsert_many(rows.iter().map(|r| r.data().clone()).collect(), tags(&["u"])).await.unwrap();
        assert_eq!(upserted.len(), 10_001);
        assert!(upserted.iter().all(|r| r.views == 1 && r.version() == Some(3) && r.tags() == ["u"]));
        assert_eq!(store.delete_many(rows.iter().map(|r| r.id).collect()).await.unwrap(), 10_001);
        assert_eq!(store.count().await.unwrap(), 0);
    }
}

/// Batch calls can be spawned onto a multi-threaded runtime.
#[allow(dead_code)]
fn batch_futures_are_send(store: GenericStore<Doc>, d: Doc) {
    fn send<F: Future + Send>(_: F) {}
    send(store.create_many(vec![d.clone()], None));
    send(store.upsert(d.clone(), None));
    send(store.upsert_many(vec![d.clone()], None));
    send(store.update_many(vec![(d.id, d.clone())]));
    send(store.delete_many(vec![d.id]));
}
