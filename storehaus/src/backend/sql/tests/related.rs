//! The statements of relation loads and filters, on both dialects.

use super::super::*;
use crate::backend::postgres::Postgres;
use crate::backend::sqlite::Sqlite;
use crate::backend::{JoinedQuery, RelatedQuery};
use crate::model::ColumnDef;
use crate::query::tests::fixtures::{column, table};
use crate::query::{QueryBuilder, QueryFilter, SortOrder};
use crate::relation::{RelationDef, RelationKind};
use crate::types::ScalarType;

const AUTHORS: &TableDef = &table(
    "authors",
    "Author",
    &[
        ColumnDef { primary_key: true, update: false, ..column("id", ScalarType::BigInt, false) },
        column("name", ScalarType::Text, false),
    ],
);

const ARTICLES: &TableDef = &TableDef {
    soft_delete: true,
    ..table(
        "articles",
        "Article",
        &[
            ColumnDef { primary_key: true, update: false, ..column("id", ScalarType::BigInt, false) },
            column("author_id", ScalarType::BigInt, false),
            column("score", ScalarType::Integer, false),
        ],
    )
};

const LINKS: &TableDef = &TableDef {
    soft_delete: true,
    ..table(
        "links",
        "Link",
        &[
            ColumnDef { primary_key: true, update: false, ..column("id", ScalarType::BigInt, false) },
            column("article_id", ScalarType::BigInt, false),
            column("author_id", ScalarType::BigInt, false),
        ],
    )
};

static ARTICLES_OF_AUTHOR: RelationDef = RelationDef {
    name: "articles",
    kind: RelationKind::HasMany { foreign_key: "author_id" },
    from: || AUTHORS,
    to: || ARTICLES,
};

static CO_AUTHORS: RelationDef = RelationDef {
    name: "co_authors",
    kind: RelationKind::ManyToMany { through: || LINKS, foreign_key: "article_id", target_key: "author_id" },
    from: || ARTICLES,
    to: || AUTHORS,
};

fn render<D: Dialect>(def: &RelationDef, query: QueryBuilder) -> String {
    let q = query.resolve(def.to_table()).unwrap();
    let r = RelatedQuery { q, join: def.join(), keys: vec![Value::BigInt(1), Value::BigInt(2)] };
    let mut bound = Vec::<Value>::new();
    struct Into<'a>(&'a mut Vec<Value>);
    impl Bind for Into<'_> {
        fn bind(&mut self, value: Value, _: ColumnType) -> Result<(), StoreError> {
            self.0.push(value);
            Ok(())
        }
    }
    let mut into = Into(&mut bound);
    let mut sql = Sql::<D>::new(def.to_table(), &mut into, Utc::now());
    related(&mut sql, &r).unwrap();
    sql.finish().unwrap().as_str().to_owned()
}

