//! The statements a model runs on every call, built once with sea-query and reused, so each
//! connection's prepared-statement cache hits.

use super::batch::BatchStatements;
use crate::backend::postgres::events::{EventKind, with_events};
use crate::backend::postgres::record::record_columns;
use crate::error::StoreError;
use crate::model::system::{DELETED_AT, TAGS, UPDATED_AT, VERSION};
use crate::model::{TableDef, Write};
use sea_query::{Alias, Expr, Func, PostgresQueryBuilder, Query, ReturningClause, SimpleExpr};
use std::sync::OnceLock;

/// SQL text of a model's per-call statements; parameters are `$1…` in the order documented on each.
#[derive(Debug, Clone)]
pub(crate) struct Statements {
    /// `$1…$n`: the create columns, then the tags.
    pub insert: String,
    /// `$1`: the key. Live rows only.
    pub get: String,
    /// `$1`: the key. Deleted rows too.
    pub get_with_deleted: String,
    /// `$1…$n`: the update columns, then the key. Keeps the tags.
    pub update: String,
    /// `$1…$n`: the update columns, then the tags, then the key.
    pub update_with_tags: String,
    /// `update` + `$n+1`: the expected version (versioned tables only).
    pub update_versioned: Option<String>,
    /// `update_with_tags` + `$n+1`: the expected version (versioned tables only).
    pub update_with_tags_versioned: Option<String>,
    /// `$1`: the key. Soft delete where the table has it, else a hard delete.
    pub delete: String,
    /// `$1`: the key. Soft-deleted rows come back (soft-delete tables only).
    pub restore: Option<String>,
    /// `$1`: the key. Removes the row whatever its state.
    pub force_delete: String,
    /// `$1`: the key. The state of the row: (`is_deleted`, `version`), for telling errors apart.
    pub probe: String,
    /// Live rows ordered by key.
    pub list_all: String,
    /// Live rows.
    pub count: String,
    /// `$1`: tags to add (deduplicated), `$2`: the key.
    pub add_tags: String,
    /// `$1`: tags to remove, `$2`: the key.
    pub remove_tags: String,
    /// `$1`: the new tags, `$2`: the key.
    pub set_tags: String,
    /// Whether every write also appends its events to the event log (the store has signals).
    pub emit: bool,
    table: &'static TableDef,
    /// Built on the first batch write; `Err` is kept, as building again would fail again.
    batch: OnceLock<Result<BatchStatements, StoreError>>,
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

/// A placeholder; sea-query numbers them `$1…` in order of appearance.
fn param() -> SimpleExpr {
    Expr::val(0_i32).into()
}

fn returning(table: &TableDef) -> ReturningClause {
    Query::returning().columns(record_columns(table).into_iter().map(col))
}

impl Statements {
    /// The batch statements, built on first use.
    pub(crate) fn batch(&self) -> Result<&BatchStatements, StoreError> {
        self.batch.get_or_init(|| BatchStatements::new(self.table, self.emit)).as_ref().map_err(Clone::clone)
    }

    /// The statements of `table`; with `emit`, every write also appends its events to the event log.
    pub(crate) fn new(table: &'static TableDef, emit: bool) -> Self {
        let mut statements = Self::plain(table);
        if emit {
            statements.emit = true;
            let events = |sql: &mut String, kind: EventKind| *sql = with_events(sql, table, kind);
            let deleted = if table.soft_delete { EventKind::SoftDelete } else { EventKind::Delete };
            events(&mut statements.insert, EventKind::Create);
            for sql in [&mut statements.update, &mut statements.update_with_tags] {
                events(sql, EventKind::Update);
            }
            for sql in
                [&mut statements.update_versioned, &mut statements.update_with_tags_versioned].into_iter().flatten()
            {
                events(sql, EventKind::Update);
            }
            for sql in [&mut statements.add_tags, &mut statements.remove_tags, &mut statements.set_tags] {
                events(sql, EventKind::Update);
            }
            events(&mut statements.delete, deleted);
            if let Some(sql) = &mut statements.restore {
                events(sql, EventKind::Restore);
            }
            events(&mut statements.force_delete, EventKind::Delete);
        }
        statements
    }

