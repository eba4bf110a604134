//! A small content management system: authors write drafts and publish them, categories are tags,
//! readers page through the published posts with keyset pagination and a cached front page,
//! moderators hide and restore comments while a signal callback keeps each post's comment count up
//! to date, two editors saving the same post meet optimistic locking, JSON metadata is queried by
//! path, and pages read posts with their authors and comments through the models' relations: a
//! few statements per page, never one per post.
//!
//! ```text
//! cargo run --example blog_system
//! ```
//!
//! With no `DATABASE_URL`, `REDIS_URL`, `$STOREHAUS_CONFIG` or `storehaus.toml` it runs on the
//! embedded default: SQLite in memory with an in-memory cache. Otherwise settings come from
//! `AppConfig::load()` (those, and `STOREHAUS_*` variables) and the cache is Redis at
//! `REDIS_URL`; PostgreSQL and SQLite both work. The tables `blog_authors`, `blog_posts` and
//! `blog_comments` are recreated on every run. The example exits non-zero when a check fails.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use storehaus::cache::CacheManager;
use storehaus::prelude::*;
use storehaus::signals::{EventType, Subscription};
use tokio::sync::mpsc;

/// Authors have many posts: `Author::posts()`.
#[model]
#[table(name = "blog_authors")]
#[has_many(Post, foreign_key = "author_id")]
pub struct Author {
    #[primary_key]
    pub id: Uuid,
    pub name: String,
    #[unique]
    pub email: String,
}

/// Posts are versioned: an editor saving a copy that someone changed meanwhile gets a conflict.
/// A post belongs to its author (`Post::author()`), who cannot be deleted while the post exists,
/// and has many comments (`Post::comments()`).
#[model]
#[table(name = "blog_posts", versioned)]
#[has_many(Comment, foreign_key = "post_id")]
pub struct Post {
    #[primary_key]
    pub id: Uuid,
    #[belongs_to(Author, on_delete = "restrict")]
    pub author_id: Uuid,
    #[unique]
    pub slug: String,
    pub title: String,
    pub body: String,
    #[index]
    pub status: String,
    pub published_at: Option<DateTime<Utc>>,
    pub metadata: serde_json::Value,
    /// Live comments, kept up to date by a signal callback so listings need no join.
    pub comment_count: i32,
}

/// Comments are soft-deleted: moderation hides them, and a restore brings them back. Removing a
/// post for good removes its comments with it.
#[model]
#[table(name = "blog_comments", soft_delete)]
pub struct Comment {
    #[primary_key]
    pub id: Uuid,
    #[belongs_to(Post, on_delete = "cascade")]
    pub post_id: Uuid,
    pub author_name: String,
    pub body: String,
}

const DRAFT: &str = "draft";
const PUBLISHED: &str = "published";
/// Posts per page of the public listing.
const PAGE_SIZE: usize = 3;
/// How long a comment's effect on its post's count may take to arrive.
const SIGNAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Comments shown under each post of the front page.
const LATEST_COMMENTS: usize = 2;

/// Whether anything says where the database and the cache are. When nothing does, the example runs
/// on the embedded default.
fn configured() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    set("DATABASE_URL") || set("REDIS_URL") || set("STOREHAUS_CONFIG") || Path::new("storehaus.toml").exists()
}

/// The public listing, newest first. `published_at` is an `Option` (drafts have none), and
/// keyset pagination needs sort keys that are never NULL, so the listing orders by creation time.
fn published() -> QueryBuilder {
    QueryBuilder::new().filter(Post::columns().status.eq(PUBLISHED)).order_by("__created_at__", SortOrder::Desc)
}

/// Publishes a draft: one statement sets the status and the publication time.
async fn publish(posts: &GenericStore<Post>, id: Uuid) -> Result<Record<Post>, StoreError> {
    let c = Post::columns();
    let draft = QueryBuilder::new().filter(c.id.eq(id)).filter(c.status.eq(DRAFT));
    let set = UpdateSet::new().set_column(c.status, PUBLISHED).set_column(c.published_at, Some(Utc::now()));
    let published = posts.update_where(draft, set).await?;
    published.into_iter().next().ok_or(StoreError::NotFound { table: Post::TABLE.name.into(), key: id.to_string() })
}

