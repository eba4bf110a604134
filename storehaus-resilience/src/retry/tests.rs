use super::*;

#[tokio::test]
async fn retries_transient_errors_until_success() {
    let counters = RetryCounters::default();
    let policy = RetryPolicy::default().backoff(Duration::from_millis(1), Duration::from_millis(2));
    let mut calls = 0;
    let result: Result<u32, &str> = retry(
        &policy,
        Some(&counters),
        |_| true,
        || {
            calls += 1;
            let outcome = if calls < 3 { Err("reset") } else { Ok(calls) };
            async move { outcome }
        },
    )
    .await;
    assert_eq!(result, Ok(3));
    assert_eq!(counters.snapshot(), RetryStats { retries: 2, recovered: 1, exhausted: 0 });
}

#[tokio::test]
async fn permanent_errors_and_disabled_policies_are_not_retried() {
    let counters = RetryCounters::default();
    let mut calls = 0;
    let result: Result<(), &str> = retry(
        &RetryPolicy::default(),
        Some(&counters),
        |_| false,
        || {
            calls += 1;
            async { Err("constraint") }
        },
    )
    .await;
    assert_eq!((result, calls), (Err("constraint"), 1));
    let result: Result<(), &str> = retry(
        &RetryPolicy::disabled(),
        Some(&counters),
        |_| true,
        || {
            calls += 1;
            async { Err("reset") }
        },
    )
    .await;
    assert_eq!((result, calls), (Err("reset"), 2));
    assert_eq!(counters.snapshot(), RetryStats::default());
}

#[tokio::test]
async fn attempts_stop_at_the_maximum() {
    let counters = RetryCounters::default();
    let policy = RetryPolicy::default().max_attempts(3).backoff(Duration::ZERO, Duration::ZERO);
    let mut calls = 0;
    let result: Result<(), &str> = retry(
        &policy,
        Some(&counters),
        |_| true,
        || {
            calls += 1;
            async { Err("reset") }
        },
    )
    .await;
    assert_eq!((result, calls), (Err("reset"), 3));
    assert_eq!(counters.snapshot(), RetryStats { retries: 2, recovered: 0, exhausted: 1 });
}
