//! PostgreSQL row-level security of `row_security` tables (`SecureDoc`): what the migration
//! installs, and what hand-written SQL sees inside a scoped transaction, after it, and without one.
//!
//! Policies bind every role but superusers and `BYPASSRLS` roles, so the raw SQL here runs as a
//! plain role that owns the table, the usual application set-up that `FORCE ROW LEVEL SECURITY`
//! is for. Roles belong to the whole server, not to the test database, so each test makes its own
//! and none outlives it: created inside the transaction that uses it and rolled back with it, or,
//! where a transaction must commit, removed by a guard even when an assertion fails.

use super::*;
use sqlx::{Connection, PgConnection, PgPool, Postgres, Row, Transaction};
use storehaus::schema::Change;
use storehaus::testing::TestDatabase;

const EVERY_TITLE: [&str; 4] = ["a-own", "b-own", "nobody", "shared"];

/// A role name no other test or run uses.
fn role_name() -> String {
    format!("storehaus_test_rls_{}", Uuid::new_v4().simple())
}

/// The organisations of the seeded rows.
struct Seeded {
    org_a: Uuid,
    org_b: Uuid,
}

/// Migrates `secure_docs` on `storehaus` and seeds four rows with raw SQL.
async fn seed(storehaus: &StoreHaus) -> Seeded {
    storehaus.auto_migrate::<SecureDoc>(false).await.unwrap();
    let pool = pg(storehaus);
    let (org_a, org_b) = (Uuid::new_v4(), Uuid::new_v4());
    for (title, org, principals) in
        [("a-own", org_a, "{a}"), ("b-own", org_a, "{b}"), ("shared", org_b, "{a,b}"), ("nobody", org_b, "{}")]
    {
        sqlx::query("INSERT INTO secure_docs (id, org_id, title, __auth__) VALUES ($1, $2, $3, CAST($4 AS text[]))")
            .bind(Uuid::new_v4())
            .bind(org)
            .bind(title)
            .bind(principals)
            .execute(pool)
            .await
            .unwrap();
    }
    Seeded { org_a, org_b }
}

async fn execute(conn: &mut PgConnection, sql: String) {
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(conn).await.unwrap();
}

/// A transaction acting as `role`, a plain role made in it to own the table: both vanish when
/// the transaction rolls back, which every caller does.
async fn as_new_owner(pool: &PgPool, role: &str) -> Transaction<'static, Postgres> {
    let mut tx = pool.begin().await.unwrap();
    execute(&mut tx, format!("CREATE ROLE {role} NOLOGIN")).await;
    execute(&mut tx, format!("ALTER TABLE secure_docs OWNER TO {role}")).await;
    execute(&mut tx, format!("SET LOCAL ROLE {role}")).await;
    tx
}

/// A transaction acting as `role`, which already exists.
async fn as_role(pool: &PgPool, role: &str) -> Transaction<'static, Postgres> {
    let mut tx = pool.begin().await.unwrap();
    execute(&mut tx, format!("SET LOCAL ROLE {role}")).await;
    tx
}

/// Asserts that the server holds no role named `role` (once its test is done with it).
async fn assert_role_gone(pool: &PgPool, role: &str) {
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'storehaus_test_rls%' AND rolname = $1")
            .bind(role)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(left, 0, "role {role} outlived its test");
}

/// A committed role owning `secure_docs` of a test database, for a test whose transactions must
/// commit. Dropping it hands the table back and removes the role, also while a failed assertion
/// unwinds (the database is then kept for inspection, so the table must not stay the role's).
struct OwnerRole {
    name: String,
    config: DatabaseConfig,
}

impl OwnerRole {
    /// Creates the role and gives it `secure_docs`, which must exist.
    async fn create(config: &DatabaseConfig) -> Self {
        let role = OwnerRole { name: role_name(), config: config.clone() };
        let mut conn = connect(config).await.unwrap();
        execute(&mut conn, format!("CREATE ROLE {} NOLOGIN", role.name)).await;
        execute(&mut conn, format!("ALTER TABLE secure_docs OWNER TO {}", role.name)).await;
        conn.close().await.unwrap();
        role
    }

