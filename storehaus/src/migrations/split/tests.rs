//! Splitting tests: each quoting form hides `;`, lines are those of the file.

use super::*;

fn sqls(text: &str) -> Vec<String> {
    split(text, 1).unwrap_or_else(|e| panic!("{e}")).into_iter().map(|s| s.sql).collect()
}

fn error(text: &str, first_line: usize) -> SplitError {
    match split(text, first_line) {
        Ok(statements) => panic!("split should fail, got {statements:?}"),
        Err(e) => e,
    }
}

#[test]
fn semicolons_end_statements_and_are_dropped() {
    assert_eq!(
        sqls("CREATE TABLE a (x int);\n  SELECT 1 ;SELECT 2;"),
        ["CREATE TABLE a (x int)", "SELECT 1", "SELECT 2"]
    );
}

#[test]
fn last_statement_may_lack_its_semicolon() {
    assert_eq!(sqls("SELECT 1;\nSELECT 2\n"), ["SELECT 1", "SELECT 2"]);
}

#[test]
fn empty_and_comment_only_text_has_no_statement() {
    assert!(sqls("").is_empty());
    assert!(sqls(" \n\t\n").is_empty());
    assert!(sqls("-- only a comment; with a semicolon\n/* and ; a block */\n;;\n").is_empty());
}

#[test]
fn strings_hide_semicolons_and_escape_quotes_by_doubling() {
    assert_eq!(
        sqls("INSERT INTO t VALUES ('a;b', 'it''s; fine');SELECT 'x'"),
        ["INSERT INTO t VALUES ('a;b', 'it''s; fine')", "SELECT 'x'"]
    );
}

#[test]
fn backslash_is_plain_in_standard_strings_and_escapes_in_e_strings() {
    // In '…' a backslash is an ordinary character, so the string ends at the second quote.
    assert_eq!(sqls(r"SELECT 'a\';SELECT 2"), [r"SELECT 'a\'", "SELECT 2"]);
    assert_eq!(
        sqls(r"SELECT E'it\'s; \\';SELECT e'\'';SELECT 3"),
        [r"SELECT E'it\'s; \\'", r"SELECT e'\''", "SELECT 3"]
    );
}

