//! The steps of the demo: each does one thing, checks the result and prints one line.

use crate::{Author, Demo, Post, Res};
use std::time::Duration;
use storehaus::prelude::*;
use storehaus::signals::EventType;

/// Rows `create_many` writes in one call.
const POSTS: usize = 1_000;

fn ensure(ok: bool, what: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(format!("expected: {what}")) }
}

/// Recreates both tables, so the demo starts empty on every run; a second plan finds nothing to do.
pub async fn models(storehaus: &StoreHaus) -> Res {
    let authors = storehaus.auto_migrate::<Author>(true).await?;
    let posts = storehaus.auto_migrate::<Post>(true).await?;
    ensure(storehaus.plan::<Author>().await?.is_empty(), "demo_authors matches its model")?;
    ensure(storehaus.plan::<Post>().await?.is_empty(), "demo_posts matches its model")?;
    let steps = authors.steps.len() + posts.steps.len();
    println!("models: auto_migrate recreated demo_authors and demo_posts ({steps} steps); a second plan is empty");
    Ok(())
}

pub async fn crud(d: &mut Demo) -> Res<Uuid> {
    let ada = Author::new(Uuid::new_v4(), "Ada".into(), "ada@example.com".into());
    let ada = d.authors.create(ada, Some(vec!["staff".into()])).await?;
    d.events.expect(EventType::Create, ada.id);
    let read = d.authors.get_by_id(&ada.id).await?.ok_or("Ada cannot be read back")?;
    ensure(read.email == "ada@example.com" && read.tags() == ["staff"], "Ada reads back as created")?;
    let renamed = Author { name: "Ada Lovelace".into(), ..read.into_inner() };
    let renamed = d.authors.update(&ada.id, renamed, None).await?;
    d.events.expect(EventType::Update, ada.id);
    ensure(renamed.name == "Ada Lovelace" && renamed.tags() == ["staff"], "update renames and keeps the tags")?;
    let all = d.authors.list_all().await?;
    ensure(all.len() == 1 && all[0].name == "Ada Lovelace", "list_all returns the renamed author")?;
    println!("CRUD: created, read back, renamed and listed {} <{}>", renamed.name, renamed.email);
    Ok(ada.id)
}

pub async fn tags(d: &mut Demo, ada: Uuid) -> Res<Uuid> {
    let grace = Author::new(Uuid::new_v4(), "Grace".into(), "grace@example.com".into());
    let grace = d.authors.create(grace, None).await?;
    d.events.expect(EventType::Create, grace.id);
    let tagged = d.authors.add_tags(&ada, ["editor"]).await?;
    d.events.expect(EventType::Update, ada);
    ensure(tagged.tags() == ["staff", "editor"], "add_tags appends to the tags")?;
    let editors = d.authors.find(QueryBuilder::new().filter_by_tag("editor")).await?;
    ensure(editors.len() == 1 && editors[0].id == ada, "only Ada is tagged editor")?;
    println!("tags: add_tags gave Ada {:?}; filter_by_tag(\"editor\") finds her and not Grace", tagged.tags());
    Ok(grace.id)
}

pub async fn soft_delete(d: &mut Demo, grace: Uuid) -> Res {
    ensure(d.authors.delete(&grace).await?, "delete finds Grace")?;
    d.events.expect(EventType::SoftDelete, grace);
    ensure(d.authors.get_by_id(&grace).await?.is_none(), "get_by_id hides a deleted author")?;
    let kept = d.authors.get_by_id_with_deleted(&grace).await?;
    ensure(kept.is_some_and(|grace| grace.deleted_at().is_some()), "the deleted row is kept")?;
    ensure(d.authors.list_all().await?.len() == 1, "list_all leaves the deleted author out")?;
    d.authors.restore(&grace).await?;
    d.events.expect(EventType::Restore, grace);
    ensure(d.authors.list_all().await?.len() == 2, "the restored author is listed again")?;
    ensure(d.authors.force_delete(&grace).await?, "force_delete finds Grace")?;
    d.events.expect(EventType::Delete, grace);
    ensure(d.authors.get_by_id_with_deleted(&grace).await?.is_none(), "force_delete removes the row")?;
    println!("soft delete: Grace hidden from get_by_id and list_all but kept, restored, then force-deleted");
    Ok(())
}

pub async fn batch(d: &Demo, ada: Uuid) -> Res<Uuid> {
    let drafts: Vec<Post> = (1..=POSTS as i32)
        .map(|n| Post::new(Uuid::new_v4(), ada, format!("Post {n}"), n, None, json!({ "n": n })))
        .collect();
    let created = d.posts.create_many(drafts, Some(vec!["draft".into()])).await?;
    let count = d.posts.count().await?;
    let drafts = d.posts.count_where(QueryBuilder::new().filter_by_tag("draft")).await?;
    ensure(created.len() == POSTS && count == POSTS as u64 && drafts == count, "every post is written, tagged")?;
    println!("batch: create_many wrote {} posts tagged draft in one call; count() = {count}", created.len());
    Ok(created[0].id)
}

