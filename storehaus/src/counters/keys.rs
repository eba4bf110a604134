//! Cache keys of counters: `{prefix}{kind:id}:key`, the owner inside a hash tag so that one
//! owner's counters share a cluster slot (and one script can take several of them).
//!
//! The owner's kind and id are escaped (`%`, `:`, braces and glob characters as `%XX`) so the key
//! reads back unambiguously and a scan pattern built from it has no wildcard a user put there;
//! the counter's own key escapes the same characters except `:`.

use crate::cache::CacheManager;
use crate::error::{Result, StoreError};
use crate::owner::Owner;

/// The longest counter key, in bytes.
pub const MAX_KEY_LEN: usize = 255;

/// The longest prefix, in bytes.
pub(crate) const MAX_PREFIX_LEN: usize = 255;

/// Characters a prefix may not hold: braces would move the hash tag, the rest are glob syntax.
const PREFIX_FORBIDDEN: &[char] = &['{', '}', '*', '?', '[', ']', '\\', '\0'];

/// A counter's place: its owner (as stored) and key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct CounterId {
    pub owner_kind: String,
    pub owner_id: String,
    pub key: String,
}

impl CounterId {
    /// The counter `key` of `owner`, both validated.
    pub(crate) fn new(owner: &Owner, key: &str) -> Result<CounterId> {
        owner.validate()?;
        validate_key(key)?;
        Ok(CounterId { owner_kind: owner.kind().to_owned(), owner_id: owner.id().to_owned(), key: key.to_owned() })
    }

    /// The text a sync pattern is matched against: `kind:id:key`.
    pub(crate) fn pattern_text(&self) -> String {
        format!("{}:{}:{}", self.owner_kind, self.owner_id, self.key)
    }
}

/// Refuses a key that is empty, longer than [`MAX_KEY_LEN`] or holds a NUL byte.
pub(crate) fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(StoreError::validation("key", "a counter key cannot be empty"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(StoreError::validation(
            "key",
            format!("the counter key is {} bytes long; at most {MAX_KEY_LEN} are allowed", key.len()),
        ));
    }
    if key.contains('\0') {
        return Err(StoreError::validation("key", "a counter key cannot contain a NUL byte"));
    }
    Ok(())
}

/// Refuses a prefix that is empty, too long, or holds a brace, a glob character or NUL.
pub(crate) fn validate_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty() || prefix.len() > MAX_PREFIX_LEN {
        return Err(StoreError::validation("prefix", format!("the prefix must be 1 to {MAX_PREFIX_LEN} bytes long")));
    }
    if let Some(c) = prefix.chars().find(|c| PREFIX_FORBIDDEN.contains(c)) {
        return Err(StoreError::validation("prefix", format!("the prefix cannot contain {c:?}")));
    }
    Ok(())
}

fn escape_into(out: &mut String, text: &str, keep_colon: bool) {
    for c in text.chars() {
        match c {
            ':' if keep_colon => out.push(c),
            '%' | ':' | '{' | '}' | '*' | '?' | '[' | ']' | '\\' => {
                out.push_str(&format!("%{:02X}", c as u32));
            }
            _ => out.push(c),
        }
    }
}

fn unescape(text: &str) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

/// How the counters of one [`Counters`](super::Counters) are named in the cache.
#[derive(Debug, Clone)]
pub(crate) struct KeyFormat {
    prefix: String,
}

impl KeyFormat {
    pub(crate) fn new(prefix: String) -> Self {
        KeyFormat { prefix }
    }

    /// `{prefix}{kind:id` — what every cache key of the owner starts with.
    fn owner_tag(&self, kind: &str, id: &str) -> String {
        let mut out = String::with_capacity(self.prefix.len() + kind.len() + id.len() + 4);
        out.push_str(&self.prefix);
        out.push('{');
        escape_into(&mut out, kind, false);
        out.push(':');
        escape_into(&mut out, id, false);
        out
    }

    /// The buffer of a counter: `{prefix}{kind:id}:key`.
    pub(crate) fn buffer(&self, id: &CounterId) -> String {
        let mut out = self.owner_tag(&id.owner_kind, &id.owner_id);
        out.push_str("}:");
        escape_into(&mut out, &id.key, true);
        out
    }

