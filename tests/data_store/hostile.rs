//! Hostile keys, namespaces and values: characters that mean something to SQL or LIKE, dotted-path
//! edge cases, NUL, sizes at and past the limits. A refusal is `Validation` and writes nothing.

use super::*;

/// Keys that are valid, though each means something to SQL, LIKE or a shell.
const ODD_KEYS: [&str; 12] = [
    "it's",
    "say \"hi\"",
    "100%",
    "%",
    "_",
    "a_b",
    "back\\slash",
    "semi;colon -- comment",
    "with space",
    "ünïcødé.键",
    "$1",
    "?",
];

/// Keys and namespaces every call must refuse.
fn invalid_paths() -> Vec<String> {
    let mut paths: Vec<String> =
        [".a", "a.", "a..b", ".", "..", "a\0b", "\0"].iter().map(|s| (*s).to_owned()).collect();
    paths.push("k".repeat(MAX_KEY_LEN + 1));
    // 128 two-byte characters: 256 bytes though only 128 characters.
    paths.push("é".repeat(128));
    paths
}

on_both_backends! {
    async fn keys_with_quotes_percent_and_underscore_round_trip(db) {
        let (storehaus, data) = data(&db).await;
        for (i, key) in ODD_KEYS.iter().enumerate() {
            data.set(key, i, None).await.unwrap();
        }
        for (i, key) in ODD_KEYS.iter().enumerate() {
            assert_eq!(data.get::<usize>(key).await.unwrap(), Some(i), "{key}");
            assert!(data.has(key).await.unwrap(), "{key}");
        }
        let mut sorted = keys(&ODD_KEYS);
        sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        assert_eq!(data.keys().await.unwrap(), sorted);
        assert_eq!(rows(&storehaus).await, ODD_KEYS.len() as i64);
        assert!(data.delete("%").await.unwrap());
        assert_eq!(data.get::<usize>("100%").await.unwrap(), Some(2), "deleting `%` deletes only `%`");
        assert_eq!(rows(&storehaus).await, ODD_KEYS.len() as i64 - 1);
    }

    async fn namespaces_with_quotes_percent_and_underscore_are_scopes_of_their_own(db) {
        let (_storehaus, data) = data(&db).await;
        for (i, namespace) in ["it's", "a%", "a_", "ab", "a.%", "a._"].iter().enumerate() {
            data.in_namespace(namespace).set("k", i, None).await.unwrap();
        }
        for (i, namespace) in ["it's", "a%", "a_", "ab", "a.%", "a._"].iter().enumerate() {
            let scope = data.in_namespace(namespace);
            assert_eq!(scope.all().await.unwrap(), map(&[("k", json!(i))]), "{namespace}");
        }
        assert_eq!(data.in_namespace("a_").clear().await.unwrap(), 1);
        assert_eq!(data.in_namespace("ab").get::<usize>("k").await.unwrap(), Some(3));
    }

    async fn a_prefix_with_like_wildcards_matches_literally(db) {
        let (_storehaus, data) = data(&db).await;
        for key in ["a%", "a%b", "abc", "a_c", "A%x", "ab%", "a\\%", "b"] {
            data.set(key, key, None).await.unwrap();
        }
        assert_eq!(data.keys_starting_with("a%").await.unwrap(), keys(&["a%", "a%b"]));
        assert_eq!(data.keys_starting_with("a_").await.unwrap(), keys(&["a_c"]));
        assert_eq!(data.keys_starting_with("a\\").await.unwrap(), keys(&["a\\%"]));
        assert_eq!(data.keys_starting_with("%").await.unwrap(), Vec::<String>::new());
        assert_eq!(data.keys_starting_with("A").await.unwrap(), keys(&["A%x"]));
        assert_eq!(data.starting_with("a%").await.unwrap(), map(&[("a%", json!("a%")), ("a%b", json!("a%b"))]));
        assert_eq!(data.nested_from("a_").await.unwrap(), json!({}));
    }

    async fn invalid_keys_are_refused_by_every_call_and_write_nothing(db) {
        let (storehaus, data) = data(&db).await;
        data.set("kept", 1, None).await.unwrap();
        for key in invalid_paths() {
            let key = key.as_str();
            assert_validation(data.set(key, 1, None).await);
            assert_validation(data.get::<i64>(key).await);
            assert_validation(data.has(key).await);
            assert_validation(data.delete(key).await);
            assert_validation(data.increment(key, 1).await);
            assert_validation(data.list_push(key, 1).await);
            assert_validation(data.list_remove(key, 1).await);
            assert_validation(data.list_clear(key).await);
            assert_validation(data.touch(key, None).await);
            assert_validation(data.ttl(key).await);
            assert_validation(data.set_many([(key, 1)], None).await);
            assert_validation(data.get_many::<i64>([key]).await);
            assert_validation(data.delete_many([key]).await);
        }
        assert_validation(data.set("", 1, None).await);
        assert_eq!(rows(&storehaus).await, 1);
        assert_eq!(data.all().await.unwrap(), map(&[("kept", json!(1))]));
    }

    async fn invalid_namespaces_are_refused_by_every_call_and_write_nothing(db) {
        let (storehaus, data) = data(&db).await;
        for namespace in invalid_paths() {
            let scope = data.for_owner(user(1)).in_namespace(&namespace);
            assert_validation(scope.set("k", 1, None).await);
            assert_validation(scope.get::<i64>("k").await);
            assert_validation(scope.keys().await);
            assert_validation(scope.all().await);
            assert_validation(scope.nested().await);
            assert_validation(scope.clear().await);
            assert_validation(scope.increment("k", 1).await);
            assert_validation(scope.set_many([("k", 1)], None).await);
            assert_validation(scope.export(Vec::new()).await);
        }
        assert_eq!(rows(&storehaus).await, 0);
    }

    async fn dots_are_fine_inside_a_path(db) {
        let (_storehaus, data) = data(&db).await;
        let scope = data.in_namespace("invoices.drafts.2025");
        scope.set("a.b.c", 1, None).await.unwrap();
        scope.set("a", 2, None).await.unwrap();
        assert_eq!(scope.keys().await.unwrap(), keys(&["a", "a.b.c"]));
        assert!(data.in_namespace("invoices.drafts").keys().await.unwrap().is_empty());
        assert!(data.in_namespace("invoices").keys().await.unwrap().is_empty());
    }

    async fn the_longest_key_and_namespace_are_accepted(db) {
        let (_storehaus, data) = data(&db).await;
        let longest = "k".repeat(MAX_KEY_LEN);
        let scope = data.in_namespace(&"n".repeat(MAX_KEY_LEN));
        scope.set(&longest, "v", None).await.unwrap();
        assert_eq!(scope.get::<String>(&longest).await.unwrap().as_deref(), Some("v"));
        assert_eq!(scope.keys().await.unwrap(), vec![longest]);
    }

    async fn a_one_megabyte_value_round_trips(db) {
        let (_storehaus, data) = data(&db).await;
        let text: String = (0..(1 << 20)).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        data.set("big", &text, None).await.unwrap();
        assert_eq!(data.get::<String>("big").await.unwrap().as_deref(), Some(text.as_str()));
        let list: Vec<u32> = (0..100_000).collect();
        data.set("many", &list, None).await.unwrap();
        assert_eq!(data.get::<Vec<u32>>("many").await.unwrap(), Some(list));
    }

    async fn a_value_over_the_limit_is_refused_and_writes_nothing(db) {
        let (storehaus, data) = data(&db).await;
        data.set("big", "small", None).await.unwrap();
        // The JSON text of this string is its length plus two quotes.
        let over = "x".repeat(MAX_VALUE_BYTES - 1);
        assert_validation(data.set("big", &over, None).await);
        assert_validation(data.set("other", &over, None).await);
        assert_validation(data.set_many([("a", "ok"), ("b", over.as_str())], None).await);
        assert_eq!(rows(&storehaus).await, 1);
        assert_eq!(data.get::<String>("big").await.unwrap().as_deref(), Some("small"));
    }

    async fn a_nul_character_inside_a_value_is_refused_on_both_backends(db) {
        let (storehaus, data) = data(&db).await;
        assert_validation(data.set("k", "a\0b", None).await);
        assert_validation(data.set("k", json!({"nested": ["ok", "\u{0}"]}), None).await);
        assert_validation(data.set("k", json!({"key\u{0}": 1}), None).await);
        assert_eq!(rows(&storehaus).await, 0);
    }
}
