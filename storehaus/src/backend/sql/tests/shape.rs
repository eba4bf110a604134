//! Texts of reads kept per query shape: one text per shape, the values bound per call, and
//! shapes told apart by every fact the text depends on, never by a hash alone.

use super::*;
use crate::backend::sql::shape::{Read, ShapeKey, Texts};
use crate::query::resolved::{ColumnRef, Condition};
use crate::query::tests::fixtures::{DOCS, bound_posts, paged_posts};
use crate::query::{Scope, SortOrder};
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use uuid::Uuid;

fn push(values: &mut Vec<Value>, value: Value, _: ColumnType) -> Result<(), StoreError> {
    values.push(value);
    Ok(())
}

/// The text and values of `read` on `q` from `texts`.
fn kept<D: Dialect + 'static, S: BuildHasher + Default>(
    texts: &Texts<S>,
    read: Read,
    q: &ResolvedQuery,
) -> (SqlText, Vec<Value>) {
    texts.statement::<D, Vec<Value>>(read, q, Utc::now(), push).unwrap_or_else(|e| panic!("{e}"))
}

/// The text and values of `read` on `q` written for this call alone.
fn written<D: Dialect>(read: Read, q: &ResolvedQuery) -> (String, Vec<Value>) {
    let mut bound = Bound::default();
    let mut sql = Sql::<D>::new(q.table, &mut bound, Utc::now());
    match read {
        Read::Rows => query::select(&mut sql, q).unwrap(),
        Read::Count => query::count(&mut sql, q).unwrap(),
    }
    (sql.finish().unwrap().as_str().to_owned(), bound.0)
}

fn same_text(a: &SqlText, b: &SqlText) -> bool {
    std::ptr::eq(a.as_str(), b.as_str())
}

fn title_is(title: &str) -> QueryBuilder {
    QueryBuilder::new().filter(QueryFilter::eq("title", title)).order_by("views", SortOrder::Desc)
}

#[test]
fn reads_of_one_shape_share_one_text_and_bind_their_own_values() {
    let texts = Texts::<foldhash::fast::RandomState>::new(512);
    let first = resolve(title_is("a").limit(5));
    let second = resolve(title_is("b").limit(9));
    let (text_a, values_a) = kept::<Postgres, _>(&texts, Read::Rows, &first);
    let (text_b, values_b) = kept::<Postgres, _>(&texts, Read::Rows, &second);
    assert!(same_text(&text_a, &text_b), "one text for one shape");
    assert_eq!(texts.len::<Postgres>(first.table), 1);
    assert_eq!(values_a, [Value::Text("a".into()), Value::BigInt(5)]);
    assert_eq!(values_b, [Value::Text("b".into()), Value::BigInt(9)]);
    assert_eq!((text_b.as_str().to_owned(), values_b), written::<Postgres>(Read::Rows, &second));

    // SQLite writes the limit into the text: another limit is another shape, another filter
    // value is not.
    let (lite_a, _) = kept::<Sqlite, _>(&texts, Read::Rows, &first);
    let (lite_b, _) = kept::<Sqlite, _>(&texts, Read::Rows, &second);
    let (lite_c, values_c) = kept::<Sqlite, _>(&texts, Read::Rows, &resolve(title_is("c").limit(9)));
    assert!(!same_text(&lite_a, &lite_b) && lite_a.as_str() != lite_b.as_str());
    assert!(same_text(&lite_b, &lite_c));
    assert_eq!(values_c, [Value::Text("c".into())]);
    assert!(lite_c.as_str().ends_with(" LIMIT 9"), "{}", lite_c.as_str());
    assert_eq!(texts.len::<Sqlite>(first.table), 2);
    assert_eq!(texts.len::<Postgres>(first.table), 1, "dialects keep their own texts");
}

#[test]
fn every_clause_binds_in_the_order_the_kept_text_takes_it() {
    let texts = Texts::<foldhash::fast::RandomState>::new(512);
    for q in [paged_posts(), bound_posts()] {
        let q = resolve(q);
        for read in [Read::Rows, Read::Count] {
            kept::<Postgres, _>(&texts, read, &q);
            kept::<Sqlite, _>(&texts, read, &q);
            let (pg, pg_values) = kept::<Postgres, _>(&texts, read, &q);
            let (lite, lite_values) = kept::<Sqlite, _>(&texts, read, &q);
            assert_eq!((pg.as_str().to_owned(), pg_values), written::<Postgres>(read, &q));
            assert_eq!((lite.as_str().to_owned(), lite_values), written::<Sqlite>(read, &q));
        }
    }
}

