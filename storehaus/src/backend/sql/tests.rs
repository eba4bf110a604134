//! The writer itself: quoting, placeholders of each style, clock slots, and the statements kept
//! for a model on each dialect.

use super::*;
use crate::backend::postgres::Postgres;
use crate::backend::sqlite::Sqlite;
use crate::model::system::{CREATED_AT, DELETED_AT, SYSTEM_COLUMNS, TAGS, UPDATED_AT, VERSION};
use crate::query::tests::fixtures::{NOTES, POSTS};

#[test]
fn system_columns_follow_declared_ones_in_the_order_read_record_reads_them() {
    let order: Vec<_> = SYSTEM_COLUMNS.iter().map(|c| c.name).collect();
    assert_eq!(order, [CREATED_AT, UPDATED_AT, TAGS, DELETED_AT, VERSION]);
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
    assert_eq!(sql.finish().unwrap().into_string(), r#""title" = $1, now(), $2"#);
    assert_eq!(bound.0.len(), 2);

    let mut bound = Bound::default();
    let mut sql = Sql::<Sqlite>::new(POSTS, &mut bound, now);
    sql.column("title");
    sql.push(" = ");
    sql.param(Value::Text("a".into()), TEXT).unwrap();
    sql.push(", ");
    sql.clock();
    assert_eq!(sql.finish().unwrap().into_string(), r#""posts"."title" = ?, ?"#);
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
    assert_eq!((text.into_string(), clocks), ("???".to_owned(), 2));

    let pg = Statements::new::<Postgres>(POSTS, false);
    let lite = Statements::new::<Sqlite>(POSTS, false);
    assert_eq!((pg.insert.clocks, lite.insert.clocks), (0, 2));
    assert_eq!((pg.delete.clocks, lite.delete.clocks), (0, 2));
    assert_eq!((pg.tags[0].clocks, lite.tags[0].clocks), (0, 1));
    assert!(pg.get.sql.clone().into_string().ends_with(r#" WHERE "id" = $1 AND "__deleted_at__" IS NULL"#));
    assert!(
        lite.get.sql.clone().into_string().ends_with(r#" WHERE "posts"."id" = ? AND "posts"."__deleted_at__" IS NULL"#)
    );
    let update = pg.update(POSTS, true, true).unwrap().sql.clone().into_string();
    assert!(
        update.contains(
            r#""__tags__" = $6, "__updated_at__" = now(), "__version__" = "__version__" + 1 WHERE "id" = $7"#
        ),
        "{update}"
    );
    assert!(update.contains(r#" AND "__version__" = $8 RETURNING"#), "{update}");
    let notes = Statements::new::<Postgres>(NOTES, false);
    assert!(matches!(notes.update(NOTES, false, true), Err(StoreError::Validation { .. })));
}

#[test]
fn writes_of_a_store_with_signals_record_their_events_in_the_statement_on_postgres_only() {
    let pg = Statements::new::<Postgres>(POSTS, true);
    let lite = Statements::new::<Sqlite>(POSTS, true);
    let pg_insert = pg.insert.sql.clone().into_string();
    assert!(pg_insert.starts_with(r#"WITH "__w" AS (INSERT INTO "posts""#), "{pg_insert}");
    assert!(pg_insert.contains(r#"INSERT INTO "storehaus_events""#), "{pg_insert}");
    assert!(lite.insert.sql.clone().into_string().starts_with(r#"INSERT INTO "posts""#));
    assert!(pg.get.sql.clone().into_string().starts_with("SELECT "), "reads record nothing");
}
