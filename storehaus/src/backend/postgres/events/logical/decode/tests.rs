use super::*;
use chrono::TimeZone;

fn column(name: &str, type_name: &str, value: Datum) -> Column {
    Column { name: name.into(), type_name: type_name.into(), value }
}

fn text(value: &str) -> Datum {
    Datum::Text(value.into())
}

fn bare(value: &str) -> Datum {
    Datum::Bare(value.into())
}

fn change(line: &str) -> Change {
    match parse_line(line) {
        Ok(Line::Change(change)) => change,
        other => panic!("{line:?} is not a change: {other:?}"),
    }
}

#[test]
fn begin_and_commit_with_its_timestamp() {
    assert_eq!(parse_line("BEGIN 727"), Ok(Line::Begin));
    assert_eq!(parse_line("BEGIN"), Ok(Line::Begin));
    let expected = Utc.with_ymd_and_hms(2026, 12, 7, 12, 4, 7).unwrap() + chrono::Duration::microseconds(317_439);
    assert_eq!(parse_line("COMMIT 727 (at 2026-12-07 12:04:07.317439+00)"), Ok(Line::Commit { time: expected }));
    // Another session time zone, and a commit on a whole second.
    let expected = Utc.with_ymd_and_hms(2026, 12, 7, 6, 34, 7).unwrap();
    assert_eq!(parse_line("COMMIT 9 (at 2026-12-07 12:04:07+05:30)"), Ok(Line::Commit { time: expected }));
    assert!(parse_line("COMMIT 9").is_err(), "timestamps are always asked for");
    assert!(parse_line("COMMIT 9 (at yesterday)").is_err());
}

#[test]
fn insert_with_every_kind_of_value() {
    let line = concat!(
        "table public.t: INSERT: id[integer]:1 \"Odd \"\"Col\"\" [x]\"[text]:'it''s a [x] \n new-tuple: line' ",
        "n[numeric]:1.50 f[double precision]:NaN b[boolean]:true j[jsonb]:'{\"a\": \"b''c\"}' ",
        "arr[text[]]:'{a,\"b c\",\"d\\\"e\"}' bits[bit]:B'0101' ",
        "ts[timestamp with time zone]:'2026-12-07 12:04:07.316852+00' big[text]:'ü ✓' gone[text]:null"
    );
    let change = change(line);
    assert_eq!((change.schema.as_str(), change.table.as_str(), change.action), ("public", "t", Action::Insert));
    assert_eq!(change.old, None);
    assert_eq!(
        change.new.unwrap(),
        vec![
            column("id", "integer", bare("1")),
            column("Odd \"Col\" [x]", "text", text("it's a [x] \n new-tuple: line")),
            column("n", "numeric", bare("1.50")),
            column("f", "double precision", bare("NaN")),
            column("b", "boolean", bare("true")),
            column("j", "jsonb", text("{\"a\": \"b'c\"}")),
            column("arr", "text[]", text("{a,\"b c\",\"d\\\"e\"}")),
            column("bits", "bit", text("0101")),
            column("ts", "timestamp with time zone", text("2026-12-07 12:04:07.316852+00")),
            column("big", "text", text("ü ✓")),
            column("gone", "text", Datum::Null),
        ]
    );
}

#[test]
fn update_with_and_without_the_old_key() {
    let moved = change("table public.t: UPDATE: old-key: id[integer]:1 new-tuple: id[integer]:2 name[text]:'x'");
    assert_eq!(moved.action, Action::Update);
    assert_eq!(moved.old, Some(vec![column("id", "integer", bare("1"))]));
    assert_eq!(moved.new, Some(vec![column("id", "integer", bare("2")), column("name", "text", text("x"))]));

    let kept = change("table public.t: UPDATE: id[integer]:3 big[text]:unchanged-toast-datum");
    assert_eq!(kept.old, None);
    assert_eq!(kept.new, Some(vec![column("id", "integer", bare("3")), column("big", "text", Datum::Unchanged)]));

    // An old key whose text looks like the separator stays one value.
    let tricky = change("table public.t: UPDATE: old-key: k[text]:' new-tuple: ' new-tuple: k[text]:'b'");
    assert_eq!(tricky.old, Some(vec![column("k", "text", text(" new-tuple: "))]));
    assert_eq!(tricky.new, Some(vec![column("k", "text", text("b"))]));
    assert_eq!(tricky.row(), &[column("k", "text", text("b"))]);
}

#[test]
fn delete_with_and_without_a_key() {
    let keyed = change("table public.pair: DELETE: a[text]:'x y' b[integer]:1");
    assert_eq!(keyed.action, Action::Delete);
    assert_eq!(keyed.old, Some(vec![column("a", "text", text("x y")), column("b", "integer", bare("1"))]));
    assert_eq!(keyed.row().len(), 2);

    let keyless = change("table public.nopk: DELETE: (no-tuple-data)");
    assert_eq!(keyless.old, None);
    assert!(keyless.row().is_empty());
}

#[test]
fn quoted_schema_table_and_type_names() {
    let change = change(concat!(
        "table \"My Schema\".\"Tab.le: \"\"x\"\"\": INSERT: ",
        "\"naïve\"[\"My Type\"]:'v' \"user\"[my_schema.\"odd]:type\"[]]:'{}' c[character varying[]]:'{a}'"
    ));
    assert_eq!(change.schema, "My Schema");
    assert_eq!(change.table, "Tab.le: \"x\"");
    assert_eq!(
        change.new.unwrap(),
        vec![
            column("naïve", "\"My Type\"", text("v")),
            column("user", "my_schema.\"odd]:type\"[]", text("{}")),
            column("c", "character varying[]", text("{a}")),
        ]
    );
}

#[test]
fn lines_about_no_row_are_other() {
    assert_eq!(parse_line("table public.t, public.pair: TRUNCATE: (no-flags)"), Ok(Line::Other));
    assert_eq!(parse_line("table public.t: TRUNCATE: restart_seqs cascade"), Ok(Line::Other));
    assert_eq!(parse_line("message: transactional: 1 prefix: p, sz: 5 content:hello"), Ok(Line::Other));
}

#[test]
fn malformed_lines_are_errors() {
    for line in [
        "",
        "tablet public.t: INSERT: id[integer]:1",
        "table public: INSERT: id[integer]:1",
        "table public.t: UPSERT: id[integer]:1",
        "table public.t: INSERT: id[integer]:'unterminated",
        "table public.t: INSERT: id[integer:1",
        "table public.t: INSERT: id[integer]:",
        "table public.t: INSERT: id[integer]:1  x[text]:'a'",
        "table public.\"t: INSERT: id[integer]:1",
        "table public.t: UPDATE: old-key: id[integer]:1",
    ] {
        assert!(parse_line(line).is_err(), "{line:?} parsed");
    }
}

#[test]
fn values_give_their_text() {
    assert_eq!(bare("42").text(), Some("42"));
    assert_eq!(text("a b").text(), Some("a b"));
    assert_eq!(Datum::Null.text(), None);
    assert_eq!(Datum::Unchanged.text(), None);
}
