//! Reads by key: a miss loads and fills, a hit answers; every kind of field survives the cache.

use super::*;

pub(crate) async fn miss_then_hit<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("miss_then_hit", backend, &db).await else { return };
    let id = ctx.seed("read me", &["t"]).await;

    let before = Counts::of(&ctx.manager);
    let first = ctx.cached.get_by_id(&id).await.unwrap();
    let after_first = Counts::of(&ctx.manager);
    let second = ctx.cached.get_by_id(&id).await.unwrap();
    let after_second = Counts::of(&ctx.manager);
    assert_eq!(after_first.since(before), Counts { misses: 1, fills: 1, ..Counts::default() }, "first read");
    assert_eq!(after_second.since(after_first), Counts { hits: 1, ..Counts::default() }, "second read");
    let truth = ctx.plain.get_by_id(&id).await.unwrap();
    assert!(truth.is_some());
    assert_eq!((&first, &second), (&truth, &truth));

    // "No such row" is remembered too.
    let missing = Uuid::new_v4();
    let before = Counts::of(&ctx.manager);
    assert_eq!(ctx.cached.get_by_id(&missing).await.unwrap(), None);
    let after_first = Counts::of(&ctx.manager);
    assert_eq!(ctx.cached.get_by_id(&missing).await.unwrap(), None);
    let after_second = Counts::of(&ctx.manager);
    assert_eq!(after_first.since(before), Counts { misses: 1, fills: 1, ..Counts::default() }, "absent, first read");
    assert_eq!(after_second.since(after_first), Counts { hits: 1, ..Counts::default() }, "absent, second read");
}

/// Stores of `Specimen` on a database of its own: one through the cache, one without.
struct Specimens {
    manager: Arc<CacheManager>,
    cached: GenericStore<Specimen>,
    plain: GenericStore<Specimen>,
    _forget: Forget,
}

async fn specimens<B: TestBackend>(test: &str, backend: Backend, db: &B) -> Option<Specimens> {
    let test = format!("{test}/{backend:?}/{}", B::NAME);
    let manager = backend.manager(&test).await?;
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Specimen>(false).await.unwrap();
    let prefix = unique_prefix(&test);
    let forget = Forget::new(&manager, &prefix);
    let params = CacheParams::new(manager.clone(), TTL_SECONDS, prefix);
    let cached = GenericStore::new(storehaus.pool().clone(), None, Some(params));
    let plain = GenericStore::new(storehaus.pool().clone(), None, None);
    Some(Specimens { manager, cached, plain, _forget: forget })
}

fn specimen(id: i64, extra: Option<serde_json::Value>, note: Option<&str>) -> Specimen {
    Specimen {
        id,
        label: format!("spécimen: #{id} / ü"),
        price: Decimal::new(123_450, 3),
        ratio: 0.1 + 0.2,
        small: -7,
        born: NaiveDate::from_ymd_opt(1815, 12, 10).unwrap(),
        seen_at: DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap(),
        local: NaiveDate::from_ymd_opt(2024, 2, 29).unwrap().and_hms_micro_opt(23, 59, 59, 999_999).unwrap(),
        flags: vec!["a".into(), String::new(), "c d".into()],
        raw: vec![0, 1, 254, 255],
        doc: Json(Settings { theme: "dark".into(), limits: vec![1, u32::MAX] }),
        extra,
        note: note.map(str::to_owned),
    }
}

impl Specimens {
    /// Stores `row`, reads it through the cache twice and returns the stored record, the two
    /// reads and the counters of the two reads.
    async fn round_trip(&self, row: Specimen) -> (Record<Specimen>, [Option<Record<Specimen>>; 2], Counts) {
        let id = row.id;
        self.plain.create(row, Some(owned(&["x", "y"]))).await.unwrap();
        let truth = self.plain.get_by_id(&id).await.unwrap().expect("created");
        let before = Counts::of(&self.manager);
        let loaded = self.cached.get_by_id(&id).await.unwrap();
        let cached = self.cached.get_by_id(&id).await.unwrap();
        (truth, [loaded, cached], Counts::of(&self.manager).since(before))
    }
}

pub(crate) async fn cached_records_equal_stored_records<B: TestBackend>(backend: Backend, db: B) {
    let Some(s) = specimens("cached_records_equal_stored_records", backend, &db).await else { return };
    let rows = [
        specimen(1, Some(json!({"nested": [1, 2.5, "x", null], "big": 9_007_199_254_740_993_i64})), Some("n")),
        specimen(-2, None, None),
        specimen(i64::MAX, Some(json!("text")), Some("")),
    ];
    for row in rows {
        let id = row.id;
        let (truth, [loaded, cached], delta) = s.round_trip(row).await;
        assert_eq!(loaded.as_ref(), Some(&truth), "row {id} as loaded");
        assert_eq!(cached.as_ref(), Some(&truth), "row {id} as cached");
        assert_eq!((delta.misses, delta.hits), (1, 1), "row {id}: the second read must come from the cache: {delta:?}");
    }
}

pub(crate) async fn json_null_stays_json_null<B: TestBackend>(backend: Backend, db: B) {
    let Some(s) = specimens("json_null_stays_json_null", backend, &db).await else { return };
    let (truth, [loaded, cached], delta) = s.round_trip(specimen(3, Some(serde_json::Value::Null), None)).await;
    assert_eq!(truth.extra, Some(serde_json::Value::Null), "the database keeps a JSON null apart from SQL NULL");
    assert_eq!(loaded.as_ref(), Some(&truth), "as loaded");
    assert_eq!(delta.hits, 1, "{delta:?}");
    assert_eq!(cached.map(|r| r.extra.clone()), Some(truth.extra.clone()), "as cached: JSON null became SQL NULL");
}

pub(crate) async fn non_finite_floats_are_cached<B: TestBackend>(backend: Backend, db: B) {
    let Some(s) = specimens("non_finite_floats_are_cached", backend, &db).await else { return };
    for (id, ratio) in [(4, f64::NAN), (5, f64::INFINITY), (6, f64::NEG_INFINITY)] {
        let (truth, [loaded, cached], delta) = s.round_trip(Specimen { ratio, ..specimen(id, None, None) }).await;
        assert_eq!(truth.ratio.to_bits(), ratio.to_bits());
        for read in [loaded, cached] {
            assert_eq!(read.map(|r| r.ratio.to_bits()), Some(ratio.to_bits()), "ratio {ratio}");
        }
        assert_eq!(
            (delta.misses, delta.hits),
            (1, 1),
            "a row with ratio {ratio} is never served from the cache: {delta:?}"
        );
    }
}
