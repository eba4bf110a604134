//! The data store's statements on PostgreSQL: `$n` parameters, `jsonb` operators, the server's
//! clock (`now()`), and change events written by the statement itself.
//!
//! Parameters: `$1`–`$3` the scope (owner kind, owner id, namespace), `$4` the key where there is
//! one, then the statement's own. TTLs are bound as microseconds and added to `now()`.

use super::Postgres;
use crate::backend::data::{DataDialect, DataEvent, DataTexts};
use crate::backend::sql::BIGINT;
use crate::backend::{Backend, sql::SqlText};
use crate::error::StoreError;
use crate::model::Model;
use crate::types::Value;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgArguments;
use std::time::Duration;

/// The record columns of the table, in order.
macro_rules! record {
    () => {
        r#""owner_kind", "owner_id", "namespace", "key", "value", "expires_at", "__created_at__", "__updated_at__", "__tags__""#
    };
}

/// Whether the row is live.
macro_rules! live {
    () => {
        r#"("expires_at" IS NULL OR "expires_at" > now())"#
    };
}

/// The existing row of an upsert has expired.
macro_rules! expired {
    () => {
        r#""storehaus_data"."expires_at" <= now()"#
    };
}

macro_rules! at_key {
    () => {
        r#""owner_kind" = $1 AND "owner_id" = $2 AND "namespace" = $3 AND "key" = $4"#
    };
}

macro_rules! in_scope {
    () => {
        r#""owner_kind" = $1 AND "owner_id" = $2 AND "namespace" = $3"#
    };
}

