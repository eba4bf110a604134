//! Fuzzes the query builder: every input is decoded and checked by
//! `storehaus_suite::query_input::run` on an in-memory SQLite database, and also on PostgreSQL
//! when `STOREHAUS_FUZZ_DATABASE_URL` names a server (its `fuzz_items` and `fuzz_canary` tables
//! are recreated).

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use storehaus::{GenericStore, StoreHaus};
use storehaus_suite::query_input::{self, FuzzItem};
use tokio::runtime::Runtime;

struct Fixture {
    runtime: Runtime,
    stores: Vec<GenericStore<FuzzItem>>,
}

/// Opened once per process: connecting and seeding on every input would dominate the run time.
static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
        let stores = runtime.block_on(async {
            let mut urls = vec!["sqlite::memory:".to_owned()];
            urls.extend(std::env::var("STOREHAUS_FUZZ_DATABASE_URL").ok());
            let mut stores = Vec::new();
            for url in urls {
                let storehaus = StoreHaus::connect(&url).await.unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
                stores.push(query_input::setup(&storehaus).await.unwrap_or_else(|e| panic!("cannot seed {url}: {e}")));
            }
            stores
        });
        Fixture { runtime, stores }
    })
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    for store in &fixture.stores {
        fixture.runtime.block_on(query_input::run(store, data));
    }
});
