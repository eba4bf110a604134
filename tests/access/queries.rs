//! Queries under scopes: reads return only rows in scope, query writes change only them (checked
//! with raw SQL), and no condition a caller builds can widen the scope.

use super::support::*;
use super::*;
use futures_util::StreamExt;
use storehaus_suite::on_both_backends;

/// Five rows of `user_a` (stars 10‥50), five of `user_b` (stars 15‥55) and one of nobody
/// (stars 5), so that every order interleaves the principals.
struct Fixture {
    env: Env,
    a: GenericStore<Project>,
    b: GenericStore<Project>,
    /// `user_a`'s rows by stars.
    mine: Vec<Uuid>,
    /// `user_b`'s rows by stars.
    theirs: Vec<Uuid>,
}

async fn fixture<B: storehaus_suite::TestBackend>(db: &B) -> Fixture {
    let env = env(db).await;
    let (a, b) = (env.projects.auth("user_a"), env.projects.auth("user_b"));
    let mut mine = Vec::new();
    let mut theirs = Vec::new();
    for i in 1..=5 {
        mine.push(a.create(project("a", i * 10), None).await.unwrap().id);
        theirs.push(b.create(project("b", i * 10 + 5), None).await.unwrap().id);
    }
    env.projects.unrestricted().create(project("nobody", 5), None).await.unwrap();
    Fixture { env, a, b, mine, theirs }
}

impl Fixture {
    /// Every column of `user_b`'s rows and of the row of nobody, as stored.
    async fn others(&self) -> Vec<String> {
        let mut rows = snapshot(&self.env.storehaus, "projects").await;
        let mut mine = Vec::new();
        for id in &self.mine {
            mine.push(raw_row(&self.env.storehaus, "projects", id).await);
        }
        rows.retain(|row| !mine.iter().flatten().any(|m| m == row));
        assert_eq!(rows.len(), 6, "five rows of user_b and one of nobody");
        rows
    }
}

fn ids(records: &[Record<Project>]) -> Vec<Uuid> {
    records.iter().map(|r| r.id).collect()
}

fn by_stars() -> QueryBuilder {
    QueryBuilder::new().order_by("stars", SortOrder::Asc)
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids
}

