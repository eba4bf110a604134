//! Migrations against real SQLite databases.

use super::*;
use crate::model::{ColumnDef, IndexDef};
use crate::query::tests::fixtures::column;
use crate::schema::Change;
use crate::types::ScalarType;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

async fn plan(pool: &SqlitePool, table: &TableDef, options: &MigrateOptions) -> Result<MigrationPlan, StoreError> {
    migrate::plan::<Sqlite>(pool, table, options, migrate::PlanFor::Database).await
}

const ID: ColumnDef = ColumnDef { primary_key: true, update: false, ..column("id", ScalarType::Uuid, false) };
const NAME: ColumnDef = column("name", ScalarType::Text, false);
const SCORE: ColumnDef = column("score", ScalarType::Integer, false);

const V1: TableDef = TableDef {
    name: "people",
    model: "Person",
    columns: &[ID, NAME, SCORE],
    primary_key: 0,
    indexes: &[IndexDef { columns: &["name"], unique: true }],
    soft_delete: true,
    versioned: true,
    auth: false,
    tenant: None,
    row_security: false,
    foreign_keys: &[],
};

/// V1 plus a nullable field with an index.
const V2: TableDef = TableDef {
    columns: &[ID, NAME, SCORE, column("nick", ScalarType::Text, true)],
    indexes: &[IndexDef { columns: &["name"], unique: true }, IndexDef { columns: &["nick"], unique: false }],
    ..V1
};

/// V1 plus a NOT NULL field without a default.
const REQUIRED: TableDef = TableDef { columns: &[ID, NAME, SCORE, column("level", ScalarType::Integer, false)], ..V1 };

/// V1 with `score` nullable.
const RELAXED: TableDef = TableDef { columns: &[ID, NAME, column("score", ScalarType::Integer, true)], ..V1 };

/// V1 with `score` of other types.
const WIDE: TableDef = TableDef { columns: &[ID, NAME, column("score", ScalarType::BigInt, false)], ..V1 };
const NARROW: TableDef = TableDef { columns: &[ID, NAME, column("score", ScalarType::SmallInt, false)], ..V1 };
const TEXTUAL: TableDef = TableDef { columns: &[ID, NAME, column("score", ScalarType::Text, false)], ..V1 };

/// A fresh in-memory database; one connection, so every query sees it.
async fn memory() -> SqlitePool {
    SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await.unwrap()
}

fn changes(plan: &MigrationPlan) -> Vec<Change> {
    plan.steps.iter().map(|s| s.change.clone()).collect()
}

