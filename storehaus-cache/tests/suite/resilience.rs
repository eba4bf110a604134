//! The circuit breaker with the read-through protocol, shared token buckets, and rate limits
//! on the explicit calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use storehaus_cache::{CacheConfig, CacheError, CacheManager, MemoryBackend, rate_limit_key};
use storehaus_resilience::{
    BoxFuture, BreakerConfig, BreakerState, Limiter, LimiterUnavailable, RateLimit, RateLimits, Strategy,
};

use crate::support::{free_port, unique_prefix};
use crate::{Backend, Setup};

crate::on_both_backends!(
    an_open_breaker_never_lets_a_read_serve_a_row_older_than_a_committed_write,
    fail_fast_refuses_reads_while_the_breaker_is_open,
    two_managers_share_one_token_bucket,
    explicit_calls_are_rate_limited,
);

type LoadError = Arc<String>;
const TTL: Duration = Duration::from_secs(300);
const OPEN_FOR: Duration = Duration::from_millis(300);

fn breaker(config: &mut CacheConfig) {
    config.breaker = BreakerConfig::new(5, Duration::from_secs(10), OPEN_FOR);
}

async fn an_open_breaker_never_lets_a_read_serve_a_row_older_than_a_committed_write(setup: Setup) {
    let Some(ctx) = setup.ctx(breaker).await else { return };
    let (cache, users, posts) = (&ctx.manager, ctx.space.table("users"), ctx.space.table("posts"));
    let (row, other) = (users.row("1"), posts.row("1"));
    let load = |value: &'static str| move || async move { Ok::<_, LoadError>(Some(value.to_owned())) };
    assert_eq!(cache.get_or_load(&row, TTL, load("v1")).await.unwrap().as_deref(), Some("v1"));
    assert_eq!(cache.get_or_load(&other, TTL, load("p1")).await.unwrap().as_deref(), Some("p1"));
    let query = || async { Ok::<_, LoadError>(vec!["q1".to_owned()]) };
    assert_eq!(cache.get_or_load_query(&users, "all", TTL, query).await.unwrap(), vec!["q1"]);
    assert_eq!(cache.stats().fills, 3);

    // Open: the committed write of v2 cannot reach the backend, so its invalidation waits.
    cache.breaker().trip();
    cache.invalidate_rows(&users, &["1"]).await;
    let stats = cache.stats();
    assert_eq!((stats.breaker, stats.invalidations_deferred, stats.errors), (BreakerState::Open, 1, 0));
    assert_eq!(cache.get_or_load(&row, TTL, load("v2")).await.unwrap().as_deref(), Some("v2"));
    let query = || async { Ok::<_, LoadError>(vec!["q2".to_owned()]) };
    assert_eq!(cache.get_or_load_query(&users, "all", TTL, query).await.unwrap(), vec!["q2"]);

    // Half-open: the first call to go through closes the breaker, here an explicit one that
    // has nothing to do with the table; the table's reads must still flush its pending
    // invalidation before they use the cache.
    tokio::time::sleep(OPEN_FOR).await;
    assert_eq!(cache.get::<String>(&ctx.space.kv("unrelated")).await.unwrap(), None);
    assert_eq!(cache.breaker().state(), BreakerState::Closed);
    assert_eq!(cache.get_or_load(&row, TTL, load("v2")).await.unwrap().as_deref(), Some("v2"));
    assert_eq!(cache.get_or_load(&row, TTL, load("unused")).await.unwrap().as_deref(), Some("v2"), "refilled");
    let query = || async { Ok::<_, LoadError>(vec!["q2".to_owned()]) };
    assert_eq!(cache.get_or_load_query(&users, "all", TTL, query).await.unwrap(), vec!["q2"]);
    // The other table had no write: its entry is served again.
    assert_eq!(cache.get_or_load(&other, TTL, load("unused")).await.unwrap().as_deref(), Some("p1"));

    // Open again, and this time the probe is a read of the written table: it runs the pending
    // invalidation first.
    cache.breaker().trip();
    cache.invalidate_table(&users).await;
    tokio::time::sleep(OPEN_FOR).await;
    assert_eq!(cache.get_or_load(&row, TTL, load("v3")).await.unwrap().as_deref(), Some("v3"));
    assert_eq!(cache.get_or_load(&row, TTL, load("unused")).await.unwrap().as_deref(), Some("v3"));
    let stats = cache.stats();
    assert_eq!((stats.breaker, stats.breaker_opened, stats.invalidations_deferred), (BreakerState::Closed, 2, 2));
    assert_eq!((stats.errors, stats.timeouts), (0, 0), "{stats:?}");
}

