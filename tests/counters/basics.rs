//! Every call of `Counters`: totals returned, read back, listed, set, and kept apart per owner;
//! and where a counter's buffer lives in the cache.

use super::*;
use storehaus::counters::DEFAULT_PREFIX;
use storehaus_suite::resp::{self, Reply};

on_both_envs! {
    async fn increment_and_decrement_return_the_new_total(env) {
        let (counters, file) = (&env.counters, Owner::new("file", 42));
        assert_eq!(counters.increment(&file, "downloads", 1).await.unwrap(), 1);
        assert_eq!(counters.increment(&file, "downloads", 4).await.unwrap(), 5);
        assert_eq!(counters.decrement(&file, "downloads", 2).await.unwrap(), 3);
        assert_eq!(counters.increment(&file, "downloads", -5).await.unwrap(), -2, "totals may go below zero");
        assert_eq!(counters.decrement(&file, "downloads", -2).await.unwrap(), 0);
        assert_eq!(counters.get(&file, "downloads").await.unwrap(), 0);
        assert_eq!(counters.get(&file, "never").await.unwrap(), 0, "a counter never counted is 0");
        assert_eq!(counters.stats().buffered, 5);
        assert_eq!(rows(&env.storehaus).await, 0, "buffered increments write no row");
    }

    async fn get_adds_the_buffered_delta_to_the_stored_count(env) {
        let (counters, file) = (&env.counters, Owner::new("file", 1));
        counters.increment(&file, "views", 5).await.unwrap();
        sync(counters).await;
        assert_eq!(stored(&env.storehaus, &file, "views").await, Some(5));
        assert_eq!(counters.increment(&file, "views", 3).await.unwrap(), 8, "stored 5 plus buffered 3");
        assert_eq!(counters.get(&file, "views").await.unwrap(), 8);
        assert_eq!(stored(&env.storehaus, &file, "views").await, Some(5), "the 3 wait for the next sync");
        // Another process's counters (same database and cache) see the same total.
        let other = env.builder().build().await.unwrap();
        assert_eq!(other.get(&file, "views").await.unwrap(), 8);
        sync(counters).await;
        assert_eq!(stored(&env.storehaus, &file, "views").await, Some(8));
        assert_eq!(other.get(&file, "views").await.unwrap(), 8);
    }

    async fn get_many_answers_every_key_asked(env) {
        let (counters, post) = (&env.counters, Owner::new("post", 9));
        counters.increment(&post, "likes", 2).await.unwrap();
        sync(counters).await;
        counters.increment(&post, "likes", 1).await.unwrap();
        counters.increment(&post, "shares", 4).await.unwrap();
        let many = counters.get_many(&post, &["likes", "shares", "unknown"]).await.unwrap();
        assert_eq!(many, totals(&[("likes", 3), ("shares", 4), ("unknown", 0)]));
        assert!(counters.get_many(&post, &[]).await.unwrap().is_empty());
    }

    async fn all_lists_stored_and_buffered_counters_of_one_owner(env) {
        let (counters, alice, bob) = (&env.counters, user(1), user(2));
        counters.increment(&alice, "stored", 7).await.unwrap();
        counters.increment(&alice, "both", 1).await.unwrap();
        sync(counters).await;
        counters.increment(&alice, "both", 2).await.unwrap();
        counters.increment(&alice, "buffered", 3).await.unwrap();
        counters.increment(&bob, "stored", 100).await.unwrap();
        counters.increment(&Owner::new("team", 1), "buffered", 100).await.unwrap();

        let expected = totals(&[("both", 3), ("buffered", 3), ("stored", 7)]);
        assert_eq!(counters.all(&alice).await.unwrap(), expected);
        assert_eq!(counters.all(&bob).await.unwrap(), totals(&[("stored", 100)]));
        assert!(counters.all(&user(3)).await.unwrap().is_empty());
        sync(counters).await;
        assert_eq!(counters.all(&alice).await.unwrap(), expected, "the same after everything is stored");
    }

    async fn set_and_reset_replace_the_total(env) {
        let (counters, page) = (&env.counters, Owner::new("page", "home"));
        counters.increment(&page, "views", 10).await.unwrap();
        sync(counters).await;
        counters.increment(&page, "views", 5).await.unwrap();
        counters.set(&page, "views", 100).await.unwrap();
        assert_eq!(counters.get(&page, "views").await.unwrap(), 100);
        assert_eq!(counters.increment(&page, "views", 1).await.unwrap(), 101, "increments after set count on top");
        sync(counters).await;
        assert_eq!(stored(&env.storehaus, &page, "views").await, Some(101));

        counters.reset(&page, "views").await.unwrap();
        assert_eq!(counters.get(&page, "views").await.unwrap(), 0);
        sync(counters).await;
        assert_eq!(stored(&env.storehaus, &page, "views").await, Some(0));
        // Setting a counter that was never counted creates it.
        counters.set(&page, "fresh", -7).await.unwrap();
        assert_eq!(counters.get(&page, "fresh").await.unwrap(), -7);
        sync(counters).await;
        assert_eq!(stored(&env.storehaus, &page, "fresh").await, Some(-7));
    }

    async fn owners_never_see_each_other(env) {
        let counters = &env.counters;
        let owners = [user(1), user(2), Owner::new("team", 1), Owner::new("user", "1 "), Owner::global()];
        for (n, owner) in owners.iter().enumerate() {
            counters.increment(owner, "downloads", n as i64 + 1).await.unwrap();
        }
        sync(counters).await;
        for (n, owner) in owners.iter().enumerate() {
            counters.increment(owner, "downloads", 10).await.unwrap();
            let stored_count = stored(&env.storehaus, owner, "downloads").await;
            assert_eq!(stored_count, Some(n as i64 + 1), "{owner}");
        }
        for (n, owner) in owners.iter().enumerate() {
            assert_eq!(counters.get(owner, "downloads").await.unwrap(), n as i64 + 11, "{owner}");
            assert_eq!(counters.all(owner).await.unwrap(), totals(&[("downloads", n as i64 + 11)]), "{owner}");
        }
        assert_eq!(rows(&env.storehaus).await, owners.len() as i64);
    }

    async fn the_global_owner_is_stored_with_empty_kind_and_id(env) {
        let counters = &env.counters;
        assert_eq!(counters.increment(&Owner::global(), "signups", 3).await.unwrap(), 3);
        sync(counters).await;
        assert_eq!(all_rows(&env.storehaus).await, vec![(String::new(), String::new(), "signups".to_owned(), 3)]);
        assert_eq!(counters.get(&Owner::global(), "signups").await.unwrap(), 3);
        assert_eq!(counters.all(&Owner::global()).await.unwrap(), totals(&[("signups", 3)]));
    }

    async fn a_counter_is_buffered_at_its_cache_key(env) {
        let counters = &env.counters;
        let key = counters.cache_key(&user(42), "downloads").unwrap();
        assert_eq!(key, format!("{}{{user:42}}:downloads", env.prefix));
        counters.increment(&user(42), "downloads", 3).await.unwrap();
        let keys = env.cache_keys().await;
        assert!(keys.contains(&key), "no buffer at {key}: {keys:?}");
        // Whatever else the counters keep for the owner shares its cluster slot.
        assert!(keys.iter().all(|k| k.starts_with(&format!("{}{{user:42}}", env.prefix))), "{keys:?}");
        assert_eq!(env.buffer(&user(42), "downloads").await.delta, 3);
        if let crate::env::CacheSource::Redis(config) = &env.cache {
            assert_eq!(resp::command(&config.redis_url, &["TYPE", &key]).await, Reply::Status("hash".into()));
            assert_eq!(resp::command(&config.redis_url, &["HGET", &key, "d"]).await, Reply::Bulk(Some(b"3".to_vec())));
        }
    }
}

#[tokio::test]
async fn the_default_prefix_is_counter() {
    let db = storehaus::testing::TestSqlite::new();
    let cache = Arc::new(CacheManager::memory(&CacheConfig::default()).unwrap());
    let counters = db.storehaus().await.counters(cache).await.unwrap();
    assert_eq!(DEFAULT_PREFIX, "counter:");
    assert_eq!(counters.cache_key(&user(42), "downloads").unwrap(), "counter:{user:42}:downloads");
    assert!(!counters.is_direct());
    // Nothing in the key can move the owner out of its braces (a Redis Cluster hash tag).
    let odd = counters.cache_key(&Owner::new("a}b", "{c"), "d}").unwrap();
    assert_eq!(odd.matches('{').count(), 1, "{odd}");
    assert_eq!(odd.matches('}').count(), 1, "{odd}");
}