on_both_backends! {
    /// `find`, `find_one`, `count_where`, `find_stream` see only the scope's rows.
    async fn reads_return_only_rows_in_scope(db) {
        let f = fixture(&db).await;
        assert_eq!(ids(&f.a.find(by_stars()).await.unwrap()), f.mine);
        assert_eq!(ids(&f.b.find(by_stars()).await.unwrap()), f.theirs);
        let above_25 = || by_stars().filter(QueryFilter::gt("stars", 25));
        assert_eq!(ids(&f.a.find(above_25()).await.unwrap()), f.mine[2..]);
        assert_eq!(f.a.count_where(above_25()).await.unwrap(), 3);
        assert_eq!(f.a.count_where(QueryBuilder::new()).await.unwrap(), 5);
        // The highest-starred row overall is user_b's; user_a's first is its own.
        let top = QueryBuilder::new().order_by("stars", SortOrder::Desc);
        assert_eq!(f.a.find_one(top.clone()).await.unwrap().map(|r| r.id), Some(f.mine[4]));
        assert_eq!(f.a.find_one(by_stars().filter(QueryFilter::gt("stars", 50))).await.unwrap(), None);
        let streamed: Vec<Uuid> = f.a.find_stream(by_stars()).map(|r| r.unwrap().id).collect().await;
        assert_eq!(streamed, f.mine);
        // Looking a foreign row up by its key finds nothing.
        let theirs = QueryBuilder::new().filter(QueryFilter::in_values("id", f.theirs.iter().map(|id| id.to_string())));
        assert_eq!(f.a.find(theirs.clone()).await.unwrap(), vec![]);
        assert_eq!(f.a.count_where(theirs).await.unwrap(), 0);
        assert_eq!(f.env.projects.unrestricted().count_where(QueryBuilder::new()).await.unwrap(), 11);
    }

    /// An `or` (or a `not`) the caller builds is put inside the scope, never next to it.
    async fn user_conditions_cannot_escape_the_scope(db) {
        let f = fixture(&db).await;
        let everything = QueryFilter::or(vec![QueryFilter::eq("name", "x"), QueryFilter::gte("stars", i32::MIN)]);
        let escapes = [
            ("or", everything.clone()),
            ("not", QueryFilter::not(QueryFilter::eq("name", "x"))),
            ("or of ids", QueryFilter::or(f.theirs.iter().map(|id| QueryFilter::eq("id", id.to_string())).collect())),
            ("nested or", QueryFilter::and(vec![QueryFilter::or(vec![everything.clone(), QueryFilter::is_null("name")])])),
        ];
        for (what, filter) in escapes {
            let q = || by_stars().filter(filter.clone());
            let found = ids(&f.a.find(q()).await.unwrap());
            assert!(found.iter().all(|id| f.mine.contains(id)), "{what}: {found:?}");
            let counted = f.a.count_where(q()).await.unwrap();
            assert_eq!(counted as usize, found.len(), "{what}");
            let before = f.others().await;
            let updated = f.a.update_where(q(), UpdateSet::new().set("stars", 999)).await.unwrap();
            assert!(ids(&updated).iter().all(|id| f.mine.contains(id)), "{what}: update_where returned foreign rows");
            assert_eq!(f.others().await, before, "{what}: update_where changed a foreign row");
            let deleted = f.a.delete_where(q()).await.unwrap();
            assert_eq!(deleted as usize, found.len(), "{what}");
            assert_eq!(f.others().await, before, "{what}: delete_where changed a foreign row");
            f.a.restore_where(by_stars().all_rows()).await.unwrap();
        }
        // A condition on the principal column itself finds nothing foreign, if it is taken at all.
        let on_auth = by_stars().filter(QueryFilter::array_overlaps("__auth__", ["user_b"]));
        if let Ok(found) = f.a.find(on_auth).await {
            assert_eq!(found, vec![], "a filter on __auth__ reached user_b's rows");
        }
    }

    /// Keyset pages, forwards and backwards, walk only the scope's rows; a cursor handed to
    /// another principal does not lead into the first one's rows.
    async fn pages_and_cursors_stay_in_scope(db) {
        let f = fixture(&db).await;
        let mut seen = Vec::new();
        let mut page = f.a.find_page(by_stars().limit(2)).await.unwrap();
        let first_next = page.next.clone().expect("a full first page has a next cursor");
        loop {
            seen.extend(ids(&page.records));
            let Some(next) = page.next.clone() else { break };
            page = f.a.find_page(by_stars().limit(2).after(&next)).await.unwrap();
            if page.records.is_empty() {
                break;
            }
        }
        assert_eq!(seen, f.mine);

        let mut back = Vec::new();
        let mut page = f.a.find_page(by_stars().last(2)).await.unwrap();
        loop {
            back.splice(0..0, ids(&page.records));
            let Some(previous) = page.previous.clone() else { break };
            page = f.a.find_page(by_stars().limit(2).before(&previous)).await.unwrap();
        }
        assert_eq!(back, f.mine);

        // user_a's cursor (after stars 20) in user_b's hands: user_b's rows after it, nothing else.
        let handed = f.b.find_page(by_stars().limit(10).after(&first_next)).await.unwrap();
        assert_eq!(ids(&handed.records), f.theirs[1..]);
        let handed = f.b.find_page(by_stars().limit(10).before(&first_next)).await.unwrap();
        assert_eq!(ids(&handed.records), f.theirs[..1]);
    }

    /// `update_where`, `delete_where`, `restore_where` and `force_delete_where` change only rows in
    /// scope and return only them; raw SQL shows the others untouched.
    async fn query_writes_change_only_rows_in_scope(db) {
        let f = fixture(&db).await;
        let sh = &f.env.storehaus;
        let before = f.others().await;
        let updated = f.a.update_where(by_stars().all_rows(), UpdateSet::new().increment("stars", 1)).await.unwrap();
        assert_eq!(sorted(ids(&updated)), sorted(f.mine.clone()));
        assert_eq!(f.others().await, before, "update_where changed a foreign row");
        let sum = storehaus_suite::raw::int(sh, r#"SELECT CAST(SUM("stars") AS BIGINT) FROM "projects""#).await;
        assert_eq!(sum, 5 + (10 + 20 + 30 + 40 + 50 + 5) + (15 + 25 + 35 + 45 + 55));

        // user_b deletes one of its rows, so there is a foreign deleted row for restore_where.
        assert!(f.b.delete(&f.theirs[0]).await.unwrap());
        let before = f.others().await;
        assert_eq!(f.a.delete_where(QueryBuilder::new().all_rows()).await.unwrap(), 5);
        assert_eq!(f.others().await, before, "delete_where changed a foreign row");
        let live = storehaus_suite::raw::int(sh, r#"SELECT COUNT(*) FROM "projects" WHERE "__deleted_at__" IS NULL"#).await;
        assert_eq!(live, 5, "four of user_b's rows and the row of nobody are live");

        let restored = f.a.restore_where(QueryBuilder::new().all_rows()).await.unwrap();
        assert_eq!(sorted(ids(&restored)), sorted(f.mine.clone()));
        assert_eq!(f.others().await, before, "restore_where restored a foreign row");
        assert_eq!(f.b.get_by_id(&f.theirs[0]).await.unwrap(), None, "user_b's row stays deleted");

        assert_eq!(f.a.force_delete_where(QueryBuilder::new().with_deleted().all_rows()).await.unwrap(), 5);
        assert_eq!(f.others().await, before, "force_delete_where removed a foreign row");
        assert_eq!(row_count(sh, "projects").await, 6);
    }

    /// The same under a tenant scope.
    async fn tenant_queries_stay_in_the_tenant(db) {
        let env = env(&db).await;
        let sh = &env.storehaus;
        let (acme, globex) = (env.notes.tenant("acme".to_owned()), env.notes.tenant("globex".to_owned()));
        for i in 1..=3 {
            acme.create(note(i, "acme", "a"), None).await.unwrap();
            globex.create(note(i + 10, "globex", "g"), None).await.unwrap();
        }
        let all = || QueryBuilder::new().order_by("id", SortOrder::Asc);
        let note_ids = |r: Vec<Record<Note>>| r.iter().map(|n| n.id).collect::<Vec<_>>();
        assert_eq!(note_ids(acme.find(all()).await.unwrap()), [1, 2, 3]);
        let escape = QueryFilter::or(vec![QueryFilter::eq("org", "globex"), QueryFilter::gt("id", 0)]);
        assert_eq!(note_ids(acme.find(all().filter(escape.clone())).await.unwrap()), [1, 2, 3]);
        let globex_before: Vec<_> = raw_notes(sh, "globex").await;
        let updated = acme.update_where(all().filter(escape.clone()), UpdateSet::new().set("body", "changed")).await.unwrap();
        assert_eq!(note_ids(updated), [1, 2, 3]);
        assert_eq!(acme.delete_where(all().filter(escape.clone())).await.unwrap(), 3);
        assert_eq!(note_ids(acme.restore_where(all().filter(escape)).await.unwrap()), [1, 2, 3]);
        assert_eq!(raw_notes(sh, "globex").await, globex_before, "a query write reached another tenant");
        let streamed: Vec<i64> = globex.find_stream(all()).map(|r| r.unwrap().id).collect().await;
        assert_eq!(streamed, [11, 12, 13]);
    }
}

/// Every column of the notes of tenant `org`, as stored.
async fn raw_notes(storehaus: &StoreHaus, org: &str) -> Vec<String> {
    let mut rows = Vec::new();
    for id in 1..=20_i64 {
        if let Some(row) = raw_row(storehaus, "notes", &id).await
            && stored_text(storehaus, "notes", "org", &id).await.as_deref() == Some(org)
        {
            rows.push(row);
        }
    }
    assert!(!rows.is_empty());
    rows
}
