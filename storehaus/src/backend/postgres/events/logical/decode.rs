//! Reading the text the `test_decoding` plugin writes, one line per decoded row:
//!
//! ```text
//! BEGIN 741
//! table public.items: INSERT: id[integer]:1 name[text]:'it''s' tags[text[]]:'{a,b}'
//! table public."Odd Name": UPDATE: old-key: id[integer]:1 new-tuple: id[integer]:2 name[text]:null
//! table public.items: DELETE: id[integer]:2
//! COMMIT 741 (at 2026-01-02 03:04:05.678901+00)
//! ```
//!
//! Names are SQL identifiers, double-quoted when they need it (`"a ""b"""`); numbers and
//! booleans are printed bare, bit strings as `B'0101'` and every other value as an SQL literal
//! (`'it''s'`: only the quote is doubled, so a value may hold spaces, brackets and newlines).

use chrono::{DateTime, Utc};

/// One row of the plugin's output.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Line {
    /// A transaction starts.
    Begin,
    /// The transaction commits, at `time` by the server's clock.
    Commit {
        /// The commit timestamp.
        time: DateTime<Utc>,
    },
    /// A row was inserted, updated or deleted.
    Change(Change),
    /// A line that changes no row: a `TRUNCATE`, or a message of `pg_logical_emit_message`.
    Other,
}

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Insert,
    Update,
    Delete,
}

/// One row change.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Change {
    pub(super) schema: String,
    pub(super) table: String,
    pub(super) action: Action,
    /// The key before the change: of a `DELETE`, and of an `UPDATE` that changed the key (all
    /// columns with `REPLICA IDENTITY FULL`). `None` when the table has no replica identity.
    pub(super) old: Option<Vec<Column>>,
    /// The row after an `INSERT` or `UPDATE`.
    pub(super) new: Option<Vec<Column>>,
}

impl Change {
    /// The row that describes the change: the new one, or the old key of a delete.
    pub(super) fn row(&self) -> &[Column] {
        let row = match self.action {
            Action::Insert | Action::Update => &self.new,
            Action::Delete => &self.old,
        };
        row.as_deref().unwrap_or_default()
    }
}

/// One column of a row.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Column {
    pub(super) name: String,
    /// As `format_type` prints it: `integer`, `text[]`, `timestamp with time zone`, …
    pub(super) type_name: String,
    pub(super) value: Datum,
}

/// A column's value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Datum {
    Null,
    /// A large (TOASTed) value an `UPDATE` left as it was: the plugin does not print it.
    Unchanged,
    /// A number or boolean, as printed.
    Bare(String),
    /// Any other value in its text form, quotes undoubled (bit strings without their `B`).
    Text(String),
}

impl Datum {
    /// The value's text form, as `::text` gives it; `None` for a null or an unchanged value.
    pub(super) fn text(&self) -> Option<&str> {
        match self {
            Datum::Bare(text) | Datum::Text(text) => Some(text),
            Datum::Null | Datum::Unchanged => None,
        }
    }
}

/// A line the parser does not understand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unexpected test_decoding output at byte {at}: {expected}")]
pub(super) struct DecodeError {
    /// Byte offset in the line.
    pub(super) at: usize,
    /// What was expected there.
    pub(super) expected: &'static str,
}

/// Parses one line of output.
pub(super) fn parse_line(line: &str) -> Result<Line, DecodeError> {
    let mut cursor = Cursor { text: line, at: 0 };
    if line == "BEGIN" || line.starts_with("BEGIN ") {
        return Ok(Line::Begin);
    }
    if line.starts_with("COMMIT") {
        return commit(&mut cursor);
    }
    if line.starts_with("message:") {
        return Ok(Line::Other);
    }
    cursor.expect("table ", "`BEGIN`, `COMMIT`, `message:` or `table `")?;
    change(&mut cursor)
}

/// `COMMIT 741 (at 2026-01-02 03:04:05.678901+00)`.
fn commit(cursor: &mut Cursor<'_>) -> Result<Line, DecodeError> {
    let Some(start) = cursor.text.find(" (at ") else {
        return Err(cursor.error("a commit timestamp, ` (at …)`"));
    };
    cursor.at = start + " (at ".len();
    let Some(stamp) = cursor.rest().strip_suffix(')') else {
        return Err(cursor.error("`)` closing the commit timestamp"));
    };
    let time = parse_timestamp(stamp).ok_or_else(|| cursor.error("a commit timestamp"))?;
    Ok(Line::Commit { time })
}

/// Reads a `timestamp with time zone` in PostgreSQL's ISO style (`2026-01-02 03:04:05.6+00`,
/// the offset with or without minutes).
pub(super) fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z").ok().map(|time| time.with_timezone(&Utc))
}

