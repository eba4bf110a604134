//! Settings of the cache layer: the `[cache]` section of `storehaus.toml`.

use std::fmt;

use serde::Deserialize;
use storehaus_resilience::{BreakerConfig, Strategy};

/// URL schemes the Redis client accepts.
const SCHEMES: &[&str] = &["redis", "rediss", "redis+unix", "unix"];

/// Names of the settings, in the order of the `[cache]` section.
const FIELDS: &[&str] = &[
    "redis_url",
    "pool_size",
    "timeout_ms",
    "max_connections",
    "connection_timeout_ms",
    "negative_ttl_seconds",
    "ttl_jitter_percent",
    "reconnect_max_delay_ms",
    "max_entry_bytes",
    "memory_max_bytes",
];

/// Query parameters of a URL whose value is a password.
const PASSWORD_PARAMS: &[&str] = &["pass", "password", "passwd", "pwd"];

/// Upper bound of `ttl_jitter_percent`: more would let an entry live twice as long as asked.
const MAX_JITTER_PERCENT: u32 = 50;

/// A cache setting that is missing, malformed or out of range.
///
/// `key` names the setting as it appears in `storehaus.toml`, such as `cache.pool_size`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid `{key}`: {message}")]
pub struct ConfigError {
    /// The setting, such as `cache.timeout_ms`.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(field: &str, message: impl Into<String>) -> Self {
        ConfigError { key: format!("cache.{field}"), message: message.into() }
    }
}

/// Connection and pool settings of the Redis cache.
///
/// `Debug` hides the password of `redis_url` (user info and `pass` / `password` query
/// parameters alike), so the value can be logged.
///
/// ```
/// use storehaus_cache::CacheConfig;
///
/// let config = CacheConfig::from_url("redis://:secret@cache.internal:6379/0").unwrap();
/// assert_eq!(config.pool_size, 10);
/// assert!(!format!("{config:?}").contains("secret"));
///
/// let config = CacheConfig::from_url("redis+unix:///run/redis.sock?db=1&pass=secret").unwrap();
/// assert_eq!(config.redacted_url(), "redis+unix:///run/redis.sock?db=1&pass=***");
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// Redis server URL: `redis://[user][:password@]host[:port][/db]` or
    /// `redis+unix:///path[?db=N&pass=password]` (also `unix://`). A
    /// `rediss://` (TLS) URL passes validation, but this build has no TLS and
    /// [`CacheManager::new`](crate::CacheManager::new) refuses it.
    pub redis_url: String,
    /// Connections kept open to Redis. The Redis backend pipelines every command over one
    /// multiplexed connection, which stays within this bound.
    pub pool_size: u32,
    /// Upper bound of one cache command, in milliseconds; a slower command counts as a miss.
    pub timeout_ms: u64,
    /// Upper bound of connections open to Redis at once.
    pub max_connections: u32,
    /// Upper bound of establishing one connection, in milliseconds.
    pub connection_timeout_ms: u64,
    /// How long "no such row" is remembered, in seconds; `0` turns negative caching off.
    pub negative_ttl_seconds: u64,
    /// Each cache fill lives its TTL plus or minus up to this share, in percent (at most 50),
    /// so entries filled together do not expire together.
    pub ttl_jitter_percent: u32,
    /// Longest pause between two attempts to reach an unreachable Redis, in milliseconds.
    /// Attempts start 100 ms apart and double up to this bound.
    pub reconnect_max_delay_ms: u64,
    /// Largest row or query result the read-through cache keeps, in bytes of its stored entry
    /// (key and encoded value). A larger one is still returned to the caller, only not kept.
    pub max_entry_bytes: u64,
    /// Budget of the in-process cache ([`CacheManager::memory`](crate::CacheManager::memory)),
    /// in bytes of keys and values; the least useful entries are evicted beyond it. Redis
    /// ignores it (its own `maxmemory` applies).
    pub memory_max_bytes: u64,
    /// The circuit breaker every backend call goes through: after `failure_threshold`
    /// unreachable or timed-out calls within `window`, calls fail at once for `open_for`, then
    /// one call probes. Set from the `[resilience]` section, not from `[cache]`.
    #[serde(skip)]
    pub breaker: BreakerConfig,
    /// What a store read does while the breaker is open: [`Strategy::Fallback`] reads from the
    /// database, [`Strategy::FailFast`] fails (see
    /// [`CacheManager::check_available`](crate::CacheManager::check_available)). Set from the
    /// `[resilience]` section, not from `[cache]`.
    #[serde(skip)]
    pub strategy: Strategy,
}

