//! The delays between retries follow the policy's curve: each under its ceiling (doubling from
//! `first` up to `max`), spread over the whole interval (full jitter), none past the budget; and
//! a store read against a server that resets every connection is tried exactly `max_attempts`
//! times.

use std::time::{Duration, Instant};
use storehaus::prelude::*;
use storehaus::resilience::{RetryCounters, RetryPolicy, RetryStats, retry};
use storehaus::testing::TestDatabase;
use storehaus_suite::fault_proxy::{self, Fault};

/// What a timer wake-up may add to a delay on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(15);

const fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// The failure of an operation that always fails, transiently.
#[derive(Debug)]
struct Unavailable;

/// Runs `retry` under `policy` on an operation that always fails transiently; returns when each
/// attempt started.
async fn attempt_starts(policy: RetryPolicy, counters: &RetryCounters) -> Vec<Instant> {
    let mut starts = Vec::new();
    let outcome = retry(
        &policy,
        Some(counters),
        |_: &Unavailable| true,
        || {
            starts.push(Instant::now());
            async { Err::<(), _>(Unavailable) }
        },
    )
    .await;
    assert!(outcome.is_err(), "an operation that always fails cannot succeed");
    starts
}

#[tokio::test]
async fn attempts_follow_the_doubling_curve_with_full_jitter() {
    /// Runs measured, concurrently: the same samples as sequential runs, in the time of one.
    const RUNS: usize = 200;
    let policy = RetryPolicy::default().max_attempts(6).budget(Duration::from_secs(5)).backoff(ms(20), ms(160));
    let ceilings: Vec<Duration> = (1..=5).map(|retry| policy.backoff.ceiling(retry)).collect();
    assert_eq!(ceilings, [ms(20), ms(40), ms(80), ms(160), ms(160)]);

    let counters = Arc::new(RetryCounters::default());
    let runs: Vec<_> = (0..RUNS)
        .map(|_| {
            let counters = Arc::clone(&counters);
            tokio::spawn(async move { attempt_starts(policy, &counters).await })
        })
        .collect();
    // gaps[n]: the waits before retry n + 1, one per run.
    let mut gaps: Vec<Vec<Duration>> = vec![Vec::with_capacity(RUNS); ceilings.len()];
    for run in runs {
        let starts = run.await.expect("a run panicked");
        assert_eq!(starts.len(), 6, "6 attempts in all, the budget of 5 s never reached");
        for (n, pair) in starts.windows(2).enumerate() {
            gaps[n].push(pair[1] - pair[0]);
        }
    }

    for (n, (gaps, ceiling)) in gaps.iter().zip(&ceilings).enumerate() {
        let retry = n + 1;
        let mean = gaps.iter().sum::<Duration>() / RUNS as u32;
        let longest = gaps.iter().max().expect("samples");
        let low = gaps.iter().filter(|gap| **gap < ceiling.mul_f64(0.3)).count();
        let high = gaps.iter().filter(|gap| **gap > ceiling.mul_f64(0.7)).count();
        eprintln!(
            "figure: retry {retry}: ceiling {ceiling:?}, mean wait {mean:.1?} (half the ceiling: {:?}), longest \
             {longest:.1?}; {low} of {RUNS} below 30 % of the ceiling, {high} above 70 %",
            *ceiling / 2
        );
        assert!(*longest <= *ceiling + SLACK, "retry {retry} waited {longest:?}, over its ceiling {ceiling:?}");
        // Uniform in [0, ceiling]: the mean is half the ceiling (its standard error over 200
        // runs is 2% of the ceiling); timer wake-ups add a millisecond or two.
        let tolerance = ceiling.mul_f64(0.1) + ms(5);
        assert!(
            mean.abs_diff(*ceiling / 2) <= tolerance,
            "retry {retry}: mean wait {mean:?}, expected {:?} ± {tolerance:?}",
            *ceiling / 2
        );
        // Full jitter, not "equal jitter" (half fixed) nor a fixed delay: both ends are drawn.
        assert!(low > 0 && high > 0, "retry {retry}: waits do not cover [0, {ceiling:?}]");
    }
    let stats = counters.snapshot();
    assert_eq!(
        (stats.retries, stats.recovered, stats.exhausted),
        (RUNS as u64 * 5, 0, RUNS as u64),
        "every run retried 5 times and ran out of attempts"
    );
}

