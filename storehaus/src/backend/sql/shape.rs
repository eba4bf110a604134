//! The texts of reads, kept per query shape: a read of a shape written before takes its text from
//! here, and the writer only binds its values.
//!
//! A read's shape is everything its text depends on: the dialect, the table, the statement (rows
//! or their count), the condition tree (each node's kind, columns and operators, and what of its
//! values changes the placeholders the dialect writes), visibility, order, which of limit, offset
//! and keyset position are present (and their numbers where the dialect writes them into the
//! text), the row lock, and whether the read runs from the end. A store's scope is part of the
//! condition by then ([`Scope::restrict`](crate::query::Scope::restrict)). Values never are.
//!
//! A shape is kept as the sequence of those facts ([`ShapeKey`]), and the map compares whole
//! keys: two shapes whose hashes collide still get their own texts. Each table keeps at most
//! [`SHAPES_PER_TABLE`] shapes; reads of further shapes are written per call, so a program
//! generating endless shapes does not grow memory.
//!
//! The text and the order the values are bound in come from the same writer: on a kept shape it
//! runs [`Sql::binding_only`], walking the query exactly as when it wrote the text.

use super::{Bind, Dialect, Sql, SqlText, count, select};
use crate::error::StoreError;
use crate::model::TableDef;
use crate::query::resolved::{
    ColumnRef, Condition, JsonCondition, Keyset, Order, RelatedCondition, ResolvedQuery, RowLock,
};
use crate::relation::{Join, JoinTo};
use crate::types::{ColumnType, Value};
use chrono::{DateTime, Utc};
use std::any::TypeId;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{LazyLock, PoisonError, RwLock};

/// The most shapes kept per table (and dialect).
pub(crate) const SHAPES_PER_TABLE: usize = 512;

/// Which statement a read runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read {
    /// `SELECT <record columns> …`
    Rows,
    /// `SELECT COUNT(*) …`
    Count,
}

impl Read {
    fn write<D: Dialect>(self, sql: &mut Sql<'_, D>, q: &ResolvedQuery) -> Result<(), StoreError> {
        match self {
            Read::Rows => select(sql, q),
            Read::Count => count(sql, q),
        }
    }
}

/// Binds a backend's values into its arguments.
pub(crate) type BindFn<A> = fn(&mut A, Value, ColumnType) -> Result<(), StoreError>;

/// Arguments of type `A` as the writer binds into them.
struct BindInto<'a, A> {
    args: &'a mut A,
    bind: BindFn<A>,
}

impl<A> Bind for BindInto<'_, A> {
    fn bind(&mut self, value: Value, ty: ColumnType) -> Result<(), StoreError> {
        (self.bind)(self.args, value, ty)
    }
}

/// A text kept for a shape, with the number of placeholders it holds.
#[derive(Debug, Clone)]
struct Kept {
    text: SqlText,
    params: usize,
}

/// The shapes kept for one table of one dialect.
type TableShapes<S> = HashMap<ShapeKey, Kept, S>;

/// Texts of reads by dialect, table and shape.
pub(crate) struct Texts<S = foldhash::fast::RandomState> {
    tables: RwLock<HashMap<(TypeId, usize), TableShapes<S>, S>>,
    per_table: usize,
}

/// The texts of this process's reads.
static TEXTS: LazyLock<Texts> = LazyLock::new(|| Texts::new(SHAPES_PER_TABLE));

/// The statement of `read` on `q`, its values bound with `bind` into new arguments: the text kept
/// for `q`'s shape, or written now (and kept while its table has room).
pub(crate) fn statement<D: Dialect + 'static, A: Default>(
    read: Read,
    q: &ResolvedQuery,
    now: DateTime<Utc>,
    bind: BindFn<A>,
) -> Result<(SqlText, A), StoreError> {
    TEXTS.statement::<D, A>(read, q, now, bind)
}

impl<S: BuildHasher + Default> Texts<S> {
    /// No texts yet; at most `per_table` shapes per table.
    pub(crate) fn new(per_table: usize) -> Self {
        Texts { tables: RwLock::new(HashMap::default()), per_table }
    }