/// Default of [`CacheConfig::max_entry_bytes`]: 1 MiB.
pub const DEFAULT_MAX_ENTRY_BYTES: u64 = 1 << 20;
/// Default of [`CacheConfig::memory_max_bytes`]: 64 MiB.
pub const DEFAULT_MEMORY_MAX_BYTES: u64 = 64 << 20;

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            redis_url: "redis://127.0.0.1:6379".to_owned(),
            pool_size: 10,
            timeout_ms: 5000,
            max_connections: 100,
            connection_timeout_ms: 3000,
            negative_ttl_seconds: 10,
            ttl_jitter_percent: 10,
            reconnect_max_delay_ms: 5000,
            max_entry_bytes: DEFAULT_MAX_ENTRY_BYTES,
            memory_max_bytes: DEFAULT_MEMORY_MAX_BYTES,
            breaker: BreakerConfig::default(),
            strategy: Strategy::Fallback,
        }
    }
}

impl CacheConfig {
    /// Settings from the values of the first five keys of the `[cache]` section, the others at
    /// their defaults. Not validated; see [`CacheConfig::validate`].
    pub fn new(
        redis_url: impl Into<String>,
        pool_size: u32,
        timeout_ms: u64,
        max_connections: u32,
        connection_timeout_ms: u64,
    ) -> Self {
        CacheConfig {
            redis_url: redis_url.into(),
            pool_size,
            timeout_ms,
            max_connections,
            connection_timeout_ms,
            ..CacheConfig::default()
        }
    }

    /// The default settings with `redis_url` set to `url`, validated.
    pub fn from_url(url: impl Into<String>) -> Result<Self, ConfigError> {
        let config = CacheConfig { redis_url: url.into(), ..CacheConfig::default() };
        config.validate()?;
        Ok(config)
    }

    /// Checks every setting; the error names the first one that is wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate_redis_url(&self.redis_url).map_err(|m| ConfigError::new("redis_url", m))?;
        self.validate_tuning()
    }

    /// Checks every setting except `redis_url`, which a backend other than Redis ignores.
    pub(crate) fn validate_tuning(&self) -> Result<(), ConfigError> {
        if self.pool_size == 0 {
            return Err(ConfigError::new("pool_size", "must be at least 1"));
        }
        if self.max_connections == 0 {
            return Err(ConfigError::new("max_connections", "must be at least 1"));
        }
        if self.timeout_ms == 0 {
            return Err(ConfigError::new("timeout_ms", "must be at least 1"));
        }
        if self.connection_timeout_ms == 0 {
            return Err(ConfigError::new("connection_timeout_ms", "must be at least 1"));
        }
        if self.ttl_jitter_percent > MAX_JITTER_PERCENT {
            return Err(ConfigError::new("ttl_jitter_percent", format!("must be at most {MAX_JITTER_PERCENT}")));
        }
        if self.reconnect_max_delay_ms == 0 {
            return Err(ConfigError::new("reconnect_max_delay_ms", "must be at least 1"));
        }
        if self.max_entry_bytes == 0 {
            return Err(ConfigError::new("max_entry_bytes", "must be at least 1"));
        }
        if self.memory_max_bytes == 0 {
            return Err(ConfigError::new("memory_max_bytes", "must be at least 1"));
        }
        if self.breaker.is_enabled() {
            if self.breaker.window.is_zero() {
                return Err(ConfigError::new("breaker.window", "must be longer than 0 when the breaker is enabled"));
            }
            if self.breaker.open_for.is_zero() {
                return Err(ConfigError::new("breaker.open_for", "must be longer than 0 when the breaker is enabled"));
            }
        }
        Ok(())
    }

    /// Sets the setting named `field` (as in the `[cache]` section) from its text form, the way
    /// environment overrides such as `STOREHAUS_CACHE_TIMEOUT_MS=100` are applied.
    pub fn set_from_str(&mut self, field: &str, value: &str) -> Result<(), ConfigError> {
        match field {
            "redis_url" => self.redis_url = value.to_owned(),
            "pool_size" => self.pool_size = parse_number(field, value)?,
            "timeout_ms" => self.timeout_ms = parse_number(field, value)?,
            "max_connections" => self.max_connections = parse_number(field, value)?,
            "connection_timeout_ms" => self.connection_timeout_ms = parse_number(field, value)?,
            "negative_ttl_seconds" => self.negative_ttl_seconds = parse_number(field, value)?,
            "ttl_jitter_percent" => self.ttl_jitter_percent = parse_number(field, value)?,
            "reconnect_max_delay_ms" => self.reconnect_max_delay_ms = parse_number(field, value)?,
            "max_entry_bytes" => self.max_entry_bytes = parse_number(field, value)?,
            "memory_max_bytes" => self.memory_max_bytes = parse_number(field, value)?,
            _ => {
                return Err(ConfigError::new(field, format!("unknown setting; expected one of {}", FIELDS.join(", "))));
            }
        }
        Ok(())
    }

    /// `redis_url` with its password (user info, `pass` and `password` query parameters)
    /// replaced by `***`, for logs.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.redis_url)
    }
}

