//! Counters: downloads and views of files, buffered in the cache and synced to the database. 16
//! tasks download one file at once without a database write, a dry run tells what a sync would
//! hand over, a sync by pattern stores one file's counts and announces them as change events, a
//! full sync stores the rest, a background sync keeps up on its own, and a refused key writes
//! nothing. It prints each `SyncReport` and the counters' statistics.
//!
//! ```text
//! cargo run --example counters
//! ```
//!
//! It reads its configuration with `AppConfig::load()`: `storehaus.toml` or `$STOREHAUS_CONFIG`,
//! overridden by `DATABASE_URL`, `REDIS_URL` and `STOREHAUS_*` variables (see
//! docs/configuration.md). The counters are buffered in Redis when `REDIS_URL` is set, which must
//! then answer, and in the in-memory cache otherwise; e.g.
//! `DATABASE_URL=sqlite::memory: cargo run --example counters` needs no server at all. The table
//! `counters_example_files` is recreated on every run, and the example's counters (owners of that
//! kind, buffers under the prefix `counters_example:`) start from zero; the buffers are deleted at
//! the end. Every step reads its result back and the example exits non-zero when one is not what
//! it should be.

use std::time::{Duration, Instant};

use storehaus::Owner;
use storehaus::counters::{Counters, HasCounters, SyncOptions, TABLE};
use storehaus::prelude::*;
use storehaus::signals::{CallbackError, Subscription};
use tokio::sync::mpsc;

#[model]
#[table(name = "counters_example_files")]
pub struct File {
    #[primary_key]
    pub id: i64,
    pub name: String,
}

/// The cache prefix of the example's buffers, so a sync here hands over nothing of anyone else.
const PREFIX: &str = "counters_example:";
/// The counters every file may have.
const KEYS: [&str; 3] = ["downloads", "views", "likes"];
/// Tasks downloading the report at once, and downloads each.
const TASKS: i64 = 16;
const DOWNLOADS_PER_TASK: i64 = 25;

type Res<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[tokio::main]
async fn main() -> Res {
    let config = AppConfig::load()?;
    let storehaus = StoreHaus::new(config.database.clone()).await?;
    let redis = std::env::var_os("REDIS_URL").is_some_and(|url| !url.is_empty());
    let cache =
        Arc::new(if redis { CacheManager::new(config.cache.clone())? } else { CacheManager::memory(&config.cache)? });
    let buffered_in = if redis { format!("Redis at {}", config.cache.redacted_url()) } else { "memory".into() };
    if let Err(error) = cache.ping().await {
        return Err(format!("the cache in {buffered_in} does not answer: {error}").into());
    }
    println!("Counters on {} ({}), buffered in {buffered_in}.", config.database, storehaus.pool().backend_name());

    let outcome = run(&config, &storehaus, Arc::clone(&cache)).await;
    // Buffers do not expire: the example deletes its own, whether its checks passed or not.
    let deleted = delete_buffers(&cache).await;
    outcome?;
    println!("deleted the example's {} buffers from the cache", deleted?);
    println!("counters: every check passed");
    Ok(())
}