    /// [`statement`] with these texts.
    pub(crate) fn statement<D: Dialect + 'static, A: Default>(
        &self,
        read: Read,
        q: &ResolvedQuery,
        now: DateTime<Utc>,
        bind: BindFn<A>,
    ) -> Result<(SqlText, A), StoreError> {
        let table = table_key::<D>(q.table);
        let key = ShapeKey::of::<D>(read, q);
        let (kept, room) = self.kept(table, &key);
        if let Some(kept) = kept {
            let mut args = A::default();
            let params = {
                let mut into = BindInto { args: &mut args, bind };
                let mut sql = Sql::<D>::binding_only(q.table, &mut into, now);
                read.write(&mut sql, q)?;
                sql.finish_binding()?
            };
            // Equal counts always, as the shape fixes the placeholders; a kept text that
            // disagreed would be written anew rather than run.
            if params == kept.params {
                #[cfg(debug_assertions)]
                check_kept::<D>(read, q, now, &kept.text);
                return Ok((kept.text, args));
            }
        }
        let mut args = A::default();
        let (text, params) = {
            let mut into = BindInto { args: &mut args, bind };
            let mut sql = Sql::<D>::new(q.table, &mut into, now);
            read.write(&mut sql, q)?;
            let params = sql.params;
            (sql.finish()?.shared(), params)
        };
        if room {
            self.keep(table, key, Kept { text: text.clone(), params });
        }
        Ok((text, args))
    }

    /// The text kept for `key`, and whether `table` has room for another shape: reads of shapes
    /// a full table does not keep never take the write lock.
    fn kept(&self, table: (TypeId, usize), key: &ShapeKey) -> (Option<Kept>, bool) {
        let tables = self.tables.read().unwrap_or_else(PoisonError::into_inner);
        match tables.get(&table) {
            Some(shapes) => (shapes.get(key).cloned(), shapes.len() < self.per_table),
            None => (None, true),
        }
    }

    fn keep(&self, table: (TypeId, usize), key: ShapeKey, kept: Kept) {
        let mut tables = self.tables.write().unwrap_or_else(PoisonError::into_inner);
        let shapes = tables.entry(table).or_default();
        if shapes.len() < self.per_table {
            shapes.entry(key).or_insert(kept);
        }
    }

    /// How many shapes are kept for `table` on dialect `D`.
    #[cfg(test)]
    pub(crate) fn len<D: Dialect + 'static>(&self, table: &'static TableDef) -> usize {
        let tables = self.tables.read().unwrap_or_else(PoisonError::into_inner);
        tables.get(&table_key::<D>(table)).map_or(0, HashMap::len)
    }
}

/// Panics when the text kept for `q`'s shape is not the text written for `q`: the shape misses
/// something the text depends on. Debug builds (the test suites) check every kept text they run.
#[cfg(debug_assertions)]
fn check_kept<D: Dialect>(read: Read, q: &ResolvedQuery, now: DateTime<Utc>, kept: &SqlText) {
    struct Discard;
    impl Bind for Discard {
        fn bind(&mut self, _: Value, _: ColumnType) -> Result<(), StoreError> {
            Ok(())
        }
    }
    let mut discard = Discard;
    let mut sql = Sql::<D>::new(q.table, &mut discard, now);
    let written = read.write(&mut sql, q).and_then(|()| sql.finish());
    let written = written.map(|text| text.as_str().to_owned());
    assert_eq!(written.as_deref().ok(), Some(kept.as_str()), "the text kept for a query's shape is not the query's");
}

/// Where the shapes of `table` on dialect `D` are kept: texts differ per dialect, and tables are
/// `'static`, so their address names them.
fn table_key<D: Dialect + 'static>(table: &'static TableDef) -> (TypeId, usize) {
    (TypeId::of::<D>(), std::ptr::from_ref(table) as usize)
}

/// What a read's text depends on, as a sequence of numbers: tags of kinds, addresses of the
/// model's `'static` columns, tables and names, flags and counts. Equal keys on one dialect and
/// table mean equal texts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ShapeKey(Vec<u64>);

impl ShapeKey {
    /// The shape of `read` on `q` for dialect `D`.
    ///
    /// Every field and variant is named, so a new one does not compile until it is placed here.
    pub(crate) fn of<D: Dialect>(read: Read, q: &ResolvedQuery) -> Self {
        let ResolvedQuery {
            table: _,
            condition,
            visibility,
            order,
            limit,
            offset,
            keyset,
            from_end,
            lock,
            all_rows: _,
        } = q;
        let mut key = ShapeKey(Vec::with_capacity(32));
        key.push(read as u64);
        key.option(condition.as_ref(), Self::condition::<D>);
        key.push(*visibility as u64);
        key.push(order.len() as u64);
        for Order { column, descending } in order {
            key.column(*column);
            key.flag(*descending);
        }
        for number in [limit, offset] {
            key.option(number.as_ref(), |key, n| {
                if D::PAGING_IN_TEXT {
                    key.push(*n);
                }
            });
        }
        key.option(keyset.as_ref(), |key, Keyset { after, before }| {
            key.push(after.len() as u64);
            key.flag(*before);
        });
        key.flag(*from_end);
        key.push(match lock {
            None => 0,
            Some(RowLock::ForUpdate) => 1,
            Some(RowLock::ForUpdateSkipLocked) => 2,
        });
        key
    }

