//! SQL migration files: reviewable, checksummed, applied in order.
//!
//! [`StoreHaus::auto_migrate`](crate::StoreHaus::auto_migrate) suits start-up; teams that review
//! schema changes keep them as files instead. [`generate`] writes what the models need as a
//! timestamped SQL file, [`apply`] runs the files a database lacks and records each in the table
//! `storehaus_migrations` with its checksum, and [`status`] compares the two. Both paths plan
//! alike: a database migrated by files has an empty [`StoreHaus::plan`](crate::StoreHaus::plan).
//!
//! ```no_run
//! use storehaus::migrations;
//! use storehaus::prelude::*;
//!
//! #[model]
//! #[table(name = "users")]
//! pub struct User {
//!     #[primary_key]
//!     pub id: Uuid,
//!     #[field(create, update)]
//!     pub email: String,
//! }
//!
//! # async fn run(app: StoreHaus) -> Result<(), StoreError> {
//! // On a development database: write the file, review it, commit it.
//! if let Some(file) = migrations::generate::<User>(app.pool(), "migrations", "create_users").await? {
//!     println!("wrote {}", file.path.display());
//! }
//! // On every database, at deploy time: run the files it lacks, in order.
//! let applied = migrations::apply(app.pool(), "migrations").await?;
//! // Anything pending, edited since it ran, or differing from the models?
//! let status = migrations::status::<User>(app.pool(), "migrations").await?;
//! assert!(status.is_clean(), "{status}");
//! # Ok(()) }
//! ```
//!
//! A file is plain SQL in sections:
//!
//! ```text
//! -- storehaus:up
//! ALTER TABLE "users" ADD COLUMN "nickname" TEXT;
//! -- storehaus:after-commit
//! DROP INDEX CONCURRENTLY IF EXISTS "users_nickname_idx";
//! CREATE INDEX CONCURRENTLY "users_nickname_idx" ON "users" ("nickname");
//! -- storehaus:down
//! DROP INDEX IF EXISTS "users_nickname_idx";
//! ALTER TABLE "users" DROP COLUMN "nickname";
//! ```
//!
//! `up` runs in one transaction together with the file's entry in the history, so a file that
//! fails leaves neither its changes nor an entry. `after-commit` statements (PostgreSQL's
//! concurrent index builds, key validations) run one by one after that commit; the file stays
//! marked unfinished until they have all run, and the next [`apply`] runs them again (a
//! generated file writes them so that running them twice is safe). `down` is for undoing by hand
//! and is written only when every change can be undone.

mod file;
mod models;
mod split;
mod status;

pub use models::Models;
pub use status::{AppliedMigration, FileState, FileStatus, MigrationStatus};

use crate::backend::DbPool;
use crate::backend::migrate::files::FileToApply;
use crate::error::{Result, StoreError};
use crate::schema::{Change, MigrateOptions, MigrationPlan};
use std::path::{Path, PathBuf};

/// A file [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GeneratedFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its version (the UTC time it was written, `YYYYMMDDHHMMSS`).
    pub version: i64,
    /// The plan of each model that had changes, in the order the file applies them.
    pub plans: Vec<MigrationPlan>,
    /// Whether the file has a `down` section.
    pub reversible: bool,
}

/// Writes the changes `M`'s tables need, against this database, as a new file in `dir` named
/// `{version}_{name}.sql` (`name`: letters, digits and `_`); `None` when there is nothing to
/// change. The directory is created if missing.
///
/// The database should be the one the existing files were applied to: a pending or edited file
/// is refused ([`StoreError::MigrationFile`]), since the new file would repeat or contradict it.
/// Changes to tables that exist take the forms that are safe on a busy table whatever its size
/// here (indexes built concurrently, foreign keys added `NOT VALID` then validated), and the
/// refusals of [`StoreHaus::auto_migrate`](crate::StoreHaus::auto_migrate) apply (a `NOT NULL`
/// column without a default is refused for any existing table, which may have rows elsewhere).
pub async fn generate<M: Models>(db: &DbPool, dir: impl AsRef<Path>, name: &str) -> Result<Option<GeneratedFile>> {
    generate_with::<M>(db, dir, name, &MigrateOptions::default()).await
}

