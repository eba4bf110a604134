//! [`PgMembership`]: one process's hold on a consumer's partitions, on a connection of its own.

use super::{LOCK_KEY, dead_letter_from_row, member_key, partition_key};
use crate::backend::sql::consumers::{CONSUMER_ID, REPLAYED, REPLAYS};
use crate::signals::durable::{Claim, DeadLetter, Membership, Missed};
use crate::signals::{BoxFuture, SourceError};
use sqlx::{Connection, PgConnection, PgPool};

/// Members hold the member lock shared; partitions are held exclusively.
const JOIN: &str = "SELECT pg_advisory_lock_shared($1, $2)";
const CLAIM: &str = "SELECT pg_try_advisory_lock($1, $2)";
const RELEASE: &str = "SELECT pg_advisory_unlock($1, $2)";

const MEMBERS: &str = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
     AND classid = $1::int4::oid AND objid = $2::int4::oid AND objsubid = 2 \
     AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";

const POSITION: &str = "SELECT \"position\", \"missed_after\", \"missed_through\" FROM \"storehaus_consumer_positions\" \
     WHERE \"consumer_id\" = $1 AND \"partition\" = $2";

const ADVANCE: &str = "UPDATE \"storehaus_consumer_positions\" SET \"position\" = $3, \"updated_at\" = now() \
     WHERE \"consumer_id\" = $1 AND \"partition\" = $2 AND \"position\" < $3";

const CLEAR_MISSED: &str = "UPDATE \"storehaus_consumer_positions\" SET \"missed_after\" = NULL, \
     \"missed_through\" = NULL WHERE \"consumer_id\" = $1 AND \"partition\" = $2";

const DEAD_LETTER: &str = "INSERT INTO \"storehaus_dead_events\" \
     (\"consumer_id\", \"event_id\", \"partition\", \"event\", \"error\", \"attempts\") VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (\"consumer_id\", \"event_id\") DO UPDATE SET \"error\" = EXCLUDED.\"error\", \
     \"attempts\" = EXCLUDED.\"attempts\", \"failed_at\" = now(), \"replay_requested\" = false";

const REPLAY_FAILED: &str = "UPDATE \"storehaus_dead_events\" SET \"error\" = $3, \"attempts\" = $4, \
     \"failed_at\" = now(), \"replay_requested\" = false WHERE \"consumer_id\" = $1 AND \"event_id\" = $2";

/// A member of one consumer: a dedicated connection holding the member lock and the partition
/// locks; every write about a held partition runs on it.
#[derive(Debug)]
pub(crate) struct PgMembership {
    connection: PgConnection,
    consumer_id: i32,
}

impl PgMembership {
    pub(crate) async fn join(pool: &PgPool, consumer: &str) -> Result<Self, SourceError> {
        let mut connection = PgConnection::connect_with(&pool.connect_options()).await?;
        let consumer_id: Option<i32> =
            sqlx::query_scalar(CONSUMER_ID).bind(consumer).fetch_optional(&mut connection).await?;
        let consumer_id = consumer_id.ok_or_else(|| format!("durable consumer {consumer:?} is not registered"))?;
        sqlx::query(JOIN).bind(LOCK_KEY).bind(member_key(consumer_id)).execute(&mut connection).await?;
        Ok(PgMembership { connection, consumer_id })
    }

    fn key(&self, partition: u32) -> i32 {
        partition_key(self.consumer_id, partition)
    }
}

impl Membership for PgMembership {
    fn members(&mut self) -> BoxFuture<'_, Result<u32, SourceError>> {
        Box::pin(async move {
            let count: i64 = sqlx::query_scalar(MEMBERS)
                .bind(LOCK_KEY)
                .bind(member_key(self.consumer_id))
                .fetch_one(&mut self.connection)
                .await?;
            Ok(u32::try_from(count)?)
        })
    }

    fn claim(&mut self, partition: u32) -> BoxFuture<'_, Result<Option<Claim>, SourceError>> {
        Box::pin(async move {
            let key = self.key(partition);
            let taken: bool =
                sqlx::query_scalar(CLAIM).bind(LOCK_KEY).bind(key).fetch_one(&mut self.connection).await?;
            if !taken {
                return Ok(None);
            }
            let (position, after, through): (i64, Option<i64>, Option<i64>) = sqlx::query_as(POSITION)
                .bind(self.consumer_id)
                .bind(i32::try_from(partition)?)
                .fetch_one(&mut self.connection)
                .await?;
            let missed = after.zip(through).map(|(after, through)| Missed { after, through });
            Ok(Some(Claim::new(partition, position, missed)))
        })
    }

    fn release(&mut self, partition: u32) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async move {
            let key = self.key(partition);
            sqlx::query(RELEASE).bind(LOCK_KEY).bind(key).execute(&mut self.connection).await?;
            Ok(())
        })
    }

    fn advance(&mut self, partition: u32, position: i64) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async move {
            sqlx::query(ADVANCE)
                .bind(self.consumer_id)
                .bind(i32::try_from(partition)?)
                .bind(position)
                .execute(&mut self.connection)
                .await?;
            Ok(())
        })
    }

    fn dead_letter<'a>(&'a mut self, partition: u32, letter: &'a DeadLetter) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            let partition = i32::try_from(partition)?;
            let mut tx = self.connection.begin().await?;
            sqlx::query(DEAD_LETTER)
                .bind(self.consumer_id)
                .bind(letter.event.id)
                .bind(partition)
                .bind(serde_json::to_value(&letter.event)?)
                .bind(&letter.error)
                .bind(i32::try_from(letter.attempts).unwrap_or(i32::MAX))
                .execute(&mut *tx)
                .await?;
            sqlx::query(ADVANCE).bind(self.consumer_id).bind(partition).bind(letter.event.id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn replays(&mut self, partition: u32) -> BoxFuture<'_, Result<Vec<DeadLetter>, SourceError>> {
        Box::pin(async move {
            let rows = sqlx::query(REPLAYS)
                .bind(self.consumer_id)
                .bind(i32::try_from(partition)?)
                .fetch_all(&mut self.connection)
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
                None => {
                    sqlx::query(REPLAYED).bind(self.consumer_id).bind(event_id).execute(&mut self.connection).await?
                }
                Some((error, attempts)) => {
                    sqlx::query(REPLAY_FAILED)
                        .bind(self.consumer_id)
                        .bind(event_id)
                        .bind(error)
                        .bind(i32::try_from(attempts).unwrap_or(i32::MAX))
                        .execute(&mut self.connection)
                        .await?
                }
            };
            Ok(())
        })
    }

    /// Unlocks everything this connection holds; closing the connection would do the same.
    fn leave(&mut self) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async move {
            sqlx::query("SELECT pg_advisory_unlock_all()").execute(&mut self.connection).await?;
            Ok(())
        })
    }

    fn clear_missed(&mut self, partition: u32) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async move {
            sqlx::query(CLEAR_MISSED)
                .bind(self.consumer_id)
                .bind(i32::try_from(partition)?)
                .execute(&mut self.connection)
                .await?;
            Ok(())
        })
    }
}
