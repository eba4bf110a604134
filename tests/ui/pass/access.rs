//! `#[table(auth, row_security)]` and `#[tenant]`: the `TableDef` they produce, and every
//! attribute a tenant field may carry.

use storehaus::prelude::*;

#[model]
#[table(name = "projects", auth, soft_delete, versioned)]
pub struct Project {
    #[primary_key]
    pub id: Uuid,
    #[unique]
    pub name: String,
}

#[model]
#[table(name = "invoices", auth, row_security)]
pub struct Invoice {
    #[primary_key]
    pub id: Uuid,
    pub total: i64,
    #[tenant]
    pub org_id: Uuid,
}

/// The tenant as part of the key, indexed, never updated.
#[model]
#[table(name = "notes", row_security)]
pub struct Note {
    #[primary_key]
    #[tenant]
    #[field(create)]
    #[index]
    pub org: String,
    #[primary_key]
    pub id: i64,
    pub body: String,
}

/// An optional tenant: a tenant scope fills it in on create.
#[model]
#[table(name = "labels")]
pub struct Label {
    #[primary_key]
    pub id: i64,
    pub text: String,
    #[unique]
    #[tenant]
    #[field(create, update)]
    pub org: Option<i32>,
}

#[model]
#[table(name = "plain")]
pub struct Plain {
    #[primary_key]
    pub id: i64,
}

fn main() {
    let project = Project::TABLE;
    assert!(project.auth && !project.row_security);
    assert_eq!(project.tenant, None);
    assert!(project.scoped());

    let invoice = Invoice::TABLE;
    assert!(invoice.auth && invoice.row_security);
    assert_eq!(invoice.tenant, Some(2));
    assert_eq!(invoice.tenant_column().map(|c| c.name), Some("org_id"));

    let note = Note::TABLE;
    assert!(!note.auth && note.row_security);
    assert_eq!(
        note.tenant_column().map(|c| (c.name, c.primary_key, c.create, c.update)),
        Some(("org", true, true, false))
    );
    assert!(note.scoped());

    let label = Label::TABLE;
    assert_eq!(label.tenant_column().map(|c| (c.name, c.nullable, c.signal)), Some(("org", true, true)));

    let plain = Plain::TABLE;
    assert!(!plain.auth && !plain.row_security && !plain.scoped());
    assert_eq!(plain.tenant, None);
}
