//! Key layout: `<prefix>:<service>[:<kind>:<id>...]:<namespace>:<key>`.
//!
//! Keys and channel names are written verbatim, as the seed does (`kv:user:123`). Scope ids are
//! written with `%` as `%25` and `:` as `%3A`, so an id never adds a segment: reading a key from
//! the left, segments after the service come in (kind, id) pairs until a namespace name, and
//! kinds can neither contain `:` nor be a namespace name. Two different scope chains therefore
//! never share a key, whatever the key or ids hold.

use std::borrow::Cow;
use std::fmt;

use super::error::{SharedResult, SharedStoreError};

/// The longest key, channel or stream name a call takes, in bytes.
pub const MAX_NAME_BYTES: usize = 1024;
/// The longest service name or scope kind, in bytes.
pub(crate) const MAX_LABEL_BYTES: usize = 128;

/// The part of a key that says what kind of value it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Namespace {
    /// Values of [`kv`](super::SharedStore::kv) and [`batch`](super::SharedStore::batch).
    Kv,
    /// Integers of [`counter`](super::SharedStore::counter).
    Counter,
    /// Locks of [`claim`](super::SharedStore::claim).
    Claim,
    /// Pub/sub channels of [`events`](super::SharedStore::events).
    Events,
    /// Streams of [`streams`](super::SharedStore::streams).
    Streams,
}

impl Namespace {
    /// Every namespace.
    pub const ALL: [Namespace; 5] =
        [Namespace::Kv, Namespace::Counter, Namespace::Claim, Namespace::Events, Namespace::Streams];

    /// The segment written in keys: `kv`, `counter`, `claim`, `events`, `streams`.
    pub fn as_str(self) -> &'static str {
        match self {
            Namespace::Kv => "kv",
            Namespace::Counter => "counter",
            Namespace::Claim => "claim",
            Namespace::Events => "events",
            Namespace::Streams => "streams",
        }
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks a key, channel or stream name given to a call.
pub(crate) fn check_name(what: &'static str, name: &str) -> SharedResult<()> {
    if name.is_empty() {
        return Err(SharedStoreError::input(what, "must not be empty"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(SharedStoreError::input(
            what,
            format!("is {} bytes, more than the limit of {MAX_NAME_BYTES}", name.len()),
        ));
    }
    if name.contains('\0') {
        return Err(SharedStoreError::input(what, "must not contain a NUL byte"));
    }
    Ok(())
}

/// Checks a service name or scope kind: a label that becomes one key segment.
pub(crate) fn check_label(what: &'static str, label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if label.len() > MAX_LABEL_BYTES {
        return Err(format!("{what} `{label}` is longer than {MAX_LABEL_BYTES} bytes"));
    }
    if label.contains([':', '\0']) {
        return Err(format!("{what} `{}` must not contain `:` or a NUL byte", label.escape_debug()));
    }
    Ok(())
}

/// Checks a scope kind: a label that is not a namespace name.
pub(crate) fn check_kind(kind: &str) -> Result<(), String> {
    check_label("scope kind", kind)?;
    if Namespace::ALL.iter().any(|namespace| namespace.as_str() == kind) {
        return Err(format!("scope kind `{kind}` is a namespace name"));
    }
    Ok(())
}

/// A scope id as written in keys: `%` and `:` escaped.
pub(crate) fn escape_id(id: &str) -> Cow<'_, str> {
    if !id.contains([':', '%']) {
        return Cow::Borrowed(id);
    }
    let mut escaped = String::with_capacity(id.len() + 8);
    for c in id.chars() {
        match c {
            '%' => escaped.push_str("%25"),
            ':' => escaped.push_str("%3A"),
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

/// `base:namespace:name`, allocated once.
pub(crate) fn join(base: &str, namespace: Namespace, name: &str) -> String {
    let namespace = namespace.as_str();
    let mut key = String::with_capacity(base.len() + namespace.len() + name.len() + 2);
    key.push_str(base);
    key.push(':');
    key.push_str(namespace);
    key.push(':');
    key.push_str(name);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_only_what_could_add_a_segment() {
        assert_eq!(escape_id("org_123"), "org_123");
        assert_eq!(escape_id("a:b%c"), "a%3Ab%25c");
        assert_eq!(escape_id("%3A"), "%253A");
    }

    #[test]
    fn rejects_bad_names() {
        assert!(check_name("key", "").is_err());
        assert!(check_name("key", "a\0b").is_err());
        assert!(check_name("key", &"x".repeat(MAX_NAME_BYTES + 1)).is_err());
        assert!(check_name("key", "user:123 *").is_ok());
        assert!(check_kind("kv").is_err());
        assert!(check_kind("org:x").is_err());
        assert!(check_kind("organization").is_ok());
    }

    #[test]
    fn joins_the_seed_layout() {
        assert_eq!(join("igniter:store:api", Namespace::Kv, "user:123"), "igniter:store:api:kv:user:123");
    }
}