async fn fail_fast_refuses_reads_while_the_breaker_is_open(setup: Setup) {
    let Some(ctx) = setup
        .ctx(|c| {
            breaker(c);
            c.strategy = Strategy::FailFast;
        })
        .await
    else {
        return;
    };
    let cache = &ctx.manager;
    assert_eq!(cache.strategy(), Strategy::FailFast);
    cache.check_available().unwrap();
    cache.breaker().trip();
    let before = cache.stats().short_circuited;
    let error = cache.check_available().unwrap_err();
    assert!(matches!(&error, CacheError::Unavailable(m) if m.starts_with("circuit breaker open")), "{error}");
    assert_eq!(cache.stats().short_circuited, before + 1);
    // Once the open period ends a read may go on and probe; its success closes the breaker.
    tokio::time::sleep(OPEN_FOR).await;
    cache.check_available().unwrap();
    cache.check_available().unwrap();
    let row = ctx.space.table("t").row("1");
    assert_eq!(cache.get_or_load(&row, TTL, || async { Ok::<_, LoadError>(Some(1)) }).await.unwrap(), Some(1));
    assert_eq!(cache.breaker().state(), BreakerState::Closed);
    cache.check_available().unwrap();
}

/// Takes tokens from one bucket of 100/s, burst 20, with 10 tasks spread over two managers for
/// 3 s; the admitted count must match the budget of the measured span within 2 %.
async fn two_managers_share_one_token_bucket(setup: Setup) {
    let Some(first) = setup.ctx(|_| {}).await else { return };
    let second = match setup.backend {
        Backend::Redis => setup.ctx(|_| {}).await.expect("Redis answered the first manager").manager,
        // Two managers on one in-process backend, as two stores of one process would be.
        Backend::Memory => {
            let backend = first.manager.backend().clone();
            Arc::new(CacheManager::with_backend(backend, &CacheConfig::default()).unwrap())
        }
    };
    let limiters = [first.manager.rate_limiter(), second.rate_limiter()];
    let bucket = unique_prefix("bucket");
    let limit = RateLimit::per_second(100.0).burst(20);
    let run = Duration::from_secs(3);
    let origin = Instant::now();
    let (first_call, last_call) = (Arc::new(AtomicU64::new(u64::MAX)), Arc::new(AtomicU64::new(0)));
    let tasks: Vec<_> = (0..10)
        .map(|task| {
            let limiter = limiters[task % 2].clone();
            let (bucket, first_call, last_call) = (bucket.clone(), first_call.clone(), last_call.clone());
            tokio::spawn(async move {
                let (mut admitted, mut longest_wait) = (0u64, Duration::ZERO);
                while origin.elapsed() < run {
                    let started = origin.elapsed().as_micros() as u64;
                    let outcome = limiter.take(&bucket, limit).await.expect("the limiter answers");
                    first_call.fetch_min(started, Ordering::SeqCst);
                    last_call.fetch_max(origin.elapsed().as_micros() as u64, Ordering::SeqCst);
                    match outcome {
                        None => admitted += 1,
                        Some(wait) => {
                            longest_wait = longest_wait.max(wait);
                            tokio::time::sleep(wait).await;
                        }
                    }
                }
                (admitted, longest_wait)
            })
        })
        .collect();
    let (mut admitted, mut longest_wait) = (0u64, Duration::ZERO);
    for task in tasks {
        let (count, wait) = task.await.unwrap();
        admitted += count;
        longest_wait = longest_wait.max(wait);
    }
    let span = Duration::from_micros(last_call.load(Ordering::SeqCst) - first_call.load(Ordering::SeqCst));
    let budget = 20.0 + 100.0 * span.as_secs_f64();
    let deviation = (admitted as f64 - budget) / budget;
    eprintln!(
        "{:?} token bucket: {admitted} admitted, budget {budget:.1} over {span:?} ({:+.2} %), longest wait {longest_wait:?}",
        setup.backend,
        deviation * 100.0
    );
    assert!(deviation.abs() <= 0.02, "{admitted} admitted against a budget of {budget:.1}");
    assert!(longest_wait <= Duration::from_millis(10) + Duration::from_micros(1), "{longest_wait:?}");

    if let Backend::Redis = setup.backend {
        // The bucket's key expires once it would be full again: 20 tokens at 100/s is 200 ms.
        let key = rate_limit_key(&bucket);
        let left = first.manager.backend().ttl(&key).await.unwrap().expect("the bucket expires");
        assert!(left <= Duration::from_millis(200), "{left:?}");
        tokio::time::sleep(left + Duration::from_millis(50)).await;
        assert_eq!(first.manager.backend().delete(&[key]).await.unwrap(), 0, "the idle bucket is gone");
    }
}

