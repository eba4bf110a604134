//! Property tests against a real PostgreSQL, 10 000 generated cases per property:
//!
//! - a field name that is not exactly a column of the model gives `StoreError::UnknownField` in
//!   every position that takes a name, before any statement is sent;
//! - values (text, integers, floats, booleans, JSON, arrays), tags and JSON path segments never
//!   change the SQL text: each case sends exactly the statements of the same call made with a
//!   fixed reference value, and ends in a result or a typed error, never a panic;
//! - records written with arbitrary strings read back equal, and a NUL byte is refused with
//!   `StoreError::Validation` before anything is written;
//! - filters nested up to `MAX_FILTER_DEPTH` levels of `and` / `or` / `not` find exactly the rows
//!   they describe; deeper ones (up to 100 000 levels, far past the 128 a JSON decoder allows) are
//!   `StoreError::Validation` naming the limit, before any statement is sent;
//! - a sentinel table no model knows about keeps its rows, and the rows a property does not write
//!   keep their content.
//!
//! The SQL text is observed through the `db.statement` field of the events sqlx emits under the
//! target `sqlx::query`, recorded by a subscriber installed on the test's thread; everything runs
//! on one current-thread runtime so every event reaches it.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value as Json;
use std::cell::RefCell;
use std::collections::HashMap;
use std::mem::Discriminant;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use storehaus::prelude::*;
use storehaus::query::MAX_FILTER_DEPTH;
use storehaus::testing::TestDatabase;
use storehaus_suite::pg;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record as SpanRecord};
use tracing::{Event, Metadata, Subscriber};

/// One column of each kind a filter or an update can name.
#[model]
#[table(name = "prop_items")]
#[derive(PartialEq)]
pub struct Item {
    #[primary_key]
    pub id: i64,
    pub name: String,
    pub qty: i32,
    pub score: f64,
    pub ratio: f32,
    pub active: bool,
    pub meta: serde_json::Value,
    pub labels: Vec<String>,
    pub counts: Vec<i64>,
    pub note: Option<String>,
}

const TABLE: &str = "prop_items";

/// Every column of `prop_items`, declared and system; checked against the catalog at setup.
const COLUMNS: &[&str] = &[
    "id",
    "name",
    "qty",
    "score",
    "ratio",
    "active",
    "meta",
    "labels",
    "counts",
    "note",
    "__created_at__",
    "__updated_at__",
    "__tags__",
];

/// The row the writing cases of the read/write properties change; the others must never change.
const SCRATCH: i64 = 99;

/// A value the reference runs bind; the statements they send must not contain it.
const MARKER: &str = "ref-value-7f3a";
const MARKER_INT: i64 = 7_340_031;

/// Pieces that break SQL assembled by string concatenation, plus look-alikes of real names.
const PIECES: &[&str] = &[
    "'",
    "\"",
    ";",
    "--",
    "/*",
    "*/",
    "\\",
    "$1",
    "$2",
    "?",
    "%",
    "_",
    "::text",
    "$$",
    "E'",
    " OR 1=1",
    "' OR '1'='1",
    "\"; DROP TABLE sentinel; --",
    "'; DELETE FROM sentinel; --",
    "\u{0}",
    "\n",
    "\t",
    " ",
    "\u{200B}",
    "\u{FEFF}",
    "\u{301}",
    "é",
    "İ",
    "ß",
    "名前",
    "🦀",
    "NULL",
    "name",
    "meta",
    "__tags__",
    "__deleted_at__",
    "__version__",
    "prop_items.",
    "{",
    "}",
    ",",
    "[0]",
];

/// Names that must not resolve although they are close to real ones.
const NEAR_MISSES: &[&str] = &["__deleted_at__", "__version__", "ID", "Name", "tags", "__tags", "*", ""];

#[derive(Debug, Clone)]
struct Seed {
    id: i64,
    name: &'static str,
    meta: fn() -> Json,
    tags: &'static [&'static str],
}

/// The rows of `prop_items`: hostile-looking text, JSON holding only objects and strings (so a
/// path lookup is easy to predict), and tags with quotes and wildcards.
const SEEDS: &[Seed] = &[
    Seed { id: 1, name: "Ada", meta: || json!({"color": "red", "dims": {"w": "10"}}), tags: &["a", "b"] },
    Seed {
        id: 2,
        name: "O'Brien; --",
        meta: || json!({"color": "ü\"'", "k;--": {"x": "y"}}),
        tags: &["sale", "ü", "O'Brien; --"],
    },
    Seed { id: 3, name: "%_\\", meta: || json!({}), tags: &[] },
    Seed {
        id: 4, name: "名前 🦀", meta: || json!({"": "empty key", "$1": {"?": "q"}}), tags: &["a", "%", "{x,y}"]
    },
    Seed { id: SCRATCH, name: "scratch", meta: || json!({}), tags: &[] },
];

/// Strings the generators mix in so that generated filters also match seeded rows.
const SEED_TEXTS: &[&str] = &[
    "Ada",
    "O'Brien; --",
    "%_\\",
    "名前 🦀",
    "a",
    "b",
    "sale",
    "ü",
    "%",
    "{x,y}",
    "color",
    "dims",
    "w",
    "10",
    "red",
    "ü\"'",
    "k;--",
    "x",
    "y",
    "",
    "empty key",
    "$1",
    "?",
    "q",
];

fn seed_item(seed: &Seed) -> Item {
    Item {
        id: seed.id,
        name: seed.name.to_owned(),
        qty: seed.id as i32 * 10,
        score: seed.id as f64 / 4.0,
        ratio: 0.5,
        active: seed.id % 2 == 0,
        meta: (seed.meta)(),
        labels: seed.tags.iter().map(|t| (*t).to_owned()).collect(),
        counts: vec![seed.id],
        note: (seed.id % 2 == 1).then(|| format!("note {}", seed.id)),
    }
}

fn config() -> Config {
    Config { cases: 10_000, failure_persistence: None, ..Config::default() }
}

// ---------------------------------------------------------------------------------------------
// Recording the statements sqlx sends.

