//! `export`, `export_all` and `import`: a backup restores every scope, `overwrite = false` keeps
//! what is there, and a malformed file writes nothing.

use super::*;

/// The scopes the backups cover, with a few entries each.
fn scopes(data: &DataStore) -> Vec<DataStore> {
    vec![
        data.clone(),
        data.in_namespace("settings.mail"),
        data.for_owner(user(42)),
        data.for_owner(user(42)).in_namespace("cart"),
        data.for_owner(Owner::new("team", "acme")).in_namespace("flags"),
    ]
}

async fn fill(data: &DataStore) {
    for (n, scope) in scopes(data).iter().enumerate() {
        scope.set("theme", format!("theme {n}"), None).await.unwrap();
        scope.set("config.app.name", json!({"n": n, "list": [1, "two", null]}), None).await.unwrap();
        scope.set("token", "abc", Some(Duration::from_secs(3600))).await.unwrap();
    }
    data.set("gone", 1, Some(Duration::from_secs(1))).await.unwrap();
}

async fn every_scope(data: &DataStore) -> Vec<BTreeMap<String, Value>> {
    let mut all = Vec::new();
    for scope in scopes(data) {
        all.push(scope.all().await.unwrap());
    }
    all
}

on_both_backends! {
    async fn export_all_then_import_into_an_empty_database_restores_every_scope(db) {
        let (_storehaus, data) = data(&db).await;
        fill(&data).await;
        outlive(1.0).await;
        let mut file = Vec::new();
        assert_eq!(data.export_all(&mut file).await.unwrap(), 15, "expired entries are not exported");

        let empty = B::open().await.expect("a second database");
        let (restored_storehaus, restored) = super::data(&empty).await;
        let report = restored.import(file.as_slice(), true).await.unwrap();
        assert_eq!((report.written, report.skipped), (15, 0));
        assert_eq!(rows(&restored_storehaus).await, 15);
        assert_eq!(every_scope(&restored).await, every_scope(&data).await);
        // Expiry travels with the entry.
        let left = restored.for_owner(user(42)).ttl("token").await.unwrap();
        assert!(matches!(left, Some(Expiry::In(d)) if d > Duration::from_secs(3500)), "{left:?}");
        assert_eq!(restored.ttl("theme").await.unwrap(), Some(Expiry::Never));
    }

    async fn export_writes_this_scope_in_the_documented_format(db) {
        let (_storehaus, data) = data(&db).await;
        fill(&data).await;
        let cart = data.for_owner(user(42)).in_namespace("cart");
        let mut file = Vec::new();
        assert_eq!(cart.export(&mut file).await.unwrap(), 3);
        let document: Value = serde_json::from_slice(&file).unwrap();
        assert_eq!(document["format"], "storehaus-data/1");
        let entries = document["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 3);
        for entry in entries {
            assert_eq!(entry["owner_kind"], "user");
            assert_eq!(entry["owner_id"], "42");
            assert_eq!(entry["namespace"], "cart");
        }
        let theme = entries.iter().find(|e| e["key"] == "theme").unwrap();
        assert_eq!(theme["value"], "theme 3");
        assert_eq!(theme["expires_at"], Value::Null);
        let token = entries.iter().find(|e| e["key"] == "token").unwrap();
        let expires_at = token["expires_at"].as_str().unwrap();
        let expires_at = chrono::DateTime::parse_from_rfc3339(expires_at).unwrap();
        assert!(expires_at > chrono::Utc::now() + chrono::Duration::seconds(3500), "{expires_at}");

        let mut global = Vec::new();
        assert_eq!(data.export(&mut global).await.unwrap(), 4, "the global scope holds `gone` as well");
        let document: Value = serde_json::from_slice(&global).unwrap();
        let entry = &document["entries"][0];
        assert_eq!((&entry["owner_kind"], &entry["owner_id"], &entry["namespace"]), (&json!(""), &json!(""), &json!("")));
    }

    async fn import_without_overwrite_keeps_existing_values(db) {
        let (storehaus, data) = data(&db).await;
        let prefs = data.for_owner(user(42));
        prefs.set("theme", "dark", None).await.unwrap();
        prefs.set("lang", "en", None).await.unwrap();
        let mut file = Vec::new();
        prefs.export(&mut file).await.unwrap();

        prefs.set("theme", "light", None).await.unwrap();
        prefs.delete("lang").await.unwrap();
        let report = data.import(file.as_slice(), false).await.unwrap();
        assert_eq!((report.written, report.skipped), (1, 1));
        assert_ne!(report, ImportReport::default());
        assert_eq!(prefs.all().await.unwrap(), map(&[("lang", json!("en")), ("theme", json!("light"))]));

        let report = data.import(file.as_slice(), true).await.unwrap();
        assert_eq!((report.written, report.skipped), (2, 0));
        assert_eq!(prefs.all().await.unwrap(), map(&[("lang", json!("en")), ("theme", json!("dark"))]));
        assert_eq!(rows(&storehaus).await, 2);
    }

    async fn import_without_overwrite_replaces_an_expired_entry(db) {
        let (_storehaus, data) = data(&db).await;
        data.set("k", "backup", None).await.unwrap();
        let mut file = Vec::new();
        data.export(&mut file).await.unwrap();
        data.set("k", "expiring", Some(Duration::from_secs(1))).await.unwrap();
        outlive(1.0).await;
        let report = data.import(file.as_slice(), false).await.unwrap();
        assert_eq!((report.written, report.skipped), (1, 0));
        assert_eq!(data.get::<String>("k").await.unwrap().as_deref(), Some("backup"));
    }

    async fn a_malformed_file_is_refused_and_writes_nothing(db) {
        let (storehaus, data) = data(&db).await;
        data.set("existing", 1, None).await.unwrap();
        let good = json!({"owner_kind": "user", "owner_id": "1", "namespace": "", "key": "a", "value": 1, "expires_at": null});
        let with = |entry: Value| json!({"format": "storehaus-data/1", "entries": [good.clone(), entry]}).to_string();
        let files = [
            "not json".to_owned(),
            "".to_owned(),
            json!({"entries": [good.clone()]}).to_string(),
            json!({"format": "storehaus-data/999", "entries": [good.clone()]}).to_string(),
            json!({"format": "storehaus-data/1"}).to_string(),
            with(json!({"owner_kind": "user", "owner_id": "1", "namespace": "", "value": 1, "expires_at": null})),
            with(json!({"owner_kind": "user", "owner_id": "1", "namespace": "", "key": "a..b", "value": 1, "expires_at": null})),
            with(json!({"owner_kind": "user", "owner_id": "1", "namespace": ".x", "key": "b", "value": 1, "expires_at": null})),
            with(json!({"owner_kind": "", "owner_id": "7", "namespace": "", "key": "b", "value": 1, "expires_at": null})),
            with(json!({"owner_kind": "user", "owner_id": "1", "namespace": "", "key": "b", "value": "a\u{0}b", "expires_at": null})),
            with(json!({"owner_kind": "user", "owner_id": "1", "namespace": "", "key": "b", "value": 1, "expires_at": "tomorrow"})),
        ];
        for file in files {
            let err = assert_validation(data.import(file.as_bytes(), true).await);
            assert_eq!(rows(&storehaus).await, 1, "{file} wrote something ({err})");
        }
        assert_eq!(data.for_owner(user(1)).get::<i64>("a").await.unwrap(), None);
    }
}