/// Pairs of reads whose texts differ on some dialect.
fn other_shapes() -> Vec<(&'static str, ResolvedQuery, ResolvedQuery)> {
    let eq = || QueryBuilder::new().filter(QueryFilter::eq("views", 1));
    let list = |n: i32| QueryBuilder::new().filter(QueryFilter::in_values("views", 1..=n));
    // SQLite binds a list as one JSON array, but an infinite float per value.
    let ratings = |n: usize| {
        let mut q = resolve(QueryBuilder::new());
        let column = ColumnRef::find(POSTS, "rating").unwrap();
        let values = std::iter::repeat_n(Value::Double(f64::INFINITY), n).collect();
        q.condition = Some(Condition::In { column, values, negated: false });
        q
    };
    let scope = Scope {
        principals: Some(Arc::from(vec!["u1".to_owned()])),
        tenant: Some(Value::Uuid(Uuid::from_u128(7))),
        unrestricted: false,
    };
    let docs = QueryBuilder::new().filter(QueryFilter::eq("title", "t")).resolve(DOCS).unwrap();
    vec![
        ("operator", resolve(eq()), resolve(QueryBuilder::new().filter(QueryFilter::gt("views", 1)))),
        ("column", resolve(eq()), resolve(QueryBuilder::new().filter(QueryFilter::eq("id", 1)))),
        ("null test", resolve(eq()), resolve(QueryBuilder::new().filter(QueryFilter::is_null("rating")))),
        ("list length", ratings(2), ratings(3)),
        ("infinite values", ratings(2), {
            let mut q = ratings(2);
            let Some(Condition::In { values, .. }) = &mut q.condition else { unreachable!() };
            *values = vec![Value::Double(1.5), Value::Double(2.5)];
            q
        }),
        ("empty list", resolve(list(0)), resolve(list(1))),
        ("limit", resolve(eq()), resolve(eq().limit(3))),
        ("offset", resolve(eq().limit(3)), resolve(eq().limit(3).offset(1))),
        ("lock", resolve(eq()), resolve(eq().for_update())),
        ("order", resolve(eq()), resolve(eq().order_by("title", SortOrder::Asc))),
        (
            "direction",
            resolve(eq().order_by("title", SortOrder::Asc)),
            resolve(eq().order_by("title", SortOrder::Desc)),
        ),
        ("visibility", resolve(eq()), resolve(eq().with_deleted())),
        ("last", resolve(eq().limit(2)), resolve(eq().last(2))),
        ("nesting", resolve(eq()), resolve(QueryBuilder::new().filter(QueryFilter::not(QueryFilter::eq("views", 1))))),
        ("scope", docs.clone(), scope.restrict(&docs).into_owned()),
    ]
}

/// Every pair of [`other_shapes`] gets two texts, each the one written for its read.
fn tells_apart<S: BuildHasher + Default>(texts: &Texts<S>) {
    for (what, a, b) in other_shapes() {
        for read in [Read::Rows, Read::Count] {
            let (pg_a, pg_b) = (kept::<Postgres, _>(texts, read, &a).0, kept::<Postgres, _>(texts, read, &b).0);
            let (lite_a, lite_b) = (kept::<Sqlite, _>(texts, read, &a).0, kept::<Sqlite, _>(texts, read, &b).0);
            for (text, q) in [(&pg_a, &a), (&pg_b, &b)] {
                assert_eq!(text.as_str(), written::<Postgres>(read, q).0, "{what}");
            }
            for (text, q) in [(&lite_a, &a), (&lite_b, &b)] {
                assert_eq!(text.as_str(), written::<Sqlite>(read, q).0, "{what}");
            }
            let differs = pg_a.as_str() != pg_b.as_str() || lite_a.as_str() != lite_b.as_str();
            assert!(differs || read == Read::Count, "{what}: the pair should differ in text");
        }
    }
}

#[test]
fn reads_of_other_shapes_get_their_own_texts() {
    let texts = Texts::<foldhash::fast::RandomState>::new(512);
    tells_apart(&texts);
    // PostgreSQL binds a list as one array: lists of any length share a text.
    let list = |n: i32| resolve(QueryBuilder::new().filter(QueryFilter::in_values("views", 1..=n)));
    let (two, _) = kept::<Postgres, _>(&texts, Read::Rows, &list(2));
    let (three, values) = kept::<Postgres, _>(&texts, Read::Rows, &list(3));
    assert!(same_text(&two, &three));
    assert_eq!(values, [Value::Array(vec![Value::Integer(1), Value::Integer(2), Value::Integer(3)])]);
}

