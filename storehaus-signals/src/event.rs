//! [`DatabaseEvent`]: one change of one row, or one application event.

use chrono::{DateTime, Utc};
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
