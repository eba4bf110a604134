use super::*;

#[test]
fn base64url_round_trips_every_length() {
    let data: Vec<u8> = (0..=255).collect();
    for len in 0..data.len() {
        let text = base64url::encode(&data[..len]);
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{text}");
        assert_eq!(base64url::decode(&text).as_deref(), Some(&data[..len]));
    }
    assert_eq!(base64url::encode(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64url::encode(b"fo"), "Zm8");
    assert_eq!(base64url::decode("Z"), None);
    assert_eq!(base64url::decode("Zm9v!"), None);
}
