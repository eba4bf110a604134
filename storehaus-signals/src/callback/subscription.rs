//! [`Subscription`]: which events a callback receives.

use crate::{DatabaseEvent, EventType};
use serde::Serialize;

/// Chooses the events a callback receives: by table or channel, and by event type.
///
/// Tables and channels are separate namespaces: [`table`](Self::table) matches row events only,
/// [`channel`](Self::channel) channel messages only, so a message published on a channel that
/// shares a table's name never reaches a callback that asked for the table's rows.
///
/// [`principal`](Self::principal) and [`tenant`](Self::tenant) narrow row events to the rows a
/// principal or tenant may see. They fail closed: an event that does not say who may see its row
/// (a table that is not `auth` or has no `#[tenant]` field, or a channel message) never matches.
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
/// // Changes of `projects` rows that `user_2` may see.
/// let visible = Subscription::table("projects").principal("user_2");
/// # let _ = (users, deletes, paid, visible);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    /// Row events of these tables; `None`: of every table.
    tables: Option<Vec<String>>,
    /// Messages of these channels; `None`: of every channel.
    channels: Option<Vec<String>>,
    /// `None`: every event type.
    events: Option<Vec<EventType>>,
    /// Row events whose `__auth__` holds any of these; `None`: no principal filter.
    principals: Option<Vec<String>>,
    /// Row events whose `__tenant__` equals any of these; `None`: no tenant filter.
    tenants: Option<Vec<serde_json::Value>>,
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

    /// Only events of rows that `principal` may see: rows whose `__auth__` holds it. Called more
    /// than once, a row any of the principals may see matches.
    ///
    /// Events without `__auth__` (tables that are not `auth`) and channel messages never match.
    pub fn principal(mut self, principal: impl Into<String>) -> Self {
        self.principals.get_or_insert_with(Vec::new).push(principal.into());
        self
    }

    /// Only events of rows of `tenant`: rows whose `#[tenant]` column, as JSON, equals `tenant`
    /// serialized to JSON. Called more than once, a row of any of the tenants matches.
    ///
    /// Events without `__tenant__` (tables without a `#[tenant]` field), rows whose tenant is
    /// NULL and channel messages never match; so does everything when `tenant` is null or does
    /// not serialize.
    pub fn tenant(mut self, tenant: impl Serialize) -> Self {
        let tenants = self.tenants.get_or_insert_with(Vec::new);
        match serde_json::to_value(tenant) {
            Ok(serde_json::Value::Null) => {}
            Ok(value) => tenants.push(value),
            Err(error) => tracing::warn!(%error, "a subscription's tenant does not serialize; it matches nothing"),
        }
        self
    }

    /// Exempts the callback from removal for inactivity
    /// ([`auto_remove_inactive_callbacks`](crate::SignalConfig::auto_remove_inactive_callbacks)),
    /// for callbacks on tables or channels that are quiet for long stretches.
    pub fn keep_when_idle(mut self) -> Self {
        self.keep_when_idle = true;
        self
    }

    /// The principals named by [`principal`](Self::principal), in order.
    pub(crate) fn principals(&self) -> &[String] {
        self.principals.as_deref().unwrap_or_default()
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
        name_ok && type_ok && self.principal_matches(event) && self.tenant_matches(event)
    }

    fn principal_matches(&self, event: &DatabaseEvent) -> bool {
        let Some(wanted) = &self.principals else { return true };
        event.auth_entries().is_some_and(|mut entries| entries.any(|p| wanted.iter().any(|w| w == p)))
    }

    fn tenant_matches(&self, event: &DatabaseEvent) -> bool {
        let Some(wanted) = &self.tenants else { return true };
        event.tenant().is_some_and(|tenant| !tenant.is_null() && wanted.contains(tenant))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    fn row(event_type: EventType, table: &str, payload: serde_json::Value) -> DatabaseEvent {
        DatabaseEvent::new(event_type, table, "1", payload)
    }

    #[test]
    fn filters_by_principal() {
        let of_a = row(EventType::Create, "projects", json!({"__auth__": ["a"]}));
        let shared = row(EventType::Update, "projects", json!({"__auth__": ["a", "b"]}));
        let nobody = row(EventType::Delete, "projects", json!({"__auth__": []}));

        let b = Subscription::table("projects").principal("b");
        assert!(!b.matches(&of_a), "a row only a may see");
        assert!(b.matches(&shared));
        assert!(!b.matches(&nobody));

        let a_or_b = Subscription::all().principal("b").principal("a");
        assert!(a_or_b.matches(&of_a) && a_or_b.matches(&shared));
        assert!(!a_or_b.matches(&nobody));
        assert!(!Subscription::all().principal("A").matches(&of_a), "principals are compared exactly");

        // Filters combine with the table and the event type.
        assert!(!Subscription::table("tasks").principal("a").matches(&of_a));
        assert!(!Subscription::all().principal("a").events([EventType::Delete]).matches(&of_a));
        assert!(Subscription::all().matches(&nobody), "no filter, every row");
    }

    #[test]
    fn filters_by_tenant_as_json() {
        let org_1 = row(EventType::Create, "notes", json!({"org": "org_1", "__tenant__": "org_1"}));
        let org_7 = row(EventType::Create, "invoices", json!({"__tenant__": 7, "__auth__": ["a"]}));

        assert!(Subscription::table("notes").tenant("org_1").matches(&org_1));
        assert!(!Subscription::table("notes").tenant("org_2").matches(&org_1));
        assert!(Subscription::all().tenant(7_i64).matches(&org_7));
        assert!(Subscription::all().tenant(7_u8).matches(&org_7));
        assert!(!Subscription::all().tenant("7").matches(&org_7), "JSON equality, not text");
        assert!(Subscription::all().tenant("org_2").tenant("org_1").matches(&org_1));

        let both = Subscription::all().tenant(7).principal("a");
        assert!(both.matches(&org_7));
        assert!(!Subscription::all().tenant(7).principal("b").matches(&org_7));
        assert!(!Subscription::all().tenant(8).principal("a").matches(&org_7));
    }

    #[test]
    fn scope_filters_fail_closed() {
        let plain = row(EventType::Create, "users", json!({"id": 1, "org": "org_1"}));
        assert!(!Subscription::all().principal("a").matches(&plain), "a row without __auth__");
        assert!(!Subscription::all().tenant("org_1").matches(&plain), "a row without __tenant__");
        let odd = row(EventType::Create, "users", json!({"__auth__": "a", "__tenant__": null}));
        assert!(!Subscription::all().principal("a").matches(&odd), "__auth__ that is not a list");
        assert!(!Subscription::all().tenant(Option::<i64>::None).matches(&odd), "a NULL tenant is nobody's");

        let none = row(EventType::Create, "notes", json!({"__tenant__": null}));
        assert!(!Subscription::all().tenant(serde_json::Value::Null).matches(&none));

        // A value that does not serialize (a map with non-text keys) matches nothing.
        let unserializable = std::collections::BTreeMap::from([((1, 2), 3)]);
        let org_1 = row(EventType::Create, "notes", json!({"__tenant__": "org_1"}));
        assert!(!Subscription::all().tenant(&unserializable).matches(&org_1));
        assert!(Subscription::all().tenant(&unserializable).tenant("org_1").matches(&org_1));

        // Channel messages are not rows, even with a payload that looks like one.
        let message = row(EventType::Channel, "orders.paid", json!({"__auth__": ["a"], "__tenant__": "org_1"}));
        assert!(Subscription::channel("orders.paid").matches(&message));
        assert!(!Subscription::channel("orders.paid").principal("a").matches(&message));
        assert!(!Subscription::all().tenant("org_1").matches(&message));
    }

    #[test]
    fn keep_when_idle_is_opt_in() {
        assert!(!Subscription::table("users").is_kept_when_idle());
        assert!(Subscription::table("users").keep_when_idle().is_kept_when_idle());
    }
}
