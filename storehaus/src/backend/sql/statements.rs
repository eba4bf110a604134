//! The statements a model runs on every call, written once per store and kept, so each
//! connection's prepared-statement cache hits.
//!
//! Every one takes its parameters in the same order, whichever of them it has: the model's
//! written values, the tags, the `__auth__` of a new row, the clock slots (dialects that bind the
//! clock), the key, the scope's values, the expected version.
//!
//! A model with access scopes has one set per [`ScopeShape`] it can be used with: the scope's
//! filter is part of every statement that reaches existing rows.

use super::dialect::{Dialect, EventKind, TagEdit};
use super::query::{set_deleted, touch};
use super::{Sql, SqlText};
use crate::error::StoreError;
use crate::model::system::{AUTH, CREATED_AT, DELETED_AT, TAGS, UPDATED_AT, VERSION};
use crate::model::{TableDef, Write};
use crate::query::ScopeShape;
use crate::query::resolved::Condition;

/// A statement kept for many calls.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub sql: SqlText,
    /// How many clock slots it holds, bound after the tags.
    pub clocks: usize,
}

impl Statement {
    fn write<D: Dialect>(
        table: &'static TableDef,
        events: Option<EventKind>,
        write: impl FnOnce(&mut Sql<'static, D>),
    ) -> Self {
        let mut sql = Sql::template(table);
        write(&mut sql);
        let (sql, clocks) = sql.finish_template();
        let sql = match events {
            Some(kind) => SqlText::assembled(D::with_events(sql.as_str(), table, kind)).shared(),
            None => sql,
        };
        Statement { sql, clocks }
    }
}

/// The statements of one model.
#[derive(Debug, Clone)]
pub(crate) struct Statements {
    /// The create columns, the tags.
    pub insert: Statement,
    /// `insert` that skips a row conflicting with any unique constraint or the key (`[0]`), or
    /// with the key only (`[1]`), returning nothing for it.
    pub insert_or_ignore: [Statement; 2],
    /// The key. Live rows only.
    pub get: Statement,
    /// The key. Deleted rows too.
    pub get_with_deleted: Statement,
    /// The update columns, the tags when `[true]`, the key; then the expected version in
    /// `versioned` (versioned tables only).
    pub update: [Statement; 2],
    pub update_versioned: Option<[Statement; 2]>,
    /// The key. Soft delete where the table has it, else a delete.
    pub delete: Statement,
    /// The key, then the expected version: `delete` of that version only, bumping it on a
    /// soft delete (versioned tables only).
    pub delete_versioned: Option<Statement>,
    /// The key. Soft-deleted rows come back (soft-delete tables only).
    pub restore: Option<Statement>,
    /// The key. Removes the row whatever its state.
    pub force_delete: Statement,
    /// The key. The state of the row: (`is_deleted`, `version`), for telling errors apart.
    pub probe: Statement,
    /// Live rows ordered by key.
    pub list_all: Statement,
    /// Live rows.
    pub count: Statement,
    /// The tags, the key: one statement per [`TagEdit`].
    pub tags: [Statement; 3],
    /// The principals, the key: grant (`[0]`, a [`TagEdit::Add`] of `__auth__`) and revoke
    /// (`[1]`) (`auth` tables only).
    pub access: Option<[Statement; 2]>,
    /// Whether writes also produce change events (the store has signals).
    pub emit: bool,
}

impl Statements {
    /// The statements of `table` for stores of scope `shape`; with `emit`, writes also produce
    /// their change events.
    pub(crate) fn new<D: Dialect>(table: &'static TableDef, emit: bool, shape: ScopeShape) -> Self {
        let events = |kind: EventKind| emit.then_some(kind);
        let scope = shape.template(table);
        let scope = scope.as_ref();
        let where_key = |sql: &mut Sql<'static, D>, live| where_key(sql, live, scope);
        let update = |with_tags, versioned| {
            Statement::write::<D>(table, events(EventKind::Update), |sql| {
                let columns = table.written_columns(Write::Update).map(|c| c.name);
                update_sql(sql, columns, with_tags);
                where_key(sql, Live::Only);
                if versioned {
                    sql.push(" AND ");
                    sql.column(VERSION);
                    sql.push(" = ");
                    sql.slot();
                }
                sql.returning();
            })
        };
        let pair = |versioned| [update(false, versioned), update(true, versioned)];
        let set_deleted_by_key = |deleting: bool| {
            let kind = if deleting { EventKind::SoftDelete } else { EventKind::Restore };
            Statement::write::<D>(table, events(kind), |sql| {
                sql.push("UPDATE ");
                sql.ident(table.name);
                sql.push(" SET ");
                set_deleted(sql, deleting);
                where_key(sql, if deleting { Live::Only } else { Live::Deleted });
                sql.returning();
            })
        };
        let force_delete = |kind| {
            Statement::write::<D>(table, events(kind), |sql| {
                sql.push("DELETE FROM ");
                sql.ident(table.name);
                where_key(sql, Live::Any);
                sql.returning();
            })
        };
        let delete_versioned = || {
            Statement::write::<D>(table, events(EventKind::delete(table)), |sql| {
                if table.soft_delete {
                    sql.push("UPDATE ");
                    sql.ident(table.name);
                    sql.push(" SET ");
                    set_deleted(sql, true);
                    sql.push(", ");
                    sql.assign(VERSION);
                    sql.column(VERSION);
                    sql.push(" + 1");
                } else {
                    sql.push("DELETE FROM ");
                    sql.ident(table.name);
                }
                where_key(sql, Live::Only);
                sql.push(" AND ");
                sql.column(VERSION);
                sql.push(" = ");
                sql.slot();
                sql.returning();
            })
        };
        let tags = |column, edit| {
            Statement::write::<D>(table, events(EventKind::Update), |sql| {
                sql.push("UPDATE ");
                sql.ident(table.name);
                sql.push(" SET ");
                sql.assign(column);
                D::tags_value(sql, column, edit);
                sql.push(", ");
                touch(sql);
                where_key(sql, Live::Only);
                sql.returning();
            })
        };
        Statements {
            insert: Statement::write::<D>(table, events(EventKind::Create), |sql| insert_sql(sql, None)),
            insert_or_ignore: [
                Self::insert_or_ignore::<D>(table, emit, Some(&[])),
                Self::insert_or_ignore::<D>(
                    table,
                    emit,
                    Some(&table.key_columns().map(|c| c.name).collect::<Vec<_>>()),
                ),
            ],
            get: Statement::write::<D>(table, None, |sql| select_sql(sql, Live::Only, true, scope)),
            get_with_deleted: Statement::write::<D>(table, None, |sql| select_sql(sql, Live::Any, true, scope)),
            update: pair(false),
            update_versioned: table.versioned.then(|| pair(true)),
            delete: if table.soft_delete { set_deleted_by_key(true) } else { force_delete(EventKind::Delete) },
            delete_versioned: table.versioned.then(delete_versioned),
            restore: table.soft_delete.then(|| set_deleted_by_key(false)),
            force_delete: force_delete(EventKind::Delete),
            probe: Statement::write::<D>(table, None, |sql| probe_sql(sql, scope)),
            list_all: Statement::write::<D>(table, None, |sql| select_sql(sql, Live::Only, false, scope)),
            count: Statement::write::<D>(table, None, |sql| {
                sql.push("SELECT COUNT(*) FROM ");
                sql.ident(table.name);
                where_all(sql, scope);
            }),
            tags: [tags(TAGS, TagEdit::Add), tags(TAGS, TagEdit::Remove), tags(TAGS, TagEdit::Set)],
            access: table.auth.then(|| [tags(AUTH, TagEdit::Add), tags(AUTH, TagEdit::Remove)]),
            emit,
        }
    }

