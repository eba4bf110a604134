//! [`SqliteMembership`]: one process's hold on a consumer's partitions, by leases in the
//! database that it renews every second.

use super::consumers::dead_letter_from_row;
use super::{LEASE_MS, now_ms};
use crate::backend::sql::consumers::{CONSUMER_ID, REPLAYED, REPLAYS};
use crate::signals::durable::{Claim, DeadLetter, Membership, Missed};
use crate::signals::{BoxFuture, SourceError};
use sqlx::SqlitePool;

/// Joins or renews: `$1` consumer, `$2` member, `$3` lease in ms.
const RENEW_MEMBER: &str = concat!(
    "INSERT INTO \"storehaus_consumer_members\" (\"consumer_id\", \"member\", \"seen_until\") VALUES ($1, $2, ",
    now_ms!(),
    " + $3) ON CONFLICT DO UPDATE SET \"seen_until\" = excluded.\"seen_until\""
);

const RENEW_LEASES: &str = concat!(
    "UPDATE \"storehaus_consumer_positions\" SET \"held_until\" = ",
    now_ms!(),
    " + $3 WHERE \"consumer_id\" = $1 AND \"holder\" = $2"
);

const FORGET_GONE_MEMBERS: &str =
    concat!("DELETE FROM \"storehaus_consumer_members\" WHERE \"consumer_id\" = $1 AND \"seen_until\" < ", now_ms!());

const MEMBERS: &str = "SELECT count(*) FROM \"storehaus_consumer_members\" WHERE \"consumer_id\" = $1";

/// Takes a partition that is free, whose lease ran out, or that is already ours.
const CLAIM: &str = concat!(
    "UPDATE \"storehaus_consumer_positions\" SET \"holder\" = $3, \"held_until\" = ",
    now_ms!(),
    " + $4 WHERE \"consumer_id\" = $1 AND \"partition\" = $2 AND (\"holder\" IS NULL OR \"holder\" = $3 OR \"held_until\" < ",
    now_ms!(),
    ") RETURNING \"position\", \"missed_after\", \"missed_through\""
);

const RELEASE: &str = "UPDATE \"storehaus_consumer_positions\" SET \"holder\" = NULL, \"held_until\" = NULL \
     WHERE \"consumer_id\" = $1 AND \"partition\" = $2 AND \"holder\" = $3";

const RELEASE_ALL: &str = "UPDATE \"storehaus_consumer_positions\" SET \"holder\" = NULL, \"held_until\" = NULL \
     WHERE \"consumer_id\" = $1 AND \"holder\" = $2";

const LEAVE: &str = "DELETE FROM \"storehaus_consumer_members\" WHERE \"consumer_id\" = $1 AND \"member\" = $2";

/// Moves a held partition forward; no row when another member holds it now.
const ADVANCE: &str = "UPDATE \"storehaus_consumer_positions\" SET \"position\" = max(\"position\", $3) \
     WHERE \"consumer_id\" = $1 AND \"partition\" = $2 AND \"holder\" = $4";

const CLEAR_MISSED: &str = "UPDATE \"storehaus_consumer_positions\" SET \"missed_after\" = NULL, \
     \"missed_through\" = NULL WHERE \"consumer_id\" = $1 AND \"partition\" = $2 AND \"holder\" = $3";

const DEAD_LETTER: &str = concat!(
    "INSERT INTO \"storehaus_dead_events\" (\"consumer_id\", \"event_id\", \"partition\", \"event\", \"error\", ",
    "\"attempts\", \"failed_at\") VALUES ($1, $2, $3, $4, $5, $6, ",
    now_ms!(),
    ") ON CONFLICT DO UPDATE SET \"error\" = excluded.\"error\", \"attempts\" = excluded.\"attempts\", ",
    "\"failed_at\" = excluded.\"failed_at\", \"replay_requested\" = 0"
);

const REPLAY_FAILED: &str = concat!(
    "UPDATE \"storehaus_dead_events\" SET \"error\" = $3, \"attempts\" = $4, \"replay_requested\" = 0, \"failed_at\" = ",
    now_ms!(),
    " WHERE \"consumer_id\" = $1 AND \"event_id\" = $2"
);

/// A member of one consumer, named by a random id.
#[derive(Debug)]
pub(crate) struct SqliteMembership {
    pool: SqlitePool,
    consumer_id: i64,
    member: String,
}

/// The error of a write about a partition this member no longer holds.
fn lost(partition: u32) -> SourceError {
    format!("partition {partition} is held by another member now (the lease ran out)").into()
}

