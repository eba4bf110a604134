//! The data store's operations, written once over [`DataDialect`].

use super::{DataDialect, DataEvent, DataTable, FullEntry, Fut, Scope, Stored};
use crate::backend::executor::{Db, Executor};
use crate::backend::sql::{BIGINT, JSON, SqlText, TEXT, record_columns};
use crate::backend::{Backend, Events};
use crate::data::{DataEntry, Expiry, ImportReport};
use crate::error::StoreError;
use crate::model::Model;
use crate::signals::EventType;
use crate::types::{SqlType, Value};
use chrono::{DateTime, Utc};
use serde_json::Value as Json;
use std::fmt;
use std::time::Duration;

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The longest pause between two cleanup batches on a database of one writer.
const CLEANUP_PAUSE: Duration = Duration::from_millis(20);

/// Entries per statement of `set_many` and `import`.
const CHUNK: usize = 1000;

/// The data store's table on backend `B`, with its write statements built for `emit`.
pub(crate) struct BackendData<B: DataDialect> {
    db: Db<B>,
    emit: bool,
    writes: Writes,
}

/// The write statements, as built for recording events or not.
struct Writes {
    set: SqlText,
    set_many: SqlText,
    delete: SqlText,
    delete_many: SqlText,
    clear: SqlText,
    touch: SqlText,
    increment: SqlText,
    list_push: SqlText,
    list_write: SqlText,
    list_clear: SqlText,
    import_overwrite: SqlText,
    import_keep: SqlText,
    cleanup: SqlText,
}

impl Writes {
    fn new<B: DataDialect>(emit: bool) -> Self {
        let texts = &B::DATA;
        let record =
            record_columns(DataEntry::TABLE).map(crate::backend::sql::quote_ident).collect::<Vec<_>>().join(", ");
        let build = |text: &str, kind: DataEvent| {
            let returning = if emit { record.as_str() } else { texts.min_returning };
            let text = text.replace("{returning}", returning);
            if emit { B::with_data_events(&text, kind) } else { SqlText::assembled(text).shared() }
        };
        Writes {
            set: build(texts.set, DataEvent::Upsert),
            set_many: build(texts.set_many, DataEvent::Upsert),
            delete: build(texts.delete, DataEvent::Delete),
            delete_many: build(texts.delete_many, DataEvent::Delete),
            clear: build(texts.clear, DataEvent::Delete),
            touch: build(texts.touch, DataEvent::Update),
            increment: build(texts.increment, DataEvent::Upsert),
            list_push: build(texts.list_push, DataEvent::Upsert),
            list_write: build(texts.list_write, DataEvent::Update),
            list_clear: build(texts.list_clear, DataEvent::Update),
            import_overwrite: build(texts.import_overwrite, DataEvent::Upsert),
            import_keep: build(texts.import_keep, DataEvent::Upsert),
            cleanup: build(texts.cleanup, DataEvent::Delete),
        }
    }
}

impl<B: DataDialect> BackendData<B> {
    pub(crate) fn new(db: Db<B>, emit: bool) -> Self {
        BackendData { db, emit, writes: Writes::new::<B>(emit) }
    }

