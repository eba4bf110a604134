//! A principal sees and changes its own rows through every method, and its creates carry it.

use super::*;
use storehaus_suite::raw;

async fn stars(storehaus: &StoreHaus, id: Uuid) -> i64 {
    raw::int(storehaus, &format!(r#"SELECT CAST("stars" AS BIGINT) FROM "projects" WHERE "id" = {}"#, id.literal()))
        .await
}

async fn is_deleted(storehaus: &StoreHaus, id: Uuid) -> bool {
    let sql =
        format!(r#"SELECT COUNT(*) FROM "projects" WHERE "id" = {} AND "__deleted_at__" IS NOT NULL"#, id.literal());
    raw::int(storehaus, &sql).await == 1
}

fn ids(records: &[Record<Project>]) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = records.iter().map(|r| r.id).collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids
}

on_both_backends! {
    /// Creates of every kind write `__auth__ = [first principal]`.
    async fn creates_write_the_first_principal(db) {
        let env = env(&db).await;
        let sh = &env.storehaus;
        let a = env.projects.auth("user_a");
        let one = a.create(project("one", 1), None).await.unwrap();
        assert_eq!(one.principals(), Some(&strings(&["user_a"])[..]));
        let many = a.create_many(vec![project("m1", 1), project("m2", 2)], None).await.unwrap();
        let upserted = a.upsert(project("up", 3), None).await.unwrap();
        let upserted_many = a.upsert_many(vec![project("um1", 1), project("um2", 1)], None).await.unwrap();
        let team = env.projects.auth_any(["user_a", "team_7"]).create(project("team", 1), None).await.unwrap();
        let ignored = a.create_or_ignore(project("ign", 1), None).await.unwrap().expect("a new row is created");
        let all = [vec![one, upserted, team, ignored], many, upserted_many].concat();
        assert_eq!(all.len(), 8);
        for record in &all {
            assert_eq!(stored_principals(sh, "projects", &record.id).await, Some(strings(&["user_a"])), "{}", record.name);
            assert_eq!(record.principals(), Some(&strings(&["user_a"])[..]), "{}", record.name);
        }
        assert_eq!(row_count(sh, "projects").await, 8);
        // Nobody else sees them.
        assert_eq!(env.projects.auth("team_7").count().await.unwrap(), 0);
        assert_eq!(env.projects.auth("user_b").list_all().await.unwrap(), vec![]);
    }

    /// The owner reads, changes, deletes and restores its own row through every method.
    async fn the_owner_uses_every_method(db) {
        let env = env(&db).await;
        let sh = &env.storehaus;
        let a = env.projects.auth("user_a");
        let b = env.projects.auth("user_b");
        let theirs = b.create(project("theirs", 9), None).await.unwrap();
        let p = a.create(project("mine", 1), Some(strings(&["t1"]))).await.unwrap();
        let id = p.id;

        assert_eq!(a.get_by_id(&id).await.unwrap().map(|r| r.id), Some(id));
        assert_eq!(ids(&a.list_all().await.unwrap()), vec![id]);
        assert_eq!(a.count().await.unwrap(), 1);

        let updated = a.update(&id, Project { stars: 2, ..p.data().clone() }, None).await.unwrap();
        assert_eq!((updated.stars, stars(sh, id).await), (2, 2));
        let version = updated.version().unwrap();
        let updated = a.update_versioned(&id, Project { stars: 3, ..p.data().clone() }, None, version).await.unwrap();
        assert_eq!(stars(sh, id).await, 3);
        let mut edited = updated.clone();
        edited.stars = 4;
        let saved = a.save(&edited).await.unwrap();
        assert_eq!(stars(sh, id).await, 4);

        let tagged = a.add_tags(&id, ["t2"]).await.unwrap();
        assert_eq!(tagged.tags(), &strings(&["t1", "t2"])[..]);
        assert_eq!(a.remove_tags(&id, ["t1"]).await.unwrap().tags(), &strings(&["t2"])[..]);
        let retagged = a.set_tags(&id, ["t9"]).await.unwrap();
        let admin = env.projects.unrestricted();
        assert_eq!(admin.get_by_id(&id).await.unwrap().unwrap().tags(), &strings(&["t9"])[..]);
        assert_eq!(stored_principals(sh, "projects", &id).await, Some(strings(&["user_a"])), "edits keep __auth__");

        assert!(a.delete(&id).await.unwrap());
        assert!(is_deleted(sh, id).await);
        assert_eq!(a.get_by_id(&id).await.unwrap(), None);
        assert!(a.get_by_id_with_deleted(&id).await.unwrap().unwrap().is_deleted());
        let restored = a.restore(&id).await.unwrap();
        assert!(!is_deleted(sh, id).await);
        a.delete_versioned(&id, restored.version().unwrap()).await.unwrap();
        assert!(is_deleted(sh, id).await);
        let restored = a.restore(&id).await.unwrap();
        a.delete_record(&restored).await.unwrap();
        assert!(is_deleted(sh, id).await);
        assert!(a.force_delete(&id).await.unwrap());
        assert_eq!(raw_row(sh, "projects", &id).await, None);
        let _ = (saved, retagged);

        // The other principal's row went through all of it untouched.
        assert_eq!(stars(sh, theirs.id).await, 9);
        assert_eq!(b.count().await.unwrap(), 1);
    }

    /// `auth_any` sees the rows of each of its principals, and no others.
    async fn auth_any_sees_rows_of_any_listed_principal(db) {
        let env = env(&db).await;
        let p = &env.projects;
        let mine = p.auth("user_a").create(project("mine", 1), None).await.unwrap().id;
        let team = p.auth("team_7").create(project("team", 1), None).await.unwrap().id;
        let other = p.auth("user_b").create(project("other", 1), None).await.unwrap().id;
        let member = p.auth_any(["user_a", "team_7"]);
        assert_eq!(ids(&member.list_all().await.unwrap()), sorted(vec![mine, team]));
        assert_eq!(member.count().await.unwrap(), 2);
        assert!(member.get_by_id(&team).await.unwrap().is_some());
        assert_eq!(member.get_by_id(&other).await.unwrap(), None);
        // It may write to the team's row, which keeps its principals.
        member.update(&team, Project { id: team, name: "team-renamed".into(), stars: 5 }, None).await.unwrap();
        assert_eq!(stars(&env.storehaus, team).await, 5);
        assert_eq!(stored_principals(&env.storehaus, "projects", &team).await, Some(strings(&["team_7"])));
    }

    /// `grant` makes a row visible to another principal, `revoke` hides it again; `principals`
    /// lists them; the stored `__auth__` follows.
    async fn grant_and_revoke(db) {
        let env = env(&db).await;
        let sh = &env.storehaus;
        let (a, b) = (env.projects.auth("user_a"), env.projects.auth("user_b"));
        let id = a.create(project("shared", 1), None).await.unwrap().id;
        assert_eq!(b.get_by_id(&id).await.unwrap(), None);

        a.grant(&id, "user_b").await.unwrap();
        assert_eq!(stored_principals(sh, "projects", &id).await, Some(strings(&["user_a", "user_b"])));
        assert_eq!(a.principals(&id).await.unwrap(), strings(&["user_a", "user_b"]));
        assert_eq!(b.get_by_id(&id).await.unwrap().map(|r| r.id), Some(id));
        assert_eq!(b.count().await.unwrap(), 1);
        // Granting twice keeps one entry.
        a.grant(&id, "user_b").await.unwrap();
        assert_eq!(stored_principals(sh, "projects", &id).await, Some(strings(&["user_a", "user_b"])));
        // The grantee may write, and its writes keep the list.
        b.update(&id, Project { id, name: "shared-b".into(), stars: 2 }, None).await.unwrap();
        assert_eq!(stored_principals(sh, "projects", &id).await, Some(strings(&["user_a", "user_b"])));

        a.revoke(&id, "user_b").await.unwrap();
        assert_eq!(stored_principals(sh, "projects", &id).await, Some(strings(&["user_a"])));
        assert_eq!(b.get_by_id(&id).await.unwrap(), None);
        assert_eq!(a.principals(&id).await.unwrap(), strings(&["user_a"]));
        let err = b.principals(&id).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");

        // A principal may revoke itself; then nobody in scope sees the row, but it is there.
        a.revoke(&id, "user_a").await.unwrap();
        assert_eq!(stored_principals(sh, "projects", &id).await, Some(vec![]));
        assert_eq!(a.get_by_id(&id).await.unwrap(), None);
        assert_eq!(env.projects.unrestricted().get_by_id(&id).await.unwrap().map(|r| r.id), Some(id));
    }
}
