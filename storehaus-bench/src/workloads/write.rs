//! Inserting a batch of users, each contender's way; shared by `insert` and `bulk_insert`.
//!
//! Every contender but COPY gets the inserted rows back, system columns included, as StoreHaus's
//! `create_many` does. A batch that needs more than one statement runs in a transaction, as
//! `create_many` does, so every contender is all-or-nothing.

use crate::Result;
use crate::schema::{User, UserRow, sea};
use crate::setup::Bench;
use crate::sql;
use sea_orm::{EntityTrait, TransactionTrait};
use sqlx::PgConnection;
use std::collections::HashMap;
use std::sync::Arc;
use tokio_postgres::Statement;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

/// Multi-row VALUES texts by row count, built before measuring, as an application would keep them
/// (shared, so handing one to sqlx copies nothing).
#[derive(Debug, Default)]
pub struct ValuesSql(HashMap<usize, Arc<str>>);

impl ValuesSql {
    /// The texts for every chunk length a batch of `rows` splits into.
    pub fn for_batches(rows: impl IntoIterator<Item = usize>) -> Self {
        let mut texts = HashMap::new();
        for n in rows {
            for len in [n.min(sql::VALUES_CHUNK), n % sql::VALUES_CHUNK].into_iter().filter(|&len| len > 0) {
                texts.entry(len).or_insert_with(|| sql::insert_users_values(len).into());
            }
        }
        ValuesSql(texts)
    }

    /// The text for `rows` rows; built from numbered placeholders only.
    fn get(&self, rows: usize) -> sqlx::AssertSqlSafe<Arc<str>> {
        sqlx::AssertSqlSafe(Arc::clone(&self.0[&rows]))
    }
}

pub async fn storehaus(b: &Bench, users: Vec<User>) -> Result<usize> {
    Ok(b.users.create_many(users, None).await?.len())
}

/// sqlx, multi-row VALUES with RETURNING, at most [`sql::VALUES_CHUNK`] rows a statement.
pub async fn sqlx_values(b: &Bench, texts: &ValuesSql, users: &[User]) -> Result<usize> {
    async fn chunk(conn: &mut PgConnection, texts: &ValuesSql, users: &[User]) -> Result<usize> {
        let mut query = sqlx::query_as::<_, UserRow>(texts.get(users.len()));
        for u in users {
            query = query.bind(u.id).bind(&u.name).bind(&u.hair_color);
        }
        Ok(query.fetch_all(conn).await?.len())
    }
    if users.len() <= sql::VALUES_CHUNK {
        return chunk(&mut *b.sqlx.acquire().await?, texts, users).await;
    }
    let mut tx = b.sqlx.begin().await?;
    let mut n = 0;
    for users in users.chunks(sql::VALUES_CHUNK) {
        n += chunk(&mut tx, texts, users).await?;
    }
    tx.commit().await?;
    Ok(n)
}

/// sqlx sending StoreHaus's own `create_many` statement, chunked as StoreHaus chunks.
pub async fn sqlx_unnest(b: &Bench, users: &[User]) -> Result<usize> {
    async fn chunk(conn: &mut PgConnection, users: &[User]) -> Result<usize> {
        let ids: Vec<i32> = users.iter().map(|u| u.id).collect();
        let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
        let hairs: Vec<Option<&str>> = users.iter().map(|u| u.hair_color.as_deref()).collect();
        let rows = sqlx::query_as::<_, UserRow>(sql::INSERT_USERS_UNNEST)
            .bind(Vec::<String>::new())
            .bind(ids)
            .bind(names)
            .bind(hairs)
            .fetch_all(conn)
            .await?;
        Ok(rows.len())
    }
    if users.len() <= sql::UNNEST_CHUNK {
        return chunk(&mut *b.sqlx.acquire().await?, users).await;
    }
    let mut tx = b.sqlx.begin().await?;
    let mut n = 0;
    for users in users.chunks(sql::UNNEST_CHUNK) {
        n += chunk(&mut tx, users).await?;
    }
    tx.commit().await?;
    Ok(n)
}

/// tokio-postgres, multi-row VALUES with RETURNING, the statement prepared once per row count.
pub async fn pg_values(b: &Bench, statements: &HashMap<usize, Statement>, users: &[User]) -> Result<usize> {
    let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(users.len() * 3);
    for u in users {
        params.extend([&u.id as &(dyn ToSql + Sync), &u.name, &u.hair_color]);
    }
    let rows = b.pg.query(&statements[&users.len()], &params).await?;
    Ok(rows.iter().map(UserRow::from_pg).collect::<Result<Vec<_>, _>>()?.len())
}

/// Prepares [`pg_values`]'s statement for each of `sizes`.
pub async fn prepare_pg_values(b: &Bench, sizes: &[usize]) -> Result<HashMap<usize, Statement>> {
    let mut statements = HashMap::new();
    for &n in sizes {
        statements.insert(n, b.pg.prepare(&sql::insert_users_values(n)).await?);
    }
    Ok(statements)
}

/// Binary COPY through tokio-postgres: the floor for loading rows (it returns none).
pub async fn copy_binary(b: &Bench, users: &[User]) -> Result<usize> {
    let sink = b.pg.copy_in(sql::COPY_USERS).await?;
    let writer = BinaryCopyInWriter::new(sink, &[Type::INT4, Type::TEXT, Type::TEXT]);
    let mut writer = std::pin::pin!(writer);
    for u in users {
        writer.as_mut().write(&[&u.id, &u.name, &u.hair_color]).await?;
    }
    Ok(usize::try_from(writer.finish().await?)?)
}

/// SeaORM's ActiveModels for `users`, built before measuring as the StoreHaus models are.
pub fn sea_models(users: &[User]) -> Vec<sea::user::ActiveModel> {
    use sea_orm::ActiveValue::Set;
    users
        .iter()
        .map(|u| sea::user::ActiveModel {
            id: Set(u.id),
            name: Set(u.name.clone()),
            hair_color: Set(u.hair_color.clone()),
            ..Default::default()
        })
        .collect()
}

/// SeaORM `insert_many(..).exec_with_returning(..)`, at most [`sql::VALUES_CHUNK`] rows a
/// statement.
pub async fn sea_orm(b: &Bench, models: Vec<sea::user::ActiveModel>) -> Result<usize> {
    if models.len() <= sql::VALUES_CHUNK {
        return Ok(sea::user::Entity::insert_many(models).exec_with_returning(&b.sea).await?.len());
    }
    let txn = b.sea.begin().await?;
    let mut n = 0;
    let mut models = models.into_iter();
    loop {
        let chunk: Vec<_> = models.by_ref().take(sql::VALUES_CHUNK).collect();
        if chunk.is_empty() {
            break;
        }
        n += sea::user::Entity::insert_many(chunk).exec_with_returning(&txn).await?.len();
    }
    txn.commit().await?;
    Ok(n)
}
