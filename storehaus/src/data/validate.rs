//! What a key, a namespace and a value must be to be stored.

use super::{MAX_KEY_LEN, MAX_VALUE_BYTES};
use crate::error::StoreError;

/// Checks a key (`field` = `"key"`) or a non-empty namespace (`"namespace"`): non-empty, at most
/// [`MAX_KEY_LEN`] bytes, no NUL byte, no empty segment in its dotted path.
pub(crate) fn check_path(field: &'static str, path: &str) -> Result<(), StoreError> {
    let refuse = |message: String| Err(StoreError::validation(field, message));
    if path.is_empty() {
        return refuse(format!("the {field} is empty"));
    }
    if path.len() > MAX_KEY_LEN {
        return refuse(format!("the {field} is {} bytes long; at most {MAX_KEY_LEN} are allowed", path.len()));
    }
    if path.contains('\0') {
        return refuse(format!("the {field} contains a NUL byte"));
    }
    if path.split('.').any(str::is_empty) {
        return refuse(format!("the {field} `{path}` has an empty segment in its dotted path"));
    }
    Ok(())
}

/// Checks a prefix of keys: anything but a NUL byte, which no key holds (and PostgreSQL's text
/// cannot carry).
pub(crate) fn check_prefix(prefix: &str) -> Result<(), StoreError> {
    if prefix.contains('\0') {
        return Err(StoreError::validation("prefix", "the prefix contains a NUL byte"));
    }
    Ok(())
}

/// Checks a namespace: `""` (no namespace) or a valid dotted path.
pub(crate) fn check_namespace(namespace: &str) -> Result<(), StoreError> {
    if namespace.is_empty() { Ok(()) } else { check_path("namespace", namespace) }
}

/// Serializes a value to JSON and checks it can be stored on every backend: at most
/// [`MAX_VALUE_BYTES`] of JSON text, no NUL character in a string (PostgreSQL's `jsonb` cannot
/// hold `\u0000`).
pub(crate) fn to_json(value: impl serde::Serialize) -> Result<serde_json::Value, StoreError> {
    let json = serde_json::to_value(value)
        .map_err(|e| StoreError::validation("value", format!("the value does not serialize to JSON: {e}")))?;
    check_json(&json)?;
    Ok(json)
}

/// The checks of [`to_json`] on a JSON value.
pub(crate) fn check_json(json: &serde_json::Value) -> Result<(), StoreError> {
    let mut bound = 0;
    if !measure(json, &mut bound) {
        return Err(StoreError::validation("value", "a string of the value contains a NUL character"));
    }
    // The bound is exact but for numbers and escapes; only a value near the limit is written out
    // to be counted exactly.
    if bound > MAX_VALUE_BYTES {
        let mut counter = ByteCounter(0);
        // Counting bytes cannot fail; the writer never refuses.
        let _ = serde_json::to_writer(&mut counter, json);
        if counter.0 > MAX_VALUE_BYTES {
            return Err(StoreError::validation(
                "value",
                format!("the value is {} bytes of JSON; at most {MAX_VALUE_BYTES} are allowed", counter.0),
            ));
        }
    }
    Ok(())
}

/// Adds to `bound` at least the length of `json`'s compact JSON text; `false` when a string (or
/// an object key) holds a NUL character.
fn measure(json: &serde_json::Value, bound: &mut usize) -> bool {
    match json {
        serde_json::Value::Null | serde_json::Value::Bool(_) => *bound += 5,
        // The longest `i64`, `u64` or `f64` serde_json writes.
        serde_json::Value::Number(_) => *bound += 24,
        serde_json::Value::String(s) => return measure_text(s, bound),
        serde_json::Value::Array(items) => {
            *bound += 1 + items.len().max(1);
            return items.iter().all(|item| measure(item, bound));
        }
        serde_json::Value::Object(map) => {
            *bound += 1 + map.len().max(1);
            return map.iter().all(|(key, value)| {
                *bound += 1;
                measure_text(key, bound) && measure(value, bound)
            });
        }
    }
    true
}

fn measure_text(text: &str, bound: &mut usize) -> bool {
    if text.contains('\0') {
        return false;
    }
    // Quotes, and at worst a `\u00XX` for each escaped byte.
    let escaped = text.bytes().filter(|b| *b < 0x20 || *b == b'"' || *b == b'\\').count();
    *bound += 2 + text.len() + escaped * 5;
    true
}

/// Counts what is written to it.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(result: Result<(), StoreError>) -> Option<String> {
        match result {
            Err(StoreError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn keys_refuse_empty_segments_nul_and_length() {
        for bad in ["", ".a", "a.", "a..b", ".", "a\0b"] {
            assert_eq!(field(check_path("key", bad)).as_deref(), Some("key"), "{bad:?}");
        }
        assert!(check_path("key", &"k".repeat(MAX_KEY_LEN + 1)).is_err());
        for good in ["a", "a.b.c", "it's", "50%_off", "with space", "ключ", &"k".repeat(MAX_KEY_LEN)] {
            assert!(check_path("key", good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn namespace_may_be_empty_but_not_broken() {
        assert!(check_namespace("").is_ok());
        assert!(check_namespace("a.b").is_ok());
        assert_eq!(field(check_namespace("a..b")).as_deref(), Some("namespace"));
    }

    #[test]
    fn values_refuse_nul_strings_and_size() {
        assert!(to_json(json!({"a": ["x\u{0}y"]})).is_err());
        assert!(to_json(json!({"a\u{0}": 1})).is_err());
        assert!(to_json(json!({"a": [1, "ok"]})).is_ok());
        assert!(to_json("x".repeat(MAX_VALUE_BYTES)).is_err());
        assert!(to_json("x".repeat(MAX_VALUE_BYTES - 2)).is_ok());
        assert!(to_json("\"".repeat(MAX_VALUE_BYTES / 2 - 1)).is_ok());
        assert!(to_json("\"".repeat(MAX_VALUE_BYTES / 2)).is_err());
        // `[1,1,…]` of n ones is 2n + 1 bytes: the bound overshoots, the exact count decides.
        let numbers = serde_json::Value::Array(vec![json!(1); MAX_VALUE_BYTES / 2 - 1]);
        assert!(to_json(&numbers).is_ok());
        let numbers = serde_json::Value::Array(vec![json!(1); MAX_VALUE_BYTES / 2]);
        assert!(to_json(&numbers).is_err());
    }
}
