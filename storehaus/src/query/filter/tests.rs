use super::*;

/// Runs `test` on a thread with a tokio worker's stack (2 MiB), re-raising its panic.
pub(crate) fn on_small_stack(test: impl FnOnce() + Send + 'static) {
    let thread = std::thread::Builder::new().stack_size(2 << 20).spawn(test).unwrap();
    if let Err(panic) = thread.join() {
        std::panic::resume_unwind(panic);
    }
}

fn leaf() -> QueryFilter {
    QueryFilter::is_null("age")
}

#[test]
fn drop_takes_no_stack_per_level_even_past_the_limit() {
    on_small_stack(|| {
        // Built around the depth check, as no public constructor can: only `Drop` is exercised.
        let mut chain = leaf();
        for i in 0..1_000_000 {
            let kind = match i % 3 {
                0 => FilterKind::Not(Box::new(chain)),
                1 => FilterKind::And(vec![leaf(), chain]),
                _ => FilterKind::Or(vec![chain, leaf()]),
            };
            chain = QueryFilter { kind, depth: 0 };
        }
        drop(chain);
    });
}

#[test]
fn depth_counts_levels_of_and_or_not() {
    assert_eq!(leaf().depth, 0);
    assert_eq!(QueryFilter::and(vec![]).depth, 1);
    assert_eq!(QueryFilter::not(leaf()).depth, 1);
    let mixed = QueryFilter::or(vec![leaf(), QueryFilter::and(vec![!leaf(), leaf()])]);
    assert_eq!(mixed.depth, 3);
    let mut deepest = leaf();
    for _ in 0..MAX_FILTER_DEPTH {
        deepest = !deepest;
    }
    assert!(!deepest.is_too_deep() && matches!(deepest.kind, FilterKind::Not(_)));
    let over = QueryFilter::and(vec![leaf(), deepest.clone()]);
    assert!(over.is_too_deep() && over.kind == FilterKind::TooDeep, "{over:?}");
    assert_eq!(format!("{over:?}"), "QueryFilter { kind: TooDeep }");
    assert!((!over.clone()).is_too_deep() && QueryFilter::or(vec![over, leaf()]).is_too_deep());
}
