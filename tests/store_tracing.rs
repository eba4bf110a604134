//! Every store call runs in a span carrying the OpenTelemetry database attributes.

use std::sync::{Arc, Mutex};
use storehaus::prelude::*;
use storehaus::testing::TestDatabase;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[model]
#[table(name = "traced_items")]
pub struct Item {
    #[primary_key]
    pub id: i64,
    pub name: String,
}

/// The fields of one span, as text.
type SpanFields = Vec<(String, String)>;

/// Records the fields of every span named `storehaus`.
#[derive(Clone, Default)]
struct SpanRecorder {
    spans: Arc<Mutex<Vec<SpanFields>>>,
}

struct Fields<'a>(&'a mut SpanFields);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
}

impl Subscriber for SpanRecorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut spans = self.spans.lock().unwrap();
        if span.metadata().name() == "storehaus" {
            let mut fields = Vec::new();
            span.record(&mut Fields(&mut fields));
            spans.push(fields);
        }
        Id::from_u64(spans.len() as u64 + 1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test]
async fn store_calls_are_traced_with_database_attributes() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Item>(false).await.unwrap();
    let store = GenericStore::<Item>::new(storehaus.pool().clone(), None, None);

    let recorder = SpanRecorder::default();
    let guard = tracing::subscriber::set_default(recorder.clone());
    store.create(Item::new(1, "a".into()), None).await.unwrap();
    store.get_by_id(&1).await.unwrap();
    store.find(QueryBuilder::new().filter(QueryFilter::eq("name", json!("a")))).await.unwrap();
    drop(guard);

    let spans = recorder.spans.lock().unwrap().clone();
    let operations: Vec<_> = spans
        .iter()
        .map(|fields| {
            let get = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or("");
            assert_eq!(get("db.system"), "postgresql", "{fields:?}");
            assert_eq!(get("db.sql.table"), "traced_items", "{fields:?}");
            get("db.operation").to_owned()
        })
        .collect();
    assert_eq!(operations, ["create", "get_by_id", "find"]);
}
