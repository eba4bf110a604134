//! Oversized and malformed input: every call ends in a typed `StoreError` or a correct result,
//! never a panic, a stack overflow or a hang, and a refused write changes nothing. Covered: NUL
//! bytes in text, text arrays, tags, JSON strings and keys, JSON paths, LIKE patterns and filter
//! values; 1 MB strings (written, read back equal, filtered by); 10 000 tags on one record;
//! JSON nested 10 to 1 000 000 levels deep, as a field value and in a `json_contains` filter.

use std::future::Future;
use std::time::Instant;
use storehaus::prelude::*;
use storehaus::testing::{TestDatabase, TestSqlite};
use storehaus::types::MAX_JSON_DEPTH;
use storehaus_suite::{TestBackend, on_both_backends, raw, run_on};

/// A text field, a text array, a JSON document, and (like every model) tags.
#[model]
#[table(name = "limit_notes")]
#[derive(PartialEq)]
pub struct Note {
    #[primary_key]
    pub id: i64,
    pub body: String,
    pub words: Vec<String>,
    pub doc: serde_json::Value,
}

fn note(id: i64, body: &str, words: &[&str], doc: serde_json::Value) -> Note {
    Note { id, body: body.to_owned(), words: words.iter().map(|w| (*w).to_owned()).collect(), doc }
}

/// A migrated table holding note 1 (`"seed"`, tagged `seed`).
async fn notes<B: TestBackend>(db: &B) -> (StoreHaus, GenericStore<Note>) {
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Note>(false).await.unwrap();
    let store = GenericStore::<Note>::new(storehaus.pool().clone(), None, None);
    store.create(note(1, "seed", &["w"], json!({"k": "v"})), Some(vec!["seed".into()])).await.unwrap();
    (storehaus, store)
}

/// Every row as the database holds it, read without StoreHaus.
type RawRow = (i64, String, String, String, String, String);

async fn snapshot(storehaus: &StoreHaus) -> Vec<RawRow> {
    raw::rows(
        storehaus,
        r#"SELECT "id", "body", CAST("words" AS TEXT), CAST("doc" AS TEXT), CAST("__tags__" AS TEXT),
                  CAST("__updated_at__" AS TEXT)
           FROM "limit_notes" ORDER BY "id""#,
    )
    .await
}

/// `result` is `StoreError::Validation` naming `field`, whose message contains `needle`.
#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(result: Result<T, StoreError>, field: &str, needle: &str, what: &str) {
    match result {
        Err(StoreError::Validation { field: Some(f), message }) if f == field && message.contains(needle) => {}
        other => panic!("{what}: expected Validation of `{field}` mentioning {needle:?}, got {other:?}"),
    }
}

async fn find_tag(store: &GenericStore<Note>, tag: &str) -> Vec<i64> {
    find_ids(&store.find(QueryBuilder::new().filter_by_tag(tag)).await.unwrap())
}

/// How long one tag query may take: PostgreSQL answers the 10 000-tag containment in about 2 s in
/// a debug build; a query that takes much longer is, to a caller, a hang.
const TAG_QUERY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

fn find_ids(records: &[Record<Note>]) -> Vec<i64> {
    records.iter().map(|r| r.id).collect()
}

/// `depth` arrays around a string, built in a loop: building it recursively would need as much
/// stack as the depth.
fn nested(depth: usize) -> serde_json::Value {
    (0..depth).fold(json!("leaf"), |inner, _| serde_json::Value::Array(vec![inner]))
}

/// Runs `test` on a thread with a stack of `mib` MiB and a runtime of its own, re-raising its
/// panic. serde_json values drop recursively, so only such a thread can drop the deepest values.
fn on_large_stack<F, Fut>(mib: usize, test: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let thread = std::thread::Builder::new()
        .stack_size(mib << 20)
        .spawn(move || tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(test()));
    if let Err(panic) = thread.unwrap().join() {
        std::panic::resume_unwind(panic);
    }
}

