//! `auto_migrate` and `plan` against a real PostgreSQL server.

use storehaus::prelude::*;
use storehaus::schema::Change;
use storehaus::testing::TestDatabase;
use storehaus_suite::{column_names, columns, indexes, pg};

/// The model of the seed README's quick start.
#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    pub id: Uuid,

    #[field(create, update)]
    pub name: String,

    #[field(create, update)]
    pub email: String,
}

#[tokio::test]
async fn seed_model_gets_its_table_with_system_columns() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    let plan = storehaus.auto_migrate::<User>(true).await.unwrap();
    assert!(plan.steps.iter().any(|s| s.change == Change::CreateTable), "{plan}");

    let found = columns(&storehaus, "users").await;
    let expected = [
        ("id", "uuid", "NO", None),
        ("name", "text", "NO", None),
        ("email", "text", "NO", None),
        ("__created_at__", "timestamp with time zone", "NO", Some("now()")),
        ("__updated_at__", "timestamp with time zone", "NO", Some("now()")),
        ("__tags__", "ARRAY", "NO", Some("'{}'::text[]")),
    ];
    assert_eq!(found.len(), expected.len(), "{found:?}");
    for (column, (name, data_type, nullable, default)) in found.iter().zip(expected) {
        assert_eq!(column.name, name);
        assert_eq!(column.data_type, data_type, "{name}");
        assert_eq!(column.is_nullable, nullable, "{name}");
        assert_eq!(column.default.as_deref(), default, "{name}");
    }
    let primary_key: String = sqlx::query_scalar(
        "SELECT kcu.column_name::text FROM information_schema.table_constraints tc
         JOIN information_schema.key_column_usage kcu USING (constraint_schema, constraint_name)
         WHERE tc.table_name = 'users' AND tc.constraint_type = 'PRIMARY KEY'",
    )
    .fetch_one(pg(&storehaus))
    .await
    .unwrap();
    assert_eq!(primary_key, "id");
    let gin = indexes(&storehaus, "users").await;
    assert!(gin.iter().any(|def| def.contains("USING gin (__tags__)")), "{gin:?}");
}

#[tokio::test]
async fn a_second_run_changes_nothing() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    assert!(!storehaus.plan::<User>().await.unwrap().is_empty());
    storehaus.auto_migrate::<User>(false).await.unwrap();
    assert!(storehaus.plan::<User>().await.unwrap().is_empty());
    assert!(storehaus.auto_migrate::<User>(false).await.unwrap().is_empty());
}

#[tokio::test]
async fn plan_is_a_dry_run_showing_the_ddl() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    let plan = storehaus.plan::<User>().await.unwrap();
    let script = plan.to_string();
    assert!(
        script.starts_with(r#"CREATE TABLE "users" ("id" UUID PRIMARY KEY NOT NULL, "name" TEXT NOT NULL"#),
        "{script}"
    );
    assert!(script.contains(r#"CREATE INDEX "users_tags_gin" ON "users" USING GIN ("__tags__");"#), "{script}");
    assert!(columns(&storehaus, "users").await.is_empty(), "plan must not create anything");
}

mod v1 {
    use storehaus::prelude::*;

    #[model]
    #[table(name = "profiles")]
    pub struct Profile {
        #[primary_key]
        pub id: Uuid,
        pub name: String,
        pub score: i32,
    }
}

mod v2 {
    use storehaus::prelude::*;

    /// v1 plus a nullable field and an index.
    #[model]
    #[table(name = "profiles")]
    pub struct Profile {
        #[primary_key]
        pub id: Uuid,
        #[index]
        pub name: String,
        pub score: i32,
        pub nickname: Option<String>,
    }
}

mod retyped {
    use storehaus::prelude::*;

    /// v1 with `score` widened to BIGINT.
    #[model]
    #[table(name = "profiles")]
    pub struct Profile {
        #[primary_key]
        pub id: Uuid,
        pub name: String,
        pub score: i64,
    }
}

mod required {
    use storehaus::prelude::*;

    /// v1 plus a NOT NULL field without a default.
    #[model]
    #[table(name = "profiles")]
    pub struct Profile {
        #[primary_key]
        pub id: Uuid,
        pub name: String,
        pub score: i32,
        pub level: i32,
    }
}

async fn profiles(storehaus: &StoreHaus) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT name, score::bigint FROM profiles ORDER BY name").fetch_all(pg(storehaus)).await.unwrap()
}

async fn seeded_v1(db: &TestDatabase) -> StoreHaus {
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<v1::Profile>(false).await.unwrap();
    sqlx::query(
        "INSERT INTO profiles (id, name, score) VALUES (gen_random_uuid(), 'ada', 1), (gen_random_uuid(), 'bob', 2)",
    )
    .execute(pg(&storehaus))
    .await
    .unwrap();
    storehaus
}

#[tokio::test]
async fn a_new_field_adds_its_column_and_keeps_the_rows() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = seeded_v1(&db).await;
    let plan = storehaus.auto_migrate::<v2::Profile>(false).await.unwrap();
    let changes: Vec<_> = plan.steps.iter().map(|s| s.change.clone()).collect();
    assert_eq!(
        changes,
        [
            Change::AddColumn { column: "nickname".into() },
            Change::CreateIndex { name: "profiles_name_idx".into(), columns: vec!["name".into()], unique: false },
        ]
    );
    assert_eq!(profiles(&storehaus).await, [("ada".into(), 1), ("bob".into(), 2)]);
    let nicknames: Vec<Option<String>> =
        sqlx::query_scalar("SELECT nickname FROM profiles").fetch_all(pg(&storehaus)).await.unwrap();
    assert_eq!(nicknames, [None, None]);
    assert!(column_names(&storehaus, "profiles").await.contains(&"nickname".to_owned()));
}

