//! [`Subscription`]: which events a callback receives.

use crate::{DatabaseEvent, EventType};

/// Chooses the events a callback receives: by table (or channel) and by event type.
///
/// ```
/// use storehaus_signals::{EventType, Subscription};
///
/// // Inserts and updates of `users`.
/// let users = Subscription::table("users").events([EventType::Create, EventType::Update]);
/// // Deletes of any table.
/// let deletes = Subscription::all().events([EventType::Delete, EventType::SoftDelete]);
/// # let _ = (users, deletes);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    /// `None`: every table.
    tables: Option<Vec<String>>,
    /// `None`: every event type.
    events: Option<Vec<EventType>>,
    keep_when_idle: bool,
}

impl Subscription {
    /// Every event of every table and channel.
    pub fn all() -> Self {
        Subscription::default()
    }

    /// Events of one table (for channel messages, the channel name).
    pub fn table(name: impl Into<String>) -> Self {
        Subscription { tables: Some(vec![name.into()]), ..Subscription::default() }
    }

    /// Events of any of these tables; an empty list matches nothing.
    pub fn tables<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Subscription { tables: Some(names.into_iter().map(Into::into).collect()), ..Subscription::default() }
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
        let table_ok = self.tables.as_ref().is_none_or(|tables| tables.contains(&event.table_name));
        let type_ok = self.events.as_ref().is_none_or(|types| types.contains(&event.event_type));
        table_ok && type_ok
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
    fn keep_when_idle_is_opt_in() {
        assert!(!Subscription::table("users").is_kept_when_idle());
        assert!(Subscription::table("users").keep_when_idle().is_kept_when_idle());
    }
}