/// The SQL text of every `sqlx::query` event seen on the thread it is installed on.
#[derive(Clone, Default)]
struct Statements(Arc<Mutex<Vec<String>>>);

impl Statements {
    /// The statements recorded since the last call, without the `COMMIT` or `ROLLBACK` a write
    /// on the pool ends its own transaction with: they carry no values.
    fn take(&self) -> Vec<String> {
        let mut sent = std::mem::take(&mut *self.0.lock().unwrap());
        sent.retain(|sql| !matches!(sql.as_str(), "BEGIN" | "COMMIT" | "ROLLBACK"));
        sent
    }
}

#[derive(Default)]
struct SqlFields {
    summary: String,
    statement: String,
}

impl Visit for SqlFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_owned(),
            "db.statement" => self.statement = value.to_owned(),
            _ => {}
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

impl Subscriber for Statements {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "sqlx::query"
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &SpanRecord<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut fields = SqlFields::default();
        event.record(&mut fields);
        // sqlx leaves `db.statement` empty when the first four words (`summary`) are the whole
        // statement, and otherwise wraps the statement in "\n\n…\n".
        let sql = match fields.statement.strip_prefix("\n\n").and_then(|s| s.strip_suffix('\n')) {
            Some(sql) => sql.to_owned(),
            None => fields.summary,
        };
        self.0.lock().unwrap().push(sql);
    }

    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

// ---------------------------------------------------------------------------------------------
// One database per property.

struct Fixture {
    store: GenericStore<Item>,
    storehaus: StoreHaus,
    runtime: tokio::runtime::Runtime,
    statements: Statements,
    _db: TestDatabase,
}

type Sentinel = Vec<(i32, String)>;

impl Fixture {
    fn run<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The rows of the sentinel table.
    fn sentinel(&self) -> Sentinel {
        self.run(sqlx::query_as("SELECT id, secret FROM sentinel ORDER BY id").fetch_all(pg(&self.storehaus))).unwrap()
    }

    /// A digest of every row of `prop_items` whose id satisfies `condition` (fixed SQL text).
    fn checksum(&self, condition: &str) -> String {
        let sql =
            format!("SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY id), '')) FROM {TABLE} t WHERE {condition}");
        self.run(sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(&*sql)).fetch_one(pg(&self.storehaus))).unwrap()
    }

    /// Notes what a property must leave as it found it, the sentinel table and the rows of
    /// `prop_items` that `kept` selects, and starts its clock; statements recorded so far are
    /// dropped.
    fn untouched(&self, kept: &str) -> Untouched {
        let untouched = Untouched {
            kept: kept.to_owned(),
            rows: self.checksum(kept),
            sentinel: self.sentinel(),
            started: Instant::now(),
        };
        self.statements.take();
        untouched
    }

    /// Asserts that nothing `untouched` noted has changed (`rule` says which rows are kept).
    fn assert_untouched(&self, untouched: &Untouched, rule: &str) {
        assert_eq!(self.sentinel(), untouched.sentinel);
        assert_eq!(self.checksum(&untouched.kept), untouched.rows, "{rule}");
    }
}

/// What a property may not change, and when it started.
struct Untouched {
    kept: String,
    rows: String,
    sentinel: Sentinel,
    started: Instant,
}

/// A test database holding the seeded `prop_items` and a sentinel table, with the statement
/// recorder installed on this thread (the returned guard keeps it there); `None` when the test
/// is skipped for want of a server.
fn fixture() -> Option<(Fixture, tracing::subscriber::DefaultGuard)> {
    let runtime = runtime();
    let db = runtime.block_on(TestDatabase::new())?;
    // Durability is not under test, and 10 000 commits each waiting for a WAL flush would take
    // most of a property's time; connections opened after this ALTER run without waiting.
    runtime.block_on(async {
        let setup = db.storehaus().await;
        let sql = format!("ALTER DATABASE \"{}\" SET synchronous_commit = off", db.name());
        sqlx::query(sqlx::AssertSqlSafe(&*sql)).execute(pg(&setup)).await.unwrap();
        pg(&setup).close().await;
    });
    let storehaus = runtime.block_on(db.storehaus());
    let store = GenericStore::<Item>::new(storehaus.pool().clone(), None, None);
    runtime.block_on(async {
        storehaus.auto_migrate::<Item>(false).await.unwrap();
        for seed in SEEDS {
            let tags = seed.tags.iter().map(|t| (*t).to_owned()).collect();
            store.create(seed_item(seed), Some(tags)).await.unwrap();
        }
        for sql in [
            "CREATE TABLE sentinel (id INT PRIMARY KEY, secret TEXT NOT NULL)",
            "INSERT INTO sentinel VALUES (1, 'alpha'), (2, 'beta'), (3, 'gamma''; DROP TABLE sentinel; --')",
        ] {
            sqlx::query(sql).execute(pg(&storehaus)).await.unwrap();
        }
        let (commit,): (String,) = sqlx::query_as("SHOW synchronous_commit").fetch_one(pg(&storehaus)).await.unwrap();
        assert_eq!(commit, "off");
        let mut columns = storehaus_suite::column_names(&storehaus, TABLE).await;
        columns.sort();
        let mut expected: Vec<_> = COLUMNS.iter().map(|c| (*c).to_owned()).collect();
        expected.sort();
        assert_eq!(columns, expected, "COLUMNS must list exactly the columns of {TABLE}");
    });
    let statements = Statements::default();
    let guard = tracing::subscriber::set_default(statements.clone());
    let fixture = Fixture { store, storehaus, runtime, statements, _db: db };

    // The recorder sees exactly what is sent, short statements and long ones.
    fixture.run(sqlx::query("SELECT 1").execute(pg(&fixture.storehaus))).unwrap();
    fixture
        .run(sqlx::query("SELECT id, secret FROM sentinel WHERE id = $1").bind(1).fetch_all(pg(&fixture.storehaus)))
        .unwrap();
    let sent = fixture.statements.take();
    assert_eq!(sent, ["SELECT 1", "SELECT id, secret FROM sentinel WHERE id = $1"], "the recorder misses statements");
    Some((fixture, guard))
}

