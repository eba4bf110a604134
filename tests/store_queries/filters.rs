//! Filters of every kind, soft-delete visibility, and what happens to names and values that are
//! not what they should be.

use super::*;
use futures_util::StreamExt;

on_both_backends! {
    async fn comparison_filters(db) {
        let (_storehaus, store) = products(&db).await;
        assert_eq!(find_ids(&store, QueryFilter::eq("name", json!("Banana"))).await, [3]);
        assert_eq!(find_ids(&store, QueryFilter::eq("price", json!(40))).await, [4]);
        assert_eq!(find_ids(&store, QueryFilter::ne("price", json!(40))).await, [1, 2, 3, 5]);
        assert_eq!(find_ids(&store, QueryFilter::gt("price", json!(30))).await, [4, 5]);
        assert_eq!(find_ids(&store, QueryFilter::gte("price", json!(30))).await, [3, 4, 5]);
        assert_eq!(find_ids(&store, QueryFilter::lt("price", json!(30))).await, [1, 2]);
        assert_eq!(find_ids(&store, QueryFilter::lte("price", json!(30))).await, [1, 2, 3]);
        assert_eq!(find_ids(&store, QueryFilter::gt("rating", json!(4))).await, [1, 4], "NULL ratings never compare");
        assert_eq!(find_ids(&store, QueryFilter::ne("category", json!("fruit"))).await, [4], "NULL is not <> 'fruit'");

        let err = store.find(QueryBuilder::new().filter(QueryFilter::eq("price", json!("ten")))).await.unwrap_err();
        assert!(matches!(&err, StoreError::Validation { field: Some(f), .. } if f == "price"), "{err:?}");
        let err = store.find(QueryBuilder::new().filter(QueryFilter::eq("category", json!(null)))).await.unwrap_err();
        assert!(matches!(err, StoreError::Validation { .. }), "comparing with null: {err:?}");
    }

    async fn pattern_filters(db) {
        let (_storehaus, store) = products(&db).await;
        assert_eq!(find_ids(&store, QueryFilter::like("name", "A%")).await, [1]);
        assert_eq!(find_ids(&store, QueryFilter::ilike("name", "a%")).await, [1, 2]);
        assert_eq!(find_ids(&store, QueryFilter::like("name", "%an%")).await, [3]);
        assert_eq!(find_ids(&store, QueryFilter::like("sku", "_-1")).await, [1, 3, 5]);
        assert_eq!(find_ids(&store, QueryFilter::not_ilike("name", "a%")).await, [3, 4, 5]);
        let err = store.find(QueryBuilder::new().filter(QueryFilter::like("price", "1%"))).await.unwrap_err();
        assert!(matches!(err, StoreError::Validation { .. }), "LIKE on an integer: {err:?}");
    }

    async fn list_and_null_filters(db) {
        let (_storehaus, store) = products(&db).await;
        assert_eq!(find_ids(&store, QueryFilter::in_values("price", [json!(10), json!(50), json!(99)])).await, [1, 5]);
        assert_eq!(find_ids(&store, QueryFilter::in_values("name", ["Apple", "Date"])).await, [1, 5]);
        assert_eq!(find_ids(&store, QueryFilter::not_in_values("price", [10, 50])).await, [2, 3, 4]);
        assert!(find_ids(&store, QueryFilter::in_values("price", Vec::<i32>::new())).await.is_empty());
        assert_eq!(find_ids(&store, QueryFilter::not_in_values("price", Vec::<i32>::new())).await, [1, 2, 3, 4, 5]);
        assert_eq!(find_ids(&store, QueryFilter::is_null("category")).await, [3, 5]);
        assert_eq!(find_ids(&store, QueryFilter::is_not_null("category")).await, [1, 2, 4]);
        assert_eq!(find_ids(&store, QueryFilter::is_null("rating")).await, [2, 5]);
        assert_eq!(find_ids(&store, QueryFilter::is_not_null("rating")).await, [1, 3, 4]);

        // A long list works: on PostgreSQL it is one array parameter, so its length is not bounded
        // by the 65 535-parameter cap.
        let many: Vec<i64> = (1..=70_000).map(|i| i * 10).collect();
        assert_eq!(find_ids(&store, QueryFilter::in_values("price", many.clone())).await, [1, 2, 3, 4, 5]);
        assert_eq!(find_ids(&store, Product::columns().id.not_in_values(many)).await, [1, 2, 3, 4, 5]);
    }

    async fn and_or_and_nested_filters(db) {
        let (_storehaus, store) = products(&db).await;
        let and =
            QueryFilter::and(vec![QueryFilter::eq("category", json!("fruit")), QueryFilter::gt("price", json!(10))]);
        assert_eq!(find_ids(&store, and).await, [2]);
        let or = QueryFilter::or(vec![QueryFilter::eq("name", json!("Apple")), QueryFilter::is_null("category")]);
        assert_eq!(find_ids(&store, or).await, [1, 3, 5]);

        // (price < 25 AND rating IS NOT NULL) OR (stock < 10 AND (name = 'Date' OR category = 'berry'))
        let nested = QueryFilter::or(vec![
            QueryFilter::and(vec![QueryFilter::lt("price", json!(25)), QueryFilter::is_not_null("rating")]),
            QueryFilter::and(vec![
                QueryFilter::lt("stock", json!(10)),
                QueryFilter::or(vec![
                    QueryFilter::eq("name", json!("Date")),
                    QueryFilter::eq("category", json!("berry")),
                ]),
            ]),
        ]);
        assert_eq!(find_ids(&store, nested.clone()).await, [1, 4, 5]);
        // SQL's three-valued logic: for Banana the inner OR is NULL (its category is NULL), so NOT is NULL too.
        assert_eq!(find_ids(&store, !nested).await, [2]);

        // Several top-level filters must all hold.
        let q = QueryBuilder::new()
            .filter(QueryFilter::gte("price", json!(20)))
            .filter(QueryFilter::lte("price", json!(40)));
        assert_eq!(ids(&store.find(q).await.unwrap()), [2, 3, 4]);
        assert!(find_ids(&store, QueryFilter::or(vec![])).await.is_empty(), "an empty OR holds for no row");
        assert_eq!(
            find_ids(&store, QueryFilter::and(vec![])).await,
            [1, 2, 3, 4, 5],
            "an empty AND holds for every row"
        );
    }

    async fn tag_filters(db) {
        let (_storehaus, store) = products(&db).await;
        let find = |q: QueryBuilder| {
            let store = store.clone();
            async move { ids(&store.find(q).await.unwrap()) }
        };
        assert_eq!(find(QueryBuilder::new().filter_by_tag("sale")).await, [1, 3]);
        assert_eq!(find(QueryBuilder::new().filter_by_any_tag(["sale", "new"])).await, [1, 3, 5]);
        assert_eq!(find(QueryBuilder::new().filter_by_all_tags(["food", "new"])).await, [5]);
        assert_eq!(find(QueryBuilder::new().filter_by_all_tags(["food"])).await, [1, 2, 5]);
        assert!(find(QueryBuilder::new().filter_by_tag("nope")).await.is_empty());
        assert!(find(QueryBuilder::new().filter_by_any_tag(Vec::<String>::new())).await.is_empty());
        assert_eq!(find(QueryBuilder::new().filter_by_all_tags(Vec::<String>::new())).await, [1, 2, 3, 4, 5]);
        let combined = QueryBuilder::new().filter_by_tag("food").filter(QueryFilter::gt("price", json!(10)));
        assert_eq!(find(combined).await, [2, 5]);
        assert_eq!(store.count_where(QueryBuilder::new().filter_by_any_tag(["sale"])).await.unwrap(), 2);
    }

    /// JSON path equality and key tests (containment is PostgreSQL-only: see
    /// `postgres_only::json_containment_filters`).
    async fn json_filters(db) {
        let (_storehaus, store) = products(&db).await;
        assert_eq!(find_ids(&store, QueryFilter::json_path_text_eq("attrs", ["color"], "red")).await, [1]);
        assert_eq!(find_ids(&store, QueryFilter::json_path_eq("attrs", ["dims", "w"], json!(20))).await, [3]);
        assert_eq!(find_ids(&store, QueryFilter::json_path_text_eq("attrs", ["dims", "w"], "10")).await, [1]);
        assert_eq!(find_ids(&store, QueryFilter::json_has_key("attrs", "dims")).await, [1, 3]);
        assert!(find_ids(&store, QueryFilter::json_has_key("attrs", "x' OR '1'='1")).await.is_empty());
        let err = store.find(QueryBuilder::new().filter(QueryFilter::json_has_key("name", "x"))).await.unwrap_err();
        assert!(matches!(err, StoreError::Validation { .. }), "JSON operator on text: {err:?}");
    }

    async fn array_filters(db) {
        let (_storehaus, store) = products(&db).await;
        assert_eq!(find_ids(&store, QueryFilter::array_contains("labels", ["red"])).await, [1, 4]);
        assert_eq!(find_ids(&store, QueryFilter::array_contains("labels", ["fresh", "red"])).await, [1]);
        assert_eq!(find_ids(&store, QueryFilter::array_overlaps("labels", ["dried", "red"])).await, [1, 4, 5]);
        assert_eq!(find_ids(&store, QueryFilter::array_overlaps("sizes", [3, 5])).await, [2, 4]);
        assert_eq!(find_ids(&store, QueryFilter::array_contains("sizes", [1])).await, [1, 5]);
        let err =
            store.find(QueryBuilder::new().filter(QueryFilter::array_contains("sizes", ["x"]))).await.unwrap_err();
        assert!(matches!(err, StoreError::Validation { .. }), "{err:?}");
    }

    async fn typed_columns(db) {
        let (_storehaus, store) = products(&db).await;
        let c = Product::columns();
        assert_eq!(find_ids(&store, c.name.eq("Banana")).await, [3]);
        assert_eq!(find_ids(&store, c.sku.eq(UUID_TEXT)).await, [4]);
        assert_eq!(find_ids(&store, c.price.gte(30)).await, [3, 4, 5]);
        assert_eq!(find_ids(&store, c.price.in_values([10, 20])).await, [1, 2]);
        assert_eq!(find_ids(&store, c.category.eq(Some("berry".to_owned()))).await, [4]);
        assert_eq!(find_ids(&store, c.category.is_null()).await, [3, 5]);
        assert_eq!(find_ids(&store, c.name.ilike("%A%")).await, [1, 2, 3, 5]);
        assert_eq!(find_ids(&store, c.labels.array_contains(["fresh"])).await, [1, 2]);
        assert_eq!(find_ids(&store, c.sizes.array_overlaps([2])).await, [1, 2]);
        assert_eq!(find_ids(&store, QueryFilter::and(vec![c.stock.lt(10_i64), !c.rating.is_null()])).await, [3, 4]);

        let q = QueryBuilder::new().filter(c.price.lt(50)).order(c.price.desc()).limit(2);
        assert_eq!(ids(&store.find(q).await.unwrap()), [4, 3]);
        let q = QueryBuilder::new().order_by(c.stock, SortOrder::Asc);
        assert_eq!(ids(&store.find(q).await.unwrap()), [3, 5, 4, 2, 1]);

        let updated =
            store.update_where(QueryBuilder::new().filter(c.id.eq(3)), UpdateSet::new().set_column(c.stock, 9)).await;
        assert_eq!(updated.unwrap()[0].stock, 9);
    }

    async fn a_uuid_looking_string_matches_a_text_column_as_text(db) {
        let (_storehaus, store) = products(&db).await;
        assert_eq!(find_ids(&store, QueryFilter::eq("sku", json!(UUID_TEXT))).await, [4]);
        assert_eq!(find_ids(&store, QueryFilter::in_values("sku", [UUID_TEXT, "A-1"])).await, [1, 4]);
        assert_eq!(find_ids(&store, QueryFilter::like("sku", "6f1c0c2e-%")).await, [4]);
        // The same text in another case is another value for TEXT (it would be equal as UUID).
        assert!(find_ids(&store, QueryFilter::eq("sku", json!(UUID_TEXT.to_uppercase()))).await.is_empty());
    }

    async fn deleted_rows_only_with_deleted_or_only_deleted(db) {
        let (_storehaus, store) = products(&db).await;
        store.delete(&2).await.unwrap();
        store.delete(&5).await.unwrap();
        let food = || QueryBuilder::new().filter_by_tag("food");
        assert_eq!(ids(&store.find(food()).await.unwrap()), [1]);
        assert_eq!(ids(&store.find(food().with_deleted()).await.unwrap()), [1, 2, 5]);
        assert_eq!(ids(&store.find(food().only_deleted()).await.unwrap()), [2, 5]);
        assert_eq!(store.count_where(food()).await.unwrap(), 1);
        assert_eq!(store.count_where(food().with_deleted()).await.unwrap(), 3);
        assert_eq!(store.count_where(QueryBuilder::new().only_deleted()).await.unwrap(), 2);
        assert!(
            store.find_one(QueryBuilder::new().filter(QueryFilter::eq("id", json!(2)))).await.unwrap().is_none()
        );
        let deleted = store.find(QueryBuilder::new().only_deleted()).await.unwrap();
        assert!(deleted.iter().all(|r| r.is_deleted()));
    }

    async fn find_one_and_count_where(db) {
        let (_storehaus, store) = products(&db).await;
        let cheapest_food = QueryBuilder::new().filter_by_tag("food").order_by("price", SortOrder::Asc);
        assert_eq!(store.find_one(cheapest_food).await.unwrap().unwrap().id, 1);
        let dearest = QueryBuilder::new().order_by("price", SortOrder::Desc);
        assert_eq!(store.find_one(dearest).await.unwrap().unwrap().name, "Date");
        assert!(
            store
                .find_one(QueryBuilder::new().filter(QueryFilter::eq("name", json!("Kiwi"))))
                .await
                .unwrap()
                .is_none()
        );

        assert_eq!(store.count_where(QueryBuilder::new()).await.unwrap(), 5);
        assert_eq!(
            store.count_where(QueryBuilder::new().filter(QueryFilter::gte("price", json!(30)))).await.unwrap(),
            3
        );
        let limited = QueryBuilder::new().filter(QueryFilter::gte("price", json!(30))).limit(1);
        assert_eq!(store.count_where(limited).await.unwrap(), 3, "count_where counts every match, not a page");
    }

    async fn an_unknown_field_is_refused_before_anything_runs(db) {
        let (storehaus, store) = products(&db).await;
        let before = raw_rows(&storehaus).await;
        let injected = || QueryBuilder::new().filter(QueryFilter::eq("1=1 OR name", json!("x")));
        let unknown = |err: StoreError| {
            assert!(
                matches!(
                    &err,
                    StoreError::UnknownField { table, field } if table == "products" && field == "1=1 OR name"
                ),
                "{err:?}"
            );
        };

        unknown(store.find(injected()).await.unwrap_err());
        unknown(store.find_one(injected()).await.unwrap_err());
        unknown(store.count_where(injected()).await.unwrap_err());
        unknown(store.find_page(injected().limit(2)).await.unwrap_err());
        unknown(store.update_where(injected(), UpdateSet::new().set("name", json!("pwned"))).await.unwrap_err());
        unknown(store.delete_where(injected()).await.unwrap_err());
        unknown(store.delete_where(injected().all_rows()).await.unwrap_err());
        let mut stream = store.find_stream(injected());
        unknown(stream.next().await.expect("the stream reports the error").unwrap_err());
        assert!(stream.next().await.is_none());

        let nested = QueryFilter::or(vec![
            QueryFilter::eq("id", json!(1)),
            QueryFilter::is_null("x\"; DROP TABLE products; --"),
        ]);
        let err = store.delete_where(QueryBuilder::new().filter(nested)).await.unwrap_err();
        assert!(matches!(err, StoreError::UnknownField { .. }), "{err:?}");
        let err =
            store.find(QueryBuilder::new().order_by("price; DROP TABLE products", SortOrder::Asc)).await.unwrap_err();
        assert!(matches!(err, StoreError::UnknownField { .. }), "{err:?}");
        let all = QueryBuilder::new().filter(QueryFilter::gt("id", json!(0)));
        let err = store.update_where(all, UpdateSet::new().set("name = 'pwned', price", json!(0))).await.unwrap_err();
        assert!(matches!(err, StoreError::UnknownField { .. }), "{err:?}");

        assert_eq!(raw_rows(&storehaus).await, before, "no row changed");
    }

    /// Strings that look like SQL are values, bound as parameters: they match only themselves and
    /// change nothing.
    async fn hostile_strings_are_bound_as_values(db) {
        let (storehaus, store) = products(&db).await;
        let before = raw_rows(&storehaus).await;
        let hostile = [
            "x' OR '1'='1",
            "'; DELETE FROM products; --",
            "\"; DROP TABLE \"products\"; --",
            "Apple' --",
            "%' OR name LIKE '%",
            "\\",
            "?",
            "$1",
        ];
        for text in hostile {
            assert!(find_ids(&store, QueryFilter::eq("name", json!(text))).await.is_empty(), "{text}");
            assert!(find_ids(&store, QueryFilter::in_values("name", [text])).await.is_empty(), "{text}");
            let color = QueryFilter::json_path_text_eq("attrs", ["color"], text);
            assert!(find_ids(&store, color).await.is_empty(), "{text}");
            assert!(find_ids(&store, QueryFilter::json_has_key("attrs", text)).await.is_empty(), "{text}");
            assert!(store.find(QueryBuilder::new().filter_by_tag(text)).await.unwrap().is_empty(), "{text}");
            let none = QueryBuilder::new().filter(QueryFilter::eq("sku", json!(text)));
            assert_eq!(store.delete_where(none.clone()).await.unwrap(), 0, "{text}");
            assert!(store.update_where(none, UpdateSet::new().set("name", json!(text))).await.unwrap().is_empty());
        }
        assert_eq!(raw_rows(&storehaus).await, before, "no row changed");

        // Stored as written and found again by equality.
        let apple = QueryBuilder::new().filter(QueryFilter::eq("id", json!(1)));
        store.update_where(apple, UpdateSet::new().set("name", json!(hostile[1]))).await.unwrap();
        assert_eq!(find_ids(&store, QueryFilter::eq("name", json!(hostile[1]))).await, [1]);
        let names = raw::texts(&storehaus, r#"SELECT "name" FROM "products" WHERE "id" = 1"#).await;
        assert_eq!(names, [Some(hostile[1].to_owned())]);
        assert_eq!(raw::int(&storehaus, r#"SELECT COUNT(*) FROM "products""#).await, 5);
    }
}

on_both_backends! {
    /// Decimals compare as numbers: `1.5` finds the `1.50` stored (SQLite stores it as `1.5`).
    async fn decimal_equality_compares_numbers(db) {
        let (_storehaus, store) = prices(&db).await;
        let amount = Price::columns().amount;
        let find = |filter: QueryFilter| {
            let store = store.clone();
            async move { price_ids(&store.find(QueryBuilder::new().filter(filter)).await.unwrap()) }
        };
        assert_eq!(find(amount.eq(Decimal::new(15, 1))).await, [1]);
        assert_eq!(find(amount.eq(Decimal::new(150, 2))).await, [1]);
        assert_eq!(find(amount.eq(Decimal::new(1000, 2))).await, [2]);
        assert_eq!(find(amount.in_values([Decimal::new(225, 2), Decimal::new(10, 0)])).await, [2, 3]);
        assert_eq!(find(amount.ne(Decimal::new(10, 0))).await, [1, 3]);
        let stored = store.get_by_id(&1).await.unwrap().unwrap().amount;
        assert_eq!(stored, Decimal::new(15, 1), "equal as Decimal");
    }
}