    fn plain(table: &'static TableDef) -> Self {
        let name = col(table.name);
        let key = table.primary_key().name;
        let live = |versioned_check: bool| {
            let mut conditions = vec![Expr::col(col(key)).eq(param())];
            if table.soft_delete {
                conditions.push(Expr::col(col(DELETED_AT)).is_null());
            }
            if versioned_check {
                conditions.push(Expr::col(col(VERSION)).eq(param()));
            }
            conditions
        };

        let insert = {
            let mut columns: Vec<_> = table.written_columns(Write::Create).map(|c| col(c.name)).collect();
            columns.push(col(TAGS));
            Query::insert()
                .into_table(name.clone())
                .columns(columns.clone())
                .values_panic(columns.iter().map(|_| param()))
                .returning(returning(table))
                .build(PostgresQueryBuilder)
                .0
        };

        let select = |conditions: Vec<SimpleExpr>| {
            let mut select = Query::select();
            select.columns(record_columns(table).into_iter().map(col)).from(name.clone());
            for condition in conditions {
                select.and_where(condition);
            }
            select
        };
        let get = select(live(false)).build(PostgresQueryBuilder).0;
        let get_with_deleted = select(vec![Expr::col(col(key)).eq(param())]).build(PostgresQueryBuilder).0;
        let list_all = {
            let mut s = select(vec![]);
            if table.soft_delete {
                s.and_where(Expr::col(col(DELETED_AT)).is_null());
            }
            s.order_by(col(key), sea_query::Order::Asc).to_string(PostgresQueryBuilder)
        };
        let count = {
            let mut s = Query::select();
            s.expr(Func::count(Expr::col(sea_query::Asterisk))).from(name.clone());
            if table.soft_delete {
                s.and_where(Expr::col(col(DELETED_AT)).is_null());
            }
            s.to_string(PostgresQueryBuilder)
        };

        let update = |with_tags: bool, versioned_check: bool| {
            let mut update = Query::update();
            update.table(name.clone());
            for column in table.written_columns(Write::Update) {
                update.value(col(column.name), param());
            }
            if with_tags {
                update.value(col(TAGS), param());
            }
            update.value(col(UPDATED_AT), Expr::cust("now()"));
            if table.versioned {
                update.value(col(VERSION), Expr::col(col(VERSION)).add(Expr::cust("1")));
            }
            for condition in live(versioned_check) {
                update.and_where(condition);
            }
            update.returning(returning(table)).build(PostgresQueryBuilder).0
        };
        let versioned = |with_tags| table.versioned.then(|| update(with_tags, true));

        let by_key = |extra: Option<SimpleExpr>| {
            let mut conditions = vec![Expr::col(col(key)).eq(param())];
            conditions.extend(extra);
            conditions
        };
        let set_deleted = |value: SimpleExpr, condition: SimpleExpr| {
            let mut update = Query::update();
            update.table(name.clone()).value(col(DELETED_AT), value).value(col(UPDATED_AT), Expr::cust("now()"));
            for c in by_key(Some(condition)) {
                update.and_where(c);
            }
            update.returning(returning(table)).build(PostgresQueryBuilder).0
        };
        let hard_delete = {
            let mut delete = Query::delete();
            delete.from_table(name.clone()).and_where(Expr::col(col(key)).eq(param())).returning(returning(table));
            delete.build(PostgresQueryBuilder).0
        };
        let (delete, restore) = if table.soft_delete {
            (
                set_deleted(Expr::cust("now()"), Expr::col(col(DELETED_AT)).is_null()),
                Some(set_deleted(Expr::cust("NULL"), Expr::col(col(DELETED_AT)).is_not_null())),
            )
        } else {
            (hard_delete.clone(), None)
        };

        let probe = {
            let deleted =
                if table.soft_delete { Expr::col(col(DELETED_AT)).is_not_null() } else { Expr::cust("false") };
            let version = if table.versioned { Expr::col(col(VERSION)).into() } else { Expr::cust("NULL::bigint") };
            Query::select()
                .expr(deleted)
                .expr(version)
                .from(name.clone())
                .and_where(Expr::col(col(key)).eq(param()))
                .build(PostgresQueryBuilder)
                .0
        };

        // Tag edits keep the existing order and append only tags not already present.
        let tags_update = |value: &str| {
            let mut update = Query::update();
            update.table(name.clone()).value(col(TAGS), Expr::cust(value)).value(col(UPDATED_AT), Expr::cust("now()"));
            if table.versioned {
                update.value(col(VERSION), Expr::col(col(VERSION)).add(Expr::cust("1")));
            }
            // The tag array is `$1`; the key follows it.
            update.and_where(Expr::col(col(key)).eq(Expr::cust("$2")));
            if table.soft_delete {
                update.and_where(Expr::col(col(DELETED_AT)).is_null());
            }
            update.returning(returning(table)).to_string(PostgresQueryBuilder)
        };
        let add_tags = tags_update(
            r#""__tags__" || ARRAY(SELECT t FROM unnest($1::text[]) WITH ORDINALITY AS n(t, i) WHERE t <> ALL("__tags__") ORDER BY i)"#,
        );
        let remove_tags = tags_update(
            r#"ARRAY(SELECT t FROM unnest("__tags__") WITH ORDINALITY AS n(t, i) WHERE t <> ALL($1::text[]) ORDER BY i)"#,
        );
        let set_tags = tags_update("$1::text[]");

        Statements {
            insert,
            get,
            get_with_deleted,
            update: update(false, false),
            update_with_tags: update(true, false),
            update_versioned: versioned(false),
            update_with_tags_versioned: versioned(true),
            delete,
            restore,
            force_delete: hard_delete,
            probe,
            list_all,
            count,
            add_tags,
            remove_tags,
            set_tags,
            emit: false,
            table,
            batch: OnceLock::new(),
        }
    }
}
