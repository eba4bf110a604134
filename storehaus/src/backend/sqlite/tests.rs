//! Statement text and bound arguments of the SQLite dialect, and (in `database` and `writes`) the
//! statements run on an in-memory SQLite database.

mod conditions;
mod database;
mod hostile;
mod statements;
mod writes;

use super::*;
use crate::backend::executor::{Db, TxCell, TxHandle};
use crate::backend::sql::{self, Sql, record_columns};
use crate::query::resolved::{Assignment, Condition, ResolvedQuery};
use crate::query::{QueryBuilder, QueryFilter, SortOrder, UpdateSet};
use chrono::{DateTime, Utc};
use sqlx::Arguments;

pub(super) use crate::query::tests::fixtures::{NOTES, POSTS, USERS};

/// A statement bound into SQLite arguments, as the executor runs it.
#[derive(Debug)]
pub(super) struct Statement {
    pub sql: String,
    pub args: SqliteArguments,
}

/// The statement `write` writes on `table` with `now` as the clock of writes.
fn statement(
    table: &'static TableDef,
    now: DateTime<Utc>,
    write: impl FnOnce(&mut Sql<'_, Sqlite>) -> Result<(), StoreError>,
) -> Result<Statement, StoreError> {
    let (sql, args) = crate::backend::table::write_statement(table, now, write)?;
    Ok(Statement { sql: sql.as_str().to_owned(), args })
}

pub(super) fn select(q: &ResolvedQuery) -> Result<Statement, StoreError> {
    statement(q.table, now(), |s| sql::select(s, q))
}

pub(super) fn count(q: &ResolvedQuery) -> Result<Statement, StoreError> {
    statement(q.table, now(), |s| sql::count(s, q))
}

pub(super) fn update(q: &ResolvedQuery, set: &[Assignment], now: DateTime<Utc>) -> Result<Statement, StoreError> {
    statement(q.table, now, |s| sql::update(s, q, set))
}

pub(super) fn soft_delete(q: &ResolvedQuery, now: DateTime<Utc>) -> Result<Statement, StoreError> {
    statement(q.table, now, |s| sql::soft_delete(s, q))
}

pub(super) fn restore(q: &ResolvedQuery, now: DateTime<Utc>) -> Result<Statement, StoreError> {
    statement(q.table, now, |s| sql::restore(s, q))
}

pub(super) fn delete(q: &ResolvedQuery) -> Result<Statement, StoreError> {
    statement(q.table, now(), |s| sql::delete(s, q))
}

/// The text of one condition on [`POSTS`], as the dialect writes it.
pub(super) fn condition_text(condition: &Condition) -> Result<String, StoreError> {
    let q = ResolvedQuery { condition: Some(condition.clone()), ..resolve(QueryBuilder::new().with_deleted()) };
    let text = select(&q)?.sql;
    let clause = text.split_once(" WHERE ").and_then(|(_, c)| c.rsplit_once(" ORDER BY ")).map(|(c, _)| c);
    Ok(clause.unwrap_or_default().to_owned())
}

/// The qualified `SELECT` / `RETURNING` list of `table`.
pub(super) fn column_list(table: &TableDef) -> String {
    record_columns(table).map(|c| format!("\"{}\".\"{c}\"", table.name)).collect::<Vec<_>>().join(", ")
}

pub(super) fn resolve(q: QueryBuilder) -> ResolvedQuery {
    q.resolve(POSTS).unwrap_or_else(|e| panic!("{e}"))
}

pub(super) fn sql(result: Result<Statement, StoreError>) -> String {
    result.unwrap_or_else(|e| panic!("{e}")).sql
}

/// The WHERE clause of the `SELECT` that `filter` gives on [`POSTS`] (with deleted rows), and
/// how many arguments it bound.
pub(super) fn where_of(filter: QueryFilter) -> (String, usize) {
    let statement =
        select(&resolve(QueryBuilder::new().with_deleted().filter(filter))).unwrap_or_else(|e| panic!("{e}"));
    let prefix = format!("SELECT {} FROM \"posts\" WHERE ", column_list(POSTS));
    let suffix = r#" ORDER BY "posts"."id" ASC"#;
    let sql = &statement.sql;
    let clause = sql.strip_prefix(&prefix).and_then(|s| s.strip_suffix(suffix)).unwrap_or_else(|| panic!("{sql}"));
    (clause.to_owned(), statement.args.len())
}

/// The error of rendering `filter` as a `SELECT` on `table`.
pub(super) fn select_error(table: &'static TableDef, q: QueryBuilder) -> StoreError {
    select(&q.resolve(table).unwrap_or_else(|e| panic!("{e}"))).unwrap_err()
}

pub(super) fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-05-06T07:08:09.123456Z").unwrap().with_timezone(&Utc)
}

#[test]
fn statements_bind_one_argument_per_placeholder() {
    let q = resolve(crate::query::tests::fixtures::bound_posts().filter(QueryFilter::json_path_text_eq(
        "meta",
        ["a", "0"],
        "v",
    )));
    let statement = select(&q).unwrap();
    assert_eq!(statement.args.len(), 7, "{}", statement.sql);
    assert_eq!(statement.sql.matches('?').count(), 7, "{}", statement.sql);
    let set = UpdateSet::new().set("title", "t").increment("views", 1).resolve(POSTS).unwrap();
    let q = resolve(QueryBuilder::new().filter(QueryFilter::eq("id", 7)));
    let statement = update(&q, &set, now()).unwrap();
    assert_eq!((statement.args.len(), statement.sql.matches('?').count()), (6, 6), "{}", statement.sql);
}

/// SQLite reads an unknown double-quoted name as a string; qualified names fail instead, so a
/// column missing from the database is an error, never its name read back as data.
#[tokio::test]
async fn a_missing_column_fails_instead_of_reading_as_its_name() {
    let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
    let sql = r#"CREATE TABLE "notes" ("key" INTEGER PRIMARY KEY, "__created_at__" TEXT, "__updated_at__" TEXT,
        "__tags__" TEXT)"#;
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query(sql).execute(&mut *conn).await.unwrap();
    sqlx::query(r#"INSERT INTO "notes" VALUES (1, 'a', 'b', '[]')"#).execute(&mut *conn).await.unwrap();
    let unqualified = sqlx::query_scalar::<_, String>(r#"SELECT "title" FROM "notes""#).fetch_one(&mut *conn).await;
    assert_eq!(unqualified.unwrap(), "title", "SQLite's double-quoted string fallback");
    let statement = select(&QueryBuilder::new().resolve(NOTES).unwrap()).unwrap();
    let err = sqlx::query_with(sqlx::AssertSqlSafe(&*statement.sql), statement.args)
        .fetch_all(&mut *conn)
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("no such column"), "{err}");
}

#[tokio::test]
async fn a_second_writer_on_a_memory_database_times_out_instead_of_hanging() {
    let config = DatabaseConfig { connection_timeout_seconds: 1, ..DatabaseConfig::embedded(MEMORY) };
    let db = Db::<Sqlite>::new(connect(MEMORY, &config).await.unwrap());
    let first = TxCell::begin(&db).await.unwrap();
    let started = std::time::Instant::now();
    let second = TxCell::begin(&db).await;
    assert!(matches!(second, Err(StoreError::Timeout(_))), "{second:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    TxHandle::rollback(&first).await.unwrap();
    let third = TxCell::begin(&db).await.unwrap();
    TxHandle::commit(&third).await.unwrap();
}
