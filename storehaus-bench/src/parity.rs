//! Checks that the statements the raw contenders send as "StoreHaus's SQL" are the very texts
//! StoreHaus prepared, and shows what every pool prepared (`--show-sql`).
//!
//! Statements are collected after every workload: a connection can leave a pool (the signal
//! manager's listener takes one and closes it on shutdown), taking its statements with it.

use crate::Result;
use crate::setup::Bench;
use crate::sql::SHARED_WITH_STOREHAUS;
use sqlx::PgPool;
use std::collections::BTreeSet;

/// What each pool-based contender has prepared so far.
#[derive(Debug, Default)]
pub struct Prepared {
    storehaus: BTreeSet<String>,
    sqlx: BTreeSet<String>,
    sea_orm: BTreeSet<String>,
}

/// Adds the statements prepared on the idle connections of `pool` (all of them, between
/// workloads) to `into`.
async fn collect_from(pool: &PgPool, into: &mut BTreeSet<String>) -> Result<()> {
    let mut connections = Vec::new();
    while pool.num_idle() > 0 {
        connections.push(pool.acquire().await?);
    }
    for connection in &mut connections {
        let texts: Vec<String> =
            sqlx::query_scalar("SELECT statement FROM pg_prepared_statements").fetch_all(&mut **connection).await?;
        into.extend(texts);
    }
    Ok(())
}

/// Shortens the long multi-row VALUES texts for printing.
fn shorten(sql: &str) -> String {
    const KEEP: usize = 300;
    match sql.char_indices().nth(KEEP) {
        Some((cut, _)) => format!("{}… ({} bytes)", &sql[..cut], sql.len()),
        None => sql.to_owned(),
    }
}

impl Prepared {
    pub async fn collect(&mut self, b: &Bench) -> Result<()> {
        let storehaus = b.storehaus.pool().as_postgres().ok_or("StoreHaus runs on PostgreSQL here")?;
        collect_from(storehaus, &mut self.storehaus).await?;
        collect_from(&b.sqlx, &mut self.sqlx).await?;
        collect_from(b.sea.get_postgres_connection_pool(), &mut self.sea_orm).await
    }

    pub fn print(&self) {
        for (who, statements) in [("storehaus", &self.storehaus), ("sqlx", &self.sqlx), ("sea-orm", &self.sea_orm)] {
            println!("\nStatements {who} prepared:");
            for sql in statements.iter().filter(|sql| !sql.contains("pg_prepared_statements")) {
                println!("  {}", shorten(sql));
            }
        }
    }

    /// Fails when sqlx sent a statement claimed to be StoreHaus's that StoreHaus never prepared.
    pub fn check(&self) -> Result<()> {
        let mut mismatched = Vec::new();
        let mut confirmed = 0;
        for sql in SHARED_WITH_STOREHAUS {
            match (self.sqlx.contains(*sql), self.storehaus.contains(*sql)) {
                (true, true) => confirmed += 1,
                (true, false) => mismatched.push(*sql),
                // Not sent in this run (its workload was filtered out).
                (false, _) => {}
            }
        }
        if mismatched.is_empty() {
            println!(
                "\nSQL parity: {confirmed} statements sqlx sent as StoreHaus's are byte-identical to ones it prepared."
            );
            Ok(())
        } else {
            Err(format!("sqlx sent statements StoreHaus did not prepare: {mismatched:#?}").into())
        }
    }
}