/// Every step of the example, on `storehaus` with its counters buffered in `cache`.
async fn run(config: &AppConfig, storehaus: &StoreHaus, cache: Arc<CacheManager>) -> Res {
    storehaus.auto_migrate::<File>(true).await?;
    let signals = storehaus.signal_manager(config.signal.clone()).await?;
    let counters = Counters::builder(storehaus.pool().clone())
        .cache(cache)
        .prefix(PREFIX)
        .signals(signals.clone())
        .build()
        .await?;
    // Direct-mode counters on the same table have no buffer: they read what the database stores.
    let stored = Counters::builder(storehaus.pool().clone()).direct().build().await?;

    let files = GenericStore::<File>::new(storehaus.pool().clone(), None, None);
    let report = files.create(File { id: 1, name: "report.pdf".into() }, None).await?;
    let photo = files.create(File { id: 2, name: "photo.jpg".into() }, None).await?;
    let notes = files.create(File { id: 3, name: "notes.txt".into() }, None).await?;
    start_from_zero(&counters, &[&report, &photo, &notes]).await?;

    // Sync events of the counters table reach the program through a channel.
    let (changes_tx, mut changes) = mpsc::unbounded_channel();
    signals.add_callback_for(Subscription::table(TABLE), move |event| {
        let sent = changes_tx.send(event);
        async move { sent.map_err(|_| CallbackError::from("nobody listens to counter changes any more")) }
    })?;

    // 16 tasks download the report at once: every increment is one cache call, none is lost.
    let before = counters.stats();
    let started = Instant::now();
    let report_owner = Owner::of(&report);
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (counters, owner) = (counters.clone(), report_owner.clone());
            tokio::spawn(async move {
                for _ in 0..DOWNLOADS_PER_TASK {
                    counters.increment(&owner, "downloads", 1).await?;
                }
                Ok::<_, StoreError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let downloads = TASKS * DOWNLOADS_PER_TASK;
    println!("{downloads} downloads from {TASKS} tasks in {:.0?}", started.elapsed());
    for _ in 0..10 {
        photo.increment_counter(&counters, "views", 1).await?;
    }
    photo.decrement_counter(&counters, "views", 2).await?;
    check(report.counter(&counters, "downloads").await?, downloads, "the report's downloads")?;
    check(photo.counter(&counters, "views").await?, 8, "the photo's views")?;
    check(stored.get(&report_owner, "downloads").await?, 0, "stored downloads before any sync")?;
    let stats = counters.stats();
    check((stats.buffered - before.buffered) as i64, downloads + 11, "increments buffered")?;
    check((stats.direct - before.direct) as i64, 0, "increments written to the database")?;
    println!("buffered, not yet stored: {stats:?}");

    // A dry run tells what a sync would hand over, and changes nothing.
    let preview = counters.sync(SyncOptions::default().dry_run()).await?;
    println!("dry run:              {preview:?}");
    check(preview.keys as i64, 2, "counters a sync would hand over")?;
    check(preview.delta_total, downloads + 8, "the sum it would add")?;
    check(stored.get(&report_owner, "downloads").await?, 0, "stored downloads after a dry run")?;

    // A sync of one file by pattern ("kind:id:key"): its row is written and announced.
    let pattern = format!("{}:{}:*", File::TABLE.name, report.id);
    let one = counters.sync(SyncOptions::default().pattern(pattern.as_str())).await?;
    println!("sync of {pattern}: {one:?}");
    check(one.keys as i64, 1, "counters the pattern matched")?;
    check(one.delta_total, downloads, "downloads handed over")?;
    check(stored.get(&report_owner, "downloads").await?, downloads, "stored downloads")?;
    check(stored.get(&Owner::of(&photo), "views").await?, 0, "stored views, outside the pattern")?;
    let event = next_change(&mut changes, &report_owner, "downloads", downloads).await?;
    println!(
        "event: {:?} of {} {}, count {}",
        event.event_type, event.table_name, event.record_id, event.payload["count"]
    );

    // The full sync stores the rest; nothing is left to hand over after it.
    let rest = counters.sync(SyncOptions::default()).await?;
    println!("sync of the rest:     {rest:?}");
    check(rest.delta_total, 8, "views handed over")?;
    check(stored.get(&Owner::of(&photo), "views").await?, 8, "stored views")?;
    check(counters.sync(SyncOptions::default().dry_run()).await?.keys as i64, 0, "counters left to sync")?;

    // Reading several counters, setting one; "likes" was never counted and reads 0.
    let read = report.counters(&counters, &KEYS).await?;
    println!("report.pdf: {read:?}");
    check(read["likes"], 0, "likes never counted")?;
    photo.set_counter(&counters, "likes", 3).await?;
    photo.increment_counter(&counters, "likes", 1).await?; // counts on top of the set
    check(photo.counter(&counters, "likes").await?, 4, "likes after a set and an increment")?;
    println!("photo.jpg: {:?}", photo.all_counters(&counters).await?);

    // A background sync every 100 ms stores new increments without being asked.
    let syncing = counters.start_sync(Duration::from_millis(100));
    for _ in 0..50 {
        notes.increment_counter(&counters, "downloads", 1).await?;
    }
    let waited = Instant::now();
    while stored.get(&Owner::of(&notes), "downloads").await? < 50 || stored.get(&Owner::of(&photo), "likes").await? < 4
    {
        if waited.elapsed() > Duration::from_secs(10) {
            return Err("the background sync did not store the new counts within 10 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    syncing.stop().await;
    println!("the background sync stored 50 downloads of notes.txt within {:.0?}", waited.elapsed());

    // A key the rules refuse is an error, and nothing is counted.
    let err = counters.increment(&report_owner, "", 1).await.unwrap_err();
    let refused = matches!(&err, StoreError::Validation { field, .. } if field.as_deref() == Some("key"));
    if !refused {
        return Err(format!("an empty key should be refused as a Validation of `key`, got {err:?}").into());
    }
    check(report.counter(&counters, "downloads").await?, downloads, "downloads after a refused key")?;
    println!("refused: {err}");

    let stats = counters.stats();
    println!("stats: {stats:?}");
    check(stats.fallbacks as i64, 0, "increments that fell back to the database")?;
    check(stats.failed_syncs as i64, 0, "failed syncs")?;
    signals.shutdown().await;
    Ok(())
}

/// Deletes every buffer under the example's prefix; returns how many there were.
async fn delete_buffers(cache: &CacheManager) -> Res<usize> {
    let pattern = format!("{PREFIX}*");
    let (mut cursor, mut deleted) = (0, 0);
    loop {
        let (next, keys) = cache.scan(&pattern, cursor, 1000).await?;
        for key in &keys {
            deleted += usize::from(cache.delete(key).await?);
        }
        if next == 0 {
            return Ok(deleted);
        }
        cursor = next;
    }
}

/// Brings the example's counters to zero: hands over what an earlier, interrupted run left
/// buffered under the prefix, sets every counter of the files to 0 and stores that.
async fn start_from_zero(counters: &Counters, files: &[&Record<File>]) -> Res {
    counters.sync(SyncOptions::default()).await?;
    for file in files {
        for key in KEYS {
            file.reset_counter(counters, key).await?;
        }
    }
    counters.sync(SyncOptions::default()).await?;
    for file in files {
        if file.all_counters(counters).await?.values().any(|&count| count != 0) {
            return Err(format!("the counters of {} did not start from zero", file.name).into());
        }
    }
    Ok(())
}

/// Waits for the change event that stores `count` for the counter `key` of `owner` (events of the
/// resets at the start may come first).
async fn next_change(
    changes: &mut mpsc::UnboundedReceiver<DatabaseEvent>,
    owner: &Owner,
    key: &str,
    count: i64,
) -> Res<DatabaseEvent> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let event = tokio::time::timeout_at(deadline, changes.recv())
            .await
            .map_err(|_| format!("no change event storing {key} = {count} within 10 s"))?
            .ok_or("the signal manager stopped")?;
        let row = &event.payload;
        if row["owner_kind"] == owner.kind()
            && row["owner_id"] == owner.id()
            && row["key"] == key
            && row["count"] == count
        {
            return Ok(event);
        }
    }
}

fn check(got: i64, want: i64, what: &str) -> Res {
    if got == want { Ok(()) } else { Err(format!("{what}: expected {want}, got {got}").into()) }
}
