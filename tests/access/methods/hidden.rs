//! Rows of another principal or tenant are invisible to every by-key method.

use super::*;

on_both_backends! {
    /// Principal `intruder_b` cannot see, change or learn of the rows of `owner_a`.
    async fn project_rows_of_another_principal(db) {
        let env = env(&db).await;
        let owner = env.projects.auth("owner_a");
        let intruder = env.projects.auth("intruder_b");
        // The intruder's own row, so that its lists are not empty either way.
        intruder.create(project("mine", 1), None).await.unwrap();
        every_method_hidden(&env.storehaus, &owner, &intruder, || project("secret", 5), |p| Project {
            name: format!("{}-taken", p.name),
            stars: p.stars + 100,
            ..p.clone()
        })
        .await;
    }

    /// Several principals of the intruder, none of which the row holds, see nothing either.
    async fn project_rows_of_none_of_the_principals(db) {
        let env = env(&db).await;
        let owner = env.projects.auth_any(["owner_a", "team_owner"]);
        let intruder = env.projects.auth_any(["intruder_b", "team_intruder", "owner"]);
        every_method_hidden(&env.storehaus, &owner, &intruder, || project("secret", 5), |p| Project {
            stars: -1,
            ..p.clone()
        })
        .await;
    }

    /// `.unrestricted()` with a principal scope is still bound by that scope.
    async fn project_rows_hidden_from_an_unrestricted_store_with_a_scope(db) {
        let env = env(&db).await;
        let owner = env.projects.auth("owner_a");
        let intruder = env.projects.unrestricted().auth("intruder_b");
        every_method_hidden(&env.storehaus, &owner, &intruder, || project("secret", 5), |p| Project {
            stars: 0,
            ..p.clone()
        })
        .await;
    }

    /// Same tenant, another principal: the principal scope still hides the invoice.
    async fn invoice_rows_of_another_principal(db) {
        let env = env(&db).await;
        let org = Uuid::new_v4();
        let owner = env.invoices.tenant(org).auth("owner_a");
        let intruder = env.invoices.tenant(org).auth("intruder_b");
        intruder.create(invoice(org, 1), None).await.unwrap();
        every_method_hidden(&env.storehaus, &owner, &intruder, || invoice(org, 500), |i| Invoice {
            total: 0,
            ..i.clone()
        })
        .await;
    }

    /// Same principal, another tenant: the tenant scope still hides the invoice.
    async fn invoice_rows_of_another_tenant(db) {
        let env = env(&db).await;
        let (org, other) = (Uuid::new_v4(), Uuid::new_v4());
        let owner = env.invoices.auth("owner_a").tenant(org);
        let intruder = env.invoices.auth("owner_a").tenant(other);
        intruder.create(invoice(other, 1), None).await.unwrap();
        // The intruder writes its own tenant: another one would be refused before any lookup.
        every_method_hidden(&env.storehaus, &owner, &intruder, || invoice(org, 500), |i| Invoice {
            org_id: other,
            total: 0,
            ..i.clone()
        })
        .await;
    }

    /// Notes of tenant `acme` are invisible to tenant `globex`.
    async fn note_rows_of_another_tenant(db) {
        let env = env(&db).await;
        let owner = env.notes.tenant("acme".to_owned());
        let intruder = env.notes.tenant("globex".to_owned());
        intruder.create(note(next_id(), "globex", "theirs"), None).await.unwrap();
        every_method_hidden(&env.storehaus, &owner, &intruder, || note(next_id(), "acme", "secret"), |n| Note {
            org: "globex".to_owned(),
            body: "overwritten".to_owned(),
            ..n.clone()
        })
        .await;
    }

    /// A create that reuses a foreign row's key (or unique name) cannot write over it: it fails,
    /// or is skipped, the same way as over a row of the creator's own, and the row stays as it was.
    async fn creates_over_foreign_keys_change_nothing(db) {
        let env = env(&db).await;
        let sh = &env.storehaus;
        let b = env.projects.auth("intruder_b");
        let foreign = env.projects.auth("owner_a").create(project("theirs", 1), None).await.unwrap();
        let own = b.create(project("mine", 2), None).await.unwrap();
        let over = |r: &Record<Project>| Project { stars: 999, ..r.data().clone() };
        let renamed = |r: &Record<Project>| Project { id: Uuid::new_v4(), name: r.name.clone(), stars: 999 };
        let before = snapshot(sh, "projects").await;

        let foreign_create = b.create(over(&foreign), None).await;
        let own_create = b.create(over(&own), None).await;
        eprintln!("create over a foreign key: {}", outcome(&foreign_create));
        assert!(foreign_create.is_err(), "{foreign_create:?}");
        let foreign_name = b.create(renamed(&foreign), None).await;
        eprintln!("create over a foreign unique name: {}", outcome(&foreign_name));
        assert!(foreign_name.is_err(), "{foreign_name:?}");
        let fresh = project("fresh", 3);
        let foreign_many = b.create_many(vec![fresh.clone(), over(&foreign)], None).await;
        eprintln!("create_many over a foreign key: {}", outcome(&foreign_many));
        assert!(foreign_many.is_err(), "{foreign_many:?}");
        assert_eq!(b.create_or_ignore(over(&foreign), None).await.unwrap(), None);
        assert_eq!(snapshot(sh, "projects").await, before, "a create wrote over a row");

        let skipped = b.create_many_or_ignore(vec![over(&foreign), fresh.clone()], None).await.unwrap();
        assert_eq!(skipped.iter().map(|r| r.id).collect::<Vec<_>>(), [fresh.id]);
        assert_eq!(raw_row(sh, "projects", &foreign.id).await, before.iter().find(|r| r.contains(&foreign.id.to_string())).cloned());

        // The answers over a foreign row read like those over a row of the creator's own.
        let shape = |r: &Result<Record<Project>, StoreError>| match r {
            Ok(_) => "Ok".to_owned(),
            Err(e) => variant(e),
        };
        assert_eq!(shape(&foreign_create), shape(&own_create));
        assert_eq!(
            foreign_create.unwrap_err().to_string().replace(&foreign.id.to_string(), "KEY"),
            own_create.unwrap_err().to_string().replace(&own.id.to_string(), "KEY"),
        );
    }
}
