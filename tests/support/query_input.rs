//! Arbitrary bytes turned into a StoreHaus query through the public API, run, and checked: the
//! decoder shared by the `query_builder` fuzz target (`fuzz/`) and the corpus replay test
//! (`tests/hostile/fuzz_corpus.rs`).
//!
//! The input is UTF-8 JSON. Anything else, or JSON that does not fit the schema, is
//! [`Outcome::Ignored`]. Field names and values are passed to StoreHaus verbatim.
//!
//! ```text
//! {
//!   "action":   "find" | "find_one" | "find_page" | "count" | "update" | "delete"
//!               | "force_delete" | "restore",      default "update" with "update", else "find"
//!   "filters":  [FILTER, ...],                     each added with QueryBuilder::filter
//!   "order":    [[FIELD, "asc" | "desc"], ...],
//!   "limit":    INTEGER, "offset": INTEGER,        negative ones are passed on too
//!   "any_tags": [STRING, ...], "all_tags": [STRING, ...], "tag": STRING,
//!   "deleted":  "with" | "only",
//!   "all_rows": BOOL,
//!   "after":    CURSOR_TEXT | true,                true: the cursor of the query's first page
//!   "lock":     "update" | "skip_locked",
//!   "update":   {FIELD: VALUE, ...} | [["set" | "inc" | "dec", FIELD, VALUE], ...]
//! }
//!
//! FILTER is an object with "op":
//!   eq ne gt gte lt lte                  "field", "value"
//!   like ilike not_like not_ilike        "field", "pattern"
//!   in not_in                            "field", "values": [...]
//!   is_null is_not_null                  "field"
//!   and or                               "filters": [FILTER, ...]
//!   not                                  "filter": FILTER
//!   nest                                 "filter": FILTER, "levels": 0..=200000,
//!                                        "with": "not" | "and" | "or"   (default "not")
//!   any_tag all_tags                     "tags": [STRING, ...]
//!   json_path_eq                         "field", "path": [STRING, ...], "value"
//!   json_path_text_eq                    "field", "path": [STRING, ...], "value": STRING
//!   json_contains                        "field", "value"
//!   json_has_key                         "field", "key"
//!   json_path_gt json_path_gte           "field", "path": [STRING, ...], "value"
//!   json_path_lt json_path_lte           "field", "path": [STRING, ...], "value"
//!   json_path_exists json_path_absent    "field", "path": [STRING, ...]
//!   array_contains array_overlaps        "field", "values": [...]
//! ```
//!
//! `nest` wraps its filter in `levels` of `not`, `and([..])` or `or([..])`, built in a loop: the
//! only way to reach nesting deeper than the JSON decoder's 128 levels. A query whose filters nest
//! deeper than `MAX_FILTER_DEPTH` must be refused with `StoreError::Validation`.
//!
//! Unknown keys are skipped; a known key with a value of the wrong shape ignores the input.
//!
//! Every query runs inside a transaction that is rolled back, so writes never outlive the run and
//! the sentinel rows [`setup`] creates stay as they were. [`run`] panics when a check fails.

use serde_json::{Map, Value as Json, json};
use std::collections::BTreeSet;
use storehaus::prelude::*;
use storehaus::query::{MAX_FILTER_DEPTH, SortKey};

/// Every column kind a filter can meet, on a soft-delete table.
#[model]
#[table(name = "fuzz_items", soft_delete)]
#[derive(PartialEq)]
pub struct FuzzItem {
    #[primary_key]
    pub id: i64,
    pub name: String,
    pub note: Option<String>,
    pub age: i32,
    pub rank: Option<i64>,
    pub score: f64,
    pub active: bool,
    pub seen_at: DateTime<Utc>,
    pub ref_id: Uuid,
    pub doc: serde_json::Value,
    pub labels: Vec<String>,
}

/// The most levels a `nest` filter adds: far past the limit, yet quick to build and drop.
const MAX_NEST_LEVELS: u64 = 200_000;

/// A table no query of the input can name: it must keep its one row whatever the input does.
#[model]
#[table(name = "fuzz_canary")]
pub struct FuzzCanary {
    #[primary_key]
    pub id: i64,
    pub word: String,
}

const TABLE: &str = "fuzz_items";