    fn pool(&self) -> Executor<'_, B> {
        Executor::Pool(&self.db)
    }

    /// Runs a write; where this process records events, logs one per returned row.
    async fn write(&self, exec: Executor<'_, B>, sql: &SqlText, args: Args<B>, kind: DataEvent) -> Result<Vec<B::Row>> {
        let rows = exec.fetch_all(sql.clone(), args.0).await?;
        if self.emit && B::EVENTS == Events::InProcess && !rows.is_empty() {
            let mut events = Vec::with_capacity(rows.len());
            for row in &rows {
                let kind = event_type::<B>(kind, row)?;
                events.extend(B::row_events(DataEntry::TABLE, kind, std::slice::from_ref(row))?);
            }
            exec.emit(events).await?;
        }
        Ok(rows)
    }

    async fn set(&self, scope: &Scope, key: &str, value: &Json, ttl: Option<Duration>) -> Result<()> {
        let exec = self.pool();
        let now = exec.now();
        check_ttl(now, ttl)?;
        let args = Args::<B>::key(now, scope, key)?.json(value.clone())?.ttl(now, ttl)?;
        self.write(exec, &self.writes.set, args, DataEvent::Upsert).await?;
        Ok(())
    }

    async fn set_many(&self, scope: &Scope, entries: Vec<(String, Json)>, ttl: Option<Duration>) -> Result<u64> {
        check_ttl(self.pool().now(), ttl)?;
        // The chunks' parameters, each a JSON array of `[key, value]` pairs.
        let mut chunks = Vec::with_capacity(entries.len().div_ceil(CHUNK));
        let mut entries = entries.into_iter().peekable();
        while entries.peek().is_some() {
            let pairs = entries.by_ref().take(CHUNK).map(|(k, v)| Json::Array(vec![Json::String(k), v]));
            chunks.push(Json::Array(pairs.collect()));
        }
        self.pool()
            .atomically(async |exec| {
                let now = exec.now();
                let mut written = 0;
                for chunk in chunks {
                    let args = Args::<B>::scope(now, scope)?.json(chunk)?.ttl(now, ttl)?;
                    written += self.write(exec, &self.writes.set_many, args, DataEvent::Upsert).await?.len() as u64;
                }
                Ok(written)
            })
            .await
    }

    async fn get(&self, scope: &Scope, key: &str) -> Result<Option<Stored>> {
        let exec = self.pool();
        let args = Args::<B>::key(exec.now(), scope, key)?;
        let row = exec.fetch_optional(SqlText::fixed(B::DATA.get), args.0).await?;
        row.map(|row| {
            Ok(Stored { value: read::<B, Json>(&row, 0, "value")?, expires_at: read::<B, _>(&row, 1, "expires_at")? })
        })
        .transpose()
    }

    async fn has(&self, scope: &Scope, key: &str) -> Result<bool> {
        let exec = self.pool();
        let args = Args::<B>::key(exec.now(), scope, key)?;
        Ok(exec.fetch_optional(SqlText::fixed(B::DATA.has), args.0).await?.is_some())
    }

    async fn get_many(&self, scope: &Scope, keys: &[String]) -> Result<Vec<(String, Json)>> {
        let exec = self.pool();
        let args = Args::<B>::scope(exec.now(), scope)?.json(keys_json(keys))?;
        let rows = exec.fetch_all(SqlText::fixed(B::DATA.get_many), args.0).await?;
        rows.iter().map(|row| Ok((read::<B, String>(row, 0, "key")?, read::<B, Json>(row, 1, "value")?))).collect()
    }

    async fn delete(&self, scope: &Scope, key: &str) -> Result<bool> {
        let exec = self.pool();
        let args = Args::<B>::key(exec.now(), scope, key)?;
        Ok(!self.write(exec, &self.writes.delete, args, DataEvent::Delete).await?.is_empty())
    }

    async fn delete_many(&self, scope: &Scope, keys: &[String]) -> Result<u64> {
        let exec = self.pool();
        let args = Args::<B>::scope(exec.now(), scope)?.json(keys_json(keys))?;
        Ok(self.write(exec, &self.writes.delete_many, args, DataEvent::Delete).await?.len() as u64)
    }

    async fn clear(&self, scope: &Scope) -> Result<u64> {
        let exec = self.pool();
        let args = Args::<B>::scope(exec.now(), scope)?;
        Ok(self.write(exec, &self.writes.clear, args, DataEvent::Delete).await?.len() as u64)
    }

    async fn entries(&self, scope: &Scope, prefix: Option<&str>, values: bool) -> Result<Vec<(String, Json)>> {
        let exec = self.pool();
        let texts = &B::DATA;
        let mut args = Args::<B>::scope(exec.now(), scope)?;
        let sql = match (prefix, values) {
            (None, true) => texts.entries,
            (None, false) => texts.keys,
            (Some(prefix), values) => {
                args = args.text(prefix)?;
                if values { texts.entries_prefix } else { texts.keys_prefix }
            }
        };
        let rows = exec.fetch_all(SqlText::fixed(sql), args.0).await?;
        rows.iter()
            .map(|row| {
                let value = if values { read::<B, Json>(row, 1, "value")? } else { Json::Null };
                Ok((read::<B, String>(row, 0, "key")?, value))
            })
            .collect()
    }

    async fn touch(&self, scope: &Scope, key: &str, ttl: Option<Duration>) -> Result<bool> {
        let exec = self.pool();
        let now = exec.now();
        check_ttl(now, ttl)?;
        let args = Args::<B>::key(now, scope, key)?.ttl(now, ttl)?;
        Ok(!self.write(exec, &self.writes.touch, args, DataEvent::Update).await?.is_empty())
    }

    async fn ttl(&self, scope: &Scope, key: &str) -> Result<Option<Expiry>> {
        let exec = self.pool();
        let now = exec.now();
        let args = Args::<B>::key(now, scope, key)?;
        let Some(row) = exec.fetch_optional(SqlText::fixed(B::DATA.ttl), args.0).await? else { return Ok(None) };
        let expires_at: Option<DateTime<Utc>> = read::<B, _>(&row, 0, "expires_at")?;
        // PostgreSQL answers with its clock; SQLite's is the one bound.
        let db_now: Option<DateTime<Utc>> = read::<B, _>(&row, 1, "now")?;
        let now = db_now.unwrap_or(now);
        Ok(Some(match expires_at {
            None => Expiry::Never,
            Some(at) => Expiry::In((at - now).to_std().unwrap_or_default()),
        }))
    }

    async fn increment(&self, scope: &Scope, key: &str, by: i64) -> Result<i64> {
        let exec = self.pool();
        let args = Args::<B>::key(exec.now(), scope, key)?.bigint(by)?;
        let rows = self.write(exec, &self.writes.increment, args, DataEvent::Upsert).await?;
        match rows.first() {
            Some(row) => {
                let value: Json = read::<B, _>(row, 4, "value")?;
                value.as_i64().ok_or_else(|| StoreError::Decode {
                    column: "value".into(),
                    message: format!("the counter `{key}` holds {value}, not an integer"),
                })
            }
            // Nothing matched: the live value is not an integer, or the sum overflows.
            None => Err(match self.get(scope, key).await? {
                Some(Stored { value, .. }) if value.as_i64().is_some() => StoreError::validation(
                    "value",
                    format!("incrementing `{key}` ({value}) by {by} overflows a 64-bit integer"),
                ),
                Some(Stored { value, .. }) => StoreError::validation(
                    "value",
                    format!("`{key}` holds {}, not an integer; it cannot be incremented", json_kind(&value)),
                ),
                None => StoreError::validation("value", format!("`{key}` could not be incremented")),
            }),
        }
    }

    async fn list_push(&self, scope: &Scope, key: &str, item: &Json) -> Result<u64> {
        let exec = self.pool();
        let args = Args::<B>::key(exec.now(), scope, key)?.json(item.clone())?;
        let rows = self.write(exec, &self.writes.list_push, args, DataEvent::Upsert).await?;
        match rows.first() {
            Some(row) => {
                let value: Json = read::<B, _>(row, 4, "value")?;
                Ok(value.as_array().map_or(0, Vec::len) as u64)
            }
            None => Err(not_a_list(key, self.get(scope, key).await?)),
        }
    }

    /// Reads the list locked (PostgreSQL: `FOR UPDATE`; SQLite: the transaction's write lock),
    /// drops the equal elements and writes the rest, in one transaction.
    async fn list_remove(&self, scope: &Scope, key: &str, item: &Json) -> Result<u64> {
        self.pool()
            .atomically(async |exec| {
                let now = exec.now();
                let args = Args::<B>::key(now, scope, key)?;
                let Some(row) = exec.fetch_optional(SqlText::fixed(B::DATA.list_lock), args.0).await? else {
                    return Ok(0);
                };
                let value: Json = read::<B, _>(&row, 0, "value")?;
                let Json::Array(items) = value else {
                    return Err(not_a_list(key, Some(Stored { value, expires_at: None })));
                };
                let before = items.len();
                let kept: Vec<Json> = items.into_iter().filter(|element| !json_equal(element, item)).collect();
                let removed = (before - kept.len()) as u64;
                if removed > 0 {
                    let args = Args::<B>::key(now, scope, key)?.json(Json::Array(kept))?;
                    self.write(exec, &self.writes.list_write, args, DataEvent::Update).await?;
                }
                Ok(removed)
            })
            .await
    }

    async fn list_clear(&self, scope: &Scope, key: &str) -> Result<bool> {
        let exec = self.pool();
        let args = Args::<B>::key(exec.now(), scope, key)?;
        Ok(!self.write(exec, &self.writes.list_clear, args, DataEvent::Update).await?.is_empty())
    }

    async fn export_page(
        &self,
        scope: Option<&Scope>,
        after: Option<&(Scope, String)>,
        limit: usize,
    ) -> Result<Vec<FullEntry>> {
        let exec = self.pool();
        let now = exec.now();
        let texts = &B::DATA;
        let mut args = match scope {
            Some(scope) => Args::<B>::scope(now, scope)?,
            None => Args::<B>::clock(now)?,
        };
        if let Some((after_scope, after_key)) = after {
            args = args
                .text(&after_scope.owner_kind)?
                .text(&after_scope.owner_id)?
                .text(&after_scope.namespace)?
                .text(after_key)?;
        }
        args = args.bigint(i64::try_from(limit).unwrap_or(i64::MAX))?;
        let sql = match (scope.is_some(), after.is_some()) {
            (true, false) => texts.export_scope,
            (true, true) => texts.export_scope_after,
            (false, false) => texts.export_all,
            (false, true) => texts.export_all_after,
        };
        let rows = exec.fetch_all(SqlText::fixed(sql), args.0).await?;
        rows.iter()
            .map(|row| {
                Ok(FullEntry {
                    scope: Scope {
                        owner_kind: read::<B, _>(row, 0, "owner_kind")?,
                        owner_id: read::<B, _>(row, 1, "owner_id")?,
                        namespace: read::<B, _>(row, 2, "namespace")?,
                    },
                    key: read::<B, _>(row, 3, "key")?,
                    value: read::<B, _>(row, 4, "value")?,
                    expires_at: read::<B, _>(row, 5, "expires_at")?,
                })
            })
            .collect()
    }

    /// Chunks of entries, one statement each, in one transaction; `entries` name each
    /// (scope, key) once.
    async fn import(&self, entries: &[FullEntry], overwrite: bool) -> Result<ImportReport> {
        let sql = if overwrite { &self.writes.import_overwrite } else { &self.writes.import_keep };
        self.pool()
            .atomically(async |exec| {
                let mut report = ImportReport::default();
                for chunk in entries.chunks(CHUNK) {
                    let rows = chunk.iter().map(|entry| {
                        let expires_at = entry.expires_at.map_or(Json::Null, |at| Json::String(B::time_text(at)));
                        let scope = &entry.scope;
                        Json::Array(vec![
                            Json::String(scope.owner_kind.clone()),
                            Json::String(scope.owner_id.clone()),
                            Json::String(scope.namespace.clone()),
                            Json::String(entry.key.clone()),
                            entry.value.clone(),
                            expires_at,
                        ])
                    });
                    let args = Args::<B>::clock(exec.now())?.json(Json::Array(rows.collect()))?;
                    let written = self.write(exec, sql, args, DataEvent::Upsert).await?.len() as u64;
                    report.written += written;
                    report.skipped += chunk.len() as u64 - written;
                }
                Ok(report)
            })
            .await
    }

    /// Batch after batch, each its own statement (so its own short transaction), until one
    /// comes back short.
    async fn cleanup_expired(&self, batch: usize) -> Result<u64> {
        let limit = i64::try_from(batch).unwrap_or(i64::MAX);
        let mut removed = 0;
        loop {
            let started = std::time::Instant::now();
            let exec = self.pool();
            let args = Args::<B>::clock(exec.now())?.bigint(limit)?;
            let deleted = self.write(exec, &self.writes.cleanup, args, DataEvent::Delete).await?.len();
            removed += deleted as u64;
            if deleted < batch {
                return Ok(removed);
            }
            if B::ONE_WRITER {
                // As long as the batch held the lock, at most a few milliseconds.
                tokio::time::sleep(started.elapsed().min(CLEANUP_PAUSE)).await;
            }
        }
    }
}

