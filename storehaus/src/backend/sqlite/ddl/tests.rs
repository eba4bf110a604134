use super::*;
use crate::schema::IndexSpec;
use crate::types::{ColumnType, ScalarType};
use chrono::TimeZone;

fn spec(name: &'static str, scalar: ScalarType, nullable: bool) -> ColumnSpec {
    ColumnSpec { name, ty: ColumnType::Scalar(scalar), nullable, default: None, primary_key: false, generated: false }
}

fn specs() -> Vec<ColumnSpec> {
    vec![
        ColumnSpec { primary_key: true, ..spec("id", ScalarType::Uuid, false) },
        spec("order", ScalarType::Integer, false),
        spec("total", ScalarType::Decimal, true),
        ColumnSpec { default: Some(SystemDefault::Now), ..spec("__created_at__", ScalarType::TimestampTz, false) },
        ColumnSpec {
            default: Some(SystemDefault::EmptyArray),
            ty: ColumnType::Array(ScalarType::Text),
            ..spec("__tags__", ScalarType::Text, false)
        },
    ]
}

fn index(name: &str, columns: &[&'static str], unique: bool) -> IndexSpec {
    IndexSpec { name: name.into(), columns: columns.to_vec(), unique, inverted: false }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap()
}

/// A layout of `specs()` with a unique index on `order`, as a migration would leave it.
fn created(table: &str) -> Layout {
    let mut layout = Layout::default();
    statement(table, &mut layout, &Planned::CreateTable(specs()), now()).unwrap();
    statement(table, &mut layout, &Planned::CreateIndex(index("t_order_key", &["order"], true)), now()).unwrap();
    layout
}

#[test]
fn create_table_quotes_identifiers_and_spells_defaults() {
    let sql = statement("odd\"name", &mut Layout::default(), &Planned::CreateTable(specs()), now()).unwrap();
    assert_eq!(
        sql,
        r#"CREATE TABLE "odd""name" ("id" UUID PRIMARY KEY NOT NULL, "order" INTEGER NOT NULL, "total" DECIMAL TEXT, "__created_at__" TIMESTAMPTZ NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'), "__tags__" TEXT ARRAY NOT NULL DEFAULT '[]')"#
    );
    assert_eq!(
        statement("t", &mut Layout::default(), &Planned::DropTable, now()).unwrap(),
        r#"DROP TABLE IF EXISTS "t""#
    );
}

#[test]
fn indexes_list_their_columns() {
    let sql = statement("t", &mut created("t"), &Planned::CreateIndex(index("t_a_b_key", &["a", "b"], true)), now());
    assert_eq!(sql.unwrap(), r#"CREATE UNIQUE INDEX "t_a_b_key" ON "t" ("a", "b")"#);
    let sql = statement("t", &mut created("t"), &Planned::CreateIndex(index("t_a_idx", &["a"], false)), now());
    assert_eq!(sql.unwrap(), r#"CREATE INDEX "t_a_idx" ON "t" ("a")"#);
    let gin = IndexSpec { inverted: true, ..index("t_tags_gin", &["__tags__"], false) };
    let err = statement("t", &mut created("t"), &Planned::CreateIndex(gin), now()).unwrap_err();
    assert!(matches!(err, StoreError::Unsupported { backend: "sqlite", .. }), "{err}");
}

#[test]
fn added_columns_get_constant_defaults() {
    let mut layout = created("t");
    let nick = Planned::AddColumn(spec("nick", ScalarType::Text, true));
    assert_eq!(statement("t", &mut layout, &nick, now()).unwrap(), r#"ALTER TABLE "t" ADD COLUMN "nick" TEXT"#);
    let stamp =
        ColumnSpec { default: Some(SystemDefault::Now), ..spec("__updated_at__", ScalarType::TimestampTz, false) };
    assert_eq!(
        statement("t", &mut layout, &Planned::AddColumn(stamp), now()).unwrap(),
        r#"ALTER TABLE "t" ADD COLUMN "__updated_at__" TIMESTAMPTZ NOT NULL DEFAULT '2024-05-06T07:08:09.000000Z'"#
    );
    let version = ColumnSpec { default: Some(SystemDefault::One), ..spec("__version__", ScalarType::BigInt, false) };
    assert_eq!(
        statement("t", &mut layout, &Planned::AddColumn(version), now()).unwrap(),
        r#"ALTER TABLE "t" ADD COLUMN "__version__" BIGINT NOT NULL DEFAULT 1"#
    );
    assert_eq!(layout.columns.len(), specs().len() + 3);
}

#[test]
fn a_required_column_without_default_is_added_by_a_rebuild() {
    let mut layout = created("t");
    let sql = statement("t", &mut layout, &Planned::AddColumn(spec("level", ScalarType::Integer, false)), now());
    let sql = sql.unwrap();
    assert!(sql.contains(r#""__tags__" TEXT ARRAY NOT NULL DEFAULT '[]', "level" INTEGER NOT NULL)"#), "{sql}");
    assert!(sql.contains(r#"INSERT INTO "__new_t" ("id", "order", "total", "__created_at__", "__tags__") SELECT"#));
    assert_eq!(layout.columns.last().unwrap().name, "level");
}

#[test]
fn dropping_a_column_drops_its_indexes_first() {
    let mut layout = created("t");
    let sql = statement("t", &mut layout, &Planned::DropColumn("order".into()), now()).unwrap();
    assert_eq!(sql, r#"DROP INDEX "t_order_key"; ALTER TABLE "t" DROP COLUMN "order""#);
    assert!(layout.indexes.is_empty() && layout.columns.iter().all(|c| c.name != "order"));
}

#[test]
fn relaxing_not_null_rebuilds_the_table_with_its_indexes_and_triggers() {
    let mut layout = created("t");
    layout.indexes.push(LiveIndex {
        name: "sqlite_autoindex_t_2".into(),
        columns: vec!["total".into()],
        unique: true,
        partial: false,
        sql: None,
        unique_constraint: true,
    });
    layout.triggers.push("CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END".into());
    let sql = statement("t", &mut layout, &Planned::DropNotNull("order".into()), now()).unwrap();
    let columns = r#""id", "order", "total", "__created_at__", "__tags__""#;
    let expected = [
        r#"CREATE TABLE "__new_t" ("id" UUID PRIMARY KEY NOT NULL, "order" INTEGER, "total" DECIMAL TEXT, "__created_at__" TIMESTAMPTZ NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'), "__tags__" TEXT ARRAY NOT NULL DEFAULT '[]', UNIQUE ("total"))"#.to_owned(),
        format!(r#"INSERT INTO "__new_t" ({columns}) SELECT {columns} FROM "t""#),
        r#"DROP TABLE "t""#.to_owned(),
        r#"ALTER TABLE "__new_t" RENAME TO "t""#.to_owned(),
        r#"CREATE UNIQUE INDEX "t_order_key" ON "t" ("order")"#.to_owned(),
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END".to_owned(),
    ];
    assert_eq!(sql, expected.join("; "));
    assert!(!layout.columns[1].not_null);
}

#[test]
fn checked_rebuilds_refuse_rows_the_new_column_cannot_hold() {
    let sql = statement("t", &mut created("t"), &Planned::SetNotNull("total".into()), now()).unwrap();
    assert!(
        sql.contains(
            r#"CREATE TEMP TRIGGER "__storehaus_check" BEFORE INSERT ON "__new_t" WHEN NEW."total" IS NULL BEGIN SELECT RAISE(ABORT, 'cannot rebuild "t": "total" contains NULL'); END; INSERT"#
        ),
        "{sql}"
    );
    assert!(sql.contains(r#"SELECT "id", "order", "total", "__created_at__", "__tags__" FROM "t"; DROP TRIGGER temp."__storehaus_check"; DROP TABLE "t""#));

    let narrow = Planned::AlterType { column: spec("order", ScalarType::SmallInt, false), from: "INTEGER".into() };
    let sql = statement("t", &mut created("t"), &narrow, now()).unwrap();
    assert!(sql.contains(r#""order" SMALLINT NOT NULL"#), "{sql}");
    assert!(sql.contains(r#"WHEN NEW."order" NOT BETWEEN -32768 AND 32767"#), "{sql}");

    let widen = Planned::AlterType { column: spec("order", ScalarType::BigInt, false), from: "INTEGER".into() };
    let sql = statement("t", &mut created("t"), &widen, now()).unwrap();
    assert!(sql.contains(r#""order" BIGINT NOT NULL"#) && !sql.contains("TRIGGER"), "{sql}");
}

#[test]
fn type_changes_that_would_rewrite_values_are_unsupported() {
    let retype = Planned::AlterType { column: spec("order", ScalarType::Text, false), from: "INTEGER".into() };
    let err = statement("t", &mut created("t"), &retype, now()).unwrap_err();
    assert!(matches!(&err, StoreError::Unsupported { backend: "sqlite", .. }), "{err}");
    assert!(err.to_string().contains("`t`.`order` from INTEGER to TEXT"), "{err}");
}

#[test]
fn generated_columns_cannot_be_rebuilt() {
    let mut layout = created("t");
    layout.columns[2].generated = true;
    let err = statement("t", &mut layout, &Planned::DropNotNull("order".into()), now()).unwrap_err();
    assert!(err.to_string().contains("generated column `total`"), "{err}");
}

#[test]
fn composite_primary_keys_are_a_table_constraint() {
    let mut layout = created("t");
    layout.columns[0].primary_key = 1;
    layout.columns[1].primary_key = 2;
    let sql = statement("t", &mut layout, &Planned::DropNotNull("total".into()), now()).unwrap();
    assert!(sql.contains(r#"("id" UUID NOT NULL, "order" INTEGER NOT NULL, "#), "{sql}");
    assert!(sql.contains(r#"DEFAULT '[]', PRIMARY KEY ("id", "order"))"#), "{sql}");
}

fn tiny_guard() -> RangeCheck {
    RangeCheck { name: "t_order_i8_range".into(), column: "order", range: crate::types::IntRange::new(-128, 127) }
}

#[test]
fn range_guards_are_triggers_that_rebuilds_keep_and_drops_remove() {
    let mut layout = created("t");
    let sql = statement("t", &mut layout, &Planned::AddRangeCheck(tiny_guard()), now()).unwrap();
    let when = r#"WHEN NEW."order" NOT BETWEEN -128 AND 127 BEGIN SELECT RAISE(ABORT, 't_order_i8_range'); END"#;
    assert_eq!(
        sql,
        format!(
            r#"CREATE TRIGGER "t_order_i8_range" BEFORE INSERT ON "t" {when}; CREATE TRIGGER "t_order_i8_range__update" BEFORE UPDATE OF "order" ON "t" {when}"#
        )
    );
    assert_eq!(layout.triggers.len(), 2);
    let rebuilt = statement("t", &mut layout, &Planned::DropNotNull("total".into()), now()).unwrap();
    assert!(rebuilt.ends_with(&sql), "{rebuilt}");
    let dropped = statement("t", &mut layout, &Planned::DropRangeCheck("t_order_i8_range".into()), now()).unwrap();
    assert_eq!(
        dropped,
        r#"DROP TRIGGER IF EXISTS "t_order_i8_range"; DROP TRIGGER IF EXISTS "t_order_i8_range__update""#
    );
    assert!(layout.triggers.is_empty());
}
