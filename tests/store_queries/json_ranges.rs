//! Numeric comparisons on a JSON leaf at any path, and whether a path leads anywhere, on both
//! backends: numbers compare as numbers, a leaf that is absent or not a number is never matched
//! and never an error, and paths and values are bound, never SQL text.

use super::*;
use serde_json::json;

#[model]
#[table(name = "json_docs")]
pub struct JsonDoc {
    #[primary_key]
    pub id: i64,
    pub body: Option<serde_json::Value>,
}

fn documents() -> Vec<(i64, Option<serde_json::Value>)> {
    vec![
        (1, Some(json!({"spec": {"weight": 9, "tags": ["a"]}, "price": 10}))),
        (2, Some(json!({"spec": {"weight": 10.5}, "price": "12"}))),
        (3, Some(json!({"spec": {"weight": "heavy"}}))),
        (4, Some(json!({"spec": {"weight": null}, "items": [{"qty": 3}, {"qty": 7}]}))),
        (5, Some(json!({"spec": 5}))),
        (6, None),
        (7, Some(json!({"spec": {"weight": u64::MAX}}))),
        (8, Some(json!({"spec": {"weight": -1e300}}))),
        (9, Some(json!([1, 2]))),
    ]
}

async fn docs<B: TestBackend>(db: &B) -> (StoreHaus, GenericStore<JsonDoc>) {
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<JsonDoc>(false).await.unwrap();
    let store = GenericStore::<JsonDoc>::new(storehaus.pool().clone(), None, None);
    let rows = documents().into_iter().map(|(id, body)| JsonDoc { id, body }).collect();
    store.create_many(rows, None).await.unwrap();
    (storehaus, store)
}

async fn matching(store: &GenericStore<JsonDoc>, filter: QueryFilter) -> Vec<i64> {
    let found = store.find(QueryBuilder::new().filter(filter).order_by("id", SortOrder::Asc)).await.unwrap();
    found.iter().map(|r| r.id).collect()
}

const WEIGHT: [&str; 2] = ["spec", "weight"];

