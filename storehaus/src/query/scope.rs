//! The rows a store may reach: a principal scope (`#[table(auth)]`) and a tenant scope
//! (`#[tenant]`), as one filter that every statement of a scoped store carries.
//!
//! The filter is a [`Condition`], so it is written by the same SQL writer as any query
//! condition: queries get it ANDed in front of theirs, statements kept for many calls get it as
//! slots after the key, and rows kept outside the database (the cache) are tested against it
//! in Rust by [`Scope::admits`].

use super::resolved::{Assignment, ColumnRef, CompareOp, Condition, ResolvedQuery};
use crate::error::StoreError;
use crate::model::system::AUTH_COLUMN;
use crate::model::{TableDef, Write};
use crate::types::Value;
use std::borrow::Cow;
use std::sync::Arc;

/// The most principals one scope holds: the filter is one array parameter, but a list this long
/// is a sign of a bug rather than of a user's memberships.
pub const MAX_PRINCIPALS: usize = 1000;

/// The longest principal, in bytes: principals are identifiers (`user_123`, `team_7`), not data.
pub const MAX_PRINCIPAL_BYTES: usize = 1024;

/// A principal and/or tenant restriction, already checked against the model.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Scope {
    /// Rows whose `__auth__` holds any of these (never empty).
    pub principals: Option<Arc<[String]>>,
    /// Rows whose tenant column equals this (never `Null`; of the column's type).
    pub tenant: Option<Value>,
    /// The store said `unrestricted()`: a related table that needs a scope part this scope does
    /// not have is read without it, rather than refused.
    pub unrestricted: bool,
}

/// Which filters a scope has: selects the statements kept for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScopeShape {
    pub auth: bool,
    pub tenant: bool,
}

impl ScopeShape {
    /// No restriction.
    pub(crate) const NONE: ScopeShape = ScopeShape { auth: false, tenant: false };

    /// Every shape, in [`ScopeShape::index`] order.
    pub(crate) const ALL: [ScopeShape; 4] = [
        ScopeShape::NONE,
        ScopeShape { auth: true, tenant: false },
        ScopeShape { auth: false, tenant: true },
        ScopeShape { auth: true, tenant: true },
    ];

    pub(crate) fn index(self) -> usize {
        usize::from(self.auth) | (usize::from(self.tenant) << 1)
    }

    /// Whether a store of `table` can have this shape.
    pub(crate) fn fits(self, table: &TableDef) -> bool {
        (!self.auth || table.auth) && (!self.tenant || table.tenant.is_some())
    }

    /// The filter of this shape with placeholder values, for writing statements kept for many
    /// calls (each value becomes a slot of the same type).
    pub(crate) fn template(self, table: &'static TableDef) -> Option<Condition> {
        let scope = Scope {
            principals: self.auth.then(|| Arc::from(Vec::new())),
            tenant: self.tenant.then_some(Value::Null),
            unrestricted: false,
        };
        scope.condition(table)
    }
}

/// No restriction.
pub(crate) static UNSCOPED: Scope = Scope { principals: None, tenant: None, unrestricted: false };

impl Scope {
    pub(crate) fn shape(&self) -> ScopeShape {
        ScopeShape { auth: self.principals.is_some(), tenant: self.tenant.is_some() }
    }

    /// The filter, `None` for no restriction. The principal test comes first, then the tenant's:
    /// the order statements kept for many calls bind them in.
    pub(crate) fn condition(&self, table: &'static TableDef) -> Option<Condition> {
        let auth = self.principals.as_ref().map(|principals| Condition::Array {
            column: ColumnRef::System(AUTH_COLUMN),
            values: principals.iter().cloned().map(Value::Text).collect(),
            all: false,
        });
        let tenant = self.tenant.as_ref().map(|value| match table.tenant_column() {
            Some(column) => {
                Condition::Compare { column: ColumnRef::Declared(column), op: CompareOp::Eq, value: value.clone() }
            }
            // A tenant scope on a table without one (the store refuses it first) matches nothing.
            None => Condition::Or(Vec::new()),
        });
        match (auth, tenant) {
            (None, None) => None,
            (Some(one), None) | (None, Some(one)) => Some(one),
            (Some(auth), Some(tenant)) => Some(Condition::And(vec![auth, tenant])),
        }
    }