/// The parameters of one statement, in the order the backends' texts take them.
struct Args<B: Backend>(B::Arguments);

impl<B: DataDialect> Args<B> {
    fn clock(now: DateTime<Utc>) -> Result<Self> {
        let mut args = B::Arguments::default();
        B::bind_clock(&mut args, now)?;
        Ok(Args(args))
    }

    fn scope(now: DateTime<Utc>, scope: &Scope) -> Result<Self> {
        Self::clock(now)?.text(&scope.owner_kind)?.text(&scope.owner_id)?.text(&scope.namespace)
    }

    fn key(now: DateTime<Utc>, scope: &Scope, key: &str) -> Result<Self> {
        Self::scope(now, scope)?.text(key)
    }

    fn bind(mut self, value: Value, ty: crate::types::ColumnType, field: &'static str) -> Result<Self> {
        B::bind(&mut self.0, value, ty).map_err(|e| crate::backend::sql::name_field(e, field))?;
        Ok(self)
    }

    fn text(self, text: &str) -> Result<Self> {
        self.bind(Value::Text(text.to_owned()), TEXT, "key")
    }

    fn json(self, json: Json) -> Result<Self> {
        self.bind(Value::Json(json), JSON, "value")
    }

    fn bigint(self, n: i64) -> Result<Self> {
        self.bind(Value::BigInt(n), BIGINT, "value")
    }

