//! Settings of the signal layer: the `[signal]` section of `storehaus.toml`.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use storehaus_resilience::{BreakerConfig, RateLimit, Strategy};

/// Names of the settings, in the order of the `[signal]` section.
const FIELDS: &[&str] = &[
    "callback_timeout_seconds",
    "max_callbacks",
    "remove_failing_callbacks",
    "max_consecutive_failures",
    "cleanup_interval_seconds",
    "auto_remove_inactive_callbacks",
    "inactive_callback_threshold_seconds",
    "heartbeat_seconds",
    "event_retention_seconds",
    "read_batch_size",
    "queue_capacity",
    "transport",
    "slot_name",
];

/// Upper bound of every duration setting: a hundred years.
const MAX_SECONDS: u64 = 100 * 365 * 24 * 60 * 60;

/// The listener's circuit breaker unless set: open after 5 failures within 10 s, for 1 s (the
/// default of every StoreHaus breaker).
const DEFAULT_BREAKER: BreakerConfig = BreakerConfig::new(5, Duration::from_secs(10), Duration::from_secs(1));

/// Upper bound of `read_batch_size` and `queue_capacity`.
const MAX_EVENTS: u64 = 1_000_000;

/// Longest replication slot name PostgreSQL accepts (`NAMEDATALEN - 1`).
const MAX_SLOT_NAME_LEN: usize = 63;

/// A signal setting that is malformed or out of range.
///
/// `key` names the setting as it appears in `storehaus.toml`, such as `signal.max_callbacks`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid `{key}`: {message}")]
pub struct ConfigError {
    /// The setting, such as `signal.callback_timeout_seconds`.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

/// How a signal manager learns about committed changes.
///
/// ```
/// use storehaus_signals::{SignalConfig, SignalTransport};
///
/// let config = SignalConfig { transport: SignalTransport::LogicalDecoding, ..SignalConfig::default() };
/// config.validate().unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalTransport {
    /// Reads the event log that StoreHaus writes in the same transaction as each change, woken
    /// by `NOTIFY`. Sees the writes made through StoreHaus; works on every PostgreSQL server.
    #[default]
    Log,
    /// Reads a logical replication slot (PostgreSQL with `wal_level = logical`, plugin
    /// `test_decoding`) in commit order: the event log's events, plus the changes of other
    /// tables made by any client (raw SQL, other services), as raw row events.
    LogicalDecoding,
}

impl SignalTransport {
    /// The name used in `storehaus.toml`: `log` or `logical_decoding`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalTransport::Log => "log",
            SignalTransport::LogicalDecoding => "logical_decoding",
        }
    }
}

impl ConfigError {
    fn new(field: &str, message: impl Into<String>) -> Self {
        ConfigError { key: format!("signal.{field}"), message: message.into() }
    }
}

