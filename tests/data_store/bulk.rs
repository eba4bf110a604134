//! `set_many`, `get_many`, `delete_many`.

use super::*;

on_both_backends! {
    async fn set_many_writes_every_entry_and_replaces_existing_ones(db) {
        let (storehaus, data) = data(&db).await;
        data.set("b", "old", None).await.unwrap();
        let written = data.set_many([("a", json!(1)), ("b", json!("new")), ("c", json!([1, 2]))], None).await.unwrap();
        assert_eq!(written, 3);
        assert_eq!(data.all().await.unwrap(), map(&[("a", json!(1)), ("b", json!("new")), ("c", json!([1, 2]))]));
        assert_eq!(rows(&storehaus).await, 3);
        assert_eq!(data.set_many(Vec::<(String, i64)>::new(), None).await.unwrap(), 0);
    }

    async fn set_many_with_a_ttl_gives_it_to_every_entry(db) {
        let (_storehaus, data) = data(&db).await;
        data.set_many([("a", 1), ("b", 2)], Some(Duration::from_secs(60))).await.unwrap();
        for key in ["a", "b"] {
            match data.ttl(key).await.unwrap() {
                Some(Expiry::In(left)) => assert!(left <= Duration::from_secs(60) && left > Duration::from_secs(50)),
                other => panic!("{key}: {other:?}"),
            }
        }
    }

    async fn set_many_is_all_or_nothing(db) {
        let (storehaus, data) = data(&db).await;
        data.set("a", 0, None).await.unwrap();
        assert_validation(data.set_many([("a", 1), ("b", 2), ("bad..key", 3)], None).await);
        assert_validation(data.set_many([("c", json!(1)), ("d", json!("x\0y"))], None).await);
        assert_eq!(data.all().await.unwrap(), map(&[("a", json!(0))]));
        assert_eq!(rows(&storehaus).await, 1);
    }

    async fn get_many_returns_the_live_keys_found(db) {
        let (_storehaus, data) = data(&db).await;
        data.set_many([("a", 1), ("b", 2), ("c", 3)], None).await.unwrap();
        data.for_owner(user(1)).set("d", 4, None).await.unwrap();
        let found: BTreeMap<String, i64> = data.get_many(["a", "c", "d", "zz"]).await.unwrap();
        assert_eq!(found, BTreeMap::from([("a".to_owned(), 1), ("c".to_owned(), 3)]));
        let none: BTreeMap<String, i64> = data.get_many(Vec::<String>::new()).await.unwrap();
        assert!(none.is_empty());
        let err = data.get_many::<String>(["a"]).await.unwrap_err();
        assert!(matches!(err, StoreError::Decode { .. }), "{err:?}");
    }

    async fn delete_many_counts_the_live_entries_removed(db) {
        let (storehaus, data) = data(&db).await;
        data.set_many([("a", 1), ("b", 2), ("c", 3)], None).await.unwrap();
        data.for_owner(user(1)).set("a", 9, None).await.unwrap();
        assert_eq!(data.delete_many(["a", "b", "missing"]).await.unwrap(), 2);
        assert_eq!(data.keys().await.unwrap(), keys(&["c"]));
        assert_eq!(data.for_owner(user(1)).get::<i64>("a").await.unwrap(), Some(9));
        assert_eq!(rows(&storehaus).await, 2);
        assert_validation(data.delete_many(["c", ".bad"]).await);
        assert_eq!(rows(&storehaus).await, 2);
    }
}
