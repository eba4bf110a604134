//! Many writers at once, some rolling back, some holding their transaction open after writing:
//! every committed event is delivered once, in id order, and no rolled-back one ever is.

use super::{assert_increasing, item, setup};
use std::collections::BTreeSet;
use std::time::Duration;
use storehaus::prelude::*;
use storehaus::testing::TestDatabase;

const WRITERS: usize = 8;
const TRANSACTIONS: usize = 40;

#[tokio::test]
async fn concurrent_event_writers_lose_nothing_and_deliver_in_id_order() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, manager, store, inbox) = setup(&db).await;

    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let (pool, store) = (storehaus.pool().clone(), store.clone());
        writers.push(tokio::spawn(async move {
            let mut committed = Vec::new();
            for n in 0..TRANSACTIONS {
                let tx = Transaction::begin(&pool).await.unwrap();
                let in_tx = store.with_transaction(&tx);
                let rows = 1 + (writer + n) % 3;
                let mut ids = Vec::new();
                for r in 0..rows {
                    ids.push(in_tx.create(item(&format!("{writer}/{n}/{r}")), None).await.unwrap().id.to_string());
                }
                // Uneven hold times make ids commit out of order.
                tokio::time::sleep(Duration::from_millis(((writer * 7 + n * 13) % 25) as u64)).await;
                if (writer + n) % 4 == 0 {
                    tx.rollback().await.unwrap();
                } else {
                    tx.commit().await.unwrap();
                    committed.extend(ids);
                }
            }
            committed
        }));
    }
    let mut committed = BTreeSet::new();
    for writer in writers {
        committed.extend(writer.await.unwrap());
    }

    let events = inbox.wait_for(committed.len(), Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events = if inbox.len() > events.len() { inbox.events() } else { events };
    let delivered: BTreeSet<String> = events.iter().map(|e| e.record_id.clone()).collect();
    assert_eq!(events.len(), committed.len(), "each committed event once, nothing else");
    assert_eq!(delivered, committed, "exactly the committed rows");
    assert_increasing(&events);
    manager.shutdown().await;
}
