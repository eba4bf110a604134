//! The migration file format: `{version}_{name}.sql`, an optional header of comments, then
//! sections opened by marker lines.
//!
//! ```text
//! -- StoreHaus migration 20261207180000_create_blog
//! -- storehaus:up
//! CREATE TABLE "posts" (...);
//! -- storehaus:after-commit
//! CREATE UNIQUE INDEX CONCURRENTLY "users_email_key" ON "users" ("email");
//! -- storehaus:down
//! DROP TABLE IF EXISTS "posts";
//! ```
//!
//! `up` runs in one transaction, `after-commit` statements one at a time after it commits
//! (some statements cannot run in a transaction), `down` undoes the file. A file without any
//! marker is all `up`, so hand-written files need no markers.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::split::{Statement, split};
use crate::error::StoreError;

/// One migration file as read from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MigrationFile {
    /// The version: the digits before the first `_` of the file name.
    pub version: i64,
    /// The name: what follows the version, without `.sql`.
    pub name: String,
    /// The whole file name, such as `20261207180000_create_blog.sql`.
    pub file_name: String,
    /// The SHA-256 of the file's bytes, lowercase hex.
    pub checksum: String,
    /// The statements run in one transaction.
    pub up: Vec<Statement>,
    /// The statements run one at a time after the `up` transaction commits.
    pub after_commit: Vec<Statement>,
    /// The statements undoing the file; `None` when it has no down section.
    pub down: Option<Vec<Statement>>,
}

/// The largest migration file read, in bytes.
pub(crate) const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;

/// The most digits of a version: 18 always fit an `i64`.
const MAX_VERSION_DIGITS: usize = 18;
/// The longest name of a migration.
const MAX_NAME_CHARS: usize = 100;

const MARKER_PREFIX: &str = "storehaus:";

/// The sections of a file, in the order their markers must appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Up,
    AfterCommit,
    Down,
}

impl Section {
    const ALL: [Section; 3] = [Section::Up, Section::AfterCommit, Section::Down];

    /// Its place in the order of sections (and in arrays indexed by section).
    fn index(self) -> usize {
        self as usize
    }

    fn marker(self) -> &'static str {
        match self {
            Section::Up => "-- storehaus:up",
            Section::AfterCommit => "-- storehaus:after-commit",
            Section::Down => "-- storehaus:down",
        }
    }
}

/// Every migration file of `dir`, ordered by version. A missing directory is an error.
///
/// Entries not ending in `.sql` (a README, a subdirectory) are ignored; a `.sql` file with a
/// malformed name is an error rather than skipped, so a misnamed migration cannot go unapplied.
pub(crate) fn read_dir(dir: &Path) -> Result<Vec<MigrationFile>, StoreError> {
    let dir_error = |message: String| StoreError::MigrationFile { file: dir.display().to_string(), message };
    let entries = std::fs::read_dir(dir).map_err(|e| {
        dir_error(if e.kind() == std::io::ErrorKind::NotFound {
            "the migration directory does not exist; create it or point to the directory \
             holding the migration files"
                .to_owned()
        } else {
            format!("cannot list the migration directory: {e}")
        })
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| dir_error(format!("cannot list the migration directory: {e}")))?;
        let path = entry.path();
        let file_name = entry.file_name().to_string_lossy().into_owned();
        // A `.SQL` file is checked too: its name is then refused rather than silently skipped.
        if !file_name.to_ascii_lowercase().ends_with(".sql") || path.is_dir() {
            continue;
        }
        parse_file_name(&file_name)?;
        files.push(parse(&file_name, &read_limited(&path, &file_name)?)?);
    }
    files.sort_by(|a, b| (a.version, &a.file_name).cmp(&(b.version, &b.file_name)));
    if let Some(pair) = files.windows(2).find(|pair| pair[0].version == pair[1].version) {
        return Err(dir_error(format!(
            "`{}` and `{}` have the same version {}; each file needs its own version, so rename one",
            pair[0].file_name, pair[1].file_name, pair[0].version
        )));
    }
    Ok(files)
}

/// The bytes of `path`, reading at most one byte past the limit (enough for `parse` to refuse it).
fn read_limited(path: &Path, file_name: &str) -> Result<Vec<u8>, StoreError> {
    let read_error = |e: std::io::Error| StoreError::MigrationFile {
        file: file_name.to_owned(),
        message: format!("cannot read the file: {e}"),
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes).map_err(read_error)?;
    Ok(bytes)
}

