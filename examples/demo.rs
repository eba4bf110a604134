//! A tour of StoreHaus: models, migrations, CRUD, tags, soft delete, queries, batch writes,
//! optimistic locking and transactions.
//!
//! ```text
//! cargo run --example demo
//! ```
//!
//! The database comes from `DATABASE_URL`, `storehaus.toml` or `$STOREHAUS_CONFIG`
//! (default `postgres://postgres@localhost:5432/storehaus`). The demo exits non-zero when any step's
//! result is not what it should be.

use std::process::ExitCode;
use storehaus::prelude::*;

/// People who write posts; deleting one keeps the row with `__deleted_at__` set.
#[model]
#[table(name = "demo_authors", soft_delete)]
pub struct Author {
    #[primary_key]
    pub id: Uuid,
    #[field(create, update)]
    pub name: String,
    #[unique]
    pub email: String,
}

/// Posts, with optimistic locking through `__version__`.
#[model]
#[table(name = "demo_posts", versioned)]
#[index(author_id, published_at)]
pub struct Post {
    #[primary_key]
    pub id: Uuid,
    pub author_id: Uuid,
    pub title: String,
    pub body: String,
    pub published_at: Option<DateTime<Utc>>,
    pub metadata: serde_json::Value,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo failed: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let config = AppConfig::load()?;
    println!("StoreHaus demo on PostgreSQL at {}", config.database.redacted_url());

    let storehaus = StoreHaus::new(config.database).await?;
    let health = storehaus.health_check().await?;
    println!("database answered in {:?} ({} connection(s) open)", health.latency, health.connections);

    println!("\nThe model `Author` has these columns:");
    for column in Author::TABLE.columns {
        println!("  {:<10} {}{}", column.name, column.ty, if column.nullable { " (nullable)" } else { "" });
    }
    for column in Author::TABLE.system_columns() {
        println!("  {:<15} {} (system)", column.name, column.ty);
    }

    // Recreate, so the demo starts from empty tables each run.
    for plan in [storehaus.auto_migrate::<Author>(true).await?, storehaus.auto_migrate::<Post>(true).await?] {
        println!("\nauto_migrate ran for `{}`:\n{plan}", plan.table);
    }

    // A second start-up finds nothing to do.
    ensure(storehaus.plan::<Author>().await?.is_empty(), "authors table matches its model")?;
    ensure(storehaus.plan::<Post>().await?.is_empty(), "posts table matches its model")?;
    println!("a second auto_migrate has nothing to do: the tables match the models");

    // Signals: every committed write of the authors store reaches this callback, in any process.
    let signals = storehaus.signal_manager(SignalConfig::default()).await?;
    let announced = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = Arc::clone(&announced);
    signals.add_callback(move |event| {
        let sink = Arc::clone(&sink);
        async move {
            sink.lock().map_err(|_| "poisoned")?.push(format!("{:?} {}", event.event_type, event.record_id));
            Ok(())
        }
    })?;

    let authors = GenericStore::<Author>::new(storehaus.pool().clone(), Some(Arc::clone(&signals)), None);
    let posts = GenericStore::<Post>::new(storehaus.pool().clone(), None, None);

    // CRUD with tags.
    let ada = authors
        .create(Author::new(Uuid::new_v4(), "Ada".into(), "ada@example.com".into()), Some(vec!["staff".into()]))
        .await?;
    println!("\ncreated {} <{}> tags={:?} at {}", ada.name, ada.email, ada.tags(), ada.created_at());
    let renamed =
        authors.update(&ada.id, Author { name: "Ada Lovelace".into(), ..ada.clone().into_inner() }, None).await?;
    ensure(renamed.name == "Ada Lovelace" && renamed.tags() == ["staff"], "update keeps the tags")?;
    let tagged = authors.add_tags(&ada.id, ["editor"]).await?;
    println!("tags after add_tags: {:?}", tagged.tags());

    // Batch insert: one statement per chunk, whatever the row count.
    let drafts: Vec<Post> = (1..=500)
        .map(|n| Post::new(Uuid::new_v4(), ada.id, format!("Post {n}"), "…".into(), None, json!({"n": n})))
        .collect();
    let created = posts.create_many(drafts, Some(vec!["draft".into()])).await?;
    println!("create_many wrote {} posts in one call", created.len());

    // Queries: typed columns and the seed's string-named filters.
    let first_ten = posts
        .find(
            QueryBuilder::new()
                .filter(Post::columns().title.like("Post 1%"))
                .order_by("title", SortOrder::Asc)
                .limit(10),
        )
        .await?;
    ensure(first_ten.len() == 10, "ten posts match `Post 1%`")?;
    let drafts = posts.count_where(QueryBuilder::new().filter_by_tag("draft")).await?;
    ensure(drafts == 500, "every post is tagged draft")?;
    let published = posts
        .update_where(
            QueryBuilder::new().filter(QueryFilter::lt("title", json!("Post 2"))),
            UpdateSet::new().set("published_at", json!(Utc::now().to_rfc3339())),
        )
        .await?;
    println!("published {} posts with one update_where", published.len());

    // Optimistic locking: a write from a stale version is refused.
    let post = created.last().ok_or("no posts")?; // "Post 500": untouched by the update_where above
    let fresh =
        posts.update_versioned(&post.id, Post { title: "Edited".into(), ..post.clone().into_inner() }, None, 1).await?;
    let stale = posts.update_versioned(&post.id, post.clone().into_inner(), None, 1).await;
    ensure(
        fresh.version() == Some(2) && matches!(stale, Err(StoreError::Conflict { .. })),
        "stale write is a conflict",
    )?;
    println!("version {} won; the stale writer got a conflict", fresh.version().unwrap_or_default());

    // A transaction that fails leaves nothing behind.
    let bob = Author::new(Uuid::new_v4(), "Bob".into(), "bob@example.com".into());
    let outcome = storehaus
        .transaction(|tx| {
            let authors = authors.with_transaction(&tx);
            async move {
                authors.create(bob, None).await?;
                Err::<(), _>(StoreError::Validation { field: None, message: "changed my mind".into() })
            }
        })
        .await;
    ensure(outcome.is_err() && authors.count().await? == 1, "the rolled-back author is gone")?;
    println!("a failed transaction rolled back");

    // Soft delete hides the row but keeps it.
    authors.delete(&ada.id).await?;
    ensure(authors.get_by_id(&ada.id).await?.is_none(), "deleted author is hidden")?;
    let kept = authors.get_by_id_with_deleted(&ada.id).await?;
    ensure(kept.as_ref().is_some_and(|a| a.deleted_at().is_some()), "deleted author is kept")?;
    authors.restore(&ada.id).await?;
    println!("soft-deleted and restored {}", ada.name);

    // Create, update, add_tags, delete and restore of Ada were committed; Bob's create was rolled back.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while announced.lock().map_err(|_| "poisoned")?.len() < 5 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let announced = announced.lock().map_err(|_| "poisoned")?.clone();
    println!("signals delivered: {announced:?}");
    ensure(announced.len() == 5, "one event per committed author write, none for the rollback")?;
    signals.shutdown().await;

    storehaus.close().await;
    Ok(())
}

fn ensure(ok: bool, what: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(format!("expected: {what}")) }
}