    /// The hash of this process's adds in doubt for the owner: `{prefix}{kind:id}#ops:client`.
    pub(crate) fn ops(&self, id: &CounterId, client: &str) -> String {
        let mut out = self.owner_tag(&id.owner_kind, &id.owner_id);
        out.push_str("}#ops:");
        out.push_str(client);
        out
    }

    /// A scan pattern for every buffer, or those of one owner.
    fn scan_pattern(&self, owner: Option<(&str, &str)>) -> String {
        match owner {
            Some((kind, id)) => format!("{}}}:*", self.owner_tag(kind, id)),
            None => format!("{}{{*}}:*", self.prefix),
        }
    }

    /// The counter a buffer key names; `None` for any other key.
    pub(crate) fn parse(&self, buffer: &str) -> Option<CounterId> {
        let rest = buffer.strip_prefix(&self.prefix)?.strip_prefix('{')?;
        let (tag, key) = rest.split_once("}:")?;
        let (kind, id) = tag.split_once(':')?;
        let id = CounterId { owner_kind: unescape(kind)?, owner_id: unescape(id)?, key: unescape(key)? };
        (self.buffer(&id) == buffer).then_some(id)
    }

    /// A scan over the buffers of every owner, or of one.
    pub(crate) fn scan(&self, owner: Option<(&str, &str)>) -> BufferScan<'_> {
        BufferScan { format: self, pattern: self.scan_pattern(owner), cursor: Some(0) }
    }
}

/// The steps of a `SCAN` over buffers, from [`KeyFormat::scan`].
pub(crate) struct BufferScan<'a> {
    format: &'a KeyFormat,
    pattern: String,
    /// `None` once the scan is over.
    cursor: Option<u64>,
}

impl BufferScan<'_> {
    /// The buffers of the next step (about `count` keys examined), with their counters; `None`
    /// when the scan is over. A buffer may come twice.
    pub(crate) async fn next(
        &mut self,
        cache: &CacheManager,
        count: usize,
    ) -> Result<Option<Vec<(String, CounterId)>>> {
        let Some(cursor) = self.cursor else {
            return Ok(None);
        };
        let (next, found) = cache.scan(&self.pattern, cursor, count).await.map_err(super::write::cache_error)?;
        self.cursor = (next != 0).then_some(next);
        let format = self.format;
        Ok(Some(found.into_iter().filter_map(|buffer| format.parse(&buffer).map(|id| (buffer, id))).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format() -> KeyFormat {
        KeyFormat::new("counter:".to_owned())
    }

    #[test]
    fn keys_follow_the_seed_inside_a_hash_tag() {
        let id = CounterId::new(&Owner::new("user", 42), "downloads").unwrap();
        assert_eq!(format().buffer(&id), "counter:{user:42}:downloads");
        assert_eq!(format().parse("counter:{user:42}:downloads"), Some(id));
        let global = CounterId::new(&Owner::global(), "visits").unwrap();
        assert_eq!(format().buffer(&global), "counter:{:}:visits");
        assert_eq!(format().parse("counter:{:}:visits"), Some(global));
    }

    #[test]
    fn hostile_text_is_escaped_and_reads_back() {
        let id = CounterId::new(&Owner::new("a:b{", "}*?[x]\\%"), "k:{y}*").unwrap();
        let key = format().buffer(&id);
        assert_eq!(key.matches('{').count(), 1);
        assert_eq!(key.matches('}').count(), 1);
        assert!(!key.contains('*'));
        assert_eq!(format().parse(&key), Some(id));
    }

    #[test]
    fn other_keys_do_not_parse() {
        assert_eq!(format().parse("counter:{user:42}#ops:abc"), None);
        assert_eq!(format().parse("other:{user:42}:x"), None);
        assert_eq!(format().parse("counter:{user%3:42}:x"), None);
        assert_eq!(format().parse("counter:{user:4%32}:x"), None, "not the canonical spelling");
    }

    #[test]
    fn keys_and_prefixes_are_validated() {
        assert!(validate_key("").is_err());
        assert!(validate_key("a\0b").is_err());
        assert!(validate_key(&"k".repeat(MAX_KEY_LEN + 1)).is_err());
        assert!(validate_key(&"k".repeat(MAX_KEY_LEN)).is_ok());
        assert!(validate_prefix("").is_err());
        assert!(validate_prefix("a{b").is_err());
        assert!(validate_prefix("c*").is_err());
        assert!(validate_prefix("app:counter:").is_ok());
    }
}