/// What follows `table `: `schema.table: ACTION: columns`.
fn change(cursor: &mut Cursor<'_>) -> Result<Line, DecodeError> {
    let schema = cursor.identifier()?;
    cursor.expect(".", "`.` between schema and table")?;
    let table = cursor.identifier()?;
    // Only a TRUNCATE names several tables.
    if cursor.rest().starts_with(", ") {
        return Ok(Line::Other);
    }
    cursor.expect(": ", "`: ` after the table name")?;
    let action = if cursor.eat("INSERT:") {
        Action::Insert
    } else if cursor.eat("UPDATE:") {
        Action::Update
    } else if cursor.eat("DELETE:") {
        Action::Delete
    } else if cursor.eat("TRUNCATE:") {
        return Ok(Line::Other);
    } else {
        return Err(cursor.error("INSERT, UPDATE, DELETE or TRUNCATE"));
    };
    let (old, new) = match action {
        Action::Insert => (None, cursor.tuple(false)?),
        Action::Delete => (cursor.tuple(false)?, None),
        Action::Update if cursor.eat(" old-key:") => {
            let old = cursor.tuple(true)?;
            cursor.expect(" new-tuple:", "` new-tuple:` after the old key")?;
            (old, cursor.tuple(false)?)
        }
        Action::Update => (None, cursor.tuple(false)?),
    };
    Ok(Line::Change(Change { schema, table, action, old, new }))
}

/// A position in one line.
struct Cursor<'a> {
    text: &'a str,
    /// Byte offset, always on a character boundary: the cursor only moves past ASCII
    /// delimiters it found, or to the end of what it read.
    at: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn error(&self, expected: &'static str) -> DecodeError {
        DecodeError { at: self.at, expected }
    }

    /// Moves past `prefix` when the rest starts with it.
    fn eat(&mut self, prefix: &str) -> bool {
        let found = self.rest().starts_with(prefix);
        if found {
            self.at += prefix.len();
        }
        found
    }

    fn expect(&mut self, prefix: &str, expected: &'static str) -> Result<(), DecodeError> {
        if self.eat(prefix) { Ok(()) } else { Err(self.error(expected)) }
    }

    /// The columns of a tuple up to the end of the line, or (`before_new_tuple`) up to the
    /// ` new-tuple:` that ends an old key; `None` for `(no-tuple-data)`.
    ///
    /// A bare column name is made of `a-z`, `0-9` and `_` only, so no column can start with
    /// `new-tuple:`.
    fn tuple(&mut self, before_new_tuple: bool) -> Result<Option<Vec<Column>>, DecodeError> {
        if self.eat(" (no-tuple-data)") {
            return Ok(None);
        }
        let mut columns = Vec::new();
        loop {
            let rest = self.rest();
            if rest.is_empty() || (before_new_tuple && rest.starts_with(" new-tuple:")) {
                break;
            }
            self.expect(" ", "a space before the next column")?;
            columns.push(self.column()?);
        }
        Ok(Some(columns))
    }

    /// `name[type]:value`.
    fn column(&mut self) -> Result<Column, DecodeError> {
        let name = self.identifier()?;
        self.expect("[", "`[` opening the column's type")?;
        let type_name = self.type_name()?;
        self.expect(":", "`:` after the column's type")?;
        let value = self.datum()?;
        Ok(Column { name, type_name, value })
    }

    /// An identifier: `"…"` with `""` for a quote, or bare up to the next delimiter.
    fn identifier(&mut self) -> Result<String, DecodeError> {
        if self.eat("\"") {
            return self.quoted('"');
        }
        let rest = self.rest();
        let end = rest.find(['.', ':', '[', ' ', ',']).unwrap_or(rest.len());
        if end == 0 {
            return Err(self.error("a name"));
        }
        self.at += end;
        Ok(rest[..end].to_owned())
    }

    /// The text up to the closing `quote`, the opening one already read; a doubled quote
    /// stands for one.
    fn quoted(&mut self, quote: char) -> Result<String, DecodeError> {
        let mut text = String::new();
        loop {
            let rest = self.rest();
            let Some(end) = rest.find(quote) else {
                return Err(self.error("a closing quote"));
            };
            text.push_str(&rest[..end]);
            self.at += end + 1;
            if !self.eat(quote.encode_utf8(&mut [0; 4])) {
                return Ok(text);
            }
            text.push(quote);
        }
    }

    /// A type name up to the `]` that closes it, the opening `[` already read. Array types end
    /// in `[]` and quoted names may hold anything, so brackets are counted outside quotes.
    fn type_name(&mut self) -> Result<String, DecodeError> {
        let start = self.at;
        let mut depth = 0usize;
        loop {
            let Some(c) = self.rest().chars().next() else {
                return Err(self.error("`]` closing the column's type"));
            };
            self.at += c.len_utf8();
            match c {
                '"' => {
                    self.quoted('"')?;
                }
                '[' => depth += 1,
                ']' if depth == 0 => return Ok(self.text[start..self.at - 1].to_owned()),
                ']' => depth -= 1,
                _ => {}
            }
        }
    }

    /// A value: `null`, `unchanged-toast-datum`, `'text'`, `B'bits'` or a bare number/boolean.
    fn datum(&mut self) -> Result<Datum, DecodeError> {
        if self.eat("'") {
            return Ok(Datum::Text(self.quoted('\'')?));
        }
        if self.eat("B'") {
            return Ok(Datum::Text(self.quoted('\'')?));
        }
        let rest = self.rest();
        let end = rest.find(' ').unwrap_or(rest.len());
        let token = &rest[..end];
        self.at += end;
        Ok(match token {
            "" => return Err(self.error("a value")),
            "null" => Datum::Null,
            "unchanged-toast-datum" => Datum::Unchanged,
            _ => Datum::Bare(token.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests;
