//! Ordering (NULL placement included), limit and offset, keyset pages and streams.

use super::*;
use futures_util::StreamExt;
use std::collections::HashSet;

on_both_backends! {
    async fn order_limit_and_offset(db) {
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

    /// A limit or offset above `i64::MAX`, the largest either database takes, is refused on both
    /// rather than capped on one; `i64::MAX` itself is no limit in practice.
    async fn a_limit_or_offset_above_i64_max_is_refused_on_both_backends(db) {
        let (_storehaus, store) = products(&db).await;
        let by_id = QueryBuilder::new().order_by("id", SortOrder::Asc);
        for (what, query) in [
            ("limit", by_id.clone().limit(u64::MAX)),
            ("offset", by_id.clone().offset(u64::MAX)),
            ("offset", by_id.clone().limit(1).offset(1_u64 << 63)),
        ] {
            match store.find(query).await {
                Err(StoreError::Validation { message, .. }) => {
                    assert!(message.starts_with(what) && message.contains("9223372036854775807"), "{message}")
                }
                other => panic!("{what}: expected a Validation error, got {other:?}"),
            }
        }
        let page = store.find_page(by_id.clone().limit(u64::MAX)).await;
        assert!(matches!(page, Err(StoreError::Validation { .. })), "{page:?}");

        let largest = i64::MAX.unsigned_abs();
        assert_eq!(ids(&store.find(by_id.clone().limit(largest)).await.unwrap()), [1, 2, 3, 4, 5]);
        assert!(store.find(by_id.offset(largest)).await.unwrap().is_empty());
    }

    /// Descending puts NULLs first, as PostgreSQL does; an offset alone skips rows.
    async fn nulls_come_first_descending_and_an_offset_needs_no_limit(db) {
        let (_storehaus, store) = products(&db).await;
        let by_rating_desc = QueryBuilder::new().order_by("rating", SortOrder::Desc).order_by("id", SortOrder::Asc);
        assert_eq!(ids(&store.find(by_rating_desc).await.unwrap()), [2, 5, 4, 1, 3]);
        let by_category_desc =
            QueryBuilder::new().order_by("category", SortOrder::Desc).order_by("id", SortOrder::Desc);
        assert_eq!(ids(&store.find(by_category_desc).await.unwrap()), [5, 3, 2, 1, 4]);
        let skip_two = QueryBuilder::new().order_by("id", SortOrder::Asc).offset(2);
        assert_eq!(ids(&store.find(skip_two).await.unwrap()), [3, 4, 5]);
    }

    async fn find_stream_yields_every_row(db) {
        let (storehaus, store) = products(&db).await;
        let empty = empty_array::<B>();
        raw::execute(
            &storehaus,
            &format!(
                r#"WITH RECURSIVE s(i) AS (SELECT 100 UNION ALL SELECT i + 1 FROM s WHERE i < 1099)
                   INSERT INTO "products" ("id", "name", "sku", "price", "stock", "attrs", "labels", "sizes")
                   SELECT i, 'p' || i, 's' || i, i, i, '{{}}', {empty}, {empty} FROM s"#
            ),
        )
        .await;

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

    async fn keyset_pagination_visits_every_row_once_in_order(db) {
        let storehaus = db.storehaus().await;
        storehaus.auto_migrate::<Entry>(false).await.unwrap();
        let store = GenericStore::<Entry>::new(storehaus.pool().clone(), None, None);
        let values: Vec<String> =
            (1..=1000).map(|i| format!("('{}', {}, 'e{i}')", Uuid::new_v4(), i % 10)).collect();
        let insert = format!(r#"INSERT INTO "entries" ("id", "bucket", "label") VALUES {}"#, values.join(", "));
        raw::execute(&storehaus, &insert).await;

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
        let filtered =
            || QueryBuilder::new().filter(QueryFilter::lt("bucket", json!(1))).order_by("label", SortOrder::Asc);
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

    async fn cursors_keep_microseconds_and_exact_floats(db) {
        let storehaus = db.storehaus().await;
        storehaus.auto_migrate::<Reading>(false).await.unwrap();
        let store = GenericStore::<Reading>::new(storehaus.pool().clone(), None, None);
        // Readings 1‥300 taken within 13 microseconds, with values that are not exact in decimal
        // (0.1 · k as a double).
        let values: Vec<String> = (1..=300)
            .map(|i| format!("({i}, '2024-01-01T00:00:00.{:06}Z', {:?})", i % 13, f64::from(i % 11) * 0.1))
            .collect();
        let insert = format!(r#"INSERT INTO "readings" ("id", "taken_at", "value") VALUES {}"#, values.join(", "));
        raw::execute(&storehaus, &insert).await;

        let keys = [("taken_at", SortOrder::Asc), ("taken_at", SortOrder::Desc), ("value", SortOrder::Desc)];
        for (field, order) in keys {
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

    /// Sealed cursors page through a table like plain ones, show none of the sort values, and
    /// are refused when altered, cut short, sealed with another key or longer than the limit.
    async fn sealed_cursors_page_through_and_refuse_tampering(db) {
        let (_storehaus, store) = products(&db).await;
        let key = CursorKey::new(SECRET).unwrap();
        let by_sku = || QueryBuilder::new().order_by("sku", SortOrder::Desc);
        let everything = ids(&store.find(by_sku()).await.unwrap());
        let mut paged = Vec::new();
        let mut sealed: Option<String> = None;
        let mut texts = Vec::new();
        loop {
            let q = match &sealed {
                Some(text) => by_sku().limit(2).after(&Cursor::open(text, &key).unwrap()),
                None => by_sku().limit(2),
            };
            let page = store.find_page(q).await.unwrap();
            paged.extend(ids(&page.records));
            let Some(next) = page.next else { break };
            let last = page.records.last().unwrap();
            let text = next.seal(&key);
            let bytes = base64url_decode(&text).expect("URL-safe base64");
            for shown in [last.sku.as_bytes(), b"sku"] {
                assert!(!bytes.windows(shown.len()).any(|w| w == shown), "{text} shows {:?}", last.sku);
            }
            assert!(Cursor::decode(&text).is_err(), "a sealed cursor is not readable as a plain one");
            texts.push(text.clone());
            sealed = Some(text);
        }
        assert_eq!(paged, everything, "sealed cursors skipped or repeated rows");
        assert_eq!(texts.len(), 2, "five rows in pages of two");

        let text = &texts[0];
        let invalid = |result: Result<Cursor, StoreError>, what: &str| {
            assert!(matches!(result, Err(StoreError::Validation { .. })), "{what}: {result:?}");
        };
        let mut altered = text.clone().into_bytes();
        let middle = altered.len() / 2;
        altered[middle] = if altered[middle] == b'A' { b'B' } else { b'A' };
        invalid(Cursor::open(std::str::from_utf8(&altered).unwrap(), &key), "one character changed");
        invalid(Cursor::open(&text[..text.len() - 1], &key), "the last character cut");
        invalid(Cursor::open(&text[..text.len() / 2], &key), "cut in half");
        invalid(Cursor::open(text, &CursorKey::new([7_u8; 32]).unwrap()), "another key");
        let plain = store.find_page(by_sku().limit(2)).await.unwrap().next.unwrap().encode();
        invalid(Cursor::open(&plain, &key), "a plain cursor, which a client can write");
        let oversized = "A".repeat(storehaus::query::MAX_CURSOR_LEN + 1);
        invalid(Cursor::open(&oversized, &key), "a sealed cursor over the limit");
        invalid(Cursor::decode(&oversized), "a plain cursor over the limit");
        // The same page again from the genuine text.
        let again = store.find_page(by_sku().limit(2).after(&Cursor::open(text, &key).unwrap())).await.unwrap();
        assert_eq!(ids(&again.records), everything[2..4]);
        let err = CursorKey::new(b"too short").unwrap_err();
        assert!(matches!(err, StoreError::Config { .. }), "{err:?}");
    }

    async fn find_page_refuses_a_nullable_sort_column_before_running(db) {
        let storehaus = db.storehaus().await;
        storehaus.auto_migrate::<Product>(false).await.unwrap();
        let store = GenericStore::<Product>::new(storehaus.pool().clone(), None, None);
        let err = store.find_page(QueryBuilder::new().order_by("rating", SortOrder::Asc).limit(5)).await.unwrap_err();
        assert!(matches!(&err, StoreError::Validation { field: Some(f), .. } if f == "rating"), "{err}");
        let err = store.find_page(QueryBuilder::new()).await.unwrap_err();
        assert!(err.to_string().contains("needs a limit"), "{err}");
    }

    async fn keyword_names_work_in_every_statement(db) {
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
        assert_eq!(
            store.delete_where(QueryBuilder::new().filter(QueryFilter::eq("type", json!("b")))).await.unwrap(),
            1
        );
        store.restore(&2).await.unwrap();
        assert!(store.force_delete(&3).await.unwrap());
        let rows: Vec<(i64, String, i32)> =
            rows(&storehaus, r#"SELECT "id", "type", "select" FROM "order" ORDER BY "id""#).await;
        assert_eq!(rows, [(1, "a".to_owned(), 110), (2, "b".to_owned(), 102)]);
    }
}

/// The application secret of the sealed-cursor tests.
const SECRET: &[u8] = b"an application secret of 32 bytes or more";

/// URL-safe base64 without padding, read here without StoreHaus.
fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0_u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        bits = (bits << 6) | ALPHABET.iter().position(|&a| a == c)? as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    Some(out)
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

/// Sort keys whose values differ by less than a millisecond or are not exact in decimal.
#[model]
#[table(name = "readings")]
pub struct Reading {
    #[primary_key]
    pub id: i64,
    pub taken_at: DateTime<Utc>,
    pub value: f64,
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
