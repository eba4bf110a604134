//! Row-level access: principal (`auth`) and tenant scopes on every path of `GenericStore`, on
//! PostgreSQL and on SQLite.
//!
//! A row out of scope must behave exactly like a missing row, and every claim that a row was left
//! alone is checked with raw SQL.

use storehaus::prelude::*;

mod batches;
mod cache;
mod explain;
mod methods;
mod oracle;
mod queries;
mod row_security;
mod signals;
mod support;

/// Principal scope, soft delete, versions, a unique column.
#[model]
#[table(name = "projects", auth, soft_delete, versioned)]
#[derive(PartialEq)]
pub struct Project {
    #[primary_key]
    pub id: Uuid,
    #[unique]
    pub name: String,
    pub stars: i32,
}

/// Principal and tenant scope.
#[model]
#[table(name = "invoices", auth)]
#[derive(PartialEq)]
pub struct Invoice {
    #[primary_key]
    pub id: Uuid,
    #[tenant]
    pub org_id: Uuid,
    pub total: i64,
}

/// Tenant scope only, an integer key.
#[model]
#[table(name = "notes", soft_delete)]
#[derive(PartialEq)]
pub struct Note {
    #[primary_key]
    pub id: i64,
    #[tenant]
    pub org: String,
    pub body: String,
}

/// Row-level security on PostgreSQL.
#[model]
#[table(name = "secure_docs", auth, row_security)]
#[derive(PartialEq)]
pub struct SecureDoc {
    #[primary_key]
    pub id: Uuid,
    #[tenant]
    pub org_id: Uuid,
    pub title: String,
}
