//! The scopes calls go through, and which rows each may see.

use storehaus::prelude::*;

use super::subjects::Subject;
use super::table::Row;

/// Scopes name the first three; the last one appears only in seeded rows and grants. Commas,
/// braces, quotes, backslashes and `NULL` are what a text-array literal would get wrong.
pub(super) const PRINCIPALS: [&str; 4] = ["p0", "a,b {c}", "NULL", "q\"uote\\"];

#[derive(Debug, Clone)]
pub(super) struct Scope {
    pub(super) unrestricted: bool,
    /// Indexes into `PRINCIPALS`; the first one is what creates write.
    pub(super) principals: Vec<usize>,
    pub(super) tenant: Option<usize>,
    /// Whether `tenant` is applied before `auth` (scopes combine in any order).
    pub(super) tenant_first: bool,
}

impl Scope {
    pub(super) fn store<S: Subject>(&self, base: &GenericStore<S>) -> GenericStore<S> {
        let store = if self.unrestricted { base.unrestricted() } else { base.clone() };
        let tenant = |s: GenericStore<S>| match self.tenant {
            Some(t) => S::with_tenant(s, t),
            None => s,
        };
        let auth = |s: GenericStore<S>| match self.principals.as_slice() {
            [] => s,
            [p] => s.auth(PRINCIPALS[*p]),
            list => s.auth_any(list.iter().map(|p| PRINCIPALS[*p])),
        };
        if self.tenant_first { auth(tenant(store)) } else { tenant(auth(store)) }
    }

    /// The errors a call may fail with before running anything; empty when it runs.
    pub(super) fn refusals<S: Subject>(&self) -> Vec<&'static str> {
        let mut kinds = Vec::new();
        if S::AUTH && !self.unrestricted && self.principals.is_empty() {
            kinds.push("AuthRequired");
        }
        if S::TENANTED && !self.unrestricted && self.tenant.is_none() {
            kinds.push("TenantRequired");
        }
        kinds
    }

    /// Whether the row is in scope (live or soft-deleted).
    pub(super) fn sees<S: Subject>(&self, row: &Row) -> bool {
        self.tenant.is_none_or(|t| row.org == S::tenant_text(t))
            && (self.principals.is_empty()
                || self.principals.iter().any(|p| row.auth.iter().any(|a| a == PRINCIPALS[*p])))
    }

    pub(super) fn created_auth(&self) -> Vec<String> {
        self.principals.first().map(|p| vec![PRINCIPALS[*p].to_owned()]).unwrap_or_default()
    }
}