/// The names [`FuzzItem`]'s table resolves: declared fields and the system columns of a
/// soft-delete table.
pub const KNOWN_FIELDS: &[&str] = &[
    "id",
    "name",
    "note",
    "age",
    "rank",
    "score",
    "active",
    "seen_at",
    "ref_id",
    "doc",
    "labels",
    "__created_at__",
    "__updated_at__",
    "__tags__",
    "__deleted_at__",
];

/// The id of the sentinel row that [`setup`] soft-deletes.
const DELETED_ID: i64 = 3;

/// The rows [`setup`] creates, with their tags, in id order.
pub fn sentinels() -> Vec<(FuzzItem, Vec<String>)> {
    let at = |text: &str| DateTime::parse_from_rfc3339(text).expect("a valid timestamp").with_timezone(&Utc);
    let uuid = |text: &str| Uuid::parse_str(text).expect("a valid UUID");
    let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        (
            FuzzItem {
                id: 1,
                name: "alpha".into(),
                note: Some("first".into()),
                age: 30,
                rank: Some(1),
                score: 1.5,
                active: true,
                seen_at: at("2024-01-02T03:04:05Z"),
                ref_id: uuid("6f1c0c2e-4f7a-4d8b-9a43-0c8f5d6b7e21"),
                doc: json!({"a": 1, "tags": ["x", "y"], "nested": {"k": "v"}}),
                labels: strings(&["red", "green"]),
            },
            strings(&["vip", "beta"]),
        ),
        (
            FuzzItem {
                id: 2,
                name: "Beta_%".into(),
                note: None,
                age: -7,
                rank: None,
                score: -0.25,
                active: false,
                seen_at: at("1999-12-31T23:59:59Z"),
                ref_id: uuid("00000000-0000-0000-0000-000000000000"),
                doc: json!([1, 2, 3]),
                labels: vec![],
            },
            vec![],
        ),
        (
            FuzzItem {
                id: DELETED_ID,
                name: "gamma".into(),
                note: Some("soft-deleted".into()),
                age: 0,
                rank: Some(-3),
                score: 0.0,
                active: true,
                seen_at: at("2030-06-15T12:00:00Z"),
                ref_id: uuid("a3bb189e-8bf9-3888-9912-ace4e6543002"),
                doc: json!({"a": "1", "b": null}),
                labels: strings(&["blue"]),
            },
            strings(&["old"]),
        ),
        (
            FuzzItem {
                id: 4,
                name: "O'Brien \"quoted\" \\ ünïcode".into(),
                note: Some("%_\\".into()),
                age: i32::MAX,
                rank: Some(i64::MIN),
                score: 1e300,
                active: false,
                seen_at: at("2024-01-02T03:04:05Z"),
                ref_id: uuid("ffffffff-ffff-ffff-ffff-ffffffffffff"),
                doc: json!("just text"),
                labels: strings(&["red", "'; DROP TABLE fuzz_canary; --"]),
            },
            strings(&["vip", "a,b", "{}"]),
        ),
    ]
}

/// Creates (or recreates) the tables and the sentinel rows; returns the store [`run`] takes.
pub async fn setup(storehaus: &StoreHaus) -> Result<GenericStore<FuzzItem>, StoreError> {
    storehaus.auto_migrate::<FuzzItem>(true).await?;
    storehaus.auto_migrate::<FuzzCanary>(true).await?;
    let store = GenericStore::<FuzzItem>::new(storehaus.pool().clone(), None, None);
    for (item, tags) in sentinels() {
        store.create(item, Some(tags)).await?;
    }
    store.delete(&DELETED_ID).await?;
    let canary = GenericStore::<FuzzCanary>::new(storehaus.pool().clone(), None, None);
    canary.create(FuzzCanary { id: 1, word: "still here".into() }, None).await?;
    Ok(store)
}

/// How one input ended.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// Not UTF-8 JSON of the schema; nothing ran.
    Ignored,
    /// The query ran.
    Ok,
    /// StoreHaus refused or failed the query with this error (variant name, and SQLSTATE for
    /// database errors).
    Error(String),
}

impl Outcome {
    /// A short label, for tallies.
    pub fn label(&self) -> String {
        match self {
            Outcome::Ignored => "ignored".to_owned(),
            Outcome::Ok => "ok".to_owned(),
            Outcome::Error(name) => format!("error {name}"),
        }
    }
}

