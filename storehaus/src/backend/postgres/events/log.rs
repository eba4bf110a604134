//! Creating the event-log table and its doorbell trigger.

use super::{CHANNEL, EVENT_LOG};
use crate::backend::postgres::store::PgExec;
use crate::backend::postgres::values::bind;
use crate::error::StoreError;
use crate::types::{ColumnType, ScalarType, Value};
use sqlx::postgres::PgArguments;
use sqlx::{Connection, PgPool};

/// `xid` is the writing transaction's id: readers only take events of transactions older than
/// every transaction still running, so an event that commits late is never skipped.
fn statements() -> Vec<String> {
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS \"{EVENT_LOG}\" (
                \"id\" BIGSERIAL PRIMARY KEY,
                \"xid\" BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
                \"event_type\" TEXT NOT NULL,
                \"table_name\" TEXT NOT NULL,
                \"record_id\" TEXT NOT NULL,
                \"tags\" TEXT[] NOT NULL DEFAULT '{{}}',
                \"payload\" JSONB NOT NULL,
                \"created_at\" TIMESTAMPTZ NOT NULL DEFAULT now()
            )"
        ),
        format!("CREATE INDEX IF NOT EXISTS \"{EVENT_LOG}_xid_id_idx\" ON \"{EVENT_LOG}\" (\"xid\", \"id\")"),
        format!("CREATE INDEX IF NOT EXISTS \"{EVENT_LOG}_created_at_idx\" ON \"{EVENT_LOG}\" (\"created_at\")"),
        format!(
            "CREATE OR REPLACE FUNCTION \"{EVENT_LOG}_ring\"() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$"
        ),
        format!("DROP TRIGGER IF EXISTS \"{EVENT_LOG}_ring\" ON \"{EVENT_LOG}\""),
        format!(
            "CREATE TRIGGER \"{EVENT_LOG}_ring\" AFTER INSERT ON \"{EVENT_LOG}\"
             FOR EACH STATEMENT EXECUTE FUNCTION \"{EVENT_LOG}_ring\"()"
        ),
    ]
}

/// Creates the event log if it is missing, serialized across processes like migrations.
pub(crate) async fn ensure_event_log(pool: &PgPool) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await?;
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(format!("\"{EVENT_LOG}\""))
        .fetch_one(&mut *conn)
        .await?;
    if exists {
        return Ok(());
    }
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('storehaus:event-log'))").execute(&mut *tx).await?;
    for sql in statements() {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Appends an application event on `channel` to the log, on `exec` (a transaction, typically).
pub(crate) async fn publish(exec: PgExec<'_>, channel: &str, payload: serde_json::Value) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO \"{EVENT_LOG}\" (\"event_type\", \"table_name\", \"record_id\", \"payload\") \
         VALUES ('channel', $1, '', $2) RETURNING \"id\""
    );
    let mut args = PgArguments::default();
    bind(&mut args, Value::Text(channel.to_owned()), ColumnType::Scalar(ScalarType::Text))?;
    bind(&mut args, Value::Json(payload), ColumnType::Scalar(ScalarType::Json))?;
    exec.fetch_one(&sql, args).await?;
    Ok(())
}
