//! SQL-shape tests of the PostgreSQL dialect: exact statement text and bound parameters, and (in
//! `database`) the statements run on PostgreSQL.

mod conditions;
#[cfg(feature = "testing")]
mod database;
mod hostile;
mod statements;

use super::Postgres;
use crate::backend::sql::{self, Bind, Sql};
use crate::error::StoreError;
use crate::model::TableDef;
use crate::query::resolved::{Assignment, ResolvedQuery};
use crate::query::{QueryBuilder, QueryFilter, SortOrder, UpdateSet};
use crate::types::{ColumnType, ScalarType, Value};
use chrono::Utc;
use sqlx::Arguments;
use sqlx::postgres::PgArguments;

pub(super) use crate::query::tests::fixtures::{NOTES, POSTS};

/// `SELECT` list of [`POSTS`].
pub(super) const POSTS_COLUMNS: &str = r#""id", "title", "views", "meta", "labels", "rating", "__created_at__", "__updated_at__", "__tags__", "__deleted_at__", "__version__""#;

/// The parameters a statement bound, in order, with the types they were bound as.
#[derive(Debug, Default)]
pub(super) struct Values(pub Vec<(ColumnType, Value)>);

impl Bind for Values {
    fn bind(&mut self, value: Value, ty: ColumnType) -> Result<(), StoreError> {
        self.0.push((ty, value));
        Ok(())
    }
}

/// The text `write` writes on `table` and what it bound.
fn render(
    table: &'static TableDef,
    write: impl FnOnce(&mut Sql<'_, Postgres>) -> Result<(), StoreError>,
) -> Result<(String, Values), StoreError> {
    let mut values = Values::default();
    let mut sql = Sql::new(table, &mut values, Utc::now());
    write(&mut sql)?;
    let text = sql.finish()?.as_str().to_owned();
    Ok((text, values))
}

pub(super) fn render_select(q: &ResolvedQuery) -> Result<(String, Values), StoreError> {
    render(q.table, |s| sql::select(s, q))
}

pub(super) fn render_count(q: &ResolvedQuery) -> Result<(String, Values), StoreError> {
    render(q.table, |s| sql::count(s, q))
}

pub(super) fn render_update(q: &ResolvedQuery, set: &[Assignment]) -> Result<(String, Values), StoreError> {
    render(q.table, |s| sql::update(s, q, set))
}

/// A soft delete (`deleting`) or a restore.
pub(super) fn render_soft_delete(q: &ResolvedQuery, deleting: bool) -> Result<(String, Values), StoreError> {
    render(q.table, |s| if deleting { sql::soft_delete(s, q) } else { sql::restore(s, q) })
}

pub(super) fn render_delete(q: &ResolvedQuery) -> Result<(String, Values), StoreError> {
    render(q.table, |s| sql::delete(s, q))
}

/// A statement bound into PostgreSQL arguments, as the executor runs it.
#[derive(Debug)]
pub(super) struct Statement {
    pub sql: String,
    pub args: PgArguments,
}

fn statement(
    table: &'static TableDef,
    write: impl FnOnce(&mut Sql<'_, Postgres>) -> Result<(), StoreError>,
) -> Result<Statement, StoreError> {
    let (sql, args) = crate::backend::table::write_statement(table, Utc::now(), write)?;
    Ok(Statement { sql: sql.as_str().to_owned(), args })
}

pub(super) fn select(q: &ResolvedQuery) -> Result<Statement, StoreError> {
    statement(q.table, |s| sql::select(s, q))
}

pub(super) fn update(q: &ResolvedQuery, set: &[Assignment]) -> Result<Statement, StoreError> {
    statement(q.table, |s| sql::update(s, q, set))
}

pub(super) fn soft_delete(q: &ResolvedQuery) -> Result<Statement, StoreError> {
    statement(q.table, |s| sql::soft_delete(s, q))
}

pub(super) fn restore(q: &ResolvedQuery) -> Result<Statement, StoreError> {
    statement(q.table, |s| sql::restore(s, q))
}

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

/// The column types and values a statement bound, in order.
pub(super) fn typed(values: Values) -> (Vec<ColumnType>, Vec<Value>) {
    values.0.into_iter().unzip()
}

pub(super) const TEXT: ColumnType = ColumnType::Scalar(ScalarType::Text);
pub(super) const INT: ColumnType = ColumnType::Scalar(ScalarType::Integer);
pub(super) const BIGINT: ColumnType = ColumnType::Scalar(ScalarType::BigInt);
pub(super) const JSONB: ColumnType = ColumnType::Scalar(ScalarType::Json);
pub(super) const TEXT_ARRAY: ColumnType = ColumnType::Array(ScalarType::Text);

#[test]
fn statements_bind_one_argument_per_placeholder() {
    let q = resolve(crate::query::tests::fixtures::bound_posts());
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

#[test]
fn sort_keys_are_accepted_whatever_their_type() {
    let q = resolve(QueryBuilder::new().order_by("meta", SortOrder::Asc).order_by("labels", SortOrder::Desc));
    assert!(render_select(&q).is_ok());
}