#[test]
fn quoted_identifiers_hide_semicolons_and_quotes() {
    assert_eq!(
        sqls(r#"CREATE TABLE "a;b" ("say ""hi"";" int);SELECT 1"#),
        [r#"CREATE TABLE "a;b" ("say ""hi"";" int)"#, "SELECT 1"]
    );
}

#[test]
fn line_comments_hide_semicolons_and_quotes() {
    assert_eq!(
        sqls("SELECT 1 -- don't stop; here \"\nFROM t;\nSELECT 2"),
        ["SELECT 1 -- don't stop; here \"\nFROM t", "SELECT 2"]
    );
}

#[test]
fn block_comments_nest() {
    assert_eq!(
        sqls("SELECT /* outer /* inner; */ still comment; ' */ 1;SELECT 2"),
        ["SELECT /* outer /* inner; */ still comment; ' */ 1", "SELECT 2"]
    );
}

#[test]
fn leading_comments_are_dropped_and_inner_ones_kept() {
    let statements = split("-- creates t\n/* why */ CREATE TABLE t (x int -- the x\n);", 1).unwrap();
    assert_eq!(statements, [Statement { sql: "CREATE TABLE t (x int -- the x\n)".to_owned(), line: 2 }]);
}

#[test]
fn dollar_quotes_hide_semicolons_and_match_their_tag() {
    let function = "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql";
    assert_eq!(sqls(&format!("{function};SELECT 2")), [function, "SELECT 2"]);
    let tagged = "DO $body$ BEGIN PERFORM '$$;'; EXECUTE $q$SELECT 1;$q$; END $body$";
    assert_eq!(sqls(&format!("{tagged};\nSELECT 3;")), [tagged, "SELECT 3"]);
}

#[test]
fn numbered_parameters_and_dollar_names_are_not_quotes() {
    assert_eq!(
        sqls("PREPARE p AS SELECT $1, $2;SELECT a$b FROM t;SELECT 3"),
        ["PREPARE p AS SELECT $1, $2", "SELECT a$b FROM t", "SELECT 3"]
    );
}

#[test]
fn sqlite_trigger_body_keeps_its_semicolons() {
    let trigger = "CREATE TRIGGER no_delete BEFORE DELETE ON posts\nBEGIN\n  \
                   SELECT RAISE(ABORT, 'x; y');\n  UPDATE t SET n = CASE WHEN 1 THEN 2 END;\nEND";
    assert_eq!(sqls(&format!("{trigger};\nSELECT 1;")), [trigger, "SELECT 1"]);
    let temporary = "create temp trigger t after insert on a begin delete from b; end";
    assert_eq!(sqls(&format!("{temporary}; SELECT 2")), [temporary, "SELECT 2"]);
}

#[test]
fn begin_atomic_routine_body_keeps_its_semicolons() {
    let function = "CREATE OR REPLACE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql\n\
                    BEGIN ATOMIC\n  SELECT CASE WHEN a IS NULL THEN 0 ELSE a END + b;\nEND";
    assert_eq!(sqls(&format!("{function};SELECT 1")), [function, "SELECT 1"]);
    let procedure = "CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); END";
    assert_eq!(sqls(&format!("{procedure};SELECT 2")), [procedure, "SELECT 2"]);
}

#[test]
fn begin_outside_bodies_is_an_ordinary_word() {
    // A transaction `BEGIN` and a column named `end` do not open or close anything.
    assert_eq!(
        sqls("BEGIN;SELECT 1;COMMIT;CREATE TABLE r (begin int, \"end\" int);SELECT 2"),
        ["BEGIN", "SELECT 1", "COMMIT", "CREATE TABLE r (begin int, \"end\" int)", "SELECT 2"]
    );
    // A PostgreSQL trigger calls a function and has no body.
    assert_eq!(
        sqls("CREATE TRIGGER t BEFORE UPDATE ON a FOR EACH ROW EXECUTE FUNCTION f();SELECT 2"),
        ["CREATE TRIGGER t BEFORE UPDATE ON a FOR EACH ROW EXECUTE FUNCTION f()", "SELECT 2"]
    );
    // A routine `BEGIN` not followed by `ATOMIC` opens no body either.
    assert_eq!(
        sqls("CREATE FUNCTION f() RETURNS int AS 'SELECT 1' LANGUAGE sql;SELECT 2"),
        ["CREATE FUNCTION f() RETURNS int AS 'SELECT 1' LANGUAGE sql", "SELECT 2"]
    );
}

#[test]
fn statement_lines_are_file_lines() {
    let text = "\n-- note\nCREATE TABLE a (\n  x int\n);\n\n  SELECT 1; SELECT 2;\n/* c\n */\nSELECT 'multi\nline';";
    let statements = split(text, 10).unwrap();
    let lines: Vec<usize> = statements.iter().map(|s| s.line).collect();
    assert_eq!(lines, [12, 16, 16, 19]);
    assert_eq!(statements[3].sql, "SELECT 'multi\nline'");
}

#[test]
fn unterminated_constructs_name_the_line_they_start_on() {
    let cases: [(&str, &str); 6] = [
        ("SELECT 1;\nSELECT 'abc;\nSELECT 2;", "unterminated string"),
        ("SELECT 1;\nSELECT \"col;\nFROM t;", "unterminated quoted identifier"),
        ("SELECT 1;\n/* a /* b */\nSELECT 2;", "unterminated block comment"),
        ("SELECT 1;\nDO $fn$ BEGIN; END $other$;", "close it with `$fn$`"),
        ("SELECT 1;\nSELECT E'a\\';\nSELECT 2", "unterminated string"),
        ("SELECT 1;\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\nDELETE FROM b;", "`BEGIN` has no matching `END`"),
    ];
    for (text, expected) in cases {
        let error = error(text, 5);
        assert_eq!(error.line, 6, "{text:?}: {error}");
        assert!(error.message.contains(expected), "{text:?}: {error}");
        assert!(error.to_string().starts_with("line 6: "), "{error}");
    }
    let routine = error("CREATE FUNCTION f() RETURNS int\nBEGIN\nATOMIC SELECT 1;", 1);
    assert_eq!((routine.line, routine.message.contains("`BEGIN ATOMIC`")), (2, true), "{routine}");
    let case = error("CREATE TRIGGER t AFTER INSERT ON a WHEN CASE WHEN 1\nTHEN 1;", 1);
    assert_eq!((case.line, case.message.contains("`CASE`")), (1, true), "{case}");
}

#[test]
fn non_ascii_text_splits_on_character_boundaries() {
    assert_eq!(
        sqls("INSERT INTO t VALUES ('héllo; wörld');SELECT ünïcode FROM t"),
        ["INSERT INTO t VALUES ('héllo; wörld')", "SELECT ünïcode FROM t"]
    );
}