impl fmt::Debug for CacheConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheConfig")
            .field("redis_url", &self.redacted_url())
            .field("pool_size", &self.pool_size)
            .field("timeout_ms", &self.timeout_ms)
            .field("max_connections", &self.max_connections)
            .field("connection_timeout_ms", &self.connection_timeout_ms)
            .field("negative_ttl_seconds", &self.negative_ttl_seconds)
            .field("ttl_jitter_percent", &self.ttl_jitter_percent)
            .field("reconnect_max_delay_ms", &self.reconnect_max_delay_ms)
            .field("max_entry_bytes", &self.max_entry_bytes)
            .field("memory_max_bytes", &self.memory_max_bytes)
            .field("breaker", &self.breaker)
            .field("strategy", &self.strategy)
            .finish()
    }
}

fn parse_number<T: TryFrom<u64>>(field: &str, value: &str) -> Result<T, ConfigError> {
    let number: u64 = value
        .trim()
        .parse()
        .map_err(|_| ConfigError::new(field, format!("expected a non-negative integer, got `{value}`")))?;
    T::try_from(number).map_err(|_| ConfigError::new(field, format!("`{value}` is too large for this setting")))
}

/// Error messages name the problem but never echo the URL, which may hold a password.
fn validate_redis_url(url: &str) -> Result<(), String> {
    if url.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if url.contains('\0') {
        return Err("must not contain NUL bytes".to_owned());
    }
    let parsed = url::Url::parse(url).map_err(|e| format!("not a valid URL: {e}"))?;
    if !SCHEMES.contains(&parsed.scheme()) {
        return Err(format!(
            "unsupported scheme `{}`; expected one of {}",
            parsed.scheme(),
            SCHEMES.iter().map(|s| format!("{s}://")).collect::<Vec<_>>().join(", ")
        ));
    }
    let needs_host = matches!(parsed.scheme(), "redis" | "rediss");
    if needs_host && parsed.host_str().is_none_or(str::is_empty) {
        return Err("has no host".to_owned());
    }
    Ok(())
}

/// Replaces every password in a URL with `***`: the password of its user info and the values
/// of its `pass` / `password` query parameters (how `redis+unix://` and `unix://` URLs, and
/// PostgreSQL's, carry one).
///
/// Works on the raw text rather than a parsed URL so that a malformed value, which is exactly
/// what tends to be logged, is redacted too.
pub fn redact_url(url: &str) -> String {
    redact_query(&redact_user_info(url))
}

/// The user info ends at the last `@`, since an unencoded `@`, `/` or `#` inside a password
/// would otherwise leak its tail.
fn redact_user_info(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let Some(at) = url[start..].rfind('@').map(|i| start + i) else {
        return url.to_owned();
    };
    let Some(colon) = url[start..at].find(':').map(|i| start + i) else {
        return url.to_owned();
    };
    if colon + 1 == at {
        return url.to_owned();
    }
    format!("{}***{}", &url[..=colon], &url[at..])
}

