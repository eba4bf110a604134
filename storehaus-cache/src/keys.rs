//! Every cache key is built here: `{prefix}:{scope}:{table}:…`.
//!
//! Each part after the prefix is one `:`-separated segment with `%`, `:`, `/`, `=`, `#`,
//! whitespace and control characters percent-encoded, so the parts of two different keys can
//! never run into each other (a table named `a:b` is not scope `a` plus table `b`). The scope
//! is `_` when there is none, else `name=value` pairs joined by `/`. Namespaces that are not
//! tables (`#kv`, `#counter`, `#claim`) start with `#`, which a table segment never does.

use std::fmt::Write as _;
use std::hash::{DefaultHasher, Hasher};

use crate::backend::EpochKey;

/// The scope segment of an unscoped key space.
const NO_SCOPE: &str = "_";

/// The keys of one prefix and scope: a store's tables and the primitives (key-value, counters,
/// claims).
///
/// ```
/// use storehaus_cache::KeySpace;
///
/// let space = KeySpace::new("app").scope("org", "42");
/// assert_eq!(space.counter("views"), "app:org=42:#counter:views");
/// assert_eq!(space.table("users").row("7").entry(), "app:org=42:users:row:7");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeySpace {
    prefix: String,
    scope: String,
}

impl KeySpace {
    /// The unscoped key space under `prefix`, which is used verbatim (it may contain `:`).
    pub fn new(prefix: impl Into<String>) -> Self {
        KeySpace { prefix: prefix.into(), scope: NO_SCOPE.to_owned() }
    }

    /// A nested scope: every key of the result is prefixed by the scopes so far plus
    /// `name=value`.
    pub fn scope(&self, name: &str, value: &str) -> KeySpace {
        let mut scope = if self.scope == NO_SCOPE { String::new() } else { format!("{}/", self.scope) };
        push_segment(&mut scope, name);
        scope.push('=');
        push_segment(&mut scope, value);
        KeySpace { prefix: self.prefix.clone(), scope }
    }

    /// The prefix, as given.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The keys of table `table` in this space.
    pub fn table(&self, table: &str) -> TableKeys {
        let mut base = format!("{}:{}:", self.prefix, self.scope);
        push_segment(&mut base, table);
        TableKeys { base }
    }

    /// The key of key-value entry `name`.
    pub fn kv(&self, name: &str) -> String {
        self.namespaced("#kv", name)
    }

    /// The key of counter `name`.
    pub fn counter(&self, name: &str) -> String {
        self.namespaced("#counter", name)
    }

    /// The key of claim (lock) `name`.
    pub fn claim(&self, name: &str) -> String {
        self.namespaced("#claim", name)
    }

    fn namespaced(&self, namespace: &str, name: &str) -> String {
        let mut key = format!("{}:{}:{namespace}:", self.prefix, self.scope);
        push_segment(&mut key, name);
        key
    }
}

/// The keys of one table: its rows, its epoch and generation, its cached queries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableKeys {
    base: String,
}

impl TableKeys {
    /// `{prefix}:{scope}:{table}`, the start of every key of the table.
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// The keys of the row whose primary key renders as `id`.
    pub fn row(&self, id: &str) -> RowKey {
        let mut entry = format!("{}:row:", self.base);
        push_segment(&mut entry, id);
        let mut epoch = format!("{}:epoch:", self.base);
        push_segment(&mut epoch, id);
        RowKey { entry, epoch, table_epoch: self.epoch_key() }
    }

    /// The table epoch: bumped when the whole table is invalidated; every cached row of the
    /// table is tied to it.
    pub fn epoch_key(&self) -> String {
        format!("{}:epoch", self.base)
    }

    /// The table generation: bumped by every write; cached query results are keyed by it.
    pub fn generation_key(&self) -> String {
        format!("{}:gen", self.base)
    }

    /// The key of the result of `query` at table generation `generation`.
    ///
    /// The query text is hashed to 128 bits; the cached value also carries the full text and a
    /// read checks it, so a hash collision is a miss, never a wrong answer.
    pub fn query_key(&self, generation: i64, query: &str) -> String {
        let mut key = format!("{}:q:{generation}:", self.base);
        for salt in [0x5348_u64, 0x4b51] {
            let mut hasher = DefaultHasher::new();
            hasher.write_u64(salt);
            hasher.write(query.as_bytes());
            let _ = write!(key, "{:016x}", hasher.finish());
        }
        key
    }

    pub(crate) fn generation(&self) -> EpochKey {
        EpochKey::persistent(self.generation_key())
    }
}

/// The keys of one cached row: the entry, the row's epoch and its table's epoch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RowKey {
    entry: String,
    epoch: String,
    table_epoch: String,
}

impl RowKey {
    /// The key of the cached row.
    pub fn entry(&self) -> &str {
        &self.entry
    }

    /// The key of the row's epoch, bumped by every write of the row.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// The key of the table's epoch.
    pub fn table_epoch(&self) -> &str {
        &self.table_epoch
    }
}

/// Appends `part` with the separators of the key format percent-encoded.
fn push_segment(out: &mut String, part: &str) {
    for c in part.chars() {
        if matches!(c, '%' | ':' | '/' | '=' | '#') || c.is_whitespace() || c.is_control() {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{byte:02X}");
            }
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_prefix_scope_table() {
        let table = KeySpace::new("app").table("users");
        assert_eq!(table.as_str(), "app:_:users");
        let row = table.row("42");
        assert_eq!(row.entry(), "app:_:users:row:42");
        assert_eq!(row.epoch(), "app:_:users:epoch:42");
        assert_eq!(row.table_epoch(), "app:_:users:epoch");
        assert_eq!(table.generation_key(), "app:_:users:gen");
        assert!(table.query_key(7, "SELECT 1").starts_with("app:_:users:q:7:"));
    }

    #[test]
    fn scopes_nest_and_prefix_every_key() {
        let space = KeySpace::new("app").scope("org", "1").scope("ws", "2");
        assert_eq!(space.table("t").as_str(), "app:org=1/ws=2:t");
        assert_eq!(space.kv("k"), "app:org=1/ws=2:#kv:k");
        assert_eq!(space.claim("job"), "app:org=1/ws=2:#claim:job");
    }

    #[test]
    fn separators_in_parts_are_escaped() {
        let space = KeySpace::new("app");
        assert_eq!(space.table("a:b").row("x y/z").entry(), "app:_:a%3Ab:row:x%20y%2Fz");
        assert_ne!(space.scope("a", "b").table("c").as_str(), space.scope("a", "b:c").table("x").as_str());
        assert_eq!(space.scope("a", "b:c").kv("k"), "app:a=b%3Ac:#kv:k");
        assert_eq!(space.table("#kv").as_str(), "app:_:%23kv");
        assert_eq!(space.table("é").as_str(), "app:_:é");
        assert_eq!(space.table("%").as_str(), "app:_:%25");
    }

    #[test]
    fn query_keys_depend_on_text_and_generation() {
        let table = KeySpace::new("app").table("t");
        let a = table.query_key(1, "SELECT a");
        assert_eq!(a, table.query_key(1, "SELECT a"));
        assert_ne!(a, table.query_key(2, "SELECT a"));
        assert_ne!(a, table.query_key(1, "SELECT b"));
        assert_eq!(a.len(), "app:_:t:q:1:".len() + 32);
    }
}
