//! Where a database stands against a directory of migration files.

use super::file;
use crate::backend::DbPool;
use crate::backend::migrate::files::HistoryRow;
use crate::error::Result;
use crate::schema::MigrationPlan;
use chrono::{DateTime, Utc};
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// The files of a directory against a database's history, and its tables against the models.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrationStatus {
    /// Every file of the directory, in version order.
    pub files: Vec<FileStatus>,
    /// Entries of the history whose file is not in the directory (deleted or renamed since).
    pub missing_files: Vec<AppliedMigration>,
    /// The plans of the models' tables that differ from their models (empty when they match,
    /// and when no models were given).
    pub drift: Vec<MigrationPlan>,
}

impl MigrationStatus {
    /// Whether every file is applied as it is now, every applied file is there, and the tables
    /// match the models.
    pub fn is_clean(&self) -> bool {
        self.files.iter().all(|f| matches!(f.state, FileState::Applied { .. }))
            && self.missing_files.is_empty()
            && self.drift.is_empty()
    }

    /// The files not applied yet.
    pub fn pending(&self) -> impl Iterator<Item = &FileStatus> {
        self.files.iter().filter(|f| f.state == FileState::Pending)
    }

    /// The applied files whose content changed since they ran.
    pub fn edited(&self) -> impl Iterator<Item = &FileStatus> {
        self.files.iter().filter(|f| matches!(f.state, FileState::Edited { .. }))
    }
}

/// One line per file, then the history entries without a file and the tables that differ.
impl fmt::Display for MigrationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for file in &self.files {
            writeln!(f, "{}: {}", file.file_name, file.state)?;
        }
        for entry in &self.missing_files {
            writeln!(
                f,
                "{}_{}: applied on {} but no file has this version",
                entry.version, entry.name, entry.applied_at
            )?;
        }
        for plan in &self.drift {
            writeln!(f, "table `{}` differs from its model ({} steps to apply)", plan.table, plan.steps.len())?;
        }
        Ok(())
    }
}

/// One file and where the database stands with it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileStatus {
    /// The version, from the file name.
    pub version: i64,
    /// The name, from the file name.
    pub name: String,
    /// The file name.
    pub file_name: String,
    /// Where the database stands with it.
    pub state: FileState,
}

/// Where a database stands with a migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileState {
    /// Not applied yet.
    Pending,
    /// Applied, as the file is now.
    Applied {
        /// When.
        at: DateTime<Utc>,
    },
    /// Its transaction committed, but statements after it are still to run (a run stopped
    /// between them); the next apply runs them.
    Unfinished {
        /// When its transaction committed.
        at: DateTime<Utc>,
    },
    /// Applied, but the file changed since: its checksum differs from the recorded one. Apply
    /// refuses to run until the file is restored.
    Edited {
        /// When it was applied.
        at: DateTime<Utc>,
        /// The checksum recorded then.
        recorded: String,
        /// The checksum of the file now.
        now: String,
    },
}

impl fmt::Display for FileState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileState::Pending => f.write_str("pending"),
            FileState::Applied { at } => write!(f, "applied on {at}"),
            FileState::Unfinished { at } => write!(f, "unfinished (its transaction committed on {at})"),
            FileState::Edited { at, .. } => write!(f, "edited since it was applied on {at}"),
        }
    }
}

/// An entry of the history table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppliedMigration {
    /// The file's version.
    pub version: i64,
    /// The file's name.
    pub name: String,
    /// The SHA-256 of the file when it ran, lowercase hex.
    pub checksum: String,
    /// When its transaction committed.
    pub applied_at: DateTime<Utc>,
    /// How long it took, statements after the transaction included.
    pub execution: Duration,
    /// Whether every statement ran.
    pub finished: bool,
}

impl From<HistoryRow> for AppliedMigration {
    fn from(row: HistoryRow) -> Self {
        AppliedMigration {
            version: row.version,
            name: row.name,
            checksum: row.checksum,
            applied_at: row.applied_at,
            execution: row.execution,
            finished: row.finished,
        }
    }
}

/// The files of `dir` against the history of `db`.
pub(super) async fn of_files(db: &DbPool, dir: &Path) -> Result<MigrationStatus> {
    let files = file::read_dir(dir)?;
    let mut history = db.migration_history().await?;
    let files = files
        .into_iter()
        .map(|file| {
            let recorded = history.iter().position(|row| row.version == file.version).map(|i| history.remove(i));
            let state = match recorded {
                None => FileState::Pending,
                Some(row) if row.checksum != file.checksum => {
                    FileState::Edited { at: row.applied_at, recorded: row.checksum, now: file.checksum }
                }
                Some(row) if !row.finished => FileState::Unfinished { at: row.applied_at },
                Some(row) => FileState::Applied { at: row.applied_at },
            };
            FileStatus { version: file.version, name: file.name, file_name: file.file_name, state }
        })
        .collect();
    Ok(MigrationStatus { files, missing_files: history.into_iter().map(Into::into).collect(), drift: Vec::new() })
}
