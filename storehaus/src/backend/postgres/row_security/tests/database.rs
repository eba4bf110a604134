//! The policy and the scope settings on PostgreSQL (skipped without a server, failing under CI).

use super::super::super::values::bind;
use super::*;
use crate::schema::MigrateOptions;
use crate::testing::TestDatabase;
use crate::types::ColumnType;
use sqlx::{Connection, PgPool, Postgres as Pg, Row, Transaction};

/// Migrates `table` the way `auto_migrate` does on PostgreSQL; returns what the row-security
/// steps ran.
async fn migrate_table(pool: &PgPool, table: &TableDef, options: MigrateOptions) -> Vec<String> {
    let mut conn = pool.acquire().await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    let mut steps = prepare(&mut tx, table).await.unwrap();
    crate::backend::migrate::plan_and_apply::<Postgres>(&mut tx, table, &options).await.unwrap();
    steps.extend(super::super::migrate(&mut tx, table).await.unwrap());
    tx.commit().await.unwrap();
    steps
}

async fn setup(db: &TestDatabase) -> PgPool {
    let pool = db.pool().await.as_postgres().unwrap().clone();
    assert!(!migrate_table(&pool, DOCS, MigrateOptions::new()).await.is_empty());
    pool
}

async fn catalog(pool: &PgPool) -> RowSecurityState {
    let mut conn = pool.acquire().await.unwrap();
    read_state(&mut conn, DOCS).await.unwrap().expect("the table exists")
}

#[tokio::test]
async fn migration_enables_forces_and_installs_the_policy_once() {
    let Some(db) = TestDatabase::new().await else { return };
    let pool = setup(&db).await;
    let state = catalog(&pool).await;
    assert!(state.enabled && state.forced, "{state:?}");
    let policy = state.policy.expect("storehaus_scope exists");
    assert!(policy.plain && policy.using.is_some() && policy.using == policy.check, "{policy:?}");
    assert!(policy.comment.as_deref().is_some_and(|c| c.starts_with("storehaus:")));
    let oid = |pool: PgPool| async move {
        sqlx::query_scalar::<_, sqlx::postgres::types::Oid>(
            "SELECT oid FROM pg_policy WHERE polname = 'storehaus_scope'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let before = oid(pool.clone()).await;
    assert_eq!(migrate_table(&pool, DOCS, MigrateOptions::new()).await, Vec::<String>::new());
    assert_eq!(oid(pool.clone()).await, before, "a second migration recreated the policy");
}

#[tokio::test]
async fn a_changed_tenant_column_gets_a_new_policy_and_can_be_dropped() {
    let Some(db) = TestDatabase::new().await else { return };
    let pool = setup(&db).await;
    let options = MigrateOptions::new().allow_column_drops();
    // The old policy reads `org_id`: PostgreSQL refuses to drop it while the policy stands.
    let steps = migrate_table(&pool, DOCS_TEXT_TENANT, options).await;
    assert!(steps[0].starts_with("DROP POLICY"), "{steps:?}");
    let policy = catalog(&pool).await.policy.unwrap();
    let using = policy.using.unwrap();
    assert!(using.contains("org") && !using.contains("org_id"), "{using}");
    assert!(migrate_table(&pool, DOCS_TEXT_TENANT, options).await.is_empty());
}

#[tokio::test]
async fn a_table_no_longer_row_security_has_rls_off() {
    let Some(db) = TestDatabase::new().await else { return };
    let pool = setup(&db).await;
    migrate_table(&pool, DOCS_PLAIN, MigrateOptions::new()).await;
    assert_eq!(catalog(&pool).await, RowSecurityState::default());
    assert!(migrate_table(&pool, DOCS_PLAIN, MigrateOptions::new()).await.is_empty());
}

/// A transaction acting as the table's owner, a role held to the policy by `FORCE` (a superuser,
/// as the test server's user is, ignores every policy). The role is made inside the transaction,
/// so its rollback (every use ends in one) leaves no role behind on the server.
async fn as_owner(pool: &PgPool) -> Transaction<'static, Pg> {
    let role = format!("storehaus_test_rls_{}", Uuid::new_v4().simple());
    let mut tx = pool.begin().await.unwrap();
    for sql in [
        format!("CREATE ROLE {role} NOLOGIN"),
        format!("ALTER TABLE docs OWNER TO {role}"),
        format!("SET LOCAL ROLE {role}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await.unwrap();
    }
    tx
}

async fn scope(tx: &mut Transaction<'static, Pg>, principals: Option<&[String]>, tenant: Option<&Value>) {
    let (sql, args) = scope_settings(principals, tenant).unwrap();
    sqlx::query_with(sql.into_sqlx(), args).execute(&mut **tx).await.unwrap();
}

async fn titles(tx: &mut Transaction<'static, Pg>) -> Vec<String> {
    sqlx::query_scalar("SELECT title FROM docs ORDER BY id").fetch_all(&mut **tx).await.unwrap()
}

/// A scope (principals, tenant) and the titles it sees.
type Case<'a> = (Option<&'a [String]>, Option<Value>, &'a [&'a str]);

