//! The one SQL writer, for every dialect.
//!
//! Statements are text assembled from the model's identifiers (always quoted), fixed keywords of
//! this module and the dialects, and placeholders; every value is bound as a parameter of its
//! column's type as the statement is written, so nothing a user gives ever becomes SQL text.
//! What is spelled differently per database comes from its [`Dialect`].

mod condition;
pub(crate) mod consumers;
pub(crate) mod ddl;
mod dialect;
mod query;
mod related;
pub(crate) mod shape;
mod statements;
#[cfg(test)]
mod tests;

pub(crate) use dialect::{Dialect, EventKind, LikeMatch, TagEdit, row_count};
pub(crate) use query::{count, delete, restore, select, soft_delete, update, upsert_update};
pub(crate) use related::{joined, related, related_count};
pub(crate) use statements::{Statement, Statements, on_conflict_do_nothing};

use crate::error::StoreError;
use crate::model::TableDef;
use crate::query::resolved::ColumnRef;
use crate::types::{ColumnType, ScalarType, Value};
use chrono::{DateTime, Utc};
use std::fmt::Write as _;
use std::marker::PhantomData;

pub(crate) const TEXT: ColumnType = ColumnType::Scalar(ScalarType::Text);
pub(crate) const TEXT_ARRAY: ColumnType = ColumnType::Array(ScalarType::Text);
pub(crate) const JSON: ColumnType = ColumnType::Scalar(ScalarType::Json);
pub(crate) const BIGINT: ColumnType = ColumnType::Scalar(ScalarType::BigInt);
pub(crate) const TIMESTAMPTZ: ColumnType = ColumnType::Scalar(ScalarType::TimestampTz);

/// SQL text this module or a backend wrote: quoted identifiers from model metadata, fixed keywords
/// and placeholders, never a user's value. The executor runs nothing else.
#[derive(Debug, Clone)]
pub(crate) struct SqlText(sqlx::SqlStr);

impl SqlText {
    /// A statement of the backend's own, written in the source.
    pub(crate) const fn fixed(sql: &'static str) -> Self {
        SqlText(sqlx::SqlStr::from_static(sql))
    }

    /// Text assembled from model identifiers (quoted), fixed keywords and placeholders: what the
    /// writer below and the backends' DDL produce.
    pub(crate) fn assembled(sql: String) -> Self {
        // The one place StoreHaus vouches to sqlx for the text it runs: a `SqlText` is only ever
        // built from quoted identifiers of model metadata, fixed keywords and placeholders; every
        // value is bound as a parameter.
        SqlText(sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(sql)))
    }

    /// The same text, cheap to clone from now on (sqlx keeps a cloned text behind an `Arc`).
    pub(crate) fn shared(self) -> Self {
        SqlText(self.0.clone())
    }

    pub(crate) fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The text as sqlx takes it.
    /// A statement of a migration file: SQL its author wrote (or generated and reviewed) and
    /// put in the application's migrations directory, run as written, as sqlx's own migrations
    /// run theirs. Never built from data a caller passes at run time.
    pub(crate) fn migration_file(sql: &str) -> Self {
        SqlText(sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(sql.to_owned())))
    }

    pub(crate) fn into_sqlx(self) -> sqlx::SqlStr {
        self.0
    }
}

/// Puts the column name on a validation error raised while binding its value.
pub(crate) fn name_field(error: StoreError, column: &str) -> StoreError {
    match error {
        StoreError::Validation { field: None, message } => StoreError::validation(column, message),
        other => other,
    }
}

/// Where a statement's parameters go as it is written: a backend's arguments, or, in tests, a
/// list of what was bound.
pub(crate) trait Bind {
    fn bind(&mut self, value: Value, ty: ColumnType) -> Result<(), StoreError>;
}

/// A statement being written for a table of dialect `D`: its text and the parameters bound so far.
///
/// The same writer binds the values of a read whose text is kept for its shape ([`shape`]):
/// then it writes no text, so text and values can never disagree on the order.
pub(crate) struct Sql<'a, D: Dialect> {
    text: String,
    /// Whether text is written; `false` where only the values are bound.
    writes_text: bool,
    /// `None` in statements kept for many calls, which have slots instead of values.
    args: Option<&'a mut dyn Bind>,
    params: usize,
    table: &'static TableDef,
    /// The clock of a write, where the dialect binds it; `None` in statements kept for many
    /// calls, whose clock is a slot bound per call.
    now: Option<DateTime<Utc>>,
    /// Clock slots written so far.
    clocks: usize,
    /// Whether expressions name columns with their table: the dialect's choice, or forced where
    /// another relation in the statement has columns of the same names.
    qualified: bool,
    /// The name columns are qualified with instead of the table's, inside a subquery that
    /// aliases the table.
    alias: Option<String>,
    /// Subqueries opened so far, for aliases that never repeat within a statement.
    subqueries: usize,
    /// A failure to bind the clock, reported by [`Sql::finish`]: the clock is the writer's own
    /// value, so writing it never fails on the spot.
    clock_error: Option<StoreError>,
    dialect: PhantomData<D>,
}

