//! Nesting depth of `and` / `or` / `not`: filters as deep as `MAX_FILTER_DEPTH` run and find the
//! right rows; deeper ones, from just past the limit to 100 000 levels, are
//! `StoreError::Validation` naming the limit on every call and change nothing. Everything runs on
//! a tokio worker thread, whose stack is 2 MiB.

use super::*;
use storehaus::query::MAX_FILTER_DEPTH;

/// `depth` levels around `leaf` that keep its meaning: `not` twice, `and` with an empty `and`
/// (true), `or` with an empty `or` (false). Built in a loop, as a client's input would be.
fn neutral_nesting(depth: usize, leaf: QueryFilter) -> QueryFilter {
    (0..depth).fold(leaf, |inner, level| match level % 4 {
        0 | 2 => !inner,
        1 => QueryFilter::and(vec![inner, QueryFilter::and(vec![])]),
        _ => QueryFilter::or(vec![QueryFilter::or(vec![]), inner]),
    })
}

#[track_caller]
fn assert_too_deep<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::Validation { field: None, message })
            if message.contains(&MAX_FILTER_DEPTH.to_string()) && message.contains("MAX_FILTER_DEPTH") => {}
        other => panic!("{what}: expected Validation naming the nesting limit, got {other:?}"),
    }
}

on_both_backends! {
    async fn filters_as_deep_as_the_limit_find_the_same_rows(db) {
        let (_storehaus, store) = products(&db).await;
        tokio::spawn(async move {
            for depth in [4, 32, MAX_FILTER_DEPTH] {
                let deep = neutral_nesting(depth, QueryFilter::lt("price", json!(30)));
                assert_eq!(find_ids(&store, deep.clone()).await, [1, 2], "depth {depth}");
                let negated = !neutral_nesting(depth - 1, QueryFilter::lt("price", json!(30)));
                assert_eq!(find_ids(&store, negated).await, [3, 4, 5], "depth {depth}, negated at the top");
                let q = QueryBuilder::new().filter(neutral_nesting(depth, QueryFilter::is_null("category")));
                assert_eq!(store.count_where(q).await.unwrap(), 2, "depth {depth}");
            }
            // One level more is one too many.
            let over = !neutral_nesting(MAX_FILTER_DEPTH, QueryFilter::lt("price", json!(30)));
            assert_too_deep(store.find(QueryBuilder::new().filter(over)).await, "one level past the limit");
        })
        .await
        .unwrap();
    }

    async fn deeper_filters_are_refused_and_change_nothing(db) {
        let (storehaus, store) = products(&db).await;
        let before = raw_rows(&storehaus).await;
        let writes = store.clone();
        tokio::spawn(async move {
            for depth in [MAX_FILTER_DEPTH + 1, 129, 1_000, 100_000] {
                let started = std::time::Instant::now();
                for leaf in [QueryFilter::eq("price", json!(10)), QueryFilter::eq("no_such_field", json!(1))] {
                    let q = || QueryBuilder::new().filter(neutral_nesting(depth, leaf.clone()));
                    let what = |call: &str| format!("{call} at depth {depth}");
                    assert_too_deep(store.find(q()).await, &what("find"));
                    assert_too_deep(store.find_one(q()).await, &what("find_one"));
                    assert_too_deep(store.find_page(q().limit(2)).await, &what("find_page"));
                    assert_too_deep(store.count_where(q()).await, &what("count_where"));
                    let set = UpdateSet::new().set("price", json!(0));
                    assert_too_deep(writes.update_where(q(), set).await, &what("update_where"));
                    assert_too_deep(writes.delete_where(q()).await, &what("delete_where"));
                    assert_too_deep(writes.force_delete_where(q()).await, &what("force_delete_where"));
                    // A deep filter beside a plain one still refuses the whole query.
                    let mixed = QueryBuilder::new().filter(QueryFilter::eq("id", json!(1))).filter(neutral_nesting(depth, leaf.clone()));
                    assert_too_deep(writes.delete_where(mixed).await, &what("delete_where beside a plain filter"));
                }
                eprintln!("{}: depth {depth} refused in {:?}", B::NAME, started.elapsed());
            }
        })
        .await
        .unwrap();
        assert_eq!(raw_rows(&storehaus).await, before, "a refused query changed the table");
    }
}
