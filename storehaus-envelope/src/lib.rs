//! The envelope of StoreHaus application events.
//!
//! An application event travels as `{"type", "data", "timestamp", "scope", "actor"}`: the
//! channel it was published on, the message, when (ISO 8601, UTC, milliseconds), the tenant or
//! other scope it concerns (`{"key": "organization", "identifier": "org_123"}`) and who caused
//! it. Signal channels (`storehaus::signals::Channel`) write it to the event log and the shared
//! store (`storehaus::cache::shared`) publishes it over Redis, so a consumer reads both the same
//! way.
//!
//! ```
//! use storehaus_envelope::{Envelope, EventScope};
//!
//! let envelope = Envelope::new("user:created", 42_u32)
//!     .with_scope("organization", "org_123")
//!     .with_actor("user:1");
//! let json = envelope.to_json()?;
//! assert_eq!(json["type"], "user:created");
//! assert_eq!(json["scope"]["identifier"], "org_123");
//! assert_eq!(Envelope::<u32>::from_json(json)?, envelope);
//! assert_eq!(envelope.scope, Some(EventScope::new("organization", "org_123")));
//! # Ok::<(), serde_json::Error>(())
//! ```

use chrono::{DateTime, SubsecRound, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// An application event with its context.
///
/// Serialized as `{"type": …, "data": …, "timestamp": …, "scope": …, "actor": …}`, with `scope`
/// and `actor` left out when unset and the timestamp in ISO 8601 with milliseconds
/// (`2026-12-07T10:15:30.123Z`). Reading accepts any RFC 3339 timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// The channel name.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The message.
    pub data: T,
    /// When it was published, by the publisher's clock.
    #[serde(with = "iso_millis")]
    pub timestamp: DateTime<Utc>,
    /// What it concerns, such as a tenant, if the publisher said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<EventScope>,
    /// Who caused it, such as a user or a service, if the publisher said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

/// The scope of an event: a kind (`"organization"`) and an identifier (`"org_123"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EventScope {
    /// The kind of scope, such as `"organization"`.
    pub key: String,
    /// Which one, such as `"org_123"`.
    pub identifier: String,
}

impl EventScope {
    /// The scope `identifier` of kind `key`.
    pub fn new(key: impl Into<String>, identifier: impl Into<String>) -> Self {
        EventScope { key: key.into(), identifier: identifier.into() }
    }
}

impl<T> Envelope<T> {
    /// A message on channel `event_type`, stamped now (to the millisecond, the precision it is
    /// written with), without scope or actor.
    pub fn new(event_type: impl Into<String>, data: T) -> Self {
        Envelope { event_type: event_type.into(), data, timestamp: now(), scope: None, actor: None }
    }

    /// The envelope with its scope set to `identifier` of kind `key`.
    pub fn with_scope(mut self, key: impl Into<String>, identifier: impl Into<String>) -> Self {
        self.scope = Some(EventScope::new(key, identifier));
        self
    }

    /// The envelope with `actor` set.
    pub fn with_actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    /// The same envelope around `f(data)`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Envelope<U> {
        Envelope {
            event_type: self.event_type,
            data: f(self.data),
            timestamp: self.timestamp,
            scope: self.scope,
            actor: self.actor,
        }
    }
}

impl<T: Serialize> Envelope<T> {
    /// The envelope as JSON.
    pub fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    /// The envelope as JSON bytes.
    pub fn to_vec(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

impl<T: DeserializeOwned> Envelope<T> {
    /// Reads an envelope from JSON.
    pub fn from_json(value: serde_json::Value) -> Result<Self, serde_json::Error> {
        serde_json::from_value(value)
    }

    /// Reads an envelope from JSON bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// The current time at the precision envelopes carry.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// ISO 8601 with milliseconds on the way out, any RFC 3339 on the way in.
mod iso_millis {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        DateTime::<Utc>::deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn leaves_out_unset_context() {
        let json = Envelope::new("ping", json!({"n": 1})).to_json().unwrap();
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["data", "timestamp", "type"]);
    }

    #[test]
    fn writes_the_timestamp_with_milliseconds_in_utc() {
        let at = DateTime::parse_from_rfc3339("2026-12-07T10:15:30.123456Z").unwrap().with_timezone(&Utc);
        let envelope = Envelope { timestamp: at, ..Envelope::new("t", 1) };
        assert_eq!(envelope.to_json().unwrap()["timestamp"], "2026-12-07T10:15:30.123Z");
    }

    #[test]
    fn reads_a_timestamp_with_an_offset() {
        let json = json!({"type": "t", "data": 1, "timestamp": "2026-12-07T12:15:30+02:00"});
        let envelope = Envelope::<u8>::from_json(json).unwrap();
        assert_eq!(envelope.timestamp.to_rfc3339(), "2026-12-07T10:15:30+00:00");
    }

    #[test]
    fn scope_has_the_key_and_identifier_shape() {
        let json = Envelope::new("t", 1).with_scope("organization", "org_1").to_json().unwrap();
        assert_eq!(json["scope"], json!({"key": "organization", "identifier": "org_1"}));
    }

    #[test]
    fn round_trips_through_bytes() {
        let envelope = Envelope::new("t", vec![1, 2]).with_actor("svc");
        assert_eq!(Envelope::from_slice(&envelope.to_vec().unwrap()).unwrap(), envelope);
    }
}