    /// `q` restricted to the scope: its condition ANDed after the scope's, so nothing in the
    /// query's own condition can widen it.
    pub(crate) fn restrict<'q>(&self, q: &'q ResolvedQuery) -> Cow<'q, ResolvedQuery> {
        let own = match &q.condition {
            Some(own) if own.mentions_related() => {
                let mut own = own.clone();
                self.scope_related(&mut own);
                Some(Cow::Owned(own))
            }
            own => own.as_ref().map(Cow::Borrowed),
        };
        let scope = self.condition(q.table);
        if scope.is_none() && matches!(own, None | Some(Cow::Borrowed(_))) {
            return Cow::Borrowed(q);
        }
        let condition = match (scope, own) {
            (None, own) => own.map(Cow::into_owned),
            (Some(scope), None) => Some(scope),
            (Some(scope), Some(own)) => Some(Condition::And(vec![scope, own.into_owned()])),
        };
        Cow::Owned(ResolvedQuery { condition, ..q.clone() })
    }

    /// Holds the related rows of every `EXISTS` in `condition` to this scope, as far as their
    /// table has its parts; a related table needing a part this scope lacks matches nothing
    /// (unless the store is unrestricted).
    fn scope_related(&self, condition: &mut Condition) {
        match condition {
            Condition::And(items) | Condition::Or(items) => items.iter_mut().for_each(|c| self.scope_related(c)),
            Condition::Not(inner) => self.scope_related(inner),
            Condition::Related(related) => {
                related.scope = match self.related(related.table) {
                    Ok(scope) => scope.condition(related.table),
                    Err(_) => Some(Condition::Or(Vec::new())),
                };
                if let Some(inner) = &mut related.condition {
                    self.scope_related(inner);
                }
            }
            _ => {}
        }
    }

    /// The scope of rows of `table` related to this scope's rows: the principals where `table` is
    /// `auth`, the tenant where it has one. A part `table` needs and this scope lacks is
    /// `AuthRequired` / `TenantRequired` naming `table`, unless the store is unrestricted.
    pub(crate) fn related(&self, table: &'static TableDef) -> Result<Scope, StoreError> {
        if table.auth && self.principals.is_none() && !self.unrestricted {
            return Err(StoreError::AuthRequired { table: table.name.to_owned() });
        }
        if table.tenant.is_some() && self.tenant.is_none() && !self.unrestricted {
            return Err(StoreError::TenantRequired { table: table.name.to_owned() });
        }
        Ok(Scope {
            principals: if table.auth { self.principals.clone() } else { None },
            tenant: if table.tenant.is_some() { self.tenant.clone() } else { None },
            unrestricted: self.unrestricted,
        })
    }

    /// The `__auth__` a row created under this scope gets: its first principal, or none.
    pub(crate) fn owner(&self) -> Value {
        let first = self.principals.as_ref().and_then(|p| p.first()).cloned();
        Value::Array(first.into_iter().map(Value::Text).collect())
    }

    /// Checks, and fills in, the tenant among the values `write` writes (in written-column order):
    /// a NULL tenant (an `Option` field left `None`) becomes the scope's; another value is refused.
    pub(crate) fn check_values(&self, table: &TableDef, write: Write, values: &mut [Value]) -> Result<(), StoreError> {
        let (Some(tenant), Some(column)) = (&self.tenant, table.tenant_column()) else { return Ok(()) };
        let Some(index) = table.written_columns(write).position(|c| c.name == column.name) else { return Ok(()) };
        let Some(value) = values.get_mut(index) else { return Ok(()) };
        if *value == Value::Null {
            *value = tenant.clone();
        }
        if value != tenant {
            return Err(StoreError::validation(
                column.name,
                format!("`{}` is the scope's tenant; a row cannot be written for another one", column.name),
            ));
        }
        Ok(())
    }

    /// Refuses an `update_where` assignment that would move rows to another tenant.
    pub(crate) fn check_assignments(&self, table: &TableDef, set: &[Assignment]) -> Result<(), StoreError> {
        let (Some(tenant), Some(column)) = (&self.tenant, table.tenant_column()) else { return Ok(()) };
        let moves = set.iter().any(|assignment| match assignment {
            Assignment::Set { column: c, value } => c.name == column.name && value != tenant,
            Assignment::Add { column: c, .. } => c.name == column.name,
        });
        match moves {
            true => Err(StoreError::validation(
                column.name,
                format!("`{}` is the scope's tenant; rows cannot be moved to another one", column.name),
            )),
            false => Ok(()),
        }
    }

    /// Whether a row laid out as the record columns of `table` is in the scope.
    pub(crate) fn admits(&self, table: &TableDef, row: &[Value]) -> bool {
        let principals_ok = self.principals.as_ref().is_none_or(|principals| {
            let index = table.system_columns().position(|c| c.name == AUTH_COLUMN.name);
            match index.and_then(|index| row.get(table.columns.len() + index)) {
                Some(Value::Array(held)) => {
                    held.iter().any(|v| matches!(v, Value::Text(p) if principals.iter().any(|q| q == p)))
                }
                _ => false,
            }
        });
        let tenant_ok = self
            .tenant
            .as_ref()
            .is_none_or(|tenant| table.tenant.and_then(|index| row.get(index)).is_some_and(|value| value == tenant));
        principals_ok && tenant_ok
    }
}