#[tokio::test]
async fn the_budget_stops_retries() {
    const RUNS: usize = 20;
    const BUDGET: Duration = ms(150);
    let policy = RetryPolicy::default().max_attempts(1_000).budget(BUDGET).backoff(ms(20), ms(160));
    let counters = Arc::new(RetryCounters::default());
    let runs: Vec<_> = (0..RUNS)
        .map(|_| {
            let counters = Arc::clone(&counters);
            tokio::spawn(async move {
                let started = Instant::now();
                let starts = attempt_starts(policy, &counters).await;
                (starts, started.elapsed())
            })
        })
        .collect();
    let mut attempts = Vec::with_capacity(RUNS);
    let mut last_starts = Vec::with_capacity(RUNS);
    for run in runs {
        let (starts, took) = run.await.expect("a run panicked");
        let last_start = *starts.last().expect("one attempt at least") - starts[0];
        // Delays are cut to what is left of the budget, so attempts go on until it is spent.
        assert!(
            last_start <= BUDGET + SLACK && last_start + SLACK >= BUDGET,
            "the last of {} attempts started {last_start:?} after the first, budget {BUDGET:?}",
            starts.len()
        );
        assert!(took <= BUDGET + SLACK, "the call returned {took:?} after it started, budget {BUDGET:?}");
        assert!(starts.len() > 1 && starts.len() < 1_000, "{} attempts", starts.len());
        attempts.push(starts.len());
        last_starts.push(last_start);
    }
    let RetryStats { retries, recovered, exhausted, .. } = counters.snapshot();
    eprintln!(
        "figure: budget {BUDGET:?}: attempts per call {}..={}, last attempt {:.1?}..={:.1?} after the first; \
         {retries} retries, {exhausted} exhausted",
        attempts.iter().min().unwrap(),
        attempts.iter().max().unwrap(),
        last_starts.iter().min().unwrap(),
        last_starts.iter().max().unwrap()
    );
    assert_eq!(exhausted, RUNS as u64, "every call ran out of budget");
    assert_eq!(recovered, 0);
    assert_eq!(
        retries,
        attempts.iter().map(|a| *a as u64 - 1).sum::<u64>(),
        "a retry counted per attempt after the first"
    );
}

#[model]
#[table(name = "backoff_items")]
pub struct Item {
    #[primary_key]
    pub id: Uuid,
    pub n: i64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_read_against_a_resetting_server_is_tried_max_attempts_times() {
    let Some(db) = TestDatabase::new().await else { return };
    let admin = db.storehaus().await;
    admin.auto_migrate::<Item>(false).await.unwrap();
    let id = Uuid::new_v4();
    GenericStore::<Item>::new(admin.pool().clone(), None, None).create(Item { id, n: 7 }, None).await.unwrap();

    let (proxy, proxied) = fault_proxy::in_front_of(db.config()).await;
    let policy = RetryPolicy::default().max_attempts(3).budget(Duration::from_secs(5)).backoff(ms(10), ms(40));
    let storehaus =
        StoreHaus::new(DatabaseConfig { max_connections: 2, connection_timeout_seconds: 3, retry: policy, ..proxied })
            .await
            .unwrap();
    let store = GenericStore::<Item>::new(storehaus.pool().clone(), None, None);
    assert_eq!(store.retry_policy(), policy, "the pool's policy, from its configuration");
    assert_eq!(store.get_by_id(&id).await.unwrap().expect("the row").n, 7);

    // Every connection, the idle one and each new one, is reset: each attempt opens one.
    proxy.set(Fault::Reset);
    for (store, attempts) in [(store.clone(), 3), (store.with_retry_policy(policy.max_attempts(5)), 5)] {
        let accepted = proxy.accepted();
        let before = storehaus.pool().retry_stats();
        let started = Instant::now();
        let error = store.get_by_id(&id).await.expect_err("no connection survives");
        let took = started.elapsed();
        let connections = proxy.accepted() - accepted;
        let after = storehaus.pool().retry_stats();
        eprintln!(
            "figure: read with max_attempts {attempts} against a resetting server: {connections} connection \
             attempts in {took:.1?}, then {error}"
        );
        assert!(error.is_transient(), "a reset connection is transient: {error:?}");
        assert_eq!(connections, attempts, "one connection per attempt");
        assert_eq!(after.retries - before.retries, attempts - 1);
        assert_eq!(after.exhausted - before.exhausted, 1);
        assert_eq!(after.recovered, before.recovered);
        assert!(took < Duration::from_secs(2), "the read gave up after {took:?}");
    }

    proxy.set(Fault::PassThrough);
    assert_eq!(store.get_by_id(&id).await.unwrap().expect("the row").n, 7, "reads work again");
    storehaus.close().await;
    admin.close().await;
}
