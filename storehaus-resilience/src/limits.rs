//! Rate-limit rules per operation, global or per principal, applied by a local or shared limiter.

use crate::bucket::{InvalidRateLimit, LocalBuckets, RateLimit};
use crate::strategy::Strategy;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A boxed future, as [`Limiter`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The limiter behind the buckets could not be asked (its Redis is unreachable).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate limiter unavailable: {0}")]
pub struct LimiterUnavailable(pub String);

/// Where token buckets live: in this process ([`LocalLimiter`]) or shared by every process
/// (the Redis limiter of `storehaus-cache`, one atomic script per call).
pub trait Limiter: Send + Sync + fmt::Debug {
    /// Takes a token from `key`'s bucket of `limit`: `Ok(None)` when admitted, `Ok(Some(wait))`
    /// when the bucket is empty and a token comes after `wait`.
    fn take<'a>(
        &'a self,
        key: &'a str,
        limit: RateLimit,
    ) -> BoxFuture<'a, Result<Option<Duration>, LimiterUnavailable>>;
}

/// Buckets in this process: each process has a budget of its own.
#[derive(Debug, Default)]
pub struct LocalLimiter {
    buckets: LocalBuckets,
}

impl LocalLimiter {
    /// Takes a token without waiting for anything.
    pub fn take_now(&self, key: &str, limit: &RateLimit) -> Option<Duration> {
        self.buckets.take(key, limit).err()
    }
}

impl Limiter for LocalLimiter {
    fn take<'a>(
        &'a self,
        key: &'a str,
        limit: RateLimit,
    ) -> BoxFuture<'a, Result<Option<Duration>, LimiterUnavailable>> {
        let wait = self.take_now(key, &limit);
        Box::pin(async move { Ok(wait) })
    }
}

/// Whom a rule's budget is shared by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Per {
    /// One budget for every caller.
    Global,
    /// A budget per principal (the store's `auth` principal, a subscriber's name); callers
    /// without one share the budget of the principal `""`.
    Principal,
}

/// One rule: operations matching `operation` are admitted at most at `limit`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// An operation name (`store.create`), a prefix ending in `*` (`store.*`), or `*`.
    pub operation: String,
    /// Whom the budget is shared by.
    pub per: Per,
    /// The bucket.
    pub limit: RateLimit,
}

impl Rule {
    fn matches(&self, operation: &str) -> bool {
        match self.operation.strip_suffix('*') {
            Some(prefix) => operation.starts_with(prefix),
            None => self.operation == operation,
        }
    }
}

/// Why a call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateLimitError {
    /// A rule's bucket is empty.
    #[error("rate limited by rule `{rule}`; retry after {} ms", .retry_after.as_millis())]
    Limited {
        /// The rule's operation pattern.
        rule: String,
        /// When a token comes.
        retry_after: Duration,
    },
    /// The shared limiter could not be asked and the strategy is fail-fast.
    #[error(transparent)]
    Unavailable(#[from] LimiterUnavailable),
}

/// A snapshot of what [`RateLimits`] decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimiterStats {
    /// Calls admitted by every matching rule.
    pub admitted: u64,
    /// Calls refused by a rule.
    pub limited: u64,
    /// Calls admitted without asking, the limiter being unavailable (strategy `fallback`).
    pub admitted_unchecked: u64,
    /// Calls refused because the limiter was unavailable (strategy `fail-fast`).
    pub refused_unavailable: u64,
}

#[derive(Debug, Default)]
struct Counters {
    admitted: AtomicU64,
    limited: AtomicU64,
    admitted_unchecked: AtomicU64,
    refused_unavailable: AtomicU64,
}

/// Rules and the limiter that applies them. Operation names are dotted: `store.<operation>`
/// (`store.create`, `store.find`, …), `signals.emit`, `signals.subscribe`, `cache.<operation>`.
///
/// ```
/// use storehaus_resilience::{RateLimit, RateLimits};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let limits = RateLimits::local()
///     .rule("store.*", RateLimit::per_second(1000.0).burst(200))
///     .unwrap()
///     .rule_per_principal("store.create", RateLimit::per_second(1.0).burst(1))
///     .unwrap();
/// assert!(limits.check("store.create", Some("user:1")).await.is_ok());
/// assert!(limits.check("store.create", Some("user:1")).await.is_err());
/// assert!(limits.check("store.create", Some("user:2")).await.is_ok());
/// # }
/// ```
#[derive(Clone)]
pub struct RateLimits {
    rules: Arc<Vec<Rule>>,
    /// Prefixed to every bucket's key, followed by `/` (empty: no prefix).
    namespace: Arc<str>,
    limiter: Arc<dyn Limiter>,
    on_unavailable: Strategy,
    counters: Arc<Counters>,
}

