//! Malformed directories, files and names: a `MigrationFile` error that says what is wrong, and
//! nothing applied or written.

use super::*;
use storehaus::migrations;

/// A good file that sorts first, so a run that started anything would have applied it.
const GOOD: (&str, &str) = ("1_good.sql", "CREATE TABLE \"mf_good\" (\"id\" INTEGER);\n");

/// `(label, files next to GOOD, the file the error names (`None`: the directory), words the
/// message must contain)`.
type Case = (&'static str, &'static [(&'static str, &'static [u8])], Option<&'static str>, &'static [&'static str]);

const CASES: &[Case] = &[
    (
        "misspelt marker",
        &[("2_typo.sql", b"-- storehaus:upp\nCREATE TABLE \"mf_typo\" (\"id\" INTEGER);\n")],
        Some("2_typo.sql"),
        &["line 1", "storehaus:upp", "not a section marker"],
    ),
    (
        "NUL byte",
        &[("2_nul.sql", b"CREATE TABLE \"mf_nul\" (\"id\" INTEGER);\n\0\n")],
        Some("2_nul.sql"),
        &["line 2", "NUL"],
    ),
    (
        "badly named",
        &[("abc.sql", b"CREATE TABLE \"mf_abc\" (\"id\" INTEGER);\n")],
        Some("abc.sql"),
        &["{version}_{name}.sql"],
    ),
    (
        "duplicate version",
        &[("01_again.sql", b"CREATE TABLE \"mf_again\" (\"id\" INTEGER);\n")],
        None,
        &["1_good.sql", "01_again.sql", "same version"],
    ),
    (
        "unterminated string",
        &[("2_quote.sql", b"CREATE TABLE \"mf_quote\" (\"id\" TEXT);\nINSERT INTO \"mf_quote\" VALUES ('open);\n")],
        Some("2_quote.sql"),
        &["line 2"],
    ),
];

on_both_backends! {
    /// Each malformed input is refused by apply and status alike, naming the file (or the
    /// directory) and what is wrong, and nothing is applied: no history table, no table.
    async fn malformed_files_apply_nothing(db) {
        let storehaus = db.storehaus().await;
        let pool = storehaus.pool();
        for (label, files, named, words) in CASES {
            let dir = ScratchDir::new();
            dir.write(GOOD.0, GOOD.1);
            for (name, bytes) in *files {
                dir.write(name, bytes);
            }
            let expected_file = named.map_or_else(|| dir.path().display().to_string(), str::to_owned);
            let (file, message) = migration_file_error(migrations::apply(pool, dir.path()).await);
            assert_eq!(file, expected_file, "{label}: {message}");
            for word in *words {
                assert!(message.contains(word), "{label}: `{word}` missing from: {message}");
            }
            let (status_file, _) = migration_file_error(migrations::status::<()>(pool, dir.path()).await);
            assert_eq!(status_file, expected_file, "{label}");
            assert_eq!(history::<B>(&storehaus).await, None, "{label}: the history table was created");
            assert!(!table_exists::<B>(&storehaus, "mf_good").await, "{label}: a file ran");
        }

        let dir = ScratchDir::new();
        let absent = dir.path().join("absent");
        let (file, message) = migration_file_error(migrations::apply(pool, &absent).await);
        assert_eq!(file, absent.display().to_string());
        assert!(message.contains("does not exist"), "{message}");
        assert!(!absent.exists());
        assert_eq!(history::<B>(&storehaus).await, None);
    }

    /// A name with a space, a path, or nothing is refused before the database or the disk is
    /// touched: no directory created, no file written, no table.
    async fn bad_generate_names_touch_nothing(db) {
        let storehaus = db.storehaus().await;
        let pool = storehaus.pool();
        let dir = ScratchDir::new();
        let absent = dir.path().join("generated");
        for name in ["has space", "../x", "", "a/b", "dash-ed"] {
            let (file, message) = migration_file_error(migrations::generate::<User>(pool, &absent, name).await);
            assert!(!file.is_empty() && !message.is_empty(), "{name:?}");
            assert!(!absent.exists(), "{name:?}: the directory was created");
            migration_file_error(migrations::generate::<User>(pool, dir.path(), name).await);
            assert!(dir.entries().is_empty(), "{name:?}: wrote {:?}", dir.entries());
        }
        assert!(!table_exists::<B>(&storehaus, "mf_users").await);
        assert_eq!(history::<B>(&storehaus).await, None);
    }
}
