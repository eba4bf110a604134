//! `set`, `get`, `get_or`, `has`, `delete`, `clear`, the scope accessors and the table itself.

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Preferences {
    theme: String,
    font_size: u32,
    langs: Vec<String>,
}

fn preferences() -> Preferences {
    Preferences { theme: "dark".into(), font_size: 14, langs: vec!["en".into(), "de".into()] }
}

on_both_backends! {
    async fn set_then_get_round_trips_every_json_kind(db) {
        let (storehaus, data) = data(&db).await;
        data.set("site_name", "My App", None).await.unwrap();
        data.set("max_users", 250, None).await.unwrap();
        data.set("ratio", 0.25, None).await.unwrap();
        data.set("open", true, None).await.unwrap();
        data.set("nothing", Value::Null, None).await.unwrap();
        data.set("prefs", preferences(), None).await.unwrap();
        data.set("tags", vec!["a", "b"], None).await.unwrap();

        assert_eq!(data.get::<String>("site_name").await.unwrap().as_deref(), Some("My App"));
        assert_eq!(data.get::<i64>("max_users").await.unwrap(), Some(250));
        assert_eq!(data.get::<f64>("ratio").await.unwrap(), Some(0.25));
        assert_eq!(data.get::<bool>("open").await.unwrap(), Some(true));
        assert_eq!(data.get::<Value>("nothing").await.unwrap(), Some(Value::Null));
        assert_eq!(data.get::<Preferences>("prefs").await.unwrap(), Some(preferences()));
        assert_eq!(data.get::<Vec<String>>("tags").await.unwrap(), Some(keys(&["a", "b"])));
        assert_eq!(data.get::<Value>("missing").await.unwrap(), None);
        assert_eq!(rows(&storehaus).await, 7);
    }

    async fn a_stored_null_is_an_entry(db) {
        let (_storehaus, data) = data(&db).await;
        data.set("nothing", Value::Null, None).await.unwrap();
        assert!(data.has("nothing").await.unwrap());
        assert_eq!(data.get::<Option<i64>>("nothing").await.unwrap(), Some(None));
        assert_eq!(data.keys().await.unwrap(), keys(&["nothing"]));
    }

    async fn set_on_an_existing_key_replaces_the_value_in_place(db) {
        let (storehaus, data) = data(&db).await;
        data.set("theme", "light", None).await.unwrap();
        data.set("theme", json!({"mode": "dark"}), None).await.unwrap();
        assert_eq!(data.get::<Value>("theme").await.unwrap(), Some(json!({"mode": "dark"})));
        assert_eq!(rows(&storehaus).await, 1);
    }

    async fn get_of_a_value_that_does_not_decode_is_a_decode_error(db) {
        let (_storehaus, data) = data(&db).await;
        data.set("name", "Ada", None).await.unwrap();
        let err = data.get::<i64>("name").await.unwrap_err();
        assert!(matches!(err, StoreError::Decode { .. }), "{err:?}");
        assert_eq!(data.get::<String>("name").await.unwrap().as_deref(), Some("Ada"));
    }

    async fn get_or_gives_the_default_only_when_missing(db) {
        let (_storehaus, data) = data(&db).await;
        assert_eq!(data.get_or("theme", "light".to_owned()).await.unwrap(), "light");
        data.set("theme", "dark", None).await.unwrap();
        assert_eq!(data.get_or("theme", "light".to_owned()).await.unwrap(), "dark");
        data.set("count", 0, None).await.unwrap();
        assert_eq!(data.get_or("count", 9).await.unwrap(), 0);
    }

    async fn has_and_delete_report_live_entries(db) {
        let (storehaus, data) = data(&db).await;
        assert!(!data.has("k").await.unwrap());
        data.set("k", 1, None).await.unwrap();
        data.set("other", 2, None).await.unwrap();
        assert!(data.has("k").await.unwrap());
        assert!(data.delete("k").await.unwrap());
        assert!(!data.delete("k").await.unwrap());
        assert!(!data.has("k").await.unwrap());
        assert_eq!(data.get::<i64>("k").await.unwrap(), None);
        assert_eq!(data.get::<i64>("other").await.unwrap(), Some(2));
        assert_eq!(rows(&storehaus).await, 1);
    }

    async fn clear_empties_exactly_this_scope(db) {
        let (storehaus, data) = data(&db).await;
        let alice = data.for_owner(user(1));
        let cart = alice.in_namespace("cart");
        let drafts = alice.in_namespace("cart.drafts");
        data.set("k", 0, None).await.unwrap();
        alice.set("k", 1, None).await.unwrap();
        alice.set("j", 1, None).await.unwrap();
        cart.set("k", 2, None).await.unwrap();
        cart.set("j", 2, None).await.unwrap();
        cart.set("i", 2, None).await.unwrap();
        drafts.set("k", 3, None).await.unwrap();
        data.for_owner(user(2)).in_namespace("cart").set("k", 4, None).await.unwrap();

        assert_eq!(cart.clear().await.unwrap(), 3);
        assert!(cart.keys().await.unwrap().is_empty());
        assert_eq!(cart.clear().await.unwrap(), 0);
        assert_eq!(alice.keys().await.unwrap(), keys(&["j", "k"]));
        assert_eq!(drafts.get::<i64>("k").await.unwrap(), Some(3));
        assert_eq!(data.get::<i64>("k").await.unwrap(), Some(0));
        assert_eq!(data.for_owner(user(2)).in_namespace("cart").get::<i64>("k").await.unwrap(), Some(4));
        assert_eq!(rows(&storehaus).await, 5);

        assert_eq!(data.clear().await.unwrap(), 1);
        assert_eq!(rows(&storehaus).await, 4);
    }

    async fn scope_accessors_name_owner_and_namespace(db) {
        let (_storehaus, data) = data(&db).await;
        assert!(data.owner().is_global());
        assert_eq!(data.namespace(), "");
        let scoped = data.for_owner(Owner::new("team", "acme")).in_namespace("flags.beta");
        assert_eq!(scoped.owner(), &Owner::new("team", "acme"));
        assert_eq!(scoped.namespace(), "flags.beta");
        // Each call replaces what it names; the other half of the scope stays.
        let moved = scoped.in_namespace("flags").for_owner(user(7));
        assert_eq!((moved.owner(), moved.namespace()), (&user(7), "flags"));
        assert_eq!(scoped.in_namespace("").namespace(), "");
        assert!(scoped.for_owner(Owner::global()).owner().is_global());
        let debug = format!("{scoped:?}");
        assert!(debug.contains("acme") && debug.contains("flags.beta"), "{debug}");
    }

    async fn an_empty_namespace_is_no_namespace(db) {
        let (_storehaus, data) = data(&db).await;
        data.set("k", 1, None).await.unwrap();
        assert_eq!(data.in_namespace("").get::<i64>("k").await.unwrap(), Some(1));
        data.in_namespace("").set("k", 2, None).await.unwrap();
        assert_eq!(data.get::<i64>("k").await.unwrap(), Some(2));
    }

    async fn an_owner_of_a_record_is_its_table_and_key(db) {
        let (_storehaus, data) = data(&db).await;
        let alice = Account { id: 42, name: "Alice".into() };
        data.for_owner(Owner::of(&alice)).set("theme", "dark", None).await.unwrap();
        let same = data.for_owner(Owner::new("accounts", 42));
        assert_eq!(same.get::<String>("theme").await.unwrap().as_deref(), Some("dark"));
    }

    async fn the_table_is_created_once_and_a_second_store_shares_it(db) {
        let (storehaus, data) = data(&db).await;
        data.set("k", 1, None).await.unwrap();
        let again = storehaus.data_store().await.unwrap();
        assert_eq!(again.get::<i64>("k").await.unwrap(), Some(1));
        let from_pool = DataStore::new(db.pool().await).await.unwrap();
        assert_eq!(from_pool.get::<i64>("k").await.unwrap(), Some(1));
        assert_eq!(rows(&storehaus).await, 1);
    }

    async fn an_invalid_owner_is_refused_by_every_call(db) {
        let (storehaus, data) = data(&db).await;
        let nobody = data.for_owner(Owner::new("", 1));
        assert_validation(nobody.set("k", 1, None).await);
        assert_validation(nobody.get::<i64>("k").await);
        assert_validation(nobody.keys().await);
        assert_validation(nobody.increment("k", 1).await);
        let long = data.for_owner(Owner::new("user", "x".repeat(256)));
        assert_validation(long.set("k", 1, None).await);
        assert_eq!(rows(&storehaus).await, 0);
    }
}

#[model]
#[table(name = "accounts")]
pub struct Account {
    #[primary_key]
    pub id: i64,
    pub name: String,
}