#[tokio::test]
async fn a_type_change_is_refused_unless_allowed() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = seeded_v1(&db).await;
    let err = storehaus.auto_migrate::<retyped::Profile>(false).await.unwrap_err();
    match &err {
        StoreError::UnsafeMigration { table, column, reason } => {
            assert_eq!((table.as_str(), column.as_str()), ("profiles", "score"));
            assert!(reason.contains("integer") && reason.contains("BIGINT"), "{reason}");
        }
        other => panic!("expected UnsafeMigration, got {other:?}"),
    }
    assert_eq!(profiles(&storehaus).await, [("ada".into(), 1), ("bob".into(), 2)]);

    let plan = storehaus.migrate::<retyped::Profile>(MigrateOptions::new().allow_type_changes()).await.unwrap();
    assert!(
        matches!(&plan.steps[..], [s] if matches!(&s.change, Change::AlterColumnType { column, .. } if column == "score"))
    );
    let types = columns(&storehaus, "profiles").await;
    assert_eq!(types.iter().find(|c| c.name == "score").unwrap().data_type, "bigint");
    assert_eq!(profiles(&storehaus).await, [("ada".into(), 1), ("bob".into(), 2)]);
}

#[tokio::test]
async fn a_dropped_field_is_refused_unless_allowed() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = seeded_v1(&db).await;
    storehaus.auto_migrate::<v2::Profile>(false).await.unwrap();
    sqlx::query("UPDATE profiles SET nickname = 'a' WHERE name = 'ada'").execute(pg(&storehaus)).await.unwrap();

    let err = storehaus.auto_migrate::<v1::Profile>(false).await.unwrap_err();
    assert!(matches!(&err, StoreError::UnsafeMigration { column, .. } if column == "nickname"), "{err}");
    assert!(err.to_string().contains("`profiles`.`nickname`"), "{err}");
    let kept: Option<String> =
        sqlx::query_scalar("SELECT nickname FROM profiles WHERE name = 'ada'").fetch_one(pg(&storehaus)).await.unwrap();
    assert_eq!(kept.as_deref(), Some("a"));

    storehaus.migrate::<v1::Profile>(MigrateOptions::new().allow_column_drops()).await.unwrap();
    assert!(!column_names(&storehaus, "profiles").await.contains(&"nickname".to_owned()));
    assert_eq!(profiles(&storehaus).await.len(), 2);
}