on_both_backends! {
    /// NUL cannot be stored in PostgreSQL text, and SQLite refuses it the same way: every write
    /// carrying one is refused naming the field, before anything is sent.
    async fn nul_bytes_in_writes_are_refused_and_change_nothing(db) {
        let (storehaus, store) = notes(&db).await;
        let before = snapshot(&storehaus).await;
        let ok = || note(2, "fine", &["w"], json!({"k": "v"}));

        let cases: Vec<(Note, Option<Vec<String>>, &str)> = vec![
            (note(2, "a\0b", &[], json!(null)), None, "body"),
            (note(2, "\0", &[], json!(null)), None, "body"),
            (note(2, "x", &["ok", "b\0"], json!(null)), None, "words"),
            (ok(), Some(vec!["fine".into(), "t\0g".into()]), "__tags__"),
        ];
        for (data, tags, field) in cases {
            assert_invalid(store.create(data.clone(), tags.clone()).await, field, "NUL", "create");
            let update = store.update(&1, Note { id: 1, ..data }, tags).await;
            assert_invalid(update, field, "NUL", "update");
        }
        assert_invalid(store.add_tags(&1, ["ok", "\0"]).await, "__tags__", "NUL", "add_tags");
        assert_invalid(store.set_tags(&1, ["\0x"]).await, "__tags__", "NUL", "set_tags");
        assert_invalid(store.remove_tags(&1, ["seed\0"]).await, "__tags__", "NUL", "remove_tags");
        let set = |field: &str, value: serde_json::Value| {
            store.update_where(QueryBuilder::new().filter(QueryFilter::eq("id", 1)), UpdateSet::new().set(field, value))
        };
        assert_invalid(set("body", json!("a\0")).await, "body", "NUL", "update_where body");
        assert_invalid(set("words", json!(["\0"])).await, "words", "NUL", "update_where words");
        assert_invalid(set("doc", json!({"k": "\0"})).await, "doc", "NUL", "update_where doc string");
        assert_invalid(set("doc", json!({"\0": 1})).await, "doc", "NUL", "update_where doc key");
        let typed = UpdateSet::new().set_column(Note::columns().body, "x\0".to_owned());
        let result = store.update_where(QueryBuilder::new().filter(QueryFilter::eq("id", 1)), typed).await;
        assert_invalid(result, "body", "NUL", "update_where typed column");

        assert_eq!(snapshot(&storehaus).await, before, "a refused write changed the table");
        assert_eq!(store.get_by_id(&1).await.unwrap().unwrap().tags(), ["seed"]);
    }

    /// JSON strings and keys holding NUL in a model's JSON field: PostgreSQL's JSONB cannot hold
    /// `\u0000`, so on both backends the write is refused and nothing changes.
    async fn nul_bytes_in_json_fields_are_refused_and_change_nothing(db) {
        let (storehaus, store) = notes(&db).await;
        let before = snapshot(&storehaus).await;
        for doc in [json!("\0"), json!({"k": "a\0b"}), json!({"a\0": 1}), json!([1, {"deep": ["\0"]}])] {
            let result = store.create(note(2, "x", &[], doc.clone()), None).await;
            assert_invalid(result, "doc", "NUL", &format!("create {doc}"));
            let result = store.update(&1, note(1, "x", &[], doc.clone()), None).await;
            assert_invalid(result, "doc", "NUL", &format!("update {doc}"));
        }
        assert_eq!(snapshot(&storehaus).await, before, "a refused write changed the table");
    }

    /// Every filter refuses a NUL in its value, pattern, tag, path or key, naming the field; a
    /// bulk write with such a filter changes nothing.
    async fn nul_bytes_in_filters_are_refused(db) {
        let (storehaus, store) = notes(&db).await;
        let before = snapshot(&storehaus).await;
        let filters: Vec<(QueryFilter, &str)> = vec![
            (QueryFilter::eq("body", "a\0b"), "body"),
            (QueryFilter::ne("body", "\0"), "body"),
            (QueryFilter::gt("body", "\0"), "body"),
            (QueryFilter::in_values("body", ["ok", "\0"]), "body"),
            (QueryFilter::like("body", "%\0%"), "body"),
            (QueryFilter::not_ilike("body", "\0"), "body"),
            (QueryFilter::array_contains("words", ["\0"]), "words"),
            (QueryFilter::array_overlaps("words", ["w", "x\0"]), "words"),
            (QueryFilter::has_any_tag(["seed", "\0"]), "__tags__"),
            (QueryFilter::has_all_tags(["\0"]), "__tags__"),
            (QueryFilter::json_path_eq("doc", ["k\0"], json!("v")), "doc"),
            (QueryFilter::json_path_eq("doc", ["k"], json!("v\0")), "doc"),
            (QueryFilter::json_path_eq("doc", ["k"], json!({"\0": 1})), "doc"),
            (QueryFilter::json_path_text_eq("doc", ["\0"], "v"), "doc"),
            (QueryFilter::json_path_text_eq("doc", ["k"], "v\0"), "doc"),
            (QueryFilter::json_has_key("doc", "k\0"), "doc"),
            (QueryFilter::json_contains("doc", json!({"k": "\0"})), "doc"),
            (QueryFilter::json_contains("doc", json!({"\0": "v"})), "doc"),
            (QueryFilter::eq("doc", json!(["\0"])), "doc"),
            (Note::columns().body.eq("\0".to_owned()), "body"),
            (Note::columns().words.array_contains(["\0".to_owned()]), "words"),
            (QueryFilter::or(vec![QueryFilter::eq("id", 1), !QueryFilter::eq("body", "\0")]), "body"),
        ];
        for (filter, field) in filters {
            let what = format!("{filter:?}");
            let q = || QueryBuilder::new().filter(filter.clone());
            assert_invalid(store.find(q()).await, field, "NUL", &what);
            assert_invalid(store.count_where(q()).await, field, "NUL", &what);
            assert_invalid(store.delete_where(q()).await, field, "NUL", &what);
            assert_invalid(store.update_where(q(), UpdateSet::new().set("body", "changed")).await, field, "NUL", &what);
        }
        assert_invalid(store.find(QueryBuilder::new().filter_by_tag("\0")).await, "__tags__", "NUL", "filter_by_tag");
        assert_eq!(snapshot(&storehaus).await, before, "a refused bulk write changed the table");
    }

    /// A 1 MB text, array element, tag, JSON string and JSON key are stored, read back equal, and
    /// found by filters that carry the same megabyte.
    async fn megabyte_strings_round_trip_and_filter(db) {
        let (storehaus, store) = notes(&db).await;
        // Multi-byte characters, quotes, backslashes and LIKE wildcards, repeated to 1 MiB.
        let unit = "ab'\"\\%_é名🦀 ";
        let big: String = unit.repeat((1 << 20) / unit.len() + 1);
        let other: String = format!("{}Z", &big[..big.len() - unit.len()]);
        assert!(big.len() > 1 << 20);
        let started = Instant::now();

        let doc = json!({"text": big, big.clone(): 1});
        let created = store.create(note(2, &big, &["w", &big], doc.clone()), Some(vec!["t".into()])).await.unwrap();
        assert_eq!((created.body.len(), created.words[1].len()), (big.len(), big.len()));
        let read = store.get_by_id(&2).await.unwrap().unwrap();
        assert!(read.body == big && read.words == ["w", big.as_str()] && read.doc == doc, "read back differs");
        let stored = raw::texts(&storehaus, r#"SELECT "body" FROM "limit_notes" WHERE "id" = 2"#).await;
        assert!(stored == [Some(big.clone())], "the stored text differs");
        let chars = big.chars().count() as i64;
        let length = r#"SELECT CAST(LENGTH("body") AS BIGINT) FROM "limit_notes" WHERE "id" = 2"#;
        assert_eq!(raw::int(&storehaus, length).await, chars);

        let found = |filter: QueryFilter| {
            let store = store.clone();
            async move { find_ids(&store.find(QueryBuilder::new().filter(filter)).await.unwrap()) }
        };
        assert_eq!(found(QueryFilter::eq("body", big.as_str())).await, [2]);
        assert!(found(QueryFilter::eq("body", other.as_str())).await.is_empty());
        assert_eq!(found(Note::columns().body.eq(big.clone())).await, [2]);
        assert_eq!(found(QueryFilter::in_values("body", [other.as_str(), big.as_str()])).await, [2]);
        // The megabyte as a LIKE pattern, its `\`, `%` and `_` escaped, matches exactly itself on
        // PostgreSQL. SQLite caps LIKE patterns at 50 000 bytes (SQLITE_MAX_LIKE_PATTERN_LENGTH)
        // and says so with an error; shorter patterns still work there.
        let escape = |text: &str| text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let like = store.find(QueryBuilder::new().filter(QueryFilter::like("body", escape(&big)))).await;
        match (B::NAME, like) {
            ("postgres", Ok(rows)) => assert_eq!(find_ids(&rows), [2]),
            ("sqlite", Err(StoreError::Database { code: Some(code), source })) => {
                assert_eq!(code, "1");
                assert!(source.to_string().contains("pattern too complex"), "{source}");
            }
            (backend, other) => panic!("{backend}: a 1 MiB LIKE pattern gave {other:?}"),
        }
        let end = (0..=40_000).rev().find(|&i| big.is_char_boundary(i)).unwrap();
        let prefix = format!("{}%", escape(&big[..end]));
        assert_eq!(found(QueryFilter::like("body", prefix.as_str())).await, [2]);
        assert_eq!(found(QueryFilter::array_contains("words", [big.as_str()])).await, [2]);
        assert_eq!(found(QueryFilter::json_path_text_eq("doc", ["text"], big.as_str())).await, [2]);
        // A path key holding `"` is documented as unsupported by SQLite's JSON paths.
        let path = QueryBuilder::new().filter(QueryFilter::json_path_eq("doc", [big.as_str()], json!(1)));
        match (B::NAME, store.find(path).await) {
            ("postgres", Ok(rows)) => assert_eq!(find_ids(&rows), [2]),
            ("sqlite", Err(StoreError::Unsupported { backend: "sqlite", .. })) => {}
            (backend, other) => panic!("{backend}: a 1 MiB JSON path key gave {other:?}"),
        }
        assert_eq!(found(QueryFilter::json_has_key("doc", big.as_str())).await, [2]);

        let before = snapshot(&storehaus).await;
        // A 1 MiB tag: PostgreSQL's GIN index on `__tags__` cannot hold an entry that large (SQLSTATE
        // 54000, "index row requires … bytes") and the write changes nothing; SQLite, without that
        // index, stores the tag and finds the record by it.
        let created = store.create(note(3, "tagged", &[], json!(null)), Some(vec![big.clone()])).await;
        let added = store.add_tags(&1, [big.clone()]).await;
        match (B::NAME, created, added) {
            ("postgres", Err(created), Err(added)) => {
                assert_eq!((created.sqlstate(), added.sqlstate()), (Some("54000"), Some("54000")), "{created:?}");
                assert_eq!(snapshot(&storehaus).await, before, "a refused tag write changed the table");
                assert!(find_tag(&store, &big).await.is_empty());
            }
            ("sqlite", Ok(created), Ok(added)) => {
                assert!(created.tags() == [big.as_str()] && added.tags() == ["seed", big.as_str()]);
                assert_eq!(find_tag(&store, &big).await, [1, 3]);
            }
            (backend, created, added) => panic!("{backend}: a 1 MiB tag gave {created:?} and {added:?}"),
        }

        // Replacing it with another megabyte.
        let updated = store.update(&2, note(2, &other, &[], json!(null)), None).await.unwrap();
        assert_eq!(updated.body, other);
        assert_eq!(found(QueryFilter::eq("body", other.as_str())).await, [2]);
        assert!(found(QueryFilter::eq("body", big.as_str())).await.is_empty());
        eprintln!("{}: 1 MiB strings in {:?}", B::NAME, started.elapsed());
    }

    /// 10 000 distinct tags on one record: stored in order, read back equal, and the record is
    /// found by all 10 000 at once, each query within a deadline.
    async fn ten_thousand_tags_on_one_record(db) {
        let (storehaus, store) = notes(&db).await;
        let tags: Vec<String> = (0..10_000).map(|i| format!("tag-{i:05}-'\"{{,}}")).collect();
        let started = Instant::now();
        let created = store.create(note(2, "tagged", &[], json!({})), Some(tags.clone())).await.unwrap();
        assert_eq!(created.tags(), tags);
        assert_eq!(store.get_by_id(&2).await.unwrap().unwrap().tags(), tags);
        let length = if B::NAME == "postgres" {
            r#"SELECT CAST(cardinality("__tags__") AS BIGINT) FROM "limit_notes" WHERE "id" = 2"#
        } else {
            r#"SELECT json_array_length("__tags__") FROM "limit_notes" WHERE "id" = 2"#
        };
        assert_eq!(raw::int(&storehaus, length).await, 10_000);

        let find = |query: QueryBuilder, what: &'static str| {
            let store = store.clone();
            async move {
                let found = tokio::time::timeout(TAG_QUERY_DEADLINE, store.find(query)).await;
                let found = found.unwrap_or_else(|_| panic!("{what} took over {TAG_QUERY_DEADLINE:?}"));
                find_ids(&found.unwrap())
            }
        };
        assert_eq!(find(QueryBuilder::new().filter_by_all_tags(tags.clone()), "all 10 000 tags").await, [2]);
        let with_seed: Vec<String> = tags.iter().cloned().chain(["seed".to_owned()]).collect();
        assert_eq!(find(QueryBuilder::new().filter_by_any_tag(with_seed), "any of 10 001 tags").await, [1, 2]);
        let one_missing: Vec<String> = tags[..100].iter().cloned().chain(["missing".to_owned()]).collect();
        assert!(find(QueryBuilder::new().filter_by_all_tags(one_missing), "100 tags and a missing one").await.is_empty());
        assert_eq!(find(QueryBuilder::new().filter_by_tag(&tags[9_999]), "the last tag").await, [2]);
        eprintln!("{}: 10 000 tags in {:?}", B::NAME, started.elapsed());
    }

    /// JSON up to `MAX_JSON_DEPTH` levels is stored and read back equal; deeper JSON, which could
    /// be written but never read back, is refused naming the field before anything is sent.
    /// Runs on the test's own stack: nothing here may recurse over the value but its drop.
    async fn deep_json_fields_up_to_the_limit_round_trip_and_deeper_are_refused(db) {
        let (storehaus, store) = notes(&db).await;
        for (id, depth) in [(10, 10), (100, 100), (127, MAX_JSON_DEPTH)] {
            let created = store.create(note(id, "deep", &[], nested(depth)), None).await.unwrap();
            assert!(created.doc == nested(depth), "depth {depth}: create returned another document");
            assert!(store.get_by_id(&id).await.unwrap().unwrap().doc == nested(depth), "depth {depth}: read back");
            let text = raw::texts(&storehaus, &format!(r#"SELECT CAST("doc" AS TEXT) FROM "limit_notes" WHERE "id" = {id}"#)).await;
            assert_eq!(text, [Some(serde_json::to_string(&nested(depth)).unwrap())], "depth {depth}: stored text");
            let contains = store.find(QueryBuilder::new().filter(QueryFilter::json_contains("doc", nested(depth)))).await;
            match (B::NAME, contains) {
                ("postgres", Ok(found)) => assert_eq!(find_ids(&found), [id], "depth {depth}: json_contains"),
                ("sqlite", Err(StoreError::Unsupported { backend: "sqlite", .. })) => {}
                (backend, other) => panic!("{backend} depth {depth}: json_contains gave {other:?}"),
            }
        }
        let before = snapshot(&storehaus).await;
        for depth in [MAX_JSON_DEPTH + 1, 1_000, 10_000] {
            let started = Instant::now();
            let created = store.create(note(2, "deeper", &[], nested(depth)), None).await;
            assert_invalid(created, "doc", "deep", &format!("create at depth {depth}"));
            let updated = store.update(&1, note(1, "deeper", &[], nested(depth)), None).await;
            assert_invalid(updated, "doc", "deep", &format!("update at depth {depth}"));
            let set = UpdateSet::new().set_column(Note::columns().doc, nested(depth));
            let result = store.update_where(QueryBuilder::new().filter(QueryFilter::eq("id", 1)), set).await;
            assert_invalid(result, "doc", "deep", &format!("update_where at depth {depth}"));
            let deep = Note::columns().doc.eq(nested(depth));
            assert_invalid(store.find(QueryBuilder::new().filter(deep)).await, "doc", "deep", "typed filter");
            // String-named filters and assignments check the depth too, before the backend
            // is asked (so SQLite's refusal of containment does not come first).
            let contains = QueryBuilder::new().filter(QueryFilter::json_contains("doc", nested(depth)));
            assert_invalid(store.find(contains).await, "doc", "deep", "json_contains");
            let set = UpdateSet::new().set("doc", nested(depth));
            let result = store.update_where(QueryBuilder::new().filter(QueryFilter::eq("id", 1)), set).await;
            assert_invalid(result, "doc", "deep", &format!("string-named set at depth {depth}"));
            eprintln!("{}: depth {depth} refused in {:?}", B::NAME, started.elapsed());
        }
        assert_eq!(snapshot(&storehaus).await, before, "a refused write changed the table");
        assert_eq!(store.list_all().await.unwrap().len(), 4, "every stored row still reads back");
    }
}

/// Depths past what a test thread can even drop: refused like any value deeper than the limit,
/// and nothing is written.
async fn deepest_json_fields_are_refused<B: TestBackend>(db: B) {
    let (storehaus, store) = notes(&db).await;
    let before = snapshot(&storehaus).await;
    for depth in [100_000, 1_000_000] {
        let started = Instant::now();
        let created = store.create(note(2, "deepest", &[], nested(depth)), None).await;
        assert_invalid(created, "doc", "deep", &format!("create at depth {depth}"));
        let updated = store.update(&1, note(1, "deepest", &[], nested(depth)), None).await;
        assert_invalid(updated, "doc", "deep", &format!("update at depth {depth}"));
        eprintln!("{}: depth {depth} refused in {:?}", B::NAME, started.elapsed());
    }
    assert_eq!(snapshot(&storehaus).await, before, "a refused write changed the table");
}

#[test]
fn deepest_json_fields_are_refused_postgres() {
    on_large_stack(512, || run_on::<TestDatabase, _>(deepest_json_fields_are_refused));
}

#[test]
fn deepest_json_fields_are_refused_sqlite() {
    on_large_stack(512, || run_on::<TestSqlite, _>(deepest_json_fields_are_refused));
}

/// `json_contains` filters 10 000 and 100 000 levels deep are refused naming the field, without
/// recursing over the value; a large stack is needed only to drop the test's own values.
async fn deep_json_contains_filters<B: TestBackend>(db: B) {
    let (storehaus, store) = notes(&db).await;
    let before = snapshot(&storehaus).await;
    for depth in [10_000, 100_000] {
        let started = Instant::now();
        let q = || QueryBuilder::new().filter(QueryFilter::json_contains("doc", nested(depth)));
        assert_invalid(store.find(q()).await, "doc", "deep", &format!("find at depth {depth}"));
        assert_invalid(store.delete_where(q()).await, "doc", "deep", &format!("delete_where at depth {depth}"));
        eprintln!("{}: json_contains at depth {depth} refused in {:?}", B::NAME, started.elapsed());
    }
    assert_eq!(snapshot(&storehaus).await, before, "a filtered bulk write changed the table");
}

#[test]
fn deep_json_contains_filters_postgres() {
    on_large_stack(512, || run_on::<TestDatabase, _>(deep_json_contains_filters));
}

#[test]
fn deep_json_contains_filters_sqlite() {
    on_large_stack(512, || run_on::<TestSqlite, _>(deep_json_contains_filters));
}
