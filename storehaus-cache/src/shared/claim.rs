//! [`Claims`]: locks held by one owner at a time (`SET NX PX`).

use std::time::Duration;

use super::error::{SharedResult, SharedStoreError};
use super::keys::{Namespace, check_name};
use super::{SharedStore, check_ttl};

/// A claim taken with [`Claims::once`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    key: String,
    owner: String,
    ttl: Duration,
}

impl Claim {
    /// The claimed key, as given to [`Claims::once`].
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Who holds it.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// How long it was taken for.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }
}

/// Claims of a [`SharedStore`], under `<…>:claim:<key>`, holding the owner's name.
///
/// A claim ends when its owner releases it or its TTL runs out, so a holder that dies cannot
/// block the key for ever. The owner name is what proves ownership: give each worker its own.
#[derive(Debug, Clone, Copy)]
pub struct Claims<'a> {
    store: &'a SharedStore,
}

impl<'a> Claims<'a> {
    pub(super) fn new(store: &'a SharedStore) -> Self {
        Claims { store }
    }

    /// Claims `key` for `owner` for `ttl`; `None` when someone holds it.
    pub async fn once(&self, key: &str, owner: &str, ttl: Duration) -> SharedResult<Option<Claim>> {
        let full = self.store.key_for("key", Namespace::Claim, key)?;
        check_name("owner", owner)?;
        check_ttl(ttl)?;
        let taken =
            self.store.call("claim.once", self.store.inner.adapter.set_if_absent(&full, owner.as_bytes(), ttl)).await?;
        Ok(taken.then(|| Claim { key: key.to_owned(), owner: owner.to_owned(), ttl }))
    }

    /// Releases `key` if `owner` holds it; returns whether it did.
    pub async fn release(&self, key: &str, owner: &str) -> SharedResult<bool> {
        let full = self.store.key_for("key", Namespace::Claim, key)?;
        check_name("owner", owner)?;
        self.store.call("claim.release", self.store.inner.adapter.compare_and_delete(&full, owner.as_bytes())).await
    }

    /// Makes the claim on `key` last `ttl` from now if `owner` holds it; returns whether it did.
    pub async fn extend(&self, key: &str, owner: &str, ttl: Duration) -> SharedResult<bool> {
        let full = self.store.key_for("key", Namespace::Claim, key)?;
        check_name("owner", owner)?;
        check_ttl(ttl)?;
        let call = self.store.inner.adapter.compare_and_expire(&full, owner.as_bytes(), ttl);
        self.store.call("claim.extend", call).await
    }

    /// Who holds `key`, if anyone.
    pub async fn owner(&self, key: &str) -> SharedResult<Option<String>> {
        let full = self.store.key_for("key", Namespace::Claim, key)?;
        let raw = self.store.call("claim.owner", self.store.inner.adapter.get(&full)).await?;
        raw.map(|raw| String::from_utf8(raw).map_err(|_| SharedStoreError::payload(key, "the owner is not UTF-8")))
            .transpose()
    }
}
