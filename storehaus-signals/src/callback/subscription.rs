//! [`Subscription`]: which events a callback receives.

use crate::{DatabaseEvent, EventType};

/// Chooses the events a callback receives: by table or channel, and by event type.
///
/// Tables and channels are separate namespaces: [`table`](Self::table) matches row events only,
/// [`channel`](Self::channel) channel messages only, so a message published on a channel that
/// shares a table's name never reaches a callback that asked for the table's rows.
///
/// ```
/// use storehaus_signals::{EventType, Subscription};
///
/// // Inserts and updates of `users`.
/// let users = Subscription::table("users").events([EventType::Create, EventType::Update]);
/// // Deletes of any table.
/// let deletes = Subscription::all().events([EventType::Delete, EventType::SoftDelete]);
/// // Messages of the `orders.paid` channel.
/// let paid = Subscription::channel("orders.paid");
/// # let _ = (users, deletes, paid);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    /// Row events of these tables; `None`: of every table.
    tables: Option<Vec<String>>,
    /// Messages of these channels; `None`: of every channel.
    channels: Option<Vec<String>>,
    /// `None`: every event type.
    events: Option<Vec<EventType>>,
    keep_when_idle: bool,
}

impl Subscription {
    /// Every event of every table and every message of every channel.
    pub fn all() -> Self {
        Subscription::default()
    }

    /// Row events of one table; never channel messages, whatever the channel is called.
    pub fn table(name: impl Into<String>) -> Self {
        Subscription::tables([name])
    }

    /// Row events of any of these tables; an empty list matches nothing.
    pub fn tables<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Subscription {
            tables: Some(names.into_iter().map(Into::into).collect()),
            channels: Some(Vec::new()),
            ..Subscription::default()
        }
    }

    /// Messages of one channel ([`EventType::Channel`] events); never row events.
    pub fn channel(name: impl Into<String>) -> Self {
        Subscription::channels([name])
    }

    /// Messages of any of these channels; an empty list matches nothing.
    pub fn channels<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Subscription {
            tables: Some(Vec::new()),
            channels: Some(names.into_iter().map(Into::into).collect()),
            ..Subscription::default()
        }
    }

    /// Only events of these types; an empty list matches nothing.
    pub fn events(mut self, types: impl IntoIterator<Item = EventType>) -> Self {
        self.events = Some(types.into_iter().collect());
        self
    }

    /// Exempts the callback from removal for inactivity
    /// ([`auto_remove_inactive_callbacks`](crate::SignalConfig::auto_remove_inactive_callbacks)),
    /// for callbacks on tables or channels that are quiet for long stretches.
    pub fn keep_when_idle(mut self) -> Self {
        self.keep_when_idle = true;
        self
    }

    /// Whether the callback is exempt from removal for inactivity.
    pub fn is_kept_when_idle(&self) -> bool {
        self.keep_when_idle
    }

    /// Whether `event` is one this subscription receives.
    pub fn matches(&self, event: &DatabaseEvent) -> bool {
        let names = if event.event_type == EventType::Channel { &self.channels } else { &self.tables };
        let name_ok = names.as_ref().is_none_or(|names| names.contains(&event.table_name));
        let type_ok = self.events.as_ref().is_none_or(|types| types.contains(&event.event_type));
        name_ok && type_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event_type: EventType, table: &str) -> DatabaseEvent {
        DatabaseEvent::new(event_type, table, "1", serde_json::Value::Null)
    }

    #[test]
    fn filters_by_table_and_type() {
        let all = Subscription::all();
        assert!(all.matches(&event(EventType::Create, "users")));
        assert!(all.matches(&event(EventType::Channel, "orders.paid")));

        let users = Subscription::table("users");
        assert!(users.matches(&event(EventType::Delete, "users")));
        assert!(!users.matches(&event(EventType::Delete, "orders")));

        let creates = Subscription::tables(["users", "orders"]).events([EventType::Create]);
        assert!(creates.matches(&event(EventType::Create, "orders")));
        assert!(!creates.matches(&event(EventType::Update, "orders")));
        assert!(!creates.matches(&event(EventType::Create, "items")));

        assert!(!Subscription::all().events([]).matches(&event(EventType::Create, "users")));
        assert!(!Subscription::tables(Vec::<String>::new()).matches(&event(EventType::Create, "users")));
    }

    #[test]
    fn tables_and_channels_are_separate_namespaces() {
        let users = Subscription::table("users");
        assert!(!users.matches(&event(EventType::Channel, "users")), "a channel named like a table");
        assert!(
            !Subscription::tables(["users"]).events([EventType::Channel]).matches(&event(EventType::Channel, "users"))
        );

        let paid = Subscription::channel("users");
        assert!(paid.matches(&event(EventType::Channel, "users")));
        assert!(!paid.matches(&event(EventType::Create, "users")), "a table named like a channel");
        assert!(!paid.matches(&event(EventType::Channel, "orders")));
        assert!(Subscription::channels(["a", "b"]).matches(&event(EventType::Channel, "b")));
        assert!(!Subscription::channels(Vec::<String>::new()).matches(&event(EventType::Channel, "a")));

        let every_channel = Subscription::all().events([EventType::Channel]);
        assert!(every_channel.matches(&event(EventType::Channel, "users")));
        assert!(!every_channel.matches(&event(EventType::Create, "users")));
    }

    #[test]
    fn keep_when_idle_is_opt_in() {
        assert!(!Subscription::table("users").is_kept_when_idle());
        assert!(Subscription::table("users").keep_when_idle().is_kept_when_idle());
    }
}
