//! A unique index over a column that already holds duplicates would fail halfway through the
//! migration (on PostgreSQL, leaving an INVALID index behind a concurrent build). It is refused
//! before anything runs, naming the column and a duplicated value; NULLs are not duplicates.

use super::*;
use storehaus_suite::{TestBackend, on_both_backends, raw};

/// The member table as first deployed: nothing unique but the key.
#[model]
#[table(name = "online_members")]
pub struct MemberV1 {
    #[primary_key]
    pub id: i64,
    pub email: String,
    pub team: String,
    pub seat: i32,
    pub nickname: Option<String>,
}

/// [`MemberV1`] with `email` unique, and a new nullable field.
#[model]
#[table(name = "online_members")]
pub struct MemberUniqueEmail {
    #[primary_key]
    pub id: i64,
    #[unique]
    pub email: String,
    pub team: String,
    pub seat: i32,
    pub nickname: Option<String>,
    pub note: Option<String>,
}

/// [`MemberV1`] with one member per seat of a team.
#[model]
#[table(name = "online_members")]
#[unique(team, seat)]
pub struct MemberUniqueSeat {
    #[primary_key]
    pub id: i64,
    pub email: String,
    pub team: String,
    pub seat: i32,
    pub nickname: Option<String>,
}

/// [`MemberV1`] with `nickname`, which may be NULL, unique.
#[model]
#[table(name = "online_members")]
pub struct MemberUniqueNickname {
    #[primary_key]
    pub id: i64,
    pub email: String,
    pub team: String,
    pub seat: i32,
    #[unique]
    pub nickname: Option<String>,
}

const MEMBERS: &str = "online_members";

/// [`MemberV1`]'s table holding `rows`, each `(id, email, team, seat, nickname)` as SQL literals.
async fn members(storehaus: &StoreHaus, rows: &[&str]) {
    storehaus.auto_migrate::<MemberV1>(false).await.unwrap();
    let values: Vec<String> = rows.iter().map(|row| format!("({row})")).collect();
    raw::execute(
        storehaus,
        &format!(
            "INSERT INTO \"online_members\" (\"id\", \"email\", \"team\", \"seat\", \"nickname\") VALUES {}",
            values.join(", ")
        ),
    )
    .await;
}

/// The names of the table's indexes, sorted.
async fn index_names<B: TestBackend>(storehaus: &StoreHaus) -> Vec<String> {
    let sql = if B::NAME == "postgres" {
        format!("SELECT CAST(indexname AS TEXT) FROM pg_indexes WHERE tablename = '{MEMBERS}' ORDER BY 1")
    } else {
        format!("SELECT name FROM pragma_index_list('{MEMBERS}') ORDER BY 1")
    };
    raw::texts(storehaus, &sql).await.into_iter().flatten().collect()
}

/// The names of the table's columns, sorted.
async fn column_names<B: TestBackend>(storehaus: &StoreHaus) -> Vec<String> {
    let sql = if B::NAME == "postgres" {
        format!(
            "SELECT CAST(column_name AS TEXT) FROM information_schema.columns WHERE table_name = '{MEMBERS}' ORDER BY 1"
        )
    } else {
        format!("SELECT name FROM pragma_table_info('{MEMBERS}') ORDER BY 1")
    };
    raw::texts(storehaus, &sql).await.into_iter().flatten().collect()
}

/// Whether the table has a unique index named `name` that is usable (valid, on PostgreSQL).
async fn has_unique_index<B: TestBackend>(storehaus: &StoreHaus, name: &str) -> bool {
    let sql = if B::NAME == "postgres" {
        format!(
            "SELECT count(*) FROM pg_index ix JOIN pg_class c ON c.oid = ix.indexrelid
             WHERE c.relname = '{name}' AND ix.indisunique AND ix.indisvalid"
        )
    } else {
        format!("SELECT count(*) FROM pragma_index_list('{MEMBERS}') WHERE name = '{name}' AND \"unique\" = 1")
    };
    raw::int(storehaus, &sql).await == 1
}

/// Indexes of the table PostgreSQL marks INVALID (SQLite has no such state).
async fn invalid_indexes<B: TestBackend>(storehaus: &StoreHaus) -> i64 {
    if B::NAME != "postgres" {
        return 0;
    }
    raw::int(
        storehaus,
        &format!(
            "SELECT count(*) FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid
             WHERE t.relname = '{MEMBERS}' AND NOT ix.indisvalid"
        ),
    )
    .await
}

/// Asserts `err` is an `UnsafeMigration` of the member table whose column names every one of
/// `columns` and whose reason quotes every one of `values`.
fn assert_refused(err: &StoreError, columns: &[&str], values: &[&str]) {
    let StoreError::UnsafeMigration { table, column, reason } = err else {
        panic!("expected UnsafeMigration, got {err:?}");
    };
    assert_eq!(table, MEMBERS);
    for name in columns {
        assert!(column.contains(name), "the column `{column}` does not name `{name}`");
    }
    for value in values {
        assert!(reason.contains(value), "the reason does not quote the duplicated {value:?}: {reason}");
    }
}

