//! A tour of StoreHaus: models, migrations, CRUD, tags, soft delete, batch writes, queries,
//! optimistic locking, transactions, the read-through cache and change signals.
//!
//! ```text
//! cargo run --example demo
//! ```
//!
//! The code is one function per step in `steps.rs`; `events.rs` collects the change events.
//!
//! With nothing configured it runs on the embedded default: SQLite in memory, an in-memory cache
//! and in-process signals, so it needs no server. `DATABASE_URL` (or a `[database]` section in
//! `storehaus.toml` / `$STOREHAUS_CONFIG`, or a `STOREHAUS_DATABASE_*` variable) selects that
//! database instead, such as `postgres://postgres@127.0.0.1:5432/postgres`; `REDIS_URL` (or a
//! `[cache]` section, or `STOREHAUS_CACHE_*`) puts the cache on Redis. The tables `demo_authors`
//! and `demo_posts` are recreated on every run. Every step checks its result; the demo exits
//! non-zero when one is not what it should be.

mod events;
mod steps;

use events::Events;
use std::error::Error;
use std::process::ExitCode;
use storehaus::cache::CacheManager;
use storehaus::prelude::*;
use storehaus::signals::{CallbackError, Subscription};
use tokio::sync::mpsc;

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
#[index(author_id, words)]
pub struct Post {
    #[primary_key]
    pub id: Uuid,
    pub author_id: Uuid,
    pub title: String,
    pub words: i32,
    pub published_at: Option<DateTime<Utc>>,
    pub metadata: serde_json::Value,
}

type Res<T = ()> = Result<T, Box<dyn Error>>;

/// What every step works with.
struct Demo {
    storehaus: StoreHaus,
    /// Announces its writes to `events` and reads through `cache`.
    authors: GenericStore<Author>,
    posts: GenericStore<Post>,
    cache: Arc<CacheManager>,
    events: Events,
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

async fn run() -> Res {
    let mut config = AppConfig::load()?;
    let on_server = configured("DATABASE_URL", "database");
    let redis = configured("REDIS_URL", "cache");
    if !on_server {
        config.database = DatabaseConfig::embedded(":memory:");
    }
    let database = match config.database.sqlite.as_deref() {
        Some(":memory:") => "SQLite in memory".to_owned(),
        Some(_) => format!("SQLite at {}", config.database.redacted_url()),
        None => format!("PostgreSQL at {}", config.database.redacted_url()),
    };
    let cache =
        if redis { format!("Redis cache at {}", config.cache.redacted_url()) } else { "in-memory cache".into() };
    let signals = if config.database.sqlite.is_some() { "in-process" } else { "cross-process" };
    let (default, hint) = match on_server || redis {
        false => ("the embedded default: ", " (set DATABASE_URL / REDIS_URL to use PostgreSQL / Redis)"),
        true => ("", ""),
    };
    println!("StoreHaus demo on {default}{database}, {cache}, {signals} signals{hint}");

    let storehaus = StoreHaus::new(config.database).await?;

    let cache =
        Arc::new(if redis { CacheManager::new(config.cache.clone())? } else { CacheManager::memory(&config.cache)? });
    if let Err(error) = cache.ping().await {
        return Err(format!("the cache at {} does not answer: {error}", config.cache.redacted_url()).into());
    }
    // A prefix of this run alone, so entries of earlier runs never mix in.
    let prefix = format!("demo:{}", Uuid::new_v4().simple());
    let signals = storehaus.signal_manager(config.signal).await?;
    let (sender, receiver) = mpsc::unbounded_channel();
    signals.add_callback_for(Subscription::table(Author::TABLE.name), move |event| {
        let sent = sender.send((event.event_type, event.record_id));
        async move { sent.map_err(|_| CallbackError::from("the demo stopped listening")) }
    })?;
    let authors = GenericStore::<Author>::new(
        storehaus.pool().clone(),
        Some(Arc::clone(&signals)),
        Some(CacheParams::new(Arc::clone(&cache), 300, prefix)),
    );
    let posts = GenericStore::<Post>::new(storehaus.pool().clone(), None, None);
    let events = Events::new(receiver);
    let mut demo = Demo { storehaus, authors, posts, cache, events };

    steps::models(&demo.storehaus).await?;
    let ada = steps::crud(&mut demo).await?;
    let grace = steps::tags(&mut demo, ada).await?;
    steps::soft_delete(&mut demo, grace).await?;
    let post = steps::batch(&demo, ada).await?;
    steps::queries(&demo).await?;
    steps::optimistic_locking(&demo, post).await?;
    steps::transactions(&mut demo).await?;
    steps::read_through_cache(&mut demo, ada, if redis { "Redis" } else { "in memory" }).await?;
    steps::signals_delivered(&mut demo).await?;

    // This run's key prefix is never used again: remove the table's keys that never expire.
    if let Some(params) = demo.authors.cache() {
        demo.cache.forget_table(&params.table(Author::TABLE.name)).await?;
    }
    signals.shutdown().await;
    demo.storehaus.close().await;
    println!("all steps passed");
    Ok(())
}

/// Whether the environment or the config file says where `section` lives: the URL variable,
/// a `STOREHAUS_<SECTION>_*` variable, or a `[section]` table in `$STOREHAUS_CONFIG` or
/// `./storehaus.toml` (the file `AppConfig::load` reads).
fn configured(url_var: &str, section: &str) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    let prefix = format!("STOREHAUS_{}_", section.to_ascii_uppercase());
    let file = std::env::var("STOREHAUS_CONFIG").ok().filter(|path| !path.is_empty());
    let header = format!("[{section}]");
    set(url_var)
        || std::env::vars_os().any(|(name, _)| name.to_str().is_some_and(|name| name.starts_with(&prefix)))
        || std::fs::read_to_string(file.as_deref().unwrap_or("storehaus.toml"))
            .is_ok_and(|text| text.lines().any(|line| line.trim_start().starts_with(&header)))
}
