//! [`SharedStoreBuilder`]: service, prefix, scope kinds and the event registry.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::adapter::SharedAdapter;
use super::error::{SharedResult, SharedStoreError};
use super::keys::{check_kind, check_label, check_name};
use super::stats::Stats;
use super::{Inner, SharedStore};

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "storehaus:store";

/// Checks that a JSON payload decodes as the registered type.
pub(crate) type Validator = fn(&serde_json::Value) -> Result<(), String>;

/// The registered event channels: name → the type's name and its validator.
pub(crate) type Registry = HashMap<String, (&'static str, Validator)>;

fn validate<T: DeserializeOwned>(value: &serde_json::Value) -> Result<(), String> {
    T::deserialize(value).map(drop).map_err(|error| error.to_string())
}

/// Builds a [`SharedStore`]: [`service`](Self::service) is required, the rest optional.
///
/// Every setting is checked by [`build`](Self::build), which reports all problems at once as
/// [`SharedStoreError::Config`].
pub struct SharedStoreBuilder {
    adapter: Result<Arc<dyn SharedAdapter>, String>,
    timeout: Duration,
    service: Option<String>,
    prefix: String,
    kinds: Vec<(String, bool)>,
    registry: Registry,
    strict_events: bool,
    problems: Vec<String>,
}

impl SharedStoreBuilder {
    pub(super) fn new(adapter: Result<Arc<dyn SharedAdapter>, String>, timeout: Duration) -> Self {
        SharedStoreBuilder {
            adapter,
            timeout,
            service: None,
            prefix: DEFAULT_PREFIX.to_owned(),
            kinds: Vec::new(),
            registry: Registry::new(),
            strict_events: false,
            problems: Vec::new(),
        }
    }

    /// The service name, the key segment after the prefix (required; no `:`).
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// The key prefix; `storehaus:store` by default.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Declares a scope kind, such as `"organization"`. A `required` kind must be in a store's
    /// scope chain before any call; once any kind is declared, undeclared kinds are refused.
    pub fn scope_kind(mut self, kind: impl Into<String>, required: bool) -> Self {
        let kind = kind.into();
        if let Err(problem) = check_kind(&kind) {
            self.problems.push(problem);
        } else if self.kinds.iter().any(|(declared, _)| *declared == kind) {
            self.problems.push(format!("scope kind `{kind}` is declared twice"));
        } else {
            self.kinds.push((kind, required));
        }
        self
    }

    /// Registers event channel `channel` with payload type `T`: publishing on it checks that
    /// the payload decodes as `T`, and a received payload that does not is counted and dropped.
    pub fn event<T: DeserializeOwned + 'static>(mut self, channel: impl Into<String>) -> Self {
        self.register(channel.into(), std::any::type_name::<T>(), validate::<T>);
        self
    }

    /// Registers the channels of `group` under `prefix`: `event_group("user", |g| g.event::<Created>("created"))`
    /// registers `user:created`. Groups nest.
    pub fn event_group(mut self, prefix: impl Into<String>, group: impl FnOnce(EventGroup) -> EventGroup) -> Self {
        let group = group(EventGroup { prefix: prefix.into(), events: Vec::new() });
        for (channel, type_name, validator) in group.events {
            self.register(channel, type_name, validator);
        }
        self
    }

    /// Refuses publishing and subscribing on channels that are not registered
    /// ([`SharedStoreError::UnknownEvent`]); by default they pass unchecked.
    pub fn strict_events(mut self) -> Self {
        self.strict_events = true;
        self
    }

    /// The bound of every call (a blocking stream read adds its block time).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The store, or every problem with the settings.
    pub fn build(self) -> SharedResult<SharedStore> {
        let mut problems = self.problems;
        match &self.service {
            None => problems.push("a service name is required: call `service(..)`".to_owned()),
            Some(service) => problems.extend(check_label("service", service).err()),
        }
        if self.prefix.is_empty() || self.prefix.contains('\0') {
            problems.push("the prefix must not be empty or contain a NUL byte".to_owned());
        }
        if self.timeout.is_zero() {
            problems.push("the timeout must be longer than zero".to_owned());
        }
        let adapter = self.adapter.map_err(|problem| problems.push(problem)).ok();
        if !problems.is_empty() {
            return Err(SharedStoreError::Config(problems.join("; ")));
        }
        let (Some(adapter), Some(service)) = (adapter, self.service) else {
            unreachable!("both were checked above");
        };
        Ok(SharedStore::root(Inner {
            adapter,
            prefix: self.prefix,
            service,
            kinds: self.kinds,
            registry: self.registry,
            strict_events: self.strict_events,
            timeout: self.timeout,
            stats: Stats::default(),
        }))
    }

    fn register(&mut self, channel: String, type_name: &'static str, validator: Validator) {
        if let Err(error) = check_name("event channel", &channel) {
            self.problems.push(error.to_string());
        } else if self.registry.insert(channel.clone(), (type_name, validator)).is_some() {
            self.problems.push(format!("event channel `{channel}` is registered twice"));
        }
    }
}

impl fmt::Debug for SharedStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedStoreBuilder")
            .field("service", &self.service)
            .field("prefix", &self.prefix)
            .field("kinds", &self.kinds)
            .field("events", &self.registry.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Event channels under a common prefix, for [`SharedStoreBuilder::event_group`].
pub struct EventGroup {
    prefix: String,
    events: Vec<(String, &'static str, Validator)>,
}

impl EventGroup {
    /// Registers `<prefix>:<name>` with payload type `T`.
    pub fn event<T: DeserializeOwned + 'static>(mut self, name: &str) -> Self {
        self.events.push((format!("{}:{name}", self.prefix), std::any::type_name::<T>(), validate::<T>));
        self
    }

    /// Registers the channels of a nested group under `<prefix>:<name>`.
    pub fn group(mut self, name: &str, group: impl FnOnce(EventGroup) -> EventGroup) -> Self {
        let nested = group(EventGroup { prefix: format!("{}:{name}", self.prefix), events: Vec::new() });
        self.events.extend(nested.events);
        self
    }
}

impl fmt::Debug for EventGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.events.iter().map(|(name, _, _)| name).collect();
        f.debug_struct("EventGroup").field("prefix", &self.prefix).field("events", &names).finish()
    }
}