    async fn remove(config: &DatabaseConfig, role: &str, unwinding: bool) -> Result<(), sqlx::Error> {
        let mut conn = connect(config).await?;
        let run = |sql: String| sqlx::query(sqlx::AssertSqlSafe(sql));
        run("SET lock_timeout = '10s'".to_owned()).execute(&mut conn).await?;
        if unwinding {
            // A transaction the failed test left open would hold its lock on the table; the
            // database is this test's alone.
            let others = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                          WHERE datname = current_database() AND pid <> pg_backend_pid()";
            run(others.to_owned()).execute(&mut conn).await?;
        }
        for sql in ["REASSIGN OWNED BY {r} TO CURRENT_USER", "DROP OWNED BY {r}", "DROP ROLE {r}"] {
            run(sql.replace("{r}", role)).execute(&mut conn).await?;
        }
        conn.close().await
    }
}

impl Drop for OwnerRole {
    fn drop(&mut self) {
        // Drop runs outside async code, so the statements run on a runtime of their own.
        let (config, name, unwinding) = (self.config.clone(), self.name.clone(), std::thread::panicking());
        let removed = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            runtime.block_on(OwnerRole::remove(&config, &name, unwinding)).map_err(|e| e.to_string())
        })
        .join();
        match removed {
            Ok(Ok(())) => {}
            _ if unwinding => eprintln!("could not drop role {}: {removed:?}", self.name),
            _ => panic!("could not drop role {}: {removed:?}", self.name),
        }
    }
}

async fn connect(config: &DatabaseConfig) -> Result<PgConnection, sqlx::Error> {
    let options = sqlx::postgres::PgConnectOptions::new()
        .host(&config.host)
        .port(config.port)
        .database(&config.database)
        .username(&config.username)
        .password(&config.password);
    PgConnection::connect_with(&options).await
}

fn pg(storehaus: &StoreHaus) -> &PgPool {
    storehaus.pool().as_postgres().expect("a PostgreSQL test database")
}

fn docs(storehaus: &StoreHaus) -> GenericStore<SecureDoc> {
    GenericStore::new(storehaus.pool().clone(), None, None)
}

async fn titles(tx: &mut Transaction<'static, Postgres>) -> Vec<String> {
    sqlx::query_scalar("SELECT title FROM secure_docs ORDER BY title").fetch_all(&mut **tx).await.unwrap()
}

/// `storehaus.principals` and `storehaus.tenant` as the connection of `tx` has them.
async fn settings(tx: &mut Transaction<'static, Postgres>) -> (Option<String>, Option<String>) {
    sqlx::query_as("SELECT current_setting('storehaus.principals', true), current_setting('storehaus.tenant', true)")
        .fetch_one(&mut **tx)
        .await
        .unwrap()
}

