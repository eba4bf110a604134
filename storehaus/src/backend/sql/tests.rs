//! The writer itself: quoting, placeholders of each style, clock slots, and the statements kept
//! for a model on each dialect.

use super::*;
use crate::backend::postgres::Postgres;
use crate::backend::sqlite::Sqlite;
use crate::model::system::{AUTH, CREATED_AT, DELETED_AT, SYSTEM_COLUMNS, TAGS, UPDATED_AT, VERSION};
use crate::query::resolved::{Assignment, ResolvedQuery};
use crate::query::tests::fixtures::{NOTES, POSTS};
use crate::query::{Cursor, QueryBuilder, QueryFilter, UpdateSet};

#[test]
fn system_columns_follow_declared_ones_in_the_order_read_record_reads_them() {
    let order: Vec<_> = SYSTEM_COLUMNS.iter().map(|c| c.name).collect();
    assert_eq!(order, [CREATED_AT, UPDATED_AT, TAGS, DELETED_AT, VERSION, AUTH]);
    assert_eq!(crate::model::system::TAGS_COLUMN.name, TAGS);
    assert_eq!(crate::model::system::AUTH_COLUMN.name, AUTH);
    let notes: Vec<_> = record_columns(NOTES).collect();
    assert_eq!(notes, ["title", "key", CREATED_AT, UPDATED_AT, TAGS]);
}