/// `(name, declared type, notnull, default)` of each column.
async fn columns(pool: &SqlitePool, table: &str) -> Vec<(String, String, bool, Option<String>)> {
    sqlx::query_as("SELECT name, type, \"notnull\", dflt_value FROM pragma_table_info(?) ORDER BY cid")
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn index_names(pool: &SqlitePool) -> Vec<String> {
    sqlx::query_scalar("SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// V1 with two rows.
async fn seeded() -> SqlitePool {
    let pool = memory().await;
    migrate(&pool, &V1, &MigrateOptions::new()).await.unwrap();
    sqlx::query("INSERT INTO people (id, name, score) VALUES ('a', 'ada', 1), ('b', 'bob', 2)")
        .execute(&pool)
        .await
        .unwrap();
    pool
}

async fn scores(pool: &SqlitePool) -> Vec<(String, Option<i64>)> {
    sqlx::query_as("SELECT name, score FROM people ORDER BY name").fetch_all(pool).await.unwrap()
}

#[tokio::test]
async fn a_missing_table_is_created_with_system_columns_and_a_second_run_changes_nothing() {
    let pool = memory().await;
    let script = plan(&pool, &V1, &MigrateOptions::new()).await.unwrap().to_string();
    assert!(script.starts_with(r#"CREATE TABLE "people" ("id" UUID PRIMARY KEY NOT NULL, "name" TEXT"#));
    assert!(!script.contains("__tags__\")"), "no index on the tags: {script}");
    assert!(columns(&pool, "people").await.is_empty(), "plan must not create anything");

    let created = migrate(&pool, &V1, &MigrateOptions::new()).await.unwrap();
    assert_eq!(changes(&created)[0], Change::CreateTable);
    let now = "strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'";
    let expected = [
        ("id", "UUID", true, None),
        ("name", "TEXT", true, None),
        ("score", "INTEGER", true, None),
        ("__created_at__", "TIMESTAMPTZ", true, Some(now)),
        ("__updated_at__", "TIMESTAMPTZ", true, Some(now)),
        ("__tags__", "TEXT ARRAY", true, Some("'[]'")),
        ("__deleted_at__", "TIMESTAMPTZ", false, None),
        ("__version__", "BIGINT", true, Some("1")),
    ];
    let expected: Vec<_> =
        expected.iter().map(|(n, t, nn, d)| (n.to_string(), t.to_string(), *nn, d.map(str::to_owned))).collect();
    assert_eq!(columns(&pool, "people").await, expected);
    assert_eq!(index_names(&pool).await, ["people_name_key"]);

    assert!(plan(&pool, &V1, &MigrateOptions::new()).await.unwrap().is_empty());
    assert!(migrate(&pool, &V1, &MigrateOptions::new()).await.unwrap().is_empty());

    sqlx::query("INSERT INTO people (id, name, score) VALUES ('a', 'ada', 1)").execute(&pool).await.unwrap();
    let (stamp, tags, version): (String, String, i64) =
        sqlx::query_as("SELECT __created_at__, __tags__, __version__ FROM people").fetch_one(&pool).await.unwrap();
    assert!(stamp.len() == 27 && stamp.ends_with("000Z") && stamp.as_bytes()[10] == b'T', "{stamp}");
    assert_eq!((tags.as_str(), version), ("[]", 1));
}

#[tokio::test]
async fn a_plain_table_has_only_the_common_system_columns() {
    let pool = memory().await;
    let plain = TableDef { soft_delete: false, versioned: false, indexes: &[], ..V1 };
    migrate(&pool, &plain, &MigrateOptions::new()).await.unwrap();
    let names: Vec<String> = columns(&pool, "people").await.into_iter().map(|c| c.0).collect();
    assert_eq!(names, ["id", "name", "score", "__created_at__", "__updated_at__", "__tags__"]);
    assert!(migrate(&pool, &plain, &MigrateOptions::new()).await.unwrap().is_empty());
}

#[tokio::test]
async fn unique_indexes_are_enforced() {
    let pool = seeded().await;
    let err = sqlx::query("INSERT INTO people (id, name, score) VALUES ('c', 'ada', 3)").execute(&pool).await;
    assert!(matches!(StoreError::from(err.unwrap_err()), StoreError::UniqueViolation { .. }));
}

#[tokio::test]
async fn a_new_field_adds_its_column_and_keeps_the_rows() {
    let pool = seeded().await;
    let plan = migrate(&pool, &V2, &MigrateOptions::new()).await.unwrap();
    assert_eq!(
        changes(&plan),
        [
            Change::AddColumn { column: "nick".into() },
            Change::CreateIndex { name: "people_nick_idx".into(), columns: vec!["nick".into()], unique: false },
        ]
    );
    assert_eq!(scores(&pool).await, [("ada".into(), Some(1)), ("bob".into(), Some(2))]);
    let nicks: Vec<Option<String>> = sqlx::query_scalar("SELECT nick FROM people").fetch_all(&pool).await.unwrap();
    assert_eq!(nicks, [None, None]);
    assert!(migrate(&pool, &V2, &MigrateOptions::new()).await.unwrap().is_empty());

    // Back to V1: the column (and its index) go only when drops are allowed.
    let err = migrate(&pool, &V1, &MigrateOptions::new()).await.unwrap_err();
    assert!(matches!(&err, StoreError::UnsafeMigration { column, .. } if column == "nick"), "{err}");
    let plan = migrate(&pool, &V1, &MigrateOptions::new().allow_column_drops()).await.unwrap();
    assert_eq!(changes(&plan), [Change::DropColumn { column: "nick".into() }]);
    assert_eq!(index_names(&pool).await, ["people_name_key"]);
    assert_eq!(scores(&pool).await.len(), 2);
}

#[tokio::test]
async fn a_not_null_field_needs_an_empty_table() {
    let pool = seeded().await;
    let err = migrate(&pool, &REQUIRED, &MigrateOptions::new()).await.unwrap_err();
    assert!(matches!(&err, StoreError::UnsafeMigration { column, .. } if column == "level"), "{err}");
    assert_eq!(columns(&pool, "people").await.len(), 8, "nothing changed");

    sqlx::query("DELETE FROM people").execute(&pool).await.unwrap();
    let plan = migrate(&pool, &REQUIRED, &MigrateOptions::new()).await.unwrap();
    assert_eq!(changes(&plan), [Change::AddColumn { column: "level".into() }]);
    let level = columns(&pool, "people").await.into_iter().find(|c| c.0 == "level").unwrap();
    assert_eq!((level.1.as_str(), level.2), ("INTEGER", true));
    assert_eq!(index_names(&pool).await, ["people_name_key"]);
    assert!(migrate(&pool, &REQUIRED, &MigrateOptions::new()).await.unwrap().is_empty());
}

#[tokio::test]
async fn relaxing_not_null_rebuilds_keeping_rows_indexes_triggers_views_and_references() {
    let pool = seeded().await;
    for sql in [
        "CREATE TABLE audit (what TEXT)",
        "CREATE TRIGGER people_audit AFTER INSERT ON people BEGIN INSERT INTO audit VALUES (NEW.name); END",
        "CREATE VIEW names AS SELECT name FROM people",
        "CREATE TABLE pets (owner UUID REFERENCES people (id) ON DELETE CASCADE)",
        "PRAGMA foreign_keys = ON",
        "INSERT INTO pets VALUES ('a')",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    let plan = migrate(&pool, &RELAXED, &MigrateOptions::new()).await.unwrap();
    assert_eq!(changes(&plan), [Change::DropNotNull { column: "score".into() }]);
    assert!(!columns(&pool, "people").await[2].2, "score allows NULL");
    assert_eq!(scores(&pool).await, [("ada".into(), Some(1)), ("bob".into(), Some(2))]);
    assert_eq!(index_names(&pool).await, ["people_name_key"]);
    let pets: i64 = sqlx::query_scalar("SELECT count(*) FROM pets").fetch_one(&pool).await.unwrap();
    assert_eq!(pets, 1, "the rebuild must not cascade to referencing rows");
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(&pool).await.unwrap();
    assert_eq!(foreign_keys, 1, "the setting is restored");
    assert!(migrate(&pool, &RELAXED, &MigrateOptions::new()).await.unwrap().is_empty());

    sqlx::query("INSERT INTO people (id, name) VALUES ('c', 'cy')").execute(&pool).await.unwrap();
    let audited: Vec<String> = sqlx::query_scalar("SELECT what FROM audit").fetch_all(&pool).await.unwrap();
    assert_eq!(audited, ["cy"], "the trigger was recreated");
    let named: i64 = sqlx::query_scalar("SELECT count(*) FROM names").fetch_one(&pool).await.unwrap();
    assert_eq!(named, 3, "the view still reads the table");
    let err = sqlx::query("INSERT INTO people (id, name) VALUES ('d', 'ada')").execute(&pool).await.unwrap_err();
    assert!(matches!(StoreError::from(err), StoreError::UniqueViolation { .. }));

    // Back to NOT NULL: refused unless allowed, and then only once no row holds NULL.
    let err = migrate(&pool, &V1, &MigrateOptions::new()).await.unwrap_err();
    assert!(matches!(&err, StoreError::UnsafeMigration { column, .. } if column == "score"), "{err}");
    let err = migrate(&pool, &V1, &MigrateOptions::new().allow_set_not_null()).await.unwrap_err();
    assert!(err.to_string().contains(r#"cannot rebuild "people": "score" contains NULL"#), "{err}");
    assert_eq!(scores(&pool).await.len(), 3, "the failed rebuild was rolled back");
    sqlx::query("UPDATE people SET score = 0 WHERE score IS NULL").execute(&pool).await.unwrap();
    let plan = migrate(&pool, &V1, &MigrateOptions::new().allow_set_not_null()).await.unwrap();
    assert_eq!(changes(&plan), [Change::SetNotNull { column: "score".into() }]);
    assert!(columns(&pool, "people").await[2].2);
}

#[tokio::test]
async fn integer_widths_change_in_place_and_narrowing_checks_the_range() {
    let pool = seeded().await;
    let err = migrate(&pool, &WIDE, &MigrateOptions::new()).await.unwrap_err();
    assert!(matches!(&err, StoreError::UnsafeMigration { column, .. } if column == "score"), "{err}");
    let plan = migrate(&pool, &WIDE, &MigrateOptions::new().allow_type_changes()).await.unwrap();
    let to = |t: &str| Change::AlterColumnType { column: "score".into(), from: "INTEGER".into(), to: t.into() };
    assert_eq!(changes(&plan), [to("BIGINT")]);
    assert_eq!(columns(&pool, "people").await[2].1, "BIGINT");
    assert_eq!(scores(&pool).await, [("ada".into(), Some(1)), ("bob".into(), Some(2))]);

    sqlx::query("UPDATE people SET score = 70000 WHERE name = 'bob'").execute(&pool).await.unwrap();
    let err = migrate(&pool, &NARROW, &MigrateOptions::new().allow_type_changes()).await.unwrap_err();
    assert!(err.to_string().contains(r#"a value of "score" is out of range for SMALLINT"#), "{err}");
    assert_eq!(columns(&pool, "people").await[2].1, "BIGINT", "rolled back");

    let err = migrate(&pool, &TEXTUAL, &MigrateOptions::new().allow_type_changes()).await.unwrap_err();
    assert!(matches!(&err, StoreError::Unsupported { backend: "sqlite", .. }), "{err}");
}

#[tokio::test]
async fn recreate_drops_the_rows() {
    let pool = seeded().await;
    let plan = migrate(&pool, &V1, &MigrateOptions::new().recreate()).await.unwrap();
    assert_eq!(changes(&plan)[..2], [Change::DropTable, Change::CreateTable]);
    assert!(scores(&pool).await.is_empty());
    assert_eq!(index_names(&pool).await, ["people_name_key"]);
    assert!(migrate(&pool, &V1, &MigrateOptions::new()).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_hand_made_table_with_common_type_names_fits() {
    let pool = memory().await;
    let sql = "CREATE TABLE People (ID uuid PRIMARY KEY, Name varchar(40) NOT NULL, score int NOT NULL, \
               __created_at__ timestamptz NOT NULL, __updated_at__ timestamptz NOT NULL, __tags__ text array NOT NULL, \
               __deleted_at__ timestamptz, __version__ bigint NOT NULL)";
    sqlx::query(sql).execute(&pool).await.unwrap();
    let plan = migrate(&pool, &V1, &MigrateOptions::new()).await.unwrap();
    assert_eq!(
        changes(&plan),
        [Change::CreateIndex { name: "people_name_key".into(), columns: vec!["name".into()], unique: true }]
    );
    assert!(migrate(&pool, &V1, &MigrateOptions::new()).await.unwrap().is_empty());
    let plan = migrate(&pool, &RELAXED, &MigrateOptions::new()).await.unwrap();
    assert_eq!(changes(&plan), [Change::DropNotNull { column: "score".into() }]);
    assert!(migrate(&pool, &RELAXED, &MigrateOptions::new()).await.unwrap().is_empty());
}

#[tokio::test]
async fn concurrent_migrations_create_one_table() {
    let path = std::env::temp_dir().join(format!("storehaus-migrate-{}.db", uuid::Uuid::new_v4()));
    let options = SqliteConnectOptions::new().filename(&path).create_if_missing(true);
    let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await.unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { migrate(&pool, &V1, &MigrateOptions::new()).await })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        created += usize::from(!task.await.unwrap().expect("every migration succeeds").is_empty());
    }
    pool.close().await;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        std::fs::remove_file(format!("{}{suffix}", path.display())).ok();
    }
    assert_eq!(created, 1, "exactly one migration creates the table");
}

const KEY: ColumnDef = ColumnDef { primary_key: true, update: false, ..column("id", ScalarType::BigInt, false) };

const OWNERS: TableDef = TableDef { name: "owners", model: "Owner", columns: &[KEY], indexes: &[], ..V1 };

fn owners() -> &'static TableDef {
    &OWNERS
}

/// Pets whose vet is an owner too, by a key the model declares.
const VETTED_PETS: TableDef = TableDef {
    name: "pets",
    model: "Pet",
    columns: &[KEY, column("owner_id", ScalarType::BigInt, true), column("vet_id", ScalarType::BigInt, true)],
    indexes: &[],
    foreign_keys: &[crate::model::ForeignKeyDef {
        column: "vet_id",
        references: owners,
        on_delete: crate::model::OnDelete::Restrict,
    }],
    ..V1
};

/// The same table, the model now declaring the owner's key instead of the vet's.
const OWNED_PETS: TableDef = TableDef {
    foreign_keys: &[crate::model::ForeignKeyDef {
        column: "owner_id",
        references: owners,
        on_delete: crate::model::OnDelete::Cascade,
    }],
    ..VETTED_PETS
};

async fn keys(pool: &SqlitePool) -> Vec<(String, String)> {
    sqlx::query_as("SELECT \"from\", on_delete FROM pragma_foreign_key_list('pets') ORDER BY 1")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_rebuild_that_adds_a_key_is_refused_when_foreign_key_check_finds_a_row() {
    let pool = memory().await;
    migrate(&pool, &OWNERS, &MigrateOptions::new()).await.unwrap();
    migrate(&pool, &VETTED_PETS, &MigrateOptions::new()).await.unwrap();
    sqlx::query("INSERT INTO owners (id) VALUES (1)").execute(&pool).await.unwrap();
    // A vet that does not exist, written while keys were off: the key the model no longer
    // declares is left alone, but the rebuild must not hide its orphan.
    sqlx::query(
        "PRAGMA foreign_keys = OFF; INSERT INTO pets (id, owner_id, vet_id) VALUES (1, 1, 9); PRAGMA foreign_keys = ON",
    )
    .execute(&pool)
    .await
    .unwrap();

    let err = migrate(&pool, &OWNED_PETS, &MigrateOptions::new()).await.unwrap_err();
    let StoreError::UnsafeMigration { table, column, reason } = &err else { panic!("{err}") };
    assert_eq!((table.as_str(), column.as_str()), ("pets", "vet_id"));
    assert!(reason.contains("missing `owners` row") && reason.contains("foreign_key_check"), "{reason}");
    assert_eq!(keys(&pool).await, [("vet_id".to_owned(), "RESTRICT".to_owned())], "rolled back");
    let on: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(&pool).await.unwrap();
    assert_eq!(on, 1, "the connection enforces keys again");

    sqlx::query("UPDATE pets SET vet_id = NULL").execute(&pool).await.unwrap();
    let plan = migrate(&pool, &OWNED_PETS, &MigrateOptions::new()).await.unwrap();
    assert!(changes(&plan).iter().any(|c| matches!(c, Change::AddForeignKey { .. })), "{plan}");
    let expected = [("owner_id".to_owned(), "CASCADE".to_owned()), ("vet_id".to_owned(), "RESTRICT".to_owned())];
    assert_eq!(keys(&pool).await, expected);
    assert!(migrate(&pool, &OWNED_PETS, &MigrateOptions::new()).await.unwrap().is_empty());
}