/// The variant of `error`, with the SQLSTATE of a database error.
pub fn error_name(error: &StoreError) -> String {
    match error {
        StoreError::NotFound { .. } => "NotFound".into(),
        StoreError::Deleted { .. } => "Deleted".into(),
        StoreError::Conflict { .. } => "Conflict".into(),
        StoreError::UniqueViolation { .. } => "UniqueViolation".into(),
        StoreError::UnknownField { .. } => "UnknownField".into(),
        StoreError::UnboundedWrite { .. } => "UnboundedWrite".into(),
        StoreError::Validation { .. } => "Validation".into(),
        StoreError::UnsafeMigration { .. } => "UnsafeMigration".into(),
        StoreError::Decode { .. } => "Decode".into(),
        StoreError::Database { code, .. } => format!("Database({})", code.as_deref().unwrap_or("-")),
        StoreError::Cache(_) => "Cache".into(),
        StoreError::Signal(_) => "Signal".into(),
        StoreError::Config { .. } => "Config".into(),
        StoreError::Registry(_) => "Registry".into(),
        StoreError::Transaction(_) => "Transaction".into(),
        StoreError::Timeout(_) => "Timeout".into(),
        StoreError::Unsupported { .. } => "Unsupported".into(),
        _ => "other".into(),
    }
}

/// What an input asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Find,
    FindOne,
    FindPage,
    Count,
    Update,
    Delete,
    ForceDelete,
    Restore,
}

/// Where the keyset continues.
#[derive(Debug)]
enum After {
    Text(String),
    FirstPage,
}

/// A decoded input.
#[derive(Debug)]
struct Plan {
    action: Action,
    query: QueryBuilder,
    update: Option<UpdateSet>,
    after: Option<After>,
    /// Every field name the input uses, in filters, sort keys and assignments.
    names: BTreeSet<String>,
    /// Limit as given, when it is a non-negative integer.
    limit: Option<u64>,
    /// Whether the query sees exactly the live rows, without paging or locking, so the number of
    /// rows a bulk write touches must equal `count_where` of the same query.
    plain: bool,
    deleted: Option<bool>,
    /// The deepest nesting of `and`/`or`/`not` among the filters.
    depth: usize,
}

/// Shape mismatch: the input is ignored.
#[derive(Debug)]
struct Mismatch;

type Decoded<T> = Result<T, Mismatch>;

fn string(json: &Json) -> Decoded<String> {
    json.as_str().map(str::to_owned).ok_or(Mismatch)
}

fn strings(json: &Json) -> Decoded<Vec<String>> {
    json.as_array().ok_or(Mismatch)?.iter().map(string).collect()
}

fn array(json: &Json) -> Decoded<Vec<Json>> {
    json.as_array().cloned().ok_or(Mismatch)
}

fn get<'a>(object: &'a Map<String, Json>, key: &str) -> Decoded<&'a Json> {
    object.get(key).ok_or(Mismatch)
}