#[test]
fn identifiers_are_quoted_with_inner_quotes_doubled() {
    assert_eq!(quote_ident(r#"odd"name"#), r#""odd""name""#);
    assert_eq!(quote_literal("it's"), "'it''s'");
}

/// What a statement bound, in order.
#[derive(Default)]
struct Bound(Vec<Value>);

impl Bind for Bound {
    fn bind(&mut self, value: Value, _: ColumnType) -> Result<(), StoreError> {
        self.0.push(value);
        Ok(())
    }
}

#[test]
fn placeholders_are_numbered_or_positional_and_the_clock_is_the_dialects() {
    let now = Utc::now();
    let mut bound = Bound::default();
    let mut sql = Sql::<Postgres>::new(POSTS, &mut bound, now);
    sql.column("title");
    sql.push(" = ");
    sql.param(Value::Text("a".into()), TEXT).unwrap();
    sql.push(", ");
    sql.clock();
    sql.push(", ");
    sql.param(Value::Text("b".into()), TEXT).unwrap();
    assert_eq!(sql.finish().unwrap().as_str().to_owned(), r#""title" = $1, now(), $2"#);
    assert_eq!(bound.0.len(), 2);

    let mut bound = Bound::default();
    let mut sql = Sql::<Sqlite>::new(POSTS, &mut bound, now);
    sql.column("title");
    sql.push(" = ");
    sql.param(Value::Text("a".into()), TEXT).unwrap();
    sql.push(", ");
    sql.clock();
    assert_eq!(sql.finish().unwrap().as_str().to_owned(), r#""posts"."title" = ?, ?"#);
    assert_eq!(bound.0, [Value::Text("a".into()), Value::TimestampTz(now)]);
}

#[test]
fn statements_kept_for_many_calls_have_slots_and_count_their_clocks() {
    let mut sql = Sql::<Sqlite>::template(POSTS);
    sql.slot();
    sql.clock();
    sql.clock();
    assert!(sql.param(Value::Integer(1), TEXT).is_err(), "a template binds no values");
    let (text, clocks) = sql.finish_template();
    assert_eq!((text.as_str().to_owned(), clocks), ("???".to_owned(), 2));

    let pg = Statements::new::<Postgres>(POSTS, false, crate::query::ScopeShape::NONE);
    let lite = Statements::new::<Sqlite>(POSTS, false, crate::query::ScopeShape::NONE);
    assert_eq!((pg.insert.clocks, lite.insert.clocks), (0, 2));
    assert_eq!((pg.delete.clocks, lite.delete.clocks), (0, 2));
    assert_eq!((pg.tags[0].clocks, lite.tags[0].clocks), (0, 1));
    assert!(pg.get.sql.clone().as_str().to_owned().ends_with(r#" WHERE "id" = $1 AND "__deleted_at__" IS NULL"#));
    assert!(
        lite.get
            .sql
            .clone()
            .as_str()
            .to_owned()
            .ends_with(r#" WHERE "posts"."id" = ? AND "posts"."__deleted_at__" IS NULL"#)
    );
    let update = pg.update(POSTS, true, true).unwrap().sql.clone().as_str().to_owned();
    assert!(
        update.contains(
            r#""__tags__" = $6, "__updated_at__" = now(), "__version__" = "__version__" + 1 WHERE "id" = $7"#
        ),
        "{update}"
    );
    assert!(update.contains(r#" AND "__version__" = $8 RETURNING"#), "{update}");
    let notes = Statements::new::<Postgres>(NOTES, false, crate::query::ScopeShape::NONE);
    assert!(matches!(notes.update(NOTES, false, true), Err(StoreError::Validation { .. })));
}

#[test]
fn writes_of_a_store_with_signals_record_their_events_in_the_statement_on_postgres_only() {
    let pg = Statements::new::<Postgres>(POSTS, true, crate::query::ScopeShape::NONE);
    let lite = Statements::new::<Sqlite>(POSTS, true, crate::query::ScopeShape::NONE);
    let pg_insert = pg.insert.sql.clone().as_str().to_owned();
    assert!(pg_insert.starts_with(r#"WITH "__w" AS (INSERT INTO "posts""#), "{pg_insert}");
    assert!(pg_insert.contains(r#"INSERT INTO "storehaus_events""#), "{pg_insert}");
    assert!(lite.insert.sql.clone().as_str().to_owned().starts_with(r#"INSERT INTO "posts""#));
    assert!(pg.get.sql.clone().as_str().to_owned().starts_with("SELECT "), "reads record nothing");
}

/// The four query-driven writes of dialect `D` on `q`: update, soft delete, restore, delete.
fn writes<D: Dialect>(q: &ResolvedQuery, set: &[Assignment]) -> [Result<(), StoreError>; 4] {
    let write = |f: &dyn Fn(&mut Sql<'_, D>) -> Result<(), StoreError>| {
        let mut bound = Bound::default();
        f(&mut Sql::new(q.table, &mut bound, Utc::now()))
    };
    [
        write(&|s| query::update(s, q, set)),
        write(&|s| query::soft_delete(s, q)),
        write(&|s| query::restore(s, q)),
        write(&|s| query::delete(s, q)),
    ]
}

fn resolve(q: QueryBuilder) -> ResolvedQuery {
    q.resolve(POSTS).unwrap_or_else(|e| panic!("{e}"))
}

/// Bulk writes without a filter, or with paging, are refused before any text is written.
fn write_guards<D: Dialect>() {
    let set = UpdateSet::new().set("views", 0).resolve(POSTS).unwrap();
    for q in
        [QueryBuilder::new(), QueryBuilder::new().with_deleted(), QueryBuilder::new().filter(QueryFilter::and(vec![]))]
    {
        for r in writes::<D>(&resolve(q), &set) {
            assert!(matches!(&r, Err(StoreError::UnboundedWrite { table }) if table == "posts"), "{r:?}");
        }
    }
    assert!(writes::<D>(&resolve(QueryBuilder::new().all_rows()), &set).iter().all(Result::is_ok));
    let filtered = || QueryBuilder::new().filter(QueryFilter::eq("id", 1));
    let cursor = Cursor::from_values(&resolve(QueryBuilder::new()).order, vec![Value::BigInt(1)]);
    for q in [filtered().limit(1), filtered().offset(1), filtered().after(&cursor)] {
        let q = resolve(q);
        for r in writes::<D>(&q, &set) {
            assert!(
                matches!(&r, Err(StoreError::Validation { message, .. }) if message.contains("reads only")),
                "{r:?}"
            );
        }
        let mut bound = Bound::default();
        assert!(query::select(&mut Sql::<D>::new(POSTS, &mut bound, Utc::now()), &q).is_ok());
    }
    let [update, ..] = writes::<D>(&resolve(filtered()), &[]);
    assert!(matches!(update, Err(StoreError::Validation { .. })));
}

#[test]
fn unfiltered_and_paged_bulk_writes_are_refused_on_both_dialects() {
    write_guards::<Postgres>();
    write_guards::<Sqlite>();
}

mod related;
mod scope;
mod shape;
