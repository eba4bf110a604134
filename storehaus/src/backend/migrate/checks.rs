//! What a plan checks in a table's rows before anything runs: a change that would fail halfway
//! on the data (or leave an invalid index or key behind) is refused up front, naming a value.

use crate::backend::sql::{SqlText, quote_ident};
use crate::backend::{Backend, Connection};
use crate::error::StoreError;
use crate::model::TableDef;
use crate::schema::{ForeignKeySpec, IndexSpec, Planned, TableSchema};

/// Refuses `planned` when the rows of `existing` (a table that has rows) break a foreign key it
/// adds or validates, or a unique index it builds. Columns the plan adds hold only NULL yet and
/// need no look.
pub(super) async fn existing_rows<B: Backend>(
    connection: &mut Connection<B>,
    table: &TableDef,
    existing: &TableSchema,
    planned: &[Planned],
) -> Result<(), StoreError> {
    let present = |column: &str| existing.columns.iter().any(|c| c.name == column);
    let mut checked: Vec<&str> = Vec::new();
    for change in planned {
        match change {
            Planned::AddForeignKey(fk) | Planned::ValidateForeignKey(fk) => {
                if checked.contains(&fk.column) || !present(fk.column) {
                    continue;
                }
                checked.push(fk.column);
                if let Some(value) = orphan::<B>(connection, table.name, fk).await? {
                    return Err(refusal(
                        table,
                        fk.column.to_owned(),
                        format!(
                            "a row refers to the missing `{}` row with key {value:?} (among any others); delete \
                             those rows, set the column to NULL or add the parent rows, then migrate again",
                            fk.parent
                        ),
                    ));
                }
            }
            Planned::CreateIndex(index) if index.unique && index.columns.iter().all(|c| present(c)) => {
                if let Some(values) = duplicate::<B>(connection, table.name, index).await? {
                    let shown: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
                    return Err(refusal(
                        table,
                        index.columns.join(", "),
                        format!(
                            "the unique index `{}` cannot be built: more than one row holds ({}) (among any \
                             others); remove or change the duplicates, then migrate again",
                            index.name,
                            shown.join(", ")
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn refusal(table: &TableDef, column: String, reason: String) -> StoreError {
    StoreError::UnsafeMigration { table: table.name.to_owned(), column, reason }
}

/// One value of `fk`'s column, as text, that no parent row has as its key; `None` when every
/// non-NULL value has its parent.
async fn orphan<B: Backend>(
    connection: &mut Connection<B>,
    table: &str,
    fk: &ForeignKeySpec,
) -> Result<Option<String>, StoreError> {
    let (column, key) = (quote_ident(fk.column), quote_ident(fk.parent_key));
    let sql = SqlText::assembled(format!(
        "SELECT CAST(c.{column} AS TEXT) FROM {} AS c WHERE c.{column} IS NOT NULL AND NOT EXISTS \
         (SELECT 1 FROM {} AS p WHERE p.{key} = c.{column}) LIMIT 1",
        quote_ident(table),
        quote_ident(fk.parent),
    ));
    let row = sqlx::query(sql.into_sqlx()).fetch_optional(B::on_connection(connection)).await.map_err(B::error)?;
    row.map(|row| B::read::<String>(&row, 0))
        .transpose()
        .map_err(|message| StoreError::Decode { column: fk.column.to_owned(), message })
}

/// The values, as text, of one combination of `index`'s columns that more than one row holds;
/// `None` when the index can be built. Rows with a NULL in any of the columns never collide,
/// as in the index itself.
async fn duplicate<B: Backend>(
    connection: &mut Connection<B>,
    table: &str,
    index: &IndexSpec,
) -> Result<Option<Vec<String>>, StoreError> {
    let columns: Vec<String> = index.columns.iter().map(|c| quote_ident(c)).collect();
    let shown: Vec<String> = columns.iter().map(|c| format!("CAST({c} AS TEXT)")).collect();
    let not_null: Vec<String> = columns.iter().map(|c| format!("{c} IS NOT NULL")).collect();
    let sql = SqlText::assembled(format!(
        "SELECT {} FROM {} WHERE {} GROUP BY {} HAVING COUNT(*) > 1 LIMIT 1",
        shown.join(", "),
        quote_ident(table),
        not_null.join(" AND "),
        columns.join(", "),
    ));
    let row = sqlx::query(sql.into_sqlx()).fetch_optional(B::on_connection(connection)).await.map_err(B::error)?;
    let Some(row) = row else { return Ok(None) };
    (0..columns.len())
        .map(|i| {
            B::read::<String>(&row, i)
                .map_err(|message| StoreError::Decode { column: index.columns[i].to_owned(), message })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}
