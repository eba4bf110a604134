//! Splitting the SQL text of a migration section into its statements.
//!
//! A `;` ends a statement unless it sits inside a string (`'…'`, `E'…'`), a quoted identifier
//! (`"…"`), a comment (`-- …`, nesting `/* … */`), a dollar quote (`$tag$…$tag$`) or the body
//! of a trigger or `BEGIN ATOMIC` routine (`BEGIN … END`, which SQLite triggers fill with `;`).
//!
//! Comments before a statement's first token are dropped (they belong to the file, which
//! is checksummed as a whole); comments after it are kept in the statement's text.

use std::fmt;

/// One statement of a migration section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    /// The statement, trimmed, without its terminating `;`.
    pub sql: String,
    /// The 1-based line of the file its first token is on.
    pub line: usize,
}

/// Text that cannot be split: something opened and never closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SplitError {
    /// The 1-based line of the file where the unclosed construct starts.
    pub line: usize,
    /// What is unclosed and how to close it.
    pub message: String,
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The statements of `text`, whose first line is line `first_line` of its file.
pub(crate) fn split(text: &str, first_line: usize) -> Result<Vec<Statement>, SplitError> {
    let mut scanner = Scanner { bytes: text.as_bytes(), pos: 0, line: first_line };
    let mut statements = Vec::new();
    let mut current = Current::default();
    while let Some(byte) = scanner.peek(0) {
        let start_line = scanner.line;
        let start = scanner.pos;
        match byte {
            b';' if current.depth == 0 => {
                scanner.bump();
                current.finish(text, start, &mut statements);
                current = Current::default();
                continue;
            }
            b'-' if scanner.peek(1) == Some(b'-') => {
                scanner.skip_line_comment();
                continue;
            }
            b'/' if scanner.peek(1) == Some(b'*') => {
                scanner.skip_block_comment(start_line)?;
                continue;
            }
            _ if byte.is_ascii_whitespace() => {
                scanner.bump();
                continue;
            }
            _ => {}
        }
        current.mark_code(start, start_line);
        match byte {
            b'\'' => {
                scanner.skip_string(false, start_line)?;
                current.other_token();
            }
            b'"' => {
                scanner.skip_quoted_identifier(start_line)?;
                current.other_token();
            }
            b'$' => {
                match scanner.dollar_tag() {
                    Some(tag_len) => scanner.skip_dollar_quote(tag_len, start_line)?,
                    // `$1` (a parameter) or a lone `$`.
                    None => scanner.skip_word_or_number(),
                }
                current.other_token();
            }
            _ if is_word_start(byte) => {
                scanner.skip_word_or_number();
                let word = &text[start..scanner.pos];
                let escape_string = word.eq_ignore_ascii_case("e") && scanner.peek(0) == Some(b'\'');
                if escape_string {
                    scanner.skip_string(true, start_line)?;
                    current.other_token();
                } else {
                    current.word(word, start_line);
                }
            }
            _ if byte.is_ascii_digit() => {
                scanner.skip_word_or_number();
                current.other_token();
            }
            _ => {
                scanner.bump();
                current.other_token();
            }
        }
    }
    if let Some((line, keyword)) = current.body.filter(|_| current.depth > 0) {
        return Err(SplitError {
            line,
            message: format!("unterminated body starting here: this `{keyword}` has no matching `END`"),
        });
    }
    current.finish(text, text.len(), &mut statements);
    Ok(statements)
}

/// What kind of statement is being read, which decides whether `BEGIN` opens a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Not known yet: fewer head words than needed.
    Unknown,
    /// `CREATE [TEMP|TEMPORARY] TRIGGER`: `BEGIN` opens the body.
    Trigger,
    /// `CREATE [OR REPLACE] FUNCTION|PROCEDURE`: `BEGIN ATOMIC` opens the body.
    Routine,
    /// Anything else: `;` always ends it.
    Plain,
}

