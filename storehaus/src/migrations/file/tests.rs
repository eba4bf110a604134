//! File format tests: names, sections, limits, checksums, rendering and directory reading.

use super::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

const NAME: &str = "20261207180000_create_blog.sql";

fn parsed(text: &str) -> MigrationFile {
    parse(NAME, text.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

/// The message of the error `parse` gives, checking it names the file.
fn parse_error(file_name: &str, bytes: &[u8]) -> String {
    match parse(file_name, bytes) {
        Ok(file) => panic!("parse should fail, got {file:?}"),
        Err(StoreError::MigrationFile { file, message }) => {
            assert_eq!(file, file_name);
            message
        }
        Err(other) => panic!("unexpected error {other}"),
    }
}

fn sqls(statements: &[Statement]) -> Vec<&str> {
    statements.iter().map(|s| s.sql.as_str()).collect()
}

#[test]
fn sections_are_read_with_their_file_lines() {
    let file = parsed(
        "-- StoreHaus migration 20261207180000_create_blog\n\
         -- storehaus:up\n\
         CREATE TABLE \"posts\" (id int);\n\
         CREATE INDEX \"posts_id_idx\" ON \"posts\" (\"id\");\n\
         \x20 -- storehaus:after-commit  \n\
         DROP INDEX CONCURRENTLY IF EXISTS \"users_email_key\";\n\
         CREATE UNIQUE INDEX CONCURRENTLY \"users_email_key\" ON \"users\" (\"email\");\n\
         -- storehaus:down\n\
         DROP TABLE IF EXISTS \"posts\";\n",
    );
    assert_eq!((file.version, file.name.as_str(), file.file_name.as_str()), (20261207180000, "create_blog", NAME));
    assert_eq!(
        sqls(&file.up),
        ["CREATE TABLE \"posts\" (id int)", "CREATE INDEX \"posts_id_idx\" ON \"posts\" (\"id\")"]
    );
    assert_eq!(file.up.iter().map(|s| s.line).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(
        sqls(&file.after_commit),
        [
            "DROP INDEX CONCURRENTLY IF EXISTS \"users_email_key\"",
            "CREATE UNIQUE INDEX CONCURRENTLY \"users_email_key\" ON \"users\" (\"email\")"
        ]
    );
    assert_eq!(file.after_commit[0].line, 6);
    let down = file.down.expect("a down section");
    assert_eq!(sqls(&down), ["DROP TABLE IF EXISTS \"posts\""]);
    assert_eq!(down[0].line, 9);
}

#[test]
fn optional_sections_may_be_missing_or_empty() {
    let only_up = parsed("-- storehaus:up\nSELECT 1;\n");
    assert_eq!((sqls(&only_up.up), only_up.after_commit.len(), only_up.down), (vec!["SELECT 1"], 0, None));
    let empty_down = parsed("-- storehaus:up\nSELECT 1;\n-- storehaus:down\n-- nothing to undo\n");
    assert_eq!(empty_down.down, Some(Vec::new()));
    let up_and_down = parsed("-- storehaus:up\nSELECT 1;\n-- storehaus:down\nSELECT 2;");
    assert!(up_and_down.after_commit.is_empty());
    assert_eq!(sqls(&up_and_down.down.unwrap()), ["SELECT 2"]);
}

#[test]
fn windows_line_endings_are_read() {
    let file = parsed("-- header\r\n-- storehaus:up\r\nSELECT 1;\r\n  -- storehaus:down\r\nSELECT 2;\r\n");
    assert_eq!(sqls(&file.up), ["SELECT 1"]);
    assert_eq!(sqls(&file.down.unwrap()), ["SELECT 2"]);
}

#[test]
fn a_file_without_markers_is_all_up() {
    let file = parsed("-- hand-written\n\nCREATE TABLE t (x int);\nINSERT INTO t VALUES (1)\n");
    assert_eq!(sqls(&file.up), ["CREATE TABLE t (x int)", "INSERT INTO t VALUES (1)"]);
    assert_eq!(file.up.iter().map(|s| s.line).collect::<Vec<_>>(), [3, 4]);
    assert!(file.after_commit.is_empty());
    assert_eq!(file.down, None);
}

#[test]
fn markers_must_be_in_order_and_appear_once() {
    let cases = [
        (
            "-- storehaus:up\nSELECT 1;\n-- storehaus:up\nSELECT 2;",
            "line 3: a second `-- storehaus:up` (the first is on line 1)",
        ),
        (
            "-- storehaus:up\nSELECT 1;\n-- storehaus:down\nSELECT 2;\n-- storehaus:after-commit\nSELECT 3;",
            "line 5: `-- storehaus:after-commit` comes after `-- storehaus:down` (line 3)",
        ),
        (
            "-- storehaus:down\nSELECT 1;\n-- storehaus:up\nSELECT 2;",
            "line 1: `-- storehaus:down` comes before any `-- storehaus:up`",
        ),
        (
            "-- storehaus:after-commit\nSELECT 1;",
            "line 1: `-- storehaus:after-commit` comes before any `-- storehaus:up`",
        ),
    ];
    for (text, expected) in cases {
        let message = parse_error(NAME, text.as_bytes());
        assert!(message.starts_with(expected), "{text:?}: {message}");
    }
}

#[test]
fn misspelt_markers_are_refused() {
    for typo in ["-- storehaus:dwon", "-- storehaus:up now", "--storehaus:up", "-- StoreHaus:Down", "-- storehaus:"] {
        let text = format!("-- storehaus:up\nSELECT 1;\n{typo}\nSELECT 2;\n");
        let message = parse_error(NAME, text.as_bytes());
        assert!(message.starts_with("line 3: "), "{typo}: {message}");
        assert!(message.contains("is not a section marker"), "{typo}: {message}");
    }
    // The header's own wording is not mistaken for a marker.
    parsed("-- StoreHaus migration 1_a: storehaus: notes\n-- storehaus:up\nSELECT 1;");
}

#[test]
fn only_comments_and_blank_lines_may_precede_the_first_marker() {
    let message = parse_error(NAME, b"-- header\n\nSELECT 0;\n-- storehaus:up\nSELECT 1;");
    assert!(message.starts_with("line 3: text before the first section marker"), "{message}");
    let block = parse_error(NAME, b"/* header */\n-- storehaus:up\nSELECT 1;");
    assert!(block.starts_with("line 1: "), "{block}");
    parsed("\n  -- header\n\t\n-- storehaus:up\nSELECT 1;");
}

#[test]
fn an_up_section_without_statements_is_refused() {
    for text in ["", "-- nothing\n", "-- storehaus:up\n-- storehaus:down\nDROP TABLE t;", "-- storehaus:up\n;\n"] {
        let message = parse_error(NAME, text.as_bytes());
        assert!(message.starts_with("the file has no statement to run"), "{text:?}: {message}");
    }
}

#[test]
fn split_errors_carry_file_lines() {
    let message = parse_error(NAME, b"-- storehaus:up\nSELECT 1;\n-- storehaus:down\nSELECT 'open;\n");
    assert!(message.starts_with("line 4: unterminated string starting here"), "{message}");
}

#[test]
fn limits_nul_bytes_and_invalid_utf8_are_refused() {
    let nul = parse_error(NAME, b"SELECT 1;\nSELECT '\0';");
    assert!(nul.starts_with("line 2: the file contains a NUL byte"), "{nul}");
    let latin1 = parse_error(NAME, b"SELECT 1;\n\nSELECT 'caf\xe9';");
    assert!(latin1.starts_with("line 3: the file is not valid UTF-8"), "{latin1}");

    let mut big = b"SELECT 1;\n".to_vec();
    big.resize(MAX_FILE_BYTES, b' ');
    assert_eq!(sqls(&parse(NAME, &big).unwrap().up), ["SELECT 1"]);
    big.push(b' ');
    let message = parse_error(NAME, &big);
    assert!(message.contains("more than 8388608 bytes"), "{message}");
}

#[test]
fn a_byte_order_mark_is_ignored_but_checksummed() {
    let file = parse(NAME, b"\xef\xbb\xbf-- storehaus:up\nSELECT 1;").unwrap();
    assert_eq!(sqls(&file.up), ["SELECT 1"]);
    assert_ne!(file.checksum, parsed("-- storehaus:up\nSELECT 1;").checksum);
}

#[test]
fn the_checksum_is_the_sha256_of_the_bytes() {
    // `printf 'SELECT 1;\n' | sha256sum`
    assert_eq!(parsed("SELECT 1;\n").checksum, "b4e0497804e46e0a0b0b8c31975b062152d551bac49c3c2e80932567b4085dcd");
    assert_eq!(checksum(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    // Any change, even in a comment or whitespace, changes it.
    assert_ne!(parsed("SELECT 1;\n").checksum, parsed("SELECT 1; \n").checksum);
}

#[test]
fn file_names_are_checked() {
    for good in ["1_a.sql", "20261207180000_create_blog.sql", "000000000000000001_x.sql", "7_a_b_C9.sql"] {
        parse(good, b"SELECT 1;").unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    let longest = format!("123456789012345678_{}.sql", "n".repeat(100));
    assert_eq!(parse(&longest, b"SELECT 1;").unwrap().version, 123456789012345678);
    let bad = [
        "create_blog.sql".to_owned(),
        "_create_blog.sql".to_owned(),
        "1234567890123456789_a.sql".to_owned(),
        "12a_b.sql".to_owned(),
        "-1_a.sql".to_owned(),
        "1_.sql".to_owned(),
        "1_a-b.sql".to_owned(),
        "1_a b.sql".to_owned(),
        "1_é.sql".to_owned(),
        "1_a.SQL".to_owned(),
        "1_a.sql.bak".to_owned(),
        "1.sql".to_owned(),
        format!("1_{}.sql", "n".repeat(101)),
    ];
    for name in bad {
        let message = parse_error(&name, b"SELECT 1;");
        assert!(message.contains("`{version}_{name}.sql`"), "{name}: {message}");
    }
}

#[test]
fn file_name_builds_and_checks() {
    assert_eq!(file_name(20261207180000, "create_blog").unwrap(), NAME);
    assert_eq!(file_name(9, &"a".repeat(100)).unwrap(), format!("9_{}.sql", "a".repeat(100)));
    for (version, name) in [(1, ""), (1, "a-b"), (1, "drop users"), (1, "x\n"), (-1, "a"), (i64::MAX, "a")] {
        let result = file_name(version, name);
        assert!(matches!(result, Err(StoreError::MigrationFile { .. })), "{version} {name:?}: {result:?}");
    }
    assert!(file_name(1, &"a".repeat(101)).is_err());
}

#[test]
fn render_then_parse_round_trips() {
    let up = vec![
        "CREATE TABLE \"posts\" (\n  \"id\" bigint PRIMARY KEY,\n  \"title\" text NOT NULL DEFAULT 'a;b'\n)".to_owned(),
        "CREATE INDEX \"posts_title_idx\" ON \"posts\" (\"title\")".to_owned(),
    ];
    let after_commit = vec!["CREATE UNIQUE INDEX CONCURRENTLY \"users_email_key\" ON \"users\" (\"email\")".to_owned()];
    let down = vec!["DROP TABLE IF EXISTS \"posts\"".to_owned()];
    let name = "create_blog";
    let text = render(20261207180000, name, &up, &after_commit, Ok(&down));
    let file =
        parse(&file_name(20261207180000, name).unwrap(), text.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(sqls(&file.up), up);
    assert_eq!(sqls(&file.after_commit), after_commit);
    assert_eq!(sqls(&file.down.unwrap()), down);
    assert!(text.starts_with("-- StoreHaus migration 20261207180000_create_blog\n"), "{text}");
    for words in
        ["Generated by StoreHaus from the models' plan", "Review it before applying", "outside any transaction"]
    {
        assert!(text.contains(words), "{words}: {text}");
    }
    // Each statement is followed by `;` and a newline.
    assert!(text.contains("(\"title\");\n"), "{text}");
}

#[test]
fn render_without_down_writes_the_reason() {
    let up = vec!["ALTER TABLE \"users\" DROP COLUMN \"nick\"".to_owned()];
    let text = render(5, "drop_nick", &up, &[], Err("dropping a column loses its data;\ncannot restore it"));
    assert!(text.contains("-- No down section: dropping a column loses its data; cannot restore it\n"), "{text}");
    assert!(!text.contains("storehaus:after-commit") && !text.contains("storehaus:down"), "{text}");
    let file = parse("5_drop_nick.sql", text.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(sqls(&file.up), up);
    assert!(file.after_commit.is_empty());
    assert_eq!(file.down, None);
    // An empty down section stays a (present) empty one.
    let empty = render(5, "drop_nick", &up, &[], Ok(&[]));
    assert_eq!(parse("5_drop_nick.sql", empty.as_bytes()).unwrap().down, Some(Vec::new()));
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "storehaus-migration-files-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn write(&self, name: &str, content: &str) {
        std::fs::write(self.0.join(name), content).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn read_dir_error(dir: &Path) -> (String, String) {
    match read_dir(dir) {
        Ok(files) => panic!("read_dir should fail, got {files:?}"),
        Err(StoreError::MigrationFile { file, message }) => (file, message),
        Err(other) => panic!("unexpected error {other}"),
    }
}

#[test]
fn read_dir_orders_by_numeric_version_and_ignores_other_entries() {
    let dir = TempDir::new();
    dir.write("10_b.sql", "SELECT 10;");
    dir.write("9_a.sql", "SELECT 9;");
    dir.write("20261207180000_c.sql", "-- storehaus:up\nSELECT 3;\n-- storehaus:down\nSELECT 4;");
    dir.write("README.md", "not SQL; not a migration");
    dir.write("notes.txt", "SELECT oops");
    std::fs::create_dir(dir.0.join("old.sql")).unwrap();
    std::fs::create_dir(dir.0.join("archive")).unwrap();
    std::fs::write(dir.0.join("archive").join("bad name.sql"), "SELECT 1;").unwrap();

    let files = read_dir(&dir.0).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = files.iter().map(|f| f.file_name.as_str()).collect();
    assert_eq!(names, ["9_a.sql", "10_b.sql", "20261207180000_c.sql"]);
    assert_eq!(files.iter().map(|f| f.version).collect::<Vec<_>>(), [9, 10, 20261207180000]);
    assert_eq!(sqls(&files[0].up), ["SELECT 9"]);
    assert_eq!(files[0].checksum, checksum(b"SELECT 9;"));
    assert_eq!(sqls(files[2].down.as_deref().unwrap()), ["SELECT 4"]);
}

#[test]
fn read_dir_refuses_a_misnamed_sql_file() {
    let dir = TempDir::new();
    dir.write("1_a.sql", "SELECT 1;");
    dir.write("create users.sql", "SELECT 2;");
    let (file, message) = read_dir_error(&dir.0);
    assert_eq!(file, "create users.sql");
    assert!(message.contains("`{version}_{name}.sql`"), "{message}");

    let upper = TempDir::new();
    upper.write("2_b.SQL", "SELECT 2;");
    assert_eq!(read_dir_error(&upper.0).0, "2_b.SQL");
}

#[test]
fn read_dir_refuses_duplicate_versions_naming_both_files() {
    let dir = TempDir::new();
    dir.write("1_a.sql", "SELECT 1;");
    dir.write("2_first.sql", "SELECT 2;");
    dir.write("02_second.sql", "SELECT 3;");
    let (file, message) = read_dir_error(&dir.0);
    assert_eq!(file, dir.0.display().to_string());
    assert!(message.contains("`02_second.sql` and `2_first.sql` have the same version 2"), "{message}");
}

#[test]
fn read_dir_reports_a_bad_file_by_name() {
    let dir = TempDir::new();
    dir.write("1_a.sql", "SELECT 1;");
    dir.write("2_b.sql", "-- storehaus:up\nSELECT 'open;\n");
    let (file, message) = read_dir_error(&dir.0);
    assert_eq!((file.as_str(), message.starts_with("line 2: unterminated string")), ("2_b.sql", true), "{message}");
}

#[test]
fn read_dir_refuses_a_missing_directory() {
    let missing = std::env::temp_dir().join(format!("storehaus-migration-files-missing-{}", std::process::id()));
    let (file, message) = read_dir_error(&missing);
    assert_eq!(file, missing.display().to_string());
    assert!(message.contains("does not exist"), "{message}");
}

#[test]
fn read_dir_refuses_an_oversized_file_without_reading_it_all() {
    let dir = TempDir::new();
    let mut big = "SELECT 1;\n".to_owned();
    big.push_str(&" ".repeat(MAX_FILE_BYTES));
    dir.write("1_big.sql", &big);
    let (file, message) = read_dir_error(&dir.0);
    assert_eq!(file, "1_big.sql");
    assert!(message.contains("more than 8388608 bytes"), "{message}");
}
