use super::*;
use serde_json::json;

const COMMIT: &str = "COMMIT 740 (at 2026-12-07 12:04:07.328052+00)";

fn rows(lines: &[(u64, &str)]) -> Vec<(Lsn, String)> {
    lines.iter().map(|&(lsn, line)| (Lsn(lsn), line.to_owned())).collect()
}

fn keys(tables: &[(&str, &str, &[&str])]) -> HashMap<TableName, Vec<String>> {
    let entries = tables.iter().map(|&(schema, table, key)| {
        let name = TableName { schema: schema.into(), table: table.into() };
        (name, key.iter().map(|c| c.to_string()).collect())
    });
    entries.collect()
}

fn events_of(lines: &[(u64, &str)], keys: &HashMap<TableName, Vec<String>>) -> Vec<DatabaseEvent> {
    let transactions = transactions(rows(lines)).unwrap();
    assert_eq!(transactions.len(), 1);
    events(&transactions[0], &Context { current_schema: Some("public"), keys }).unwrap()
}

/// The event-log row a StoreHaus create of `items` row `7` writes.
fn log_row(id: i64, record_id: &str) -> String {
    format!(
        "table public.storehaus_events: INSERT: id[bigint]:{id} xid[bigint]:740 event_type[text]:'create' \
         table_name[text]:'items' record_id[text]:'{record_id}' tags[text[]]:'{{a,\"b c\"}}' \
         payload[jsonb]:'{{\"id\": {record_id}, \"name\": \"it''s\"}}' \
         created_at[timestamp with time zone]:'2026-12-07 12:04:07.1+00'"
    )
}

#[test]
fn rows_group_into_committed_transactions() {
    let grouped = transactions(rows(&[
        (10, "BEGIN 1"),
        (10, "table public.t: INSERT: id[integer]:1"),
        (20, "COMMIT 1 (at 2026-12-07 12:00:00+00)"),
        (30, "message: transactional: 0 prefix: p, sz: 1 content:x"),
        (40, "BEGIN 2"),
        (40, "table public.t, public.u: TRUNCATE: (no-flags)"),
        (50, "COMMIT 2 (at 2026-12-07 12:00:01+00)"),
        // Never returned by the server: a transaction without its commit is left out.
        (60, "BEGIN 3"),
    ]))
    .unwrap();
    assert_eq!(grouped.len(), 2);
    assert_eq!((grouped[0].end, grouped[0].changes.len()), (Lsn(20), 1));
    assert_eq!((grouped[1].end, grouped[1].changes.len()), (Lsn(50), 0));
    assert_eq!(grouped[1].time.to_rfc3339(), "2026-12-07T12:00:01+00:00");

    for unpaired in [
        vec![(1, "table public.t: INSERT: id[integer]:1")],
        vec![(1, "COMMIT 1 (at 2026-12-07 12:00:00+00)")],
        vec![(1, "BEGIN 1"), (2, "BEGIN 2")],
        vec![(1, "BEGIN 1"), (2, "table public.t: INSERT: id[integer]:'x")],
    ] {
        assert!(transactions(rows(&unpaired)).is_err(), "{unpaired:?}");
    }
}

#[test]
fn event_log_rows_become_the_recorded_events() {
    let row = log_row(42, "7");
    let events = events_of(&[(10, "BEGIN 740"), (20, &row), (30, COMMIT)], &HashMap::new());
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!((event.id, event.event_type, event.table_name.as_str()), (42, EventType::Create, "items"));
    assert_eq!(event.record_id, "7");
    assert_eq!(event.tags, ["a", "b c"]);
    assert_eq!(event.payload, json!({"id": 7, "name": "it's"}));
    assert_eq!(event.timestamp.to_rfc3339(), "2026-12-07T12:04:07.100+00:00");
}