pub async fn queries(d: &Demo) -> Res {
    let long = || Post::columns().words.gte(900);
    let query = QueryBuilder::new().filter(long()).order(Post::columns().words.desc()).limit(3);
    let top = d.posts.find(query).await?;
    let titles: Vec<&str> = top.iter().map(|post| post.title.as_str()).collect();
    ensure(titles == ["Post 1000", "Post 999", "Post 998"], "the three longest posts, longest first")?;
    let count = d.posts.count_where(QueryBuilder::new().filter(long())).await?;
    ensure(count == 101, "101 posts have at least 900 words")?;
    println!("queries: words >= 900 ordered by words desc, limit 3: {titles:?}; count_where = {count}");
    Ok(())
}

pub async fn optimistic_locking(d: &Demo, id: Uuid) -> Res {
    let post = d.posts.get_by_id(&id).await?.ok_or("the first post is missing")?;
    let edited = Post { title: "Edited".into(), ..post.clone().into_inner() };
    let fresh = d.posts.update_versioned(&id, edited, None, 1).await?;
    let stale = d.posts.update_versioned(&id, post.into_inner(), None, 1).await;
    ensure(fresh.version() == Some(2), "the first writer moves version 1 to 2")?;
    ensure(matches!(stale, Err(StoreError::Conflict { .. })), "a writer still at version 1 gets a conflict")?;
    println!("optimistic locking: version 1 became 2; a writer still holding version 1 got StoreError::Conflict");
    Ok(())
}

pub async fn transactions(d: &mut Demo) -> Res {
    let before = d.authors.count().await?;
    let bob = Author::new(Uuid::new_v4(), "Bob".into(), "bob@example.com".into());
    let bob_id = bob.id;
    let authors = d.authors.clone();
    let outcome = d
        .storehaus
        .transaction(|tx| async move {
            authors.with_transaction(&tx).create(bob, None).await?;
            Err::<(), _>(StoreError::Validation { field: None, message: "changed my mind".into() })
        })
        .await;
    ensure(outcome.is_err(), "the failing transaction reports its error")?;
    let bob = d.authors.get_by_id_with_deleted(&bob_id).await?;
    ensure(bob.is_none() && d.authors.count().await? == before, "the rolled-back transaction wrote nothing")?;

    // Every event so far has arrived; none may arrive while the next transaction is open.
    d.events.settle().await?;
    let tx = d.storehaus.begin().await?;
    let carol = Author::new(Uuid::new_v4(), "Carol".into(), "carol@example.com".into());
    let carol = d.authors.with_transaction(&tx).create(carol, None).await?;
    d.events.quiet(Duration::from_millis(300)).await?;
    tx.commit().await?;
    d.events.expect(EventType::Create, carol.id);
    d.events.settle().await?;
    ensure(d.authors.count().await? == before + 1, "the committed author is there")?;
    println!(
        "transactions: a failed one rolled back (Bob never written); a committed one wrote Carol, announced after commit"
    );
    Ok(())
}

pub async fn read_through_cache(d: &mut Demo, ada: Uuid, kind: &str) -> Res {
    d.authors.get_by_id(&ada).await?;
    let first = d.cache.stats();
    let read = d.authors.get_by_id(&ada).await?.ok_or("Ada is missing")?;
    let second = d.cache.stats();
    ensure(second.hits == first.hits + 1 && second.misses == first.misses, "the second read is a cache hit")?;
    d.authors.update(&ada, Author { name: "Ada King".into(), ..read.into_inner() }, None).await?;
    d.events.expect(EventType::Update, ada);
    let updated = d.cache.stats();
    let read = d.authors.get_by_id(&ada).await?.ok_or("Ada is missing")?;
    let third = d.cache.stats();
    ensure(third.misses == updated.misses + 1, "the update invalidated the cached row")?;
    ensure(read.name == "Ada King", "the read after the update sees the new name")?;
    let (name, hits, misses) = (&read.name, third.hits, third.misses);
    println!(
        "cache ({kind}): 2nd get_by_id a hit; after update the next read missed, saw {name:?} (hits={hits} misses={misses})"
    );
    Ok(())
}

pub async fn signals_delivered(d: &mut Demo) -> Res {
    d.events.settle().await?;
    let kinds: Vec<&str> = d.events.received().iter().map(|(kind, _)| kind.as_str()).collect();
    println!(
        "signals: the {} committed author writes arrived in order ({}); none for Bob's rollback",
        kinds.len(),
        kinds.join(", ")
    );
    Ok(())
}