#[test]
fn has_many_reads_every_parents_rows_with_one_array_parameter() {
    let pg = render::<Postgres>(&ARTICLES_OF_AUTHOR, QueryBuilder::new());
    assert_eq!(
        pg,
        r#"SELECT "articles"."id", "articles"."author_id", "articles"."score", "articles"."__created_at__", "articles"."__updated_at__", "articles"."__tags__", "articles"."__deleted_at__" FROM "articles" WHERE "articles"."author_id" = ANY($1) AND "articles"."__deleted_at__" IS NULL ORDER BY "articles"."id" ASC"#
    );
    let lite = render::<Sqlite>(&ARTICLES_OF_AUTHOR, QueryBuilder::new());
    assert!(lite.contains(r#""articles"."author_id" IN (SELECT value FROM json_each(?))"#), "{lite}");
}

#[test]
fn a_per_parent_limit_numbers_rows_per_parent() {
    let query = QueryBuilder::new().order_by("score", SortOrder::Desc).offset(1).limit(2);
    let pg = render::<Postgres>(&ARTICLES_OF_AUTHOR, query);
    assert_eq!(
        pg,
        r#"SELECT "articles"."id", "articles"."author_id", "articles"."score", "articles"."__created_at__", "articles"."__updated_at__", "articles"."__tags__", "articles"."__deleted_at__" FROM (SELECT "articles".*, ROW_NUMBER() OVER (PARTITION BY "articles"."author_id" ORDER BY "articles"."score" DESC, "articles"."id" ASC) AS "__rank__" FROM "articles" WHERE "articles"."author_id" = ANY($1) AND "articles"."__deleted_at__" IS NULL) AS "articles" WHERE "articles"."__rank__" > $2 AND "articles"."__rank__" <= $3 ORDER BY "articles"."score" DESC, "articles"."id" ASC"#
    );
}

#[test]
fn many_to_many_joins_through_the_join_table() {
    let pg = render::<Postgres>(&CO_AUTHORS, QueryBuilder::new());
    assert_eq!(
        pg,
        r#"SELECT "authors"."id", "authors"."name", "authors"."__created_at__", "authors"."__updated_at__", "authors"."__tags__", "links"."article_id" FROM "authors" JOIN "links" ON "links"."author_id" = "authors"."id" WHERE "links"."article_id" = ANY($1) AND "links"."__deleted_at__" IS NULL ORDER BY "authors"."id" ASC"#
    );
}

#[test]
fn counts_group_by_the_looked_up_value() {
    let q = QueryBuilder::new().resolve(ARTICLES).unwrap();
    let r = RelatedQuery { q, join: ARTICLES_OF_AUTHOR.join(), keys: vec![Value::BigInt(1)] };
    let (text, _) =
        crate::backend::table::write_statement::<Postgres>(ARTICLES, Utc::now(), |s| related_count(s, &r)).unwrap();
    assert_eq!(
        text.as_str(),
        r#"SELECT "articles"."author_id", COUNT(*) FROM "articles" WHERE "articles"."author_id" = ANY($1) AND "articles"."__deleted_at__" IS NULL GROUP BY "articles"."author_id""#
    );
}

#[test]
fn a_joined_relation_is_a_left_join_and_a_paged_parent_a_subquery() {
    let child = QueryBuilder::new().resolve(ARTICLES).unwrap();
    let plain = JoinedQuery {
        parent: QueryBuilder::new().resolve(AUTHORS).unwrap(),
        child: child.clone(),
        join: ARTICLES_OF_AUTHOR.join(),
    };
    let (text, _) =
        crate::backend::table::write_statement::<Postgres>(AUTHORS, Utc::now(), |s| joined(s, &plain)).unwrap();
    assert_eq!(
        text.as_str(),
        r#"SELECT "authors"."id", "authors"."name", "authors"."__created_at__", "authors"."__updated_at__", "authors"."__tags__", "articles"."id", "articles"."author_id", "articles"."score", "articles"."__created_at__", "articles"."__updated_at__", "articles"."__tags__", "articles"."__deleted_at__" FROM "authors" LEFT JOIN "articles" ON "articles"."author_id" = "authors"."id" AND "articles"."__deleted_at__" IS NULL ORDER BY "authors"."id" ASC, "articles"."id" ASC"#
    );
    let paged = JoinedQuery {
        parent: QueryBuilder::new().limit(5).resolve(AUTHORS).unwrap(),
        child,
        join: ARTICLES_OF_AUTHOR.join(),
    };
    let (text, _) =
        crate::backend::table::write_statement::<Postgres>(AUTHORS, Utc::now(), |s| joined(s, &paged)).unwrap();
    assert!(text.as_str().contains(r#"FROM (SELECT "authors"."id", "authors"."name", "authors"."__created_at__", "authors"."__updated_at__", "authors"."__tags__" FROM "authors" ORDER BY "authors"."id" ASC LIMIT $1) AS "authors" LEFT JOIN"#), "{}", text.as_str());
}

#[test]
fn a_filter_over_a_relation_is_an_aliased_exists() {
    let q = QueryBuilder::new()
        .filter(QueryFilter::related(&ARTICLES_OF_AUTHOR, Some(QueryFilter::gt("score", 3))))
        .resolve(AUTHORS)
        .unwrap();
    let (text, _) = crate::backend::table::write_statement::<Postgres>(AUTHORS, Utc::now(), |s| select(s, &q)).unwrap();
    assert_eq!(
        text.as_str(),
        r#"SELECT "id", "name", "__created_at__", "__updated_at__", "__tags__" FROM "authors" WHERE EXISTS (SELECT 1 FROM "articles" AS "__r1" WHERE "__r1"."author_id" = "authors"."id" AND "__r1"."__deleted_at__" IS NULL AND "__r1"."score" > $1) ORDER BY "id" ASC"#
    );
    let through = QueryBuilder::new()
        .filter(QueryFilter::related(&CO_AUTHORS, Some(QueryFilter::eq("name", "ada"))))
        .resolve(ARTICLES)
        .unwrap();
    let (text, _) =
        crate::backend::table::write_statement::<Sqlite>(ARTICLES, Utc::now(), |s| select(s, &through)).unwrap();
    assert!(
        text.as_str().contains(r#"EXISTS (SELECT 1 FROM "authors" AS "__r1" JOIN "links" AS "__r2" ON "__r2"."author_id" = "__r1"."id" WHERE "__r2"."__deleted_at__" IS NULL AND "__r2"."article_id" = "articles"."id" AND "__r1"."name" = ?)"#),
        "{}",
        text.as_str()
    );
}