/// [`generate`], with `options` allowing changes that lose data (a dropped column, a type change).
pub async fn generate_with<M: Models>(
    db: &DbPool,
    dir: impl AsRef<Path>,
    name: &str,
    options: &MigrateOptions,
) -> Result<Option<GeneratedFile>> {
    let dir = dir.as_ref();
    // Checks the name before anything touches the database.
    file::file_name(0, name)?;
    if dir.exists() {
        let status = status::of_files(db, dir).await?;
        if let Some(blocking) = status.files.iter().find(|f| !matches!(f.state, FileState::Applied { .. })) {
            return Err(StoreError::MigrationFile {
                file: blocking.file_name.clone(),
                message: format!(
                    "it is {}; apply or restore the existing files before generating a new one, so that it \
                     starts from what they leave",
                    blocking.state
                ),
            });
        }
    }
    let tables = models::ordered(&M::tables());
    let (mut up, mut after_commit, mut down, mut plans) = (Vec::new(), Vec::new(), Ok(Vec::new()), Vec::new());
    let mut created: Vec<&str> = Vec::new();
    for table in &tables {
        let (plan, undo) = db.plan_file(table, options, &created).await?;
        if plan.is_empty() {
            continue;
        }
        if plan.steps.iter().any(|step| step.change == Change::CreateTable) {
            created.push(table.name);
        }
        for step in &plan.steps {
            if !step.outside_transaction {
                up.push(step.sql.clone());
                continue;
            }
            // An interrupted build leaves an invalid index of that name: dropping it first makes
            // the section safe to run again.
            if let Change::CreateIndex { name, .. } = &step.change {
                after_commit
                    .push(format!("DROP INDEX CONCURRENTLY IF EXISTS {}", crate::backend::sql::quote_ident(name)));
            }
            after_commit.push(step.sql.clone());
        }
        down = match (down, undo) {
            (Ok(mut all), Ok(undo)) => {
                // Undone in the reverse order of the tables.
                all.splice(0..0, undo);
                Ok(all)
            }
            (Err(reason), _) | (Ok(_), Err(reason)) => Err(reason),
        };
        plans.push(plan);
    }
    if plans.is_empty() {
        return Ok(None);
    }
    if up.is_empty() {
        // The section must hold a statement; a file of concurrent builds only gets a no-op.
        up.push("SELECT 1".to_owned());
    }
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, &e))?;
    let version = next_version(dir)?;
    let file_name = file::file_name(version, name)?;
    let text = file::render(version, name, &up, &after_commit, down.as_deref().map_err(String::as_str));
    let path = dir.join(&file_name);
    write_new(&path, &text)?;
    Ok(Some(GeneratedFile { path, version, plans, reversible: down.is_ok() }))
}

/// Runs the files of `dir` this database has not applied, in version order, each in its own
/// transaction with its entry in the history; returns the names of the files it applied.
///
/// Runs from several processes at once apply each file once: they take turns (PostgreSQL: an
/// advisory lock; SQLite: the database's write lock, each process checking the history again
/// inside the file's transaction). Every statement waits for locks at most
/// [`MigrateOptions::lock_timeout`] and is retried within [`MigrateOptions::lock_budget`], as in
/// [`StoreHaus::migrate`](crate::StoreHaus::migrate).
///
/// Refused before anything runs: a malformed file or name, two files with one version
/// ([`StoreError::MigrationFile`]), or an applied file whose content changed since
/// (its checksum differs). A failing statement gives [`StoreError::MigrationFailed`] with the
/// file, the statement's number and line, and the database's error; the files before it stay
/// applied, and that file's transaction is rolled back.
pub async fn apply(db: &DbPool, dir: impl AsRef<Path>) -> Result<Vec<String>> {
    apply_with(db, dir, &MigrateOptions::default()).await
}

/// [`apply`] with the lock timeout and budget of `options` (its other settings do not apply to
/// files, which say themselves what they change).
pub async fn apply_with(db: &DbPool, dir: impl AsRef<Path>, options: &MigrateOptions) -> Result<Vec<String>> {
    let files = file::read_dir(dir.as_ref())?;
    let to_apply: Vec<FileToApply<'_>> = files
        .iter()
        .map(|f| FileToApply {
            version: f.version,
            name: &f.name,
            file_name: &f.file_name,
            checksum: &f.checksum,
            up: f.up.iter().map(|s| (s.sql.as_str(), s.line)).collect(),
            after_commit: f.after_commit.iter().map(|s| (s.sql.as_str(), s.line)).collect(),
        })
        .collect();
    let applied = db.apply_migration_files(&to_apply, options).await?;
    Ok(files.into_iter().filter(|f| applied.contains(&f.version)).map(|f| f.file_name).collect())
}

/// The files of `dir` against this database's history, and `M`'s tables against the models
/// (`()` for the files alone): what is applied, pending, unfinished or edited since it ran,
/// history entries without a file, and the plans of tables that differ from their models.
pub async fn status<M: Models>(db: &DbPool, dir: impl AsRef<Path>) -> Result<MigrationStatus> {
    let mut status = status::of_files(db, dir.as_ref()).await?;
    let mut created: Vec<&str> = Vec::new();
    for table in models::ordered(&M::tables()) {
        let plan = db.plan_drift(table, &created).await?;
        if plan.steps.iter().any(|step| step.change == Change::CreateTable) {
            created.push(table.name);
        }
        if !plan.is_empty() {
            status.drift.push(plan);
        }
    }
    Ok(status)
}

/// A version after every file of `dir`: the UTC time, or one more than the last file's when
/// that is not later (two files within a second, or a clock behind).
fn next_version(dir: &Path) -> Result<i64> {
    let now: i64 = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string().parse().unwrap_or_default();
    let last = file::read_dir(dir)?.last().map_or(0, |f| f.version);
    Ok(now.max(last + 1))
}

/// Writes `text` to a file that must not exist yet.
fn write_new(path: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut out =
        std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| io_error(path, &e))?;
    out.write_all(text.as_bytes()).map_err(|e| io_error(path, &e))
}

fn io_error(path: &Path, error: &std::io::Error) -> StoreError {
    StoreError::MigrationFile { file: path.display().to_string(), message: error.to_string() }
}
