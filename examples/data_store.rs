//! The data store: settings, preferences, a shopping cart, feature flags, tokens with a time to
//! live and nested configuration, kept in one table (`storehaus_data`) next to your models. It
//! sets and reads values in several scopes and shows that they never see each other, counts with
//! atomic increments from many tasks at once, lets a token expire, folds dotted keys into a tree,
//! backs a scope up and restores it, removes expired rows, and shows a refused key writing nothing.
//!
//! ```text
//! cargo run --example data_store
//! ```
//!
//! It reads its configuration with `AppConfig::load()`: `storehaus.toml` or `$STOREHAUS_CONFIG`,
//! overridden by `DATABASE_URL` and `STOREHAUS_*` variables (see docs/configuration.md); e.g.
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/app` or `DATABASE_URL=sqlite::memory:`.
//! Its entries belong to owners and namespaces named `data_store_example…`, which it clears on
//! every run, so other data in the table is left alone. Every step reads its result back and the
//! example exits non-zero when one is not what it should be.

use serde_json::json;
use std::time::{Duration, Instant};
use storehaus::Owner;
use storehaus::data::{DataStore, Expiry};
use storehaus::prelude::*;

/// The users, teams and namespaces of this example.
const APP: &str = "data_store_example";

fn user(id: u32) -> Owner {
    Owner::new("data_store_example_user", id)
}

fn team(name: &str) -> Owner {
    Owner::new("data_store_example_team", name)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Line {
    sku: String,
    qty: u32,
}

/// Every scope the example writes to, so a run starts empty.
fn scopes(data: &DataStore) -> Vec<DataStore> {
    let mut scopes = vec![data.in_namespace(APP), data.in_namespace(&format!("{APP}.tokens"))];
    for id in [1, 2] {
        scopes.push(data.for_owner(user(id)));
        scopes.push(data.for_owner(user(id)).in_namespace("cart"));
    }
    for name in ["acme", "initech"] {
        scopes.push(data.for_owner(team(name)).in_namespace("flags"));
    }
    scopes
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = AppConfig::load()?;
    let storehaus = StoreHaus::new(config.database.clone()).await?;
    println!("Connected to {} ({}).", config.database, storehaus.pool().backend_name());
    let data = storehaus.data_store().await?;
    for scope in scopes(&data) {
        scope.clear().await?;
    }

    // Settings of the application: one namespace of the global owner.
    let settings = data.in_namespace(APP);
    settings.set("site_name", "My App", None).await?;
    settings.set("max_upload_mb", 25, None).await?;
    assert_eq!(settings.get::<String>("site_name").await?.as_deref(), Some("My App"));
    assert_eq!(settings.get_or("welcome_text", "Hello".to_owned()).await?, "Hello");
    println!("settings: {:?}", settings.all().await?);

    // Preferences per user: the same key in two scopes holds two values.
    let ada = data.for_owner(user(1));
    let bob = data.for_owner(user(2));
    ada.set("theme", "dark", None).await?;
    bob.set("theme", "light", None).await?;
    assert_eq!(ada.get::<String>("theme").await?.as_deref(), Some("dark"));
    assert_eq!(bob.get::<String>("theme").await?.as_deref(), Some("light"));
    assert_eq!(settings.get::<String>("theme").await?, None, "the global scope has no theme");
    println!("ada's theme is dark, bob's is light, and the application has none");

    // A cart: a list of lines and a counter that 20 tasks bump at once, without losing one.
    let cart = ada.in_namespace("cart");
    cart.list_push("lines", Line { sku: "tea".into(), qty: 2 }).await?;
    cart.list_push("lines", Line { sku: "mug".into(), qty: 1 }).await?;
    let started = Instant::now();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let cart = cart.clone();
            tokio::spawn(async move {
                for _ in 0..10 {
                    cart.increment("views", 1).await?;
                }
                Ok::<_, StoreError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    assert_eq!(cart.get::<i64>("views").await?, Some(200), "no increment may be lost");
    println!("200 concurrent increments from 20 tasks: 200 in {:.0?}", started.elapsed());
    assert_eq!(cart.list_remove("lines", Line { sku: "mug".into(), qty: 1 }).await?, 1);
    let lines: Vec<Line> = cart.list("lines").await?;
    assert_eq!(lines, vec![Line { sku: "tea".into(), qty: 2 }]);
    assert_eq!(bob.in_namespace("cart").keys().await?.len(), 0, "bob's cart is his own");

    // Feature flags per team, written together (all or nothing).
    let acme = data.for_owner(team("acme")).in_namespace("flags");
    acme.set_many([("beta_editor", true), ("new_billing", false)], None).await?;
    data.for_owner(team("initech")).in_namespace("flags").set("beta_editor", false, None).await?;
    assert!(acme.get_or("beta_editor", false).await?);
    assert!(!data.for_owner(team("initech")).in_namespace("flags").get_or("beta_editor", true).await?);
    println!("acme's flags: {:?}", acme.all().await?);

    // A token that expires: invisible once its second is up, even before any cleanup.
    let tokens = data.in_namespace(&format!("{APP}.tokens"));
    tokens.set("reset:ada", "k3y", Some(Duration::from_secs(1))).await?;
    tokens.set("api", "permanent", None).await?;
    assert!(matches!(tokens.ttl("reset:ada").await?, Some(Expiry::In(_))));
    assert_eq!(tokens.ttl("api").await?, Some(Expiry::Never));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(tokens.get::<String>("reset:ada").await?, None, "the token should have expired");
    assert_eq!(tokens.keys().await?, ["api"]);
    println!("the reset token expired after one second");

    // Dotted keys read back as a tree.
    settings.set("config.app.name", "MyApp", None).await?;
    settings.set("config.app.debug", false, None).await?;
    settings.set("config.db.pool", 8, None).await?;
    let config_tree = settings.nested_from("config").await?;
    assert_eq!(config_tree, json!({"app": {"name": "MyApp", "debug": false}, "db": {"pool": 8}}));
    println!("nested config: {config_tree}");

    // A backup of ada's preferences, restored after a change.
    let mut backup = Vec::new();
    assert_eq!(ada.export(&mut backup).await?, 1);
    ada.set("theme", "solarized", None).await?;
    let report = data.import(backup.as_slice(), true).await?;
    assert_eq!(report.written, 1);
    assert_eq!(ada.get::<String>("theme").await?.as_deref(), Some("dark"));
    println!("restored ada's theme from a {} byte backup", backup.len());

    // Expired rows stay stored until cleanup removes them, a batch at a time.
    let removed = data.cleanup_expired(1_000).await?;
    assert!(removed >= 1, "the expired token's row should have been removed");
    assert_eq!(tokens.get::<String>("api").await?.as_deref(), Some("permanent"));
    println!("cleanup removed {removed} expired row(s)");

    // A key with an empty segment is refused before anything is written.
    let err = settings.set("config..name", "x", None).await.unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "{err:?}");
    assert!(!settings.keys().await?.iter().any(|key| key.contains("..")));
    println!("refused: {err}");

    for scope in scopes(&data) {
        scope.clear().await?;
    }
    println!("data_store: every check passed");
    Ok(())
}