/// A filter object and how deeply it nests `and`/`or`/`not`; records the field names it uses in
/// `names`.
fn filter(json: &Json, names: &mut BTreeSet<String>) -> Decoded<(QueryFilter, usize)> {
    let object = json.as_object().ok_or(Mismatch)?;
    let op = get(object, "op")?.as_str().ok_or(Mismatch)?;
    let mut field = || -> Decoded<String> {
        let field = string(get(object, "field")?)?;
        names.insert(field.clone());
        Ok(field)
    };
    let leaf = match op {
        "eq" => QueryFilter::eq(field()?, get(object, "value")?.clone()),
        "ne" => QueryFilter::ne(field()?, get(object, "value")?.clone()),
        "gt" => QueryFilter::gt(field()?, get(object, "value")?.clone()),
        "gte" => QueryFilter::gte(field()?, get(object, "value")?.clone()),
        "lt" => QueryFilter::lt(field()?, get(object, "value")?.clone()),
        "lte" => QueryFilter::lte(field()?, get(object, "value")?.clone()),
        "like" => QueryFilter::like(field()?, string(get(object, "pattern")?)?),
        "ilike" => QueryFilter::ilike(field()?, string(get(object, "pattern")?)?),
        "not_like" => QueryFilter::not_like(field()?, string(get(object, "pattern")?)?),
        "not_ilike" => QueryFilter::not_ilike(field()?, string(get(object, "pattern")?)?),
        "in" => QueryFilter::in_values(field()?, array(get(object, "values")?)?),
        "not_in" => QueryFilter::not_in_values(field()?, array(get(object, "values")?)?),
        "is_null" => QueryFilter::is_null(field()?),
        "is_not_null" => QueryFilter::is_not_null(field()?),
        "any_tag" => QueryFilter::has_any_tag(strings(get(object, "tags")?)?),
        "all_tags" => QueryFilter::has_all_tags(strings(get(object, "tags")?)?),
        "json_path_eq" => {
            let field = field()?;
            QueryFilter::json_path_eq(field, strings(get(object, "path")?)?, get(object, "value")?.clone())
        }
        "json_path_text_eq" => {
            let field = field()?;
            QueryFilter::json_path_text_eq(field, strings(get(object, "path")?)?, string(get(object, "value")?)?)
        }
        "json_contains" => QueryFilter::json_contains(field()?, get(object, "value")?.clone()),
        "json_has_key" => QueryFilter::json_has_key(field()?, string(get(object, "key")?)?),
        "json_path_gt" | "json_path_gte" | "json_path_lt" | "json_path_lte" => {
            let field = field()?;
            let (path, value) = (strings(get(object, "path")?)?, get(object, "value")?.clone());
            match op {
                "json_path_gt" => QueryFilter::json_path_gt(field, path, value),
                "json_path_gte" => QueryFilter::json_path_gte(field, path, value),
                "json_path_lt" => QueryFilter::json_path_lt(field, path, value),
                _ => QueryFilter::json_path_lte(field, path, value),
            }
        }
        "json_path_exists" => QueryFilter::json_path_exists(field()?, strings(get(object, "path")?)?),
        "json_path_absent" => QueryFilter::json_path_absent(field()?, strings(get(object, "path")?)?),
        "array_contains" => QueryFilter::array_contains(field()?, array(get(object, "values")?)?),
        "array_overlaps" => QueryFilter::array_overlaps(field()?, array(get(object, "values")?)?),
        "and" | "or" => {
            let nested = get(object, "filters")?.as_array().ok_or(Mismatch)?;
            let nested = nested.iter().map(|f| filter(f, names)).collect::<Decoded<Vec<_>>>()?;
            let depth = 1 + nested.iter().map(|(_, depth)| *depth).max().unwrap_or(0);
            let nested = nested.into_iter().map(|(f, _)| f).collect();
            return Ok((if op == "and" { QueryFilter::and(nested) } else { QueryFilter::or(nested) }, depth));
        }
        "not" => {
            let (inner, depth) = filter(get(object, "filter")?, names)?;
            return Ok((QueryFilter::not(inner), depth + 1));
        }
        "nest" => return nest(object, names),
        _ => return Err(Mismatch),
    };
    Ok((leaf, 0))
}

/// A `nest` filter: its inner filter wrapped in `levels` of one combinator, in a loop.
fn nest(object: &Map<String, Json>, names: &mut BTreeSet<String>) -> Decoded<(QueryFilter, usize)> {
    let levels = get(object, "levels")?.as_u64().filter(|n| *n <= MAX_NEST_LEVELS).ok_or(Mismatch)?;
    let wrap: fn(QueryFilter) -> QueryFilter = match object.get("with").map(Json::as_str) {
        None | Some(Some("not")) => QueryFilter::not,
        Some(Some("and")) => |f| QueryFilter::and(vec![f]),
        Some(Some("or")) => |f| QueryFilter::or(vec![f]),
        _ => return Err(Mismatch),
    };
    let (inner, depth) = filter(get(object, "filter")?, names)?;
    let nested = (0..levels).fold(inner, |f, _| wrap(f));
    Ok((nested, depth + levels as usize))
}

/// A JSON integer as the builder takes it: `u64` when it fits, else `i64` (negative), so both
/// paths of `limit`/`offset` are exercised.
enum Count {
    Unsigned(u64),
    Signed(i64),
}

fn count(json: &Json) -> Decoded<Count> {
    match (json.as_u64(), json.as_i64()) {
        (Some(n), _) => Ok(Count::Unsigned(n)),
        (None, Some(n)) => Ok(Count::Signed(n)),
        _ => Err(Mismatch),
    }
}

fn update_set(json: &Json, names: &mut BTreeSet<String>) -> Decoded<UpdateSet> {
    let mut set = UpdateSet::new();
    match json {
        Json::Object(map) => {
            for (field, value) in map {
                names.insert(field.clone());
                set = set.set(field.clone(), value.clone());
            }
        }
        Json::Array(ops) => {
            for op in ops {
                let [kind, field, value] = op.as_array().map(Vec::as_slice).ok_or(Mismatch)? else {
                    return Err(Mismatch);
                };
                let field = string(field)?;
                names.insert(field.clone());
                set = match kind.as_str() {
                    Some("set") => set.set(field, value.clone()),
                    Some("inc") => set.increment(field, value.clone()),
                    Some("dec") => set.decrement(field, value.clone()),
                    _ => return Err(Mismatch),
                };
            }
        }
        _ => return Err(Mismatch),
    }
    Ok(set)
}

