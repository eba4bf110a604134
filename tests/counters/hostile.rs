//! Hostile input: bad keys, owners, prefixes, patterns and batch sizes are refused with
//! `StoreError::Validation` naming the field, and nothing reaches the cache or the table. Odd but
//! valid keys are only data.

use super::*;
use storehaus::counters::MAX_KEY_LEN;

fn bad_keys() -> Vec<String> {
    vec![String::new(), "a\0b".to_owned(), "\0".to_owned(), "k".repeat(MAX_KEY_LEN + 1), "é".repeat(128)]
}

fn bad_owners() -> Vec<Owner> {
    vec![
        Owner::new("", 1),
        Owner::new("user", ""),
        Owner::new("us\0er", 1),
        Owner::new("user", "4\u{0}2"),
        Owner::new("u".repeat(256), 1),
        Owner::new("user", "9".repeat(256)),
    ]
}

/// Nothing in the table, nothing under the prefix.
async fn assert_untouched(env: &Env) {
    assert_eq!(rows(&env.storehaus).await, 0, "a refused call wrote a row");
    assert!(env.cache_keys().await.is_empty(), "a refused call wrote to the cache: {:?}", env.cache_keys().await);
}

on_both_envs! {
    async fn bad_keys_are_refused_by_every_call(env) {
        let counters = &env.counters;
        for key in bad_keys() {
            assert_validation(counters.increment(&user(1), &key, 1).await, "key");
            assert_validation(counters.decrement(&user(1), &key, 1).await, "key");
            assert_validation(counters.get(&user(1), &key).await, "key");
            assert_validation(counters.get_many(&user(1), &["fine", key.as_str()]).await, "key");
            assert_validation(counters.set(&user(1), &key, 5).await, "key");
            assert_validation(counters.reset(&user(1), &key).await, "key");
            assert_validation(counters.cache_key(&user(1), &key), "key");
        }
        assert_untouched(&env).await;
    }

    async fn bad_owners_are_refused_by_every_call(env) {
        let counters = &env.counters;
        for owner in bad_owners() {
            assert_validation(counters.increment(&owner, "k", 1).await, "owner");
            assert_validation(counters.decrement(&owner, "k", 1).await, "owner");
            assert_validation(counters.get(&owner, "k").await, "owner");
            assert_validation(counters.get_many(&owner, &["k"]).await, "owner");
            assert_validation(counters.all(&owner).await, "owner");
            assert_validation(counters.set(&owner, "k", 5).await, "owner");
            assert_validation(counters.reset(&owner, "k").await, "owner");
        }
        assert_untouched(&env).await;
    }

    async fn bad_sync_options_are_refused_and_sync_nothing(env) {
        let counters = &env.counters;
        counters.increment(&user(1), "k", 1).await.unwrap();
        for pattern in ["user:\0*".to_owned(), "*".repeat(1025)] {
            assert_validation(counters.sync(SyncOptions::default().pattern(pattern)).await, "pattern");
        }
        assert_validation(counters.sync(SyncOptions::default().batch_size(10_001)).await, "batch_size");
        assert_eq!(rows(&env.storehaus).await, 0, "a refused sync wrote a row");
        assert_eq!(env.buffer(&user(1), "k").await.delta, 1, "a refused sync took the delta");
        // The limits themselves are fine.
        counters.sync(SyncOptions::default().pattern("*".repeat(1024)).batch_size(10_000)).await.unwrap();
        assert_eq!(stored(&env.storehaus, &user(1), "k").await, Some(1));
    }

    async fn bad_prefixes_are_refused_by_build(env) {
        // docs/counters.md: 1 to 255 bytes.
        let long = "p".repeat(256);
        for prefix in ["", "a{b:", "a}b:", "a*:", "a?:", "a[:", "a]:", "a\\:", "a\0:", long.as_str()] {
            let built = Counters::builder(env.storehaus.pool().clone()).cache(env.cache.manager()).prefix(prefix).build().await;
            assert_validation(built, "prefix");
        }
        let longest = Counters::builder(env.storehaus.pool().clone()).cache(env.cache.manager()).prefix("p".repeat(255));
        assert!(longest.build().await.is_ok(), "255 bytes is allowed");
    }

    async fn odd_keys_and_owners_are_only_data(env) {
        let counters = &env.counters;
        let longest = "k".repeat(MAX_KEY_LEN);
        let keys = ["a b", ":", "*", "?", "[x]", "{user:1}", "%7B", "'; DROP TABLE x; --", "ü🎉", "\\", longest.as_str()];
        for (n, key) in keys.iter().enumerate() {
            assert_eq!(counters.increment(&user(1), key, n as i64 + 1).await.unwrap(), n as i64 + 1, "{key:?}");
        }
        // Owners whose `kind:id` texts would collide if they were not escaped stay apart.
        let (left, right) = (Owner::new("a:b", "c"), Owner::new("a", "b:c"));
        counters.increment(&left, "k", 1).await.unwrap();
        counters.increment(&right, "k", 2).await.unwrap();
        counters.increment(&Owner::new("we{ird}", "*?[]"), "k", 3).await.unwrap();
        assert_ne!(counters.cache_key(&left, "k").unwrap(), counters.cache_key(&right, "k").unwrap());

        let report = sync(counters).await;
        assert_eq!(report.keys, keys.len() as u64 + 3);
        for (n, key) in keys.iter().enumerate() {
            assert_eq!(stored(&env.storehaus, &user(1), key).await, Some(n as i64 + 1), "{key:?}");
        }
        let listed = counters.all(&user(1)).await.unwrap();
        assert_eq!(listed.len(), keys.len());
        assert_eq!(stored(&env.storehaus, &left, "k").await, Some(1));
        assert_eq!(stored(&env.storehaus, &right, "k").await, Some(2));
        assert_eq!(stored(&env.storehaus, &Owner::new("we{ird}", "*?[]"), "k").await, Some(3));
    }

    async fn an_increment_past_the_largest_total_is_refused(env) {
        let counters = &env.counters;
        counters.set(&user(1), "k", i64::MAX - 1).await.unwrap();
        assert_eq!(counters.increment(&user(1), "k", 1).await.unwrap(), i64::MAX);
        assert!(counters.increment(&user(1), "k", 1).await.is_err(), "the total went past i64::MAX");
        assert_eq!(counters.get(&user(1), "k").await.unwrap(), i64::MAX);
        sync(counters).await;
        assert_eq!(stored(&env.storehaus, &user(1), "k").await, Some(i64::MAX));
        assert!(counters.decrement(&user(2), "k", i64::MIN).await.is_err(), "-i64::MIN does not exist");
    }
}
