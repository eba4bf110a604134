//! Every method of `GenericStore` under principal and tenant scopes: a row out of scope is
//! indistinguishable from a missing one and stays byte for byte as it was; rows in scope behave
//! as without scopes; scopes that are missing or malformed run nothing.

use super::support::*;
use super::*;
use std::fmt::Debug;
use storehaus_suite::on_both_backends;

mod hidden;
mod own;
mod scopes;
mod tenants;

/// What a call on a row it may not see must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// `Ok(None)`
    Nothing,
    /// `Ok(false)`
    False,
    /// `Err(NotFound)`
    NotFound,
    /// Whatever the same call gives once the row is really gone (lists and counts).
    AsMissing,
}

/// The owner's row the intruder is let loose on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seeded {
    Live,
    SoftDeleted,
}

/// The database, the store whose rows are probed, and the store that must not reach them.
struct Parties<'a, T: Model> {
    storehaus: &'a StoreHaus,
    owner: &'a GenericStore<T>,
    intruder: &'a GenericStore<T>,
}

/// Creates a row through `owner`, lets `intruder` run `call` on it, checks with raw SQL that no
/// byte of the table changed, then removes the row behind the store's back and runs `call` again:
/// both results must be the same, to the error text.
async fn hidden_from<T, R>(
    parties: &Parties<'_, T>,
    what: &str,
    seed: T,
    seeded: Seeded,
    expect: Expect,
    call: impl AsyncFn(&GenericStore<T>, &Record<T>) -> Result<R, StoreError>,
) where
    T: Model + Clone + Debug,
    T::Key: KeyLiteral,
    R: Debug,
{
    let Parties { storehaus, owner, intruder } = *parties;
    let table = T::TABLE.name;
    let key = seed.key();
    owner.create(seed, Some(strings(&["seeded"]))).await.unwrap_or_else(|e| panic!("{what}: seeding failed: {e}"));
    if seeded == Seeded::SoftDeleted {
        assert!(owner.delete(&key).await.unwrap(), "{what}: the seeded row was not deleted");
    }
    let record = owner.get_by_id_with_deleted(&key).await.unwrap().expect("the owner sees its row");
    let before = snapshot(storehaus, table).await;
    assert!(raw_row(storehaus, table, &key).await.is_some());

    let foreign = call(intruder, &record).await;
    assert_eq!(snapshot(storehaus, table).await, before, "{what}: a row out of scope was changed");

    raw_delete(storehaus, table, &key).await;
    let missing = call(intruder, &record).await;
    assert_eq!(outcome(&foreign), outcome(&missing), "{what}: a row out of scope must look exactly like a missing one");
    let fits = match expect {
        Expect::Nothing => outcome(&foreign) == "Ok(None)",
        Expect::False => outcome(&foreign) == "Ok(false)",
        Expect::NotFound => matches!(foreign, Err(StoreError::NotFound { .. })),
        Expect::AsMissing => foreign.is_ok(),
    };
    assert!(fits, "{what}: expected {expect:?}, got {}", outcome(&foreign));
}

/// Runs every by-key method of `intruder` on rows of `owner` (those the table supports).
/// `seed` gives a fresh value each time, `changed` the value an update would write.
async fn every_method_hidden<T>(
    storehaus: &StoreHaus,
    owner: &GenericStore<T>,
    intruder: &GenericStore<T>,
    seed: impl Fn() -> T,
    changed: impl Fn(&T) -> T,
) where
    T: Model + Clone + Debug,
    T::Key: KeyLiteral,
{
    use Expect::*;
    use Seeded::*;
    let def = T::TABLE;
    let parties = Parties { storehaus, owner, intruder };
    let tags = || Some(strings(&["x"]));
    macro_rules! probe {
        ($what:expr, $seeded:expr, $expect:expr, $call:expr) => {
            hidden_from(&parties, $what, seed(), $seeded, $expect, $call).await
        };
    }
    probe!("get_by_id", Live, Nothing, async |s, r| s.get_by_id(&r.key()).await);
    probe!("get_by_id_with_deleted", Live, Nothing, async |s, r| s.get_by_id_with_deleted(&r.key()).await);
    probe!("list_all", Live, AsMissing, async |s, _r| s.list_all().await);
    probe!("count", Live, AsMissing, async |s, _r| s.count().await);
    probe!("update", Live, NotFound, async |s, r| s.update(&r.key(), changed(r), tags()).await);
    probe!("update, keeping tags", Live, NotFound, async |s, r| s.update(&r.key(), changed(r), None).await);
    probe!("save", Live, NotFound, async |s, r| {
        let mut edited = r.clone();
        *edited = changed(r);
        s.save(&edited).await
    });
    probe!("delete", Live, False, async |s, r| s.delete(&r.key()).await);
    probe!("delete_record", Live, NotFound, async |s, r| s.delete_record(r).await);
    probe!("force_delete", Live, False, async |s, r| s.force_delete(&r.key()).await);
    probe!("add_tags", Live, NotFound, async |s, r| s.add_tags(&r.key(), ["more"]).await);
    probe!("remove_tags", Live, NotFound, async |s, r| s.remove_tags(&r.key(), ["seeded"]).await);
    probe!("set_tags", Live, NotFound, async |s, r| s.set_tags(&r.key(), ["other"]).await);
    if def.versioned {
        let version = |r: &Record<T>| r.version().expect("a versioned row has a version");
        probe!("update_versioned", Live, NotFound, async |s, r| {
            s.update_versioned(&r.key(), changed(r), None, version(r)).await
        });
        probe!("update_versioned, stale version", Live, NotFound, async |s, r| {
            s.update_versioned(&r.key(), changed(r), None, version(r) + 7).await
        });
        probe!("delete_versioned", Live, NotFound, async |s, r| s.delete_versioned(&r.key(), version(r)).await);
        probe!("delete_versioned, stale version", Live, NotFound, async |s, r| {
            s.delete_versioned(&r.key(), version(r) - 1).await
        });
    }
    if def.soft_delete {
        probe!("get_by_id_with_deleted, deleted row", SoftDeleted, Nothing, async |s, r| {
            s.get_by_id_with_deleted(&r.key()).await
        });
        probe!("restore", SoftDeleted, NotFound, async |s, r| s.restore(&r.key()).await);
        probe!("update, deleted row", SoftDeleted, NotFound, async |s, r| s.update(&r.key(), changed(r), None).await);
        probe!("delete, deleted row", SoftDeleted, False, async |s, r| s.delete(&r.key()).await);
        probe!("force_delete, deleted row", SoftDeleted, False, async |s, r| s.force_delete(&r.key()).await);
        probe!("add_tags, deleted row", SoftDeleted, NotFound, async |s, r| s.add_tags(&r.key(), ["more"]).await);
        if def.versioned {
            probe!("delete_record, deleted row", SoftDeleted, NotFound, async |s, r| s.delete_record(r).await);
        }
    }
    if def.auth {
        probe!("grant", Live, NotFound, async |s, r| s.grant(&r.key(), "intruder_friend").await);
        probe!("revoke", Live, NotFound, async |s, r| s.revoke(&r.key(), "owner_a").await);
        probe!("principals", Live, NotFound, async |s, r| s.principals(&r.key()).await);
    }
}