/// The migration file named `file_name` with content `bytes`.
pub(crate) fn parse(file_name: &str, bytes: &[u8]) -> Result<MigrationFile, StoreError> {
    let (version, name) = parse_file_name(file_name)?;
    let fail = |message: String| StoreError::MigrationFile { file: file_name.to_owned(), message };
    if bytes.len() > MAX_FILE_BYTES {
        return Err(fail(format!(
            "the file has more than {MAX_FILE_BYTES} bytes (8 MiB), the most a migration file may \
             hold; split it into several files"
        )));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        fail(format!("line {}: the file is not valid UTF-8; save it as UTF-8", line_of(&bytes[..e.valid_up_to()])))
    })?;
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(fail(format!(
            "line {}: the file contains a NUL byte, which SQL text cannot hold; remove it",
            line_of(&bytes[..at])
        )));
    }
    // An editor's byte-order mark is not part of the SQL (it stays part of the checksum).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let sections = find_sections(text).map_err(fail)?;
    let split_section = |range: Option<&SectionText>| -> Result<Option<Vec<Statement>>, StoreError> {
        range.map(|s| split(&text[s.start..s.end], s.first_line).map_err(|e| fail(e.to_string()))).transpose()
    };
    let up = split_section(sections[Section::Up.index()].as_ref())?.unwrap_or_default();
    if up.is_empty() {
        return Err(fail(format!(
            "the file has no statement to run; write the statements to apply under `{}`",
            Section::Up.marker()
        )));
    }
    Ok(MigrationFile {
        version,
        name: name.to_owned(),
        file_name: file_name.to_owned(),
        checksum: checksum(bytes),
        up,
        after_commit: split_section(sections[Section::AfterCommit.index()].as_ref())?.unwrap_or_default(),
        down: split_section(sections[Section::Down.index()].as_ref())?,
    })
}

/// The file name for `version` and `name`, checking `name` (error for an empty, too long or
/// ill-charactered name).
pub(crate) fn file_name(version: i64, name: &str) -> Result<String, StoreError> {
    let file_name = format!("{version}_{name}.sql");
    let fail = |message: String| StoreError::MigrationFile { file: file_name.clone(), message };
    if version < 0 || version.to_string().len() > MAX_VERSION_DIGITS {
        return Err(fail(format!("the version must be a number of 1 to {MAX_VERSION_DIGITS} digits, got {version}")));
    }
    check_name(name).map_err(fail)?;
    Ok(file_name)
}

/// The text of a generated file: a header comment, then the sections, each statement followed
/// by `;\n`. `down: Err(reason)` writes no down section, only `reason` as a comment.
///
/// `name` is expected to be one [`file_name`] accepts; statements must not end with `;`.
pub(crate) fn render(
    version: i64,
    name: &str,
    up: &[String],
    after_commit: &[String],
    down: Result<&[String], &str>,
) -> String {
    let mut out = format!(
        "-- StoreHaus migration {version}_{}\n\
         -- Generated by StoreHaus from the models' plan. Review it before applying it.\n\
         -- `up` runs in one transaction. `after-commit` statements run one at a time after it\n\
         -- commits, outside any transaction (as CREATE INDEX CONCURRENTLY requires).\n\
         -- `down` undoes the file. Once applied, the file must not change: its checksum is recorded.\n",
        one_line(name)
    );
    write_section(&mut out, Section::Up, up);
    if !after_commit.is_empty() {
        write_section(&mut out, Section::AfterCommit, after_commit);
    }
    match down {
        Ok(statements) => write_section(&mut out, Section::Down, statements),
        Err(reason) => {
            let _ = writeln!(out, "\n-- No down section: {}", one_line(reason));
        }
    }
    out
}

fn write_section(out: &mut String, section: Section, statements: &[String]) {
    let _ = writeln!(out, "\n{}", section.marker());
    for statement in statements {
        let _ = writeln!(out, "{statement};");
    }
}

