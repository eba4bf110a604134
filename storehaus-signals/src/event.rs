//! [`DatabaseEvent`]: one change of one row, or one application event.

use crate::{Envelope, SignalError};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventType {
    /// The row was inserted.
    Create,
    /// The row was updated (tags included).
    Update,
    /// The row was removed.
    Delete,
    /// The row was soft-deleted (`__deleted_at__` set).
    SoftDelete,
    /// A soft-deleted row was brought back.
    Restore,
    /// An application event published on a typed channel; `table_name` is the channel.
    Channel,
}

impl EventType {
    /// The name stored in the event log.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Create => "create",
            EventType::Update => "update",
            EventType::Delete => "delete",
            EventType::SoftDelete => "soft_delete",
            EventType::Restore => "restore",
            EventType::Channel => "channel",
        }
    }

    /// The event type stored under `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "create" => EventType::Create,
            "update" => EventType::Update,
            "delete" => EventType::Delete,
            "soft_delete" => EventType::SoftDelete,
            "restore" => EventType::Restore,
            "channel" => EventType::Channel,
            _ => return None,
        })
    }
}

/// One committed change, as every listening process receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseEvent {
    /// Increases with every event; use it to de-duplicate (delivery is at least once).
    pub id: i64,
    /// What happened.
    pub event_type: EventType,
    /// The table of the row (for [`EventType::Channel`], the channel name; see
    /// [`table`](Self::table) and [`channel`](Self::channel), which tell the two apart).
    pub table_name: String,
    /// The row's primary key, as text.
    pub record_id: String,
    /// The row's tags after the change.
    pub tags: Vec<String>,
    /// The row as JSON after the change (before it, for deletes), system fields included.
    pub payload: serde_json::Value,
    /// When the change was written, by the database server's clock.
    pub timestamp: DateTime<Utc>,
}

impl DatabaseEvent {
    /// An event without tags, stamped with the current time; `id` is 0 until a log assigns one.
    ///
    /// For event sources and tests: stores build their events inside the database.
    pub fn new(
        event_type: EventType,
        table_name: impl Into<String>,
        record_id: impl Into<String>,
        payload: serde_json::Value,
    ) -> Self {
        DatabaseEvent {
            id: 0,
            event_type,
            table_name: table_name.into(),
            record_id: record_id.into(),
            tags: Vec::new(),
            payload,
            timestamp: Utc::now(),
        }
    }

    /// The table whose row changed; `None` for a channel message, whose `table_name` is its
    /// channel. Match on this rather than on `table_name` so that a message on a channel named
    /// like a table is never taken for a change of that table.
    pub fn table(&self) -> Option<&str> {
        (self.event_type != EventType::Channel).then_some(self.table_name.as_str())
    }

    /// The channel of a channel message; `None` for a row event.
    pub fn channel(&self) -> Option<&str> {
        (self.event_type == EventType::Channel).then_some(self.table_name.as_str())
    }

    /// The [`Envelope`] of a channel message, its data read as `T`.
    ///
    /// A row event is [`SignalError::NotAChannelMessage`], even when its row looks like an
    /// envelope; a payload that is not an envelope of `T` is [`SignalError::Payload`] naming the
    /// channel.
    ///
    /// ```
    /// use storehaus_signals::{DatabaseEvent, Envelope, EventType};
    ///
    /// let sent = Envelope::new("orders.paid", 42_u32).with_scope("organization", "org_7");
    /// let event = DatabaseEvent::new(EventType::Channel, "orders.paid", "", sent.to_json()?);
    /// assert_eq!(event.envelope::<u32>()?, sent);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn envelope<T: DeserializeOwned>(self) -> Result<Envelope<T>, SignalError> {
        if self.channel().is_none() {
            return Err(SignalError::NotAChannelMessage { table: self.table_name, event_type: self.event_type });
        }
        let channel = self.table_name;
        Envelope::from_json(self.payload).map_err(|source| SignalError::Payload { channel, source })
    }

    /// The event with `tags` as the row's tags.
    pub fn with_tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_row_event_is_never_read_as_a_message() {
        let row = json!({"type": "orders.paid", "data": 5, "timestamp": "2026-01-01T00:00:00Z"});
        let event = DatabaseEvent::new(EventType::Create, "orders.paid", "1", row.clone());
        match event.envelope::<u32>() {
            Err(SignalError::NotAChannelMessage { table, event_type }) => {
                assert_eq!((table.as_str(), event_type), ("orders.paid", EventType::Create));
            }
            other => panic!("expected NotAChannelMessage, got {other:?}"),
        }
        let message = DatabaseEvent::new(EventType::Channel, "orders.paid", "", row);
        assert_eq!(message.envelope::<u32>().unwrap().data, 5);
    }

    #[test]
    fn a_payload_of_another_shape_names_the_channel() {
        let event =
            DatabaseEvent::new(EventType::Channel, "orders.paid", "", json!({"type": "orders.paid", "data": "x"}));
        match event.envelope::<u32>() {
            Err(SignalError::Payload { channel, .. }) => assert_eq!(channel, "orders.paid"),
            other => panic!("expected a payload error, got {other:?}"),
        }
    }

    #[test]
    fn reads_the_scope_and_actor_of_a_message() {
        let payload = json!({
            "type": "orders.paid",
            "data": 5,
            "timestamp": "2026-12-07T10:15:30.123Z",
            "scope": {"key": "organization", "identifier": "org_7"},
            "actor": "user:1",
        });
        let envelope = DatabaseEvent::new(EventType::Channel, "orders.paid", "", payload).envelope::<u32>().unwrap();
        assert_eq!(envelope.scope, Some(crate::EventScope::new("organization", "org_7")));
        assert_eq!(envelope.actor.as_deref(), Some("user:1"));
    }
}