/// The runtime every call of a property runs on: one thread, the one the recorder is installed on.
fn runtime() -> tokio::runtime::Runtime {
    keep_callsites_open();
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Registers two recorders for the whole process, installed nowhere. While at most one dispatcher
/// is registered, tracing-core takes a newly hit callsite's interest from the hitting thread's own
/// subscriber alone, so a thread recording nothing (another test still in its setup) could switch
/// an sqlx callsite off for the thread that records, e.g. the one of slow statements.
fn keep_callsites_open() {
    static KEEP: OnceLock<[tracing::Dispatch; 2]> = OnceLock::new();
    KEEP.get_or_init(|| [(); 2].map(|()| tracing::Dispatch::new(Statements::default())));
}

fn ids(records: &[Record<Item>]) -> Vec<i64> {
    records.iter().map(|r| r.id).collect()
}

fn has_nul(json: &Json) -> bool {
    match json {
        Json::String(s) => s.contains('\0'),
        Json::Array(items) => items.iter().any(has_nul),
        Json::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        Json::Null | Json::Bool(_) | Json::Number(_) => false,
    }
}

/// `tags` without repeats, first occurrence first (how StoreHaus stores a tag list).
fn dedup(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        if !out.contains(tag) {
            out.push(tag.clone());
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Generators.

fn hostile() -> BoxedStrategy<String> {
    vec(select(PIECES), 1..5).prop_map(|pieces| pieces.concat()).boxed()
}

/// Any text: arbitrary printable unicode, arbitrary code points (NUL and controls included),
/// hostile concatenations, and strings the seeded rows hold.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        2 => any::<String>(),
        2 => vec(any::<char>(), 0..12).prop_map(String::from_iter),
        3 => hostile(),
        2 => select(SEED_TEXTS).prop_map(str::to_owned),
    ]
    .boxed()
}

/// A real column name spelled slightly differently: case, whitespace, quotes, qualification,
/// invisible characters, trailing SQL.
fn variant_of_column() -> BoxedStrategy<String> {
    (select(COLUMNS), 0..12usize)
        .prop_map(|(column, how)| match how {
            0 => column.to_uppercase(),
            1 => {
                let mut chars = column.chars();
                chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
            }
            2 => format!(" {column}"),
            3 => format!("{column} "),
            4 => format!("\"{column}\""),
            5 => format!("{TABLE}.{column}"),
            6 => format!("{column}\u{0}"),
            7 => format!("{column}\u{200B}"),
            8 => format!("{column}; DROP TABLE sentinel; --"),
            9 => format!("{column}--"),
            10 => column
                .chars()
                .map(|c| char::from_u32(c as u32 + 0xFEE0).filter(|_| c.is_ascii_alphabetic()).unwrap_or(c))
                .collect(),
            _ => format!("{column}\n"),
        })
        .prop_filter("must differ from every column", |name| !COLUMNS.contains(&name.as_str()))
        .boxed()
}

fn field_name() -> BoxedStrategy<String> {
    prop_oneof![
        40 => text(),
        40 => variant_of_column(),
        10 => select(NEAR_MISSES).prop_map(str::to_owned),
        // Rare: a real name sends statements, and its only check is that it resolves.
        1 => select(COLUMNS).prop_map(str::to_owned),
    ]
    .boxed()
}

fn json_leaf() -> BoxedStrategy<Json> {
    prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        // NaN and infinities have no JSON form; serde_json turns them into null.
        any::<f64>().prop_map(Json::from),
        text().prop_map(Json::String),
    ]
    .boxed()
}

fn json_value() -> BoxedStrategy<Json> {
    json_leaf()
        .prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..4).prop_map(Json::Array),
                vec((text(), inner), 0..4).prop_map(|entries| Json::Object(entries.into_iter().collect())),
            ]
        })
        .boxed()
}

/// JSON built from text, integers, booleans and null: values that survive a JSONB round trip
/// exactly (floats do not: `-0.0` comes back as `0`).
fn json_of_strings() -> BoxedStrategy<Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        text().prop_map(Json::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Json::Array),
            vec((text(), inner), 0..4).prop_map(|entries| Json::Object(entries.into_iter().collect())),
        ]
    })
    .boxed()
}

fn int() -> BoxedStrategy<i64> {
    prop_oneof![
        any::<i64>(),
        any::<i32>().prop_map(i64::from),
        select(vec![0, 1, -1, i32::MAX as i64, i32::MIN as i64, i32::MAX as i64 + 1, i64::MIN, i64::MAX]),
    ]
    .boxed()
}

fn float() -> BoxedStrategy<f64> {
    prop_oneof![
        any::<f64>(),
        select(vec![0.0, -0.0, f64::MAX, f64::MIN, f64::MIN_POSITIVE, 1e-320, f32::MAX as f64 * 2.0, f64::NAN]),
    ]
    .boxed()
}

// ---------------------------------------------------------------------------------------------
// Property 1: field names.