impl<'a, D: Dialect> Sql<'a, D> {
    /// A statement on `table` binding its values into `args`, with `now` as the clock of writes.
    pub(crate) fn new(table: &'static TableDef, args: &'a mut dyn Bind, now: DateTime<Utc>) -> Self {
        Self::start(String::with_capacity(256), table, args, now)
    }

    /// The statement on `table` of a text already written, binding its values into `args` in the
    /// order that text takes them, and writing nothing.
    pub(crate) fn binding_only(table: &'static TableDef, args: &'a mut dyn Bind, now: DateTime<Utc>) -> Self {
        Sql { writes_text: false, ..Self::start(String::new(), table, args, now) }
    }

    fn start(text: String, table: &'static TableDef, args: &'a mut dyn Bind, now: DateTime<Utc>) -> Self {
        Sql {
            text,
            writes_text: true,
            args: Some(args),
            params: 0,
            table,
            now: Some(now),
            clocks: 0,
            qualified: D::QUALIFIED_COLUMNS,
            alias: None,
            subqueries: 0,
            clock_error: None,
            dialect: PhantomData,
        }
    }

    pub(crate) fn push(&mut self, text: &str) {
        if self.writes_text {
            self.text.push_str(text);
        }
    }

    /// A bare quoted name: a table, the target of an assignment, a column of an insert list.
    pub(crate) fn ident(&mut self, name: &str) {
        if self.writes_text {
            quote_into(&mut self.text, name);
        }
    }

    /// `"name" = `, the start of an assignment.
    pub(crate) fn assign(&mut self, name: &str) {
        self.ident(name);
        self.push(" = ");
    }

    /// A column of the table, as an expression: qualified where the dialect wants it.
    pub(crate) fn column(&mut self, name: &str) {
        if self.qualified {
            self.qualifier();
            self.push(".");
        }
        self.ident(name);
    }

    /// What columns of the current table are qualified with: its alias, or its name.
    pub(crate) fn qualifier(&mut self) {
        if !self.writes_text {
            return;
        }
        match &self.alias {
            Some(alias) => quote_into(&mut self.text, alias),
            None => quote_into(&mut self.text, self.table.name),
        }
    }

    /// `"outer"."name"`: a column of the table around the current subquery, always qualified.
    pub(crate) fn qualified_column(&mut self, qualifier: &str, name: &str) {
        self.ident(qualifier);
        self.push(".");
        self.ident(name);
    }

    /// The name the current table's columns are qualified with.
    pub(crate) fn current_qualifier(&self) -> String {
        self.alias.clone().unwrap_or_else(|| self.table.name.to_owned())
    }

    /// A new alias, unique within the statement, for a table of a subquery.
    pub(crate) fn next_alias(&mut self) -> String {
        self.subqueries += 1;
        format!("__r{}", self.subqueries)
    }

    /// Runs `write` with `table` (named `alias` when given) as the current table and columns
    /// qualified, then returns to the table before: for subqueries and joins over another table.
    pub(crate) fn within<R>(
        &mut self,
        table: &'static TableDef,
        alias: Option<String>,
        write: impl FnOnce(&mut Self) -> R,
    ) -> R {
        let outer =
            (std::mem::replace(&mut self.table, table), std::mem::replace(&mut self.alias, alias), self.qualified);
        self.qualified = true;
        let result = write(self);
        (self.table, self.alias, self.qualified) = outer;
        result
    }

    /// The next placeholder, bound to `value` as a parameter of type `ty`.
    pub(crate) fn param(&mut self, value: Value, ty: ColumnType) -> Result<(), StoreError> {
        match &mut self.args {
            Some(args) => args.bind(value, ty)?,
            None => {
                return Err(StoreError::Validation {
                    field: None,
                    message: "a statement kept for many calls binds no values".into(),
                });
            }
        }
        self.placeholder();
        Ok(())
    }

    /// The next placeholder, bound per call (statements kept for many calls).
    pub(crate) fn slot(&mut self) {
        self.placeholder();
    }

    fn placeholder(&mut self) {
        self.params += 1;
        if !self.writes_text {
            return;
        }
        if D::NUMBERED_PARAMS {
            let _ = write!(self.text, "${}", self.params);
        } else {
            self.text.push('?');
        }
    }

    /// `condition` in a statement kept for many calls, each of its values a slot:
    /// calls bind the values of the same condition, written by [`Sql::bind_condition`], in the
    /// same order.
    pub(crate) fn slots(&mut self, condition: &crate::query::resolved::Condition) {
        struct Slots;
        impl Bind for Slots {
            fn bind(&mut self, _: Value, _: ColumnType) -> Result<(), StoreError> {
                Ok(())
            }
        }
        // A condition has no clock, so the fragment's is never read.
        let mut slots = Slots;
        let mut fragment = Sql::<D>::new(self.table, &mut slots, DateTime::<Utc>::MIN_UTC);
        fragment.params = self.params;
        fragment.qualified = self.qualified;
        fragment.alias = self.alias.clone();
        // Writing a condition fails only on a value it refuses, and slots take any; were it to
        // fail, the statement matches nothing rather than more than the condition allows.
        match condition::condition(&mut fragment, condition) {
            Ok(()) => {
                self.params = fragment.params;
                self.push(&fragment.text);
            }
            Err(_) => self.push(D::FALSE),
        }
    }