impl RateLimits {
    /// No rules yet, buckets in this process.
    pub fn local() -> Self {
        RateLimits::with_limiter(Arc::new(LocalLimiter::default()), Strategy::Fallback)
    }

    /// No rules yet, buckets in `limiter`; when it is unavailable, `on_unavailable` admits the
    /// call unchecked ([`Strategy::Fallback`], fail-open) or refuses it ([`Strategy::FailFast`],
    /// fail-closed).
    pub fn with_limiter(limiter: Arc<dyn Limiter>, on_unavailable: Strategy) -> Self {
        RateLimits {
            rules: Arc::default(),
            namespace: Arc::from(""),
            limiter,
            on_unavailable,
            counters: Arc::default(),
        }
    }

    /// Keeps the buckets under `namespace` (such as the application's name), so that
    /// applications sharing one Redis, or one application's environments, do not share budgets.
    /// Letters, digits, `-`, `_` and `.`, at most 64 bytes; empty for none.
    pub fn namespace(mut self, namespace: &str) -> Result<Self, InvalidRateLimit> {
        let valid = namespace.len() <= 64
            && namespace.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid {
            return Err(InvalidRateLimit(format!(
                "namespace {namespace:?} must be at most 64 letters, digits, `-`, `_` and `.`"
            )));
        }
        self.namespace = if namespace.is_empty() { Arc::from("") } else { Arc::from(format!("{namespace}/")) };
        Ok(self)
    }

    /// Adds a rule with one budget for all callers.
    pub fn rule(self, operation: &str, limit: RateLimit) -> Result<Self, InvalidRateLimit> {
        self.add(operation, Per::Global, limit)
    }

    /// Adds a rule with a budget per principal.
    pub fn rule_per_principal(self, operation: &str, limit: RateLimit) -> Result<Self, InvalidRateLimit> {
        self.add(operation, Per::Principal, limit)
    }

    /// Adds `rule`.
    pub fn add(mut self, operation: &str, per: Per, limit: RateLimit) -> Result<Self, InvalidRateLimit> {
        limit.validate()?;
        let name_ok = !operation.is_empty()
            && operation.len() <= 64
            && operation
                .strip_suffix('*')
                .unwrap_or(operation)
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_');
        if !name_ok {
            return Err(InvalidRateLimit(format!(
                "operation pattern {operation:?} must be lowercase letters, digits, `.` and `_`, optionally ending in `*`"
            )));
        }
        Arc::make_mut(&mut self.rules).push(Rule { operation: operation.to_owned(), per, limit });
        Ok(self)
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// What the limiter does when it cannot be asked.
    pub fn on_unavailable(&self) -> Strategy {
        self.on_unavailable
    }

    /// Whether any rule matches `operation`.
    pub fn applies_to(&self, operation: &str) -> bool {
        self.rules.iter().any(|rule| rule.matches(operation))
    }

    /// Takes a token from every bucket of a rule matching `operation` (for `principal` where
    /// the rule is per principal). Refuses with the first empty bucket's rule and wait.
    ///
    /// A refused call may still have used tokens of rules checked before the refusing one.
    pub async fn check(&self, operation: &str, principal: Option<&str>) -> Result<(), RateLimitError> {
        let mut matched = false;
        for rule in self.rules.iter().filter(|rule| rule.matches(operation)) {
            matched = true;
            let key = match rule.per {
                Per::Global => format!("{}{}", self.namespace, rule.operation),
                Per::Principal => format!("{}{}:{}", self.namespace, rule.operation, principal.unwrap_or("")),
            };
            match self.limiter.take(&key, rule.limit).await {
                Ok(None) => {}
                Ok(Some(retry_after)) => {
                    self.counters.limited.fetch_add(1, Ordering::Relaxed);
                    return Err(RateLimitError::Limited { rule: rule.operation.clone(), retry_after });
                }
                Err(unavailable) => match self.on_unavailable {
                    Strategy::Fallback => {
                        self.counters.admitted_unchecked.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(%unavailable, operation, "rate limiter unavailable; admitted unchecked");
                        return Ok(());
                    }
                    Strategy::FailFast => {
                        self.counters.refused_unavailable.fetch_add(1, Ordering::Relaxed);
                        return Err(RateLimitError::Unavailable(unavailable));
                    }
                },
            }
        }
        if matched {
            self.counters.admitted.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// The decisions so far.
    pub fn stats(&self) -> LimiterStats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        LimiterStats {
            admitted: get(&self.counters.admitted),
            limited: get(&self.counters.limited),
            admitted_unchecked: get(&self.counters.admitted_unchecked),
            refused_unavailable: get(&self.counters.refused_unavailable),
        }
    }
}

impl fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimits")
            .field("rules", &self.rules)
            .field("namespace", &self.namespace)
            .field("limiter", &self.limiter)
            .field("on_unavailable", &self.on_unavailable)
            .finish()
    }
}

#[cfg(test)]
mod tests;