impl SqliteMembership {
    pub(crate) async fn join(pool: SqlitePool, consumer: &str) -> Result<Self, SourceError> {
        let consumer_id: Option<i64> = sqlx::query_scalar(CONSUMER_ID).bind(consumer).fetch_optional(&pool).await?;
        let consumer_id = consumer_id.ok_or_else(|| format!("durable consumer {consumer:?} is not registered"))?;
        let member = uuid::Uuid::new_v4().to_string();
        sqlx::query(RENEW_MEMBER).bind(consumer_id).bind(&member).bind(LEASE_MS).execute(&pool).await?;
        Ok(SqliteMembership { pool, consumer_id, member })
    }

    fn partition(partition: u32) -> i64 {
        i64::from(partition)
    }
}

impl Membership for SqliteMembership {
    /// Renews this member and its leases first: the coordinator asks every second.
    fn members(&mut self) -> BoxFuture<'_, Result<u32, SourceError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            sqlx::query(RENEW_MEMBER)
                .bind(self.consumer_id)
                .bind(&self.member)
                .bind(LEASE_MS)
                .execute(&mut *tx)
                .await?;
            sqlx::query(RENEW_LEASES)
                .bind(self.consumer_id)
                .bind(&self.member)
                .bind(LEASE_MS)
                .execute(&mut *tx)
                .await?;
            sqlx::query(FORGET_GONE_MEMBERS).bind(self.consumer_id).execute(&mut *tx).await?;
            let count: i64 = sqlx::query_scalar(MEMBERS).bind(self.consumer_id).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(u32::try_from(count)?)
        })
    }

    fn claim(&mut self, partition: u32) -> BoxFuture<'_, Result<Option<Claim>, SourceError>> {
        Box::pin(async move {
            let row: Option<(i64, Option<i64>, Option<i64>)> = sqlx::query_as(CLAIM)
                .bind(self.consumer_id)
                .bind(Self::partition(partition))
                .bind(&self.member)
                .bind(LEASE_MS)
                .fetch_optional(&self.pool)
                .await?;
            Ok(row.map(|(position, after, through)| {
                let missed = after.zip(through).map(|(after, through)| Missed { after, through });
                Claim::new(partition, position, missed)
            }))
        })
    }

    fn release(&mut self, partition: u32) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async move {
            sqlx::query(RELEASE)
                .bind(self.consumer_id)
                .bind(Self::partition(partition))
                .bind(&self.member)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }

    fn advance(&mut self, partition: u32, position: i64) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async move {
            let done = sqlx::query(ADVANCE)
                .bind(self.consumer_id)
                .bind(Self::partition(partition))
                .bind(position)
                .bind(&self.member)
                .execute(&self.pool)
                .await?;
            if done.rows_affected() == 0 {
                return Err(lost(partition));
            }
            Ok(())
        })
    }

    fn dead_letter<'a>(&'a mut self, partition: u32, letter: &'a DeadLetter) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            let moved = sqlx::query(ADVANCE)
                .bind(self.consumer_id)
                .bind(Self::partition(partition))
                .bind(letter.event.id)
                .bind(&self.member)
                .execute(&mut *tx)
                .await?;
            if moved.rows_affected() == 0 {
                return Err(lost(partition));
            }
            sqlx::query(DEAD_LETTER)
                .bind(self.consumer_id)
                .bind(letter.event.id)
                .bind(Self::partition(partition))
                .bind(serde_json::to_string(&letter.event)?)
                .bind(&letter.error)
                .bind(i64::from(letter.attempts))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn replays(&mut self, partition: u32) -> BoxFuture<'_, Result<Vec<DeadLetter>, SourceError>> {
        Box::pin(async move {
            let rows = sqlx::query(REPLAYS)
                .bind(self.consumer_id)
                .bind(Self::partition(partition))
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(dead_letter_from_row).collect()
        })
    }

    fn settle_replay<'a>(
        &'a mut self,
        event_id: i64,
        failure: Option<(&'a str, u32)>,
    ) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            match failure {
                None => sqlx::query(REPLAYED).bind(self.consumer_id).bind(event_id).execute(&self.pool).await?,
                Some((error, attempts)) => {
                    sqlx::query(REPLAY_FAILED)
                        .bind(self.consumer_id)
                        .bind(event_id)
                        .bind(error)
                        .bind(i64::from(attempts))
                        .execute(&self.pool)
                        .await?
                }
            };
            Ok(())
        })
    }

    fn clear_missed(&mut self, partition: u32) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async move {
            sqlx::query(CLEAR_MISSED)
                .bind(self.consumer_id)
                .bind(Self::partition(partition))
                .bind(&self.member)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }

    fn leave(&mut self) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            sqlx::query(RELEASE_ALL).bind(self.consumer_id).bind(&self.member).execute(&mut *tx).await?;
            sqlx::query(LEAVE).bind(self.consumer_id).bind(&self.member).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }
}
