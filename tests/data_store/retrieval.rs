//! `keys`, `all`, `keys_starting_with`, `starting_with`, `nested`, `nested_from`.

use super::*;

/// A configuration tree as dotted keys, plus neighbours that must stay out of the `config` subtree.
async fn configuration(data: &DataStore) {
    data.set("config.app.name", "MyApp", None).await.unwrap();
    data.set("config.app.debug", false, None).await.unwrap();
    data.set("config.db.pool", 8, None).await.unwrap();
    data.set("configuration", "not under config", None).await.unwrap();
    data.set("site", json!({"title": "Home"}), None).await.unwrap();
}

on_both_backends! {
    async fn keys_are_sorted_in_byte_order(db) {
        let (_storehaus, data) = data(&db).await;
        for key in ["b", "a", "B", "a.b", "ä", "a b", "_z", "10", "9"] {
            data.set(key, 1, None).await.unwrap();
        }
        let mut expected = keys(&["b", "a", "B", "a.b", "ä", "a b", "_z", "10", "9"]);
        expected.sort_by(|x, y| x.as_bytes().cmp(y.as_bytes()));
        assert_eq!(data.keys().await.unwrap(), expected);
    }

    async fn all_is_the_flat_map_of_the_scope(db) {
        let (_storehaus, data) = data(&db).await;
        assert!(data.all().await.unwrap().is_empty());
        configuration(&data).await;
        data.for_owner(user(1)).set("config.app.name", "Theirs", None).await.unwrap();
        data.in_namespace("other").set("x", 1, None).await.unwrap();
        let expected = map(&[
            ("config.app.debug", json!(false)),
            ("config.app.name", json!("MyApp")),
            ("config.db.pool", json!(8)),
            ("configuration", json!("not under config")),
            ("site", json!({"title": "Home"})),
        ]);
        assert_eq!(data.all().await.unwrap(), expected);
    }

    async fn starting_with_takes_the_prefix_literally(db) {
        let (_storehaus, data) = data(&db).await;
        configuration(&data).await;
        assert_eq!(
            data.keys_starting_with("config.app").await.unwrap(),
            keys(&["config.app.debug", "config.app.name"])
        );
        assert_eq!(
            data.keys_starting_with("config").await.unwrap(),
            keys(&["config.app.debug", "config.app.name", "config.db.pool", "configuration"])
        );
        assert_eq!(
            data.starting_with("config.db").await.unwrap(),
            map(&[("config.db.pool", json!(8))])
        );
        assert!(data.keys_starting_with("zzz").await.unwrap().is_empty());
        assert!(data.starting_with("Config").await.unwrap().is_empty(), "prefixes are case-sensitive");
        assert_eq!(data.keys_starting_with("").await.unwrap(), data.keys().await.unwrap());
    }

    async fn nested_folds_dotted_keys_into_a_tree(db) {
        let (_storehaus, data) = data(&db).await;
        assert_eq!(data.nested().await.unwrap(), json!({}));
        data.set("config.app.name", "MyApp", None).await.unwrap();
        assert_eq!(data.nested().await.unwrap(), json!({"config": {"app": {"name": "MyApp"}}}));

        configuration(&data).await;
        assert_eq!(
            data.nested().await.unwrap(),
            json!({
                "config": {"app": {"name": "MyApp", "debug": false}, "db": {"pool": 8}},
                "configuration": "not under config",
                "site": {"title": "Home"},
            })
        );
    }

    async fn nested_from_is_the_subtree_under_a_dotted_path(db) {
        let (_storehaus, data) = data(&db).await;
        configuration(&data).await;
        assert_eq!(
            data.nested_from("config").await.unwrap(),
            json!({"app": {"name": "MyApp", "debug": false}, "db": {"pool": 8}})
        );
        assert_eq!(data.nested_from("config.app").await.unwrap(), json!({"name": "MyApp", "debug": false}));
        assert_eq!(data.nested_from("conf").await.unwrap(), json!({}), "only whole segments match");
        assert_eq!(data.nested_from("missing").await.unwrap(), json!({}));
    }

    async fn nested_reads_stay_in_their_scope(db) {
        let (_storehaus, data) = data(&db).await;
        let team = data.for_owner(Owner::new("team", "acme")).in_namespace("settings");
        team.set("config.app.name", "Acme", None).await.unwrap();
        data.set("config.app.name", "Global", None).await.unwrap();
        assert_eq!(team.nested().await.unwrap(), json!({"config": {"app": {"name": "Acme"}}}));
        assert_eq!(data.nested_from("config.app").await.unwrap(), json!({"name": "Global"}));
        assert_eq!(data.in_namespace("settings").nested().await.unwrap(), json!({}));
    }
}
