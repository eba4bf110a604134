//! The shared store (`storehaus::cache::shared::SharedStore`) on its two backends: the shared
//! Redis (`REDIS_URL`, default `redis://127.0.0.1:6379`) and the in-process memory cache.
//!
//! Every behaviour is written once and runs as `NAME::redis` and `NAME::memory` (see
//! [`on_both`]). Each test works under a key prefix of its own and deletes every key under it
//! at the end. What the store wrote is read back raw: with plain Redis commands over a
//! connection of the suites (`storehaus_suite::resp`), or with the memory storage's own calls.
//!
//! Without a reachable Redis the Redis tests print `*** SKIPPED`, or fail when `CI` or
//! `STOREHAUS_REQUIRE_SERVICES` is set. The restart and full-storage tests start a `redis-server` of
//! their own.

mod basics;
mod claims;
mod env;
mod errors;
mod events;
mod full_storage;
mod isolation;
mod layout;
mod restart;
mod round_trips;
mod streams;

use std::fmt::Debug;

use serde::{Deserialize, Serialize};
use storehaus::cache::shared::SharedStoreError;

pub use env::{Backend, Env};

/// Declares tests that run on both backends.
///
/// Each `async fn name(env) { … }` becomes a module `name` with the tests `redis` and
/// `memory`; inside the body `env` is an `&`[`Env`] under a prefix of its own, cleaned up after
/// the body, whether it passed or failed.
macro_rules! on_both {
    ($($(#[$meta:meta])* async fn $name:ident($env:ident) $body:block)*) => {$(
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn test(backend: $crate::Backend) {
                let test = concat!("shared_store:", stringify!($name));
                let Some(env) = $crate::Env::open(backend, test).await else { return };
                let env = std::sync::Arc::new(env);
                let shared = std::sync::Arc::clone(&env);
                // The body runs as a task of its own so that its keys are deleted even when it fails.
                let outcome = tokio::spawn(async move {
                    let $env: &$crate::Env = &shared;
                    $body
                })
                .await;
                env.cleanup().await;
                if let Err(failure) = outcome {
                    std::panic::resume_unwind(failure.into_panic());
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis() {
                test($crate::Backend::Redis).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                test($crate::Backend::Memory).await;
            }
        }
    )*};
}
pub(crate) use on_both;

/// The registered event of the suite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserCreated {
    pub user_id: String,
    pub email: String,
}

impl UserCreated {
    pub fn new(n: usize) -> Self {
        UserCreated { user_id: n.to_string(), email: format!("user{n}@example.com") }
    }
}

/// Panics unless `result` failed with the error code `code`; returns the error.
#[track_caller]
pub fn expect_code<T: Debug>(result: Result<T, SharedStoreError>, code: &str) -> SharedStoreError {
    match result {
        Err(error) if error.code() == code => error,
        other => panic!("expected an error with code {code}, got {other:?}"),
    }
}