/// How callbacks are run and when misbehaving or idle ones are dropped.
///
/// Build it with [`SignalConfig::new`] (the first seven settings in order), or with [`Default`]
/// plus struct update syntax to set a few by name:
///
/// ```
/// use storehaus_signals::SignalConfig;
///
/// let config = SignalConfig { max_callbacks: 10, ..SignalConfig::default() };
/// config.validate().unwrap();
/// ```
///
/// `breaker`, `strategy` and `subscribe_limit` are not part of the `[signal]` section: they are
/// set from the application's `[resilience]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignalConfig {
    /// Upper bound of one callback run, in seconds; a run that takes longer counts as a failure.
    pub callback_timeout_seconds: u64,
    /// Upper bound of callbacks registered at once.
    pub max_callbacks: usize,
    /// Whether a callback that keeps failing is removed.
    pub remove_failing_callbacks: bool,
    /// Failures in a row after which a failing callback is removed.
    pub max_consecutive_failures: u32,
    /// How often failing and inactive callbacks are looked for, in seconds.
    pub cleanup_interval_seconds: u64,
    /// Whether callbacks that have not run for a while are removed.
    pub auto_remove_inactive_callbacks: bool,
    /// Idle time after which a callback counts as inactive, in seconds.
    pub inactive_callback_threshold_seconds: u64,
    /// How soon the listener notices that its connection went silent, in seconds: after half
    /// this interval without a doorbell ring it checks the connection and reads the log anyway,
    /// and a check or read that takes longer than half of it counts as a lost connection. Also bounds the delay
    /// of an event whose ring was lost.
    pub heartbeat_seconds: u64,
    /// Age after which events are pruned from the log, in seconds; a listener that is offline or
    /// behind for longer misses the pruned events.
    pub event_retention_seconds: u64,
    /// Upper bound of events fetched from the log by one read.
    pub read_batch_size: usize,
    /// Upper bound of events read from the log but not yet dispatched to callbacks.
    pub queue_capacity: usize,
    /// Where committed changes are read from; see [`SignalTransport`].
    pub transport: SignalTransport,
    /// The replication slot of [`SignalTransport::LogicalDecoding`], created if missing: 1 to 63
    /// characters of `a-z`, `0-9` and `_`. Each listening process needs a slot of its own, since
    /// processes reading one slot split its changes between them.
    pub slot_name: String,
    /// When the listener stops trying to reach a failing event source for a while. Every failed
    /// connection (a subscribe, read or heartbeat that failed) counts; once the breaker opens the
    /// listener waits `open_for`, then tries once: success closes it, failure opens it again.
    /// Events committed meanwhile stay in the log and are delivered once it closes. Default: open
    /// after 5 failures within 10 s, for 1 s; [`BreakerConfig::disabled`] never opens.
    #[serde(skip)]
    pub breaker: BreakerConfig,
    /// What [`SignalManager::check_available`](crate::SignalManager::check_available) answers
    /// while the listener's breaker is not closed: [`Strategy::Fallback`] (the default) lets
    /// writes go on, their events waiting in the log; [`Strategy::FailFast`] refuses them.
    #[serde(skip)]
    pub strategy: Strategy,
    /// Upper bound of the rate at which callbacks, channel subscribers and durable consumers are
    /// registered, with one budget for registrations that name no principal and one per
    /// principal a [`Subscription`](crate::Subscription) names. Registration happens in one
    /// process, so the budget is per process. Default: none.
    #[serde(skip)]
    pub subscribe_limit: Option<RateLimit>,
}

/// Every field compares by value; the rate of `subscribe_limit` compares by its bits, so that
/// equality stays an equivalence (a NaN rate equals itself; [`SignalConfig::validate`] refuses it).
impl PartialEq for SignalConfig {
    fn eq(&self, other: &Self) -> bool {
        // Destructured, so that a new field cannot be left out of the comparison.
        let SignalConfig {
            callback_timeout_seconds,
            max_callbacks,
            remove_failing_callbacks,
            max_consecutive_failures,
            cleanup_interval_seconds,
            auto_remove_inactive_callbacks,
            inactive_callback_threshold_seconds,
            heartbeat_seconds,
            event_retention_seconds,
            read_batch_size,
            queue_capacity,
            transport,
            slot_name,
            breaker,
            strategy,
            subscribe_limit,
        } = self;
        let same_limit = match (subscribe_limit, &other.subscribe_limit) {
            (None, None) => true,
            (Some(a), Some(b)) => a.per_second.to_bits() == b.per_second.to_bits() && a.burst == b.burst,
            _ => false,
        };
        *callback_timeout_seconds == other.callback_timeout_seconds
            && *max_callbacks == other.max_callbacks
            && *remove_failing_callbacks == other.remove_failing_callbacks
            && *max_consecutive_failures == other.max_consecutive_failures
            && *cleanup_interval_seconds == other.cleanup_interval_seconds
            && *auto_remove_inactive_callbacks == other.auto_remove_inactive_callbacks
            && *inactive_callback_threshold_seconds == other.inactive_callback_threshold_seconds
            && *heartbeat_seconds == other.heartbeat_seconds
            && *event_retention_seconds == other.event_retention_seconds
            && *read_batch_size == other.read_batch_size
            && *queue_capacity == other.queue_capacity
            && *transport == other.transport
            && *slot_name == other.slot_name
            && *breaker == other.breaker
            && *strategy == other.strategy
            && same_limit
    }
}