/// The statement being read.
#[derive(Debug)]
struct Current {
    /// Byte offset and line of its first token, once one is seen.
    code: Option<(usize, usize)>,
    /// Its leading words, upper-cased, while no other token has come between them.
    head: Vec<String>,
    head_open: bool,
    kind: Kind,
    /// Open `BEGIN`/`CASE` blocks of a body.
    depth: usize,
    /// The line and keyword of the outermost open block.
    body: Option<(usize, &'static str)>,
    /// The previous token, when it was the word `BEGIN` (for `BEGIN ATOMIC`).
    after_begin: Option<usize>,
}

impl Default for Current {
    fn default() -> Self {
        Self {
            code: None,
            head: Vec::new(),
            head_open: true,
            kind: Kind::Unknown,
            depth: 0,
            body: None,
            after_begin: None,
        }
    }
}

impl Current {
    fn mark_code(&mut self, start: usize, line: usize) {
        if self.code.is_none() {
            self.code = Some((start, line));
        }
    }

    fn other_token(&mut self) {
        self.head_open = false;
        self.after_begin = None;
        if self.kind == Kind::Unknown {
            self.kind = Kind::Plain;
        }
    }

    fn word(&mut self, word: &str, line: usize) {
        let upper = word.to_ascii_uppercase();
        if self.kind == Kind::Unknown && self.head_open {
            self.head.push(upper.clone());
            self.kind = classify(&self.head);
        }
        let after_begin = self.after_begin.take();
        match (self.kind, upper.as_str()) {
            (Kind::Trigger, "BEGIN") => self.open(line, "BEGIN"),
            (Kind::Routine, "BEGIN") => self.after_begin = Some(line),
            (Kind::Routine, "ATOMIC") => {
                if let Some(begin_line) = after_begin {
                    self.open(begin_line, "BEGIN ATOMIC");
                }
            }
            (Kind::Trigger | Kind::Routine, "CASE") => self.open(line, "CASE"),
            (Kind::Trigger | Kind::Routine, "END") => {
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 0 {
                    self.body = None;
                }
            }
            _ => {}
        }
    }

    fn open(&mut self, line: usize, keyword: &'static str) {
        if self.depth == 0 {
            self.body = Some((line, keyword));
        }
        self.depth += 1;
    }

    /// Ends the statement at byte `end` (its `;`, or the end of the text).
    fn finish(&self, text: &str, end: usize, statements: &mut Vec<Statement>) {
        if let Some((start, line)) = self.code {
            statements.push(Statement { sql: text[start..end].trim_end().to_owned(), line });
        }
    }
}

/// The kind of a statement from its leading words, or `Unknown` while more words could decide.
fn classify(head: &[String]) -> Kind {
    let words: Vec<&str> = head.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] | ["CREATE"] | ["CREATE", "TEMP" | "TEMPORARY" | "OR"] | ["CREATE", "OR", "REPLACE"] => Kind::Unknown,
        ["CREATE", "TRIGGER", ..] | ["CREATE", "TEMP" | "TEMPORARY", "TRIGGER", ..] => Kind::Trigger,
        ["CREATE", "FUNCTION" | "PROCEDURE", ..] | ["CREATE", "OR", "REPLACE", "FUNCTION" | "PROCEDURE", ..] => {
            Kind::Routine
        }
        _ => Kind::Plain,
    }
}

/// A letter, `_`, or a byte of a non-ASCII character (PostgreSQL accepts those in names).
fn is_word_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte >= 0x80
}

fn is_word_byte(byte: u8) -> bool {
    is_word_start(byte) || byte.is_ascii_digit() || byte == b'$'
}

/// A cursor over the text that counts lines as it moves.
#[derive(Debug)]
struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
}

