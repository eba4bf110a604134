use super::*;
use crate::query::MAX_CURSOR_LEN;
use serde_json::json;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const OTHER: &[u8] = b"fedcba9876543210fedcba9876543210";

fn cursor() -> Cursor {
    Cursor {
        keys: vec![("email".into(), false), ("id".into(), false)],
        values: vec![json!("ada@example.com"), json!(7)],
    }
}

fn refused(result: Result<Cursor, StoreError>) -> bool {
    matches!(result, Err(StoreError::Validation { field: None, .. }))
}

#[test]
fn a_sealed_cursor_opens_with_its_key_and_hides_its_values() {
    let key = CursorKey::new(SECRET).unwrap();
    let text = cursor().seal(&key);
    assert_eq!(Cursor::open(&text, &key).unwrap(), cursor());
    assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{text}");
    let raw = base64url::decode(&text).unwrap();
    for secret in [&b"ada@example.com"[..], b"email", b"\"id\""] {
        assert!(!raw.windows(secret.len()).any(|w| w == secret), "{text} shows {secret:?}");
    }
    assert_ne!(cursor().seal(&key), text, "a fresh nonce per cursor");
}

#[test]
fn altered_truncated_foreign_and_plain_cursors_are_refused() {
    let key = CursorKey::new(SECRET).unwrap();
    let raw = base64url::decode(&cursor().seal(&key)).unwrap();
    for i in 0..raw.len() {
        let mut altered = raw.clone();
        altered[i] ^= 0x01;
        assert!(refused(Cursor::open(&base64url::encode(&altered), &key)), "byte {i} flipped");
    }
    for len in 0..raw.len() {
        assert!(refused(Cursor::open(&base64url::encode(&raw[..len]), &key)), "cut to {len} bytes");
    }
    let sealed = base64url::encode(&raw);
    assert!(refused(Cursor::open(&sealed, &CursorKey::new(OTHER).unwrap())), "another key");
    assert!(refused(Cursor::open(&cursor().encode(), &key)), "a plain cursor a client could write");
    assert!(refused(Cursor::decode(&sealed)), "sealed text is no plain cursor");
    assert!(refused(Cursor::open("not base64!", &key)));
}

#[test]
fn previous_secrets_open_but_never_seal() {
    let old = CursorKey::new(OTHER).unwrap();
    let rotated = CursorKey::new(SECRET).unwrap().with_previous(OTHER).unwrap();
    assert_eq!(Cursor::open(&cursor().seal(&old), &rotated).unwrap(), cursor());
    let new_text = cursor().seal(&rotated);
    assert!(refused(Cursor::open(&new_text, &old)), "sealed with the current secret, not the previous one");
    assert_eq!(Cursor::open(&new_text, &CursorKey::new(SECRET).unwrap()).unwrap(), cursor());
}

#[test]
fn short_secrets_are_refused_and_debug_shows_no_key() {
    for secret in [&b""[..], &SECRET[..31]] {
        let err = CursorKey::new(secret).unwrap_err();
        assert!(matches!(&err, StoreError::Config { message, .. } if message.contains("32 bytes")), "{err:?}");
        let err = CursorKey::new(SECRET).unwrap().with_previous(secret).unwrap_err();
        assert!(matches!(err, StoreError::Config { .. }), "{err:?}");
    }
    let key = CursorKey::new(SECRET).unwrap();
    assert_eq!(format!("{key:?}"), "CursorKey { previous: 0, .. }");
}

#[test]
fn text_longer_than_the_limit_is_refused_before_decoding() {
    let key = CursorKey::new(SECRET).unwrap();
    let huge = "A".repeat(MAX_CURSOR_LEN + 1);
    for result in [Cursor::open(&huge, &key), Cursor::decode(&huge)] {
        assert!(
            matches!(&result, Err(StoreError::Validation { message, .. }) if message.contains("MAX_CURSOR_LEN")),
            "{result:?}"
        );
    }
    let long = Cursor { keys: vec![("name".into(), false)], values: vec![json!("x".repeat(MAX_CURSOR_LEN))] };
    assert!(Cursor::open(&long.seal(&key), &key).is_err() && Cursor::decode(&long.encode()).is_err());
}