/// Every store call that takes a field name, with `name` in that position; writes are guarded
/// by `id = -1`, which matches no row, so a real name changes nothing either.
async fn calls_naming(store: &GenericStore<Item>, name: &str) -> Vec<(&'static str, Result<(), StoreError>)> {
    let find = |filter: QueryFilter| store.find(QueryBuilder::new().filter(filter));
    let guarded = || QueryBuilder::new().filter(QueryFilter::eq("id", -1));
    let n = || name.to_owned();
    let done = |r: Result<Vec<Record<Item>>, StoreError>| r.map(drop);
    vec![
        ("eq", done(find(QueryFilter::eq(n(), "v")).await)),
        ("ne", done(find(QueryFilter::ne(n(), 1)).await)),
        ("gt", done(find(QueryFilter::gt(n(), 1)).await)),
        ("lte", done(find(QueryFilter::lte(n(), "v")).await)),
        ("in_values", done(find(QueryFilter::in_values(n(), ["v"])).await)),
        ("not_in_values", done(find(QueryFilter::not_in_values(n(), [1])).await)),
        ("like", done(find(QueryFilter::like(n(), "v%")).await)),
        ("ilike", done(find(QueryFilter::ilike(n(), "v%")).await)),
        ("not_like", done(find(QueryFilter::not_like(n(), "v%")).await)),
        ("is_null", done(find(QueryFilter::is_null(n())).await)),
        ("is_not_null", done(find(QueryFilter::is_not_null(n())).await)),
        ("json_has_key", done(find(QueryFilter::json_has_key(n(), "k")).await)),
        ("json_path_text_eq", done(find(QueryFilter::json_path_text_eq(n(), ["k"], "v")).await)),
        ("json_path_eq", done(find(QueryFilter::json_path_eq(n(), ["k"], json!(1))).await)),
        ("json_contains", done(find(QueryFilter::json_contains(n(), json!({}))).await)),
        ("array_overlaps", done(find(QueryFilter::array_overlaps(n(), ["v"])).await)),
        ("array_contains", done(find(QueryFilter::array_contains(n(), [1])).await)),
        ("or", done(find(QueryFilter::or(vec![QueryFilter::eq("id", 1), QueryFilter::eq(n(), "v")])).await)),
        ("and/not", done(find(QueryFilter::and(vec![!QueryFilter::is_null(n())])).await)),
        ("order_by asc", done(store.find(QueryBuilder::new().order_by(n(), SortOrder::Asc)).await)),
        ("order_by desc", done(store.find(QueryBuilder::new().order_by(name, SortOrder::Desc).limit(2)).await)),
        ("find_one", store.find_one(QueryBuilder::new().filter(QueryFilter::eq(n(), "v"))).await.map(drop)),
        ("find_page", store.find_page(QueryBuilder::new().order_by(n(), SortOrder::Asc).limit(2)).await.map(drop)),
        ("count_where", store.count_where(QueryBuilder::new().filter(QueryFilter::is_null(n()))).await.map(drop)),
        (
            "update_where filter",
            done(
                store
                    .update_where(guarded().filter(QueryFilter::eq(n(), "v")), UpdateSet::new().set("name", "v"))
                    .await,
            ),
        ),
        ("UpdateSet::set", done(store.update_where(guarded(), UpdateSet::new().set(n(), "v")).await)),
        ("UpdateSet::increment", done(store.update_where(guarded(), UpdateSet::new().increment(n(), 1)).await)),
        ("UpdateSet::decrement", done(store.update_where(guarded(), UpdateSet::new().decrement(n(), 1)).await)),
        ("delete_where", store.delete_where(guarded().filter(QueryFilter::is_not_null(n()))).await.map(drop)),
    ]
}

