//! CRUD fundamentals: define a model, migrate its table, register its store with `StoreHaus`, then
//! create, read, list, count, update, query and delete users, and check the database's health.
//! Along the way it shows the system fields every record carries (`created_at()`, `updated_at()`)
//! and what `#[field(create, update)]` and `#[field(create)]` mean for an update.
//!
//! ```text
//! cargo run --example 01_basic_usage
//! ```
//!
//! It reads its configuration with `AppConfig::load()`: `storehaus.toml` or `$STOREHAUS_CONFIG`,
//! overridden by `DATABASE_URL` and `STOREHAUS_*` variables (see docs/configuration.md); e.g.
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/app` or `DATABASE_URL=sqlite::memory:`.
//! The table `basic_users` is recreated on every run. Every step reads its result back from the
//! database and the example exits non-zero when one is not what it should be.

use storehaus::prelude::*;

/// A user. The table has no `soft_delete`, so `delete` removes the row for good.
#[model]
#[table(name = "basic_users")]
pub struct User {
    #[primary_key]
    pub id: Uuid,

    /// Written by `create` and by `update`.
    #[field(create, update)]
    pub name: String,

    #[field(create, update)]
    pub email: String,

    /// Written by `create` only: an `update` leaves the stored value as it was.
    #[field(create)]
    pub signup_source: String,

    /// No `#[field]` at all means the same as `#[field(create, update)]`.
    pub age: i32,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = AppConfig::load()?;
    let mut storehaus = StoreHaus::new(config.database.clone()).await?;
    println!("Connected to {} ({}).", config.database, storehaus.pool().backend_name());

    // `true` drops and recreates the table, so every run starts from an empty one.
    let plan = storehaus.auto_migrate::<User>(true).await?;
    println!("Migrated `{}` with {} DDL statements.", User::TABLE.name, plan.steps.len());

    // Register the store under a name; any part of the application can fetch it back by that name.
    let store = GenericStore::<User>::new(storehaus.pool().clone(), None, None);
    storehaus.register_store("users", store)?;
    let users = storehaus.get_store::<GenericStore<User>>("users")?;
    // A name nobody registered (or a store of another type under it) is an error, not a panic.
    let unknown = storehaus.get_store::<GenericStore<User>>("people");
    assert!(matches!(unknown, Err(StoreError::Registry(_))), "expected a registry error, got {unknown:?}");

    // Create: `User::new` takes the fields in declaration order; a struct literal works as well.
    let ada = User::new(Uuid::new_v4(), "Ada".into(), "ada@example.com".into(), "web".into(), 36);
    let ada = users.create(ada, None).await?; // `None`: no tags (see tags_demo)
    let grace = User {
        id: Uuid::new_v4(),
        name: "Grace".into(),
        email: "grace@example.com".into(),
        signup_source: "referral".into(),
        age: 45,
    };
    let grace = users.create(grace, None).await?;
    let linus = User::new(Uuid::new_v4(), "Linus".into(), "linus@example.com".into(), "web".into(), 28);
    let linus = users.create(linus, None).await?;
    println!("Created {}, {} and {}.", ada.name, grace.name, linus.name);
    // A new record's two timestamps are one instant: the time of the write's transaction.
    assert_eq!(ada.created_at(), ada.updated_at(), "a new record's created_at should equal its updated_at");
    println!("  {} created at {}", ada.name, ada.created_at());

    // Read by key.
    let found = users.get_by_id(&ada.id).await?.ok_or("Ada cannot be read back")?;
    assert_eq!((found.name.as_str(), found.email.as_str(), found.age), ("Ada", "ada@example.com", 36));
    assert_eq!(found.created_at(), ada.created_at(), "the stored created_at should be the one returned by create");
    println!("Read back {} <{}>, age {}.", found.name, found.email, found.age);
    let nobody = users.get_by_id(&Uuid::new_v4()).await?;
    assert!(nobody.is_none(), "an unknown key should read as None");

    // List and count every row; `list_all` orders by key.
    let all = users.list_all().await?;
    let mut names: Vec<&str> = all.iter().map(|u| u.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Ada", "Grace", "Linus"], "list_all should return the three users");
    assert_eq!(users.count().await?, 3, "count should be 3");
    println!("list_all: {} users; count: {}.", all.len(), users.count().await?);

    // Update: the fields written on update change; `signup_source` (create only) keeps its value
    // even though the new value says otherwise. `None` keeps the record's tags.
    let mut changes = found.data().clone();
    changes.email = "ada@lovelace.example".into();
    changes.age = 37;
    changes.signup_source = "ignored on update".into();
    let updated = users.update(&ada.id, changes, None).await?;
    let stored = users.get_by_id(&ada.id).await?.ok_or("Ada disappeared after the update")?;
    assert_eq!(stored.email, "ada@lovelace.example", "update should write email");
    assert_eq!(stored.age, 37, "update should write age");
    assert_eq!(stored.signup_source, "web", "update should not write the create-only signup_source");
    // The update moved updated_at; created_at never changes.
    assert_eq!(stored.created_at(), ada.created_at(), "update must not change created_at");
    assert!(stored.updated_at() > ada.updated_at(), "update should move updated_at forward");
    assert_eq!(stored.updated_at(), updated.updated_at(), "the returned record should be what is stored");
    println!(
        "Updated Ada: email {}, age {}, signup_source still {:?}; updated_at moved from {} to {}.",
        stored.email,
        stored.age,
        stored.signup_source,
        ada.updated_at(),
        stored.updated_at()
    );

    // Query: users aged 30 or more, oldest first.
    let query = QueryBuilder::new().filter(QueryFilter::gte("age", 30)).order_by("age", SortOrder::Desc);
    let thirty_plus = users.find(query).await?;
    let names: Vec<&str> = thirty_plus.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["Grace", "Ada"], "find(age >= 30, age desc) should return Grace then Ada");
    println!("Users aged 30+, oldest first: {}.", names.join(", "));

    // Delete: without soft delete the row is gone for good.
    assert!(users.delete(&linus.id).await?, "delete should report that it removed Linus");
    assert!(users.get_by_id(&linus.id).await?.is_none(), "a deleted user should read as None");
    assert!(users.get_by_id_with_deleted(&linus.id).await?.is_none(), "without soft delete nothing is kept");
    assert!(!users.delete(&linus.id).await?, "deleting again should report that nothing was removed");
    assert_eq!(users.count().await?, 2, "count after the delete should be 2");
    println!("Deleted Linus; {} users remain.", users.count().await?);

    let health = storehaus.health_check().await?;
    println!(
        "Health: {} answered in {:?}, {} connections open ({} idle).",
        health.backend, health.latency, health.connections, health.idle_connections
    );

    storehaus.close().await;
    println!("all checks passed");
    Ok(())
}
