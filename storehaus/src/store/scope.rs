//! Row-level access: the principal and tenant scopes of a store, and the one gate every call
//! passes through before it reaches the table.

use super::GenericStore;
use crate::backend::Cx;
use crate::error::{Result, StoreError};
use crate::model::Model;
use crate::model::system::AUTH;
use crate::query::{MAX_PRINCIPAL_BYTES, MAX_PRINCIPALS, Scope, UNSCOPED};
use crate::types::{SqlType, Value};
use std::sync::Arc;

/// What a store was told about access: the scope it applies, whether a missing scope is
/// intended, and the first mistake made while scoping it (reported by every call).
#[derive(Debug, Clone, Default)]
pub(super) struct Access {
    scope: Scope,
    unrestricted: bool,
    invalid: Option<StoreError>,
}

impl Access {
    fn refuse(&mut self, error: StoreError) {
        self.invalid.get_or_insert(error);
    }

    pub(super) fn scope(&self) -> &Scope {
        &self.scope
    }
}

impl<T: Model> GenericStore<T> {
    /// The same store, seeing only rows whose `__auth__` holds `principal`; rows it creates get
    /// `__auth__ = [principal]`. For `#[table(auth)]` models.
    ///
    /// A row out of scope is indistinguishable from a missing one: reads return `None`, writes
    /// by key `NotFound` (with the text of a missing key), query writes leave it alone. See
    /// `docs/access.md`.
    pub fn auth(&self, principal: impl Into<String>) -> Self {
        self.auth_any([principal.into()])
    }

    /// The same store, seeing rows whose `__auth__` holds any of `principals` (a user and the
    /// groups it belongs to); rows it creates get the first principal only.
    pub fn auth_any<S: Into<String>>(&self, principals: impl IntoIterator<Item = S>) -> Self {
        let principals: Vec<String> = principals.into_iter().map(Into::into).collect();
        let mut store = self.clone();
        match checked_principals::<T>(principals) {
            Ok(principals) => store.access.scope.principals = Some(principals),
            Err(error) => store.access.refuse(error),
        }
        store
    }

    /// The same store, seeing only rows whose `#[tenant]` field equals `value`; rows it creates
    /// get that tenant, and no write can move a row to another.
    pub fn tenant<V: SqlType>(&self, value: V) -> Self {
        let mut store = self.clone();
        match checked_tenant::<T, V>(&value) {
            Ok(value) => store.access.scope.tenant = Some(value),
            Err(error) => store.access.refuse(error),
        }
        store
    }

    /// The same store, allowed to run without the scopes its model asks for (admin and system
    /// code): it sees and writes every row its other scopes, if any, allow. Rows it creates on an
    /// `auth` model are visible to no principal until [`GenericStore::grant`]ed.
    pub fn unrestricted(&self) -> Self {
        let mut store = self.clone();
        store.access.unrestricted = true;
        store.access.scope.unrestricted = true;
        store
    }

    /// Scopes the open transaction of `conn` to this store's scope, so that hand-written SQL on a
    /// `#[table(row_security)]` model sees only the rows the store would (PostgreSQL).
    ///
    /// Call it inside a transaction (`pool.as_postgres()` → `begin()`): the settings are local to
    /// it and end with its commit or rollback, so the pooled connection carries nothing to its
    /// next borrower. Outside a transaction they last for this one statement only. Fails like any
    /// call of the store without the scope its model requires.
    ///
    /// ```no_run
    /// # async fn run<T: storehaus::Model>(projects: storehaus::GenericStore<T>) -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = projects.pool().as_postgres().unwrap().clone();
    /// let mut tx = pool.begin().await?;
    /// projects.auth("user_1").scope_connection(&mut tx).await?;
    /// // Hand-written SQL in `tx` now sees only user_1's rows.
    /// tx.commit().await?;
    /// # Ok(()) }
    /// ```
    pub async fn scope_connection(&self, conn: &mut sqlx::PgConnection) -> Result<()> {
        let cx = self.cx()?;
        crate::backend::scope_pg_connection(conn, cx.scope).await
    }

    /// Where the store's calls run and the rows they may reach; the one way to the table, so a
    /// call without the scope its model requires runs nothing.
    pub(crate) fn cx(&self) -> Result<Cx<'_>> {
        let access = &self.access;
        if let Some(error) = &access.invalid {
            return Err(error.clone());
        }
        let table = T::TABLE;
        if table.auth && access.scope.principals.is_none() && !access.unrestricted {
            return Err(StoreError::AuthRequired { table: table.name.to_owned() });
        }
        if table.tenant.is_some() && access.scope.tenant.is_none() && !access.unrestricted {
            return Err(StoreError::TenantRequired { table: table.name.to_owned() });
        }
        Ok(Cx { tx: self.tx(), scope: &access.scope })
    }

    /// [`GenericStore::cx`] without the scope, for reads whose rows are tested against it
    /// afterwards (the cache keeps rows whatever their scope).
    pub(crate) fn unscoped_cx(&self) -> Result<Cx<'_>> {
        let cx = self.cx()?;
        Ok(Cx { scope: &UNSCOPED, ..cx })
    }
}

fn checked_principals<T: Model>(principals: Vec<String>) -> Result<Arc<[String]>> {
    let table = T::TABLE;
    if !table.auth {
        return Err(StoreError::Validation {
            field: None,
            message: format!("`{}` is not #[table(auth)]; a principal scope does not apply to it", table.name),
        });
    }
    if principals.is_empty() {
        return Err(StoreError::validation(AUTH, "a principal scope needs at least one principal"));
    }
    if principals.len() > MAX_PRINCIPALS {
        return Err(StoreError::validation(
            AUTH,
            format!("a principal scope holds at most {MAX_PRINCIPALS} principals"),
        ));
    }
    principals.iter().try_for_each(|p| check_principal(p))?;
    Ok(principals.into())
}

/// Refuses a principal no row could hold: empty, with a NUL byte, or longer than
/// [`MAX_PRINCIPAL_BYTES`].
pub(super) fn check_principal(principal: &str) -> Result<()> {
    let invalid = |message: String| Err(StoreError::validation(AUTH, message));
    if principal.is_empty() {
        return invalid("a principal cannot be empty".to_owned());
    }
    if principal.contains('\0') {
        return invalid("a principal cannot contain a NUL byte".to_owned());
    }
    if principal.len() > MAX_PRINCIPAL_BYTES {
        return invalid(format!("a principal is at most {MAX_PRINCIPAL_BYTES} bytes"));
    }
    Ok(())
}

fn checked_tenant<T: Model, V: SqlType>(value: &V) -> Result<Value> {
    let table = T::TABLE;
    let Some(column) = table.tenant_column() else {
        return Err(StoreError::Validation {
            field: None,
            message: format!("`{}` has no #[tenant] field; a tenant scope does not apply to it", table.name),
        });
    };
    let invalid = |message: String| Err(StoreError::validation(column.name, message));
    if V::COLUMN_TYPE != column.ty {
        return invalid(format!("the tenant scope's value must have the type of `{}`", column.name));
    }
    let value = value.to_value().map_err(|e| StoreError::validation(column.name, e.to_string()))?;
    if value == Value::Null {
        return invalid("a tenant scope needs a value, not NULL".to_owned());
    }
    if let Value::Text(text) = &value
        && text.contains('\0')
    {
        return invalid("a tenant cannot contain a NUL byte".to_owned());
    }
    Ok(value)
}
