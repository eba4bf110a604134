use super::*;
use crate::schema::{ForeignKeySpec, IndexSpec};
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
    IndexSpec { name: name.into(), columns: columns.to_vec(), unique, inverted: false, concurrently: false }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap()
}

/// A layout of `specs()` with a unique index on `order`, as a migration would leave it.
fn created(table: &str) -> Layout {
    let mut layout = Layout::default();
    statement(table, &mut layout, &Planned::CreateTable { columns: specs(), foreign_keys: Vec::new() }, now()).unwrap();
    statement(table, &mut layout, &Planned::CreateIndex(index("t_order_key", &["order"], true)), now()).unwrap();
    layout
}

#[test]
fn create_table_quotes_identifiers_and_spells_defaults() {
    let sql = statement(
        "odd\"name",
        &mut Layout::default(),
        &Planned::CreateTable { columns: specs(), foreign_keys: Vec::new() },
        now(),
    )
    .unwrap();
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

fn key(column: &'static str, parent: &'static str, on_delete: crate::model::OnDelete) -> ForeignKeySpec {
    ForeignKeySpec { name: format!("t_{column}_fkey"), column, parent, parent_key: "id", on_delete, not_valid: true }
}

#[test]
fn foreign_keys_are_column_constraints_of_create_table() {
    let mut layout = Layout::default();
    let keys = vec![key("order", "orders", crate::model::OnDelete::Cascade)];
    let create = Planned::CreateTable { columns: specs(), foreign_keys: keys.clone() };
    let sql = statement("t", &mut layout, &create, now()).unwrap();
    assert!(sql.contains(r#""order" INTEGER NOT NULL REFERENCES "orders" ("id") ON DELETE CASCADE, "total""#), "{sql}");
    // The step that follows finds the key declared, and SQLite never validates later.
    assert_eq!(statement("t", &mut layout, &Planned::AddForeignKey(keys[0].clone()), now()).unwrap(), "");
    assert_eq!(statement("t", &mut layout, &Planned::ValidateForeignKey(keys[0].clone()), now()).unwrap(), "");
}

#[test]
fn adding_or_dropping_a_foreign_key_rebuilds_the_table_and_later_rebuilds_keep_it() {
    let mut layout = created("t");
    let added = Planned::AddForeignKey(key("total", "t", crate::model::OnDelete::SetNull));
    let sql = statement("t", &mut layout, &added, now()).unwrap();
    assert!(sql.starts_with(r#"CREATE TABLE "__new_t" ("#), "{sql}");
    // A key to the table itself names the final table, which the rename makes it again.
    assert!(sql.contains(r#""total" DECIMAL TEXT REFERENCES "t" ("id") ON DELETE SET NULL, "#), "{sql}");
    assert!(sql.contains(r#"ALTER TABLE "__new_t" RENAME TO "t"; CREATE UNIQUE INDEX "t_order_key""#), "{sql}");

    let rebuilt = statement("t", &mut layout, &Planned::SetNotNull("order".into()), now()).unwrap();
    assert!(rebuilt.contains(r#"REFERENCES "t" ("id") ON DELETE SET NULL"#), "{rebuilt}");

    let drop = Planned::DropForeignKey { name: "t_total_fkey".into(), column: "total".into() };
    let dropped = statement("t", &mut layout, &drop, now()).unwrap();
    assert!(dropped.starts_with(r#"CREATE TABLE "__new_t" ("#) && !dropped.contains("REFERENCES"), "{dropped}");
    assert!(layout.foreign_keys.is_empty());
}

#[test]
fn keys_made_by_hand_survive_rebuilds() {
    let mut layout = created("t");
    layout.foreign_keys.push(LiveForeignKey {
        columns: vec!["order".into(), "total".into()],
        parent: "lines".into(),
        parent_columns: vec!["a".into(), "b".into()],
        on_delete: "NO ACTION".into(),
        on_update: "CASCADE".into(),
    });
    let sql = statement("t", &mut layout, &Planned::DropNotNull("order".into()), now()).unwrap();
    assert!(
        sql.contains(
            r#"DEFAULT '[]', FOREIGN KEY ("order", "total") REFERENCES "lines" ("a", "b") ON UPDATE CASCADE)"#
        ),
        "{sql}"
    );
    // DROP COLUMN refuses a column of a key: the column goes by a rebuild, with the key.
    let sql = statement("t", &mut layout, &Planned::DropColumn("total".into()), now()).unwrap();
    assert!(sql.starts_with(r#"CREATE TABLE "__new_t" ("#) && !sql.contains("REFERENCES"), "{sql}");
    assert!(layout.foreign_keys.is_empty() && layout.columns.iter().all(|c| c.name != "total"));
}
