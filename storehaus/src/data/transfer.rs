//! Export and import of entries as one JSON document:
//!
//! ```text
//! {"format":"storehaus-data/1","entries":[{"owner_kind":"user","owner_id":"42","namespace":"cart",
//!   "key":"total","value":3,"expires_at":"2026-12-07T10:00:00.000000Z"}, ...]}
//! ```
//!
//! The global owner is `""`/`""`, no namespace is `""`, an entry that never expires has
//! `"expires_at":null`.

use super::{DataStore, ImportReport, validate};
use crate::backend::data::{FullEntry, Scope};
use crate::error::{Result, StoreError};
use crate::owner::Owner;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// The `format` of an export file.
const FORMAT: &str = "storehaus-data/1";
/// Entries read from the database per round trip while exporting.
const EXPORT_PAGE: usize = 1000;
/// How `expires_at` is written: RFC 3339 in UTC with microseconds.
const EXPIRES_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// One entry of an export file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    owner_kind: String,
    owner_id: String,
    namespace: String,
    key: String,
    value: serde_json::Value,
    expires_at: Option<DateTime<Utc>>,
}

/// An export file as import reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    format: String,
    entries: Vec<FileEntry>,
}

impl DataStore {
    /// Writes this scope's live entries to `writer` as JSON (see the module docs for the format);
    /// returns how many.
    ///
    /// ```
    /// # use storehaus::prelude::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), StoreError> {
    /// # let data = StoreHaus::connect("sqlite::memory:").await?.data_store().await?;
    /// data.set("theme", "dark", None).await?;
    /// let mut file = Vec::new();
    /// assert_eq!(data.export(&mut file).await?, 1);
    /// data.clear().await?;
    /// let report = data.import(file.as_slice(), false).await?;
    /// assert_eq!(report.written, 1);
    /// assert_eq!(data.get::<String>("theme").await?.as_deref(), Some("dark"));
    /// # Ok(()) }
    /// ```
    pub async fn export(&self, writer: impl Write) -> Result<u64> {
        let scope = self.checked_scope()?.clone();
        self.export_scopes(Some(&scope), writer).await
    }

    /// Writes the live entries of every scope to `writer`; returns how many.
    pub async fn export_all(&self, writer: impl Write) -> Result<u64> {
        self.export_scopes(None, writer).await
    }

    async fn export_scopes(&self, scope: Option<&Scope>, mut writer: impl Write) -> Result<u64> {
        write!(writer, "{{\"format\":\"{FORMAT}\",\"entries\":[").map_err(io_error)?;
        let mut count = 0u64;
        let mut after: Option<(Scope, String)> = None;
        loop {
            let page = self.table().export_page(scope, after.as_ref(), EXPORT_PAGE).await?;
            for entry in &page {
                if count > 0 {
                    writer.write_all(b",").map_err(io_error)?;
                }
                write_entry(&mut writer, entry)?;
                count += 1;
            }
            match page.last() {
                Some(last) if page.len() == EXPORT_PAGE => after = Some((last.scope.clone(), last.key.clone())),
                _ => break,
            }
        }
        writer.write_all(b"]}").map_err(io_error)?;
        writer.flush().map_err(io_error)?;
        Ok(count)
    }

    /// Reads an export file from `reader` and writes each entry back into the scope it names
    /// (whatever this store's scope is), in one transaction. With `overwrite` false, an entry
    /// whose key already has a live value is skipped. A malformed file, or an entry that breaks
    /// the rules of keys, namespaces, owners or values, is [`StoreError::Validation`] and nothing
    /// is written. An entry given twice in the file is imported once, as its last occurrence.
    pub async fn import(&self, reader: impl Read, overwrite: bool) -> Result<ImportReport> {
        let entries = parse(reader)?;
        if entries.is_empty() {
            return Ok(ImportReport::default());
        }
        let report = self.table().import(&entries, overwrite).await?;
        self.written_all().await;
        Ok(report)
    }
}

fn write_entry(writer: &mut impl Write, entry: &FullEntry) -> Result<()> {
    let expires_at = entry.expires_at.map(|at| at.format(EXPIRES_FORMAT).to_string());
    #[derive(Serialize)]
    struct Out<'e> {
        owner_kind: &'e str,
        owner_id: &'e str,
        namespace: &'e str,
        key: &'e str,
        value: &'e serde_json::Value,
        expires_at: Option<String>,
    }
    let out = Out {
        owner_kind: &entry.scope.owner_kind,
        owner_id: &entry.scope.owner_id,
        namespace: &entry.scope.namespace,
        key: &entry.key,
        value: &entry.value,
        expires_at,
    };
    serde_json::to_writer(writer, &out).map_err(|e| io_error(e.into()))
}

/// The entries of an export file, each checked; `Validation` for anything malformed.
fn parse(reader: impl Read) -> Result<Vec<FullEntry>> {
    let file: File = serde_json::from_reader(reader)
        .map_err(|e| StoreError::Validation { field: None, message: format!("not a data store export: {e}") })?;
    if file.format != FORMAT {
        return Err(StoreError::Validation {
            field: None,
            message: format!("unknown export format `{}`; expected `{FORMAT}`", file.format),
        });
    }
    let entries: Vec<FullEntry> = file
        .entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            check_entry(&entry).map_err(|error| match error {
                StoreError::Validation { field, message } => {
                    StoreError::Validation { field, message: format!("entry {index}: {message}") }
                }
                other => other,
            })?;
            Ok(FullEntry {
                scope: Scope { owner_kind: entry.owner_kind, owner_id: entry.owner_id, namespace: entry.namespace },
                key: entry.key,
                value: entry.value,
                expires_at: entry.expires_at,
            })
        })
        .collect::<Result<_>>()?;
    Ok(last_of_each(entries))
}

