//! The `[resilience]` section of `storehaus.toml`: retries, circuit breakers, strategies and
//! rate limits.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::cache::CacheManager;
use crate::error::{Result, StoreError};
use crate::resilience::{BreakerConfig, LocalLimiter, Per, RateLimit, RateLimits, RetryPolicy, Strategy};

/// Retries, breakers, strategies and rate limits, as `[resilience]` in `storehaus.toml` sets
/// them. [`AppConfig`](crate::AppConfig) hands the retry policy to `database.retry` and the
/// breakers and strategies to `cache` and `signal`; build the rate limits with
/// [`ResilienceConfig::rate_limits`].
///
/// ```
/// use storehaus::AppConfig;
///
/// let config = AppConfig::from_toml_str(r#"
///     [resilience.retry]
///     max_attempts = 3
///
///     [resilience.cache]
///     strategy = "fail-fast"
///
///     [[resilience.rate_limits.rules]]
///     operation = "store.create"
///     rate = 100
///     burst = 20
///     per_principal = true
/// "#)?;
/// assert_eq!(config.database.retry.max_attempts, 3);
/// assert_eq!(config.cache.strategy, storehaus::resilience::Strategy::FailFast);
/// let limits = config.resilience.rate_limits(None)?.expect("one rule");
/// assert_eq!(limits.rules().len(), 1);
/// # Ok::<(), storehaus::StoreError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ResilienceConfig {
    /// `[resilience.retry]`.
    pub retry: RetrySettings,
    /// `[resilience.cache]`: the cache's breaker and what calls do while it is open.
    pub cache: LayerSettings,
    /// `[resilience.signals]`: the signal listener's breaker and what writes do while it is open.
    pub signals: LayerSettings,
    /// `[resilience.rate_limits]`.
    pub rate_limits: RateLimitSettings,
}

/// Retries of store reads and of [`transaction_retrying`](crate::StoreHaus::transaction_retrying).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RetrySettings {
    /// Attempts in all; 1 turns retries off. Default 4.
    pub max_attempts: u32,
    /// No attempt starts later than this after the first, in milliseconds. Default 2000.
    pub budget_ms: u64,
    /// Ceiling of the first delay, in milliseconds; ceilings double. Default 10.
    pub first_delay_ms: u64,
    /// Ceilings stop doubling here, in milliseconds. Default 1000.
    pub max_delay_ms: u64,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings { max_attempts: 4, budget_ms: 2000, first_delay_ms: 10, max_delay_ms: 1000 }
    }
}

impl RetrySettings {
    /// The policy these settings describe.
    pub fn policy(&self) -> RetryPolicy {
        RetryPolicy::default()
            .max_attempts(self.max_attempts)
            .budget(Duration::from_millis(self.budget_ms))
            .backoff(Duration::from_millis(self.first_delay_ms), Duration::from_millis(self.max_delay_ms))
    }
}

/// A layer's circuit breaker and strategy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LayerSettings {
    /// What calls do while the breaker is open: `"fallback"` (default) or `"fail-fast"`.
    pub strategy: Strategy,
    /// Failures within the window that open the breaker; 0 never opens it. Default 5.
    pub breaker_failures: u32,
    /// The window, in milliseconds. Default 10 000.
    pub breaker_window_ms: u64,
    /// How long the breaker stays open before a probe, in milliseconds. Default 1000.
    pub breaker_open_ms: u64,
}

impl Default for LayerSettings {
    fn default() -> Self {
        LayerSettings::from_breaker(BreakerConfig::default())
    }
}

impl LayerSettings {
    fn from_breaker(breaker: BreakerConfig) -> Self {
        LayerSettings {
            strategy: Strategy::Fallback,
            breaker_failures: breaker.failure_threshold,
            breaker_window_ms: breaker.window.as_millis() as u64,
            breaker_open_ms: breaker.open_for.as_millis() as u64,
        }
    }

    /// The breaker these settings describe.
    pub fn breaker(&self) -> BreakerConfig {
        BreakerConfig::new(
            self.breaker_failures,
            Duration::from_millis(self.breaker_window_ms),
            Duration::from_millis(self.breaker_open_ms),
        )
    }

    fn validate(&self, section: &str) -> Result<()> {
        if self.breaker_failures > 0 {
            for (field, value) in
                [("breaker_window_ms", self.breaker_window_ms), ("breaker_open_ms", self.breaker_open_ms)]
            {
                if value == 0 {
                    return Err(StoreError::config(format!("resilience.{section}.{field}"), "must be at least 1"));
                }
            }
        }
        Ok(())
    }
}

/// Rate-limit rules and where their buckets live.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RateLimitSettings {
    /// When the shared limiter's Redis is unreachable: `"fallback"` (default) admits calls
    /// unchecked (fail-open), `"fail-fast"` refuses them (fail-closed).
    pub strategy: Strategy,
    /// Buckets in Redis, shared by every process, when a cache is given to
    /// [`ResilienceConfig::rate_limits`] (default `true`); `false` keeps them per process.
    pub shared: bool,
    /// Prefixed to every bucket's key, so that applications (or environments) sharing one
    /// Redis keep separate budgets: letters, digits, `-`, `_`, `.`; empty (the default) for none.
    pub namespace: String,
    /// The rules; every rule matching an operation must admit it.
    pub rules: Vec<RuleSettings>,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings { strategy: Strategy::Fallback, shared: true, namespace: String::new(), rules: Vec::new() }
    }
}

