//! Batches under scopes: keys of rows out of scope are skipped by `update_many` and
//! `delete_many`, and the update half of `upsert`/`upsert_many` never writes to them.

use super::support::*;
use super::*;
use std::fmt::Debug;
use storehaus_suite::on_both_backends;

/// Rows of `user_a` and `user_b`, three each.
async fn two_principals<B: storehaus_suite::TestBackend>(db: &B) -> (Env, Vec<Record<Project>>, Vec<Record<Project>>) {
    let env = env(db).await;
    let (mut mine, mut theirs) = (Vec::new(), Vec::new());
    for i in 0..3 {
        mine.push(env.projects.auth("user_a").create(project("a", i), None).await.unwrap());
        theirs.push(env.projects.auth("user_b").create(project("b", 100 + i), None).await.unwrap());
    }
    (env, mine, theirs)
}

async fn raw_rows(storehaus: &StoreHaus, records: &[Record<Project>]) -> Vec<Option<String>> {
    let mut rows = Vec::new();
    for record in records {
        rows.push(raw_row(storehaus, "projects", &record.id).await);
    }
    rows
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids
}

/// Collects how calls on rows out of scope answered: prints each (the suite's record of the
/// behaviour) and keeps the answers that give the row away as deleted or conflicting, so that a
/// test checks every row before it fails on them.
#[derive(Default)]
struct Answers(Vec<String>);

impl Answers {
    fn note<R: Debug>(&mut self, what: &str, result: &Result<R, StoreError>) {
        eprintln!("{what}: {}", outcome(result));
        if let Err(error @ (StoreError::Deleted { .. } | StoreError::Conflict { .. })) = result {
            self.0.push(format!("{what}: {error:?}"));
        }
    }

    fn assert_none_gave_the_row_away(self) {
        assert!(self.0.is_empty(), "a row out of scope was reported as deleted or conflicting:\n{}", self.0.join("\n"));
    }
}

