use super::*;
use crate::RateLimit;

#[derive(Debug)]
struct Down;

impl Limiter for Down {
    fn take<'a>(&'a self, _: &'a str, _: RateLimit) -> BoxFuture<'a, Result<Option<Duration>, LimiterUnavailable>> {
        Box::pin(async { Err(LimiterUnavailable("connection refused".into())) })
    }
}

#[tokio::test]
async fn every_matching_rule_must_admit() {
    let limits = RateLimits::local()
        .rule("store.*", RateLimit::per_second(0.001).burst(3))
        .unwrap()
        .rule("store.create", RateLimit::per_second(0.001).burst(1))
        .unwrap();
    assert!(limits.check("store.create", None).await.is_ok());
    let refused = limits.check("store.create", None).await.unwrap_err();
    assert!(matches!(&refused, RateLimitError::Limited { rule, .. } if rule == "store.create"), "{refused:?}");
    assert!(limits.check("store.find", None).await.is_ok());
    assert!(
        matches!(limits.check("store.find", None).await, Err(RateLimitError::Limited { rule, .. }) if rule == "store.*")
    );
    assert!(limits.check("cache.get", None).await.is_ok());
    let stats = limits.stats();
    assert_eq!((stats.admitted, stats.limited), (2, 2), "a call no rule matches is not counted");
}

#[tokio::test]
async fn an_unavailable_limiter_follows_the_strategy() {
    let rule = RateLimit::per_second(1.0);
    let open = RateLimits::with_limiter(Arc::new(Down), Strategy::Fallback).rule("*", rule).unwrap();
    assert!(open.check("store.find", None).await.is_ok());
    assert_eq!(open.stats().admitted_unchecked, 1);
    let closed = RateLimits::with_limiter(Arc::new(Down), Strategy::FailFast).rule("*", rule).unwrap();
    assert!(matches!(closed.check("store.find", None).await, Err(RateLimitError::Unavailable(_))));
    assert_eq!(closed.stats().refused_unavailable, 1);
}

#[test]
fn bad_rules_are_refused() {
    assert!(RateLimits::local().rule("Store.Create", RateLimit::per_second(1.0)).is_err());
    assert!(RateLimits::local().rule("store.create; DROP", RateLimit::per_second(1.0)).is_err());
    assert!(RateLimits::local().rule("", RateLimit::per_second(1.0)).is_err());
    assert!(RateLimits::local().rule("store.*", RateLimit::per_second(-1.0)).is_err());
}

#[tokio::test]
async fn calls_no_rule_matches_are_not_counted_and_namespaces_separate_budgets() {
    let limiter = Arc::new(LocalLimiter::default());
    let one = RateLimits::with_limiter(limiter.clone(), Strategy::Fallback)
        .namespace("app-one")
        .unwrap()
        .rule("store.find", RateLimit::per_second(0.001).burst(1))
        .unwrap();
    let two = RateLimits::with_limiter(limiter, Strategy::Fallback)
        .namespace("app-two")
        .unwrap()
        .rule("store.find", RateLimit::per_second(0.001).burst(1))
        .unwrap();
    assert!(one.check("store.find", None).await.is_ok());
    assert!(one.check("store.find", None).await.is_err());
    assert!(two.check("store.find", None).await.is_ok(), "another namespace, another bucket");
    assert!(one.check("cache.get", None).await.is_ok());
    let stats = one.stats();
    assert_eq!((stats.admitted, stats.limited), (1, 1));
    assert!(RateLimits::local().namespace("has space").is_err());
    assert!(RateLimits::local().namespace(&"x".repeat(65)).is_err());
}