#[tokio::test]
async fn a_not_null_field_needs_an_empty_table() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = seeded_v1(&db).await;
    let err = storehaus.auto_migrate::<required::Profile>(false).await.unwrap_err();
    assert!(matches!(&err, StoreError::UnsafeMigration { column, .. } if column == "level"), "{err}");

    sqlx::query("DELETE FROM profiles").execute(pg(&storehaus)).await.unwrap();
    storehaus.auto_migrate::<required::Profile>(false).await.unwrap();
    let level = columns(&storehaus, "profiles").await.into_iter().find(|c| c.name == "level").unwrap();
    assert_eq!(level.is_nullable, "NO");
}

#[tokio::test]
async fn recreate_drops_the_rows() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = seeded_v1(&db).await;
    storehaus.auto_migrate::<v1::Profile>(true).await.unwrap();
    assert!(profiles(&storehaus).await.is_empty());
}

#[tokio::test]
async fn concurrent_start_ups_create_one_table_without_errors() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = std::sync::Arc::new(db.storehaus().await);
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let storehaus = storehaus.clone();
            tokio::spawn(async move { storehaus.auto_migrate::<User>(false).await })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        let plan = task.await.unwrap().expect("every concurrent migration succeeds");
        created += usize::from(!plan.is_empty());
    }
    assert_eq!(created, 1, "exactly one start-up creates the table");
    let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'users'")
        .fetch_one(pg(&storehaus))
        .await
        .unwrap();
    assert_eq!(tables, 1);
}

/// Every flag, every mapped type and field names that are SQL keywords.
#[model]
#[table(name = "order", soft_delete, versioned)]
#[unique(customer, date)]
pub struct Order {
    #[primary_key]
    pub id: i64,
    pub customer: Uuid,
    pub date: NaiveDate,
    #[index]
    pub r#type: String,
    #[unique]
    pub reference: String,
    pub paid: bool,
    pub small: i16,
    pub quantity: i32,
    pub weight: f32,
    pub price: f64,
    pub total: Decimal,
    pub placed_at: DateTime<Utc>,
    pub local_time: NaiveDateTime,
    pub payload: serde_json::Value,
    pub extra: Json<Vec<u8>>,
    pub blob: Vec<u8>,
    pub labels: Vec<String>,
    pub scores: Option<Vec<i64>>,
    #[field(update)]
    pub note: Option<String>,
}

#[tokio::test]
async fn every_type_and_flag_maps_to_its_column() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Order>(false).await.unwrap();
    let found: Vec<_> =
        columns(&storehaus, "order").await.into_iter().map(|c| (c.name, c.udt_name, c.is_nullable)).collect();
    let expected = [
        ("id", "int8", "NO"),
        ("customer", "uuid", "NO"),
        ("date", "date", "NO"),
        ("type", "text", "NO"),
        ("reference", "text", "NO"),
        ("paid", "bool", "NO"),
        ("small", "int2", "NO"),
        ("quantity", "int4", "NO"),
        ("weight", "float4", "NO"),
        ("price", "float8", "NO"),
        ("total", "numeric", "NO"),
        ("placed_at", "timestamptz", "NO"),
        ("local_time", "timestamp", "NO"),
        ("payload", "jsonb", "NO"),
        ("extra", "jsonb", "NO"),
        ("blob", "bytea", "NO"),
        ("labels", "_text", "NO"),
        ("scores", "_int8", "YES"),
        ("note", "text", "YES"),
        ("__created_at__", "timestamptz", "NO"),
        ("__updated_at__", "timestamptz", "NO"),
        ("__tags__", "_text", "NO"),
        ("__deleted_at__", "timestamptz", "YES"),
        ("__version__", "int8", "NO"),
    ];
    let expected: Vec<_> = expected.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect();
    assert_eq!(found, expected);

    let defs = indexes(&storehaus, "order").await;
    for wanted in [
        r#"CREATE UNIQUE INDEX order_customer_date_key ON public."order" USING btree (customer, date)"#,
        r#"CREATE INDEX order_type_idx ON public."order" USING btree (type)"#,
        r#"CREATE UNIQUE INDEX order_reference_key ON public."order" USING btree (reference)"#,
        r#"CREATE INDEX order_tags_gin ON public."order" USING gin (__tags__)"#,
    ] {
        assert!(defs.iter().any(|d| d == wanted), "missing {wanted} in {defs:?}");
    }
    assert!(storehaus.plan::<Order>().await.unwrap().is_empty());
}