on_both_backends! {
    /// `update_many` with own and foreign keys writes and returns only the own rows.
    async fn update_many_skips_foreign_keys(db) {
        let (env, mine, theirs) = two_principals(&db).await;
        let sh = &env.storehaus;
        let before = raw_rows(sh, &theirs).await;
        let bump = |r: &Record<Project>| (r.id, Project { stars: r.stars + 1000, ..r.data().clone() });
        let items = vec![bump(&mine[0]), bump(&theirs[0]), bump(&mine[1]), bump(&theirs[1])];
        let updated = env.projects.auth("user_a").update_many(items).await.unwrap();
        assert_eq!(sorted(updated.iter().map(|r| r.id).collect()), sorted(vec![mine[0].id, mine[1].id]));
        assert!(updated.iter().all(|r| r.stars >= 1000));
        assert_eq!(raw_rows(sh, &theirs).await, before, "update_many changed a foreign row");
        for (record, stars) in [(&mine[0], "1000"), (&mine[1], "1001"), (&mine[2], "2")] {
            assert_eq!(stored_text(sh, "projects", "stars", &record.id).await.as_deref(), Some(stars));
        }
    }

    /// `delete_many` with own and foreign keys deletes and counts only the own rows.
    async fn delete_many_skips_foreign_keys(db) {
        let (env, mine, theirs) = two_principals(&db).await;
        let sh = &env.storehaus;
        let before = raw_rows(sh, &theirs).await;
        let keys = vec![mine[0].id, theirs[0].id, theirs[2].id, mine[2].id];
        assert_eq!(env.projects.auth("user_a").delete_many(keys).await.unwrap(), 2);
        assert_eq!(raw_rows(sh, &theirs).await, before, "delete_many changed a foreign row");
        let deleted = storehaus_suite::raw::int(sh, r#"SELECT COUNT(*) FROM "projects" WHERE "__deleted_at__" IS NOT NULL"#).await;
        assert_eq!(deleted, 2);
        assert_eq!(env.projects.auth("user_a").count().await.unwrap(), 1);
    }

    /// `upsert` of a foreign row's key, by key or by a unique column, does not write to it.
    async fn upsert_does_not_write_foreign_rows(db) {
        let (env, _mine, theirs) = two_principals(&db).await;
        let sh = &env.storehaus;
        let a = env.projects.auth("user_a");
        let before = snapshot(sh, "projects").await;
        let hijack = Project { stars: -1, ..theirs[0].data().clone() };
        let mut answers = Answers::default();
        let result = a.upsert(hijack.clone(), Some(strings(&["mine-now"]))).await;
        answers.note("upsert on a foreign key", &result);
        assert_eq!(snapshot(sh, "projects").await, before, "upsert changed a foreign row");
        assert!(result.is_err(), "upsert reported a success for a row it may not write: {result:?}");

        let by_name = Project { id: Uuid::new_v4(), name: theirs[1].name.clone(), stars: -2 };
        let result = a.upsert_with(by_name, None, Upsert::on(["name"])).await;
        answers.note("upsert on a foreign unique name", &result);
        assert_eq!(snapshot(sh, "projects").await, before, "upsert on a unique column changed a foreign row");
        assert!(result.is_err(), "upsert reported a success for a row it may not write: {result:?}");

        // A soft-deleted foreign row is no different.
        assert!(env.projects.auth("user_b").delete(&theirs[2].id).await.unwrap());
        let before = snapshot(sh, "projects").await;
        let result = a.upsert(Project { stars: -3, ..theirs[2].data().clone() }, None).await;
        answers.note("upsert on a deleted foreign key", &result);
        assert_eq!(snapshot(sh, "projects").await, before);
        assert!(result.is_err(), "{result:?}");
        answers.assert_none_gave_the_row_away();
    }

    /// `upsert_many` mixing an own row, a foreign row and a new value: the foreign row is not
    /// written and not returned.
    async fn upsert_many_does_not_write_foreign_rows(db) {
        let (env, mine, theirs) = two_principals(&db).await;
        let sh = &env.storehaus;
        let before = raw_rows(sh, &theirs).await;
        let fresh = project("new", 7);
        let values = vec![
            Project { stars: 50, ..mine[0].data().clone() },
            Project { stars: -1, ..theirs[0].data().clone() },
            fresh.clone(),
        ];
        let result = env.projects.auth("user_a").upsert_many(values, None).await;
        let mut answers = Answers::default();
        answers.note("upsert_many with a foreign key", &result);
        assert_eq!(raw_rows(sh, &theirs).await, before, "upsert_many changed a foreign row");
        match result {
            Ok(records) => {
                let ids: Vec<Uuid> = records.iter().map(|r| r.id).collect();
                assert!(!ids.contains(&theirs[0].id), "upsert_many returned a foreign row");
                assert_eq!(sorted(ids), sorted(vec![mine[0].id, fresh.id]));
                assert_eq!(stored_text(sh, "projects", "stars", &mine[0].id).await.as_deref(), Some("50"));
                assert_eq!(stored_principals(sh, "projects", &fresh.id).await, Some(strings(&["user_a"])));
            }
            // Refused as a whole: then nothing of it was written.
            Err(_) => {
                assert_eq!(stored_text(sh, "projects", "stars", &mine[0].id).await.as_deref(), Some("0"));
                assert_eq!(raw_row(sh, "projects", &fresh.id).await, None);
            }
        }
        answers.assert_none_gave_the_row_away();
    }

    /// Tenant batches skip the other tenant's keys in the same way.
    async fn tenant_batches_skip_other_tenants(db) {
        let env = env(&db).await;
        let sh = &env.storehaus;
        let (acme, globex) = (env.notes.tenant("acme".to_owned()), env.notes.tenant("globex".to_owned()));
        for i in 1..=2 {
            acme.create(note(i, "acme", "a"), None).await.unwrap();
            globex.create(note(i + 10, "globex", "g"), None).await.unwrap();
        }
        let globex_rows = || async { (raw_row(sh, "notes", &11_i64).await, raw_row(sh, "notes", &12_i64).await) };
        let before = globex_rows().await;
        let items = vec![(1, note(1, "acme", "new")), (11, note(11, "acme", "stolen"))];
        let updated = acme.update_many(items).await.unwrap();
        assert_eq!(updated.iter().map(|n| n.id).collect::<Vec<_>>(), [1]);
        assert_eq!(acme.delete_many(vec![2, 12]).await.unwrap(), 1);
        let result = acme.upsert_many(vec![note(11, "acme", "stolen")], None).await;
        let mut answers = Answers::default();
        answers.note("tenant upsert_many", &result);
        let result = acme.upsert(note(12, "acme", "stolen"), None).await;
        answers.note("tenant upsert", &result);
        assert!(result.is_err(), "{result:?}");
        assert_eq!(globex_rows().await, before, "a batch reached another tenant");
        assert_eq!(stored_text(sh, "notes", "body", &1_i64).await.as_deref(), Some("new"));
        answers.assert_none_gave_the_row_away();
    }
}