    fn condition<D: Dialect>(&mut self, condition: &Condition) {
        match condition {
            Condition::Compare { column, op, value: _ } => {
                self.push(1);
                self.column(*column);
                self.push(*op as u64);
            }
            Condition::Like { column, pattern: _, case_insensitive, negated } => {
                self.push(2);
                self.column(*column);
                self.flag(*case_insensitive);
                self.flag(*negated);
            }
            Condition::In { column, values, negated } => {
                self.push(3);
                self.column(*column);
                self.flag(*negated);
                self.flag(values.is_empty());
                if D::LIST_PER_VALUE {
                    self.push(values.len() as u64);
                    self.flag(values.iter().any(is_infinite));
                }
            }
            Condition::IsNull { column, negated } => {
                self.push(4);
                self.column(*column);
                self.flag(*negated);
            }
            Condition::TagsAny(_) => self.push(5),
            Condition::TagsAll(_) => self.push(6),
            Condition::Array { column, values: _, all } => {
                self.push(7);
                self.column(*column);
                self.flag(*all);
            }
            Condition::Json { column, condition } => {
                self.push(8);
                self.column(*column);
                self.json(condition);
            }
            Condition::And(items) | Condition::Or(items) => {
                self.push(if matches!(condition, Condition::And(_)) { 9 } else { 10 });
                self.push(items.len() as u64);
                for item in items {
                    self.condition::<D>(item);
                }
            }
            Condition::Not(inner) => {
                self.push(11);
                self.condition::<D>(inner);
            }
            Condition::Related(related) => {
                let RelatedCondition { join: Join { from_column, to }, table, condition, scope } = &**related;
                self.push(12);
                self.name(from_column);
                match to {
                    JoinTo::Column(column) => {
                        self.push(0);
                        self.name(column);
                    }
                    JoinTo::Through { table, key, target } => {
                        self.push(1);
                        self.table(table);
                        self.name(key);
                        self.name(target);
                    }
                }
                self.table(table);
                self.option(scope.as_ref(), Self::condition::<D>);
                self.option(condition.as_ref(), Self::condition::<D>);
            }
        }
    }

    fn json(&mut self, condition: &JsonCondition) {
        match condition {
            JsonCondition::PathTextEq { path: _, value: _ } => self.push(1),
            JsonCondition::PathEq { path: _, value: _ } => self.push(2),
            JsonCondition::Contains(_) => self.push(3),
            JsonCondition::HasKey(_) => self.push(4),
            JsonCondition::PathCompare { path: _, op, value: _ } => {
                self.push(5);
                self.push(*op as u64);
            }
            JsonCondition::PathExists { path: _, negated } => {
                self.push(6);
                self.flag(*negated);
            }
        }
    }

    fn push(&mut self, n: u64) {
        self.0.push(n);
    }

    fn flag(&mut self, flag: bool) {
        self.push(u64::from(flag));
    }

    fn option<T>(&mut self, value: Option<&T>, each: impl FnOnce(&mut Self, &T)) {
        match value {
            None => self.push(0),
            Some(value) => {
                self.push(1);
                each(self, value);
            }
        }
    }

    /// A column by the address of its `'static` definition: one address is one definition.
    fn column(&mut self, column: ColumnRef) {
        match column {
            ColumnRef::Declared(c) => {
                self.push(1);
                self.push(std::ptr::from_ref(c) as u64);
            }
            ColumnRef::System(c) => {
                self.push(2);
                self.push(std::ptr::from_ref(c) as u64);
            }
        }
    }

    fn table(&mut self, table: &'static TableDef) {
        self.push(std::ptr::from_ref(table) as u64);
    }

    /// A name of the model's metadata, by address and length: one pair is one text.
    fn name(&mut self, name: &'static str) {
        self.push(name.as_ptr() as u64);
        self.push(name.len() as u64);
    }
}

fn is_infinite(value: &Value) -> bool {
    match value {
        Value::Real(x) => x.is_infinite(),
        Value::Double(x) => x.is_infinite(),
        _ => false,
    }
}