#[tokio::test]
async fn the_policy_narrows_a_scoped_transaction_only() {
    let Some(db) = TestDatabase::new().await else { return };
    let pool = setup(&db).await;
    let (org_a, org_b) = (Uuid::new_v4(), Uuid::new_v4());
    for (id, org, auth, title) in [(1_i64, org_a, "{a}", "a1"), (2, org_a, "{b}", "b1"), (3, org_b, "{a,b}", "ab2")] {
        sqlx::query("INSERT INTO docs (id, org_id, title, __auth__) VALUES ($1, $2, $3, CAST($4 AS text[]))")
            .bind(id)
            .bind(org)
            .bind(title)
            .bind(auth)
            .execute(&pool)
            .await
            .unwrap();
    }
    let a = strings(&["a"]);
    let cases: [Case<'_>; 5] = [
        (None, None, &["a1", "b1", "ab2"]),
        (Some(&a), None, &["a1", "ab2"]),
        (None, Some(Value::Uuid(org_a)), &["a1", "b1"]),
        (Some(&a), Some(Value::Uuid(org_b)), &["ab2"]),
        (Some(&[]), None, &[]),
    ];
    for (principals, tenant, expected) in cases {
        let mut tx = as_owner(&pool).await;
        scope(&mut tx, principals, tenant.as_ref()).await;
        assert_eq!(titles(&mut tx).await, strings(expected), "{principals:?} {tenant:?}");
        tx.rollback().await.unwrap();
    }
    // WITH CHECK: a scoped transaction cannot write a row outside its scope.
    let mut tx = as_owner(&pool).await;
    scope(&mut tx, Some(&a), None).await;
    let foreign = sqlx::query("INSERT INTO docs (id, org_id, title, __auth__) VALUES (9, $1, 'x', '{b}')")
        .bind(org_a)
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert_eq!(foreign.as_database_error().and_then(|e| e.code()).as_deref(), Some("42501"), "{foreign}");
}

#[tokio::test]
async fn principals_round_trip_through_the_text_array_literal() {
    let Some(db) = TestDatabase::new().await else { return };
    let pool = db.pool().await.as_postgres().unwrap().clone();
    let lists = [
        strings(&["user_1"]),
        strings(&["a,b", "c", "{d}", "}{", "\"q\"", "back\\slash\\", "\\\"", "NULL", "null", " pad ", ""]),
        strings(&["ünïcødé", "🦀,🦀", "日本語", "\u{200b}", "tab\tnew\nline", "'single'"]),
        Vec::new(),
    ];
    for list in lists {
        let literal = text_array_literal(&list).unwrap();
        let direct: Vec<String> =
            sqlx::query_scalar("SELECT $1::text[]").bind(&literal).fetch_one(&pool).await.unwrap();
        assert_eq!(direct, list, "{literal}");
        let mut tx = pool.begin().await.unwrap();
        scope(&mut tx, Some(&list), None).await;
        let set: Vec<String> = sqlx::query_scalar("SELECT CAST(current_setting('storehaus.principals') AS text[])")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(set, list);
        tx.rollback().await.unwrap();
    }
}

#[tokio::test]
async fn tenant_text_casts_back_to_the_same_value() {
    let Some(db) = TestDatabase::new().await else { return };
    let pool = db.pool().await.as_postgres().unwrap().clone();
    let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap() + chrono::Duration::microseconds(678_901);
    let cases = [
        (Value::Uuid(Uuid::new_v4()), ScalarType::Uuid),
        (Value::Text("org \"1\", {x} \\ ü".to_owned()), ScalarType::Text),
        (Value::BigInt(i64::MIN), ScalarType::BigInt),
        (Value::Integer(i32::MAX), ScalarType::Integer),
        (Value::SmallInt(-3), ScalarType::SmallInt),
        (Value::Bool(false), ScalarType::Bool),
        (Value::Double(0.1), ScalarType::Double),
        (Value::Real(1.0e-7), ScalarType::Real),
        (Value::TimestampTz(at), ScalarType::TimestampTz),
        (Value::Timestamp(at.naive_utc()), ScalarType::Timestamp),
        (Value::Date(at.date_naive()), ScalarType::Date),
        (Value::Time(at.time()), ScalarType::Time),
        (Value::Decimal("-12.3400".parse().unwrap()), ScalarType::Decimal),
        (Value::Bytes(vec![0, 1, 0xfe]), ScalarType::Bytes),
    ];
    for (value, scalar) in cases {
        let ty = ColumnType::Scalar(scalar);
        let mut tx = pool.begin().await.unwrap();
        scope(&mut tx, None, Some(&value)).await;
        let sql = format!("SELECT CAST(current_setting('storehaus.tenant') AS {}) = $1", type_name(ty));
        let mut args = PgArguments::default();
        bind(&mut args, value.clone(), ty).unwrap();
        let row = sqlx::query_with(sqlx::AssertSqlSafe(sql), args).fetch_one(&mut *tx).await.unwrap();
        assert!(row.get::<bool, _>(0), "{value:?} as {}", tenant_text(&value).unwrap());
        tx.rollback().await.unwrap();
    }
}