impl Eq for SignalConfig {}

impl Default for SignalConfig {
    fn default() -> Self {
        SignalConfig {
            callback_timeout_seconds: 30,
            max_callbacks: 100,
            remove_failing_callbacks: true,
            max_consecutive_failures: 3,
            cleanup_interval_seconds: 60,
            auto_remove_inactive_callbacks: true,
            inactive_callback_threshold_seconds: 300,
            heartbeat_seconds: 10,
            event_retention_seconds: 86_400,
            read_batch_size: 500,
            queue_capacity: 1_024,
            transport: SignalTransport::Log,
            slot_name: "storehaus_signals".to_owned(),
            breaker: DEFAULT_BREAKER,
            strategy: Strategy::Fallback,
            subscribe_limit: None,
        }
    }
}

impl SignalConfig {
    /// Settings from the values of the first seven keys of the `[signal]` section, in its order,
    /// the others at their defaults. Not validated; see [`SignalConfig::validate`], which
    /// [`SignalManager::start`](crate::SignalManager::start) calls.
    ///
    /// ```
    /// use storehaus_signals::SignalConfig;
    ///
    /// let config = SignalConfig::new(30, 100, true, 3, 60, true, 300);
    /// assert_eq!(config, SignalConfig::default());
    /// ```
    pub fn new(
        callback_timeout_seconds: u64,
        max_callbacks: usize,
        remove_failing_callbacks: bool,
        max_consecutive_failures: u32,
        cleanup_interval_seconds: u64,
        auto_remove_inactive_callbacks: bool,
        inactive_callback_threshold_seconds: u64,
    ) -> Self {
        SignalConfig {
            callback_timeout_seconds,
            max_callbacks,
            remove_failing_callbacks,
            max_consecutive_failures,
            cleanup_interval_seconds,
            auto_remove_inactive_callbacks,
            inactive_callback_threshold_seconds,
            ..SignalConfig::default()
        }
    }