/// `text` on one line, so it cannot leave the comment it is written in.
fn one_line(text: &str) -> String {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

/// The SHA-256 of `bytes`, lowercase hex.
fn checksum(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().fold(String::with_capacity(64), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

/// The 1-based line at the end of `before`.
fn line_of(before: &[u8]) -> usize {
    before.iter().filter(|&&b| b == b'\n').count() + 1
}

/// The version and name of a file name `{version}_{name}.sql`.
fn parse_file_name(file_name: &str) -> Result<(i64, &str), StoreError> {
    let fail = |message: String| StoreError::MigrationFile {
        file: file_name.to_owned(),
        message: format!(
            "{message}; a migration file is named `{{version}}_{{name}}.sql`, such as \
             `20261207180000_create_blog.sql` (version: 1 to {MAX_VERSION_DIGITS} digits; name: \
             1 to {MAX_NAME_CHARS} letters, digits or `_`)"
        ),
    };
    let stem =
        file_name.strip_suffix(".sql").ok_or_else(|| fail("the name does not end in `.sql` (lowercase)".to_owned()))?;
    let (digits, name) =
        stem.split_once('_').ok_or_else(|| fail("the name has no `_` between version and name".to_owned()))?;
    if digits.is_empty() || digits.len() > MAX_VERSION_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(fail(format!("the version `{digits}` is not 1 to {MAX_VERSION_DIGITS} digits")));
    }
    let version = digits.parse::<i64>().map_err(|e| fail(format!("the version `{digits}` cannot be read: {e}")))?;
    check_name(name).map_err(fail)?;
    Ok((version, name))
}

/// Checks a migration name: 1 to 100 ASCII letters, digits or `_`.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the migration name is empty".to_owned());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("the migration name has {} characters, more than {MAX_NAME_CHARS}", name.chars().count()));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_')) {
        return Err(format!("the migration name `{name}` contains {bad:?}; use only ASCII letters, digits and `_`"));
    }
    Ok(())
}

/// Where one section's text is in the file.
#[derive(Debug)]
struct SectionText {
    start: usize,
    end: usize,
    /// The file line of the section's first line (the one after its marker).
    first_line: usize,
}

/// The text of each section (`up`, `after-commit`, `down`), checking the markers.
fn find_sections(text: &str) -> Result<[Option<SectionText>; 3], String> {
    let mut sections: [Option<SectionText>; 3] = [None, None, None];
    let mut marker_lines: [Option<usize>; 3] = [None, None, None];
    let mut current: Option<usize> = None;
    let mut header_line: Option<usize> = None;
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        let line_start = offset;
        offset += line.len();
        let trimmed = line.trim();
        let Some(found) = marker_of(trimmed, number)? else {
            if current.is_none() && header_line.is_none() && !trimmed.is_empty() && !trimmed.starts_with("--") {
                header_line = Some(number);
            }
            continue;
        };
        let position = found.index();
        if let Some(first) = marker_lines[position] {
            return Err(format!(
                "line {number}: a second `{}` (the first is on line {first}); each section appears once",
                found.marker()
            ));
        }
        if let Some((later, line)) = (position + 1..3).find_map(|p| marker_lines[p].map(|line| (p, line))) {
            return Err(format!(
                "line {number}: `{}` comes after `{}` (line {line}); the sections go in the order \
                 up, after-commit, down",
                found.marker(),
                Section::ALL[later].marker(),
            ));
        }
        if found != Section::Up && marker_lines[Section::Up.index()].is_none() {
            return Err(format!(
                "line {number}: `{}` comes before any `{}`; a file with section markers starts \
                 its statements with `{}`",
                found.marker(),
                Section::Up.marker(),
                Section::Up.marker()
            ));
        }
        if let Some(line) = header_line {
            return Err(format!(
                "line {line}: text before the first section marker; only blank lines and `--` \
                 comments may come before `{}` (move the statement under a marker)",
                Section::Up.marker()
            ));
        }
        if let Some(section) = current.and_then(|open| sections[open].as_mut()) {
            section.end = line_start;
        }
        marker_lines[position] = Some(number);
        sections[position] = Some(SectionText { start: offset, end: text.len(), first_line: number + 1 });
        current = Some(position);
    }
    if current.is_none() {
        // No marker at all: a hand-written file, entirely `up`.
        sections[0] = Some(SectionText { start: 0, end: text.len(), first_line: 1 });
    }
    Ok(sections)
}

/// The section a trimmed line is the marker of, or an error for a line that looks like a
/// marker but is none (a misspelt marker must not pass as a comment).
fn marker_of(trimmed: &str, number: usize) -> Result<Option<Section>, String> {
    if let Some(section) = Section::ALL.into_iter().find(|s| s.marker() == trimmed) {
        return Ok(Some(section));
    }
    let looks_like_marker = trimmed
        .strip_prefix("--")
        .map(str::trim_start)
        .and_then(|rest| rest.get(..MARKER_PREFIX.len()))
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(MARKER_PREFIX));
    if looks_like_marker {
        return Err(format!(
            "line {number}: `{trimmed}` is not a section marker; the markers are `{}`, `{}` and `{}`, \
             each alone on its line",
            Section::Up.marker(),
            Section::AfterCommit.marker(),
            Section::Down.marker()
        ));
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
