//! Code written for the original StoreHaus: the prelude's names, the seed's positional signal
//! settings, a store made from a `sqlx::PgPool`, and a `sqlx::types::Json` field.

use storehaus::prelude::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub theme: String,
}

#[model]
#[table(name = "accounts")]
pub struct Account {
    #[primary_key]
    pub id: Uuid,
    pub settings: sqlx::types::Json<Settings>,
}

/// Never called: it only has to compile.
#[allow(dead_code)]
async fn wire(pool: sqlx::PgPool, cache: Arc<CacheManager>) -> Result<(), StoreError> {
    let signals: Option<Arc<SignalManager>> = None;
    let store = GenericStore::<Account>::new(pool, signals, Some(CacheParams::new(cache, 60, "accounts")));
    let _count: u64 = store.count().await?;
    Ok(())
}

fn describe(event: &DatabaseEvent, stats: &SignalStats, handle: Option<&CallbackHandle>) -> String {
    let kind = if event.event_type == EventType::Create { "create" } else { "other" };
    format!("{kind} {} {} {}", event.table_name, stats.events_delivered, handle.is_some())
}

fn main() {
    let config = SignalConfig::new(30, 100, true, 3, 60, true, 300);
    assert_eq!(config.max_callbacks, 100);
    let event = DatabaseEvent::new(EventType::Create, "accounts", "1", serde_json::json!({}));
    let stats = SignalStats::default();
    assert!(describe(&event, &stats, None).starts_with("create accounts"));
    let error: Option<CacheError> = None;
    assert!(error.is_none());
}
