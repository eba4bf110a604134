//! [`Envelope`]: an application event with its context, as stored in the log.

use crate::{DatabaseEvent, SignalError};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A message on a [`Channel`](crate::Channel): the data plus who sent it, where and when.
///
/// Serialized as `{"type": …, "data": …, "timestamp": …, "scope": …, "actor": …}` (`scope` and
/// `actor` left out when unset), which is the payload of the log event.
///
/// ```
/// use storehaus_signals::Envelope;
///
/// let envelope = Envelope::new("orders.paid", 42_u32).with_scope("org:7").with_actor("user:1");
/// let json = envelope.to_json()?;
/// assert_eq!(json["type"], "orders.paid");
/// assert_eq!(Envelope::<u32>::from_json(json)?, envelope);
/// # Ok::<(), storehaus_signals::SignalError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// The channel name.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The message.
    pub data: T,
    /// When it was published, by the publisher's clock.
    pub timestamp: DateTime<Utc>,
    /// What it concerns, such as a tenant (`"org:7"`), if the publisher said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Who caused it, such as a user or a service, if the publisher said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

impl<T> Envelope<T> {
    /// A message on channel `event_type`, stamped now, without scope or actor.
    pub fn new(event_type: impl Into<String>, data: T) -> Self {
        Envelope { event_type: event_type.into(), data, timestamp: Utc::now(), scope: None, actor: None }
    }

    /// The envelope with `scope` set.
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// The envelope with `actor` set.
    pub fn with_actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }
}

impl<T: Serialize> Envelope<T> {
    /// The JSON written to the log, for publishing it through the event source or, inside a
    /// transaction, together with other writes.
    pub fn to_json(&self) -> Result<serde_json::Value, SignalError> {
        serde_json::to_value(self).map_err(|source| SignalError::Payload { channel: self.event_type.clone(), source })
    }
}

impl<T: DeserializeOwned> Envelope<T> {
    /// Reads an envelope from the JSON [`to_json`](Self::to_json) made.
    pub fn from_json(value: serde_json::Value) -> Result<Self, SignalError> {
        let channel = value.get("type").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
        Self::decode(channel, value)
    }

    /// Reads the envelope of a channel event ([`EventType::Channel`](crate::EventType::Channel));
    /// a row event is [`SignalError::NotAChannelMessage`], even when its row looks like an envelope.
    pub fn from_event(event: DatabaseEvent) -> Result<Self, SignalError> {
        if event.channel().is_none() {
            return Err(SignalError::NotAChannelMessage { table: event.table_name, event_type: event.event_type });
        }
        Self::decode(event.table_name, event.payload)
    }

    fn decode(channel: String, value: serde_json::Value) -> Result<Self, SignalError> {
        serde_json::from_value(value).map_err(|source| SignalError::Payload { channel, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventType;
    use serde_json::json;

    #[test]
    fn leaves_out_unset_context() {
        let json = Envelope::new("ping", json!({"n": 1})).to_json().unwrap();
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["data", "timestamp", "type"]);
    }

    #[test]
    fn a_row_event_is_never_read_as_a_message() {
        let row = json!({"type": "orders.paid", "data": 5, "timestamp": "2026-01-01T00:00:00Z"});
        let event = DatabaseEvent::new(EventType::Create, "orders.paid", "1", row.clone());
        match Envelope::<u32>::from_event(event) {
            Err(SignalError::NotAChannelMessage { table, event_type }) => {
                assert_eq!((table.as_str(), event_type), ("orders.paid", EventType::Create));
            }
            other => panic!("expected NotAChannelMessage, got {other:?}"),
        }
        let message = DatabaseEvent::new(EventType::Channel, "orders.paid", "", row);
        assert_eq!(Envelope::<u32>::from_event(message).unwrap().data, 5);
    }

    #[test]
    fn a_payload_of_another_shape_names_the_channel() {
        let event =
            DatabaseEvent::new(EventType::Channel, "orders.paid", "", json!({"type": "orders.paid", "data": "x"}));
        match Envelope::<u32>::from_event(event) {
            Err(SignalError::Payload { channel, .. }) => assert_eq!(channel, "orders.paid"),
            other => panic!("expected a payload error, got {other:?}"),
        }
    }
}
