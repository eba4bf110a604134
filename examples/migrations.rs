//! Migrations: a table evolves through three versions of its model. `plan` shows the DDL without
//! running it, `auto_migrate` creates the table and later adds a nullable column and an index,
//! existing rows keep their data, dropping a column is refused until `MigrateOptions` allows it,
//! and migrating a table that already matches does nothing.
//!
//! ```text
//! cargo run --example migrations
//! ```
//!
//! It reads its configuration with `AppConfig::load()`: `storehaus.toml` or `$STOREHAUS_CONFIG`,
//! then `DATABASE_URL` and the `STOREHAUS_*` variables (see docs/configuration.md). It drops the
//! table `migrations_accounts` first, so every run starts without it. It runs on PostgreSQL and on
//! SQLite (`DATABASE_URL=sqlite::memory:`); the SQL the plans print differs between the two. It
//! exits non-zero when a plan or the data after a migration is not what it should be.

use storehaus::prelude::*;
use storehaus::schema::{Change, MigrationPlan};

/// Version 1 of the accounts table.
#[model]
#[table(name = "migrations_accounts")]
pub struct AccountV1 {
    #[primary_key]
    pub id: Uuid,
    pub owner: String,
    pub balance: i64,
    pub fax: Option<String>,
}

/// Version 2 adds a nullable, indexed `email`: a safe change, applied on its own.
#[model]
#[table(name = "migrations_accounts")]
pub struct AccountV2 {
    #[primary_key]
    pub id: Uuid,
    pub owner: String,
    pub balance: i64,
    pub fax: Option<String>,
    #[index]
    pub email: Option<String>,
}

/// Version 3 no longer has `fax`: dropping it deletes data, so it must be allowed explicitly.
#[model]
#[table(name = "migrations_accounts")]
pub struct AccountV3 {
    #[primary_key]
    pub id: Uuid,
    pub owner: String,
    pub balance: i64,
    #[index]
    pub email: Option<String>,
}