on_both_backends! {
    /// `9 < 10.5 < u64::MAX` as numbers (as text, "10.5" < "9"); strings, `null`, missing keys,
    /// scalars in the way, a NULL field and a top-level array are simply not matched.
    async fn json_leaves_compare_as_numbers(db) {
        let (_storehaus, store) = docs(&db).await;
        assert_eq!(matching(&store, QueryFilter::json_path_gt("body", WEIGHT, json!(9))).await, [2, 7]);
        assert_eq!(matching(&store, QueryFilter::json_path_gte("body", WEIGHT, json!(9))).await, [1, 2, 7]);
        assert_eq!(matching(&store, QueryFilter::json_path_lt("body", WEIGHT, json!(10))).await, [1, 8]);
        assert_eq!(matching(&store, QueryFilter::json_path_lte("body", WEIGHT, json!(-1e300))).await, [8]);
        assert_eq!(matching(&store, QueryFilter::json_path_gt("body", WEIGHT, json!(1e300))).await, [] as [i64; 0]);
        assert_eq!(matching(&store, QueryFilter::json_path_between("body", WEIGHT, json!(9), json!(10.5))).await, [1, 2]);
        assert_eq!(matching(&store, QueryFilter::json_path_gte("body", WEIGHT, json!(u64::MAX))).await, [7]);
        // A string that holds a number is a string: "12" is not > 5.
        assert_eq!(matching(&store, QueryFilter::json_path_gt("body", ["price"], json!(5))).await, [1]);
        // Array elements by index, below the top level.
        assert_eq!(matching(&store, QueryFilter::json_path_gt("body", ["items", "1", "qty"], json!(5))).await, [4]);
        assert_eq!(matching(&store, QueryFilter::json_path_gt("body", ["1"], json!(1))).await, [9]);
        // Unmatched leaves stay unmatched under `not`, as SQL NULL does.
        let not_heavy = QueryFilter::not(QueryFilter::json_path_gt("body", WEIGHT, json!(9)));
        assert_eq!(matching(&store, not_heavy).await, [1, 8]);
        let either = QueryFilter::or(vec![
            QueryFilter::json_path_gt("body", WEIGHT, json!(10)),
            QueryFilter::json_path_absent("body", WEIGHT),
        ]);
        assert_eq!(matching(&store, either).await, [2, 5, 6, 7, 9]);
    }

    /// "Key absent" at any depth, and its complement; JSON `null` is a value.
    async fn json_paths_exist_or_are_absent(db) {
        let (_storehaus, store) = docs(&db).await;
        assert_eq!(matching(&store, QueryFilter::json_path_exists("body", WEIGHT)).await, [1, 2, 3, 4, 7, 8]);
        assert_eq!(matching(&store, QueryFilter::json_path_absent("body", WEIGHT)).await, [5, 6, 9]);
        assert_eq!(matching(&store, QueryFilter::json_path_exists("body", ["spec", "tags", "0"])).await, [1]);
        assert_eq!(matching(&store, QueryFilter::json_path_absent("body", ["spec", "tags"])).await, [2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(matching(&store, QueryFilter::json_path_absent("body", ["items", "2"])).await, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(matching(&store, QueryFilter::json_path_exists("body", Vec::<String>::new())).await, [1, 2, 3, 4, 5, 7, 8, 9]);
        let not_absent = QueryFilter::not(QueryFilter::json_path_absent("body", WEIGHT));
        assert_eq!(matching(&store, not_absent).await, [1, 2, 3, 4, 7, 8]);
    }

    /// The filters work on every query path: counts, bulk updates and deletes.
    async fn json_leaf_filters_drive_bulk_writes(db) {
        let (storehaus, store) = docs(&db).await;
        let heavy = || QueryBuilder::new().filter(QueryFilter::json_path_gt("body", WEIGHT, json!(9)));
        assert_eq!(store.count_where(heavy()).await.unwrap(), 2);
        let no_weight = QueryBuilder::new().filter(QueryFilter::json_path_absent("body", WEIGHT));
        assert_eq!(store.delete_where(no_weight).await.unwrap(), 3);
        assert_eq!(raw::int(&storehaus, r#"SELECT COUNT(*) FROM "json_docs""#).await, 6);
        let updated = store.update_where(heavy(), UpdateSet::new().set("body", json!({"spec": {"weight": 1}}))).await.unwrap();
        assert_eq!(updated.len(), 2);
        assert_eq!(store.count_where(heavy()).await.unwrap(), 0);
    }

    /// The value must be a number and the field JSON; hostile path keys are bound values that
    /// lead nowhere. Nothing runs when the filter is refused.
    async fn json_leaf_filters_refuse_bad_input(db) {
        let (_storehaus, store) = docs(&db).await;
        for value in [json!("9"), json!(null), json!(true), json!([9]), json!({"n": 9})] {
            let refused = store.find(QueryBuilder::new().filter(QueryFilter::json_path_gt("body", WEIGHT, value.clone()))).await;
            assert!(matches!(&refused, Err(StoreError::Validation { field: Some(f), .. }) if f == "body"), "{value}: {refused:?}");
        }
        let not_json = store.find(QueryBuilder::new().filter(QueryFilter::json_path_gt("id", WEIGHT, json!(1)))).await;
        assert!(matches!(not_json, Err(StoreError::Validation { .. })), "{not_json:?}");
        let unknown = store.find(QueryBuilder::new().filter(QueryFilter::json_path_exists("nope", WEIGHT))).await;
        assert!(matches!(unknown, Err(StoreError::UnknownField { .. })), "{unknown:?}");
        let nul = store.find(QueryBuilder::new().filter(QueryFilter::json_path_absent("body", ["a\0b"]))).await;
        assert!(matches!(nul, Err(StoreError::Validation { .. })), "{nul:?}");
        for key in ["x') OR 1=1 --", "$.spec", "spec.weight", "*", "]"] {
            assert_eq!(matching(&store, QueryFilter::json_path_gt("body", [key], json!(-1e308))).await, [] as [i64; 0], "{key}");
            assert_eq!(matching(&store, QueryFilter::json_path_exists("body", [key])).await, [] as [i64; 0], "{key}");
        }
        assert_eq!(store.count().await.unwrap(), 9);
    }
}
