//! Paging both ways: `before` / `last` next to `after`, pages that say whether more rows lie on
//! either side, and positions given as plain sort values.

use super::paging::Entry;
use super::*;
use std::collections::HashSet;

/// 1 000 entries in ten buckets (so most sort values are shared) with labels `e1`‥`e1000`.
async fn entries<B: TestBackend>(db: &B) -> (StoreHaus, GenericStore<Entry>) {
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Entry>(false).await.unwrap();
    let store = GenericStore::<Entry>::new(storehaus.pool().clone(), None, None);
    let values: Vec<String> = (1..=1000).map(|i| format!("('{}', {}, 'e{i}')", Uuid::new_v4(), i % 10)).collect();
    let insert = format!(r#"INSERT INTO "entries" ("id", "bucket", "label") VALUES {}"#, values.join(", "));
    raw::execute(&storehaus, &insert).await;
    (storehaus, store)
}

fn entry_ids(records: &[Record<Entry>]) -> Vec<Uuid> {
    records.iter().map(|r| r.id).collect()
}

on_both_backends! {
    /// From the end to the start with `last` then `before`: every row exactly once, pages in
    /// reverse, each page in the query's order; for one direction, the other, and a mixed order.
    async fn backward_paging_visits_every_row_once_in_reverse(db) {
        let (_storehaus, store) = entries(&db).await;
        let orders: [&[(&str, SortOrder)]; 3] = [
            &[("bucket", SortOrder::Asc)],
            &[("bucket", SortOrder::Desc)],
            &[("bucket", SortOrder::Asc), ("label", SortOrder::Desc)],
        ];
        for keys in orders {
            let query = || keys.iter().fold(QueryBuilder::new(), |q, (field, order)| q.order_by(*field, *order));
            let everything = entry_ids(&store.find(query()).await.unwrap());
            assert_eq!(everything.len(), 1000);

            let mut pages: Vec<Vec<Uuid>> = Vec::new();
            let mut cursor: Option<Cursor> = None;
            for _ in 0..100 {
                let q = match &cursor {
                    // A client hands the cursor back as text.
                    Some(c) => query().limit(37).before(&c.to_string().parse::<Cursor>().unwrap()),
                    None => query().last(37),
                };
                let page = store.find_page(q).await.unwrap();
                assert_eq!(page.has_next, cursor.is_some(), "{keys:?}: rows follow every page but the last one");
                pages.push(entry_ids(&page.records));
                match page.previous {
                    Some(previous) => {
                        assert!(page.has_previous, "{keys:?}");
                        cursor = Some(previous);
                    }
                    None => {
                        assert!(!page.has_previous, "{keys:?}");
                        break;
                    }
                }
            }
            assert_eq!(pages.len(), 1000_usize.div_ceil(37), "{keys:?}");
            let seen: Vec<Uuid> = pages.iter().rev().flatten().copied().collect();
            assert_eq!(seen, everything, "{keys:?}: pages read backwards skipped, repeated or reordered rows");
            let unique: HashSet<Uuid> = seen.iter().copied().collect();
            assert_eq!(unique.len(), 1000, "{keys:?}: a row was returned twice");
            let visited: Vec<Uuid> = pages.iter().flat_map(|p| p.iter().rev()).copied().collect();
            let reversed: Vec<Uuid> = everything.iter().rev().copied().collect();
            assert_eq!(visited, reversed, "{keys:?}: backwards, the rows come in reverse order");
        }
    }

    /// Forward then back again lands on the same page; the flags say where rows remain.
    async fn previous_of_a_next_page_is_the_page_before(db) {
        let (_storehaus, store) = entries(&db).await;
        let query = || QueryBuilder::new().order_by("bucket", SortOrder::Desc).order_by("label", SortOrder::Asc);
        let first = store.find_page(query().limit(50)).await.unwrap();
        assert!(first.has_next && !first.has_previous && first.previous.is_none());
        let second = store.find_page(query().limit(50).after(first.next.as_ref().unwrap())).await.unwrap();
        assert!(second.has_next && second.has_previous);
        let back = store.find_page(query().limit(50).before(second.previous.as_ref().unwrap())).await.unwrap();
        assert_eq!(entry_ids(&back.records), entry_ids(&first.records));
        assert!(!back.has_previous && back.has_next && back.previous.is_none());

        // The last page read forwards says nothing follows; read backwards from the end it is
        // the same rows.
        let everything = entry_ids(&store.find(query()).await.unwrap());
        let tail = store.find_page(query().last(30)).await.unwrap();
        assert_eq!(entry_ids(&tail.records), everything[970..]);
        assert!(!tail.has_next && tail.next.is_none() && tail.has_previous);
        let before_tail = store.find_page(query().limit(30).before(tail.previous.as_ref().unwrap())).await.unwrap();
        assert_eq!(entry_ids(&before_tail.records), everything[940..970]);
        let to_end = store.find_page(query().limit(30).after(before_tail.next.as_ref().unwrap())).await.unwrap();
        assert_eq!(entry_ids(&to_end.records), everything[970..]);
        assert!(!to_end.has_next, "exactly the last rows: the probe row tells nothing follows");

        // `last` without paging: the last rows, in the query's order.
        assert_eq!(entry_ids(&store.find(query().last(3)).await.unwrap()), everything[997..]);
        // An offset counts from the end too.
        assert_eq!(entry_ids(&store.find(query().last(3).offset(2)).await.unwrap()), everything[995..998]);
    }

    /// A position from plain sort values compares the leading sort keys only, both ways.
    async fn plain_sort_values_start_a_page(db) {
        let (_storehaus, store) = products(&db).await;
        let by_price = || QueryBuilder::new().order_by("price", SortOrder::Asc);
        assert_eq!(ids(&store.find(by_price().after_values([json!(20)])).await.unwrap()), [3, 4, 5]);
        assert_eq!(ids(&store.find(by_price().before_values([json!(40)])).await.unwrap()), [1, 2, 3]);
        assert_eq!(ids(&store.find(by_price().before_values([json!(40)]).limit(2)).await.unwrap()), [2, 3]);
        let page = store.find_page(by_price().after_values([json!(25)]).limit(2)).await.unwrap();
        assert_eq!(ids(&page.records), [3, 4]);
        assert!(page.has_previous && page.has_next);
        // The key too, after the sort values: strictly after (30, 3) is (40, 4).
        let both = by_price().after_values([json!(30), json!(3)]);
        assert_eq!(ids(&store.find(both).await.unwrap()), [4, 5]);
        let mixed = QueryBuilder::new().order_by("name", SortOrder::Desc).after_values([json!("Banana")]);
        assert_eq!(ids(&store.find(mixed).await.unwrap()), [1], "descending: after means smaller");

        for (what, query) in [
            ("a null value", by_price().after_values([json!(null)])),
            ("a value of another type", by_price().after_values([json!("ten")])),
            ("more values than sort keys", by_price().after_values([json!(1), json!(2), json!(3)])),
            ("no value", by_price().before_values([])),
            ("a nullable sort key", QueryBuilder::new().order_by("rating", SortOrder::Asc).after_values([json!(1.0)])),
        ] {
            let err = store.find(query).await.unwrap_err();
            assert!(matches!(err, StoreError::Validation { .. }), "{what}: {err:?}");
        }
    }

    /// A cursor only pages the order it came from, backwards as forwards; reading from the end
    /// is for reads only.
    async fn a_backward_cursor_fits_only_its_own_order(db) {
        let (_storehaus, store) = products(&db).await;
        let page = store.find_page(QueryBuilder::new().order_by("sku", SortOrder::Desc).last(2)).await.unwrap();
        assert_eq!(ids(&page.records), [1, 4], "skus D-1, B-1, A-2, A-1, 6f1c…");
        let previous = page.previous.unwrap();
        for other in [
            QueryBuilder::new().order_by("sku", SortOrder::Asc),
            QueryBuilder::new().order_by("name", SortOrder::Desc),
            QueryBuilder::new(),
        ] {
            let err = store.find_page(other.limit(2).before(&previous)).await.unwrap_err();
            assert!(matches!(err, StoreError::Validation { .. }), "{err:?}");
        }
        let key = CursorKey::new(b"an application secret of 32 bytes or more").unwrap();
        let sealed = Cursor::open(&previous.seal(&key), &key).unwrap();
        let before = store.find_page(QueryBuilder::new().order_by("sku", SortOrder::Desc).limit(2).before(&sealed));
        assert_eq!(ids(&before.await.unwrap().records), [3, 2]);

        let err = store.delete_where(QueryBuilder::new().filter(QueryFilter::gt("id", json!(0))).last(1)).await;
        assert!(matches!(err, Err(StoreError::Validation { .. })), "{err:?}");
        use futures_util::StreamExt;
        let streamed: Vec<_> = store.find_stream(QueryBuilder::new().last(2)).collect().await;
        assert!(matches!(streamed.as_slice(), [Err(StoreError::Validation { .. })]), "{streamed:?}");
        assert_eq!(store.count().await.unwrap(), 5, "nothing was deleted");
    }
}