/// Waits for the callback to report the comment count of `post`, and checks it.
async fn expect_count(counted: &mut mpsc::UnboundedReceiver<(Uuid, i32)>, post: Uuid, expected: i32) {
    let reported = tokio::time::timeout(SIGNAL_TIMEOUT, counted.recv()).await;
    assert_eq!(reported, Ok(Some((post, expected))), "the callback recounts post {post}'s comments as {expected}");
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = AppConfig::load()?;
    let embedded = !configured();
    if embedded {
        config.database = DatabaseConfig::embedded(":memory:");
    }
    let storehaus = StoreHaus::new(config.database.clone()).await?;
    let cache = Arc::new(if embedded {
        CacheManager::memory(&config.cache)?
    } else {
        CacheManager::new(config.cache.clone())?
    });
    let signals = storehaus.signal_manager(config.signal.clone()).await?;
    let cache_kind = if embedded { "an in-memory cache" } else { "Redis" };
    println!("blog on {} ({}) with {cache_kind}", config.database.redacted_url(), storehaus.pool().backend_name());

    // Parents before children: a foreign key needs the table it refers to. On PostgreSQL,
    // recreating a parent drops the keys that referred to it; recreating the child after it
    // declares them again.
    storehaus.auto_migrate::<Author>(true).await?;
    storehaus.auto_migrate::<Post>(true).await?;
    storehaus.auto_migrate::<Comment>(true).await?;
    println!("recreated blog_authors, blog_posts, blog_comments");

    // Posts are read far more often than written: their store reads through the cache. Comments
    // announce their writes, so the callback below can keep the posts' counts.
    let params = CacheParams::new(Arc::clone(&cache), 300, format!("blog_system:{}", Uuid::new_v4().simple()));
    let authors = GenericStore::<Author>::new(storehaus.pool().clone(), None, None);
    let posts = GenericStore::<Post>::new(storehaus.pool().clone(), None, Some(params.clone()));
    let comments = GenericStore::<Comment>::new(storehaus.pool().clone(), Some(Arc::clone(&signals)), None);

    // Recount rather than add or subtract one: a callback that runs twice for an event (delivery
    // is at least once across restarts) then still writes the right number.
    let (report, mut counted) = mpsc::unbounded_channel();
    let (live_comments, counted_posts) = (comments.clone(), posts.clone());
    let moderation = [EventType::Create, EventType::SoftDelete, EventType::Restore, EventType::Delete];
    signals.add_callback_for(Subscription::table(Comment::TABLE.name).events(moderation), move |event| {
        let (comments, posts, report) = (live_comments.clone(), counted_posts.clone(), report.clone());
        async move {
            let post: Uuid = event.payload["post_id"].as_str().ok_or("comment without post")?.parse()?;
            let live = comments.count_where(QueryBuilder::new().filter(Comment::columns().post_id.eq(post))).await?;
            let count = i32::try_from(live)?;
            let c = Post::columns();
            posts
                .update_where(
                    QueryBuilder::new().filter(c.id.eq(post)),
                    UpdateSet::new().set_column(c.comment_count, count),
                )
                .await?;
            report.send((post, count)).map_err(|_| "nobody waits for comment counts")?;
            Ok(())
        }
    })?;

    // 1. Two authors write ten drafts; the category is a tag, details go into JSON metadata.
    let ada = authors.create(Author::new(Uuid::new_v4(), "Ada".into(), "ada@example.com".into()), None).await?;
    let linus = authors.create(Author::new(Uuid::new_v4(), "Linus".into(), "linus@example.com".into()), None).await?;
    // Signing up twice with one email stores nothing the second time; an import keyed by email
    // updates the author who has it (keeping that author's id) instead of adding a second one.
    let again = Author::new(Uuid::new_v4(), "Ada L.".into(), "ada@example.com".into());
    assert!(authors.create_or_ignore(again, None).await?.is_none(), "the email is taken");
    let imported = Author::new(Uuid::new_v4(), "Ada Lovelace".into(), "ada@example.com".into());
    let renamed = authors.upsert_with(imported, None, Upsert::on(["email"])).await?;
    assert_eq!((renamed.id, renamed.name.as_str()), (ada.id, "Ada Lovelace"), "the same author, renamed");
    assert_eq!(authors.count().await?, 2);
    let categories = ["rust", "databases", "release-notes"];
    let mut drafts = Vec::new();
    for n in 0..10 {
        let author = if n % 2 == 0 { ada.id } else { linus.id };
        let lang = if n % 4 == 0 { "de" } else { "en" };
        let metadata = json!({ "reading_minutes": 3 + n, "seo": { "lang": lang }, "featured": n % 5 == 0 });
        let post = Post::new(
            Uuid::new_v4(),
            author,
            format!("post-{n}"),
            format!("Post number {n}"),
            format!("Body of post {n}."),
            DRAFT.into(),
            None,
            metadata,
            0,
        );
        drafts.push(posts.create(post, Some(vec![categories[n % 3].into()])).await?);
    }
    let unpublished = posts.count_where(QueryBuilder::new().filter(Post::columns().published_at.is_null())).await?;
    assert_eq!(unpublished, 10, "every draft starts without published_at");
    println!("1. Ada and Linus wrote {} drafts in {} categories", drafts.len(), categories.len());

    // 2. Publish seven drafts. The newest, post 9, waits for step 3; posts 6 and 8 stay drafts.
    for draft in &drafts[..6] {
        publish(&posts, draft.id).await?;
    }
    publish(&posts, drafts[7].id).await?;
    let listed = posts.find(published()).await?;
    assert_eq!(listed.len(), 7, "seven posts are published");
    assert!(listed.iter().all(|p| p.published_at.is_some()), "every published post has published_at");
    println!("2. published 7 posts; the other 3 stay drafts without published_at");

    // 3. The front page through the cache: the second read is a hit, and a publish shows at once.
    let front_page = || published().limit(PAGE_SIZE);
    posts.find_cached(front_page()).await?;
    let before = cache.stats();
    let warm = posts.find_cached(front_page()).await?;
    assert_eq!(cache.stats().hits, before.hits + 1, "the second front-page read is a cache hit");
    let newest = publish(&posts, drafts[9].id).await?;
    let fresh = posts.find_cached(front_page()).await?;
    assert_ne!(warm.first().map(|p| p.id), Some(newest.id), "the newest draft was not on the front page before");
    assert_eq!(fresh.first().map(|p| p.id), Some(newest.id), "the publish tops the cached front page at once");
    println!("3. front page served from the cache; {:?} appeared on it right after publishing", newest.title);

    // 4. Categories are tags: filter by one, or by any of several.
    let rust = posts.find(published().filter_by_tag("rust")).await?;
    let rust_or_db = posts.count_where(published().filter_by_any_tag(["rust", "databases"])).await?;
    let expected: Vec<Uuid> = listed.iter().chain([&newest]).filter(|p| p.tags() == ["rust"]).map(|p| p.id).collect();
    assert_eq!(rust.iter().map(|p| p.id).collect::<HashSet<_>>(), expected.into_iter().collect(), "rust posts");
    assert_eq!(rust_or_db, 6, "six published posts are about rust or databases");
    println!("4. category rust: {} published posts; rust or databases: {rust_or_db}", rust.len());

    // 5. Keyset pagination: each page continues after the last row of the one before, and the
    //    cursor travels to the client as sealed text, which the client can neither read nor
    //    alter. (`find_page` always reads the database.) The key's secret would come from the
    //    application's configuration; it must be at least 32 bytes.
    let cursor_key = CursorKey::new("blog-system example secret, 32 bytes or more")?;
    let (mut seen, mut pages, mut token) = (Vec::new(), 0, None::<String>);
    loop {
        let query = match &token {
            Some(text) => published().limit(PAGE_SIZE).after(&Cursor::open(text, &cursor_key)?),
            None => published().limit(PAGE_SIZE),
        };
        let page = posts.find_page(query).await?;
        pages += 1;
        seen.extend(page.records.iter().map(|p| p.id));
        match page.next {
            Some(cursor) => token = Some(cursor.seal(&cursor_key)),
            None => break,
        }
    }
    let plain = posts.find_page(published().limit(PAGE_SIZE)).await?.next.map(|cursor| cursor.encode());
    let refused = Cursor::open(&plain.unwrap_or_default(), &cursor_key);
    assert!(matches!(refused, Err(StoreError::Validation { .. })), "a cursor the server did not seal is refused");
    let all: Vec<Uuid> = posts.find(published()).await?.iter().map(|p| p.id).collect();
    assert_eq!(seen, all, "the pages list every published post once, newest first");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 8, "no post appears on two pages");
    let front: Vec<Uuid> = fresh.iter().map(|p| p.id).collect();
    assert_eq!(seen[..PAGE_SIZE], front[..], "page 1 is the cached front page");
    println!("5. {pages} pages of up to {PAGE_SIZE} listed all {} published posts exactly once, in order", seen.len());
    // The oldest posts page backwards from the end: `last` reads the order reversed, and a page's
    // `previous` cursor leads to the rows before it; pages still come newest first.
    let oldest = posts.find_page(published().last(PAGE_SIZE)).await?;
    assert_eq!(oldest.records.iter().map(|p| p.id).collect::<Vec<_>>(), seen[seen.len() - PAGE_SIZE..]);
    assert!(!oldest.has_next && oldest.has_previous, "the oldest page ends the list");
    let before = posts.find_page(published().limit(PAGE_SIZE).before(&oldest.previous.expect("more posts"))).await?;
    let end = seen.len() - PAGE_SIZE;
    assert_eq!(before.records.iter().map(|p| p.id).collect::<Vec<_>>(), seen[end - PAGE_SIZE..end]);
    println!("   backwards: the oldest {PAGE_SIZE} posts, then the {PAGE_SIZE} before them");

    // 6. Comments and moderation; after each change the callback recounts the post's comments.
    let post = newest.id;
    let mut written = Vec::new();
    for (n, (name, body)) in
        [("Grace", "Great read!"), ("spambot", "Cheap watches here"), ("Edsger", "Section 2 is wrong")]
            .into_iter()
            .enumerate()
    {
        let comment = comments.create(Comment::new(Uuid::new_v4(), post, name.into(), body.into()), None).await?;
        written.push(comment.id);
        expect_count(&mut counted, post, n as i32 + 1).await;
    }
    let (spam, disputed) = (written[1], written[2]);
    comments.delete(&spam).await?;
    expect_count(&mut counted, post, 2).await;
    comments.delete(&disputed).await?; // hidden while a moderator checks it
    expect_count(&mut counted, post, 1).await;
    assert!(comments.get_by_id(&spam).await?.is_none(), "a hidden comment is not served");
    let queue = comments.find(QueryBuilder::new().only_deleted().order_by("author_name", SortOrder::Asc)).await?;
    let queue: Vec<&str> = queue.iter().map(|c| c.author_name.as_str()).collect();
    assert_eq!(queue, ["Edsger", "spambot"], "the moderation queue holds the two hidden comments");
    comments.restore(&disputed).await?; // reviewed: it may stay
    expect_count(&mut counted, post, 2).await;
    let shown = posts.get_by_id(&post).await?.ok_or("the post is missing")?;
    assert_eq!(shown.comment_count, 2, "the cached post shows the count the callback wrote");
    println!("6. 3 comments, spam and a disputed one hidden, the disputed one restored: comment_count = 2");

    // 7. Two editors open the same version and save at the same time: one wins, one gets a conflict.
    let opened = posts.get_by_id(&post).await?.ok_or("the post is missing")?;
    let version = opened.version().ok_or("posts are versioned")?;
    let revise_title = |post: &mut Post| post.title = "Post number 9, revised".into();
    let proofread = |post: &mut Post| post.body = "Body of post 9, proofread.".into();
    let (mut ada_copy, mut linus_copy) = (opened.clone().into_inner(), opened.into_inner());
    revise_title(&mut ada_copy);
    proofread(&mut linus_copy);
    let (ada_save, linus_save) = tokio::join!(
        posts.update_versioned(&post, ada_copy, None, version),
        posts.update_versioned(&post, linus_copy, None, version),
    );
    let (won, lost) = match (&ada_save, &linus_save) {
        (Ok(_), Err(StoreError::Conflict { .. })) => ("Ada", "Linus"),
        (Err(StoreError::Conflict { .. }), Ok(_)) => ("Linus", "Ada"),
        other => return Err(format!("expected one save and one conflict, got {other:?}").into()),
    };
    // The loser reloads, applies the edit again to the current version, and saves.
    let mut retry = posts.get_by_id(&post).await?.ok_or("the post is missing")?;
    if lost == "Ada" {
        revise_title(&mut retry)
    } else {
        proofread(&mut retry)
    }
    let merged = posts.save(&retry).await?;
    assert_eq!(merged.version(), Some(version + 2), "two saves, two versions");
    let both = ("Post number 9, revised", "Body of post 9, proofread.");
    assert_eq!((merged.title.as_str(), merged.body.as_str()), both, "both editors' changes are kept");
    assert_eq!(merged.comment_count, 2, "neither editor overwrote the comment count");
    println!("7. both editors saved version {version}: {won} won, {lost} got a conflict, reloaded and saved again");

    // 8. JSON metadata by path: German posts, and featured ones, among the published.
    let german =
        posts.find(published().filter(QueryFilter::json_path_eq("metadata", ["seo", "lang"], json!("de")))).await?;
    let featured =
        posts.count_where(published().filter(QueryFilter::json_path_eq("metadata", ["featured"], json!(true)))).await?;
    let german: Vec<&str> = german.iter().map(|p| p.slug.as_str()).collect();
    assert_eq!(german, ["post-4", "post-0"], "published posts whose metadata says seo.lang = de, newest first");
    assert_eq!(featured, 2, "post-0 and post-5 are featured");
    println!("8. metadata: German posts {german:?}; {featured} featured posts");

    // JSON leaves compare as numbers (10 > 9, though "10" < "9" as text), and a path can be absent.
    let long_reads = QueryFilter::json_path_gte("metadata", ["reading_minutes"], json!(10));
    let long_reads: Vec<String> =
        posts.find(published().filter(long_reads)).await?.iter().map(|p| p.slug.clone()).collect();
    let expected: Vec<String> = posts
        .find(published())
        .await?
        .iter()
        .filter(|p| p.metadata["reading_minutes"].as_i64().is_some_and(|minutes| minutes >= 10))
        .map(|p| p.slug.clone())
        .collect();
    assert_eq!(long_reads, expected, "published posts of 10 minutes or more");
    let no_lang =
        posts.count_where(published().filter(QueryFilter::json_path_absent("metadata", ["seo", "lang"]))).await?;
    assert_eq!(no_lang, 0, "every post's metadata has seo.lang");
    println!("   {} published posts take 10 minutes or more to read: {long_reads:?}", long_reads.len());

    // 9. Pages read through the relations: the records, then one statement per relation and level
    //    for all of them together, never one per post. Readers first comment on two more posts;
    //    the callback recounts after each comment as before.
    let (post_7, post_5) = (drafts[7].id, drafts[5].id);
    for (on, name, body, live) in [
        (post_7, "Grace", "Short and clear.", 1),
        (post_7, "Alan", "Could you add an example?", 2),
        (post_5, "Barbara", "The second link is broken.", 1),
        (post_7, "Barbara", "Works for me.", 3),
        (post_7, "Alan", "Thanks, the example helped.", 4),
    ] {
        comments.create(Comment::new(Uuid::new_v4(), on, name.into(), body.into()), None).await?;
        expect_count(&mut counted, on, live).await;
    }

    // The front page: each post with its author, joined into the posts' own statement, and its
    // latest comments, with a limit that applies to each post rather than to the whole page.
    let latest = QueryBuilder::new().order_by("__created_at__", SortOrder::Desc).limit(LATEST_COMMENTS);
    let page = posts.find_with(front_page(), (Post::author().joined(), Post::comments().query(latest))).await?;
    println!("9. the front page, each post with its author and its {LATEST_COMMENTS} latest comments (2 statements):");
    let mut shown = Vec::new();
    for listed in &page {
        let author = listed.one(Post::author()).ok_or("a post without its author")?;
        let latest = listed.related(Post::comments());
        let lines: Vec<String> = latest.iter().map(|c| format!("{}: {:?}", c.author_name, c.body)).collect();
        let noun = if listed.comment_count == 1 { "comment" } else { "comments" };
        let (title, count) = (&listed.title, listed.comment_count);
        println!("   {title:?} by {}, {count} {noun}: {}", author.name, lines.join(" / "));
        assert_eq!(latest.len(), usize::try_from(listed.comment_count)?.min(LATEST_COMMENTS), "{}", listed.slug);
        shown.push((listed.slug.as_str(), latest.iter().map(|c| c.author_name.as_str()).collect::<Vec<_>>()));
    }
    let expected = [
        ("post-9", vec!["Edsger", "Grace"]), // the hidden spam is left out
        ("post-7", vec!["Alan", "Barbara"]),
        ("post-5", vec!["Barbara"]),
    ];
    assert_eq!(shown, expected, "the newest posts, each with its latest live comments, newest first");

    // Counting without loading: one `GROUP BY` for every published post, in agreement with the
    // count the callback keeps in each post.
    let tallied = posts.find_with(published(), Post::comments().with_count()).await?;
    let mut commented = Vec::new();
    for listed in &tallied {
        let live = listed.count(Post::comments()).ok_or("comments were counted")?;
        assert_eq!(live, u64::try_from(listed.comment_count)?, "{}: the count and comment_count agree", listed.slug);
        if live > 0 {
            commented.push(format!("{} ({live})", listed.slug));
        }
    }
    println!("   counted by the database for {} published posts: {}", tallied.len(), commented.join(", "));

    // Two levels: each author's published posts, each post with its comments (3 statements).
    let by_author = authors
        .find_with(
            QueryBuilder::new().order_by("name", SortOrder::Asc),
            Author::posts().query(published()).with(Post::comments()),
        )
        .await?;
    let mut summary = Vec::new();
    for author in &by_author {
        let written = author.related(Author::posts());
        let replies: usize = written.iter().map(|p| p.related(Post::comments()).len()).sum();
        let slugs: Vec<&str> = written.iter().map(|p| p.slug.as_str()).collect();
        println!("   {}: {} published posts with {replies} comments: {}", author.name, slugs.len(), slugs.join(", "));
        summary.push((author.name.as_str(), slugs.len(), replies));
    }
    assert_eq!(summary, [("Ada Lovelace", 3, 0), ("Linus", 5, 7)], "published posts and live comments per author");

    // Filters over relations, one `EXISTS` each: the authors with a draft left, and the posts
    // Grace commented on. Hidden comments do not count: no post has a visible one by spambot.
    let drafting = QueryFilter::has_where(Author::posts(), Post::columns().status.eq(DRAFT));
    let drafting: Vec<String> =
        authors.find(QueryBuilder::new().filter(drafting)).await?.iter().map(|a| a.name.clone()).collect();
    let by_grace = QueryFilter::has_where(Post::comments(), Comment::columns().author_name.eq("Grace"));
    let by_grace: Vec<String> =
        posts.find(published().filter(by_grace)).await?.iter().map(|p| p.slug.clone()).collect();
    let spammed = QueryFilter::has_where(Post::comments(), Comment::columns().author_name.eq("spambot"));
    let spammed = posts.count_where(QueryBuilder::new().filter(spammed)).await?;
    assert_eq!(drafting, ["Ada Lovelace"], "posts 6 and 8 are Ada's drafts");
    assert_eq!(by_grace, ["post-9", "post-7"], "Grace commented on posts 9 and 7");
    assert_eq!(spammed, 0, "the spam is hidden");
    println!(
        "   authors with drafts: {drafting:?}; posts Grace commented on: {by_grace:?}; with visible spam: {spammed}"
    );

    // 10. The database keeps the relations whole: removing post 5 removes its comment with it
    //     (`ON DELETE CASCADE`), and an author who has posts cannot be removed (`RESTRICT`).
    let on_post_5 = || QueryBuilder::new().with_deleted().filter(Comment::columns().post_id.eq(post_5));
    assert_eq!(comments.count_where(on_post_5()).await?, 1, "post 5 has one comment");
    assert!(posts.delete(&post_5).await?, "post 5 is removed");
    assert_eq!(comments.count_where(on_post_5()).await?, 0, "its comment went with it");
    let refused = authors.delete(&linus.id).await;
    assert!(matches!(refused, Err(StoreError::ForeignKeyViolation { .. })), "Linus still has posts: {refused:?}");
    assert_eq!(authors.count().await?, 2, "both authors remain");
    println!("10. removed post-5 and its comment with it; removing Linus, who has posts, was refused:");
    println!("   {}", refused.unwrap_err());

    cache.forget_table(&params.table(Post::TABLE.name)).await?;
    signals.shutdown().await;
    storehaus.close().await;
    println!("all checks passed");
    Ok(())
}
