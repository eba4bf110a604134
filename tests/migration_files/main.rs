//! Migration files on both backends: generating them from models, applying them in order and
//! once, the history and its checksums, and the refusals (edited, malformed, failing files).

use storehaus::prelude::*;
use storehaus_suite::{on_both_backends, raw};

mod bad_input;
mod catalog;
mod concurrent;
mod down;
mod edited;
mod evolution;
mod failing;
mod generated;
mod index_builds;
mod locks;
mod scratch;
mod sha256;
mod status;
mod unfinished;

use catalog::{HistoryRow, history, table_exists};
use scratch::ScratchDir;
use sha256::sha256_hex;

#[model]
#[table(name = "mf_users")]
pub struct User {
    #[primary_key]
    pub id: i64,
    #[unique]
    pub email: String,
    pub name: String,
}

#[model]
#[table(name = "mf_posts")]
pub struct Post {
    #[primary_key]
    pub id: i64,
    #[belongs_to(User, on_delete = "cascade")]
    pub author_id: i64,
    #[index]
    pub title: String,
}

/// The first version of an article: no index, no subtitle.
#[model]
#[table(name = "mf_articles")]
pub struct ArticleV1 {
    #[primary_key]
    pub id: i64,
    pub title: String,
}

/// The second version of [`ArticleV1`]'s table: an index on the existing `title`, and a new
/// nullable column.
#[model]
#[table(name = "mf_articles")]
pub struct ArticleV2 {
    #[primary_key]
    pub id: i64,
    #[index]
    pub title: String,
    pub subtitle: Option<String>,
}

/// The `MigrationFile` error of `result`, as `(file, message)`; panics on anything else.
#[track_caller]
pub fn migration_file_error<T: std::fmt::Debug>(result: Result<T, StoreError>) -> (String, String) {
    match result {
        Err(StoreError::MigrationFile { file, message }) => (file, message),
        other => panic!("expected a MigrationFile error, got {other:?}"),
    }
}

/// The text of `section` (`up`, `after-commit`, `down`) of a generated file, without its marker.
pub fn section<'t>(text: &'t str, section: &str) -> Option<&'t str> {
    let marker = format!("-- storehaus:{section}\n");
    let start = text.find(&marker)? + marker.len();
    let rest = &text[start..];
    Some(rest.find("\n-- storehaus:").map_or(rest, |end| &rest[..end]))
}