#[test]
fn raw_changes_become_events_with_key_and_payload() {
    let keys = keys(&[("public", "things", &["id"]), ("public", "pair", &["b", "a"]), ("other", "t", &["id"])]);
    let events = events_of(
        &[
            (10, "BEGIN 740"),
            (
                16,
                "table public.things: INSERT: id[integer]:1 name[text]:'a ''b'' [c]\nü' price[numeric]:1.50 \
                 ok[boolean]:false f[double precision]:NaN meta[jsonb]:'{\"k\": [1]}' at[date]:'2026-01-02' gone[text]:null",
            ),
            (32, "table public.things: UPDATE: id[integer]:1 big[text]:unchanged-toast-datum name[text]:'n'"),
            (48, "table public.things: UPDATE: old-key: id[integer]:1 new-tuple: id[integer]:2"),
            (64, "table public.things: DELETE: id[integer]:2"),
            (80, "table public.pair: INSERT: a[text]:'x \"y\"' b[integer]:1"),
            (80, "table public.pair: INSERT: a[text]:'z' b[integer]:2"),
            (96, "table other.t: DELETE: id[integer]:5"),
            (112, "table public.nopk: DELETE: (no-tuple-data)"),
            (200, COMMIT),
        ],
        &keys,
    );
    let summary: Vec<_> =
        events.iter().map(|e| (e.id, e.event_type, e.table_name.as_str(), e.record_id.as_str())).collect();
    assert_eq!(
        summary,
        [
            (-16, EventType::Create, "things", "1"),
            (-32, EventType::Update, "things", "1"),
            (-48, EventType::Update, "things", "2"),
            (-64, EventType::Delete, "things", "2"),
            // One COPY record: the second row takes the next byte.
            (-80, EventType::Create, "pair", r#"["1", "x \"y\""]"#),
            (-81, EventType::Create, "pair", r#"["2", "z"]"#),
            (-96, EventType::Delete, "other.t", "5"),
            (-112, EventType::Delete, "nopk", ""),
        ]
    );
    assert_eq!(
        events[0].payload,
        json!({"id": 1, "name": "a 'b' [c]\nü", "price": 1.5, "ok": false, "f": "NaN",
               "meta": {"k": [1]}, "at": "2026-01-02", "gone": null})
    );
    // The unchanged large value is left out, not set to null.
    assert_eq!(events[1].payload, json!({"id": 1, "name": "n"}));
    assert_eq!(events[3].payload, json!({"id": 2}));
    assert_eq!(events[7].payload, json!({}));
    assert!(events.iter().all(|e| e.tags.is_empty() && e.timestamp.to_rfc3339().starts_with("2026-12-07T12:04:07")));
}

#[test]
fn a_row_the_transaction_logged_arrives_once_and_internal_tables_never() {
    let keys = keys(&[("public", "items", &["id"])]);
    let row = log_row(42, "7");
    let events = events_of(
        &[
            (10, "BEGIN 740"),
            (16, "table public.items: INSERT: id[integer]:7 name[text]:'it''s'"),
            (32, &row),
            // The same transaction writes another row of the table by raw SQL: that one is raw.
            (48, "table public.items: INSERT: id[integer]:8 name[text]:'raw'"),
            (64, "table public.storehaus_events: DELETE: id[bigint]:1"),
            (80, "table public.storehaus_migrations: INSERT: id[integer]:1"),
            (96, "table other.storehaus_events: INSERT: id[bigint]:1"),
            (200, COMMIT),
        ],
        &keys,
    );
    let summary: Vec<_> = events.iter().map(|e| (e.id, e.table_name.as_str(), e.record_id.as_str())).collect();
    assert_eq!(summary, [(42, "items", "7"), (-48, "items", "8")]);
}

#[test]
fn malformed_event_log_rows_are_errors() {
    let transactions = transactions(rows(&[
        (10, "BEGIN 1"),
        (20, "table public.storehaus_events: INSERT: id[bigint]:1 event_type[text]:'exploded'"),
        (30, COMMIT),
    ]))
    .unwrap();
    let keys = HashMap::new();
    let err = events(&transactions[0], &Context { current_schema: Some("public"), keys: &keys }).unwrap_err();
    assert_eq!(err.to_string(), "at 0/14: the event-log row has no valid `event_type`");
}

#[test]
fn raw_tables_skips_internal_ones() {
    let transactions = transactions(rows(&[
        (10, "BEGIN 1"),
        (11, "table public.a: INSERT: id[integer]:1"),
        (12, "table public.storehaus_events: INSERT: id[bigint]:1"),
        (13, "table s.b: INSERT: id[integer]:1"),
        (14, "table public.a: INSERT: id[integer]:2"),
        (30, COMMIT),
    ]))
    .unwrap();
    let names: Vec<_> = raw_tables(&transactions).into_iter().map(|n| format!("{}.{}", n.schema, n.table)).collect();
    assert_eq!(names, ["public.a", "s.b"]);
}
