//! Tags: free-form labels on every record, kept in the `__tags__` system column. It creates
//! articles with tags (one at a time and in a batch), edits them with `add_tags`, `remove_tags` and
//! `set_tags`, filters by one tag, by any or all of several and by tags combined with other filters
//! and ordering, counts the articles per tag, and shows that repeated tags are stored once, that an
//! invalid tag is refused with a typed error that writes nothing, and that soft-deleted rows keep
//! their tags but drop out of tag filters.
//!
//! ```text
//! cargo run --example tags_demo
//! ```
//!
//! It reads its configuration with `AppConfig::load()`: `storehaus.toml` or `$STOREHAUS_CONFIG`,
//! overridden by `DATABASE_URL` and `STOREHAUS_*` variables (see docs/configuration.md); e.g.
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/app` or `DATABASE_URL=sqlite::memory:`.
//! The table `tags_articles` is recreated on every run. Every step reads its result back from the
//! database and the example exits non-zero when one is not what it should be.

use storehaus::prelude::*;

#[model]
#[table(name = "tags_articles", soft_delete)]
pub struct Article {
    #[primary_key]
    pub id: Uuid,
    pub title: String,
    pub words: i32,
}

/// The titles of `records`, in the order given.
fn titles(records: &[Record<Article>]) -> Vec<&str> {
    records.iter().map(|article| article.title.as_str()).collect()
}

/// Tags given as string literals.
fn tags(list: &[&str]) -> Option<Vec<String>> {
    Some(list.iter().map(|tag| tag.to_string()).collect())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = AppConfig::load()?;
    let storehaus = StoreHaus::new(config.database.clone()).await?;
    println!("Connected to {} ({}).", config.database, storehaus.pool().backend_name());
    storehaus.auto_migrate::<Article>(true).await?;
    let articles = GenericStore::<Article>::new(storehaus.pool().clone(), None, None);
    let article = |title: &str, words| Article::new(Uuid::new_v4(), title.into(), words);

    // Tags go with the write. A tag repeated in one list is stored once, where it first appeared.
    let intro = articles.create(article("Getting started", 800), tags(&["rust", "tutorial", "rust"])).await?;
    assert_eq!(intro.tags(), ["rust", "tutorial"], "the repeated tag should be stored once");
    let deep_dive = articles.create(article("Async in depth", 2400), tags(&["rust", "async", "advanced"])).await?;
    articles.create(article("Indexing JSONB", 1500), tags(&["postgres", "advanced"])).await?;
    let notes = articles.create(article("Release notes", 300), None).await?;
    assert!(notes.tags().is_empty(), "no tags given means an empty list");
    println!("Created 4 articles; \"{}\" is tagged {:?}.", intro.title, intro.tags());

    // A batch write gives every row the same tags.
    let legacy = vec![article("Legacy A", 1200), article("Legacy B", 600), article("Legacy C", 2000)];
    let imported = articles.create_many(legacy, tags(&["imported"])).await?;
    assert!(imported.iter().all(|a| a.tags() == ["imported"]), "every batch row should be tagged imported");
    println!("Imported {} articles in one batch, each tagged [\"imported\"].", imported.len());

    // One tag; any of several; all of several. Ordered by title so the result is stable.
    let by_title = || QueryBuilder::new().order_by("title", SortOrder::Asc);
    let rust = articles.find(by_title().filter_by_tag("rust")).await?;
    assert_eq!(titles(&rust), ["Async in depth", "Getting started"], "tagged rust");
    let any = articles.find(by_title().filter_by_any_tag(["postgres", "async"])).await?;
    assert_eq!(titles(&any), ["Async in depth", "Indexing JSONB"], "tagged postgres or async");
    let all = articles.find(by_title().filter_by_all_tags(["rust", "advanced"])).await?;
    assert_eq!(titles(&all), ["Async in depth"], "tagged rust and advanced");
    println!("rust: {:?}; postgres or async: {:?}; rust and advanced: {:?}", titles(&rust), titles(&any), titles(&all));

    // Tags compare exactly: "Rust" is another tag than "rust".
    assert_eq!(articles.count_where(QueryBuilder::new().filter_by_tag("Rust")).await?, 0, "tags are case-sensitive");
    // An empty "any" list matches nothing; an empty "all" list matches everything.
    let none: [&str; 0] = [];
    assert_eq!(
        articles.count_where(QueryBuilder::new().filter_by_any_tag(none)).await?,
        0,
        "empty any-list matches none"
    );
    assert_eq!(
        articles.count_where(QueryBuilder::new().filter_by_all_tags(none)).await?,
        7,
        "empty all-list matches all"
    );

    // Tags mix with every other filter and with ordering: long imported articles, longest first.
    let long_imports = QueryBuilder::new()
        .filter_by_tag("imported")
        .filter(QueryFilter::gte("words", 1000))
        .order_by("words", SortOrder::Desc);
    let long_imports = articles.find(long_imports).await?;
    assert_eq!(titles(&long_imports), ["Legacy C", "Legacy A"], "imported with 1000+ words, longest first");
    // Inside `or(..)` a tag test is the filter `has_any_tag` / `has_all_tags`.
    let tutorial_or_short =
        QueryFilter::or(vec![QueryFilter::has_any_tag(["tutorial"]), QueryFilter::lt("words", 500)]);
    let quick_reads = articles.find(by_title().filter(tutorial_or_short)).await?;
    assert_eq!(titles(&quick_reads), ["Getting started", "Release notes"], "tutorial or under 500 words");
    println!("Imported with 1000+ words: {:?}; tutorial or short: {:?}", titles(&long_imports), titles(&quick_reads));

    // Editing tags. add_tags appends what is missing and keeps existing tags in place.
    let added = articles.add_tags(&intro.id, ["beginner", "rust"]).await?;
    assert_eq!(added.tags(), ["rust", "tutorial", "beginner"], "add_tags should append only beginner");
    assert!(added.updated_at() > intro.updated_at(), "a tag edit is a write: updated_at moves");
    // remove_tags ignores tags the row does not have.
    let removed = articles.remove_tags(&intro.id, ["tutorial", "never-there"]).await?;
    assert_eq!(removed.tags(), ["rust", "beginner"], "remove_tags should drop tutorial");
    // set_tags replaces the whole list.
    let replaced = articles.set_tags(&notes.id, ["announcement"]).await?;
    assert_eq!(replaced.tags(), ["announcement"], "set_tags should replace the list");
    // An update with `None` keeps the tags; `Some(list)` would replace them.
    let retitled = articles.update(&intro.id, article("Getting started with Rust", 850), None).await?;
    assert_eq!(retitled.tags(), ["rust", "beginner"], "update with None should keep the tags");
    println!("After edits: \"{}\" {:?}, \"{}\" {:?}.", retitled.title, retitled.tags(), notes.title, replaced.tags());

    // Articles per tag: a count query per tag, checked against the tags of every listed record.
    let everything = articles.list_all().await?;
    let mut known: Vec<&str> = Vec::new();
    for tag in everything.iter().flat_map(|a| a.tags()) {
        if !known.contains(&tag.as_str()) {
            known.push(tag.as_str());
        }
    }
    known.sort_unstable();
    println!("Articles per tag:");
    for tag in &known {
        let counted = articles.count_where(QueryBuilder::new().filter_by_tag(*tag)).await?;
        let listed = everything.iter().filter(|a| a.tags().iter().any(|t| t == tag)).count() as u64;
        assert_eq!(counted, listed, "count_where and list_all should agree on {tag}");
        println!("  {tag:<13} {counted}");
    }
    let expected = ["advanced", "announcement", "async", "beginner", "imported", "postgres", "rust"];
    assert_eq!(known, expected, "the tags in use after the edits");

    // An empty tag or one with a NUL byte is a Validation error, and nothing is written.
    let before = articles.count().await?;
    let refused = articles.create(article("Bad tags", 10), tags(&["ok", ""])).await;
    assert!(matches!(&refused, Err(StoreError::Validation { field: Some(f), .. }) if f == "__tags__"), "{refused:?}");
    println!("Empty tag refused: {}", refused.err().map(|e| e.to_string()).unwrap_or_default());
    let refused = articles.create_many(vec![article("Bad 1", 10), article("Bad 2", 10)], tags(&["nul\0"])).await;
    assert!(matches!(refused, Err(StoreError::Validation { .. })), "a NUL byte should be refused: {refused:?}");
    let refused = articles.add_tags(&intro.id, ["fine", ""]).await;
    assert!(matches!(refused, Err(StoreError::Validation { .. })), "add_tags with an empty tag: {refused:?}");
    assert_eq!(articles.count().await?, before, "refused creates should write nothing");
    let unchanged = articles.get_by_id(&intro.id).await?.ok_or("the intro is missing")?;
    assert_eq!(unchanged.tags(), ["rust", "beginner"], "a refused add_tags should change nothing");

    // Soft-deleted rows keep their tags but leave tag filters, unless the query asks for them.
    articles.delete(&deep_dive.id).await?;
    let live_rust = articles.find(by_title().filter_by_tag("rust")).await?;
    assert_eq!(titles(&live_rust), ["Getting started with Rust"], "the deleted article should be left out");
    let with_deleted = articles.count_where(QueryBuilder::new().filter_by_tag("rust").with_deleted()).await?;
    assert_eq!(with_deleted, 2, "with_deleted should count the deleted rust article too");
    let edit_deleted = articles.add_tags(&deep_dive.id, ["late"]).await;
    assert!(matches!(edit_deleted, Err(StoreError::Deleted { .. })), "tag edits of a deleted row: {edit_deleted:?}");
    let restored = articles.restore(&deep_dive.id).await?;
    assert_eq!(restored.tags(), ["rust", "async", "advanced"], "tags come back with the row");
    println!("Deleted and restored \"{}\"; its tags came back: {:?}.", restored.title, restored.tags());

    storehaus.close().await;
    println!("all checks passed");
    Ok(())
}
