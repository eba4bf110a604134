//! Fixed-size SHA-256 digests: of query fingerprints, and of row keys too long to keep whole.

use std::fmt;

use sha2::{Digest, Sha256};

/// The SHA-256 digest of what identifies a cached query result (its statement and bound values).
///
/// A query's text can be as large as its bound values; its digest is 32 bytes whatever the
/// query, and [`QueryDigest::of_debug`] computes it without building the text at all. Cached
/// results are keyed by the digest and carry it, never the text.
///
/// ```
/// use storehaus_cache::QueryDigest;
///
/// let a = QueryDigest::from("users where age > 18");
/// assert_eq!(a, QueryDigest::from("users where age > 18"));
/// assert_ne!(a, QueryDigest::from("users where age > 19"));
/// assert_eq!(a.to_hex().len(), 64);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct QueryDigest([u8; 32]);

impl QueryDigest {
    /// The digest of `value`'s `Debug` output, streamed into the hash: the text is never held
    /// in memory, whatever its length.
    pub fn of_debug(value: &(impl fmt::Debug + ?Sized)) -> Self {
        let mut writer = HashWriter(Sha256::new());
        // Writing into a hash cannot fail; only a `Debug` impl that reports an error can, and
        // the digest of what it wrote still identifies the value as well as it can be.
        let _ = fmt::write(&mut writer, format_args!("{value:?}"));
        QueryDigest(writer.0.finalize().into())
    }

    /// The digest as bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The digest as 64 lower-case hex digits, as it appears in keys.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

impl From<&str> for QueryDigest {
    fn from(text: &str) -> Self {
        QueryDigest(Sha256::digest(text.as_bytes()).into())
    }
}

impl From<&String> for QueryDigest {
    fn from(text: &String) -> Self {
        QueryDigest::from(text.as_str())
    }
}

impl fmt::Debug for QueryDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QueryDigest({})", self.to_hex())
    }
}

/// Feeds formatted text into a SHA-256 hash as it is written.
struct HashWriter(Sha256);

impl fmt::Write for HashWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.update(s.as_bytes());
        Ok(())
    }
}

/// The SHA-256 digest of `bytes` as hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_debug_equals_hashing_the_text() {
        let value = ("SELECT", vec![1, 2, 3], "x".repeat(10_000));
        assert_eq!(QueryDigest::of_debug(&value), QueryDigest::from(format!("{value:?}").as_str()));
        assert_ne!(QueryDigest::of_debug(&1), QueryDigest::of_debug(&2));
    }

    #[test]
    fn known_vector() {
        assert_eq!(
            QueryDigest::from("abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