fn decode(input: &[u8]) -> Decoded<Plan> {
    let json: Json = serde_json::from_slice(input).map_err(|_| Mismatch)?;
    let object = json.as_object().ok_or(Mismatch)?;
    let mut names = BTreeSet::new();
    let mut query = QueryBuilder::new();
    let mut plain = true;
    let mut limit = None;
    let mut depth = 0;
    if let Some(filters) = object.get("filters") {
        for f in filters.as_array().ok_or(Mismatch)? {
            let (f, f_depth) = filter(f, &mut names)?;
            depth = depth.max(f_depth);
            query = query.filter(f);
        }
    }
    if let Some(order) = object.get("order") {
        for key in order.as_array().ok_or(Mismatch)? {
            let [field, direction] = key.as_array().map(Vec::as_slice).ok_or(Mismatch)? else {
                return Err(Mismatch);
            };
            let field = string(field)?;
            names.insert(field.clone());
            query = match direction.as_str() {
                Some("asc") => query.order_by(field, SortOrder::Asc),
                Some("desc") => query.order(SortKey::desc(field)),
                _ => return Err(Mismatch),
            };
        }
    }
    if let Some(n) = object.get("limit") {
        plain = false;
        query = match count(n)? {
            Count::Unsigned(n) => {
                limit = Some(n);
                query.limit(n)
            }
            Count::Signed(n) => query.limit(n),
        };
    }
    if let Some(n) = object.get("offset") {
        plain = false;
        query = match count(n)? {
            Count::Unsigned(n) => query.offset(n),
            Count::Signed(n) => query.offset(n),
        };
    }
    if let Some(tags) = object.get("any_tags") {
        query = query.filter_by_any_tag(strings(tags)?);
    }
    if let Some(tags) = object.get("all_tags") {
        query = query.filter_by_all_tags(strings(tags)?);
    }
    if let Some(tag) = object.get("tag") {
        query = query.filter_by_tag(string(tag)?);
    }
    let deleted = match object.get("deleted") {
        None => Some(false),
        Some(visibility) => {
            plain = false;
            match visibility.as_str() {
                Some("with") => {
                    query = query.with_deleted();
                    None
                }
                Some("only") => {
                    query = query.only_deleted();
                    Some(true)
                }
                _ => return Err(Mismatch),
            }
        }
    };
    if let Some(all) = object.get("all_rows")
        && all.as_bool().ok_or(Mismatch)?
    {
        query = query.all_rows();
    }
    let after = match object.get("after") {
        None => None,
        Some(Json::String(text)) => Some(After::Text(text.clone())),
        Some(Json::Bool(true)) => Some(After::FirstPage),
        Some(_) => return Err(Mismatch),
    };
    plain &= after.is_none();
    if let Some(lock) = object.get("lock") {
        plain = false;
        query = match lock.as_str() {
            Some("update") => query.for_update(),
            Some("skip_locked") => query.for_update_skip_locked(),
            _ => return Err(Mismatch),
        };
    }
    let update = object.get("update").map(|u| update_set(u, &mut names)).transpose()?;
    let action = match object.get("action").map(Json::as_str) {
        None if update.is_some() => Action::Update,
        None => Action::Find,
        Some(Some("find")) => Action::Find,
        Some(Some("find_one")) => Action::FindOne,
        Some(Some("find_page")) => Action::FindPage,
        Some(Some("count")) => Action::Count,
        Some(Some("update")) => Action::Update,
        Some(Some("delete")) => Action::Delete,
        Some(Some("force_delete")) => Action::ForceDelete,
        Some(Some("restore")) => Action::Restore,
        Some(_) => return Err(Mismatch),
    };
    Ok(Plan { action, query, update, after, names, limit, plain, deleted, depth })
}