/// A limiter on the buckets of `inner` whose keys are under `prefix`, so that runs and tests do
/// not share buckets.
#[derive(Debug)]
struct Prefixed {
    inner: Arc<dyn Limiter>,
    prefix: String,
}

impl Limiter for Prefixed {
    fn take<'a>(
        &'a self,
        key: &'a str,
        limit: RateLimit,
    ) -> BoxFuture<'a, Result<Option<Duration>, LimiterUnavailable>> {
        Box::pin(async move { self.inner.take(&format!("{}{key}", self.prefix), limit).await })
    }
}

async fn explicit_calls_are_rate_limited(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let cache = &ctx.manager;
    let limiter = Arc::new(Prefixed { inner: cache.rate_limiter(), prefix: unique_prefix("limits") });
    let limits = RateLimits::with_limiter(limiter, Strategy::Fallback)
        .rule("cache.set", RateLimit::per_second(0.5).burst(2))
        .unwrap()
        .rule("cache.get*", RateLimit::per_second(0.5).burst(1))
        .unwrap();
    cache.set_rate_limits(Some(limits.clone()));
    let key = ctx.space.kv("limited");
    cache.set(&key, &1, Some(TTL)).await.unwrap();
    cache.set(&key, &2, Some(TTL)).await.unwrap();
    match cache.set(&key, &3, Some(TTL)).await {
        Err(CacheError::RateLimited { rule, retry_after }) => {
            assert_eq!(rule, "cache.set");
            assert!(retry_after > Duration::from_secs(1) && retry_after <= Duration::from_secs(2), "{retry_after:?}");
        }
        other => panic!("a third set within a second was not limited: {other:?}"),
    }
    let error = cache.set(&key, &3, Some(TTL)).await.unwrap_err();
    assert!(!error.is_transient(), "a refusal says nothing about the backend: {error}");
    assert_eq!(cache.get::<i32>(&key).await.unwrap(), Some(2), "the refused sets did nothing");
    assert!(matches!(cache.get::<i32>(&key).await, Err(CacheError::RateLimited { rule, .. }) if rule == "cache.get*"));
    assert!(matches!(cache.get_many::<i32>(std::slice::from_ref(&key)).await, Err(CacheError::RateLimited { .. })));
    // Calls without a rule, and read-through calls, are not limited.
    assert_eq!(cache.ttl(&key).await.unwrap().map(|ttl| ttl <= TTL), Some(true));
    assert!(cache.delete(&key).await.unwrap());
    for round in 0..5 {
        let row = ctx.space.table("t").row("1");
        assert_eq!(cache.get_or_load(&row, TTL, || async { Ok::<_, LoadError>(Some(round)) }).await.unwrap(), Some(0));
    }
    let stats = limits.stats();
    assert_eq!((stats.admitted, stats.limited), (3, 4), "calls no rule matches are not counted: {stats:?}");
    assert_eq!(cache.stats().errors, 0, "refusals are not backend errors");

    // A limiter that cannot be asked: the strategy decides.
    let dead = CacheConfig { timeout_ms: 200, connection_timeout_ms: 200, ..CacheConfig::default() };
    let dead = Arc::new(
        CacheManager::new(CacheConfig { redis_url: format!("redis://127.0.0.1:{}", free_port()), ..dead }).unwrap(),
    );
    for (strategy, admitted) in [(Strategy::Fallback, true), (Strategy::FailFast, false)] {
        let limits = RateLimits::with_limiter(dead.rate_limiter(), strategy)
            .rule("cache.incr", RateLimit::per_second(1000.0))
            .unwrap();
        cache.set_rate_limits(Some(limits));
        let counter = ctx.space.counter(&format!("c-{strategy}"));
        match cache.incr(&counter, 1, Some(TTL)).await {
            Ok(value) => assert!(admitted && value == 1, "{strategy}: {value}"),
            Err(error) => assert!(!admitted && matches!(error, CacheError::Unavailable(_)), "{strategy}: {error}"),
        }
    }
    cache.set_rate_limits(None);
    assert!(cache.rate_limits().is_none());
    assert_eq!(cache.incr(&ctx.space.counter("c-fail-fast"), 1, Some(TTL)).await.unwrap(), 1);

    // A memory manager's own backend keeps its buckets apart from its entries.
    if let Backend::Memory = setup.backend {
        let backend = MemoryBackend::new(1 << 20);
        use storehaus_cache::CacheBackend as _;
        assert_eq!(backend.take_token("b", 1.0, 1).await.unwrap(), None);
        assert!(backend.take_token("b", 1.0, 1).await.unwrap().is_some());
        assert!(backend.take_token("b", 0.0, 1).await.is_err(), "a rate of 0 is refused");
        assert_eq!(backend.entry_count(), 0);
    }
}
