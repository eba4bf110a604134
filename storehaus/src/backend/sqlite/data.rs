//! The data store's statements on SQLite: `?n` parameters, the JSON1 functions, the statement's
//! clock bound as `?1`, and change events built from the rows a write returns.
//!
//! Parameters: `?1` the clock, `?2`–`?4` the scope (owner kind, owner id, namespace), `?5` the
//! key where there is one, then the statement's own. Times are stored as fixed-width UTC text,
//! so comparing them as text compares the instants.

use super::Sqlite;
use crate::backend::Backend;
use crate::backend::data::{DataDialect, DataEvent, DataTexts};
use crate::backend::sql::{SqlText, TIMESTAMPTZ};
use crate::error::StoreError;
use crate::types::Value;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteArguments;
use std::time::Duration;

macro_rules! record {
    () => {
        r#""owner_kind", "owner_id", "namespace", "key", "value", "expires_at", "__created_at__", "__updated_at__", "__tags__""#
    };
}

macro_rules! live {
    () => {
        r#"("expires_at" IS NULL OR "expires_at" > ?1)"#
    };
}

/// The existing row of an upsert has expired.
macro_rules! expired {
    () => {
        r#""expires_at" <= ?1"#
    };
}

macro_rules! at_key {
    () => {
        r#""owner_kind" = ?2 AND "owner_id" = ?3 AND "namespace" = ?4 AND "key" = ?5"#
    };
}

macro_rules! in_scope {
    () => {
        r#""owner_kind" = ?2 AND "owner_id" = ?3 AND "namespace" = ?4"#
    };
}

macro_rules! insert {
    () => {
        r#"INSERT INTO "storehaus_data" ("owner_kind", "owner_id", "namespace", "key", "value", "expires_at", "__created_at__", "__updated_at__", "__tags__") "#
    };
}

macro_rules! on_conflict {
    () => {
        r#"ON CONFLICT ("owner_kind", "owner_id", "namespace", "key") DO UPDATE SET "#
    };
}

macro_rules! export_columns {
    () => {
        r#"SELECT "owner_kind", "owner_id", "namespace", "key", "value", "expires_at" FROM "storehaus_data" WHERE "#
    };
}