/// Decodes `input`, runs it on `store` (made by [`setup`]) inside a transaction that is rolled
/// back, and checks the result; panics with the input and the reason when a check fails.
pub async fn run(store: &GenericStore<FuzzItem>, input: &[u8]) -> Outcome {
    let Ok(plan) = decode(input) else {
        return Outcome::Ignored;
    };
    let show = || String::from_utf8_lossy(input).into_owned();
    let tx = Transaction::begin(store.pool()).await.unwrap_or_else(|e| panic!("cannot begin a transaction: {e}"));
    let tx_store = store.with_transaction(&tx);
    let unknown: Vec<&str> =
        plan.names.iter().map(String::as_str).filter(|name| !KNOWN_FIELDS.contains(name)).collect();
    probe_unknown(&tx_store, &unknown, &show).await;
    let result = execute(&tx_store, &plan, &show).await;
    // Rolled back whatever happened, so the sentinel check below sees the committed state only.
    let _ = tx.rollback().await;

    let outcome = match &result {
        Ok(()) => Outcome::Ok,
        Err(error) => Outcome::Error(error_name(error)),
    };
    if plan.depth > MAX_FILTER_DEPTH {
        assert!(
            matches!(&result, Err(StoreError::Validation { .. })),
            "filters {} levels deep gave {result:?}, not Validation\ninput: {}",
            plan.depth,
            show()
        );
    }
    match &result {
        Ok(()) if !unknown.is_empty() => panic!("unknown fields {unknown:?} were accepted\ninput: {}", show()),
        Err(StoreError::UnknownField { table, field }) => {
            assert_eq!(table, TABLE, "UnknownField names another table\ninput: {}", show());
            assert!(
                unknown.contains(&field.as_str()),
                "UnknownField `{field}` is not an unknown name of the input {unknown:?}\ninput: {}",
                show()
            );
        }
        Err(error @ StoreError::Decode { .. }) => {
            panic!("a stored row could not be read back: {error}\ninput: {}", show())
        }
        _ => {}
    }
    check_sentinels(store, &show).await;
    outcome
}

/// Each unknown name, on its own in a filter, a sort key and an assignment, is `UnknownField`.
async fn probe_unknown(store: &GenericStore<FuzzItem>, unknown: &[&str], show: &dyn Fn() -> String) {
    // A few are enough; every name of the input is probed across the corpus anyway.
    for &name in unknown.iter().take(3) {
        let expect = |what: &str, result: Result<(), StoreError>| match result {
            Err(StoreError::UnknownField { table, field }) if table == TABLE && field == name => {}
            other => panic!("{what} on unknown field {name:?} gave {other:?}, not UnknownField\ninput: {}", show()),
        };
        let by_filter = store.find(QueryBuilder::new().filter(QueryFilter::is_null(name))).await;
        expect("is_null", by_filter.map(drop));
        let by_order = store.find(QueryBuilder::new().order_by(name, SortOrder::Desc)).await;
        expect("order_by", by_order.map(drop));
        let set = UpdateSet::new().set(name, Json::Null);
        let by_update = store.update_where(QueryBuilder::new().all_rows(), set).await;
        expect("UpdateSet::set", by_update.map(drop));
    }
}

/// Runs the plan's action and the checks that need its result.
async fn execute(store: &GenericStore<FuzzItem>, plan: &Plan, show: &dyn Fn() -> String) -> Result<(), StoreError> {
    let mut query = plan.query.clone();
    match &plan.after {
        None => {}
        Some(After::Text(text)) => {
            let cursor = match Cursor::decode(text) {
                Ok(cursor) => cursor,
                Err(error @ StoreError::Validation { .. }) => return Err(error),
                Err(other) => panic!("Cursor::decode failed with {other:?}, not Validation\ninput: {}", show()),
            };
            query = query.after(&cursor);
        }
        Some(After::FirstPage) => {
            let first = store.find_page(query.clone()).await?;
            let Some(next) = first.next else { return Ok(()) };
            query = query.after(&next);
        }
    }
    let records = match plan.action {
        Action::Find => {
            let records = store.find(query).await?;
            if let Some(limit) = plan.limit {
                assert!(records.len() as u64 <= limit, "find returned more than its limit\ninput: {}", show());
            }
            records
        }
        Action::FindOne => store.find_one(query).await?.into_iter().collect(),
        Action::FindPage => find_pages(store, query, plan, show).await?,
        Action::Count => {
            let n = store.count_where(query).await?;
            assert!(n <= sentinels().len() as u64, "count_where counted {n} rows\ninput: {}", show());
            return Ok(());
        }
        Action::Update => {
            let before = counted(store, plan).await;
            let set = plan.update.clone().unwrap_or_default();
            let records = store.update_where(query, set).await?;
            check_written("update_where", before, records.len(), show);
            records
        }
        Action::Delete => {
            let before = counted(store, plan).await;
            let n = store.delete_where(query).await?;
            check_written("delete_where", before, n as usize, show);
            return Ok(());
        }
        Action::ForceDelete => {
            let n = store.force_delete_where(query).await?;
            assert!(n <= sentinels().len() as u64, "force_delete_where removed {n} rows\ninput: {}", show());
            return Ok(());
        }
        Action::Restore => store.restore_where(query).await?,
    };
    let ids: BTreeSet<i64> = sentinels().iter().map(|(item, _)| item.id).collect();
    for record in &records {
        assert!(ids.contains(&record.id), "a row that was never created came back\ninput: {}", show());
        if let (Some(only_deleted), Action::Find | Action::FindOne | Action::FindPage) = (plan.deleted, plan.action) {
            assert_eq!(
                record.is_deleted(),
                only_deleted,
                "visibility ignored for row {}\ninput: {}",
                record.id,
                show()
            );
        }
    }
    Ok(())
}

