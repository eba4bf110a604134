//! `increment` and `decrement`.

use super::*;

on_both_backends! {
    async fn increment_starts_a_missing_key_at_zero_and_returns_the_new_value(db) {
        let (storehaus, data) = data(&db).await;
        assert_eq!(data.increment("visits", 1).await.unwrap(), 1);
        assert_eq!(data.increment("visits", 5).await.unwrap(), 6);
        assert_eq!(data.decrement("visits", 2).await.unwrap(), 4);
        assert_eq!(data.increment("visits", -10).await.unwrap(), -6);
        assert_eq!(data.decrement("fresh", 3).await.unwrap(), -3);
        assert_eq!(data.get::<i64>("visits").await.unwrap(), Some(-6));
        assert_eq!(data.ttl("visits").await.unwrap(), Some(Expiry::Never));
        assert_eq!(rows(&storehaus).await, 2);
    }

    async fn increment_continues_from_a_number_that_was_set(db) {
        let (_storehaus, data) = data(&db).await;
        data.set("total", 40, None).await.unwrap();
        assert_eq!(data.increment("total", 2).await.unwrap(), 42);
        assert_eq!(data.get::<Value>("total").await.unwrap(), Some(json!(42)));
    }

    async fn increment_keeps_the_entry_expiry(db) {
        let (_storehaus, data) = data(&db).await;
        data.set("attempts", 1, Some(Duration::from_secs(600))).await.unwrap();
        assert_eq!(data.increment("attempts", 1).await.unwrap(), 2);
        assert!(matches!(data.ttl("attempts").await.unwrap(), Some(Expiry::In(left)) if left > Duration::from_secs(590)));
    }

    async fn increment_of_a_value_that_is_no_integer_is_refused_and_changes_nothing(db) {
        let (_storehaus, data) = data(&db).await;
        let values = [json!("5"), json!(1.5), json!([1]), json!({"n": 1}), json!(true), Value::Null];
        for (i, value) in values.iter().enumerate() {
            let key = format!("not_a_number_{i}");
            data.set(&key, value, None).await.unwrap();
            let err = assert_validation(data.increment(&key, 1).await);
            assert!(err.to_string().contains(&key), "the error names the key: {err}");
            assert_validation(data.decrement(&key, 1).await);
            assert_eq!(data.get::<Value>(&key).await.unwrap().as_ref(), Some(value));
        }
    }

    async fn increment_past_the_integer_range_is_refused_and_changes_nothing(db) {
        let (_storehaus, data) = data(&db).await;
        data.set("big", i64::MAX - 1, None).await.unwrap();
        assert_eq!(data.increment("big", 1).await.unwrap(), i64::MAX);
        assert_validation(data.increment("big", 1).await);
        assert_eq!(data.get::<i64>("big").await.unwrap(), Some(i64::MAX));
        data.set("small", i64::MIN + 1, None).await.unwrap();
        assert_validation(data.decrement("small", 2).await);
        assert_eq!(data.get::<i64>("small").await.unwrap(), Some(i64::MIN + 1));
    }

    async fn counters_of_different_scopes_are_separate(db) {
        let (_storehaus, data) = data(&db).await;
        let cart = data.for_owner(user(1)).in_namespace("cart");
        assert_eq!(cart.increment("total", 3).await.unwrap(), 3);
        assert_eq!(data.for_owner(user(2)).in_namespace("cart").increment("total", 1).await.unwrap(), 1);
        assert_eq!(data.increment("total", 1).await.unwrap(), 1);
        assert_eq!(cart.get::<i64>("total").await.unwrap(), Some(3));
    }
}