    /// The clock of a write: the server's (`now()`), or the transaction's, bound (a slot in
    /// statements kept for many calls).
    pub(crate) fn clock(&mut self) {
        match (D::SERVER_CLOCK, self.now) {
            (Some(expression), _) => self.push(expression),
            (None, Some(now)) => {
                if let Err(error) = self.param(Value::TimestampTz(now), TIMESTAMPTZ) {
                    self.clock_error.get_or_insert(error);
                }
            }
            (None, None) => {
                self.clocks += 1;
                self.slot();
            }
        }
    }

    /// Quoted `names` separated by `", "`.
    pub(crate) fn names<'n>(&mut self, names: impl IntoIterator<Item = &'n str>) {
        for (i, name) in names.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.ident(name);
        }
    }

    /// `items` separated by `", "`, each written by `each`.
    pub(crate) fn list<T>(
        &mut self,
        items: impl IntoIterator<Item = T>,
        mut each: impl FnMut(&mut Self, T) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            each(self, item)?;
        }
        Ok(())
    }

    /// The record columns of the table, as expressions: what every statement returns.
    pub(crate) fn record_columns(&mut self) {
        if !self.writes_text {
            return;
        }
        for (i, name) in record_columns(self.table).enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.column(name);
        }
    }

    /// ` RETURNING <record columns>`
    pub(crate) fn returning(&mut self) {
        self.push(" RETURNING ");
        self.record_columns();
    }

    pub(crate) fn table(&self) -> &'static TableDef {
        self.table
    }

    /// From now on, columns are named with their table (`"t"."c"`), whatever the dialect prefers.
    pub(crate) fn qualify_columns(&mut self) {
        self.qualified = true;
    }

    /// The statement's text; `Err` when the clock could not be bound.
    pub(crate) fn finish(self) -> Result<SqlText, StoreError> {
        match self.clock_error {
            Some(error) => Err(error),
            None => Ok(SqlText::assembled(self.text)),
        }
    }

    /// How many placeholders the statement holds; `Err` when the clock could not be bound.
    pub(crate) fn finish_binding(self) -> Result<usize, StoreError> {
        match self.clock_error {
            Some(error) => Err(error),
            None => Ok(self.params),
        }
    }
}

impl<D: Dialect> Sql<'static, D> {
    /// A statement kept for many calls: its values are slots, bound per call.
    pub(crate) fn template(table: &'static TableDef) -> Self {
        Sql {
            text: String::with_capacity(256),
            writes_text: true,
            args: None,
            params: 0,
            table,
            now: None,
            clocks: 0,
            qualified: D::QUALIFIED_COLUMNS,
            alias: None,
            subqueries: 0,
            clock_error: None,
            dialect: PhantomData,
        }
    }

    /// The text, and how many clock slots it holds.
    pub(crate) fn finish_template(self) -> (SqlText, usize) {
        (SqlText::assembled(self.text).shared(), self.clocks)
    }
}

/// Binds into `args` the values of `condition` in the order [`Sql::slots`] wrote its slots.
pub(crate) fn bind_condition<D: Dialect>(
    table: &'static TableDef,
    args: &mut dyn Bind,
    condition: &crate::query::resolved::Condition,
) -> Result<(), StoreError> {
    let mut sql = Sql::<D>::binding_only(table, args, DateTime::<Utc>::MIN_UTC);
    condition::condition(&mut sql, condition)
}

/// A double-quoted identifier (inner quotes doubled); names come from model metadata. Every
/// dialect quotes alike.
pub(crate) fn quote_ident(name: &str) -> String {
    let mut quoted = String::with_capacity(name.len() + 2);
    quote_into(&mut quoted, name);
    quoted
}

fn quote_into(out: &mut String, name: &str) {
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

/// A standard SQL string literal (quotes doubled), for names from model metadata.
pub(crate) fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The columns a record is read from, in order: the declared fields, then `__created_at__`,
/// `__updated_at__`, `__tags__`, and `__deleted_at__` / `__version__` / `__auth__` where the table has them.
pub(crate) fn record_columns(table: &TableDef) -> impl Iterator<Item = &'static str> + '_ {
    record_types(table).map(|(name, _)| name)
}

/// The names and types of [`record_columns`], in order.
pub(crate) fn record_types(table: &TableDef) -> impl Iterator<Item = (&'static str, ColumnType)> + '_ {
    table.columns.iter().map(|c| (c.name, c.ty)).chain(table.system_columns().map(|c| (c.name, c.ty)))
}

/// The position of `column` in [`record_columns`].
pub(crate) fn record_column_index(table: &TableDef, column: ColumnRef) -> usize {
    match column {
        ColumnRef::Declared(c) => table.columns.iter().position(|d| d.name == c.name).unwrap_or_default(),
        ColumnRef::System(s) => {
            table.columns.len() + table.system_columns().position(|c| c.name == s.name).unwrap_or_default()
        }
    }
}