    /// Checks every setting; the error names the first one that is wrong.
    ///
    /// Zero is refused for every count and duration: a zero timeout or interval would fail or
    /// spin at once, and a zero limit would make the signal layer unusable. Durations are capped
    /// at a hundred years and `read_batch_size` / `queue_capacity` at a million, far beyond any
    /// useful value, so that deadlines and buffers computed from them cannot overflow.
    ///
    /// `slot_name` must be 1 to 63 characters of `a-z`, `0-9` and `_`, as PostgreSQL requires of
    /// replication slot names; it is checked whichever the transport.
    ///
    /// A breaker that can open needs a `window` and an `open_for` above zero (an open period of
    /// zero would retry a failing source without pause), each at most a hundred years, and a
    /// `subscribe_limit` needs a positive rate and a burst of at least 1. Their errors are keyed
    /// `signal.breaker.<field>` and `signal.subscribe_limit`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("callback_timeout_seconds", self.callback_timeout_seconds),
            ("max_callbacks", self.max_callbacks as u64),
            ("max_consecutive_failures", u64::from(self.max_consecutive_failures)),
            ("cleanup_interval_seconds", self.cleanup_interval_seconds),
            ("inactive_callback_threshold_seconds", self.inactive_callback_threshold_seconds),
            ("heartbeat_seconds", self.heartbeat_seconds),
            ("event_retention_seconds", self.event_retention_seconds),
            ("read_batch_size", self.read_batch_size as u64),
            ("queue_capacity", self.queue_capacity as u64),
        ];
        if let Some((field, _)) = positive.iter().find(|&&(_, value)| value == 0) {
            return Err(ConfigError::new(field, "must be at least 1"));
        }
        let capped = [
            ("callback_timeout_seconds", self.callback_timeout_seconds, MAX_SECONDS),
            ("cleanup_interval_seconds", self.cleanup_interval_seconds, MAX_SECONDS),
            ("inactive_callback_threshold_seconds", self.inactive_callback_threshold_seconds, MAX_SECONDS),
            ("heartbeat_seconds", self.heartbeat_seconds, MAX_SECONDS),
            ("event_retention_seconds", self.event_retention_seconds, MAX_SECONDS),
            ("read_batch_size", self.read_batch_size as u64, MAX_EVENTS),
            ("queue_capacity", self.queue_capacity as u64, MAX_EVENTS),
        ];
        if let Some((field, _, max)) = capped.into_iter().find(|&(_, value, max)| value > max) {
            return Err(ConfigError::new(field, format!("must be at most {max}")));
        }
        validate_slot_name(&self.slot_name)?;
        validate_breaker(&self.breaker)?;
        if let Some(limit) = &self.subscribe_limit {
            limit.validate().map_err(|invalid| ConfigError::new("subscribe_limit", invalid.0))?;
        }
        Ok(())
    }

    /// Sets the setting named `field` (as in the `[signal]` section) from its text form, the way
    /// environment overrides such as `STOREHAUS_SIGNAL_REMOVE_FAILING_CALLBACKS=false` are applied.
    ///
    /// Booleans accept `true`/`false`, `1`/`0`, `yes`/`no` and `on`/`off`, in any case.
    pub fn set_from_str(&mut self, field: &str, value: &str) -> Result<(), ConfigError> {
        match field {
            "callback_timeout_seconds" => self.callback_timeout_seconds = parse_number(field, value)?,
            "max_callbacks" => self.max_callbacks = parse_number(field, value)?,
            "remove_failing_callbacks" => self.remove_failing_callbacks = parse_bool(field, value)?,
            "max_consecutive_failures" => self.max_consecutive_failures = parse_number(field, value)?,
            "cleanup_interval_seconds" => self.cleanup_interval_seconds = parse_number(field, value)?,
            "auto_remove_inactive_callbacks" => {
                self.auto_remove_inactive_callbacks = parse_bool(field, value)?;
            }
            "inactive_callback_threshold_seconds" => {
                self.inactive_callback_threshold_seconds = parse_number(field, value)?;
            }
            "heartbeat_seconds" => self.heartbeat_seconds = parse_number(field, value)?,
            "event_retention_seconds" => self.event_retention_seconds = parse_number(field, value)?,
            "read_batch_size" => self.read_batch_size = parse_number(field, value)?,
            "queue_capacity" => self.queue_capacity = parse_number(field, value)?,
            "transport" => self.transport = parse_transport(field, value)?,
            "slot_name" => self.slot_name = value.trim().to_owned(),
            _ => {
                return Err(ConfigError::new(field, format!("unknown setting; expected one of {}", FIELDS.join(", "))));
            }
        }
        Ok(())
    }

    pub(crate) fn callback_timeout(&self) -> Duration {
        Duration::from_secs(self.callback_timeout_seconds)
    }

    pub(crate) fn cleanup_interval(&self) -> Duration {
        Duration::from_secs(self.cleanup_interval_seconds)
    }

    pub(crate) fn inactive_threshold(&self) -> Duration {
        Duration::from_secs(self.inactive_callback_threshold_seconds)
    }

    pub(crate) fn heartbeat(&self) -> Duration {
        Duration::from_secs(self.heartbeat_seconds)
    }

    pub(crate) fn event_retention(&self) -> Duration {
        Duration::from_secs(self.event_retention_seconds)
    }
}

fn parse_number<T: TryFrom<u64>>(field: &str, value: &str) -> Result<T, ConfigError> {
    let number: u64 = value
        .trim()
        .parse()
        .map_err(|_| ConfigError::new(field, format!("expected a non-negative integer, got `{value}`")))?;
    T::try_from(number).map_err(|_| ConfigError::new(field, format!("`{value}` is too large for this setting")))
}

fn parse_transport(field: &str, value: &str) -> Result<SignalTransport, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "log" => Ok(SignalTransport::Log),
        "logical_decoding" => Ok(SignalTransport::LogicalDecoding),
        _ => Err(ConfigError::new(field, format!("expected `log` or `logical_decoding`, got `{value}`"))),
    }
}