/// Hashes every key to the same number.
#[derive(Debug, Default, Clone, Copy)]
struct Colliding;

struct Zero;

impl Hasher for Zero {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, _: &[u8]) {}
}

impl BuildHasher for Colliding {
    type Hasher = Zero;
    fn build_hasher(&self) -> Zero {
        Zero
    }
}

#[test]
fn shapes_whose_hashes_collide_keep_their_own_texts() {
    let texts = Texts::<Colliding>::new(512);
    tells_apart(&texts);
    tells_apart(&texts);
    for (what, a, b) in other_shapes() {
        assert_ne!(ShapeKey::of::<Sqlite>(Read::Rows, &a), ShapeKey::of::<Sqlite>(Read::Rows, &b), "{what}");
    }
    assert_ne!(
        ShapeKey::of::<Postgres>(Read::Rows, &resolve(title_is("a"))),
        ShapeKey::of::<Postgres>(Read::Count, &resolve(title_is("a")))
    );
}

#[test]
fn values_are_never_part_of_a_shape() {
    let a = resolve(title_is("a").limit(1).offset(2));
    let b = resolve(title_is("'; DROP TABLE posts; --").limit(100).offset(0));
    assert_eq!(ShapeKey::of::<Postgres>(Read::Rows, &a), ShapeKey::of::<Postgres>(Read::Rows, &b));
    let texts = Texts::<foldhash::fast::RandomState>::new(512);
    kept::<Postgres, _>(&texts, Read::Rows, &a);
    let (text, _) = kept::<Postgres, _>(&texts, Read::Rows, &b);
    assert!(!text.as_str().contains("DROP"), "{}", text.as_str());
}

#[test]
fn a_full_table_writes_further_shapes_per_call() {
    let texts = Texts::<foldhash::fast::RandomState>::new(2);
    let shapes = [resolve(title_is("a")), resolve(title_is("a").limit(1)), resolve(title_is("a").for_update())];
    for q in &shapes {
        kept::<Postgres, _>(&texts, Read::Rows, q);
    }
    assert_eq!(texts.len::<Postgres>(shapes[0].table), 2);
    let (first, _) = kept::<Postgres, _>(&texts, Read::Rows, &shapes[2]);
    let (second, _) = kept::<Postgres, _>(&texts, Read::Rows, &shapes[2]);
    assert!(!same_text(&first, &second), "not kept");
    assert_eq!(first.as_str(), written::<Postgres>(Read::Rows, &shapes[2]).0);
}

#[test]
fn a_kept_shape_still_refuses_values_the_writer_refuses() {
    let texts = Texts::<foldhash::fast::RandomState>::new(512);
    kept::<Postgres, _>(&texts, Read::Rows, &resolve(title_is("a").limit(1)));
    let too_many = resolve(title_is("a").limit(u64::MAX));
    let refused = texts.statement::<Postgres, Vec<Value>>(Read::Rows, &too_many, Utc::now(), push);
    assert!(matches!(refused, Err(StoreError::Validation { .. })), "{refused:?}");
}

/// Instructions per read statement, written per call: run under callgrind with `--ignored`.
#[test]
#[ignore]
fn cost_written_per_call() {
    let queries = [resolve(paged_posts()), resolve(bound_posts())];
    let mut total = 0;
    for _ in 0..10_000 {
        for q in &queries {
            let mut values = Vec::new();
            let mut sql = Sql::<Postgres>::new(q.table, &mut values, Utc::now());
            query::select(&mut sql, q).unwrap();
            total += sql.finish().unwrap().as_str().len() + values.len();
        }
    }
    assert!(total > 0);
}

/// [`cost_written_per_call`] with the texts kept per shape.
#[test]
#[ignore]
fn cost_kept_per_shape() {
    let queries = [resolve(paged_posts()), resolve(bound_posts())];
    let texts = Texts::<foldhash::fast::RandomState>::new(512);
    let mut total = 0;
    for _ in 0..10_000 {
        for q in &queries {
            let (text, values) = kept::<Postgres, _>(&texts, Read::Rows, q);
            total += text.as_str().len() + values.len();
        }
    }
    assert!(total > 0);
}

impl Bind for Vec<Value> {
    fn bind(&mut self, value: Value, _: ColumnType) -> Result<(), StoreError> {
        self.push(value);
        Ok(())
    }
}
