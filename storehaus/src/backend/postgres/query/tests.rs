//! SQL-shape tests: exact statement text and bound parameters, no database needed.

mod conditions;
#[cfg(feature = "testing")]
mod database;
mod hostile;
mod statements;

use super::sea_values::from_sea;
use super::*;
use crate::query::resolved::ResolvedQuery;
use crate::query::{QueryBuilder, QueryFilter, SortOrder, UpdateSet};
use crate::types::{ColumnType, ScalarType, Value};
use sea_query::Values;
use sqlx::Arguments;

pub(super) use crate::query::tests::fixtures::{NOTES, POSTS};

/// `SELECT` list of [`POSTS`].
pub(super) const POSTS_COLUMNS: &str = r#""id", "title", "views", "meta", "labels", "rating", "__created_at__", "__updated_at__", "__tags__", "__deleted_at__", "__version__""#;

pub(super) fn resolve(q: QueryBuilder) -> ResolvedQuery {
    q.resolve(POSTS).unwrap_or_else(|e| panic!("{e}"))
}

/// The WHERE clause of the `SELECT` that `filter` gives on [`POSTS`], its values' types, and the
/// values themselves.
pub(super) fn where_of(filter: QueryFilter) -> (String, Vec<ColumnType>, Vec<Value>) {
    let (sql, values) = render_select(&resolve(QueryBuilder::new().with_deleted().filter(filter))).unwrap();
    let prefix = format!("SELECT {POSTS_COLUMNS} FROM \"posts\" WHERE ");
    let suffix = r#" ORDER BY "id" ASC"#;
    let clause = sql.strip_prefix(&prefix).and_then(|s| s.strip_suffix(suffix)).unwrap_or_else(|| panic!("{sql}"));
    let (types, values) = typed(values);
    (clause.to_owned(), types, values)
}

/// The column types and values sea-query collected, as they will be bound.
pub(super) fn typed(values: Values) -> (Vec<ColumnType>, Vec<Value>) {
    values.0.into_iter().map(|v| from_sea(v).unwrap()).map(|(v, t)| (t, v)).unzip()
}

pub(super) const TEXT: ColumnType = ColumnType::Scalar(ScalarType::Text);
pub(super) const INT: ColumnType = ColumnType::Scalar(ScalarType::Integer);
pub(super) const BIGINT: ColumnType = ColumnType::Scalar(ScalarType::BigInt);
pub(super) const JSONB: ColumnType = ColumnType::Scalar(ScalarType::Json);
pub(super) const TEXT_ARRAY: ColumnType = ColumnType::Array(ScalarType::Text);

#[test]
fn statements_bind_one_argument_per_placeholder() {
    let q = resolve(
        QueryBuilder::new()
            .filter(QueryFilter::in_values("views", [1, 2, 3]))
            .filter_by_any_tag(["a"])
            .filter(QueryFilter::like("title", "x%"))
            .limit(5)
            .offset(10),
    );
    let statement = select(&q).unwrap();
    assert_eq!(statement.args.len(), 5, "{}", statement.sql);
    assert!(statement.sql.contains("$5") && !statement.sql.contains("$6"), "{}", statement.sql);
    let args = format!("{:?}", statement.args);
    for ty in ["Int4Array", "TextArray", "Text", "Int8"] {
        assert!(args.contains(ty), "{ty} missing in {args}");
    }
    let set = UpdateSet::new().set("title", serde_json::json!("t")).increment("views", serde_json::json!(1));
    let statement = update(&q_with_condition(), &set.resolve(POSTS).unwrap()).unwrap();
    assert_eq!(statement.args.len(), 3, "{}", statement.sql);
}

fn q_with_condition() -> ResolvedQuery {
    resolve(QueryBuilder::new().filter(QueryFilter::eq("id", 7)))
}

#[test]
fn nul_bytes_never_reach_the_wire() {
    let q = resolve(QueryBuilder::new().filter(QueryFilter::eq("title", "ok")));
    let mut bad = q.clone();
    bad.condition = Some(crate::query::resolved::Condition::TagsAny(vec!["\0".into()]));
    let err = select(&bad).unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "{err}");
    assert!(select(&q).is_ok());
}