on_both_backends! {
    /// Two members share an email: adding `#[unique]` on it is refused with the email quoted,
    /// and neither the index nor the migration's new column appears. Without the duplicate the
    /// same migration succeeds and the index refuses a new duplicate.
    async fn a_unique_index_over_duplicates_is_refused_before_anything_runs(db) {
        let storehaus = db.storehaus().await;
        members(&storehaus, &[
            "1, 'ada@example.com', 'red', 1, NULL",
            "2, 'bob@example.com', 'red', 2, NULL",
            "3, 'ada@example.com', 'blue', 1, NULL",
        ])
        .await;
        let indexes_before = index_names::<B>(&storehaus).await;
        let columns_before = column_names::<B>(&storehaus).await;

        let err = storehaus.auto_migrate::<MemberUniqueEmail>(false).await.unwrap_err();
        assert_refused(&err, &["email"], &["ada@example.com"]);
        assert_eq!(index_names::<B>(&storehaus).await, indexes_before);
        assert_eq!(column_names::<B>(&storehaus).await, columns_before);
        assert_eq!(invalid_indexes::<B>(&storehaus).await, 0);

        raw::execute(&storehaus, "DELETE FROM \"online_members\" WHERE \"id\" = 3").await;
        let plan = storehaus.auto_migrate::<MemberUniqueEmail>(false).await.unwrap();
        let name = "online_members_email_key";
        assert!(
            plan.steps.iter().any(|s| s.change
                == Change::CreateIndex { name: name.into(), columns: vec!["email".into()], unique: true }),
            "{plan}"
        );
        assert!(has_unique_index::<B>(&storehaus, name).await, "{:?}", index_names::<B>(&storehaus).await);
        assert!(column_names::<B>(&storehaus).await.contains(&"note".to_owned()));
        assert!(storehaus.plan::<MemberUniqueEmail>().await.unwrap().is_empty());
        let pool = db.pool().await;
        let duplicate = GenericStore::<MemberUniqueEmail>::new(pool, None, None)
            .create(MemberUniqueEmail::new(4, "bob@example.com".into(), "blue".into(), 2, None, None), None)
            .await;
        assert!(duplicate.is_err(), "the unique index let a duplicate email in");
    }

    /// Two members hold the same seat of a team: `#[unique(team, seat)]` is refused naming both
    /// columns and the pair. Teams and seats that repeat only on their own are no duplicates.
    async fn a_composite_unique_index_over_duplicates_is_refused(db) {
        let storehaus = db.storehaus().await;
        members(&storehaus, &[
            "1, 'a@example.com', 'red', 42, NULL",
            "2, 'b@example.com', 'red', 43, NULL",
            "3, 'c@example.com', 'blue', 42, NULL",
            "4, 'd@example.com', 'red', 42, NULL",
        ])
        .await;
        let indexes_before = index_names::<B>(&storehaus).await;

        let err = storehaus.auto_migrate::<MemberUniqueSeat>(false).await.unwrap_err();
        assert_refused(&err, &["team", "seat"], &["red", "42"]);
        assert_eq!(index_names::<B>(&storehaus).await, indexes_before);
        assert_eq!(invalid_indexes::<B>(&storehaus).await, 0);

        raw::execute(&storehaus, "DELETE FROM \"online_members\" WHERE \"id\" = 4").await;
        let plan = storehaus.auto_migrate::<MemberUniqueSeat>(false).await.unwrap();
        let name = "online_members_team_seat_key";
        assert!(
            plan.steps.iter().any(|s| s.change
                == Change::CreateIndex { name: name.into(), columns: vec!["team".into(), "seat".into()], unique: true }),
            "{plan}"
        );
        assert!(has_unique_index::<B>(&storehaus, name).await, "{:?}", index_names::<B>(&storehaus).await);
        assert_eq!(raw::int(&storehaus, "SELECT count(*) FROM \"online_members\"").await, 3);
    }

    /// Three members without a nickname are not duplicates of each other (NULL equals nothing on
    /// either backend): `#[unique]` on `nickname` is added, and still lets another NULL in.
    async fn nulls_are_not_duplicates(db) {
        let storehaus = db.storehaus().await;
        members(&storehaus, &[
            "1, 'a@example.com', 'red', 1, NULL",
            "2, 'b@example.com', 'red', 2, NULL",
            "3, 'c@example.com', 'red', 3, NULL",
            "4, 'd@example.com', 'red', 4, 'dee'",
            "5, 'e@example.com', 'red', 5, 'eve'",
        ])
        .await;

        storehaus.auto_migrate::<MemberUniqueNickname>(false).await.unwrap();
        assert!(has_unique_index::<B>(&storehaus, "online_members_nickname_key").await);
        raw::execute(
            &storehaus,
            "INSERT INTO \"online_members\" (\"id\", \"email\", \"team\", \"seat\", \"nickname\") \
             VALUES (6, 'f@example.com', 'red', 6, NULL)",
        )
        .await;
        assert_eq!(
            raw::int(&storehaus, "SELECT count(*) FROM \"online_members\" WHERE \"nickname\" IS NULL").await,
            4
        );
        let duplicate = GenericStore::<MemberUniqueNickname>::new(db.pool().await, None, None)
            .create(MemberUniqueNickname::new(7, "g@example.com".into(), "red".into(), 7, Some("eve".into())), None)
            .await;
        assert!(duplicate.is_err(), "the unique index let a duplicate nickname in");
    }
}
