//! What the database holds, read with raw SQL: the history of migration files, and whether
//! tables and indexes exist.

use storehaus::StoreHaus;
use storehaus_suite::{TestBackend, raw};

/// A row of `storehaus_migrations`: `(version, name, checksum, finished)`.
pub type HistoryRow = (i64, String, String, bool);

/// The history, oldest first; `None` when the history table does not exist.
pub async fn history<B: TestBackend>(storehaus: &StoreHaus) -> Option<Vec<HistoryRow>> {
    if !table_exists::<B>(storehaus, "storehaus_migrations").await {
        return None;
    }
    let sql =
        "SELECT \"version\", \"name\", \"checksum\", \"finished\" FROM \"storehaus_migrations\" ORDER BY \"version\"";
    Some(raw::rows(storehaus, sql).await)
}

/// Whether the table `name` exists (in the current schema, on PostgreSQL).
pub async fn table_exists<B: TestBackend>(storehaus: &StoreHaus, name: &str) -> bool {
    let sql = if B::NAME == "postgres" {
        format!(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '{name}'"
        )
    } else {
        format!("SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = '{name}'")
    };
    raw::int(storehaus, &sql).await == 1
}

/// `(name, valid)` of each index of `table` whose definition mentions `column` (SQLite has no
/// invalid indexes: every one it lists is valid).
pub async fn indexes_on<B: TestBackend>(storehaus: &StoreHaus, table: &str, column: &str) -> Vec<(String, bool)> {
    let sql = if B::NAME == "postgres" {
        format!(
            "SELECT CAST(c.relname AS TEXT), i.indisvalid FROM pg_index i
             JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
             WHERE t.relname = '{table}' AND pg_get_indexdef(i.indexrelid) LIKE '%{column}%' ORDER BY 1"
        )
    } else {
        format!(
            "SELECT name, 1 = 1 FROM sqlite_schema
             WHERE type = 'index' AND tbl_name = '{table}' AND sql LIKE '%{column}%' ORDER BY 1"
        )
    };
    raw::rows(storehaus, &sql).await
}