#[test]
fn field_names_resolve_only_when_they_are_columns() {
    let Some((fx, _guard)) = fixture() else { return };
    let untouched = fx.untouched("true");

    let result = TestRunner::new(config()).run(&field_name(), |name| {
        let calls = fx.run(calls_naming(&fx.store, &name));
        let sent = fx.statements.take();
        if COLUMNS.contains(&name.as_str()) {
            // `is_null` takes any column, so a real name always sends statements, and they are seen.
            prop_assert!(!sent.is_empty(), "nothing recorded for the real column {name:?}");
            for (position, result) in calls {
                prop_assert!(
                    matches!(result, Ok(()) | Err(StoreError::Validation { .. })),
                    "{position} with the real column {name:?}: {result:?}"
                );
            }
        } else {
            for (position, result) in calls {
                prop_assert!(
                    matches!(&result, Err(StoreError::UnknownField { table, field }) if table == TABLE && *field == name),
                    "{position} with {name:?}: {result:?}"
                );
            }
            prop_assert!(sent.is_empty(), "statements sent for the unknown name {name:?}: {sent:?}");
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }

    fx.assert_untouched(&untouched, &format!("no row of {TABLE} may change"));
    eprintln!("field names: {} cases in {:.1?}", config().cases, untouched.started.elapsed());
}

// ---------------------------------------------------------------------------------------------
// Property 2: values.

#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Int,
    Float,
    Bool,
    Json,
    TextList,
    IntList,
    FloatList,
}

/// Query shapes that take a value: a label (which also selects the call) and the kind of value
/// the column expects.
const SHAPES: &[(&str, Kind)] = &[
    ("eq name", Kind::Text),
    ("ne name", Kind::Text),
    ("gt name", Kind::Text),
    ("lt note", Kind::Text),
    ("in name", Kind::TextList),
    ("not_in name", Kind::TextList),
    ("like name", Kind::Text),
    ("ilike name", Kind::Text),
    ("not_ilike note", Kind::Text),
    ("eq qty", Kind::Int),
    ("gt qty", Kind::Int),
    ("in qty", Kind::IntList),
    ("eq score", Kind::Float),
    ("lte score", Kind::Float),
    ("in score", Kind::FloatList),
    ("eq ratio", Kind::Float),
    ("eq active", Kind::Bool),
    ("ne active", Kind::Bool),
    ("eq meta", Kind::Json),
    ("json_contains meta", Kind::Json),
    ("json_path_eq meta", Kind::Json),
    ("json_path_text_eq meta", Kind::Text),
    ("json_has_key meta", Kind::Text),
    ("array_overlaps labels", Kind::TextList),
    ("array_contains labels", Kind::TextList),
    ("eq labels", Kind::TextList),
    ("array_overlaps counts", Kind::IntList),
    ("set name", Kind::Text),
    ("set note", Kind::Text),
    ("set qty", Kind::Int),
    ("set score", Kind::Float),
    ("set ratio", Kind::Float),
    ("set active", Kind::Bool),
    ("set meta", Kind::Json),
    ("set labels", Kind::TextList),
    ("set counts", Kind::IntList),
    ("increment qty", Kind::Int),
    ("decrement score", Kind::Float),
];

fn value_of(kind: Kind) -> BoxedStrategy<Json> {
    let typed = match kind {
        Kind::Text => text().prop_map(Json::String).boxed(),
        Kind::Int => int().prop_map(Json::from).boxed(),
        Kind::Float => float().prop_map(Json::from).boxed(),
        Kind::Bool => any::<bool>().prop_map(Json::Bool).boxed(),
        Kind::Json => json_value(),
        Kind::TextList => vec(text(), 0..4).prop_map(Json::from).boxed(),
        Kind::IntList => vec(int(), 0..4).prop_map(Json::from).boxed(),
        Kind::FloatList => {
            vec(float(), 0..4).prop_map(|v| Json::Array(v.into_iter().map(Json::from).collect())).boxed()
        }
    };
    // Now and then a value of any type, so mismatches are exercised as well.
    prop_oneof![5 => typed, 1 => json_value()].boxed()
}

fn reference(kind: Kind) -> Json {
    match kind {
        Kind::Text => json!(MARKER),
        Kind::Int => json!(MARKER_INT),
        Kind::Float => json!(MARKER_INT as f64 + 0.5),
        Kind::Bool => json!(true),
        Kind::Json => json!({ MARKER: [MARKER, MARKER_INT] }),
        Kind::TextList => json!([MARKER]),
        Kind::IntList => json!([MARKER_INT]),
        Kind::FloatList => json!([MARKER_INT as f64 + 0.5]),
    }
}

/// The items of a list value; any other value is a list of itself.
fn items(value: &Json) -> Vec<Json> {
    match value {
        Json::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

/// The text of a value, for calls that take a string.
fn as_text(value: &Json) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

/// Runs shape `label` with `value`: the records found or updated.
async fn run_shape(store: &GenericStore<Item>, label: &str, value: &Json) -> Result<Vec<Record<Item>>, StoreError> {
    let v = || value.clone();
    let (op, field) = label.split_once(' ').unwrap();
    let filter = match op {
        "eq" => QueryFilter::eq(field, v()),
        "ne" => QueryFilter::ne(field, v()),
        "gt" => QueryFilter::gt(field, v()),
        "lt" => QueryFilter::lt(field, v()),
        "lte" => QueryFilter::lte(field, v()),
        "in" => QueryFilter::in_values(field, items(value)),
        "not_in" => QueryFilter::not_in_values(field, items(value)),
        "like" => QueryFilter::like(field, as_text(value)),
        "ilike" => QueryFilter::ilike(field, as_text(value)),
        "not_ilike" => QueryFilter::not_ilike(field, as_text(value)),
        "json_contains" => QueryFilter::json_contains(field, v()),
        "json_path_eq" => QueryFilter::json_path_eq(field, ["dims", "w"], v()),
        "json_path_text_eq" => QueryFilter::json_path_text_eq(field, ["color"], as_text(value)),
        "json_has_key" => QueryFilter::json_has_key(field, as_text(value)),
        "array_overlaps" => QueryFilter::array_overlaps(field, items(value)),
        "array_contains" => QueryFilter::array_contains(field, items(value)),
        _ => {
            let set = match op {
                "set" => UpdateSet::new().set(field, v()),
                "increment" => UpdateSet::new().increment(field, v()),
                "decrement" => UpdateSet::new().decrement(field, v()),
                _ => unreachable!("{label}"),
            };
            let only_scratch = QueryBuilder::new().filter(QueryFilter::eq("id", SCRATCH));
            return store.update_where(only_scratch, set).await;
        }
    };
    store.find(QueryBuilder::new().filter(filter)).await
}

#[test]
fn values_never_change_the_sql_text() {
    let Some((fx, _guard)) = fixture() else { return };
    let untouched = fx.untouched(&format!("id <> {SCRATCH}"));

    // The statements of every shape with its reference value.
    let references: Vec<Vec<String>> = SHAPES
        .iter()
        .map(|(label, kind)| {
            let result = fx.run(run_shape(&fx.store, label, &reference(*kind)));
            assert!(result.is_ok(), "{label} with the reference value: {result:?}");
            let sent = fx.statements.take();
            assert_eq!(sent.len(), 1, "{label}: {sent:?}");
            assert!(!sent[0].contains(MARKER) && !sent[0].contains(&MARKER_INT.to_string()), "{label}: {sent:?}");
            sent
        })
        .collect();
    let seeded_names: Vec<(i64, &str)> = SEEDS.iter().filter(|s| s.id != SCRATCH).map(|s| (s.id, s.name)).collect();

    let cases = (0..SHAPES.len()).prop_flat_map(|shape| (Just(shape), value_of(SHAPES[shape].1)));
    let result = TestRunner::new(config()).run(&cases, |(shape, value)| {
        let label = SHAPES[shape].0;
        let result = fx.run(run_shape(&fx.store, label, &value));
        let sent = fx.statements.take();
        match &result {
            Ok(_) | Err(StoreError::Database { .. }) => {
                prop_assert_eq!(&sent, &references[shape], "{} with {:?}: {:?}", label, value, result);
            }
            Err(StoreError::Validation { .. }) => prop_assert!(sent.is_empty(), "{label} with {value:?}: {sent:?}"),
            Err(other) => prop_assert!(false, "{label} with {value:?}: unexpected error {other:?}"),
        }
        let texts = ["like", "ilike", "not_ilike", "json_path_text_eq", "json_has_key"];
        let nul = if texts.contains(&label.split_once(' ').unwrap().0) {
            as_text(&value).contains('\0')
        } else {
            has_nul(&value)
        };
        if nul {
            prop_assert!(matches!(result, Err(StoreError::Validation { .. })), "{label} with {value:?}: {result:?}");
        }
        let Ok(records) = result else { return Ok(()) };
        // What the text shapes must find among the seeded rows (the scratch row changes).
        let found: Vec<i64> = ids(&records).into_iter().filter(|id| *id != SCRATCH).collect();
        match label {
            "eq name" => {
                let expected: Vec<i64> =
                    seeded_names.iter().filter(|(_, n)| Some(*n) == value.as_str()).map(|(id, _)| *id).collect();
                prop_assert_eq!(found, expected, "{} with {:?}", label, value);
            }
            "in name" => {
                let list = items(&value);
                let expected: Vec<i64> =
                    seeded_names.iter().filter(|(_, n)| list.contains(&json!(n))).map(|(id, _)| *id).collect();
                prop_assert_eq!(found, expected, "{} with {:?}", label, value);
            }
            "set name" | "set note" | "set labels" | "set qty" | "set active" | "set counts" => {
                prop_assert_eq!(ids(&records), vec![SCRATCH]);
                let written = serde_json::to_value(records[0].data()).unwrap();
                prop_assert_eq!(&written[&label[4..]], &value, "{} read back", label);
            }
            l if l.starts_with("set ") || l.starts_with("increment") || l.starts_with("decrement") => {
                prop_assert_eq!(ids(&records), vec![SCRATCH]);
            }
            _ => {}
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }

    fx.assert_untouched(&untouched, "only the scratch row may change");
    eprintln!("values: {} cases in {:.1?}", config().cases, untouched.started.elapsed());
}

// ---------------------------------------------------------------------------------------------
// Property 3: tags and JSON paths.

#[derive(Debug, Clone)]
enum TagCase {
    AnyTag(Vec<String>),
    AllTags(Vec<String>),
    OneTag(String),
    /// `add_tags` then `remove_tags` of the same tags on the scratch row.
    Edit(Vec<String>),
    PathText(Vec<String>, String),
    PathEq(Vec<String>, Json),
    HasKey(String),
}

impl TagCase {
    /// The same call with fixed values.
    fn reference(&self) -> TagCase {
        let m = || MARKER.to_owned();
        match self {
            TagCase::AnyTag(_) => TagCase::AnyTag(vec![m()]),
            TagCase::AllTags(_) => TagCase::AllTags(vec![m()]),
            TagCase::OneTag(_) => TagCase::OneTag(m()),
            TagCase::Edit(_) => TagCase::Edit(vec![m()]),
            TagCase::PathText(..) => TagCase::PathText(vec![m()], m()),
            TagCase::PathEq(..) => TagCase::PathEq(vec![m()], json!(MARKER)),
            TagCase::HasKey(_) => TagCase::HasKey(m()),
        }
    }

    fn strings(&self) -> Vec<&str> {
        match self {
            TagCase::AnyTag(t) | TagCase::AllTags(t) | TagCase::Edit(t) => t.iter().map(String::as_str).collect(),
            TagCase::OneTag(s) | TagCase::HasKey(s) => vec![s],
            TagCase::PathText(p, s) => p.iter().map(String::as_str).chain([s.as_str()]).collect(),
            TagCase::PathEq(p, _) => p.iter().map(String::as_str).collect(),
        }
    }
}

fn tag_case() -> BoxedStrategy<TagCase> {
    let path = || vec(text(), 0..4);
    prop_oneof![
        vec(text(), 0..5).prop_map(TagCase::AnyTag),
        vec(text(), 0..5).prop_map(TagCase::AllTags),
        text().prop_map(TagCase::OneTag),
        vec(text(), 0..5).prop_map(TagCase::Edit),
        (path(), text()).prop_map(|(p, s)| TagCase::PathText(p, s)),
        (path(), json_value()).prop_map(|(p, v)| TagCase::PathEq(p, v)),
        text().prop_map(TagCase::HasKey),
    ]
    .boxed()
}

/// The JSON at `path` inside `meta`, following object keys (the seeded documents hold no arrays).
fn at_path<'a>(meta: &'a Json, path: &[String]) -> Option<&'a Json> {
    path.iter().try_fold(meta, |json, key| json.as_object()?.get(key))
}

/// The ids of the seeded rows (the scratch row has no tags) a read case must find.
fn expected_ids(case: &TagCase) -> Option<Vec<i64>> {
    let rows = SEEDS.iter().map(|s| (s.id, s.tags, (s.meta)()));
    let has = |tags: &[&str], tag: &str| tags.contains(&tag);
    Some(match case {
        TagCase::AnyTag(want) => rows.filter(|(_, t, _)| want.iter().any(|w| has(t, w))).map(|r| r.0).collect(),
        TagCase::AllTags(want) => rows.filter(|(_, t, _)| want.iter().all(|w| has(t, w))).map(|r| r.0).collect(),
        TagCase::OneTag(want) => rows.filter(|(_, t, _)| has(t, want)).map(|r| r.0).collect(),
        // The seeded documents hold only objects and strings: `#>>` gives a string's own text.
        TagCase::PathText(path, text) => rows
            .filter(|(_, _, meta)| match at_path(meta, path) {
                Some(Json::String(s)) => s == text,
                // jsonb prints an empty object as `{}`; the non-empty seeded objects print as texts
                // the generators do not produce.
                Some(Json::Object(o)) => o.is_empty() && text == "{}",
                _ => false,
            })
            .map(|r| r.0)
            .collect(),
        TagCase::PathEq(path, value) => {
            rows.filter(|(_, _, meta)| at_path(meta, path) == Some(value)).map(|r| r.0).collect()
        }
        TagCase::HasKey(key) => {
            rows.filter(|(_, _, meta)| meta.as_object().is_some_and(|o| o.contains_key(key))).map(|r| r.0).collect()
        }
        TagCase::Edit(_) => return None,
    })
}

/// Runs `case`: the records found, or the tags after `add_tags` and after `remove_tags`.
async fn run_tag_case(
    store: &GenericStore<Item>,
    case: &TagCase,
) -> Result<Result<Vec<i64>, [Vec<String>; 2]>, StoreError> {
    let q = QueryBuilder::new();
    let query = match case {
        TagCase::AnyTag(tags) => q.filter_by_any_tag(tags.clone()),
        TagCase::AllTags(tags) => q.filter_by_all_tags(tags.clone()),
        TagCase::OneTag(tag) => q.filter_by_tag(tag.clone()),
        TagCase::PathText(path, text) => q.filter(QueryFilter::json_path_text_eq("meta", path.clone(), text.clone())),
        TagCase::PathEq(path, value) => q.filter(QueryFilter::json_path_eq("meta", path.clone(), value.clone())),
        TagCase::HasKey(key) => q.filter(QueryFilter::json_has_key("meta", key.clone())),
        TagCase::Edit(tags) => {
            let added = store.add_tags(&SCRATCH, tags.clone()).await?.tags().to_vec();
            let removed = store.remove_tags(&SCRATCH, tags.clone()).await?.tags().to_vec();
            return Ok(Err([added, removed]));
        }
    };
    Ok(Ok(ids(&store.find(query).await?)))
}

#[test]
fn tags_and_json_paths_never_change_the_sql_text() {
    let Some((fx, _guard)) = fixture() else { return };
    let untouched = fx.untouched(&format!("id <> {SCRATCH}"));

    // The statements of each kind of case with its reference values, sent once per kind.
    let references: RefCell<HashMap<Discriminant<TagCase>, Vec<String>>> = RefCell::default();
    let reference_of = |case: &TagCase| {
        let mut references = references.borrow_mut();
        let sent = references.entry(std::mem::discriminant(case)).or_insert_with(|| {
            let reference = case.reference();
            let result = fx.run(run_tag_case(&fx.store, &reference));
            assert!(result.is_ok(), "{reference:?}: {result:?}");
            let sent = fx.statements.take();
            assert!(!sent.is_empty() && sent.iter().all(|s| !s.contains(MARKER)), "{sent:?}");
            sent
        });
        sent.clone()
    };

    let result = TestRunner::new(config()).run(&tag_case(), |case| {
        let reference_sent = reference_of(&case);

        let result = fx.run(run_tag_case(&fx.store, &case));
        let sent = fx.statements.take();
        let nul =
            case.strings().iter().any(|s| s.contains('\0')) || matches!(&case, TagCase::PathEq(_, v) if has_nul(v));
        let empty_tag = matches!(&case, TagCase::Edit(tags) if tags.iter().any(String::is_empty));
        if nul || empty_tag {
            prop_assert!(matches!(result, Err(StoreError::Validation { .. })), "{case:?}: {result:?}");
            prop_assert!(sent.is_empty(), "{case:?} sent {sent:?}");
            return Ok(());
        }
        prop_assert_eq!(&sent, &reference_sent, "{:?}: {:?}", case, result);
        match result {
            Ok(Ok(found)) => prop_assert_eq!(Some(found), expected_ids(&case), "{:?}", case),
            Ok(Err([added, removed])) => {
                let TagCase::Edit(tags) = &case else { unreachable!() };
                prop_assert_eq!(added, dedup(tags), "{:?}", case);
                prop_assert!(removed.is_empty(), "{case:?}: {removed:?}");
            }
            Err(error) => prop_assert!(false, "{case:?}: {error:?}"),
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }

    fx.assert_untouched(&untouched, "only the scratch row may change");
    let scratch = fx.run(fx.store.get_by_id(&SCRATCH)).unwrap().unwrap();
    assert!(scratch.tags().is_empty(), "{:?}", scratch.tags());
    assert_eq!(scratch.data(), &seed_item(&SEEDS[4]));
    eprintln!("tags and JSON paths: {} cases in {:.1?}", config().cases, untouched.started.elapsed());
}

// ---------------------------------------------------------------------------------------------
// Property 4: writes.

#[derive(Debug, Clone)]
struct Written {
    name: String,
    note: Option<String>,
    labels: Vec<String>,
    meta: Json,
    tags: Vec<String>,
}

fn written() -> BoxedStrategy<Written> {
    (text(), proptest::option::of(text()), vec(text(), 0..4), json_of_strings(), vec(text(), 0..4))
        .prop_map(|(name, note, labels, meta, tags)| Written { name, note, labels, meta, tags })
        .boxed()
}

fn item(id: i64, w: &Written) -> Item {
    Item {
        id,
        name: w.name.clone(),
        qty: 1,
        score: 0.5,
        ratio: 0.25,
        active: true,
        meta: w.meta.clone(),
        labels: w.labels.clone(),
        counts: vec![id],
        note: w.note.clone(),
    }
}

#[test]
fn arbitrary_strings_are_written_and_read_back_unchanged() {
    let Some((fx, _guard)) = fixture() else { return };
    let untouched = fx.untouched("id < 500");

    // The statements of one create and one read with fixed values; ids are bound too.
    let marker = Written {
        name: MARKER.into(),
        note: Some(MARKER.into()),
        labels: vec![MARKER.into()],
        meta: json!({ MARKER: MARKER }),
        tags: vec![MARKER.into()],
    };
    let created = fx.run(fx.store.create(item(500, &marker), Some(marker.tags.clone()))).unwrap();
    assert_eq!(created.data(), &item(500, &marker));
    let create_sql = fx.statements.take();
    fx.run(fx.store.get_by_id(&500)).unwrap().unwrap();
    let get_sql = fx.statements.take();
    assert!(create_sql.len() == 1 && get_sql.len() == 1, "{create_sql:?} {get_sql:?}");
    assert!(!create_sql[0].contains(MARKER) && !create_sql[0].contains("500"), "{create_sql:?}");

    let next_id = std::cell::Cell::new(1_000_i64);
    let stored = std::cell::Cell::new(0_u64);
    let result = TestRunner::new(config()).run(&written(), |w| {
        let id = next_id.get();
        next_id.set(id + 1);
        let expected = item(id, &w);
        let result = fx.run(fx.store.create(expected.clone(), Some(w.tags.clone())));
        let sent = fx.statements.take();

        let nul = [&w.name].into_iter().chain(&w.note).chain(&w.labels).any(|s| s.contains('\0')) || has_nul(&w.meta);
        let bad_tag = w.tags.iter().any(|t| t.is_empty() || t.contains('\0'));
        if nul || bad_tag {
            prop_assert!(matches!(result, Err(StoreError::Validation { .. })), "{w:?}: {result:?}");
            prop_assert!(sent.is_empty(), "{w:?} sent {sent:?}");
            let read = fx.run(fx.store.get_by_id(&id));
            prop_assert!(matches!(read, Ok(None)), "{w:?}: a refused create left {read:?}");
            fx.statements.take();
            return Ok(());
        }
        let record = match result {
            Ok(record) => record,
            Err(error) => return Err(TestCaseError::fail(format!("{w:?}: {error:?}"))),
        };
        stored.set(stored.get() + 1);
        prop_assert_eq!(&sent, &create_sql, "{:?}", w);
        prop_assert_eq!(record.data(), &expected);
        prop_assert_eq!(record.tags().to_vec(), dedup(&w.tags));

        let read = fx.run(fx.store.get_by_id(&id));
        prop_assert_eq!(&fx.statements.take(), &get_sql);
        let read = read.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let Some(read) = read else { return Err(TestCaseError::fail(format!("{w:?}: not read back"))) };
        prop_assert_eq!(read.data(), &expected);
        prop_assert_eq!(read.tags().to_vec(), dedup(&w.tags));
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }

    fx.assert_untouched(&untouched, "the seeded rows may not change");
    let count = fx.run(fx.store.count_where(QueryBuilder::new().filter(QueryFilter::gte("id", 1_000)))).unwrap();
    assert_eq!(count, stored.get(), "exactly the accepted records were stored");
    eprintln!("writes: {} cases in {:.1?}", config().cases, untouched.started.elapsed());
}

// ---------------------------------------------------------------------------------------------
// Property 5: nested filters.

/// One level of nesting: `not`, or `and` / `or` with a sibling leaf (placed first or second).
#[derive(Debug, Clone, Copy)]
enum Wrap {
    Not,
    And(usize, bool),
    Or(usize, bool),
}

/// Leaves on columns that are never NULL (or NULL tests), so `not` is the complement of a set of
/// rows, and the seeded rows each matches (ids as bits, in the order of `SEEDS`).
fn leaf(index: usize) -> (QueryFilter, u8) {
    match index {
        0 => (QueryFilter::eq("qty", 20), 0b00010),
        1 => (QueryFilter::gt("id", 2), 0b11100),
        2 => (QueryFilter::is_null("note"), 0b01010),
        3 => (QueryFilter::eq("active", false), 0b10101),
        4 => (QueryFilter::has_any_tag(["a"]), 0b01001),
        5 => (QueryFilter::in_values("id", [1, SCRATCH]), 0b10001),
        6 => (QueryFilter::json_has_key("meta", "color"), 0b00011),
        // The one leaf that is not a column: `UnknownField` within the limit.
        _ => (QueryFilter::eq("no_such_field", 1), 0),
    }
}

const KNOWN_LEAVES: usize = 7;
const ALL_ROWS: u8 = 0b11111;

fn wrap(filter: QueryFilter, rows: u8, level: Wrap) -> (QueryFilter, u8) {
    match level {
        Wrap::Not => (!filter, ALL_ROWS & !rows),
        Wrap::And(sibling, first) | Wrap::Or(sibling, first) => {
            let (other, other_rows) = leaf(sibling);
            let items = if first { vec![other, filter] } else { vec![filter, other] };
            match level {
                Wrap::And(..) => (QueryFilter::and(items), rows & other_rows),
                _ => (QueryFilter::or(items), rows | other_rows),
            }
        }
    }
}

/// A leaf inside `times` levels of one kind, inside `outer` levels of mixed kinds.
#[derive(Debug, Clone)]
struct Nesting {
    leaf: usize,
    repeated: Wrap,
    times: usize,
    outer: Vec<Wrap>,
}

impl Nesting {
    fn depth(&self) -> usize {
        self.times + self.outer.len()
    }

    /// The filter, built in loops, and the seeded rows it matches.
    fn build(&self) -> (QueryFilter, u8) {
        let start = leaf(self.leaf);
        let repeated = (0..self.times).fold(start, |(f, rows), _| wrap(f, rows, self.repeated));
        self.outer.iter().fold(repeated, |(f, rows), level| wrap(f, rows, *level))
    }
}

fn level() -> BoxedStrategy<Wrap> {
    prop_oneof![
        Just(Wrap::Not),
        (0..KNOWN_LEAVES, any::<bool>()).prop_map(|(s, first)| Wrap::And(s, first)),
        (0..KNOWN_LEAVES, any::<bool>()).prop_map(|(s, first)| Wrap::Or(s, first)),
    ]
    .boxed()
}

/// Depths around the limit mostly, past the JSON decoder's 128 levels often, and now and then
/// 1 000 or 100 000 levels deep.
fn nesting() -> BoxedStrategy<Nesting> {
    let times = prop_oneof![6 => 0..=70_usize, 3 => 71..=300_usize, 1 => select(vec![1_000_usize, 100_000])];
    (0..=KNOWN_LEAVES, level(), times, vec(level(), 0..24))
        .prop_map(|(leaf, repeated, times, outer)| Nesting { leaf, repeated, times, outer })
        .boxed()
}

#[test]
fn nested_filters_find_their_rows_up_to_the_limit_and_are_refused_beyond() {
    let Some((fx, _guard)) = fixture() else { return };
    let untouched = fx.untouched("true");
    let bit = |id: i64| 1_u8 << SEEDS.iter().position(|s| s.id == id).unwrap();

    let result = TestRunner::new(config()).run(&nesting(), |nesting| {
        let (filter, rows) = nesting.build();
        let result = fx.run(fx.store.find(QueryBuilder::new().filter(filter)));
        let sent = fx.statements.take();
        let depth = nesting.depth();
        if depth > MAX_FILTER_DEPTH {
            prop_assert!(
                matches!(&result, Err(StoreError::Validation { field: None, message })
                    if message.contains(&MAX_FILTER_DEPTH.to_string())),
                "depth {depth}: {result:?}"
            );
            prop_assert!(sent.is_empty(), "depth {depth} sent {sent:?}");
        } else if nesting.leaf == KNOWN_LEAVES {
            prop_assert!(matches!(&result, Err(StoreError::UnknownField { .. })), "depth {depth}: {result:?}");
            prop_assert!(sent.is_empty(), "depth {depth} sent {sent:?}");
        } else {
            let found = result.map_err(|e| TestCaseError::fail(format!("depth {depth}: {e:?}")))?;
            let found = ids(&found).into_iter().fold(0, |acc, id| acc | bit(id));
            prop_assert_eq!(found, rows, "depth {}: rows found, as bits in the order of SEEDS", depth);
            prop_assert_eq!(sent.len(), 1, "depth {}: {:?}", depth, sent);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }

    fx.assert_untouched(&untouched, "a read changes nothing");
    eprintln!("nested filters: {} cases in {:.1?}", config().cases, untouched.started.elapsed());
}
