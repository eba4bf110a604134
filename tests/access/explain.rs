//! On PostgreSQL a principal scope is answered by the GIN index on `__auth__`, not by a scan of
//! the whole table.

use super::support::*;
use super::*;
use std::time::{Duration, Instant};
use storehaus::testing::TestDatabase;
use storehaus_suite::{pg, run_on};

/// 100 000 projects, 100 per principal `user_0`‥`user_999`, with fresh planner statistics.
async fn many_projects(db: &TestDatabase) -> Env {
    let env = env(db).await;
    let pool = pg(&env.storehaus);
    sqlx::query(
        r#"INSERT INTO "projects" ("id", "name", "stars", "__auth__")
           SELECT gen_random_uuid(), 'p' || i, i, ARRAY['user_' || (i % 1000)]
           FROM generate_series(1, 100000) AS i"#,
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(r#"ANALYZE "projects""#).execute(pool).await.unwrap();
    env
}

async fn plan(env: &Env, sql: &str) -> String {
    let lines: Vec<String> =
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}"))).fetch_all(pg(&env.storehaus)).await.unwrap();
    lines.join("\n")
}

/// How often `projects_auth_gin` has been scanned, as the statistics collector last heard.
async fn gin_scans(env: &Env) -> i64 {
    let pool = pg(&env.storehaus);
    sqlx::query("SELECT pg_stat_clear_snapshot()").execute(pool).await.unwrap();
    sqlx::query_scalar(
        "SELECT COALESCE(SUM(idx_scan), 0)::bigint FROM pg_stat_user_indexes WHERE indexrelname = 'projects_auth_gin'",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The query a principal scope makes, spelled by hand, is planned as a bitmap scan of the GIN
/// index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_principal_scope_uses_the_gin_index() {
    run_on::<TestDatabase, _>(planned_with_the_index).await;
}

async fn planned_with_the_index(db: TestDatabase) {
    {
        let env = many_projects(&db).await;
        let indexes = storehaus_suite::indexes(&env.storehaus, "projects").await;
        assert!(
            indexes
                .iter()
                .any(|def| def.contains("projects_auth_gin") && def.contains("gin") && def.contains("__auth__")),
            "{indexes:#?}"
        );
        for sql in [
            r#"SELECT * FROM "projects" WHERE "__auth__" && ARRAY['user_7']"#,
            r#"SELECT * FROM "projects" WHERE "__deleted_at__" IS NULL AND "__auth__" && ARRAY['user_7']::text[]"#,
            r#"SELECT * FROM "projects" WHERE "__auth__" && ARRAY['user_7', 'team_3']"#,
        ] {
            let plan = plan(&env, sql).await;
            assert!(plan.contains("Bitmap Index Scan on projects_auth_gin"), "{sql}:\n{plan}");
            assert!(!plan.contains("Seq Scan"), "{sql}:\n{plan}");
        }
    }
}

/// The store's own scoped query scans the index too: its scan count goes up, and it returns the
/// principal's 100 rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scoped_find_of_the_store_scans_the_gin_index() {
    run_on::<TestDatabase, _>(scanned_by_the_store).await;
}

async fn scanned_by_the_store(db: TestDatabase) {
    {
        let env = many_projects(&db).await;
        let before = gin_scans(&env).await;
        let found = env.projects.auth("user_7").find(QueryBuilder::new()).await.unwrap();
        assert_eq!(found.len(), 100);
        assert!(found.iter().all(|r| r.principals() == Some(&["user_7".to_owned()][..])));
        // Another session's counters reach the statistics a moment after its transaction ends.
        let started = Instant::now();
        while gin_scans(&env).await == before {
            assert!(started.elapsed() < Duration::from_secs(30), "the scoped find never scanned projects_auth_gin");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