    /// `insert` that skips a row conflicting on the unique constraint over `target` (`Some(&[])`:
    /// on any unique constraint or the key; `None`: never), returning nothing for it. The target
    /// must be the columns of a unique constraint: callers check it against the model.
    pub(crate) fn insert_or_ignore<D: Dialect>(
        table: &'static TableDef,
        emit: bool,
        target: Option<&[&'static str]>,
    ) -> Statement {
        Statement::write::<D>(table, emit.then_some(EventKind::Create), |sql| insert_sql(sql, target))
    }

    /// The update statement for these parameters; `Err` for a version on an unversioned table.
    pub(crate) fn update(&self, table: &TableDef, with_tags: bool, versioned: bool) -> Result<&Statement, StoreError> {
        let set = match versioned {
            false => &self.update,
            true => self.update_versioned.as_ref().ok_or_else(|| StoreError::Validation {
                field: None,
                message: format!("`{}` is not versioned; declare #[table(versioned)] to update by version", table.name),
            })?,
        };
        Ok(&set[usize::from(with_tags)])
    }
}

/// Which rows a by-key statement reaches on a soft-delete table.
#[derive(Clone, Copy)]
enum Live {
    Only,
    Deleted,
    Any,
}

/// ` WHERE "key" = <slot>` (`"a" = <slot> AND "b" = <slot>` for a composite key), the scope's
/// filter as slots, and the soft-delete test of `live`.
fn where_key<D: Dialect>(sql: &mut Sql<'_, D>, live: Live, scope: Option<&Condition>) {
    let table = sql.table();
    sql.push(" WHERE ");
    for (i, column) in table.key_columns().enumerate() {
        if i > 0 {
            sql.push(" AND ");
        }
        sql.column(column.name);
        sql.push(" = ");
        sql.slot();
    }
    if let Some(scope) = scope {
        sql.push(" AND ");
        sql.slots(scope);
    }
    let test = match live {
        Live::Only => " IS NULL",
        Live::Deleted => " IS NOT NULL",
        Live::Any => return,
    };
    if table.soft_delete {
        sql.push(" AND ");
        sql.column(DELETED_AT);
        sql.push(test);
    }
}

/// `INSERT INTO t (<create columns>, "__tags__"[, clocks]) VALUES (…) [ON CONFLICT …] RETURNING …`;
/// where the server has the clock, the column defaults set both timestamps. `ignore` as in
/// [`Statements::insert_or_ignore`].
fn insert_sql<D: Dialect>(sql: &mut Sql<'_, D>, ignore: Option<&[&'static str]>) {
    let table = sql.table();
    let mut columns: Vec<&str> = table.written_columns(Write::Create).map(|c| c.name).collect();
    columns.push(TAGS);
    if table.auth {
        columns.push(AUTH);
    }
    let slots = columns.len();
    if D::SERVER_CLOCK.is_none() {
        columns.extend([CREATED_AT, UPDATED_AT]);
    }
    sql.push("INSERT INTO ");
    sql.ident(table.name);
    sql.push(" (");
    sql.names(columns.iter().copied());
    sql.push(") VALUES (");
    for i in 0..columns.len() {
        if i > 0 {
            sql.push(", ");
        }
        if i < slots { sql.slot() } else { sql.clock() }
    }
    sql.push(")");
    on_conflict_do_nothing(sql, ignore);
    sql.returning();
}

/// ` ON CONFLICT [("c1", …)] DO NOTHING`, the same on PostgreSQL and SQLite; nothing for `None`.
pub(crate) fn on_conflict_do_nothing<D: Dialect>(sql: &mut Sql<'_, D>, target: Option<&[&'static str]>) {
    let Some(target) = target else { return };
    sql.push(" ON CONFLICT ");
    if !target.is_empty() {
        sql.push("(");
        sql.names(target.iter().copied());
        sql.push(") ");
    }
    sql.push("DO NOTHING");
}

