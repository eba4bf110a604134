//! A tour of StoreHaus: define models, let `auto_migrate` create their tables, check the database.
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

    let author = Author::new(Uuid::new_v4(), "Ada".into(), "ada@example.com".into());
    ensure(Author::columns().email.name() == "email", "typed columns name their column")?;
    println!("\nbuilt {author:?} with the generated Author::new");

    storehaus.close().await;
    Ok(())
}

fn ensure(ok: bool, what: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(format!("expected: {what}")) }
}
