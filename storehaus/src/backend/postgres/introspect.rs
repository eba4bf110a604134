//! Reading a table's columns and indexes from the PostgreSQL catalog.

use super::types::from_typname;
use crate::backend::sql::{SqlText, quote_ident};
use crate::model::OnDelete;
use crate::schema::{ExistingColumn, ExistingForeignKey, ExistingIndex, TableSchema};
use sqlx::{PgConnection, Row};

/// Columns of a table in the current schema, in order; none when the table does not exist.
const COLUMNS: &str = "\
SELECT a.attname::text, t.typname::text, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
  a.attidentity <> ''
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
WHERE n.nspname = current_schema() AND c.relname = $1 AND c.relkind IN ('r', 'p')
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum";

/// Plain-column indexes of a table in the current schema, with their columns in key order,
/// their names, and whether they are valid (a failed concurrent build leaves one invalid).
const INDEXES: &str = "\
SELECT ix.indisunique, array_agg(a.attname::text ORDER BY k.ord), ci.relname::text, ix.indisvalid
FROM pg_catalog.pg_index ix
JOIN pg_catalog.pg_class c ON c.oid = ix.indrelid
JOIN pg_catalog.pg_class ci ON ci.oid = ix.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE n.nspname = current_schema() AND c.relname = $1 AND ix.indpred IS NULL
GROUP BY ix.indexrelid, ix.indisunique, ci.relname, ix.indisvalid
HAVING bool_and(k.attnum > 0)";

/// Names of the check constraints of a table in the current schema (range guards among them).
const CHECKS: &str = "\
SELECT con.conname::text
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relname = $1 AND con.contype = 'c'";

/// Single-column foreign keys of a table in the current schema: name, column, referenced table
/// (qualified when in another schema) and column, `ON DELETE` action code, and whether validated.
const FOREIGN_KEYS: &str = "\
SELECT con.conname::text, a.attname::text,
  CASE WHEN pc.relnamespace = c.relnamespace THEN pc.relname::text
       ELSE pn.nspname::text || '.' || pc.relname::text END,
  pa.attname::text, con.confdeltype::text, con.convalidated
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_class pc ON pc.oid = con.confrelid
JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
JOIN pg_catalog.pg_attribute pa ON pa.attrelid = con.confrelid AND pa.attnum = con.confkey[1]
WHERE n.nspname = current_schema() AND c.relname = $1 AND con.contype = 'f'
  AND cardinality(con.conkey) = 1
ORDER BY con.conname";

/// The action of a `pg_constraint.confdeltype` code, if StoreHaus declares it.
fn on_delete(code: &str) -> Option<OnDelete> {
    match code {
        "r" => Some(OnDelete::Restrict),
        "c" => Some(OnDelete::Cascade),
        "n" => Some(OnDelete::SetNull),
        // `a` (NO ACTION) and `d` (SET DEFAULT).
        _ => None,
    }
}

/// What the catalog says of `table`, or `None` when it does not exist.
pub(crate) async fn table_schema(conn: &mut PgConnection, table: &str) -> Result<Option<TableSchema>, sqlx::Error> {
    let rows = sqlx::query(COLUMNS).bind(table).fetch_all(&mut *conn).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let columns = rows
        .iter()
        .map(|row| {
            let typname: String = row.try_get(1)?;
            Ok(ExistingColumn {
                name: row.try_get(0)?,
                ty: from_typname(&typname),
                type_name: row.try_get(2)?,
                nullable: row.try_get(3)?,
                generated: row.try_get(4)?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let indexes = sqlx::query(INDEXES)
        .bind(table)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| {
            Ok(ExistingIndex {
                unique: row.try_get(0)?,
                columns: row.try_get(1)?,
                name: row.try_get(2)?,
                valid: row.try_get(3)?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let checks = sqlx::query_scalar(CHECKS).bind(table).fetch_all(&mut *conn).await?;
    let foreign_keys = sqlx::query(FOREIGN_KEYS)
        .bind(table)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| {
            Ok(ExistingForeignKey {
                name: row.try_get(0)?,
                column: row.try_get(1)?,
                parent: row.try_get(2)?,
                parent_key: Some(row.try_get(3)?),
                on_delete: on_delete(row.try_get::<&str, _>(4)?),
                validated: row.try_get(5)?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let probe = SqlText::assembled(format!("SELECT 1 FROM {} LIMIT 1", quote_ident(table)));
    let has_rows = sqlx::query(probe.into_sqlx()).fetch_optional(&mut *conn).await?.is_some();
    Ok(Some(TableSchema { columns, indexes, checks, foreign_keys, has_rows }))
}

/// Row-level security of a table in the current schema, and the policy named `$2` on it.
const ROW_SECURITY: &str = "\
SELECT c.relrowsecurity, c.relforcerowsecurity, p.polname IS NOT NULL,
  COALESCE(p.polcmd = '*' AND p.polpermissive AND p.polroles = '{0}'::oid[], false),
  pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid),
  obj_description(p.oid, 'pg_policy'),
  (SELECT count(*) FROM pg_catalog.pg_policy o WHERE o.polrelid = c.oid AND o.polname <> $2)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_policy p ON p.polrelid = c.oid AND p.polname = $2
WHERE n.nspname = current_schema() AND c.relname = $1 AND c.relkind IN ('r', 'p')";

/// Whether a table enforces row-level security, and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RowSecurityState {
    /// `ENABLE ROW LEVEL SECURITY`.
    pub enabled: bool,
    /// `FORCE ROW LEVEL SECURITY`: the owner is held to the policies too.
    pub forced: bool,
    /// The policy asked about, if it exists.
    pub policy: Option<PolicyState>,
    /// How many other policies the table has.
    pub other_policies: i64,
}

/// A policy as the catalog holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PolicyState {
    /// Permissive, for every command, for every role.
    pub plain: bool,
    /// `USING`, as PostgreSQL prints it.
    pub using: Option<String>,
    /// `WITH CHECK`, as PostgreSQL prints it.
    pub check: Option<String>,
    /// `COMMENT ON POLICY`.
    pub comment: Option<String>,
}

/// The row-level security of `table` with its policy `policy`, or `None` when the table does not
/// exist.
pub(crate) async fn row_security(
    conn: &mut PgConnection,
    table: &str,
    policy: &str,
) -> Result<Option<RowSecurityState>, sqlx::Error> {
    let Some(row) = sqlx::query(ROW_SECURITY).bind(table).bind(policy).fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    let exists: bool = row.try_get(2)?;
    let policy = match exists {
        true => Some(PolicyState {
            plain: row.try_get(3)?,
            using: row.try_get(4)?,
            check: row.try_get(5)?,
            comment: row.try_get(6)?,
        }),
        false => None,
    };
    Ok(Some(RowSecurityState {
        enabled: row.try_get(0)?,
        forced: row.try_get(1)?,
        policy,
        other_policies: row.try_get(7)?,
    }))
}