fn validate_slot_name(name: &str) -> Result<(), ConfigError> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    if name.is_empty() || name.len() > MAX_SLOT_NAME_LEN || !name.chars().all(allowed) {
        return Err(ConfigError::new(
            "slot_name",
            format!("expected 1 to {MAX_SLOT_NAME_LEN} characters of a-z, 0-9 and _, got `{name}`"),
        ));
    }
    Ok(())
}

fn validate_breaker(breaker: &BreakerConfig) -> Result<(), ConfigError> {
    if !breaker.is_enabled() {
        return Ok(());
    }
    for (field, value) in [("breaker.window", breaker.window), ("breaker.open_for", breaker.open_for)] {
        if value.is_zero() {
            return Err(ConfigError::new(field, "must be above zero"));
        }
        if value > Duration::from_secs(MAX_SECONDS) {
            return Err(ConfigError::new(field, format!("must be at most {MAX_SECONDS} seconds")));
        }
    }
    Ok(())
}

fn parse_bool(field: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::new(field, format!("expected true or false, got `{value}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Puts one setting out of range.
    type Breaker = fn(&mut SignalConfig);

    #[test]
    fn defaults_match_the_documented_values() {
        let config = SignalConfig::default();
        assert_eq!(config.callback_timeout_seconds, 30);
        assert_eq!(config.max_callbacks, 100);
        assert!(config.remove_failing_callbacks);
        assert_eq!(config.max_consecutive_failures, 3);
        assert_eq!(config.cleanup_interval_seconds, 60);
        assert!(config.auto_remove_inactive_callbacks);
        assert_eq!(config.inactive_callback_threshold_seconds, 300);
        assert_eq!(config.heartbeat_seconds, 10);
        assert_eq!(config.event_retention_seconds, 86_400);
        assert_eq!(config.read_batch_size, 500);
        assert_eq!(config.queue_capacity, 1_024);
        assert_eq!(config.transport, SignalTransport::Log);
        assert_eq!(config.slot_name, "storehaus_signals");
        assert_eq!(config.breaker, BreakerConfig::default());
        assert_eq!(config.strategy, Strategy::Fallback);
        assert_eq!(config.subscribe_limit, None);
        config.validate().unwrap();
    }

    #[test]
    fn resilience_settings_are_not_read_from_the_signal_section() {
        let config: SignalConfig = serde_json::from_str(r#"{"max_callbacks": 7}"#).unwrap();
        assert_eq!(config, SignalConfig { max_callbacks: 7, ..SignalConfig::default() });
        for field in ["breaker", "strategy", "subscribe_limit"] {
            let text = format!(r#"{{"{field}": null}}"#);
            let err = serde_json::from_str::<SignalConfig>(&text).unwrap_err();
            assert!(err.to_string().contains("unknown field"), "{field}: {err}");
        }
        let written = serde_json::to_value(SignalConfig::default()).unwrap();
        assert_eq!(written.as_object().unwrap().len(), FIELDS.len());
    }

    #[test]
    fn breaker_and_subscribe_limit_are_validated() {
        let second = Duration::from_secs(1);
        let cases = [
            (BreakerConfig::new(3, Duration::ZERO, second), "signal.breaker.window"),
            (BreakerConfig::new(3, second, Duration::ZERO), "signal.breaker.open_for"),
            (BreakerConfig::new(3, second, Duration::from_secs(MAX_SECONDS + 1)), "signal.breaker.open_for"),
        ];
        for (breaker, key) in cases {
            let err = SignalConfig { breaker, ..SignalConfig::default() }.validate().unwrap_err();
            assert_eq!(err.key, key, "{breaker:?}");
        }
        // A breaker that never opens needs no periods.
        let never = BreakerConfig::new(0, Duration::ZERO, Duration::ZERO);
        SignalConfig { breaker: never, ..SignalConfig::default() }.validate().unwrap();
        SignalConfig { breaker: BreakerConfig::disabled(), ..SignalConfig::default() }.validate().unwrap();

        for bad in [RateLimit::per_second(0.0), RateLimit::per_second(f64::NAN), RateLimit::per_second(5.0).burst(0)] {
            let err = SignalConfig { subscribe_limit: Some(bad), ..SignalConfig::default() }.validate().unwrap_err();
            assert_eq!(err.key, "signal.subscribe_limit", "{bad:?}");
        }
        let limited =
            SignalConfig { subscribe_limit: Some(RateLimit::per_second(2.0).burst(5)), ..SignalConfig::default() };
        limited.validate().unwrap();
    }

    #[test]
    fn equality_covers_the_resilience_settings() {
        let limited = |per_second: f64| SignalConfig {
            subscribe_limit: Some(RateLimit::per_second(per_second).burst(5)),
            ..SignalConfig::default()
        };
        assert_eq!(limited(2.0), limited(2.0));
        assert_ne!(limited(2.0), limited(3.0));
        assert_ne!(limited(2.0), SignalConfig::default());
        // Reflexive even for a rate `validate` refuses.
        assert_eq!(limited(f64::NAN), limited(f64::NAN));
        assert_ne!(SignalConfig { strategy: Strategy::FailFast, ..SignalConfig::default() }, SignalConfig::default());
        assert_ne!(
            SignalConfig { breaker: BreakerConfig::disabled(), ..SignalConfig::default() },
            SignalConfig::default()
        );
    }

    #[test]
    fn new_takes_the_first_seven_keys_in_order_and_keeps_the_other_defaults() {
        let config = SignalConfig::new(5, 7, false, 9, 11, false, 13);
        let expected = SignalConfig {
            callback_timeout_seconds: 5,
            max_callbacks: 7,
            remove_failing_callbacks: false,
            max_consecutive_failures: 9,
            cleanup_interval_seconds: 11,
            auto_remove_inactive_callbacks: false,
            inactive_callback_threshold_seconds: 13,
            ..SignalConfig::default()
        };
        assert_eq!(config, expected);
        assert_eq!(SignalConfig::new(30, 100, true, 3, 60, true, 300), SignalConfig::default());
        // Not validated: out-of-range values are kept for `validate` to name.
        let zero = SignalConfig::new(0, 100, true, 3, 60, true, 300);
        assert_eq!(zero.callback_timeout_seconds, 0);
        assert_eq!(zero.validate().unwrap_err().key, "signal.callback_timeout_seconds");
    }

    #[test]
    fn validation_names_each_key() {
        let cases: [(Breaker, &str); 9] = [
            (|c| c.callback_timeout_seconds = 0, "signal.callback_timeout_seconds"),
            (|c| c.max_callbacks = 0, "signal.max_callbacks"),
            (|c| c.max_consecutive_failures = 0, "signal.max_consecutive_failures"),
            (|c| c.cleanup_interval_seconds = 0, "signal.cleanup_interval_seconds"),
            (|c| c.inactive_callback_threshold_seconds = 0, "signal.inactive_callback_threshold_seconds"),
            (|c| c.heartbeat_seconds = 0, "signal.heartbeat_seconds"),
            (|c| c.event_retention_seconds = 0, "signal.event_retention_seconds"),
            (|c| c.read_batch_size = 0, "signal.read_batch_size"),
            (|c| c.queue_capacity = 0, "signal.queue_capacity"),
        ];
        for (break_it, key) in cases {
            let mut config = SignalConfig::default();
            break_it(&mut config);
            let err = config.validate().unwrap_err();
            assert_eq!(err.key, key);
            assert_eq!(err.to_string(), format!("invalid `{key}`: must be at least 1"));
        }
    }

    #[test]
    fn validation_caps_durations_and_buffers() {
        let config = SignalConfig { heartbeat_seconds: u64::MAX, ..SignalConfig::default() };
        assert_eq!(config.validate().unwrap_err().key, "signal.heartbeat_seconds");
        let config = SignalConfig { queue_capacity: 1_000_001, ..SignalConfig::default() };
        let err = config.validate().unwrap_err();
        assert_eq!(err.to_string(), "invalid `signal.queue_capacity`: must be at most 1000000");
        let config = SignalConfig {
            event_retention_seconds: MAX_SECONDS,
            read_batch_size: 1_000_000,
            ..SignalConfig::default()
        };
        config.validate().unwrap();
    }

    #[test]
    fn set_from_str_covers_every_field() {
        let mut config = SignalConfig::default();
        for (field, value) in [
            ("callback_timeout_seconds", "5"),
            ("max_callbacks", "7"),
            ("remove_failing_callbacks", "false"),
            ("max_consecutive_failures", "9"),
            ("cleanup_interval_seconds", "11"),
            ("auto_remove_inactive_callbacks", "OFF"),
            ("inactive_callback_threshold_seconds", "13"),
            ("heartbeat_seconds", "15"),
            ("event_retention_seconds", "17"),
            ("read_batch_size", "19"),
            ("queue_capacity", "21"),
            ("transport", "Logical_Decoding"),
            ("slot_name", "app_1"),
        ] {
            config.set_from_str(field, value).unwrap();
        }
        let expected = SignalConfig {
            callback_timeout_seconds: 5,
            max_callbacks: 7,
            remove_failing_callbacks: false,
            max_consecutive_failures: 9,
            cleanup_interval_seconds: 11,
            auto_remove_inactive_callbacks: false,
            inactive_callback_threshold_seconds: 13,
            heartbeat_seconds: 15,
            event_retention_seconds: 17,
            read_batch_size: 19,
            queue_capacity: 21,
            transport: SignalTransport::LogicalDecoding,
            slot_name: "app_1".to_owned(),
            ..SignalConfig::default()
        };
        assert_eq!(config, expected);
        assert_eq!(FIELDS.len(), 13);
        config.set_from_str("transport", "log").unwrap();
        assert_eq!(config.transport, SignalTransport::Log);
    }

    #[test]
    fn set_from_str_rejects_bad_values_and_unknown_fields() {
        let mut config = SignalConfig::default();
        let err = config.set_from_str("remove_failing_callbacks", "maybe").unwrap_err();
        assert_eq!(err.key, "signal.remove_failing_callbacks");
        let err = config.set_from_str("max_callbacks", "lots").unwrap_err();
        assert_eq!(err.key, "signal.max_callbacks");
        let err = config.set_from_str("transport", "notify").unwrap_err();
        assert_eq!(err.key, "signal.transport");
        let err = config.set_from_str("max_callback", "1").unwrap_err();
        assert_eq!(err.key, "signal.max_callback");
        assert!(err.message.contains("unknown setting"));
        assert_eq!(config, SignalConfig::default());
    }

    #[test]
    fn slot_names_are_lowercase_identifiers_of_at_most_63_characters() {
        for good in ["storehaus_signals", "a", "worker_7", "_x", &"s".repeat(63)] {
            let config = SignalConfig { slot_name: good.to_owned(), ..SignalConfig::default() };
            config.validate().unwrap_or_else(|e| panic!("{good:?}: {e}"));
        }
        let long = "s".repeat(64);
        for bad in ["", "Upper", "with space", "dash-ed", "quote'", "semi;colon", "ünï", long.as_str()] {
            let config = SignalConfig { slot_name: bad.to_owned(), ..SignalConfig::default() };
            let err = config.validate().unwrap_err();
            assert_eq!(err.key, "signal.slot_name", "{bad:?}");
        }
    }

    #[test]
    fn transport_reads_its_snake_case_name() {
        #[derive(Deserialize)]
        struct Holder {
            transport: SignalTransport,
        }
        let parsed: Holder = serde_json::from_str(r#"{"transport": "logical_decoding"}"#).unwrap();
        assert_eq!(parsed.transport, SignalTransport::LogicalDecoding);
        assert_eq!(SignalTransport::LogicalDecoding.as_str(), "logical_decoding");
        assert_eq!(SignalTransport::default().as_str(), "log");
    }
}
