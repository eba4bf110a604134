//! [`Dev`]: a key scan for development and operations.

use super::error::SharedResult;
use super::keys::check_name;
use super::{SharedStore, check_count};
use crate::glob_escape;

/// One step of [`Dev::scan`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanPage {
    /// The cursor of the next step; 0 when the scan is done.
    pub cursor: u64,
    /// Full keys found in this step (a key may appear in more than one step).
    pub keys: Vec<String>,
}

/// Development tools of a [`SharedStore`].
#[derive(Debug, Clone, Copy)]
pub struct Dev<'a> {
    store: &'a SharedStore,
}

impl<'a> Dev<'a> {
    pub(super) fn new(store: &'a SharedStore) -> Self {
        Dev { store }
    }

    /// One step of a scan over this store's keys matching `pattern`, a glob (`*`, `?`,
    /// `[…]`) over what follows `<prefix>:<service>[:<kind>:<id>...]:`, such as `kv:user:*`.
    /// Start with cursor 0 and continue with the returned cursor until it is 0.
    ///
    /// The store's own part of the key is matched literally, so a scope id holding `*` finds
    /// only its own keys. A scope's scan also finds the keys of the scopes nested in it.
    pub async fn scan(&self, pattern: &str, cursor: u64, count: usize) -> SharedResult<ScanPage> {
        self.store.ready()?;
        check_name("pattern", pattern)?;
        check_count(count)?;
        let full = format!("{}:{pattern}", glob_escape(&self.store.base));
        let (cursor, keys) = self.store.call("dev.scan", self.store.inner.adapter.scan(&full, cursor, count)).await?;
        Ok(ScanPage { cursor, keys })
    }
}
