//! The cache suite, run on Redis and on the in-memory backend alike.
//!
//! Redis tests use the server at `REDIS_URL` (default `redis://127.0.0.1:6379`) with a key
//! prefix of their own, and delete every key under it when they end; when it is unreachable they
//! print `*** SKIPPED`, or fail when `CI` or `STOREHAUS_REQUIRE_SERVICES` is set.

#[path = "../support/mod.rs"]
mod support;

mod buffers;
mod kv;
mod limits;
mod near;
mod primitives;
mod read_through;
mod resilience;

use std::sync::Arc;
use std::time::Duration;

use storehaus_cache::{CacheConfig, CacheManager, KeySpace};
pub use support::Ctx;

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Redis,
    Memory,
}

/// Which backend a test runs on, and its name for key prefixes and skip lines.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    pub backend: Backend,
    pub test: &'static str,
}

impl Setup {
    /// A fresh manager with `tweak` applied to the test settings; `None` when skipped.
    pub async fn ctx(&self, tweak: impl FnOnce(&mut CacheConfig)) -> Option<Ctx> {
        match self.backend {
            Backend::Redis => Ctx::redis(self.test, tweak).await,
            Backend::Memory => Some(Ctx::memory(self.test, tweak)),
        }
    }
}

/// Generates `redis::NAME` and `memory::NAME` tests calling `NAME(setup)` for every name. A
/// Redis test deletes every key it wrote when it ends, passed or failed.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let test = concat!(module_path!(), "::", stringify!($name));
                    // The test runs as a task of its own so that its keys are deleted even when it fails.
                    let setup = $crate::Setup { backend: $crate::Backend::Redis, test };
                    let outcome = tokio::spawn(super::$name(setup)).await;
                    $crate::support::clean_up_redis(test, outcome.is_ok()).await;
                    if let Err(failure) = outcome {
                        std::panic::resume_unwind(failure.into_panic());
                    }
                }
            )*
        }
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let test = concat!(module_path!(), "::", stringify!($name));
                    super::$name($crate::Setup { backend: $crate::Backend::Memory, test }).await;
                }
            )*
        }
    };
}

fn assert_send<T: Send>(_: &T) {}

/// The store layer runs these calls inside spawned tasks, so their futures must be `Send`.
#[test]
fn read_through_futures_are_send() {
    let manager = CacheManager::memory(&CacheConfig::default()).unwrap();
    let table = KeySpace::new("app").table("t");
    let row = table.row("1");
    let ttl = Duration::from_secs(1);
    let load = || async { Ok::<Option<String>, Arc<std::io::Error>>(None) };
    assert_send(&manager.get_or_load(&row, ttl, load));
    let query = || async { Ok::<Vec<String>, Arc<std::io::Error>>(Vec::new()) };
    assert_send(&manager.get_or_load_query(&table, "q", ttl, query));
    assert_send(&manager.invalidate_rows(&table, &["1"]));
    assert_send(&manager.claim("k", "me", ttl));
}
