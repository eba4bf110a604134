//! Row-level access: user 1 stores a private document, user 2 cannot read it and user 1 can;
//! user 1 shares it with user 2 and takes it back; a store without a scope is refused. Then
//! tenants: two organizations each see only their own invoices, and an invoice for another
//! organization cannot be created through a scoped store.
//!
//! ```text
//! cargo run --example access_control
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo run --example access_control
//! ```
//!
//! With no `DATABASE_URL` (nor a `[database]` section in `storehaus.toml` / `$STOREHAUS_CONFIG`)
//! it runs on SQLite in memory; otherwise on the database `AppConfig::load()` finds. The tables
//! `access_documents` and `access_invoices` are recreated on every run. Every step checks its
//! result, and the example panics when one is not what it should be. docs/access.md is the guide.

use storehaus::prelude::*;

/// Rows carry `__auth__`: the principals that may see them.
#[model]
#[table(name = "access_documents", auth)]
pub struct Document {
    #[primary_key]
    pub id: Uuid,
    pub title: String,
    pub body: String,
}

/// Every row belongs to one organization.
#[model]
#[table(name = "access_invoices")]
pub struct Invoice {
    #[primary_key]
    pub id: Uuid,
    #[tenant]
    pub org_id: Uuid,
    pub number: String,
    pub cents: i64,
}

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> Res {
    let on_server = std::env::var("DATABASE_URL").is_ok_and(|url| !url.is_empty())
        || std::env::var("STOREHAUS_CONFIG").is_ok_and(|path| !path.is_empty());
    let database = if on_server { AppConfig::load()?.database } else { DatabaseConfig::embedded(":memory:") };
    let storehaus = StoreHaus::new(database.clone()).await?;
    println!("Access control on {} ({})", database.redacted_url(), storehaus.pool().backend_name());
    storehaus.auto_migrate::<Document>(true).await?;
    storehaus.auto_migrate::<Invoice>(true).await?;

    let documents = GenericStore::<Document>::new(storehaus.pool().clone(), None, None);
    let invoices = GenericStore::<Invoice>::new(storehaus.pool().clone(), None, None);
    let id = private_document(&documents).await?;
    sharing(&documents, id).await?;
    no_scope(&documents, id).await?;
    tenants(&invoices).await?;

    storehaus.close().await;
    println!("access_control: every check passed");
    Ok(())
}

/// User 1 stores private data; user 2 gets nothing, user 1 gets it back.
async fn private_document(documents: &GenericStore<Document>) -> Res<Uuid> {
    let user_1 = documents.auth("user_1");
    let user_2 = documents.auth("user_2");
    let doc = Document::new(Uuid::new_v4(), "Salaries".into(), "secret data".into());
    let created = user_1.create(doc, None).await?;
    assert_eq!(created.principals(), Some(&["user_1".to_owned()][..]), "create writes the scope's principal");
    println!("user_1 created {:?} with __auth__ = {:?}", created.title, created.principals());

    let seen_by_2 = user_2.get_by_id(&created.id).await?;
    assert!(seen_by_2.is_none(), "user_2 must not see user_1's document");
    assert_eq!(user_2.count().await?, 0, "user_2 counts no documents");
    println!("user_2.get_by_id -> None (not found, or no access)");

    let seen_by_1 = user_1.get_by_id(&created.id).await?.expect("user_1 sees its own document");
    assert_eq!(seen_by_1.body, "secret data");
    println!("user_1.get_by_id -> {:?}", seen_by_1.body);

    // A row out of scope fails like a missing one: same error, same text but for the key.
    let edit = |id| Document::new(id, "Mine now".into(), "overwritten".into());
    let foreign = user_2.update(&created.id, edit(created.id), None).await.expect_err("user_2 must not update it");
    let missing_id = Uuid::new_v4();
    let missing = user_1.update(&missing_id, edit(missing_id), None).await.expect_err("no such document");
    assert!(matches!(foreign, StoreError::NotFound { .. }), "{foreign:?}");
    assert_eq!(
        foreign.to_string().replace(&created.id.to_string(), "KEY"),
        missing.to_string().replace(&missing_id.to_string(), "KEY"),
        "a foreign row and a missing one must read alike"
    );
    println!("user_2.update -> {foreign}");
    let kept = user_1.get_by_id(&created.id).await?.expect("still there");
    assert_eq!(kept.title, "Salaries", "the refused update changed nothing");
    Ok(created.id)
}

