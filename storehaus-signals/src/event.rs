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
    /// The payload key of a row's principals (`#[table(auth)]` tables): a JSON array of text.
    pub const AUTH_KEY: &'static str = "__auth__";

    /// The payload key of a row's tenant (tables with a `#[tenant]` field): the tenant column's
    /// value as JSON.
    pub const TENANT_KEY: &'static str = "__tenant__";

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

    /// The principals that may see the changed row (its `__auth__`); `None` for a row of a table
    /// that is not `auth`, and for a channel message.
    pub fn principals(&self) -> Option<Vec<String>> {
        self.auth_entries().map(|entries| entries.map(str::to_owned).collect())
    }

    /// The tenant of the changed row (its `#[tenant]` column as JSON, `__tenant__`); `None` for a
    /// table without a tenant field, and for a channel message.
    pub fn tenant(&self) -> Option<&serde_json::Value> {
        self.table()?;
        self.payload.get(Self::TENANT_KEY)
    }

    /// The text entries of the row's `__auth__`, without copying them; `None` when the event is
    /// not a row event or its payload has no principal array.
    pub(crate) fn auth_entries(&self) -> Option<impl Iterator<Item = &str>> {
        self.table()?;
        let entries = self.payload.get(Self::AUTH_KEY)?.as_array()?;
        Some(entries.iter().filter_map(serde_json::Value::as_str))
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
    fn reads_the_principals_and_tenant_of_a_row() {
        let row = json!({"id": 1, "__auth__": ["a", "team"], "__tenant__": "org_1"});
        let event = DatabaseEvent::new(EventType::Update, "notes", "1", row.clone());
        assert_eq!(event.principals(), Some(vec!["a".to_owned(), "team".to_owned()]));
        assert_eq!(event.tenant(), Some(&json!("org_1")));

        let empty = DatabaseEvent::new(EventType::Create, "notes", "1", json!({"__auth__": []}));
        assert_eq!(empty.principals(), Some(Vec::new()), "a row no principal may see");
        assert_eq!(empty.tenant(), None);

        let plain = DatabaseEvent::new(EventType::Create, "users", "1", json!({"id": 1}));
        assert_eq!((plain.principals(), plain.tenant()), (None, None));
        let not_a_list = DatabaseEvent::new(EventType::Create, "users", "1", json!({"__auth__": "a"}));
        assert_eq!(not_a_list.principals(), None);

        // A message is not a row, whatever its payload holds.
        let message = DatabaseEvent::new(EventType::Channel, "notes", "", row);
        assert_eq!((message.principals(), message.tenant()), (None, None));
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
