//! Upserts by any unique constraint: insert, else update the row that holds the values.

use super::Result;
use super::crud::{self, Params, write_rows, write_sql, written_values};
use super::query::{events, write_statement};
use crate::backend::Backend;
use crate::backend::executor::Executor;
use crate::backend::sql::{self, EventKind, Statements};
use crate::error::StoreError;
use crate::model::{Model, Record, Write, key_is_unset, key_values};
use crate::query::resolved::{ColumnRef, CompareOp, Condition, ResolvedQuery, Visibility};
use crate::query::{ResolvedUpsert, Scope, ScopeShape};
use crate::types::Value;

/// How many times the insert and the update are tried when the row they met vanished between them.
const ATTEMPTS: usize = 3;

/// `INSERT … ON CONFLICT (<target>) DO NOTHING`, and when that inserted nothing, the update that
/// `update` would make (adjusted by `how`) on the live row holding the target values, in one
/// transaction. Two statements rather than `ON CONFLICT DO UPDATE`, so that each backend
/// reports the inserted row as a creation and the updated one as an update, and the update half
/// is the query-driven update every backend already writes.
pub(super) async fn upsert<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    scope: &Scope,
    data: &T,
    tags: Option<&[String]>,
    how: &ResolvedUpsert,
) -> Result<Record<T>> {
    let target: Vec<&'static str> = how.target.iter().map(|c| c.name).collect();
    // A key the database assigns is never inserted as given: unset, the value is a new row; set,
    // it names the live row to update, and there is nothing to insert.
    let by_generated_key = T::TABLE.generated_key().is_some_and(|key| target == [key.name]);
    if by_generated_key && key_is_unset(&data.key()) {
        return crud::insert(exec, s, scope, data, tags.unwrap_or_default()).await;
    }
    let insert = Statements::insert_or_ignore::<B>(T::TABLE, s.emit, Some(&target));
    let target_values: Vec<(ColumnRef, Value)> = if by_generated_key {
        T::TABLE.key_columns().map(ColumnRef::Declared).zip(key_values::<T>(&data.key())?).collect()
    } else {
        crud::check_unset_key(data)?;
        let created = written_values(data, Write::Create, scope)?;
        T::TABLE
            .written_columns(Write::Create)
            .zip(created)
            .filter(|(column, _)| how.target.iter().any(|c| c.name == column.name))
            .map(|(column, value)| (ColumnRef::Declared(column), value))
            .collect()
    };
    let set = how.assignments(T::TABLE, written_values(data, Write::Update, scope)?);
    // The row holding the target values, among the rows in scope: one out of scope is left alone.
    let holder = |visibility| {
        scope
            .restrict(&ResolvedQuery {
                table: T::TABLE,
                condition: Some(Condition::And(
                    target_values
                        .iter()
                        .map(|(column, value)| Condition::Compare {
                            column: *column,
                            op: CompareOp::Eq,
                            value: value.clone(),
                        })
                        .collect(),
                )),
                visibility,
                order: Vec::new(),
                limit: None,
                offset: None,
                keyset: None,
                from_end: false,
                lock: None,
                all_rows: false,
            })
            .into_owned()
    };
    // PostgreSQL arbitrates `ON CONFLICT` on the target's index alone: an insert that passed that
    // check before a concurrent insert of the same values committed can then wait on another
    // unique index for it, and fail there. In a transaction of its own, the upsert runs once
    // more: the concurrent row is committed by then, so the insert meets it on the target and
    // the update follows; a true conflict on the other constraint fails again, as it should.
    let own_transaction = matches!(exec, Executor::Pool(_));
    let mut retried = false;
    loop {
        let attempt = attempt(exec, s, scope, data, tags, &insert, &target_values, &set, by_generated_key, &holder);
        match attempt.await {
            Err(StoreError::UniqueViolation { .. }) if own_transaction && !retried => retried = true,
            outcome => return outcome,
        }
    }
}

/// One run of [`upsert`], in one transaction (the caller's, or one of its own).
#[allow(clippy::too_many_arguments)]
async fn attempt<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    scope: &Scope,
    data: &T,
    tags: Option<&[String]>,
    insert: &sql::Statement,
    target_values: &[(ColumnRef, Value)],
    set: &[crate::query::resolved::Assignment],
    by_generated_key: bool,
    holder: &impl Fn(Visibility) -> ResolvedQuery,
) -> Result<Record<T>> {
    exec.atomically(async |exec| {
        for _ in 0..ATTEMPTS {
            if !by_generated_key {
                let params = Params::new()
                    .values(data, Write::Create, scope)?
                    .tags(tags.unwrap_or_default())?
                    .owner::<T>(scope)?
                    .clocks(insert, exec.now())?;
                if let Some(record) = write_rows(exec, s.emit, EventKind::Create, insert, params).await?.pop() {
                    return Ok(record);
                }
            }
            // A row holds the target values. A NULL among them never conflicts, so none is here.
            let live = holder(Visibility::Live);
            let (text, args) =
                write_statement::<B>(T::TABLE, exec.now(), |sql| sql::upsert_update(sql, &live, set, tags))?;
            let text = events::<B>(s.emit, text, T::TABLE, EventKind::Update);
            if let Some(record) = write_sql(exec, s.emit, EventKind::Update, text, args).await?.pop() {
                return Ok(record);
            }
            let deleted = ResolvedQuery { limit: Some(1), ..holder(Visibility::OnlyDeleted) };
            let (text, args) = write_statement::<B>(T::TABLE, exec.now(), |sql| sql::select(sql, &deleted))?;
            if exec.fetch_optional(text, args).await?.is_some() {
                return Err(StoreError::Deleted { table: T::TABLE.name.to_owned(), key: held_by(data, target_values) });
            }
            if by_generated_key {
                return Err(StoreError::NotFound { table: T::TABLE.name.to_owned(), key: format!("{:?}", data.key()) });
            }
            // Under a scope, the row holding the values is one the scope does not see (or it went
            // away): the plain insert then fails exactly as a `create` of the same values does
            // (or, the row gone, inserts), telling the caller nothing more about that row.
            if scope.shape() != ScopeShape::NONE {
                return crud::insert(exec, s, scope, data, tags.unwrap_or_default()).await;
            }
            // The row went away between the two statements: insert again.
        }
        Err(StoreError::Conflict { table: T::TABLE.name.to_owned(), key: held_by(data, target_values) })
    })
    .await
}

/// The row an upsert met, as errors name it: the key's `Debug` when the target is the key, else
/// `field = value, …`.
fn held_by<T: Model>(data: &T, target: &[(ColumnRef, Value)]) -> String {
    match target {
        _ if target.iter().map(|(c, _)| c.name()).eq(T::TABLE.key_columns().map(|c| c.name)) => {
            format!("{:?}", data.key())
        }
        _ => target.iter().map(|(c, v)| format!("{} = {v:?}", c.name())).collect::<Vec<_>>().join(", "),
    }
}
