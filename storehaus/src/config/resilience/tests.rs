//! Tests of `resilience.rs`: the `[resilience]` section and its environment overrides.

use std::time::Duration;

use crate::AppConfig;
use crate::error::StoreError;
use crate::resilience::{BreakerConfig, RetryPolicy, Strategy};

fn config_error(text: &str) -> (Option<String>, String) {
    match AppConfig::from_toml_str(text) {
        Err(StoreError::Config { key, message }) => (key, message),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn the_section_is_handed_to_the_components_that_apply_it() {
    let config = AppConfig::from_toml_str(
        r#"
        [resilience.retry]
        max_attempts = 6
        budget_ms = 900
        first_delay_ms = 5
        max_delay_ms = 80

        [resilience.cache]
        strategy = "fail-fast"
        breaker_failures = 2
        breaker_window_ms = 500
        breaker_open_ms = 250

        [resilience.signals]
        breaker_failures = 0
        "#,
    )
    .unwrap();
    let retry = config.database.retry;
    assert_eq!((retry.max_attempts, retry.budget), (6, Duration::from_millis(900)));
    assert_eq!((retry.backoff.first, retry.backoff.max), (Duration::from_millis(5), Duration::from_millis(80)));
    assert_eq!(config.cache.strategy, Strategy::FailFast);
    assert_eq!(config.cache.breaker, BreakerConfig::new(2, Duration::from_millis(500), Duration::from_millis(250)));
    assert!(!config.signal.breaker.is_enabled());
    assert_eq!(config.signal.strategy, Strategy::Fallback);
}

#[test]
fn defaults_match_the_components_defaults() {
    let config = AppConfig::from_toml_str("").unwrap();
    assert_eq!(config.database.retry, RetryPolicy::default());
    assert_eq!(config.cache.breaker, BreakerConfig::default());
    assert_eq!(config.cache.strategy, Strategy::Fallback);
    assert!(config.resilience.rate_limits(None).unwrap().is_none());
}

#[test]
fn environment_overrides_reach_the_components() {
    let env = [
        ("STOREHAUS_RESILIENCE_RETRY_MAX_ATTEMPTS", "1"),
        ("STOREHAUS_RESILIENCE_CACHE_STRATEGY", "fail-fast"),
        ("STOREHAUS_RESILIENCE_SIGNALS_BREAKER_OPEN_MS", "3000"),
        ("STOREHAUS_RESILIENCE_RATE_LIMITS_SHARED", "false"),
    ];
    let config = AppConfig::load_with_env(env, std::path::Path::new("/nonexistent/storehaus.toml")).unwrap();
    assert!(!config.database.retry.is_enabled());
    assert_eq!(config.cache.strategy, Strategy::FailFast);
    assert_eq!(config.signal.breaker.open_for, Duration::from_secs(3));
    assert!(!config.resilience.rate_limits.shared);

    for (name, value, says) in [
        ("STOREHAUS_RESILIENCE_CACHE_STRATEGY", "sometimes", "unknown strategy"),
        ("STOREHAUS_RESILIENCE_RETRY_MAX_ATTEMPTS", "-1", "whole number"),
        ("STOREHAUS_RESILIENCE_NO_SUCH_THING", "1", "unknown setting"),
    ] {
        let err =
            AppConfig::load_with_env([(name, value)], std::path::Path::new("/nonexistent/storehaus.toml")).unwrap_err();
        assert!(
            matches!(&err, StoreError::Config { key: Some(key), message } if key == name && message.contains(says)),
            "{name}={value}: {err:?}"
        );
    }
}

#[test]
fn rules_become_rate_limits() {
    let config = AppConfig::from_toml_str(
        r#"
        [resilience.rate_limits]
        strategy = "fail-fast"

        [[resilience.rate_limits.rules]]
        operation = "store.*"
        rate = 120
        period = "minute"

        [[resilience.rate_limits.rules]]
        operation = "signals.emit"
        rate = 10
        burst = 3
        per_principal = true
        "#,
    )
    .unwrap();
    let limits = config.resilience.rate_limits(None).unwrap().unwrap();
    assert_eq!(limits.on_unavailable(), Strategy::FailFast);
    let rules = limits.rules();
    assert_eq!(rules.len(), 2);
    assert_eq!((rules[0].limit.per_second, rules[0].limit.burst), (2.0, 2));
    assert_eq!((rules[1].limit.per_second, rules[1].limit.burst), (10.0, 3));
    assert_eq!(rules[1].per, crate::resilience::Per::Principal);
}

#[test]
fn bad_settings_name_their_key() {
    let rule = |body: &str| format!("[[resilience.rate_limits.rules]]\n{body}\n");
    for (text, key) in [
        (rule("operation = \"store.*\"\nrate = 0"), "resilience.rate_limits.rules[0].rate"),
        (rule("operation = \"store.*\"\nrate = 5\nperiod = \"fortnight\""), "resilience.rate_limits.rules[0].period"),
        (rule("operation = \"Store.Find\"\nrate = 5"), "resilience.rate_limits.rules[0].operation"),
        (rule("operation = \"store.*\"\nrate = 5\nburst = 0"), "resilience.rate_limits.rules[0].burst"),
        ("[resilience.cache]\nbreaker_open_ms = 0\n".to_owned(), "resilience.cache.breaker_open_ms"),
    ] {
        let (found, message) = config_error(&text);
        assert_eq!(found.as_deref(), Some(key), "{text}: {message}");
    }
    let (key, _) = config_error("[resilience.retry]\nmax_attempts = \"many\"\n");
    assert_eq!(key.as_deref(), Some("resilience.retry.max_attempts"));
    let (key, _) = config_error("[resilience]\nretries = 3\n");
    assert_eq!(key.as_deref(), Some("resilience.retries"));
    let (key, _) = config_error("[resilience.cache]\nstrategy = \"hope\"\n");
    assert_eq!(key.as_deref(), Some("resilience.cache.strategy"));
}