const TEXTS: DataTexts = DataTexts {
    set: concat!(
        insert!(),
        r#"VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?1, ?1, '[]') "#,
        on_conflict!(),
        r#""value" = excluded."value", "expires_at" = excluded."expires_at", "__updated_at__" = ?1 "#,
        "RETURNING {returning}"
    ),
    // `?5`: a JSON array of `[key, value]` pairs; `->` gives an element as JSON text.
    set_many: concat!(
        insert!(),
        r#"SELECT ?2, ?3, ?4, "e"."value" ->> 0, "e"."value" -> 1, ?6, ?1, ?1, '[]' FROM json_each(?5) AS "e" WHERE true "#,
        on_conflict!(),
        r#""value" = excluded."value", "expires_at" = excluded."expires_at", "__updated_at__" = ?1 "#,
        "RETURNING {returning}"
    ),
    get: concat!(r#"SELECT "value", "expires_at" FROM "storehaus_data" WHERE "#, at_key!(), " AND ", live!()),
    has: concat!(r#"SELECT 1 FROM "storehaus_data" WHERE "#, at_key!(), " AND ", live!()),
    get_many: concat!(
        r#"SELECT "key", "value" FROM "storehaus_data" WHERE "#,
        in_scope!(),
        r#" AND "key" IN (SELECT "value" FROM json_each(?5)) AND "#,
        live!(),
        r#" ORDER BY "key""#
    ),
    delete: concat!(r#"DELETE FROM "storehaus_data" WHERE "#, at_key!(), " AND ", live!(), " RETURNING {returning}"),
    delete_many: concat!(
        r#"DELETE FROM "storehaus_data" WHERE "#,
        in_scope!(),
        r#" AND "key" IN (SELECT "value" FROM json_each(?5)) AND "#,
        live!(),
        " RETURNING {returning}"
    ),
    clear: concat!(r#"DELETE FROM "storehaus_data" WHERE "#, in_scope!(), " AND ", live!(), " RETURNING {returning}"),
    entries: concat!(
        r#"SELECT "key", "value" FROM "storehaus_data" WHERE "#,
        in_scope!(),
        " AND ",
        live!(),
        r#" ORDER BY "key""#
    ),
    // `substr`/`length` count characters alike, and `%`/`_` mean nothing to `=`.
    entries_prefix: concat!(
        r#"SELECT "key", "value" FROM "storehaus_data" WHERE "#,
        in_scope!(),
        r#" AND substr("key", 1, length(?5)) = ?5 AND "#,
        live!(),
        r#" ORDER BY "key""#
    ),
    keys: concat!(
        r#"SELECT "key", NULL FROM "storehaus_data" WHERE "#,
        in_scope!(),
        " AND ",
        live!(),
        r#" ORDER BY "key""#
    ),
    keys_prefix: concat!(
        r#"SELECT "key", NULL FROM "storehaus_data" WHERE "#,
        in_scope!(),
        r#" AND substr("key", 1, length(?5)) = ?5 AND "#,
        live!(),
        r#" ORDER BY "key""#
    ),
    touch: concat!(
        r#"UPDATE "storehaus_data" SET "expires_at" = ?6, "__updated_at__" = ?1 WHERE "#,
        at_key!(),
        " AND ",
        live!(),
        " RETURNING {returning}"
    ),
    // The clock is the bound `?1`, which the caller knows.
    ttl: concat!(r#"SELECT "expires_at", NULL FROM "storehaus_data" WHERE "#, at_key!(), " AND ", live!()),
    // The existing value must be an integer whose sum with `?6` fits 64 bits (SQLite would turn
    // an overflowing sum into a REAL); otherwise the row does not match and nothing changes.
    increment: concat!(
        insert!(),
        r#"VALUES (?2, ?3, ?4, ?5, json_quote(?6), NULL, ?1, ?1, '[]') "#,
        on_conflict!(),
        r#""value" = CASE WHEN "#,
        expired!(),
        r#" THEN excluded."value" ELSE json_quote(json_extract("value", '$') + ?6) END, "#,
        r#""expires_at" = CASE WHEN "#,
        expired!(),
        r#" THEN NULL ELSE "expires_at" END, "__updated_at__" = ?1 WHERE "#,
        expired!(),
        r#" OR (json_type("value") = 'integer' AND CASE WHEN ?6 >= 0 "#,
        r#"THEN json_extract("value", '$') <= 9223372036854775807 - ?6 "#,
        r#"ELSE json_extract("value", '$') >= (-9223372036854775807 - 1) - ?6 END) "#,
        concat!("RETURNING ", record!())
    ),
    list_push: concat!(
        insert!(),
        r#"VALUES (?2, ?3, ?4, ?5, json_array(json(?6)), NULL, ?1, ?1, '[]') "#,
        on_conflict!(),
        r#""value" = CASE WHEN "#,
        expired!(),
        r#" THEN excluded."value" ELSE json_insert("value", '$[#]', json(?6)) END, "#,
        r#""expires_at" = CASE WHEN "#,
        expired!(),
        r#" THEN NULL ELSE "expires_at" END, "__updated_at__" = ?1 WHERE "#,
        expired!(),
        r#" OR json_type("value") = 'array' "#,
        concat!("RETURNING ", record!())
    ),
    // Transactions on SQLite hold the write lock from their start: the read is locked already.
    list_lock: concat!(r#"SELECT "value" FROM "storehaus_data" WHERE "#, at_key!(), " AND ", live!()),
    list_write: concat!(
        r#"UPDATE "storehaus_data" SET "value" = ?6, "__updated_at__" = ?1 WHERE "#,
        at_key!(),
        " RETURNING {returning}"
    ),
    list_clear: concat!(
        r#"UPDATE "storehaus_data" SET "value" = '[]', "__updated_at__" = ?1 WHERE "#,
        at_key!(),
        " AND ",
        live!(),
        " RETURNING {returning}"
    ),
    export_scope: concat!(
        export_columns!(),
        in_scope!(),
        " AND ",
        live!(),
        r#" ORDER BY "owner_kind", "owner_id", "namespace", "key" LIMIT ?5"#
    ),
    export_scope_after: concat!(
        export_columns!(),
        in_scope!(),
        r#" AND ("owner_kind", "owner_id", "namespace", "key") > (?5, ?6, ?7, ?8) AND "#,
        live!(),
        r#" ORDER BY "owner_kind", "owner_id", "namespace", "key" LIMIT ?9"#
    ),
    export_all: concat!(
        export_columns!(),
        live!(),
        r#" ORDER BY "owner_kind", "owner_id", "namespace", "key" LIMIT ?2"#
    ),
    export_all_after: concat!(
        export_columns!(),
        r#"("owner_kind", "owner_id", "namespace", "key") > (?2, ?3, ?4, ?5) AND "#,
        live!(),
        r#" ORDER BY "owner_kind", "owner_id", "namespace", "key" LIMIT ?6"#
    ),
    // `?2`: a JSON array of `[owner kind, owner id, namespace, key, value, expires_at]`.
    import_overwrite: concat!(
        insert!(),
        r#"SELECT "e"."value" ->> 0, "e"."value" ->> 1, "e"."value" ->> 2, "e"."value" ->> 3, "e"."value" -> 4, "#,
        r#""e"."value" ->> 5, ?1, ?1, '[]' FROM json_each(?2) AS "e" WHERE true "#,
        on_conflict!(),
        r#""value" = excluded."value", "expires_at" = excluded."expires_at", "__updated_at__" = ?1 "#,
        "RETURNING {returning}"
    ),
    import_keep: concat!(
        insert!(),
        r#"SELECT "e"."value" ->> 0, "e"."value" ->> 1, "e"."value" ->> 2, "e"."value" ->> 3, "e"."value" -> 4, "#,
        r#""e"."value" ->> 5, ?1, ?1, '[]' FROM json_each(?2) AS "e" WHERE true "#,
        on_conflict!(),
        r#""value" = excluded."value", "expires_at" = excluded."expires_at", "__updated_at__" = ?1 WHERE "#,
        expired!(),
        " RETURNING {returning}"
    ),
    // One writer at a time on SQLite: a batch is one short statement, through the index on
    // `expires_at`.
    cleanup: concat!(
        r#"DELETE FROM "storehaus_data" WHERE rowid IN (SELECT rowid FROM "storehaus_data" "#,
        r#"WHERE "expires_at" <= ?1 LIMIT ?2) RETURNING {returning}"#
    ),
    min_returning: r#""key""#,
};

impl DataDialect for Sqlite {
    const DATA: DataTexts = TEXTS;
    const ONE_WRITER: bool = true;

    fn time_text(at: DateTime<Utc>) -> String {
        super::values::timestamptz_text(at)
    }

    fn bind_clock(args: &mut SqliteArguments, now: DateTime<Utc>) -> Result<(), StoreError> {
        Sqlite::bind(args, Value::TimestampTz(now), TIMESTAMPTZ)
    }

    fn bind_ttl(args: &mut SqliteArguments, now: DateTime<Utc>, ttl: Option<Duration>) -> Result<(), StoreError> {
        let expires_at = match ttl {
            Some(ttl) => Value::TimestampTz(crate::backend::data::expires_at(now, ttl)?),
            None => Value::Null,
        };
        Sqlite::bind(args, expires_at, TIMESTAMPTZ)
    }

    fn with_data_events(write: &str, _kind: DataEvent) -> SqlText {
        SqlText::assembled(write.to_owned())
    }
}