/// Everything after the first `?` is taken for the query; a password parameter's value is
/// hidden up to the next `&`, so a `#` or `?` in it hides the rest too.
fn redact_query(url: &str) -> String {
    let Some((head, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let params: Vec<String> = query
        .split('&')
        .map(|param| match param.split_once('=') {
            Some((name, _)) if is_password_param(name) => format!("{name}=***"),
            _ => param.to_owned(),
        })
        .collect();
    format!("{head}?{}", params.join("&"))
}

/// Whether a query parameter, as written (maybe percent-encoded, any case), names a password.
fn is_password_param(name: &str) -> bool {
    let decoded: String = url::form_urlencoded::parse(format!("{name}=").as_bytes())
        .next()
        .map(|(name, _)| name.trim().to_ascii_lowercase())
        .unwrap_or_default();
    PASSWORD_PARAMS.contains(&decoded.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Puts one setting out of range.
    type Breaker = fn(&mut CacheConfig);

    #[test]
    fn defaults_match_the_documented_values() {
        let config = CacheConfig::default();
        assert_eq!(config, CacheConfig::new("redis://127.0.0.1:6379", 10, 5000, 100, 3000));
        config.validate().unwrap();
    }

    #[test]
    fn from_url_keeps_the_other_defaults() {
        let config = CacheConfig::from_url("rediss://cache.example.com:6380/2").unwrap();
        assert_eq!(config.redis_url, "rediss://cache.example.com:6380/2");
        assert_eq!(config.timeout_ms, 5000);
        CacheConfig::from_url("redis+unix:///run/redis.sock").unwrap();
    }

    #[test]
    fn validation_names_each_key() {
        let cases: [(Breaker, &str); 13] = [
            (|c| c.redis_url.clear(), "cache.redis_url"),
            (|c| c.redis_url = "http://localhost".into(), "cache.redis_url"),
            (|c| c.redis_url = "redis://lo\0calhost".into(), "cache.redis_url"),
            (|c| c.pool_size = 0, "cache.pool_size"),
            (|c| c.max_connections = 0, "cache.max_connections"),
            (|c| c.timeout_ms = 0, "cache.timeout_ms"),
            (|c| c.connection_timeout_ms = 0, "cache.connection_timeout_ms"),
            (|c| c.ttl_jitter_percent = 51, "cache.ttl_jitter_percent"),
            (|c| c.reconnect_max_delay_ms = 0, "cache.reconnect_max_delay_ms"),
            (|c| c.max_entry_bytes = 0, "cache.max_entry_bytes"),
            (|c| c.memory_max_bytes = 0, "cache.memory_max_bytes"),
            (|c| c.breaker.window = Duration::ZERO, "cache.breaker.window"),
            (|c| c.breaker.open_for = Duration::ZERO, "cache.breaker.open_for"),
        ];
        for (break_it, key) in cases {
            let mut config = CacheConfig::default();
            break_it(&mut config);
            assert_eq!(config.validate().unwrap_err().key, key);
        }
    }

    #[test]
    fn a_disabled_breaker_needs_no_periods() {
        let mut config = CacheConfig::default();
        assert_eq!((config.breaker, config.strategy), (BreakerConfig::default(), Strategy::Fallback));
        config.breaker = BreakerConfig::new(0, Duration::ZERO, Duration::ZERO);
        config.validate().unwrap();
    }

    #[test]
    fn the_breaker_and_strategy_are_not_read_from_the_cache_section() {
        let config: CacheConfig = serde_json::from_str(r#"{"timeout_ms": 100}"#).unwrap();
        assert_eq!(
            (config.timeout_ms, config.breaker, config.strategy),
            (100, BreakerConfig::default(), Strategy::Fallback)
        );
        assert!(serde_json::from_str::<CacheConfig>(r#"{"breaker": {}}"#).is_err(), "unknown in `[cache]`");
    }

    #[test]
    fn bad_url_errors_do_not_echo_the_url() {
        let err = CacheConfig::from_url("ftp://user:hunter2@host").unwrap_err();
        assert!(err.message.contains("`ftp`"), "{err}");
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn debug_redacts_the_password() {
        let config = CacheConfig::from_url("redis://default:s3cr%40t@localhost:6379/0").unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cr"), "{debug}");
        assert!(debug.contains("redis://default:***@localhost:6379/0"), "{debug}");
    }

    #[test]
    fn redaction_handles_odd_urls() {
        assert_eq!(redact_url("redis://:pw@host"), "redis://:***@host");
        assert_eq!(redact_url("redis://host:6379/0"), "redis://host:6379/0");
        assert_eq!(redact_url("redis://user@host"), "redis://user@host");
        assert_eq!(redact_url("redis://user:@host"), "redis://user:@host");
        // Unencoded delimiters inside the password must not let part of it through.
        assert_eq!(redact_url("redis://u:a/b#c@d@host/1"), "redis://u:***@host/1");
        assert_eq!(redact_url("u:secret@host"), "u:***@host");
    }

    #[test]
    fn redaction_hides_password_parameters_of_every_form() {
        let cases = [
            ("redis+unix:///run/redis.sock?pass=hunter2", "redis+unix:///run/redis.sock?pass=***"),
            (
                "redis+unix:///run/redis.sock?db=2&pass=hunter2&protocol=resp3",
                "redis+unix:///run/redis.sock?db=2&pass=***&protocol=resp3",
            ),
            ("unix:///tmp/redis.sock?password=hunter2", "unix:///tmp/redis.sock?password=***"),
            ("unix:///tmp/redis.sock?PASS=hunter2", "unix:///tmp/redis.sock?PASS=***"),
            ("unix:///tmp/redis.sock?p%61ss=hunter2", "unix:///tmp/redis.sock?p%61ss=***"),
            ("redis://host:6379/0?password=hunter2", "redis://host:6379/0?password=***"),
            ("rediss://user:hunter2@host:6380/0?pass=hunter2", "rediss://user:***@host:6380/0?pass=***"),
            ("redis+unix://user:hunter2@/run/redis.sock", "redis+unix://user:***@/run/redis.sock"),
            ("redis+unix:///sock?pass=hun@ter2", "redis+unix:///sock?pass=***"),
            ("redis+unix:///sock?pass=hun:ter@2", "redis+unix:///sock?pass=***"),
            ("redis+unix:///sock?pass=hunter2#frag", "redis+unix:///sock?pass=***"),
            ("redis://u:a?pass=b@host", "redis://u:***@host"),
            (
                "postgres://app@db/shop?password=hunter2&sslmode=disable",
                "postgres://app@db/shop?password=***&sslmode=disable",
            ),
        ];
        for (url, redacted) in cases {
            assert_eq!(redact_url(url), redacted, "{url}");
        }
        assert_eq!(redact_url("redis+unix:///sock?db=1&passenger=x"), "redis+unix:///sock?db=1&passenger=x");
    }

    #[test]
    fn every_printed_form_of_a_config_hides_the_password() {
        for url in [
            "redis+unix:///run/redis.sock?db=1&pass=hunter2",
            "unix:///run/redis.sock?pass=hunter2",
            "unix:///run/redis.sock?password=hunter2",
            "redis://:hunter2@localhost:6379/0",
            "rediss://default:hunter2@localhost/0",
            "redis://localhost/0?password=hunter2",
        ] {
            let config = CacheConfig::from_url(url).unwrap();
            for printed in [format!("{config:?}"), format!("{config:#?}"), config.redacted_url()] {
                assert!(!printed.contains("hunter2"), "{printed}");
            }
            // A manager prints its backend, which prints the URL; `rediss://` is refused (no
            // TLS in this build) and its error must not quote it either.
            let printed = match crate::CacheManager::new(config) {
                Ok(manager) => format!("{manager:?}"),
                Err(error) => format!("{error} {error:?}"),
            };
            assert!(!printed.contains("hunter2"), "{printed}");
        }
    }

    #[test]
    fn set_from_str_parses_and_names_the_key() {
        let mut config = CacheConfig::default();
        config.set_from_str("timeout_ms", "100").unwrap();
        config.set_from_str("redis_url", "redis://other:6379").unwrap();
        assert_eq!((config.timeout_ms, config.redis_url.as_str()), (100, "redis://other:6379"));
        config.set_from_str("negative_ttl_seconds", "0").unwrap();
        config.set_from_str("ttl_jitter_percent", "25").unwrap();
        config.set_from_str("reconnect_max_delay_ms", "250").unwrap();
        config.set_from_str("max_entry_bytes", "4096").unwrap();
        config.set_from_str("memory_max_bytes", "1048576").unwrap();
        assert_eq!((config.max_entry_bytes, config.memory_max_bytes), (4096, 1 << 20));
        assert_eq!(
            (config.negative_ttl_seconds, config.ttl_jitter_percent, config.reconnect_max_delay_ms),
            (0, 25, 250)
        );

        let err = config.set_from_str("pool_size", "-1").unwrap_err();
        assert_eq!(err.key, "cache.pool_size");
        let err = config.set_from_str("ttl", "5").unwrap_err();
        assert_eq!(err.key, "cache.ttl");
        assert!(err.message.contains("unknown setting"));
    }
}
