//! Migration files: the schema kept as reviewed SQL files instead of `auto_migrate` at start-up.
//! Two models get a first file (the parent table before the child, whatever order they are
//! named in), which is printed, applied and recorded; then the post model gains a field and an
//! index, a second file holds just that change, and applying it leaves the database matching
//! the models. A file edited after it ran is refused.
//!
//! ```text
//! cargo run --example migration_files
//! ```
//!
//! It needs no server: the database is SQLite in memory and the files go to a fresh directory
//! under the system's temporary directory, removed at the end. The calls are the same on
//! PostgreSQL, whose files also get an `after-commit` section (indexes on existing tables are
//! built `CONCURRENTLY`); see docs/migrations.md. It exits non-zero when a file, a status or the
//! data is not what it should be.

use std::path::{Path, PathBuf};
use storehaus::migrations::{self, FileState, MigrationStatus};
use storehaus::prelude::*;
use storehaus::schema::Change;

/// The parent table.
#[model]
#[table(name = "files_authors")]
pub struct Author {
    #[primary_key]
    pub id: Uuid,
    #[unique]
    pub email: String,
}

/// The first version of the child table.
#[model]
#[table(name = "files_posts")]
pub struct PostV1 {
    #[primary_key]
    pub id: Uuid,
    #[belongs_to(Author, on_delete = "cascade")]
    pub author_id: Uuid,
    pub title: String,
}

/// The second version: a nullable, indexed `slug`, a change safe on a table that has rows.
#[model]
#[table(name = "files_posts")]
pub struct PostV2 {
    #[primary_key]
    pub id: Uuid,
    #[belongs_to(Author, on_delete = "cascade")]
    pub author_id: Uuid,
    pub title: String,
    #[index]
    pub slug: Option<String>,
}

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// A directory of this run alone, removed when dropped, even when the example fails halfway.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> std::io::Result<Self> {
        let path = std::env::temp_dir().join(format!("storehaus-migration-files-{}", std::process::id()));
        // A directory left by an earlier run of the same process id would hold its files.
        if path.exists() {
            std::fs::remove_dir_all(&path)?;
        }
        Ok(ScratchDir(path))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::main]
async fn main() -> Res {
    let storehaus = StoreHaus::new(DatabaseConfig::embedded(":memory:")).await?;
    let scratch = ScratchDir::new()?;
    let dir = scratch.0.join("migrations");
    println!("migration files in {} (SQLite in memory)", dir.display());

    // 1. The first file, for both models. The child is named first; the file creates the
    //    parent first all the same, since the child's foreign key refers to it.
    let first = migrations::generate::<(PostV1, Author)>(storehaus.pool(), &dir, "create_blog")
        .await?
        .ok_or("two missing tables should make a file")?;
    let tables: Vec<&str> = first.plans.iter().map(|plan| plan.table.as_str()).collect();
    assert_eq!(tables, ["files_authors", "files_posts"], "parents first");
    assert!(first.reversible, "creating tables can be undone");
    show(&first.path)?;

    // Generating writes a file and changes nothing in the database: the file is pending, and
    // both tables differ from their models (they do not exist yet).
    let status = migrations::status::<(Author, PostV1)>(storehaus.pool(), &dir).await?;
    assert_eq!(states(&status), ["pending"], "the new file is not applied yet");
    assert_eq!(status.drift.len(), 2, "both tables are missing");
    assert!(storehaus.plan::<Author>().await?.steps.iter().any(|s| s.change == Change::CreateTable), "no table yet");

    let applied = migrations::apply(storehaus.pool(), &dir).await?;
    assert_eq!(applied.len(), 1, "one file applied");
    println!("applied {applied:?}");
    let status = migrations::status::<(Author, PostV1)>(storehaus.pool(), &dir).await?;
    print!("status:\n{status}");
    assert!(status.is_clean(), "after apply, every file is applied and the tables match the models");
    assert!(storehaus.plan::<PostV1>().await?.is_empty(), "auto_migrate would find nothing to do");

    // Rows written through the tables the file made.
    let authors = GenericStore::<Author>::new(storehaus.pool().clone(), None, None);
    let ada = authors.create(Author::new(Uuid::new_v4(), "ada@example.com".into()), None).await?;
    let posts = GenericStore::<PostV1>::new(storehaus.pool().clone(), None, None);
    posts.create(PostV1::new(Uuid::new_v4(), ada.id, "Notes on the engine".into()), None).await?;

    // Applying again runs nothing: the history lists the file.
    assert!(migrations::apply(storehaus.pool(), &dir).await?.is_empty(), "nothing left to apply");

    // 2. The model changes. Before a second file, the status shows the drift it will fix.
    let status = migrations::status::<(Author, PostV2)>(storehaus.pool(), &dir).await?;
    assert_eq!(status.drift.len(), 1, "files_posts differs from PostV2");
    print!("status against PostV2 before the second file:\n{status}");

    let second = migrations::generate::<(Author, PostV2)>(storehaus.pool(), &dir, "post_slugs")
        .await?
        .ok_or("the new field should make a file")?;
    assert!(second.version > first.version, "versions increase");
    let tables: Vec<&str> = second.plans.iter().map(|plan| plan.table.as_str()).collect();
    assert_eq!(tables, ["files_posts"], "only the changed table is in the file");
    show(&second.path)?;

    let applied = migrations::apply(storehaus.pool(), &dir).await?;
    println!("applied {applied:?}");
    assert_eq!(applied.len(), 1, "only the second file runs");
    let status = migrations::status::<(Author, PostV2)>(storehaus.pool(), &dir).await?;
    print!("status:\n{status}");
    assert!(status.is_clean(), "both files applied, the tables match the new models");
    assert_eq!(states(&status), ["applied", "applied"]);

    // The existing row kept its data; the new column is NULL on it.
    let posts = GenericStore::<PostV2>::new(storehaus.pool().clone(), None, None);
    let all = posts.find(QueryBuilder::new()).await?;
    let rows: Vec<(&str, Option<&str>)> = all.iter().map(|p| (p.title.as_str(), p.slug.as_deref())).collect();
    assert_eq!(rows, [("Notes on the engine", None)], "the row written before the second file is intact");

    // 3. A file that ran must not change: an edit is reported and refused.
    let mut text = std::fs::read_to_string(&second.path)?;
    text.push_str("-- an afterthought\n");
    std::fs::write(&second.path, text)?;
    let status = migrations::status::<()>(storehaus.pool(), &dir).await?;
    assert_eq!(states(&status), ["applied", "edited"], "the checksum shows the edit");
    match migrations::apply(storehaus.pool(), &dir).await {
        Err(StoreError::MigrationFile { file, message }) => println!("an edited file is refused: {file}: {message}"),
        other => return Err(format!("an edited file should be refused, got {other:?}").into()),
    }

    storehaus.close().await;
    drop(scratch);
    println!("both files applied once, in order; the database matches the models");
    Ok(())
}

/// Prints a generated file, indented.
fn show(path: &Path) -> Res {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    println!("\n{name}:");
    for line in std::fs::read_to_string(path)?.lines() {
        println!("    {line}");
    }
    println!();
    Ok(())
}

/// Each file's state, as one word.
fn states(status: &MigrationStatus) -> Vec<&'static str> {
    status
        .files
        .iter()
        .map(|file| match file.state {
            FileState::Pending => "pending",
            FileState::Applied { .. } => "applied",
            FileState::Unfinished { .. } => "unfinished",
            FileState::Edited { .. } => "edited",
            _ => "other",
        })
        .collect()
}