/// Grant shares a row, revoke takes it back; `auth_any` sees what any of its principals may.
async fn sharing(documents: &GenericStore<Document>, id: Uuid) -> Res {
    let user_1 = documents.auth("user_1");
    let user_2 = documents.auth("user_2");

    user_1.grant(&id, "user_2").await?;
    user_1.grant(&id, "user_2").await?; // once is enough: a principal is listed once
    let shared = user_2.get_by_id(&id).await?.expect("user_2 sees it once granted");
    assert_eq!(user_1.principals(&id).await?, ["user_1", "user_2"]);
    println!("after grant: user_2 reads {:?}; principals {:?}", shared.title, shared.principals());

    user_1.revoke(&id, "user_2").await?;
    assert!(user_2.get_by_id(&id).await?.is_none(), "revoked: user_2 sees nothing again");
    let refused = user_2.grant(&id, "user_2").await;
    assert!(matches!(refused, Err(StoreError::NotFound { .. })), "only what you see can be shared: {refused:?}");
    assert_eq!(user_1.principals(&id).await?, ["user_1"]);
    println!("after revoke: user_2 reads None and cannot grant itself access");

    // A member of team_7 sees what is shared with the team.
    user_1.grant(&id, "team_7").await?;
    let member = documents.auth_any(["user_3", "team_7"]);
    assert!(member.get_by_id(&id).await?.is_some(), "shared with team_7");
    let own = member.create(Document::new(Uuid::new_v4(), "Notes".into(), "draft".into()), None).await?;
    assert_eq!(own.principals(), Some(&["user_3".to_owned()][..]), "create writes the first principal only");
    assert_eq!(member.count().await?, 2);
    println!("auth_any([user_3, team_7]) sees 2 documents; its own is private to user_3");
    Ok(())
}

/// Without a scope every call is refused and runs nothing; `unrestricted()` is the way around.
async fn no_scope(documents: &GenericStore<Document>, id: Uuid) -> Res {
    let read = documents.get_by_id(&id).await;
    assert!(matches!(read, Err(StoreError::AuthRequired { .. })), "{read:?}");
    println!("get_by_id without a scope -> {}", read.err().map(|e| e.to_string()).unwrap_or_default());

    let admin = documents.unrestricted();
    let before = admin.count().await?;
    let write = documents.create(Document::new(Uuid::new_v4(), "Orphan".into(), "".into()), None).await;
    assert!(matches!(write, Err(StoreError::AuthRequired { .. })), "{write:?}");
    assert_eq!(admin.count().await?, before, "the refused create wrote nothing");

    let orphan = admin.create(Document::new(Uuid::new_v4(), "System".into(), "".into()), None).await?;
    assert_eq!(orphan.principals(), Some(&[][..]), "an unrestricted create is visible to no principal");
    assert_eq!(admin.count().await?, before + 1);
    assert!(documents.auth("user_1").get_by_id(&orphan.id).await?.is_none());
    println!("unrestricted() sees all {} documents; its create is visible to nobody until granted", before + 1);
    Ok(())
}

/// Two organizations, each seeing its own invoices only.
async fn tenants(invoices: &GenericStore<Invoice>) -> Res {
    let (acme_id, globex_id) = (Uuid::new_v4(), Uuid::new_v4());
    let acme = invoices.tenant(acme_id);
    let globex = invoices.tenant(globex_id);
    let invoice = |org, number: &str, cents| Invoice::new(Uuid::new_v4(), org, number.into(), cents);

    acme.create_many(vec![invoice(acme_id, "A-1", 1_200), invoice(acme_id, "A-2", 800)], None).await?;
    let g1 = globex.create(invoice(globex_id, "G-1", 5_000), None).await?;

    let by_number = QueryBuilder::new().order_by("number", SortOrder::Asc);
    let acme_numbers: Vec<String> = acme.find(by_number.clone()).await?.into_iter().map(|i| i.number.clone()).collect();
    let globex_numbers: Vec<String> = globex.find(by_number).await?.into_iter().map(|i| i.number.clone()).collect();
    assert_eq!(acme_numbers, ["A-1", "A-2"]);
    assert_eq!(globex_numbers, ["G-1"]);
    assert!(acme.get_by_id(&g1.id).await?.is_none(), "acme must not read globex's invoice");
    println!("acme sees {acme_numbers:?}, globex sees {globex_numbers:?}");

    let wrong = acme.create(invoice(globex_id, "A-3", 1), None).await;
    assert!(
        matches!(&wrong, Err(StoreError::Validation { field: Some(field), .. }) if field == "org_id"),
        "creating for another organization: {wrong:?}"
    );
    assert_eq!(globex.count().await?, 1, "nothing was written for globex");
    println!("acme creating an invoice for globex -> {}", wrong.err().map(|e| e.to_string()).unwrap_or_default());

    let unscoped = invoices.list_all().await;
    assert!(matches!(unscoped, Err(StoreError::TenantRequired { .. })), "{unscoped:?}");
    assert_eq!(invoices.unrestricted().count().await?, 3);
    println!("list_all without a tenant -> TenantRequired; unrestricted() counts all 3");
    Ok(())
}