/// The entries with each (scope, key) once: its last occurrence, in file order.
fn last_of_each(entries: Vec<FullEntry>) -> Vec<FullEntry> {
    let mut last = std::collections::HashMap::new();
    for (index, entry) in entries.iter().enumerate() {
        last.insert((&entry.scope, &entry.key), index);
    }
    let keep: std::collections::HashSet<usize> = last.into_values().collect();
    entries.into_iter().enumerate().filter(|(index, _)| keep.contains(index)).map(|(_, entry)| entry).collect()
}

fn check_entry(entry: &FileEntry) -> Result<()> {
    let owner = if entry.owner_kind.is_empty() && entry.owner_id.is_empty() {
        Owner::global()
    } else {
        Owner::new(&entry.owner_kind, &entry.owner_id)
    };
    owner.validate()?;
    validate::check_namespace(&entry.namespace)?;
    validate::check_path("key", &entry.key)?;
    validate::check_json(&entry.value)?;
    match entry.expires_at {
        Some(at) if !crate::types::STORABLE_YEARS.contains(&chrono::Datelike::year(&at)) => {
            Err(StoreError::validation(
                "expires_at",
                format!("{at} is outside the years {:?} the databases store", crate::types::STORABLE_YEARS),
            ))
        }
        _ => Ok(()),
    }
}

fn io_error(error: std::io::Error) -> StoreError {
    StoreError::Validation { field: None, message: format!("writing the export failed: {error}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_documented_format() {
        let file = r#"{"format":"storehaus-data/1","entries":[
            {"owner_kind":"user","owner_id":"42","namespace":"cart","key":"total","value":3,"expires_at":"2026-12-07T10:00:00.000000Z"},
            {"owner_kind":"","owner_id":"","namespace":"","key":"a.b","value":{"x":[1]},"expires_at":null}]}"#;
        let entries = parse(file.as_bytes()).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].scope.owner_kind, "user");
        assert_eq!(entries[0].expires_at.unwrap().to_rfc3339(), "2026-12-07T10:00:00+00:00");
        assert_eq!(entries[1].value, json!({"x": [1]}));
        assert_eq!(entries[1].expires_at, None);
    }

    #[test]
    fn refuses_malformed_files() {
        let bad = [
            "",
            "[]",
            r#"{"format":"other/1","entries":[]}"#,
            r#"{"format":"storehaus-data/1"}"#,
            r#"{"format":"storehaus-data/1","entries":[{"owner_kind":"","owner_id":"","namespace":"","key":"k"}]}"#,
            r#"{"format":"storehaus-data/1","entries":[{"owner_kind":"","owner_id":"","namespace":"","key":"a..b","value":1,"expires_at":null}]}"#,
            r#"{"format":"storehaus-data/1","entries":[{"owner_kind":"","owner_id":"7","namespace":"","key":"k","value":1,"expires_at":null}]}"#,
            r#"{"format":"storehaus-data/1","entries":[{"owner_kind":"","owner_id":"","namespace":"","key":"k","value":1,"expires_at":"soon"}]}"#,
        ];
        for file in bad {
            assert!(matches!(parse(file.as_bytes()), Err(StoreError::Validation { .. })), "{file}");
        }
    }

    #[test]
    fn an_entry_given_twice_is_imported_as_its_last() {
        let file = r#"{"format":"storehaus-data/1","entries":[
            {"owner_kind":"","owner_id":"","namespace":"","key":"a","value":1,"expires_at":null},
            {"owner_kind":"","owner_id":"","namespace":"","key":"b","value":2,"expires_at":null},
            {"owner_kind":"","owner_id":"","namespace":"","key":"a","value":3,"expires_at":null}]}"#;
        let entries = parse(file.as_bytes()).unwrap();
        let pairs: Vec<_> = entries.iter().map(|e| (e.key.as_str(), e.value.clone())).collect();
        assert_eq!(pairs, [("b", json!(2)), ("a", json!(3))]);
        let far = r#"{"format":"storehaus-data/1","entries":[
            {"owner_kind":"","owner_id":"","namespace":"","key":"a","value":1,"expires_at":"+10000-01-01T00:00:00Z"}]}"#;
        assert!(matches!(parse(far.as_bytes()), Err(StoreError::Validation { .. })));
    }

    #[test]
    fn writes_what_it_parses() {
        let entry = FullEntry {
            scope: Scope { owner_kind: "user".into(), owner_id: "1".into(), namespace: "n".into() },
            key: "k\"%".into(),
            value: json!([1, "two"]),
            expires_at: Some("2026-12-07T10:00:00.5Z".parse().unwrap()),
        };
        let mut out = Vec::new();
        write_entry(&mut out, &entry).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(r#""expires_at":"2026-12-07T10:00:00.500000Z""#), "{text}");
        let file = format!(r#"{{"format":"{FORMAT}","entries":[{text}]}}"#);
        assert_eq!(parse(file.as_bytes()).unwrap(), vec![entry]);
    }
}