const TABLE: &str = "migrations_accounts";

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = AppConfig::load()?;
    let storehaus = StoreHaus::new(config.database.clone()).await?;
    drop_table(storehaus.pool(), TABLE).await?;
    println!("migrations on {}; {TABLE} dropped so the run starts without it", storehaus.pool().backend_name());

    // Version 1: the plan on a database without the table is its CREATE (and the tags index on
    // PostgreSQL); auto_migrate runs exactly that plan.
    let plan = storehaus.plan::<AccountV1>().await?;
    show("plan for version 1", &plan);
    assert_eq!(plan.steps[0].change, Change::CreateTable, "a missing table is created");
    let first_sql = plan.statements().next().unwrap_or_default();
    assert!(first_sql.starts_with(&format!("CREATE TABLE \"{TABLE}\"")), "the first statement creates the table");
    let applied = storehaus.auto_migrate::<AccountV1>(false).await?;
    assert_eq!(applied, plan, "auto_migrate runs the plan that plan() showed");
    assert!(storehaus.plan::<AccountV1>().await?.is_empty(), "the new table matches version 1");

    let v1 = GenericStore::<AccountV1>::new(storehaus.pool().clone(), None, None);
    let ada =
        v1.create(AccountV1::new(Uuid::new_v4(), "Ada".into(), 100, Some("+44 20 7946 0000".into())), None).await?;
    let bob = v1.create(AccountV1::new(Uuid::new_v4(), "Bob".into(), 50, None), None).await?;
    println!("version 1: created the table and wrote 2 accounts");

    // Version 2: only the new column and its index are planned; the rows stay.
    let plan = storehaus.plan::<AccountV2>().await?;
    show("plan for version 2", &plan);
    let changes: Vec<&Change> = plan.steps.iter().map(|step| &step.change).collect();
    let add_email = Change::AddColumn { column: "email".into() };
    let index_email =
        Change::CreateIndex { name: format!("{TABLE}_email_idx"), columns: vec!["email".into()], unique: false };
    assert_eq!(changes, [&add_email, &index_email], "version 2 adds the column and its index, nothing else");
    assert_eq!(storehaus.auto_migrate::<AccountV2>(false).await?, plan, "auto_migrate applies the same plan");

    let v2 = GenericStore::<AccountV2>::new(storehaus.pool().clone(), None, None);
    let ada_v2 = v2.get_by_id(&ada.id).await?.ok_or("Ada is gone after adding a column")?;
    assert_eq!((ada_v2.owner.as_str(), ada_v2.balance), ("Ada", 100), "existing data is kept");
    assert_eq!(ada_v2.fax, ada.fax, "existing data is kept");
    assert_eq!(ada_v2.email, None, "the new column is NULL on existing rows");
    assert_eq!(ada_v2.created_at(), ada.created_at(), "system columns are untouched");
    v2.update(&ada.id, AccountV2 { email: Some("ada@example.com".into()), ..ada_v2.into_inner() }, None).await?;
    println!("version 2: added email and its index; Ada and Bob kept their data, Ada got an email");

    // Version 3 drops `fax`: refused, naming the column, and nothing changes.
    let refused = storehaus.auto_migrate::<AccountV3>(false).await;
    match &refused {
        Err(StoreError::UnsafeMigration { table, column, reason }) => {
            assert_eq!((table.as_str(), column.as_str()), (TABLE, "fax"), "the refusal names the column");
            println!("version 3 refused: {table}.{column}: {reason}");
        }
        other => return Err(format!("dropping fax should be refused, got {other:?}").into()),
    }
    assert!(matches!(storehaus.plan::<AccountV3>().await, Err(StoreError::UnsafeMigration { .. })), "plan refuses too");
    assert!(storehaus.plan::<AccountV2>().await?.is_empty(), "the table still matches version 2, fax included");
    let ada_v2 = v2.get_by_id(&ada.id).await?.ok_or("Ada is gone after a refused migration")?;
    assert_eq!(ada_v2.fax, ada.fax, "the refused migration kept the fax number");

    // Allowed explicitly, the drop is planned and applied; the other columns keep their data.
    let plan = storehaus.migrate::<AccountV3>(MigrateOptions::new().allow_column_drops()).await?;
    show("version 3 applied with allow_column_drops", &plan);
    let changes: Vec<&Change> = plan.steps.iter().map(|step| &step.change).collect();
    assert_eq!(changes, [&Change::DropColumn { column: "fax".into() }], "only the fax column is dropped");
    let v3 = GenericStore::<AccountV3>::new(storehaus.pool().clone(), None, None);
    let accounts = v3.find(QueryBuilder::new().order_by("owner", SortOrder::Asc)).await?;
    let rows: Vec<(&str, i64, Option<&str>)> =
        accounts.iter().map(|a| (a.owner.as_str(), a.balance, a.email.as_deref())).collect();
    assert_eq!(rows, [("Ada", 100, Some("ada@example.com")), ("Bob", 50, None)], "the other columns keep their data");
    assert!(accounts.iter().any(|a| a.id == bob.id), "Bob is still there");
    println!("version 3: fax dropped; Ada and Bob kept owner, balance and email");

    // Migrating a table that already matches is a no-op.
    let again = storehaus.auto_migrate::<AccountV3>(false).await?;
    assert!(again.is_empty(), "a second migration has nothing to do: {again}");
    assert!(storehaus.plan::<AccountV3>().await?.is_empty(), "the plan is empty");
    println!("again: auto_migrate::<AccountV3> ran an empty plan ({} steps)", again.steps.len());

    storehaus.close().await;
    println!("every migration did exactly what its plan said");
    Ok(())
}

/// Prints a plan as `Display` writes it: an SQL script, one statement per line.
fn show(title: &str, plan: &MigrationPlan) {
    let count = plan.steps.len();
    println!("{title} ({count} step{}):", if count == 1 { "" } else { "s" });
    for line in plan.to_string().lines() {
        println!("    {line}");
    }
}

/// Drops `table` if it exists. StoreHaus has no call for this (`auto_migrate(true)` recreates a
/// table rather than removing it), so the statement goes to the driver's pool underneath.
async fn drop_table(pool: &DbPool, table: &str) -> Res {
    // `table` is one of this program's own table names, never input: sqlx asks for that promise
    // (`AssertSqlSafe`) before it runs text built with `format!`.
    let sql = format!("DROP TABLE IF EXISTS \"{table}\"");
    if let Some(postgres) = pool.as_postgres() {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(postgres).await?;
    } else if let Some(sqlite) = pool.as_sqlite() {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(sqlite).await?;
    }
    Ok(())
}
