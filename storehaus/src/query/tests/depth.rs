//! Nesting depth: filters up to `MAX_FILTER_DEPTH` resolve, deeper ones are refused before any
//! walk, and no operation on a filter of any depth the API builds overflows a 2 MiB stack.

use super::*;
use crate::query::filter::tests::on_small_stack;

/// `depth` levels of `not`, `and` and `or` in turn around `leaf`, built in a loop.
fn nested(depth: usize, leaf: QueryFilter) -> QueryFilter {
    (0..depth).fold(leaf, |inner, level| match level % 3 {
        0 => !inner,
        1 => QueryFilter::and(vec![QueryFilter::eq("age", 1), inner]),
        _ => QueryFilter::or(vec![inner, QueryFilter::is_null("age")]),
    })
}

fn condition_depth(condition: &Condition) -> usize {
    match condition {
        Condition::Not(inner) => 1 + condition_depth(inner),
        Condition::And(items) | Condition::Or(items) => 1 + items.iter().map(condition_depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn assert_too_deep(result: Result<ResolvedQuery, StoreError>) {
    match result {
        Err(StoreError::Validation { field: None, message })
            if message.contains(&MAX_FILTER_DEPTH.to_string()) && message.contains("MAX_FILTER_DEPTH") => {}
        other => panic!("expected the nesting limit, got {other:?}"),
    }
}

#[test]
fn filters_up_to_the_limit_resolve() {
    on_small_stack(|| {
        for depth in [1, 2, 3, MAX_FILTER_DEPTH - 1, MAX_FILTER_DEPTH] {
            let q = QueryBuilder::new().filter(nested(depth, QueryFilter::eq("name", "x")));
            let resolved = resolve(q.clone());
            // Consecutive `and`s flatten at the top only; every level below stays.
            assert_eq!(condition_depth(&resolved.condition.unwrap()), depth, "depth {depth}");
            q.clone().filter(QueryFilter::eq("age", 2)).resolve(USERS).unwrap();
        }
    });
}

#[test]
fn deeper_filters_are_refused_even_with_unknown_fields() {
    on_small_stack(|| {
        for depth in [MAX_FILTER_DEPTH + 1, 129, 1_000, 100_000] {
            let deep = nested(depth, QueryFilter::eq("name", "x"));
            assert_too_deep(QueryBuilder::new().filter(deep.clone()).resolve(USERS));
            // The limit comes first, before any field is looked up.
            assert_too_deep(
                QueryBuilder::new().filter(nested(depth, QueryFilter::eq("no_such_field", 1))).resolve(USERS),
            );
            let q = QueryBuilder::new().filter(QueryFilter::eq("no_such_field", 1)).filter(deep);
            assert_too_deep(q.resolve(USERS));
        }
    });
}

#[test]
fn every_operation_on_a_filter_100_000_levels_deep_stays_on_a_small_stack() {
    on_small_stack(|| {
        let started = std::time::Instant::now();
        let deep = nested(100_000, QueryFilter::eq("name", "x"));
        let copy = deep.clone();
        assert_eq!(copy, deep);
        assert_ne!(copy, nested(MAX_FILTER_DEPTH, QueryFilter::eq("name", "x")));
        let text = format!("{deep:?}");
        assert!(text.len() < 100, "{text}");
        let q = QueryBuilder::new().filter(deep).order_by("age", SortOrder::Asc);
        assert!(format!("{q:?}").len() < 1_000);
        assert_too_deep(q.clone().resolve(USERS));
        drop((q, copy));
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
    });
}