/// One `[[resilience.rate_limits.rules]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RuleSettings {
    /// `store.create`, a prefix such as `store.*`, or `*`.
    pub operation: String,
    /// Tokens added per `period`.
    pub rate: u32,
    /// `"second"` (default), `"minute"` or `"hour"`.
    #[serde(default = "second")]
    pub period: String,
    /// The bucket's size; defaults to the tokens of one second (at least 1).
    #[serde(default)]
    pub burst: Option<u32>,
    /// A budget per principal instead of one for all callers. Default `false`.
    #[serde(default)]
    pub per_principal: bool,
}

fn second() -> String {
    "second".to_owned()
}

impl RuleSettings {
    fn limit(&self, index: usize) -> Result<RateLimit> {
        let key = |field: &str| format!("resilience.rate_limits.rules[{index}].{field}");
        let seconds = match self.period.as_str() {
            "second" => 1.0,
            "minute" => 60.0,
            "hour" => 3600.0,
            _ => return Err(StoreError::config(key("period"), "expected \"second\", \"minute\" or \"hour\"")),
        };
        if self.rate == 0 {
            return Err(StoreError::config(key("rate"), "must be at least 1"));
        }
        let mut limit = RateLimit::per_second(f64::from(self.rate) / seconds);
        if let Some(burst) = self.burst {
            limit = limit.burst(burst);
        }
        limit.validate().map_err(|e| StoreError::config(key("burst"), e.0))?;
        Ok(limit)
    }
}

impl ResilienceConfig {
    /// Checks the breakers and every rule; errors name the setting.
    pub fn validate(&self) -> Result<()> {
        self.cache.validate("cache")?;
        self.signals.validate("signals")?;
        self.build_limits(Arc::new(LocalLimiter::default())).map(|_| ())
    }

    /// The rate limits the rules describe, `None` without rules. With `cache` and `shared`,
    /// the buckets live in its Redis and every process shares them; otherwise each process
    /// has buckets of its own.
    pub fn rate_limits(&self, cache: Option<&Arc<CacheManager>>) -> Result<Option<RateLimits>> {
        if self.rate_limits.rules.is_empty() {
            return Ok(None);
        }
        let limiter = match cache {
            Some(cache) if self.rate_limits.shared => cache.rate_limiter(),
            _ => Arc::new(LocalLimiter::default()),
        };
        self.build_limits(limiter).map(Some)
    }

    fn build_limits(&self, limiter: Arc<dyn crate::resilience::Limiter>) -> Result<RateLimits> {
        let mut limits = RateLimits::with_limiter(limiter, self.rate_limits.strategy)
            .namespace(&self.rate_limits.namespace)
            .map_err(|e| StoreError::config("resilience.rate_limits.namespace", e.0))?;
        for (index, rule) in self.rate_limits.rules.iter().enumerate() {
            let per = if rule.per_principal { Per::Principal } else { Per::Global };
            limits = limits
                .add(&rule.operation, per, rule.limit(index)?)
                .map_err(|e| StoreError::config(format!("resilience.rate_limits.rules[{index}].operation"), e.0))?;
        }
        Ok(limits)
    }

    /// Sets one scalar setting from an environment variable `STOREHAUS_RESILIENCE_<FIELD>`,
    /// `field` being lowercase, such as `retry_max_attempts` or `cache_strategy`.
    pub(crate) fn set_from_str(&mut self, field: &str, value: &str) -> std::result::Result<(), String> {
        let number = |value: &str| value.parse::<u64>().map_err(|_| format!("expected a whole number, not {value:?}"));
        let small = |value: &str| value.parse::<u32>().map_err(|_| format!("expected a whole number, not {value:?}"));
        let strategy = |value: &str| value.parse::<Strategy>();
        let (layer, rest) = match field.split_once('_') {
            Some(("cache", rest)) => (Some(&mut self.cache), rest),
            Some(("signals", rest)) => (Some(&mut self.signals), rest),
            _ => (None, field),
        };
        if let Some(layer) = layer {
            match rest {
                "strategy" => layer.strategy = strategy(value)?,
                "breaker_failures" => layer.breaker_failures = small(value)?,
                "breaker_window_ms" => layer.breaker_window_ms = number(value)?,
                "breaker_open_ms" => layer.breaker_open_ms = number(value)?,
                _ => return Err(unknown()),
            }
            return Ok(());
        }
        match field {
            "retry_max_attempts" => self.retry.max_attempts = small(value)?,
            "retry_budget_ms" => self.retry.budget_ms = number(value)?,
            "retry_first_delay_ms" => self.retry.first_delay_ms = number(value)?,
            "retry_max_delay_ms" => self.retry.max_delay_ms = number(value)?,
            "rate_limits_strategy" => self.rate_limits.strategy = strategy(value)?,
            "rate_limits_namespace" => self.rate_limits.namespace = value.to_owned(),
            "rate_limits_shared" => {
                self.rate_limits.shared = value.parse().map_err(|_| format!("expected true or false, not {value:?}"))?
            }
            _ => return Err(unknown()),
        }
        Ok(())
    }
}

fn unknown() -> String {
    "unknown setting; expected one of retry_max_attempts, retry_budget_ms, retry_first_delay_ms, \
     retry_max_delay_ms, cache_strategy, cache_breaker_failures, cache_breaker_window_ms, cache_breaker_open_ms, \
     signals_strategy, signals_breaker_failures, signals_breaker_window_ms, signals_breaker_open_ms, \
     rate_limits_strategy, rate_limits_shared, rate_limits_namespace"
        .to_owned()
}

#[cfg(test)]
mod tests;
