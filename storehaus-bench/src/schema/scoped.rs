//! The `auth` twin of `bench_users`: the same columns and rows, plus `__auth__`, for the scoped
//! lookup.

use super::{USERS, UserRow, analyze};
use crate::Result;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgPool, Row};
use storehaus::prelude::*;

pub const SCOPED_USERS: &str = "bench_scoped_users";

/// The principal every seeded row lists, the one the scoped store and the raw contenders use.
pub const PRINCIPAL: &str = "user_1";

#[model]
#[table(name = "bench_scoped_users", auth)]
pub struct ScopedUser {
    #[primary_key]
    pub id: i32,
    pub name: String,
    pub hair_color: Option<String>,
}

/// A `bench_scoped_users` row as StoreHaus reads it: a user's columns, then `__auth__`.
#[derive(Debug, Clone)]
#[expect(dead_code, reason = "decoded as a result; what is read of it does not matter")]
pub struct ScopedRow {
    pub user: UserRow,
    pub principals: Vec<String>,
}

impl<'r> FromRow<'r, PgRow> for ScopedRow {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        Ok(ScopedRow { user: UserRow::from_row(row)?, principals: row.try_get(6)? })
    }
}

impl ScopedRow {
    pub fn from_pg(row: &tokio_postgres::Row) -> std::result::Result<Self, tokio_postgres::Error> {
        Ok(ScopedRow { user: UserRow::from_pg(row)?, principals: row.try_get(6)? })
    }
}

/// Copies `bench_users` (seeded first) into the scoped table, each row shared by [`PRINCIPAL`]
/// and a principal of its own, as a row shared with one colleague would be; then ANALYZE.
pub async fn seed_from_users(pool: &PgPool) -> Result<()> {
    super::truncate(pool, &[SCOPED_USERS]).await?;
    let sql = format!(
        "INSERT INTO \"{SCOPED_USERS}\" (\"id\", \"name\", \"hair_color\", \"__auth__\") \
         SELECT \"id\", \"name\", \"hair_color\", ARRAY['{PRINCIPAL}', 'user_' || (\"id\" + 1000000)] FROM \"{USERS}\""
    );
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await?;
    analyze(pool, SCOPED_USERS).await
}