/// `SELECT <record columns> FROM t WHERE "key" = <slot> …`, or every live row in scope ordered
/// by key.
fn select_sql<D: Dialect>(sql: &mut Sql<'_, D>, live: Live, by_key: bool, scope: Option<&Condition>) {
    let table = sql.table();
    sql.push("SELECT ");
    sql.record_columns();
    sql.push(" FROM ");
    sql.ident(table.name);
    if by_key {
        where_key(sql, live, scope);
    } else {
        where_all(sql, scope);
        sql.push(" ORDER BY ");
        for (i, column) in table.key_columns().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.column(column.name);
            sql.push(" ASC");
        }
    }
}

/// `UPDATE t SET <columns> = <slots>[, "__tags__" = <slot>], "__updated_at__" = <clock>[, version bump]`
fn update_sql<D: Dialect>(sql: &mut Sql<'_, D>, columns: impl Iterator<Item = &'static str>, with_tags: bool) {
    let table = sql.table();
    sql.push("UPDATE ");
    sql.ident(table.name);
    sql.push(" SET ");
    for name in columns.chain(with_tags.then_some(TAGS)) {
        sql.assign(name);
        sql.slot();
        sql.push(", ");
    }
    touch(sql);
}

/// ` WHERE <live> [AND <scope>]`, or nothing when every row qualifies.
fn where_all<D: Dialect>(sql: &mut Sql<'_, D>, scope: Option<&Condition>) {
    let table = sql.table();
    if table.soft_delete {
        sql.push(" WHERE ");
        sql.column(DELETED_AT);
        sql.push(" IS NULL");
    }
    if let Some(scope) = scope {
        sql.push(if table.soft_delete { " AND " } else { " WHERE " });
        sql.slots(scope);
    }
}

/// `SELECT <is deleted>, <version> FROM t WHERE "key" = <slot>`
fn probe_sql<D: Dialect>(sql: &mut Sql<'_, D>, scope: Option<&Condition>) {
    let table = sql.table();
    sql.push("SELECT ");
    if table.soft_delete {
        sql.column(DELETED_AT);
        sql.push(" IS NOT NULL");
    } else {
        sql.push(D::FALSE);
    }
    sql.push(", ");
    if table.versioned {
        sql.column(VERSION);
    } else {
        sql.push(D::NULL_BIGINT);
    }
    sql.push(" FROM ");
    sql.ident(table.name);
    where_key(sql, Live::Any, scope);
}
