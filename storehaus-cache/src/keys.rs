//! Every cache key is built here: `{prefix}:{scope}:{table}:…`.
//!
//! Every part given by a caller (prefix, scope names and values, table, row key, primitive
//! name) is one `:`-separated segment with `%`, `:`, `/`, `=`, `#`, whitespace and control
//! characters percent-encoded. So a key splits back at `:` into exactly the parts it was built
//! from, and two different (prefix, scope, table, key) tuples never share a key: a prefix
//! `a:b` is not prefix `a` plus scope `b`, a table named `a:b` is not scope `a` plus table `b`.
//! The scope is `_` when there is none, else `name=value` pairs joined by `/`. Namespaces that
//! are not tables (`#kv`, `#counter`, `#claim`) start with `#`, which an encoded segment never
//! does; a row key longer than [`MAX_ROW_SEGMENT`] bytes once encoded is replaced by `#` and
//! its SHA-256 digest, so no key grows with its row key.
//!
//! Rate-limit buckets live outside any key space, so that every process of an application
//! shares them: `storehaus:ratelimit:{bucket}` ([`rate_limit_key`]), the bucket name encoded (or
//! digested) the same way. Applications sharing one server keep their buckets apart with
//! `RateLimits::namespace`, which starts every bucket name.

use std::fmt::Write as _;

use crate::backend::EpochKey;
use crate::digest::{QueryDigest, sha256_hex};

/// The scope segment of an unscoped key space.
const NO_SCOPE: &str = "_";

/// The longest row-key segment kept as it is; a longer one is replaced by its digest.
pub const MAX_ROW_SEGMENT: usize = 200;

/// The keys of one prefix and scope: a store's tables and the primitives (key-value, counters,
/// claims).
///
/// ```
/// use storehaus_cache::KeySpace;
///
/// let space = KeySpace::new("app").scope("org", "42");
/// assert_eq!(space.counter("views"), "app:org=42:#counter:views");
/// assert_eq!(space.table("users").row("7").entry(), "app:org=42:users:row:7");
///
/// // A prefix is one segment too: its `:` is encoded like any other part's.
/// assert_eq!(KeySpace::new("app:v2").kv("k"), "app%3Av2:_:#kv:k");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeySpace {
    prefix: String,
    /// `prefix`, encoded as one segment.
    head: String,
    scope: String,
}

impl KeySpace {
    /// The unscoped key space under `prefix`. The prefix is any text: like every other part
    /// of a key it is percent-encoded into one segment, so `app:v2` appears as `app%3Av2`.
    pub fn new(prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        let mut head = String::with_capacity(prefix.len());
        push_segment(&mut head, &prefix);
        KeySpace { prefix, head, scope: NO_SCOPE.to_owned() }
    }

    /// A nested scope: every key of the result is prefixed by the scopes so far plus
    /// `name=value`.
    pub fn scope(&self, name: &str, value: &str) -> KeySpace {
        let mut scope = if self.scope == NO_SCOPE { String::new() } else { format!("{}/", self.scope) };
        push_segment(&mut scope, name);
        scope.push('=');
        push_segment(&mut scope, value);
        KeySpace { prefix: self.prefix.clone(), head: self.head.clone(), scope }
    }

    /// The prefix, as given.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The prefix as keys start with it: percent-encoded into one segment, followed in every
    /// key by `:`. `{encoded_prefix}:*` is the `SCAN` pattern of every key under the prefix
    /// (once `*`, `?`, `[`, `]` and `\` in it are escaped).
    pub fn encoded_prefix(&self) -> &str {
        &self.head
    }