impl Scanner<'_> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) {
        if self.peek(0) == Some(b'\n') {
            self.line += 1;
        }
        self.pos += 1;
    }

    fn bump_n(&mut self, count: usize) {
        for _ in 0..count {
            self.bump();
        }
    }

    fn skip_line_comment(&mut self) {
        while let Some(byte) = self.peek(0) {
            if byte == b'\n' || byte == b'\r' {
                return;
            }
            self.bump();
        }
    }

    fn skip_block_comment(&mut self, start_line: usize) -> Result<(), SplitError> {
        let mut depth = 0usize;
        loop {
            match (self.peek(0), self.peek(1)) {
                (Some(b'/'), Some(b'*')) => {
                    depth += 1;
                    self.bump_n(2);
                }
                (Some(b'*'), Some(b'/')) => {
                    depth -= 1;
                    self.bump_n(2);
                    if depth == 0 {
                        return Ok(());
                    }
                }
                (Some(_), _) => self.bump(),
                (None, _) => {
                    return Err(SplitError {
                        line: start_line,
                        message: "unterminated block comment starting here; close it with `*/` \
                                  (block comments nest: each `/*` needs its own `*/`)"
                            .to_owned(),
                    });
                }
            }
        }
    }

    /// Skips a `'…'` string at the cursor; `backslash` for an `E'…'` string.
    fn skip_string(&mut self, backslash: bool, start_line: usize) -> Result<(), SplitError> {
        self.bump();
        loop {
            match self.peek(0) {
                Some(b'\'') if self.peek(1) == Some(b'\'') => self.bump_n(2),
                Some(b'\'') => {
                    self.bump();
                    return Ok(());
                }
                Some(b'\\') if backslash => self.bump_n(2),
                Some(_) => self.bump(),
                None => {
                    return Err(SplitError {
                        line: start_line,
                        message: "unterminated string starting here; close it with `'` \
                                  (write `''` for a quote inside it)"
                            .to_owned(),
                    });
                }
            }
        }
    }

    fn skip_quoted_identifier(&mut self, start_line: usize) -> Result<(), SplitError> {
        self.bump();
        loop {
            match self.peek(0) {
                Some(b'"') if self.peek(1) == Some(b'"') => self.bump_n(2),
                Some(b'"') => {
                    self.bump();
                    return Ok(());
                }
                Some(_) => self.bump(),
                None => {
                    return Err(SplitError {
                        line: start_line,
                        message: "unterminated quoted identifier starting here; close it with `\"` \
                                  (write `\"\"` for a quote inside it)"
                            .to_owned(),
                    });
                }
            }
        }
    }

    /// The length of the `$tag$` opening a dollar quote at the cursor, if one does.
    fn dollar_tag(&self) -> Option<usize> {
        let rest = &self.bytes[self.pos..];
        let first = *rest.get(1)?;
        if first == b'$' {
            return Some(2);
        }
        if !is_word_start(first) {
            return None;
        }
        let tag_end = rest[1..].iter().position(|&b| !(is_word_start(b) || b.is_ascii_digit()))? + 1;
        (rest[tag_end] == b'$').then_some(tag_end + 1)
    }

    fn skip_dollar_quote(&mut self, tag_len: usize, start_line: usize) -> Result<(), SplitError> {
        let tag = &self.bytes[self.pos..self.pos + tag_len];
        let body_start = self.pos + tag_len;
        match self.bytes[body_start..].windows(tag_len).position(|window| window == tag) {
            Some(offset) => {
                self.bump_n(tag_len + offset + tag_len);
                Ok(())
            }
            None => Err(SplitError {
                line: start_line,
                message: format!(
                    "unterminated dollar-quoted string starting here; close it with `{}`",
                    String::from_utf8_lossy(tag)
                ),
            }),
        }
    }

    /// Skips a name, keyword, number or parameter (`$1`): a run of word bytes.
    fn skip_word_or_number(&mut self) {
        self.bump();
        while self.peek(0).is_some_and(is_word_byte) {
            self.bump();
        }
    }
}

#[cfg(test)]
mod tests;