    fn ttl(mut self, now: DateTime<Utc>, ttl: Option<Duration>) -> Result<Self> {
        B::bind_ttl(&mut self.0, now, ttl)?;
        Ok(self)
    }
}

/// Refuses a TTL whose end the databases cannot store.
fn check_ttl(now: DateTime<Utc>, ttl: Option<Duration>) -> Result<()> {
    if let Some(ttl) = ttl {
        super::expires_at(now, ttl)?;
        super::ttl_micros(ttl)?;
    }
    Ok(())
}

/// Column `index` of `row`, named `column` in errors.
fn read<B: Backend, T: SqlType>(row: &B::Row, index: usize, column: &str) -> Result<T> {
    B::read::<T>(row, index).map_err(|message| StoreError::Decode { column: column.to_owned(), message })
}

/// The event type of one row a write of `kind` returned: an upsert inserted the row when its
/// created and updated times are the same write's clock.
fn event_type<B: Backend>(kind: DataEvent, row: &B::Row) -> Result<EventType> {
    Ok(match kind {
        DataEvent::Update => EventType::Update,
        DataEvent::Delete => EventType::Delete,
        DataEvent::Upsert => {
            let created: DateTime<Utc> = read::<B, _>(row, 6, "__created_at__")?;
            let updated: DateTime<Utc> = read::<B, _>(row, 7, "__updated_at__")?;
            if created == updated { EventType::Create } else { EventType::Update }
        }
    })
}

