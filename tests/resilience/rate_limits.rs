//! Token-bucket rate limits on store operations, end to end: a bucket in Redis shared by two
//! `StoreHaus` instances admits its burst plus its rate over the run and no more, as a local one
//! does within one instance; per-principal budgets; `signals.emit`; an unreachable limiter under
//! each strategy; limits built from `storehaus.toml`; and the registration limit of signals.

use std::sync::Arc;
use std::time::{Duration, Instant};

use storehaus::cache::{CacheConfig, CacheManager, rate_limit_key};
use storehaus::prelude::*;
use storehaus::resilience::{RateLimit, RateLimits, Strategy};
use storehaus::signals::SignalError;
use storehaus::testing::TestDatabase;
use storehaus_suite::inbox::Inbox;
use storehaus_suite::redis::{free_port, redis_url, shared_manager};

use crate::cache_breaker::TIMED;

/// A row scoped by principal, so per-principal rules have a principal to use.
#[model]
#[table(name = "limited_notes", auth)]
#[derive(PartialEq)]
pub struct LimitedNote {
    #[primary_key]
    pub id: Uuid,
    pub body: String,
}

/// A plain row, for stores with signals.
#[model]
#[table(name = "limited_events")]
#[derive(PartialEq)]
pub struct LimitedEvent {
    #[primary_key]
    pub id: Uuid,
    pub body: String,
}

/// How long the callers of the throughput tests call as fast as they can.
const HAMMER: Duration = Duration::from_secs(3);
/// The rate and burst of the throughput tests.
const RATE: f64 = 100.0;
const BURST: u32 = 20;
/// How far the admitted count may be from `burst + rate × elapsed`.
const TOLERANCE: f64 = 0.02;

fn note(body: &str) -> LimitedNote {
    LimitedNote { id: Uuid::new_v4(), body: body.to_owned() }
}

/// A principal no other run uses: the shared buckets are keyed by rule and principal.
fn unique_principal(name: &str) -> String {
    format!("{name}.{}", Uuid::new_v4().simple())
}

/// A manager on the shared Redis, or `None` (after reporting it) when Redis does not answer.
async fn shared_cache(test: &str) -> Option<Arc<CacheManager>> {
    shared_manager(test).await.map(Arc::new)
}

/// Deletes token-bucket keys of the shared Redis; they expire by themselves once full, this
/// only makes it at once.
async fn forget_buckets(cache: &CacheManager, buckets: &[String]) {
    for bucket in buckets {
        cache.delete(&rate_limit_key(bucket)).await.expect("the bucket key is deleted");
        assert_eq!(cache.ttl(&rate_limit_key(bucket)).await.unwrap(), None, "bucket {bucket} left behind");
    }
}

/// What the callers of a throughput test saw.
#[derive(Debug, Default)]
struct Hammered {
    admitted: u64,
    refused: u64,
    longest_retry_after: Duration,
    first_call: Option<Instant>,
    last_call: Option<Instant>,
}

impl Hammered {
    fn merge(&mut self, other: Hammered) {
        self.admitted += other.admitted;
        self.refused += other.refused;
        self.longest_retry_after = self.longest_retry_after.max(other.longest_retry_after);
        self.first_call = self.first_call.into_iter().chain(other.first_call).min();
        self.last_call = self.last_call.into_iter().chain(other.last_call).max();
    }

    /// Seconds between the first call's start and the last call's end.
    fn elapsed(&self) -> f64 {
        (self.last_call.expect("calls were made") - self.first_call.expect("calls were made")).as_secs_f64()
    }
}

/// Calls `get_by_id` on `store` as fast as possible until `until`; every refusal must be a
/// `RateLimited` of `rule`.
async fn hammer(store: GenericStore<LimitedNote>, id: Uuid, rule: &'static str, until: Instant) -> Hammered {
    let mut seen = Hammered::default();
    while Instant::now() < until {
        let started = Instant::now();
        seen.first_call.get_or_insert(started);
        match store.get_by_id(&id).await {
            Ok(read) => {
                assert!(read.is_some(), "the row is in the store's scope");
                seen.admitted += 1;
            }
            Err(StoreError::RateLimited { rule: refused_by, retry_after }) => {
                assert_eq!(refused_by, rule);
                seen.refused += 1;
                seen.longest_retry_after = seen.longest_retry_after.max(retry_after);
            }
            Err(other) => panic!("unexpected error: {other:?}"),
        }
        seen.last_call = Some(Instant::now());
    }
    seen
}

