//! A row is cached under one key whatever spelling of its primary key a call uses: keys the
//! database takes for the same row (`Decimal` 1.0 and 1.00, `f64` 0.0 and -0.0, timestamps
//! that differ below the microsecond it keeps) read and invalidate the same entry.

use super::*;

#[model]
#[table(name = "priced")]
#[derive(PartialEq)]
pub struct Priced {
    #[primary_key]
    pub id: Decimal,
    pub label: String,
}

#[model]
#[table(name = "measured")]
#[derive(PartialEq)]
pub struct Measured {
    #[primary_key]
    pub id: f64,
    pub label: String,
}

#[model]
#[table(name = "stamped")]
#[derive(PartialEq)]
pub struct Stamped {
    #[primary_key]
    pub id: DateTime<Utc>,
    pub label: String,
}

/// Writes a row under `stored`, caches it through `other` (another spelling of the same key),
/// then checks that writes through `stored` are seen through `other` and the reverse.
async fn one_row_under_two_spellings<M, B>(
    backend: Backend,
    db: &B,
    test: &str,
    make: fn(M::Key, &str) -> M,
    stored: M::Key,
    other: M::Key,
) where
    M: Model + Clone + PartialEq + std::fmt::Debug,
    B: TestBackend,
{
    let test = format!("{test}/{backend:?}/{}", B::NAME);
    let Some(manager) = backend.manager(&test).await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<M>(false).await.unwrap();
    let prefix = unique_prefix(&test);
    let _forget = Forget::new(&manager, &prefix);
    let params = CacheParams::new(manager.clone(), TTL_SECONDS, prefix);
    let cached: GenericStore<M> = GenericStore::new(storehaus.pool().clone(), None, Some(params));
    let plain: GenericStore<M> = GenericStore::new(storehaus.pool().clone(), None, None);
    let label = |r: Option<Record<M>>| r.map(|r| serde_json::to_value(r.into_inner()).unwrap()["label"].clone());

    plain.create(make(stored.clone(), "first"), None).await.unwrap();
    assert_eq!(
        label(plain.get_by_id(&other).await.unwrap()),
        Some(json!("first")),
        "the database takes both for one row"
    );
    for _ in 0..2 {
        assert_eq!(label(cached.get_by_id(&other).await.unwrap()), Some(json!("first")));
    }
    let before = Counts::of(&manager);
    assert_eq!(label(cached.get_by_id(&stored).await.unwrap()), Some(json!("first")));
    assert_eq!(Counts::of(&manager).since(before).hits, 1, "both spellings share one entry");

    cached.update(&stored, make(stored.clone(), "second"), None).await.unwrap();
    assert_eq!(label(cached.get_by_id(&other).await.unwrap()), Some(json!("second")), "stale after an update");

    cached.get_by_id(&stored).await.unwrap();
    assert!(cached.force_delete(&other).await.unwrap());
    assert_eq!(
        label(cached.get_by_id(&stored).await.unwrap()),
        None,
        "stale after a delete through the other spelling"
    );
    assert_eq!(label(cached.get_by_id(&other).await.unwrap()), None, "stale after a delete");

    // The remembered absence ends with a create under the other spelling.
    cached.create(make(other.clone(), "third"), None).await.unwrap();
    assert_eq!(label(cached.get_by_id(&stored).await.unwrap()), Some(json!("third")), "stale absence after a create");
}

pub(crate) async fn decimal_keys_name_one_row<B: TestBackend>(backend: Backend, db: B) {
    let make = |id, label: &str| Priced { id, label: label.to_owned() };
    let (one, one_point_oo) = (Decimal::new(10, 1), Decimal::new(100, 2));
    one_row_under_two_spellings(backend, &db, "decimal_keys_name_one_row", make, one, one_point_oo).await;
}

pub(crate) async fn float_keys_name_one_row<B: TestBackend>(backend: Backend, db: B) {
    let make = |id, label: &str| Measured { id, label: label.to_owned() };
    one_row_under_two_spellings(backend, &db, "float_keys_name_one_row", make, 0.0, -0.0).await;
}

pub(crate) async fn timestamp_keys_name_one_row<B: TestBackend>(backend: Backend, db: B) {
    let make = |id, label: &str| Stamped { id, label: label.to_owned() };
    let at = DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap();
    let below_a_microsecond = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
    one_row_under_two_spellings(backend, &db, "timestamp_keys_name_one_row", make, at, below_a_microsecond).await;
}

/// A composite key of two texts, where joining the parts naively would give two rows one text.
#[model]
#[table(name = "paired")]
#[derive(PartialEq)]
pub struct Paired {
    #[primary_key]
    pub left: String,
    #[primary_key]
    pub right: String,
    pub label: String,
}

/// Rows of a composite key are cached and invalidated by the whole key tuple: `("a", "bc")` and
/// `("ab", "c")` are two entries, and a write to one leaves the other cached.
pub(crate) async fn composite_keys_name_one_row<B: TestBackend>(backend: Backend, db: B) {
    let test = format!("composite_keys_name_one_row/{backend:?}/{}", B::NAME);
    let Some(manager) = backend.manager(&test).await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Paired>(false).await.unwrap();
    let prefix = unique_prefix(&test);
    let _forget = Forget::new(&manager, &prefix);
    let params = CacheParams::new(manager.clone(), TTL_SECONDS, prefix);
    let cached: GenericStore<Paired> = GenericStore::new(storehaus.pool().clone(), None, Some(params));
    let plain: GenericStore<Paired> = GenericStore::new(storehaus.pool().clone(), None, None);
    let pair = |l: &str, r: &str, label: &str| Paired { left: l.into(), right: r.into(), label: label.into() };
    let (one, two) = (("a".to_owned(), "bc".to_owned()), ("ab".to_owned(), "c".to_owned()));
    let label = |r: Option<Record<Paired>>| r.map(|r| r.label.clone());

    plain.create_many(vec![pair("a", "bc", "one"), pair("ab", "c", "two")], None).await.unwrap();
    for key in [&one, &two, &one, &two] {
        cached.get_by_id(key).await.unwrap();
    }
    let before = Counts::of(&manager);
    assert_eq!(label(cached.get_by_id(&one).await.unwrap()).as_deref(), Some("one"));
    assert_eq!(label(cached.get_by_id(&two).await.unwrap()).as_deref(), Some("two"));
    assert_eq!(Counts::of(&manager).since(before).hits, 2, "each key has its own entry");

    cached.update(&one, pair("x", "y", "one, changed"), None).await.unwrap();
    let before = Counts::of(&manager);
    assert_eq!(label(cached.get_by_id(&two).await.unwrap()).as_deref(), Some("two"));
    assert_eq!(Counts::of(&manager).since(before).hits, 1, "a write to one key leaves the other cached");
    assert_eq!(label(cached.get_by_id(&one).await.unwrap()).as_deref(), Some("one, changed"), "stale after an update");

    cached.get_by_id(&two).await.unwrap();
    assert_eq!(cached.delete_many(vec![two.clone()]).await.unwrap(), 1);
    assert_eq!(label(cached.get_by_id(&two).await.unwrap()), None, "stale after delete_many");
    cached.upsert(pair("ab", "c", "back"), None).await.unwrap();
    assert_eq!(label(cached.get_by_id(&two).await.unwrap()).as_deref(), Some("back"), "stale absence after upsert");
    assert_eq!(label(plain.get_by_id(&two).await.unwrap()).as_deref(), Some("back"));
}