fn keys_json(keys: &[String]) -> Json {
    Json::Array(keys.iter().cloned().map(Json::String).collect())
}

fn not_a_list(key: &str, found: Option<Stored>) -> StoreError {
    let what = found.map_or_else(|| "nothing".to_owned(), |stored| json_kind(&stored.value).to_owned());
    StoreError::validation("value", format!("`{key}` holds {what}, not a list"))
}

/// What a JSON value is, for errors (never the value itself, which may be large).
fn json_kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

/// JSON equality as PostgreSQL's `jsonb` has it: numbers by value (`1` equals `1.0`), objects
/// whatever their key order.
pub(crate) fn json_equal(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
            (Some(x), Some(y), _, _) => x == y,
            (_, _, Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y)),
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

impl<B: DataDialect> fmt::Debug for BackendData<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataTable").field("backend", &B::NAME).field("emit", &self.emit).finish_non_exhaustive()
    }
}

impl<B: DataDialect> DataTable for BackendData<B> {
    fn set<'a>(&'a self, scope: &'a Scope, key: &'a str, value: &'a Json, ttl: Option<Duration>) -> Fut<'a, ()> {
        Box::pin(self.set(scope, key, value, ttl))
    }
    fn set_many<'a>(&'a self, scope: &'a Scope, entries: Vec<(String, Json)>, ttl: Option<Duration>) -> Fut<'a, u64> {
        Box::pin(self.set_many(scope, entries, ttl))
    }
    fn get<'a>(&'a self, scope: &'a Scope, key: &'a str) -> Fut<'a, Option<Stored>> {
        Box::pin(self.get(scope, key))
    }
    fn has<'a>(&'a self, scope: &'a Scope, key: &'a str) -> Fut<'a, bool> {
        Box::pin(self.has(scope, key))
    }
    fn get_many<'a>(&'a self, scope: &'a Scope, keys: &'a [String]) -> Fut<'a, Vec<(String, Json)>> {
        Box::pin(self.get_many(scope, keys))
    }
    fn delete<'a>(&'a self, scope: &'a Scope, key: &'a str) -> Fut<'a, bool> {
        Box::pin(self.delete(scope, key))
    }
    fn delete_many<'a>(&'a self, scope: &'a Scope, keys: &'a [String]) -> Fut<'a, u64> {
        Box::pin(self.delete_many(scope, keys))
    }
    fn clear<'a>(&'a self, scope: &'a Scope) -> Fut<'a, u64> {
        Box::pin(self.clear(scope))
    }
    fn entries<'a>(&'a self, scope: &'a Scope, prefix: Option<&'a str>, values: bool) -> Fut<'a, Vec<(String, Json)>> {
        Box::pin(self.entries(scope, prefix, values))
    }
    fn touch<'a>(&'a self, scope: &'a Scope, key: &'a str, ttl: Option<Duration>) -> Fut<'a, bool> {
        Box::pin(self.touch(scope, key, ttl))
    }
    fn ttl<'a>(&'a self, scope: &'a Scope, key: &'a str) -> Fut<'a, Option<Expiry>> {
        Box::pin(self.ttl(scope, key))
    }
    fn increment<'a>(&'a self, scope: &'a Scope, key: &'a str, by: i64) -> Fut<'a, i64> {
        Box::pin(self.increment(scope, key, by))
    }
    fn list_push<'a>(&'a self, scope: &'a Scope, key: &'a str, item: &'a Json) -> Fut<'a, u64> {
        Box::pin(self.list_push(scope, key, item))
    }
    fn list_remove<'a>(&'a self, scope: &'a Scope, key: &'a str, item: &'a Json) -> Fut<'a, u64> {
        Box::pin(self.list_remove(scope, key, item))
    }
    fn list_clear<'a>(&'a self, scope: &'a Scope, key: &'a str) -> Fut<'a, bool> {
        Box::pin(self.list_clear(scope, key))
    }
    fn export_page<'a>(
        &'a self,
        scope: Option<&'a Scope>,
        after: Option<&'a (Scope, String)>,
        limit: usize,
    ) -> Fut<'a, Vec<FullEntry>> {
        Box::pin(self.export_page(scope, after, limit))
    }
    fn import<'a>(&'a self, entries: &'a [FullEntry], overwrite: bool) -> Fut<'a, ImportReport> {
        Box::pin(self.import(entries, overwrite))
    }
    fn cleanup_expired<'a>(&'a self, batch: usize) -> Fut<'a, u64> {
        Box::pin(self.cleanup_expired(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::json_equal;
    use serde_json::json;

    #[test]
    fn json_equality_is_by_value() {
        assert!(json_equal(&json!(1), &json!(1.0)));
        assert!(json_equal(&json!({"a": [1, "x"], "b": null}), &json!({"b": null, "a": [1.0, "x"]})));
        assert!(!json_equal(&json!("1"), &json!(1)));
        assert!(!json_equal(&json!([1, 2]), &json!([2, 1])));
    }
}