const TEXTS: DataTexts = DataTexts {
    set: concat!(
        r#"INSERT INTO "storehaus_data" ("owner_kind", "owner_id", "namespace", "key", "value", "expires_at") "#,
        r#"VALUES ($1, $2, $3, $4, $5, now() + $6::bigint * interval '1 microsecond') "#,
        r#"ON CONFLICT ("owner_kind", "owner_id", "namespace", "key") DO UPDATE SET "value" = EXCLUDED."value", "#,
        r#""expires_at" = EXCLUDED."expires_at", "__updated_at__" = now() RETURNING {returning}"#
    ),
    set_many: concat!(
        r#"INSERT INTO "storehaus_data" ("owner_kind", "owner_id", "namespace", "key", "value", "expires_at") "#,
        r#"SELECT $1, $2, $3, "e"->>0, "e"->1, now() + $5::bigint * interval '1 microsecond' "#,
        r#"FROM jsonb_array_elements($4::jsonb) AS "e" WHERE true "#,
        r#"ON CONFLICT ("owner_kind", "owner_id", "namespace", "key") DO UPDATE SET "value" = EXCLUDED."value", "#,
        r#""expires_at" = EXCLUDED."expires_at", "__updated_at__" = now() RETURNING {returning}"#
    ),
    get: concat!(r#"SELECT "value", "expires_at" FROM "storehaus_data" WHERE "#, at_key!(), " AND ", live!()),
    has: concat!(r#"SELECT 1 FROM "storehaus_data" WHERE "#, at_key!(), " AND ", live!()),
    get_many: concat!(
        r#"SELECT "key", "value" FROM "storehaus_data" WHERE "#,
        in_scope!(),
        r#" AND "key" IN (SELECT jsonb_array_elements_text($4::jsonb)) AND "#,
        live!(),
        r#" ORDER BY "key" COLLATE "C""#
    ),
    delete: concat!(r#"DELETE FROM "storehaus_data" WHERE "#, at_key!(), " AND ", live!(), " RETURNING {returning}"),
    delete_many: concat!(
        r#"DELETE FROM "storehaus_data" WHERE "#,
        in_scope!(),
        r#" AND "key" IN (SELECT jsonb_array_elements_text($4::jsonb)) AND "#,
        live!(),
        " RETURNING {returning}"
    ),
    clear: concat!(r#"DELETE FROM "storehaus_data" WHERE "#, in_scope!(), " AND ", live!(), " RETURNING {returning}"),
    entries: concat!(
        r#"SELECT "key", "value" FROM "storehaus_data" WHERE "#,
        in_scope!(),
        " AND ",
        live!(),
        r#" ORDER BY "key" COLLATE "C""#
    ),
    entries_prefix: concat!(
        r#"SELECT "key", "value" FROM "storehaus_data" WHERE "#,
        in_scope!(),
        r#" AND starts_with("key", $4) AND "#,
        live!(),
        r#" ORDER BY "key" COLLATE "C""#
    ),
    keys: concat!(
        r#"SELECT "key", NULL::jsonb FROM "storehaus_data" WHERE "#,
        in_scope!(),
        " AND ",
        live!(),
        r#" ORDER BY "key" COLLATE "C""#
    ),
    keys_prefix: concat!(
        r#"SELECT "key", NULL::jsonb FROM "storehaus_data" WHERE "#,
        in_scope!(),
        r#" AND starts_with("key", $4) AND "#,
        live!(),
        r#" ORDER BY "key" COLLATE "C""#
    ),
    touch: concat!(
        r#"UPDATE "storehaus_data" SET "expires_at" = now() + $5::bigint * interval '1 microsecond', "#,
        r#""__updated_at__" = now() WHERE "#,
        at_key!(),
        " AND ",
        live!(),
        " RETURNING {returning}"
    ),
    ttl: concat!(r#"SELECT "expires_at", now() FROM "storehaus_data" WHERE "#, at_key!(), " AND ", live!()),
    // The existing value must be an integer (its text all digits) whose sum with `$5` fits a
    // BIGINT; otherwise the row does not match, nothing changes and no row is returned. The
    // sum is checked in NUMERIC, so the cast to BIGINT never fails.
    increment: concat!(
        r#"INSERT INTO "storehaus_data" ("owner_kind", "owner_id", "namespace", "key", "value", "expires_at") "#,
        r#"VALUES ($1, $2, $3, $4, to_jsonb($5::bigint), NULL) "#,
        r#"ON CONFLICT ("owner_kind", "owner_id", "namespace", "key") DO UPDATE SET "value" = CASE WHEN "#,
        expired!(),
        r#" THEN EXCLUDED."value" ELSE to_jsonb(("storehaus_data"."value" #>> '{}')::bigint + $5::bigint) END, "#,
        r#""expires_at" = CASE WHEN "#,
        expired!(),
        r#" THEN NULL ELSE "storehaus_data"."expires_at" END, "__updated_at__" = now() "#,
        "WHERE ",
        expired!(),
        r#" OR (jsonb_typeof("storehaus_data"."value") = 'number' AND CASE WHEN ("storehaus_data"."value" #>> '{}') "#,
        r#"~ '^-?[0-9]{1,19}$' THEN ("storehaus_data"."value" #>> '{}')::numeric + $5::bigint "#,
        r#"BETWEEN -9223372036854775808 AND 9223372036854775807 ELSE false END) "#,
        concat!("RETURNING ", record!())
    ),
    list_push: concat!(
        r#"INSERT INTO "storehaus_data" ("owner_kind", "owner_id", "namespace", "key", "value", "expires_at") "#,
        r#"VALUES ($1, $2, $3, $4, jsonb_build_array($5::jsonb), NULL) "#,
        r#"ON CONFLICT ("owner_kind", "owner_id", "namespace", "key") DO UPDATE SET "value" = CASE WHEN "#,
        expired!(),
        r#" THEN EXCLUDED."value" ELSE "storehaus_data"."value" || EXCLUDED."value" END, "#,
        r#""expires_at" = CASE WHEN "#,
        expired!(),
        r#" THEN NULL ELSE "storehaus_data"."expires_at" END, "__updated_at__" = now() "#,
        "WHERE ",
        expired!(),
        r#" OR jsonb_typeof("storehaus_data"."value") = 'array' "#,
        concat!("RETURNING ", record!())
    ),
    list_lock: concat!(r#"SELECT "value" FROM "storehaus_data" WHERE "#, at_key!(), " AND ", live!(), " FOR UPDATE"),
    list_write: concat!(
        r#"UPDATE "storehaus_data" SET "value" = $5, "__updated_at__" = now() WHERE "#,
        at_key!(),
        " RETURNING {returning}"
    ),
    list_clear: concat!(
        r#"UPDATE "storehaus_data" SET "value" = '[]'::jsonb, "__updated_at__" = now() WHERE "#,
        at_key!(),
        " AND ",
        live!(),
        " RETURNING {returning}"
    ),
    export_scope: concat!(
        r#"SELECT "owner_kind", "owner_id", "namespace", "key", "value", "expires_at" FROM "storehaus_data" WHERE "#,
        in_scope!(),
        " AND ",
        live!(),
        r#" ORDER BY "owner_kind", "owner_id", "namespace", "key" LIMIT $4"#
    ),
    export_scope_after: concat!(
        r#"SELECT "owner_kind", "owner_id", "namespace", "key", "value", "expires_at" FROM "storehaus_data" WHERE "#,
        in_scope!(),
        r#" AND ("owner_kind", "owner_id", "namespace", "key") > ($4, $5, $6, $7) AND "#,
        live!(),
        r#" ORDER BY "owner_kind", "owner_id", "namespace", "key" LIMIT $8"#
    ),
    export_all: concat!(
        r#"SELECT "owner_kind", "owner_id", "namespace", "key", "value", "expires_at" FROM "storehaus_data" WHERE "#,
        live!(),
        r#" ORDER BY "owner_kind", "owner_id", "namespace", "key" LIMIT $1"#
    ),
    export_all_after: concat!(
        r#"SELECT "owner_kind", "owner_id", "namespace", "key", "value", "expires_at" FROM "storehaus_data" "#,
        r#"WHERE ("owner_kind", "owner_id", "namespace", "key") > ($1, $2, $3, $4) AND "#,
        live!(),
        r#" ORDER BY "owner_kind", "owner_id", "namespace", "key" LIMIT $5"#
    ),
    // `$1`: a JSON array of `[owner kind, owner id, namespace, key, value, expires_at]`.
    import_overwrite: concat!(
        r#"INSERT INTO "storehaus_data" ("owner_kind", "owner_id", "namespace", "key", "value", "expires_at") "#,
        r#"SELECT "e"->>0, "e"->>1, "e"->>2, "e"->>3, "e"->4, ("e"->>5)::timestamptz "#,
        r#"FROM jsonb_array_elements($1::jsonb) AS "e" WHERE true "#,
        r#"ON CONFLICT ("owner_kind", "owner_id", "namespace", "key") DO UPDATE SET "value" = EXCLUDED."value", "#,
        r#""expires_at" = EXCLUDED."expires_at", "__updated_at__" = now() RETURNING {returning}"#
    ),
    import_keep: concat!(
        r#"INSERT INTO "storehaus_data" ("owner_kind", "owner_id", "namespace", "key", "value", "expires_at") "#,
        r#"SELECT "e"->>0, "e"->>1, "e"->>2, "e"->>3, "e"->4, ("e"->>5)::timestamptz "#,
        r#"FROM jsonb_array_elements($1::jsonb) AS "e" WHERE true "#,
        r#"ON CONFLICT ("owner_kind", "owner_id", "namespace", "key") DO UPDATE SET "value" = EXCLUDED."value", "#,
        r#""expires_at" = EXCLUDED."expires_at", "__updated_at__" = now() WHERE "#,
        expired!(),
        " RETURNING {returning}"
    ),
    // Rows another transaction holds are skipped, not waited for: a batch never waits on a live
    // key, and holds the rows it deletes for one statement.
    cleanup: concat!(
        r#"DELETE FROM "storehaus_data" WHERE ("owner_kind", "owner_id", "namespace", "key") IN ("#,
        r#"SELECT "owner_kind", "owner_id", "namespace", "key" FROM "storehaus_data" WHERE "expires_at" <= now() "#,
        r#"LIMIT $1 FOR UPDATE SKIP LOCKED) AND "expires_at" <= now() RETURNING {returning}"#
    ),
    min_returning: r#""key""#,
};

impl DataDialect for Postgres {
    const DATA: DataTexts = TEXTS;
    const ONE_WRITER: bool = false;

    fn time_text(at: DateTime<Utc>) -> String {
        at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    }

    fn bind_clock(_args: &mut PgArguments, _now: DateTime<Utc>) -> Result<(), StoreError> {
        Ok(())
    }

    fn bind_ttl(args: &mut PgArguments, _now: DateTime<Utc>, ttl: Option<Duration>) -> Result<(), StoreError> {
        let micros = match ttl {
            Some(ttl) => Value::BigInt(crate::backend::data::ttl_micros(ttl)?),
            None => Value::Null,
        };
        Postgres::bind(args, micros, BIGINT)
    }

    fn with_data_events(write: &str, kind: DataEvent) -> SqlText {
        let table = crate::data::DataEntry::TABLE;
        let text = match kind {
            DataEvent::Upsert => super::events::with_event_type(
                write,
                table,
                r#"CASE WHEN "__w"."__created_at__" = "__w"."__updated_at__" THEN 'create' ELSE 'update' END"#,
            ),
            DataEvent::Update => super::events::with_events(write, table, crate::backend::sql::EventKind::Update),
            DataEvent::Delete => super::events::with_events(write, table, crate::backend::sql::EventKind::Delete),
        };
        SqlText::assembled(text)
    }
}
