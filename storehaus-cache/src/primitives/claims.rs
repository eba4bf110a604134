//! Claims: short-lived exclusive locks (`SET NX PX`) released only by their holder.

use std::time::Duration;

use crate::error::CacheResult;
use crate::manager::CacheManager;
use crate::util::random_u64;

/// Separates the owner from the nonce in a claim's stored value.
const SEPARATOR: char = '#';

/// A claim held on a key, returned by [`CacheManager::claim`].
///
/// The stored value is the owner plus a nonce unique to this acquisition, so neither another
/// owner nor an older claim of the same owner (one that expired and was taken again) can
/// release or extend it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    key: String,
    owner: String,
    token: String,
}

impl Claim {
    /// The claimed key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Who holds it.
    pub fn owner(&self) -> &str {
        &self.owner
    }
}

impl CacheManager {
    /// Claims `key` for `owner` for `ttl`; `None` when someone holds it already.
    ///
    /// The claim ends on [`release`](Self::release) or when `ttl` runs out, so a holder that
    /// dies cannot block the key for ever; [`extend`](Self::extend) keeps a long job's claim.
    pub async fn claim(&self, key: &str, owner: &str, ttl: Duration) -> CacheResult<Option<Claim>> {
        self.admit("cache.claim").await?;
        let token = format!("{owner}{SEPARATOR}{:016x}", random_u64());
        let taken = self.call(self.backend().set_if_absent(key, token.as_bytes(), ttl)).await?;
        Ok(taken.then(|| Claim { key: key.to_owned(), owner: owner.to_owned(), token }))
    }

    /// Releases `claim` if it is still held; returns whether it was (`false` after it expired).
    pub async fn release(&self, claim: &Claim) -> CacheResult<bool> {
        self.admit("cache.release").await?;
        self.call(self.backend().compare_and_delete(&claim.key, claim.token.as_bytes())).await
    }

    /// Makes `claim` last `ttl` from now if it is still held; returns whether it was.
    pub async fn extend(&self, claim: &Claim, ttl: Duration) -> CacheResult<bool> {
        self.admit("cache.extend").await?;
        self.call(self.backend().compare_and_expire(&claim.key, claim.token.as_bytes(), ttl)).await
    }

    /// The owner holding `key`, if any.
    pub async fn claim_owner(&self, key: &str) -> CacheResult<Option<String>> {
        self.admit("cache.claim_owner").await?;
        let raw = self.call(self.backend().get(key)).await?;
        Ok(raw.map(|raw| {
            let text = String::from_utf8_lossy(&raw);
            text.rsplit_once(SEPARATOR).map_or(text.as_ref(), |(owner, _)| owner).to_owned()
        }))
    }
}