/// Runs `tasks` callers on each of `stores` for [`HAMMER`] and checks the admitted count
/// against the bucket's budget over the time the calls took.
async fn hammer_and_check(
    what: &str,
    stores: &[GenericStore<LimitedNote>],
    id: Uuid,
    rule: &'static str,
    tasks: usize,
) {
    let until = Instant::now() + HAMMER;
    let callers: Vec<_> = stores
        .iter()
        .flat_map(|store| (0..tasks).map(move |_| tokio::spawn(hammer(store.clone(), id, rule, until))))
        .collect();
    let mut seen = Hammered::default();
    for caller in callers {
        seen.merge(caller.await.expect("a caller failed"));
    }
    let elapsed = seen.elapsed();
    let budget = f64::from(BURST) + RATE * elapsed;
    let off = (seen.admitted as f64 - budget) / budget;
    eprintln!(
        "figure: {what}: {} callers for {elapsed:.3} s: {} admitted, budget {budget:.1} ({:+.2} %), {} refused, \
         longest retry_after {:?}",
        stores.len() * tasks,
        seen.admitted,
        off * 100.0,
        seen.refused,
        seen.longest_retry_after,
    );
    assert!(off.abs() <= TOLERANCE, "{what}: {} admitted for a budget of {budget:.1}", seen.admitted);
    assert!(seen.refused > seen.admitted, "{what}: the callers asked for more than the budget");
    // A token comes every 10 ms at 100/s; a little more for rounding.
    assert!(
        seen.longest_retry_after <= Duration::from_micros(10_100),
        "{what}: retry_after {:?}",
        seen.longest_retry_after
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_in_redis_is_shared_by_two_instances() {
    const TEST: &str = "a_bucket_in_redis_is_shared_by_two_instances";
    let Some(cache_1) = shared_cache(TEST).await else { return };
    let Some(cache_2) = shared_cache(TEST).await else { return };
    let Some(db) = TestDatabase::new().await else { return };
    let _timed = TIMED.lock().await;
    let (first, second) = (db.storehaus().await, db.storehaus().await);
    first.auto_migrate::<LimitedNote>(false).await.unwrap();
    let principal = unique_principal("shared");
    let row = GenericStore::<LimitedNote>::new(first.pool().clone(), None, None)
        .auth(principal.as_str())
        .create(note("read by both"), None)
        .await
        .unwrap();

    // One rule per principal on both instances: the bucket's key is the rule's and the
    // principal's, the same for both, and no other run's.
    let limit = RateLimit::per_second(RATE).burst(BURST);
    for (storehaus, cache) in [(&first, &cache_1), (&second, &cache_2)] {
        let limits = RateLimits::with_limiter(cache.rate_limiter(), Strategy::Fallback)
            .rule_per_principal("store.get_by_id", limit)
            .unwrap();
        storehaus.set_rate_limits(Some(limits));
    }
    let stores: Vec<_> = [&first, &second]
        .iter()
        .map(|storehaus| {
            GenericStore::<LimitedNote>::new(storehaus.pool().clone(), None, None).auth(principal.as_str())
        })
        .collect();
    hammer_and_check("shared bucket, two instances", &stores, row.id, "store.get_by_id", 5).await;

    let bucket = format!("store.get_by_id:{principal}");
    let ttl = cache_1.ttl(&rate_limit_key(&bucket)).await.unwrap();
    assert!(ttl.is_some_and(|ttl| ttl <= Duration::from_secs(1)), "the bucket expires once it would be full: {ttl:?}");
    for storehaus in [&first, &second] {
        let stats = storehaus.health_check().await.unwrap().rate_limits.expect("the pool has limits");
        assert_eq!(stats.admitted_unchecked, 0, "Redis answered every call: {stats:?}");
        assert!(stats.admitted > 0 && stats.limited > 0, "each instance drew from the bucket: {stats:?}");
    }
    forget_buckets(&cache_1, &[bucket]).await;
    first.close().await;
    second.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_bucket_admits_its_burst_and_rate() {
    let Some(db) = TestDatabase::new().await else { return };
    let _timed = TIMED.lock().await;
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<LimitedNote>(false).await.unwrap();
    let row = GenericStore::<LimitedNote>::new(storehaus.pool().clone(), None, None)
        .auth("local")
        .create(note("read locally"), None)
        .await
        .unwrap();
    let limits = RateLimits::local().rule("store.*", RateLimit::per_second(RATE).burst(BURST)).unwrap();
    storehaus.set_rate_limits(Some(limits));
    let store = GenericStore::<LimitedNote>::new(storehaus.pool().clone(), None, None).auth("local");
    hammer_and_check("local bucket, one instance", &[store], row.id, "store.*", 10).await;
    storehaus.close().await;
}

#[tokio::test]
async fn a_principal_spending_its_budget_leaves_the_others_alone() {
    const TEST: &str = "a_principal_spending_its_budget_leaves_the_others_alone";
    let Some(cache) = shared_cache(TEST).await else { return };
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<LimitedNote>(false).await.unwrap();
    // One token every 5 s: none comes back during the test.
    let limits = RateLimits::with_limiter(cache.rate_limiter(), Strategy::FailFast)
        .rule_per_principal("store.create", RateLimit::per_second(0.2).burst(3))
        .unwrap();
    let store = GenericStore::<LimitedNote>::new(storehaus.pool().clone(), None, None).with_rate_limits(limits);
    let unlimited = GenericStore::<LimitedNote>::new(storehaus.pool().clone(), None, None);
    let principals = [unique_principal("user.1"), unique_principal("user.2")];

    for (done, principal) in principals.iter().enumerate() {
        let scoped = store.auth(principal.as_str());
        for n in 0..3 {
            scoped.create(note(&format!("{principal} {n}")), None).await.unwrap();
        }
        let refused = note("beyond the burst");
        match scoped.create(refused.clone(), None).await {
            Err(StoreError::RateLimited { rule, retry_after }) => {
                assert_eq!(rule, "store.create");
                assert!(
                    retry_after > Duration::from_secs(4) && retry_after <= Duration::from_secs(5),
                    "{retry_after:?}"
                );
            }
            other => panic!("the fourth create of {principal} was not refused: {other:?}"),
        }
        let own = unlimited.auth(principal.as_str());
        assert_eq!(own.get_by_id(&refused.id).await.unwrap(), None, "a refused create wrote its row");
        assert_eq!(own.count().await.unwrap(), 3, "{principal}'s rows");
        assert_eq!(unlimited.unrestricted().count().await.unwrap(), 3 * (done as u64 + 1), "rows in all");
    }
    let buckets: Vec<String> = principals.iter().map(|principal| format!("store.create:{principal}")).collect();
    forget_buckets(&cache, &buckets).await;
    storehaus.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_beyond_the_signals_emit_budget_are_refused_before_they_run() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<LimitedEvent>(false).await.unwrap();
    let signals = storehaus.signal_manager(SignalConfig::default()).await.unwrap();
    let inbox = Inbox::attached(&signals);
    let limits = RateLimits::local().rule("signals.emit", RateLimit::per_second(0.2).burst(3)).unwrap();
    let store = GenericStore::<LimitedEvent>::new(storehaus.pool().clone(), Some(signals.clone()), None);
    let limited = store.with_rate_limits(limits.clone());

    let mut created = Vec::new();
    for n in 0..3 {
        created
            .push(limited.create(LimitedEvent { id: Uuid::new_v4(), body: format!("event {n}") }, None).await.unwrap());
    }
    let extra = LimitedEvent { id: Uuid::new_v4(), body: "beyond the burst".into() };
    let refusals = [
        limited.create(extra.clone(), None).await.map(drop),
        limited
            .update(&created[0].id, LimitedEvent { id: created[0].id, body: "changed".into() }, None)
            .await
            .map(drop),
        limited.delete(&created[1].id).await.map(drop),
    ];
    for refused in refusals {
        assert!(matches!(&refused, Err(StoreError::RateLimited { rule, .. }) if rule == "signals.emit"), "{refused:?}");
    }
    // Nothing of the refused writes ran: the rows are as the admitted writes left them, and only
    // their events arrive.
    assert_eq!(store.count().await.unwrap(), 3);
    assert_eq!(store.get_by_id(&extra.id).await.unwrap(), None);
    assert_eq!(store.get_by_id(&created[0].id).await.unwrap().map(|row| row.body.clone()), Some("event 0".to_owned()));
    assert!(store.get_by_id(&created[1].id).await.unwrap().is_some(), "a refused delete removed the row");
    inbox.wait_for(3, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut received = inbox.record_ids();
    received.sort();
    let mut expected: Vec<String> = created.iter().map(|row| row.id.to_string()).collect();
    expected.sort();
    assert_eq!(received, expected, "events of the admitted writes only");
    let stats = limits.stats();
    assert_eq!(stats.limited, 3, "{stats:?}");
    eprintln!("figure: signals.emit burst 3: 3 writes admitted, 3 refused, {} events received", received.len());
    storehaus.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_limiter_admits_under_fallback_and_refuses_under_fail_fast() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<LimitedNote>(false).await.unwrap();
    // Nothing listens on the port: every take fails, at once or after the short timeout.
    let config = CacheConfig {
        redis_url: format!("redis://127.0.0.1:{}", free_port()),
        timeout_ms: 200,
        connection_timeout_ms: 200,
        ..CacheConfig::default()
    };
    let down = Arc::new(CacheManager::new(config).unwrap());
    let limit = RateLimit::per_second(0.2).burst(1);
    let open = RateLimits::with_limiter(down.rate_limiter(), Strategy::Fallback).rule("store.*", limit).unwrap();
    let closed = RateLimits::with_limiter(down.rate_limiter(), Strategy::FailFast).rule("store.*", limit).unwrap();
    let base = GenericStore::<LimitedNote>::new(storehaus.pool().clone(), None, None).auth("down");

    // Fallback: the burst of 1 would refuse the second call; unchecked, all go through.
    storehaus.set_rate_limits(Some(open.clone()));
    let admitted = base.clone();
    for n in 0..5 {
        let row = admitted.create(note(&format!("unchecked {n}")), None).await.unwrap();
        assert_eq!(admitted.get_by_id(&row.id).await.unwrap().as_ref(), Some(&row));
    }
    let stats = open.stats();
    assert_eq!((stats.admitted_unchecked, stats.admitted, stats.limited), (10, 0, 0), "{stats:?}");
    let health = storehaus.health_check().await.unwrap();
    assert_eq!(health.rate_limits, Some(stats), "the pool's limits are reported");

    // Fail-fast: every call refused, and nothing ran.
    storehaus.set_rate_limits(Some(closed.clone()));
    let refused_store = base.clone();
    let refused = note("refused");
    for call in 0..3 {
        let started = Instant::now();
        match refused_store.create(refused.clone(), None).await {
            Err(StoreError::Cache(message)) => assert!(message.contains("rate limiter unavailable"), "{message}"),
            other => panic!("call {call} under fail-fast: {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(1), "a refusal took {:?}", started.elapsed());
    }
    assert!(matches!(refused_store.count().await, Err(StoreError::Cache(_))));
    assert_eq!(closed.stats().refused_unavailable, 4, "{:?}", closed.stats());
    let unlimited = base.with_rate_limits(RateLimits::local());
    assert_eq!(unlimited.get_by_id(&refused.id).await.unwrap(), None, "a refused create ran");
    assert_eq!(unlimited.count().await.unwrap(), 5);
    eprintln!("figure: limiter down: fallback admitted {:?}, fail-fast refused {:?}", open.stats(), closed.stats());
    storehaus.close().await;
}

#[tokio::test]
async fn limits_from_storehaus_toml_apply_and_bad_rules_name_their_key() {
    const TEST: &str = "limits_from_storehaus_toml_apply_and_bad_rules_name_their_key";
    if shared_cache(TEST).await.is_none() {
        return;
    }
    let Some(db) = TestDatabase::new().await else { return };
    let toml = format!(
        r#"
        [cache]
        redis_url = "{}"

        [resilience.rate_limits]
        strategy = "fail-fast"

        [[resilience.rate_limits.rules]]
        operation = "store.create"
        rate = 12
        period = "minute"
        burst = 2
        per_principal = true
        "#,
        redis_url()
    );
    let config = AppConfig::from_toml_str(&toml).unwrap();
    let cache = Arc::new(CacheManager::new(config.cache.clone()).unwrap());
    let limits = config.resilience.rate_limits(Some(&cache)).unwrap().expect("one rule");
    assert_eq!(limits.on_unavailable(), Strategy::FailFast);
    assert_eq!(limits.rules()[0].limit, RateLimit::per_second(0.2).burst(2));
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<LimitedNote>(false).await.unwrap();
    storehaus.set_rate_limits(Some(limits));
    let principal = unique_principal("configured");
    let store = GenericStore::<LimitedNote>::new(storehaus.pool().clone(), None, None).auth(principal.as_str());
    store.create(note("one"), None).await.unwrap();
    store.create(note("two"), None).await.unwrap();
    let refused = store.create(note("three"), None).await.unwrap_err();
    assert!(matches!(&refused, StoreError::RateLimited { rule, .. } if rule == "store.create"), "{refused:?}");
    // The bucket lives in Redis, under the rule and the principal.
    let bucket = format!("store.create:{principal}");
    assert!(cache.ttl(&rate_limit_key(&bucket)).await.unwrap().is_some(), "the bucket is in Redis");
    assert_eq!(store.with_rate_limits(RateLimits::local()).count().await.unwrap(), 2);
    forget_buckets(&cache, &[bucket]).await;

    let rule = |body: &str| format!("[[resilience.rate_limits.rules]]\n{body}\n");
    let bad = [
        (rule("operation = \"store.create\"\nrate = 0"), "resilience.rate_limits.rules[0].rate"),
        (
            rule("operation = \"store.create\"\nrate = 5\nperiod = \"fortnight\""),
            "resilience.rate_limits.rules[0].period",
        ),
        (rule("operation = \"Store.Create\"\nrate = 5"), "resilience.rate_limits.rules[0].operation"),
        (
            rule("operation = \"store.find\"\nrate = 5") + &rule("operation = \"store.create\"\nrate = 5\nburst = 0"),
            "resilience.rate_limits.rules[1].burst",
        ),
    ];
    for (text, key) in bad {
        match AppConfig::from_toml_str(&text) {
            Err(StoreError::Config { key: Some(found), message }) => assert_eq!(found, key, "{message}"),
            other => panic!("{text}: {other:?}"),
        }
    }
    storehaus.close().await;
}

#[tokio::test]
async fn registrations_beyond_the_subscribe_limit_are_refused() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    let config = SignalConfig { subscribe_limit: Some(RateLimit::per_second(0.2).burst(2)), ..SignalConfig::default() };
    let signals = storehaus.signal_manager(config).await.unwrap();
    for _ in 0..2 {
        signals.add_callback(|_| async { Ok(()) }).unwrap();
    }
    match signals.add_callback(|_| async { Ok(()) }) {
        Err(SignalError::RateLimited { retry_after }) => {
            assert!(retry_after > Duration::from_secs(4) && retry_after <= Duration::from_secs(5), "{retry_after:?}");
        }
        other => panic!("the third registration was not refused: {:?}", other.map(drop)),
    }
    assert_eq!(signals.get_stats().callbacks_registered, 2, "the refused callback is not registered");
    storehaus.close().await;
}
