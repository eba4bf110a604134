//! Related rows for a load: the statement of one relation level, run on the pool or the
//! store's transaction, its rows read as records with the value they were looked up by.

use super::executor::{Db, Executor, RowReader, tx_cell};
use super::sql::{self, Sql};
use super::table::write_statement;
use super::{Backend, TxHandle};
use crate::error::StoreError;
use crate::model::ColumnDef;
use crate::model::{Model, Record, read_record};
use crate::query::resolved::ColumnRef;
use crate::query::resolved::ResolvedQuery;
use crate::relation::Join;
use crate::relation::JoinTo;
use crate::types::{SqlType, Value};

/// One relation level of a load: the related table's query (its filters, scope, order and
/// per-parent paging), where it joins, and the looked-up values.
#[derive(Debug, Clone)]
pub(crate) struct RelatedQuery {
    pub q: ResolvedQuery,
    pub join: Join,
    /// The values looked up, bound as one array parameter.
    pub keys: Vec<Value>,
}

/// Records of one table with one relation loaded in the same statement (`LEFT JOIN`).
#[derive(Debug, Clone)]
pub(crate) struct JoinedQuery {
    /// The records' query, restricted to the store's scope.
    pub parent: ResolvedQuery,
    /// The related table's query (filters, scope, order), restricted to the scope.
    pub child: ResolvedQuery,
    pub join: Join,
}

/// The executor of a call on `db`: its transaction when given, else the pool.
fn executor<'a, B: Backend>(db: &'a Db<B>, tx: Option<&'a dyn TxHandle>) -> Result<Executor<'a, B>, StoreError> {
    Ok(match tx {
        Some(tx) => Executor::Tx(tx_cell::<B>(tx)?),
        None => Executor::Pool(db),
    })
}

/// Hands each related record of `r` to `sink` as its row arrives, with the value it was looked
/// up by: a column of the record itself, or, through a join table, the column the statement
/// adds after the record's.
pub(crate) async fn fetch<B: Backend, C: Model, K: SqlType>(
    db: &Db<B>,
    tx: Option<&dyn TxHandle>,
    r: &RelatedQuery,
    mut sink: impl FnMut(Record<C>, K) + Send,
) -> Result<(), StoreError> {
    let exec = executor(db, tx)?;
    let (text, args) = write_statement::<B>(r.q.table, exec.now(), |s: &mut Sql<'_, B>| sql::related(s, r))?;
    let key_at = match r.join.to {
        JoinTo::Column(column) => {
            let column = ColumnRef::find(r.q.table, column).ok_or_else(|| StoreError::UnknownField {
                table: r.q.table.name.to_owned(),
                field: column.to_owned(),
            })?;
            Some((sql::record_column_index(r.q.table, column), column.name()))
        }
        JoinTo::Through { .. } => None,
    };
    exec.fetch_each(text, args, |row| {
        let mut reader = RowReader::<B>::new(row);
        let record = read_record::<C, _>(&mut reader)?;
        let key = match key_at {
            Some((index, name)) => {
                B::read::<K>(row, index).map_err(|message| StoreError::Decode { column: name.to_owned(), message })?
            }
            None => crate::model::RowReader::read::<K>(&mut reader)?,
        };
        sink(record, key);
        Ok(())
    })
    .await
}

/// How many related rows of `r` each looked-up value has (values without any are left out).
pub(crate) async fn count<B: Backend, K: SqlType>(
    db: &Db<B>,
    tx: Option<&dyn TxHandle>,
    r: &RelatedQuery,
) -> Result<Vec<(K, u64)>, StoreError> {
    let exec = executor(db, tx)?;
    let (text, args) = write_statement::<B>(r.q.table, exec.now(), |s: &mut Sql<'_, B>| sql::related_count(s, r))?;
    let rows = exec.fetch_all(text, args).await?;
    rows.iter()
        .map(|row| {
            let mut reader = RowReader::<B>::new(row);
            let key = crate::model::RowReader::read::<K>(&mut reader)?;
            let count = crate::model::RowReader::read::<i64>(&mut reader)?;
            Ok((key, u64::try_from(count).unwrap_or_default()))
        })
        .collect()
}

/// The records of `j` with their related records: rows of one record are adjacent (the order
/// ends with the key), so each record is read once, from the first of its rows, and every row
/// is read as it arrives.
pub(crate) async fn fetch_joined<B: Backend, P: Model, C: Model>(
    db: &Db<B>,
    tx: Option<&dyn TxHandle>,
    j: &JoinedQuery,
) -> Result<Vec<(Record<P>, Vec<Record<C>>)>, StoreError> {
    let exec = executor(db, tx)?;
    let (text, args) = write_statement::<B>(j.parent.table, exec.now(), |s: &mut Sql<'_, B>| sql::joined(s, j))?;
    let width = sql::record_columns(P::TABLE).count();
    let keys: Vec<(usize, &ColumnDef)> = P::TABLE.columns.iter().enumerate().filter(|(_, c)| c.primary_key).collect();
    let child_key = C::TABLE.primary_key();
    let child_key_at = width + C::TABLE.columns.iter().position(|c| c.name == child_key.name).unwrap_or_default();
    let read = |row: &B::Row, index: usize, column: &ColumnDef| {
        B::read_value(row, index, column.ty)
            .map_err(|message| StoreError::Decode { column: column.name.to_owned(), message })
    };
    let mut out: Vec<(Record<P>, Vec<Record<C>>)> = Vec::new();
    // The key of the record of the previous row: one value, or several for a composite key.
    let mut last: Vec<Value> = Vec::with_capacity(keys.len());
    exec.fetch_each(text, args, |row| {
        let same = !out.is_empty()
            && keys
                .iter()
                .zip(&last)
                .all(|(&(index, column), value)| read(row, index, column).is_ok_and(|v| &v == value));
        if !same {
            last.clear();
            for &(index, column) in &keys {
                last.push(read(row, index, column)?);
            }
            out.push((read_record::<P, _>(&mut RowReader::<B>::new(row))?, Vec::new()));
        }
        if !read(row, child_key_at, child_key)?.is_null()
            && let Some((_, related)) = out.last_mut()
        {
            related.push(read_record::<C, _>(&mut RowReader::<B>::at(row, width))?);
        }
        Ok(())
    })
    .await?;
    Ok(out)
}