fn no_scope(settings: (Option<String>, Option<String>)) -> bool {
    settings.0.unwrap_or_default().is_empty() && settings.1.unwrap_or_default().is_empty()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// A policy: name, command, roles, `USING`, `WITH CHECK`, comment.
type Policy = (String, String, Vec<String>, String, String, Option<String>);

/// `relrowsecurity`, `relforcerowsecurity`, and the policies as `pg_policies` and their comments
/// show them.
async fn catalog(pool: &PgPool) -> (bool, bool, Vec<Policy>) {
    let flags =
        sqlx::query("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'secure_docs'::regclass")
            .fetch_one(pool)
            .await
            .unwrap();
    let policies = sqlx::query_as(
        "SELECT p.policyname::text, p.cmd, p.roles::text[], p.qual, p.with_check,
           obj_description(pol.oid, 'pg_policy')
         FROM pg_policies p
         JOIN pg_policy pol ON pol.polname = p.policyname AND pol.polrelid = 'secure_docs'::regclass
         WHERE p.schemaname = current_schema() AND p.tablename = 'secure_docs'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    (flags.get(0), flags.get(1), policies)
}

#[tokio::test]
async fn auto_migrate_enables_and_forces_rls_with_one_policy_once() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    let first = storehaus.auto_migrate::<SecureDoc>(false).await.unwrap();
    // The plan it returns lists what it ran, the row security after the table.
    let security: Vec<&str> =
        first.steps.iter().filter(|s| s.change == Change::RowSecurity).map(|s| s.sql.as_str()).collect();
    assert_eq!(first.steps[0].change, Change::CreateTable);
    assert_eq!(security.len(), 4, "{first}");
    assert!(first.steps[first.steps.len() - 4..].iter().all(|s| s.change == Change::RowSecurity), "{first}");
    assert!(security[0].starts_with(r#"ALTER TABLE "secure_docs" ENABLE ROW LEVEL SECURITY"#), "{first}");
    assert!(security[1].starts_with(r#"ALTER TABLE "secure_docs" FORCE ROW LEVEL SECURITY"#), "{first}");
    assert!(security[2].starts_with(r#"CREATE POLICY "storehaus_scope" ON "secure_docs""#), "{first}");
    assert!(security[3].starts_with(r#"COMMENT ON POLICY "storehaus_scope" ON "secure_docs""#), "{first}");
    let (enabled, forced, policies) = catalog(pg(&storehaus)).await;
    assert!(enabled && forced, "RLS enabled {enabled}, forced {forced}");
    let [(name, cmd, roles, qual, check, comment)] = &policies[..] else { panic!("one policy: {policies:?}") };
    assert_eq!((name.as_str(), cmd.as_str(), roles.clone()), ("storehaus_scope", "ALL", strings(&["public"])));
    assert_eq!(qual, check, "USING and WITH CHECK are the same predicate");
    for part in ["__auth__", "org_id", "storehaus.principals", "storehaus.tenant", "CASE"] {
        assert!(qual.contains(part), "{part} missing from {qual}");
    }
    assert!(comment.is_some(), "the policy carries its fingerprint");
    let oid = "SELECT oid::bigint FROM pg_policy WHERE polname = 'storehaus_scope'";
    let before: i64 = sqlx::query_scalar(oid).fetch_one(pg(&storehaus)).await.unwrap();

    let again = storehaus.auto_migrate::<SecureDoc>(false).await.unwrap();
    assert!(again.is_empty(), "a second auto_migrate ran {again}");
    assert!(storehaus.plan::<SecureDoc>().await.unwrap().is_empty());
    let after: i64 = sqlx::query_scalar(oid).fetch_one(pg(&storehaus)).await.unwrap();
    assert_eq!(after, before, "the policy was made anew");
    assert_eq!(catalog(pg(&storehaus)).await, (true, true, policies));
}

#[tokio::test]
async fn hand_written_sql_in_a_scoped_transaction_sees_only_the_scope() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    let Seeded { org_a, org_b } = seed(&storehaus).await;
    let (pool, docs, role) = (pg(&storehaus), docs(&storehaus), role_name());
    let cases = [
        (docs.unrestricted().auth("a"), &["a-own", "shared"][..]),
        (docs.unrestricted().auth("b"), &["b-own", "shared"]),
        (docs.unrestricted().auth_any(["b", "c"]), &["b-own", "shared"]),
        (docs.unrestricted().tenant(org_a), &["a-own", "b-own"]),
        (docs.auth("a").tenant(org_b), &["shared"]),
        // Principals that are no array syntax, however they look.
        (docs.unrestricted().auth_any(["a, b", "{a}", "\"b\"", "nobody"]), &[]),
    ];
    for (n, (scoped, expected)) in cases.iter().enumerate() {
        let mut tx = as_new_owner(pool, &role).await;
        scoped.scope_connection(&mut tx).await.unwrap();
        assert_eq!(titles(&mut tx).await, strings(expected), "case {n}");
        tx.rollback().await.unwrap();
    }

    // Writes are narrowed too: an update of every row touches A's only, and a row outside the
    // scope cannot be written.
    let mut tx = as_new_owner(pool, &role).await;
    docs.unrestricted().auth("a").scope_connection(&mut tx).await.unwrap();
    let updated = sqlx::query("UPDATE secure_docs SET title = title || '!'").execute(&mut *tx).await.unwrap();
    assert_eq!(updated.rows_affected(), 2);
    let foreign = sqlx::query("INSERT INTO secure_docs (id, org_id, title, __auth__) VALUES ($1, $2, 'x', '{b}')")
        .bind(Uuid::new_v4())
        .bind(org_a)
        .execute(&mut *tx)
        .await
        .unwrap_err();
    let code = foreign.as_database_error().and_then(|e| e.code()).map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("42501"), "{foreign}");
    tx.rollback().await.unwrap();

    // A store without the scopes its model requires sets nothing.
    let mut tx = as_new_owner(pool, &role).await;
    let refused = docs.scope_connection(&mut tx).await.unwrap_err();
    assert!(matches!(refused, StoreError::AuthRequired { .. } | StoreError::TenantRequired { .. }), "{refused:?}");
    let refused = docs.auth("a").scope_connection(&mut tx).await.unwrap_err();
    assert!(matches!(refused, StoreError::TenantRequired { .. }), "{refused:?}");
    assert!(no_scope(settings(&mut tx).await));
    tx.rollback().await.unwrap();
    assert_role_gone(pool, &role).await;
}

#[tokio::test]
async fn a_pooled_connection_keeps_no_scope_after_commit_or_rollback() {
    let Some(db) = TestDatabase::new().await else { return };
    let config = DatabaseConfig { max_connections: 1, ..db.config().clone() };
    let storehaus = StoreHaus::with_pool(DbPool::connect(&config).await.unwrap());
    seed(&storehaus).await;
    let role = OwnerRole::create(db.config()).await;
    let (pool, docs) = (pg(&storehaus), docs(&storehaus));
    let pid = "SELECT pg_backend_pid()";
    let first: i32 = sqlx::query_scalar(pid).fetch_one(pool).await.unwrap();
    for commit in [true, false] {
        // Hand-written SQL scoped by hand.
        let mut tx = as_role(pool, &role.name).await;
        docs.auth("a").tenant(Uuid::new_v4()).scope_connection(&mut tx).await.unwrap();
        assert!(!no_scope(settings(&mut tx).await));
        assert_eq!(titles(&mut tx).await, Vec::<String>::new(), "a tenant with no rows");
        match commit {
            true => tx.commit().await.unwrap(),
            false => tx.rollback().await.unwrap(),
        }
        let mut next = as_role(pool, &role.name).await;
        assert!(no_scope(settings(&mut next).await), "a setting survived (commit: {commit})");
        assert_eq!(titles(&mut next).await, strings(&EVERY_TITLE), "commit: {commit}");
        next.rollback().await.unwrap();

        // A scoped store's calls in a StoreHaus transaction.
        let tx = storehaus.begin().await.unwrap();
        let in_tx = docs.unrestricted().auth("a").with_transaction(&tx);
        assert_eq!(in_tx.count().await.unwrap(), 2);
        match commit {
            true => tx.commit().await.unwrap(),
            false => tx.rollback().await.unwrap(),
        }
        let mut next = as_role(pool, &role.name).await;
        assert!(no_scope(settings(&mut next).await), "a store's setting survived (commit: {commit})");
        assert_eq!(titles(&mut next).await, strings(&EVERY_TITLE), "commit: {commit}");
        next.rollback().await.unwrap();
    }
    let last: i32 = sqlx::query_scalar(pid).fetch_one(pool).await.unwrap();
    assert_eq!(last, first, "the pool of one kept its connection");
    let name = role.name.clone();
    drop(role);
    assert_role_gone(pool, &name).await;
}

#[tokio::test]
async fn without_a_setting_raw_sql_sees_every_row() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    seed(&storehaus).await;
    let role = role_name();
    let mut tx = as_new_owner(pg(&storehaus), &role).await;
    assert!(no_scope(settings(&mut tx).await));
    assert_eq!(titles(&mut tx).await, strings(&EVERY_TITLE));
    // An unrestricted store clears the settings: the same "no scope".
    docs(&storehaus).unrestricted().auth("a").scope_connection(&mut tx).await.unwrap();
    docs(&storehaus).unrestricted().scope_connection(&mut tx).await.unwrap();
    assert!(no_scope(settings(&mut tx).await));
    assert_eq!(titles(&mut tx).await, strings(&EVERY_TITLE));
    tx.rollback().await.unwrap();
    assert_role_gone(pg(&storehaus), &role).await;
}