/// `count_where` of the plan's query, when it must equal the rows a bulk write touches.
async fn counted(store: &GenericStore<FuzzItem>, plan: &Plan) -> Option<u64> {
    if !plan.plain {
        return None;
    }
    store.count_where(plan.query.clone()).await.ok()
}

fn check_written(what: &str, before: Option<u64>, written: usize, show: &dyn Fn() -> String) {
    if let Some(before) = before {
        assert_eq!(
            before,
            written as u64,
            "{what} wrote another number of rows than count_where counts\ninput: {}",
            show()
        );
    }
}

/// A page, and the page after it when there is one: pages do not overlap and cursors survive
/// their text form.
async fn find_pages(
    store: &GenericStore<FuzzItem>,
    query: QueryBuilder,
    plan: &Plan,
    show: &dyn Fn() -> String,
) -> Result<Vec<Record<FuzzItem>>, StoreError> {
    let page = store.find_page(query.clone()).await?;
    if let Some(limit) = plan.limit {
        assert!(page.records.len() as u64 <= limit, "find_page returned more than its limit\ninput: {}", show());
    }
    let Some(next) = &page.next else { return Ok(page.records) };
    let text = next.encode();
    let decoded = Cursor::decode(&text).unwrap_or_else(|e| panic!("a cursor's own text fails to decode: {e}"));
    assert_eq!(&decoded, next, "a cursor changed through its text form\ninput: {}", show());
    let second = store
        .find_page(query.after(&decoded))
        .await
        .unwrap_or_else(|e| panic!("the cursor of a page does not continue its own query: {e}\ninput: {}", show()));
    let mut records = page.records;
    for record in second.records {
        assert!(
            records.iter().all(|r| r.id != record.id),
            "row {} is on two consecutive pages\ninput: {}",
            record.id,
            show()
        );
        records.push(record);
    }
    Ok(records)
}

/// The committed rows are exactly the sentinels, and the canary table is untouched.
async fn check_sentinels(store: &GenericStore<FuzzItem>, show: &dyn Fn() -> String) {
    let all = store
        .find(QueryBuilder::new().with_deleted().order_by("id", SortOrder::Asc))
        .await
        .unwrap_or_else(|e| panic!("cannot read the sentinel rows: {e}\ninput: {}", show()));
    let expected = sentinels();
    assert_eq!(all.len(), expected.len(), "the number of rows changed\ninput: {}", show());
    for (record, (item, tags)) in all.iter().zip(&expected) {
        assert_eq!(record.data(), item, "sentinel {} changed\ninput: {}", item.id, show());
        assert_eq!(record.tags(), tags.as_slice(), "sentinel {} lost its tags\ninput: {}", item.id, show());
        assert_eq!(record.is_deleted(), item.id == DELETED_ID, "sentinel {} changed state\ninput: {}", item.id, show());
    }
    let canary = GenericStore::<FuzzCanary>::new(store.pool().clone(), None, None);
    let words: Vec<String> = canary
        .list_all()
        .await
        .unwrap_or_else(|e| panic!("cannot read the canary table: {e}\ninput: {}", show()))
        .into_iter()
        .map(|r| r.into_inner().word)
        .collect();
    assert_eq!(words, ["still here"], "the canary table changed\ninput: {}", show());
}