    /// The keys of table `table` in this space.
    pub fn table(&self, table: &str) -> TableKeys {
        let mut base = format!("{}:{}:", self.head, self.scope);
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
        let mut key = format!("{}:{}:{namespace}:", self.head, self.scope);
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

    /// The keys of the row whose primary key renders as `id`. An `id` longer than
    /// [`MAX_ROW_SEGMENT`] bytes once encoded appears as `#` and its SHA-256 digest.
    pub fn row(&self, id: &str) -> RowKey {
        let mut segment = String::with_capacity(id.len().min(MAX_ROW_SEGMENT));
        push_segment(&mut segment, id);
        if segment.len() > MAX_ROW_SEGMENT {
            segment = format!("#{}", sha256_hex(id.as_bytes()));
        }
        RowKey {
            entry: format!("{}:row:{segment}", self.base),
            epoch: format!("{}:epoch:{segment}", self.base),
            table_epoch: self.epoch_key(),
        }
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

    /// The key of the result of the query with digest `query` at table generation
    /// `generation`: 64 hex digits of the digest, whatever the size of the query.
    pub fn query_key(&self, generation: i64, query: &QueryDigest) -> String {
        format!("{}:q:{generation}:{}", self.base, query.to_hex())
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

/// Where [`rate_limit_key`] puts every token bucket.
const RATE_LIMIT_PREFIX: &str = "storehaus:ratelimit:";

/// The key of the token bucket named `bucket` (a rule's operation pattern, then `:` and the
/// principal for a rule per principal): `storehaus:ratelimit:` and the name as one encoded
/// segment, or `#` and its SHA-256 digest when that is longer than [`MAX_ROW_SEGMENT`] bytes,
/// so any principal (any bytes, any length) makes a key of its own and of bounded size.
///
/// ```
/// use storehaus_cache::rate_limit_key;
///
/// assert_eq!(rate_limit_key("store.create:user 7"), "storehaus:ratelimit:store.create%3Auser%207");
/// assert_eq!(rate_limit_key(&"x".repeat(10_000)).len(), "storehaus:ratelimit:#".len() + 64);
/// ```
pub fn rate_limit_key(bucket: &str) -> String {
    let mut segment = String::with_capacity(bucket.len().min(MAX_ROW_SEGMENT));
    push_segment(&mut segment, bucket);
    if segment.len() > MAX_ROW_SEGMENT {
        segment = format!("#{}", sha256_hex(bucket.as_bytes()));
    }
    format!("{RATE_LIMIT_PREFIX}{segment}")
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
mod layout_properties;

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
        assert!(table.query_key(7, &"SELECT 1".into()).starts_with("app:_:users:q:7:"));
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
        let (select_a, select_b) = (QueryDigest::from("SELECT a"), QueryDigest::from("SELECT b"));
        let a = table.query_key(1, &select_a);
        assert_eq!(a, table.query_key(1, &QueryDigest::from("SELECT a")));
        assert_ne!(a, table.query_key(2, &select_a));
        assert_ne!(a, table.query_key(1, &select_b));
        assert_eq!(a.len(), "app:_:t:q:1:".len() + 64);
        let huge = QueryDigest::from("x".repeat(1 << 20).as_str());
        assert_eq!(table.query_key(1, &huge).len(), a.len());
    }

    #[test]
    fn prefixes_are_encoded_like_every_part() {
        assert_eq!(KeySpace::new("a:_").table("x").as_str(), "a%3A_:_:x");
        assert_ne!(KeySpace::new("a:_").table("_").as_str(), KeySpace::new("a").scope("_", "").table("_").as_str());
        assert_eq!(KeySpace::new("a b").prefix(), "a b");
        assert_eq!(KeySpace::new("a b:c").encoded_prefix(), "a%20b%3Ac");
    }

    #[test]
    fn rate_limit_keys_are_one_segment_of_bounded_size() {
        assert_eq!(rate_limit_key("cache.get"), "storehaus:ratelimit:cache.get");
        assert_eq!(rate_limit_key("a:b"), "storehaus:ratelimit:a%3Ab");
        assert_ne!(rate_limit_key("a:b"), rate_limit_key("a%3Ab"));
        assert_eq!(rate_limit_key("p:\0\n*"), "storehaus:ratelimit:p%3A%00%0A*");
        let long = format!("store.create:{}", "é".repeat(500));
        let key = rate_limit_key(&long);
        assert_eq!(key, format!("storehaus:ratelimit:#{}", sha256_hex(long.as_bytes())));
        assert_ne!(rate_limit_key(&format!("{long}x")), key);
    }

    #[test]
    fn long_row_keys_are_digested() {
        let table = KeySpace::new("app").table("t");
        let short = "k".repeat(MAX_ROW_SEGMENT);
        assert_eq!(table.row(&short).entry(), format!("app:_:t:row:{short}"));
        let long = "k".repeat(1 << 20);
        let row = table.row(&long);
        assert_eq!(row.entry(), format!("app:_:t:row:#{}", sha256_hex(long.as_bytes())));
        assert_eq!(row.epoch(), format!("app:_:t:epoch:#{}", sha256_hex(long.as_bytes())));
        assert_ne!(table.row(&format!("{long}x")).entry(), row.entry());
    }
}
