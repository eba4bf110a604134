//! The SQL the raw contenders send. Where StoreHaus can send the same statement, the text is
//! copied from what StoreHaus sends (`storehaus/src/backend/sql/statements.rs`, `query.rs` and
//! `related.rs`, `storehaus/src/backend/postgres/batch.rs`, `storehaus/src/backend/postgres/data.rs`);
//! `parity::check` confirms at the end of a run that StoreHaus prepared exactly these texts.

/// The columns StoreHaus reads for a `bench_users` record, in its order.
macro_rules! user_columns {
    () => {
        r#""id", "name", "hair_color", "__created_at__", "__updated_at__", "__tags__""#
    };
}

/// `list_all()`: every row, ordered by key.
pub const LIST_USERS: &str = concat!("SELECT ", user_columns!(), r#" FROM "bench_users" ORDER BY "id" ASC"#);

/// `get_by_id(&id)`.
pub const GET_USER: &str = concat!("SELECT ", user_columns!(), r#" FROM "bench_users" WHERE "id" = $1"#);

/// `auth("user_1").get_by_id(&id)` on the `auth` twin of `bench_users`: the key, then the scope's
/// principals as one array.
pub const GET_SCOPED_USER: &str = concat!(
    "SELECT ",
    user_columns!(),
    r#", "__auth__" FROM "bench_scoped_users" WHERE "id" = $1 AND "__auth__" && $2::TEXT[]"#
);

/// `update(&id, user, None)`: the update columns, then the key.
pub const UPDATE_USER: &str = concat!(
    r#"UPDATE "bench_users" SET "name" = $1, "hair_color" = $2, "__updated_at__" = now() WHERE "id" = $3 RETURNING "#,
    user_columns!()
);

/// `create(user, None)` on a store without signals: the create columns, then the tags. (The
/// signal workload's store wraps it to append its event; the floor there sends it bare.)
pub const INSERT_USER: &str = concat!(
    r#"INSERT INTO "bench_users" ("id", "name", "hair_color", "__tags__") VALUES ($1, $2, $3, $4) RETURNING "#,
    user_columns!()
);

/// `create_many(users, None)`: the tags of every row, then one array per column, unnested by the
/// server.
pub const INSERT_USERS_UNNEST: &str = concat!(
    r#"INSERT INTO "bench_users" ("id", "name", "hair_color", "__tags__") "#,
    r#"SELECT "__batch__"."id", "__batch__"."name", "__batch__"."hair_color", CAST($1 AS TEXT[]) "#,
    r#"FROM UNNEST(CAST($2 AS INTEGER[]), CAST($3 AS TEXT[]), CAST($4 AS TEXT[])) "#,
    r#"AS "__batch__"("id", "name", "hair_color") RETURNING "#,
    user_columns!()
);

/// `find_with(QueryBuilder::new().filter(User::columns().hair_color.eq(..)), User::posts().joined())`:
/// the users and their posts in one statement, each user's rows adjacent.
pub const FIND_USERS_BY_HAIR_WITH_POSTS: &str = concat!(
    r#"SELECT "bench_users"."id", "bench_users"."name", "bench_users"."hair_color", "#,
    r#""bench_users"."__created_at__", "bench_users"."__updated_at__", "bench_users"."__tags__", "#,
    r#""bench_posts"."id", "bench_posts"."user_id", "bench_posts"."title", "bench_posts"."body", "#,
    r#""bench_posts"."__created_at__", "bench_posts"."__updated_at__", "bench_posts"."__tags__" "#,
    r#"FROM "bench_users" LEFT JOIN "bench_posts" ON "bench_posts"."user_id" = "bench_users"."id" "#,
    r#"WHERE "bench_users"."hair_color" = $1 ORDER BY "bench_users"."id" ASC, "bench_posts"."id" ASC"#
);

/// The posts level of `find_with(.., User::posts().with(Post::comments()))`: the record
/// columns (the loader attaches each row by its `user_id`).
pub const LOAD_POSTS_OF_USERS: &str = concat!(
    r#"SELECT "bench_posts"."id", "bench_posts"."user_id", "bench_posts"."title", "bench_posts"."body", "#,
    r#""bench_posts"."__created_at__", "bench_posts"."__updated_at__", "bench_posts"."__tags__" "#,
    r#"FROM "bench_posts" WHERE "bench_posts"."user_id" = ANY($1) "#,
    r#"ORDER BY "bench_posts"."id" ASC"#
);

/// The comments level of the same load.
pub const LOAD_COMMENTS_OF_POSTS: &str = concat!(
    r#"SELECT "bench_comments"."id", "bench_comments"."post_id", "bench_comments"."text", "#,
    r#""bench_comments"."__created_at__", "bench_comments"."__updated_at__", "bench_comments"."__tags__" "#,
    r#"FROM "bench_comments" WHERE "bench_comments"."post_id" = ANY($1) "#,
    r#"ORDER BY "bench_comments"."id" ASC"#
);

/// The statements above that StoreHaus itself sends (the parity check looks for each).
pub const SHARED_WITH_STOREHAUS: &[&str] = &[
    LIST_USERS,
    GET_USER,
    GET_SCOPED_USER,
    UPDATE_USER,
    INSERT_USERS_UNNEST,
    FIND_USERS_BY_HAIR_WITH_POSTS,
    LOAD_POSTS_OF_USERS,
    LOAD_COMMENTS_OF_POSTS,
    DATA_GET,
    DATA_SET,
    DATA_SET_MANY,
];

/// The data store's scope and key, `$1`–`$4`.
macro_rules! data_at_key {
    () => {
        r#""owner_kind" = $1 AND "owner_id" = $2 AND "namespace" = $3 AND "key" = $4"#
    };
}

/// The data store's upsert tail: the new value and expiry replace the old ones. Its writes return
/// only the key on a store without signals.
macro_rules! data_upsert {
    () => {
        concat!(
            r#"ON CONFLICT ("owner_kind", "owner_id", "namespace", "key") DO UPDATE SET "value" = EXCLUDED."value", "#,
            r#""expires_at" = EXCLUDED."expires_at", "__updated_at__" = now() RETURNING "key""#
        )
    };
}

/// `data.get(key)`: the live entry of one key of a scope.
pub const DATA_GET: &str = concat!(
    r#"SELECT "value", "expires_at" FROM "storehaus_data" WHERE "#,
    data_at_key!(),
    r#" AND ("expires_at" IS NULL OR "expires_at" > now())"#
);

/// `data.set(key, value, ttl)`: the scope, the key, the value, the TTL in microseconds (NULL:
/// never expires).
pub const DATA_SET: &str = concat!(
    r#"INSERT INTO "storehaus_data" ("owner_kind", "owner_id", "namespace", "key", "value", "expires_at") "#,
    r#"VALUES ($1, $2, $3, $4, $5, now() + $6::bigint * interval '1 microsecond') "#,
    data_upsert!()
);

/// `data.set_many(entries, ttl)`, one chunk: the scope, the chunk as a JSON array of
/// `[key, value]` pairs, the TTL.
pub const DATA_SET_MANY: &str = concat!(
    r#"INSERT INTO "storehaus_data" ("owner_kind", "owner_id", "namespace", "key", "value", "expires_at") "#,
    r#"SELECT $1, $2, $3, "e"->>0, "e"->1, now() + $5::bigint * interval '1 microsecond' "#,
    r#"FROM jsonb_array_elements($4::jsonb) AS "e" WHERE true "#,
    data_upsert!()
);

/// Entries of one `DATA_SET_MANY` statement, as `set_many` chunks them.
pub const DATA_SET_MANY_CHUNK: usize = 1_000;

/// diesel_bench's medium-complex query with StoreHaus's columns on both sides, as a user would
/// write it for raw sqlx and tokio-postgres (table aliases): the same join, order and columns as
/// StoreHaus's [`FIND_USERS_BY_HAIR_WITH_POSTS`].
pub const USERS_WITH_POSTS: &str = concat!(
    r#"SELECT u."id", u."name", u."hair_color", u."__created_at__", u."__updated_at__", u."__tags__", "#,
    r#"p."id", p."user_id", p."title", p."body", p."__created_at__", p."__updated_at__", p."__tags__" "#,
    r#"FROM "bench_users" u LEFT JOIN "bench_posts" p ON p."user_id" = u."id" "#,
    r#"WHERE u."hair_color" = $1 ORDER BY u."id" ASC, p."id" ASC"#
);

/// The posts of many users, written by hand for raw sqlx and tokio-postgres: one array parameter.
pub const POSTS_OF_USERS: &str = concat!(
    r#"SELECT "id", "user_id", "title", "body", "__created_at__", "__updated_at__", "__tags__" "#,
    r#"FROM "bench_posts" WHERE "user_id" = ANY($1) ORDER BY "id" ASC"#
);

/// The comments of many posts, written by hand like [`POSTS_OF_USERS`].
pub const COMMENTS_OF_POSTS: &str = concat!(
    r#"SELECT "id", "post_id", "text", "__created_at__", "__updated_at__", "__tags__" "#,
    r#"FROM "bench_comments" WHERE "post_id" = ANY($1) ORDER BY "id" ASC"#
);

/// `INSERT … VALUES ($1, $2, $3), … RETURNING <columns>` for `rows` users (tags take their
/// default, the empty array StoreHaus would bind).
pub fn insert_users_values(rows: usize) -> String {
    let mut sql = String::from(r#"INSERT INTO "bench_users" ("id", "name", "hair_color") VALUES "#);
    for row in 0..rows {
        let n = row * 3;
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(${}, ${}, ${})", n + 1, n + 2, n + 3));
    }
    sql.push_str(concat!(" RETURNING ", user_columns!()));
    sql
}

/// The binary COPY floor of bulk inserts (returns nothing, unlike every other contender).
pub const COPY_USERS: &str = r#"COPY "bench_users" ("id", "name", "hair_color") FROM STDIN (FORMAT binary)"#;

/// Rows per multi-row VALUES statement: three parameters a row, under PostgreSQL's 65 535.
pub const VALUES_CHUNK: usize = 65_535 / 3;

/// Rows per statement StoreHaus's `create_many` uses (`BATCH_ROWS`), for the same-SQL contender.
pub const UNNEST_CHUNK: usize = 5_000;
