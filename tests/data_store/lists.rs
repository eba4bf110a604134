//! List values: `list_push`, `list_remove`, `list`, `list_clear`.

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Line {
    sku: String,
    qty: u32,
}

fn line(sku: &str, qty: u32) -> Line {
    Line { sku: sku.into(), qty }
}

on_both_backends! {
    async fn list_push_appends_and_returns_the_length(db) {
        let (storehaus, data) = data(&db).await;
        let cart = data.for_owner(user(1)).in_namespace("cart");
        assert!(cart.list::<Line>("items").await.unwrap().is_empty());
        assert_eq!(cart.list_push("items", line("a", 1)).await.unwrap(), 1);
        assert_eq!(cart.list_push("items", line("b", 2)).await.unwrap(), 2);
        assert_eq!(cart.list_push("items", line("a", 1)).await.unwrap(), 3);
        assert_eq!(cart.list::<Line>("items").await.unwrap(), vec![line("a", 1), line("b", 2), line("a", 1)]);
        assert_eq!(
            cart.get::<Value>("items").await.unwrap(),
            Some(json!([{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}, {"sku": "a", "qty": 1}]))
        );
        assert_eq!(rows(&storehaus).await, 1);
    }

    async fn list_push_extends_an_array_that_was_set(db) {
        let (_storehaus, data) = data(&db).await;
        data.set("recent", json!([1, 2]), None).await.unwrap();
        assert_eq!(data.list_push("recent", 3).await.unwrap(), 3);
        assert_eq!(data.list::<i64>("recent").await.unwrap(), vec![1, 2, 3]);
        // An array pushed is one element.
        assert_eq!(data.list_push("recent", json!([4, 5])).await.unwrap(), 4);
        assert_eq!(data.get::<Value>("recent").await.unwrap(), Some(json!([1, 2, 3, [4, 5]])));
    }

    async fn list_remove_removes_every_equal_element(db) {
        let (_storehaus, data) = data(&db).await;
        for item in [json!("x"), json!(1), json!("x"), json!({"a": 1, "b": 2}), json!("y"), json!("x")] {
            data.list_push("l", item).await.unwrap();
        }
        assert_eq!(data.list_remove("l", "x").await.unwrap(), 3);
        assert_eq!(data.list_remove("l", "x").await.unwrap(), 0);
        // JSON equality: key order does not matter, number and string do.
        assert_eq!(data.list_remove("l", json!({"b": 2, "a": 1})).await.unwrap(), 1);
        assert_eq!(data.list_remove("l", "1").await.unwrap(), 0);
        assert_eq!(data.list::<Value>("l").await.unwrap(), vec![json!(1), json!("y")]);
        assert_eq!(data.list_remove("missing", 1).await.unwrap(), 0);
    }

    async fn list_clear_keeps_an_empty_list(db) {
        let (_storehaus, data) = data(&db).await;
        assert!(!data.list_clear("l").await.unwrap());
        data.set("l", json!([1, 2]), Some(Duration::from_secs(600))).await.unwrap();
        assert!(data.list_clear("l").await.unwrap());
        assert_eq!(data.get::<Value>("l").await.unwrap(), Some(json!([])));
        assert!(matches!(data.ttl("l").await.unwrap(), Some(Expiry::In(_))), "list_clear keeps the expiry");
    }

    async fn list_operations_on_a_value_that_is_no_array_are_refused(db) {
        let (_storehaus, data) = data(&db).await;
        data.set("name", "Ada", None).await.unwrap();
        assert_validation(data.list_push("name", 1).await);
        assert_validation(data.list_remove("name", "Ada").await);
        let err = data.list::<Value>("name").await.unwrap_err();
        assert!(matches!(err, StoreError::Validation { .. } | StoreError::Decode { .. }), "{err:?}");
        assert_eq!(data.get::<String>("name").await.unwrap().as_deref(), Some("Ada"));
    }

    async fn list_items_with_a_nul_character_are_refused(db) {
        let (_storehaus, data) = data(&db).await;
        data.list_push("l", "ok").await.unwrap();
        assert_validation(data.list_push("l", "a\0b").await);
        assert_eq!(data.list::<String>("l").await.unwrap(), keys(&["ok"]));
    }
}
