use super::*;
use crate::model::system::SystemDefault;
use crate::schema::{ForeignKeySpec, IndexSpec};
use crate::types::{ColumnType, ScalarType};

fn spec(name: &'static str, ty: ColumnType, nullable: bool) -> ColumnSpec {
    ColumnSpec { name, ty, nullable, default: None, primary_key: false, generated: false }
}

#[test]
fn identifiers_are_quoted() {
    let columns = vec![
        ColumnSpec { primary_key: true, ..spec("id", ColumnType::Scalar(ScalarType::Uuid), false) },
        spec("order", ColumnType::Scalar(ScalarType::Text), true),
        ColumnSpec {
            default: Some(SystemDefault::EmptyArray),
            ..spec("__tags__", ColumnType::Array(ScalarType::Text), false)
        },
    ];
    let sql = statement("odd\"name", &Planned::CreateTable { columns, foreign_keys: Vec::new() });
    assert_eq!(
        sql,
        r#"CREATE TABLE "odd""name" ("id" UUID PRIMARY KEY NOT NULL, "order" TEXT, "__tags__" TEXT[] NOT NULL DEFAULT '{}')"#
    );
}

#[test]
fn gin_index_on_tags() {
    let index = IndexSpec {
        name: "t_tags_gin".into(),
        columns: vec!["__tags__"],
        unique: false,
        inverted: true,
        concurrently: false,
    };
    assert_eq!(
        statement("t", &Planned::CreateIndex(index)),
        r#"CREATE INDEX "t_tags_gin" ON "t" USING GIN ("__tags__")"#
    );
}

#[test]
fn type_change_casts() {
    let planned =
        Planned::AlterType { column: spec("n", ColumnType::Scalar(ScalarType::BigInt), false), from: "INTEGER".into() };
    assert_eq!(statement("t", &planned), r#"ALTER TABLE "t" ALTER COLUMN "n" TYPE BIGINT USING CAST("n" AS BIGINT)"#);
}

#[test]
fn column_changes() {
    let sql = |planned: Planned| statement("t", &planned);
    assert_eq!(sql(Planned::DropTable), r#"DROP TABLE IF EXISTS "t" CASCADE"#);
    let added = spec("n", ColumnType::Scalar(ScalarType::BigInt), true);
    assert_eq!(sql(Planned::AddColumn(added)), r#"ALTER TABLE "t" ADD COLUMN "n" BIGINT"#);
    assert_eq!(sql(Planned::DropColumn("n".into())), r#"ALTER TABLE "t" DROP COLUMN "n""#);
    assert_eq!(sql(Planned::SetNotNull("n".into())), r#"ALTER TABLE "t" ALTER COLUMN "n" SET NOT NULL"#);
    assert_eq!(sql(Planned::DropNotNull("n".into())), r#"ALTER TABLE "t" ALTER COLUMN "n" DROP NOT NULL"#);
    let unique = IndexSpec {
        name: "t_a_b_key".into(),
        columns: vec!["a", "b"],
        unique: true,
        inverted: false,
        concurrently: false,
    };
    assert_eq!(sql(Planned::CreateIndex(unique)), r#"CREATE UNIQUE INDEX "t_a_b_key" ON "t" ("a", "b")"#);
}

#[test]
fn range_guards_are_check_constraints() {
    let check = crate::schema::RangeCheck {
        name: "t_n_u16_range".into(),
        column: "n",
        range: crate::types::IntRange::new(0, 65_535),
    };
    assert_eq!(
        statement("t", &Planned::AddRangeCheck(check)),
        r#"ALTER TABLE "t" ADD CONSTRAINT "t_n_u16_range" CHECK ("n" BETWEEN 0 AND 65535)"#
    );
    assert_eq!(
        statement("t", &Planned::DropRangeCheck("t_n_u16_range".into())),
        r#"ALTER TABLE "t" DROP CONSTRAINT IF EXISTS "t_n_u16_range""#
    );
}

fn author_key(not_valid: bool) -> ForeignKeySpec {
    ForeignKeySpec {
        name: "posts_author_id_fkey".into(),
        column: "author_id",
        parent: "users",
        parent_key: "id",
        on_delete: crate::model::OnDelete::Cascade,
        not_valid,
    }
}

#[test]
fn foreign_keys_are_constraints_added_not_valid_to_tables_with_rows_then_validated() {
    assert_eq!(
        statement("posts", &Planned::AddForeignKey(author_key(false))),
        r#"ALTER TABLE "posts" ADD CONSTRAINT "posts_author_id_fkey" FOREIGN KEY ("author_id") REFERENCES "users" ("id") ON DELETE CASCADE"#
    );
    assert_eq!(
        statement("posts", &Planned::AddForeignKey(author_key(true))),
        r#"ALTER TABLE "posts" ADD CONSTRAINT "posts_author_id_fkey" FOREIGN KEY ("author_id") REFERENCES "users" ("id") ON DELETE CASCADE NOT VALID"#
    );
    assert_eq!(
        statement("posts", &Planned::ValidateForeignKey(author_key(true))),
        r#"ALTER TABLE "posts" VALIDATE CONSTRAINT "posts_author_id_fkey""#
    );
    let drop = Planned::DropForeignKey { name: "posts_author_id_fkey".into(), column: "author_id".into() };
    assert_eq!(statement("posts", &drop), r#"ALTER TABLE "posts" DROP CONSTRAINT IF EXISTS "posts_author_id_fkey""#);
    // The key is added by its own step, not declared in CREATE TABLE.
    let create = Planned::CreateTable {
        columns: vec![ColumnSpec { primary_key: true, ..spec("id", ColumnType::Scalar(ScalarType::BigInt), false) }],
        foreign_keys: vec![author_key(false)],
    };
    assert_eq!(statement("posts", &create), r#"CREATE TABLE "posts" ("id" BIGINT PRIMARY KEY NOT NULL)"#);
}

#[test]
fn an_index_on_an_existing_table_is_built_and_dropped_concurrently() {
    let index =
        IndexSpec { name: "t_a_idx".into(), columns: vec!["a"], unique: false, inverted: false, concurrently: true };
    assert_eq!(statement("t", &Planned::CreateIndex(index)), r#"CREATE INDEX CONCURRENTLY "t_a_idx" ON "t" ("a")"#);
    let drop = Planned::DropIndex { name: "t_a_idx".into(), concurrently: true };
    assert_eq!(statement("t", &drop), r#"DROP INDEX CONCURRENTLY IF EXISTS "t_a_idx""#);
}
