//! Claims: one owner at a time, released and extended only by it, freed by expiry.

use std::time::Duration;

use storehaus::cache::shared::Namespace;

use crate::on_both;

const HOLD: Duration = Duration::from_secs(30);

on_both! {
    /// 20 tasks race for one key: exactly one wins, and the key holds its name.
    async fn one_winner_of_twenty(env) {
        let store = env.store();
        let tasks: Vec<_> = (0..20)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move {
                    let owner = format!("worker-{n}");
                    store.claim().once("job:1", &owner, HOLD).await.expect("claim").map(|claim| (claim, owner))
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            winners.extend(task.await.unwrap());
        }
        assert_eq!(winners.len(), 1, "winners: {winners:?}");
        let (claim, owner) = winners.pop().unwrap();
        assert_eq!(claim.owner(), owner);
        assert_eq!(claim.key(), "job:1");
        assert_eq!(store.claim().owner("job:1").await.unwrap(), Some(owner.clone()));
        let raw = env.raw_get(&store.key(Namespace::Claim, "job:1")).await.expect("the claim key exists");
        let raw = String::from_utf8(raw).unwrap();
        assert!(raw == owner || raw == format!("\"{owner}\""), "the claim key holds {raw:?}, not the owner {owner}");
    }

    /// Only the owner releases: others get `false` and the claim stays.
    async fn only_the_owner_releases(env) {
        let store = env.store();
        assert!(store.claim().once("job", "alice", HOLD).await.unwrap().is_some());
        assert!(store.claim().once("job", "bob", HOLD).await.unwrap().is_none());
        assert!(!store.claim().release("job", "bob").await.unwrap());
        assert_eq!(store.claim().owner("job").await.unwrap().as_deref(), Some("alice"));
        assert!(env.raw_exists(&store.key(Namespace::Claim, "job")).await);

        assert!(store.claim().release("job", "alice").await.unwrap());
        assert!(!env.raw_exists(&store.key(Namespace::Claim, "job")).await);
        assert_eq!(store.claim().owner("job").await.unwrap(), None);
        assert!(!store.claim().release("job", "alice").await.unwrap(), "a second release finds nothing");
        assert!(store.claim().once("job", "bob", HOLD).await.unwrap().is_some());
        assert!(store.claim().release("job", "bob").await.unwrap());
    }

    /// The owner extends its claim; anyone else cannot.
    async fn only_the_owner_extends(env) {
        let store = env.store();
        let key = store.key(Namespace::Claim, "job");
        assert!(store.claim().once("job", "alice", Duration::from_secs(5)).await.unwrap().is_some());
        assert!(!store.claim().extend("job", "bob", Duration::from_secs(600)).await.unwrap());
        let left = env.raw_ttl(&key).await.expect("the claim expires");
        assert!(left <= Duration::from_secs(5), "extended by a stranger: {left:?} left");

        assert!(store.claim().extend("job", "alice", Duration::from_secs(600)).await.unwrap());
        let left = env.raw_ttl(&key).await.expect("the claim expires");
        assert!(left > Duration::from_secs(500), "not extended: {left:?} left");
        assert_eq!(store.claim().owner("job").await.unwrap().as_deref(), Some("alice"));
        assert!(!store.claim().extend("missing", "alice", HOLD).await.unwrap());
    }

    /// A claim that is not released expires, and the key can be claimed again.
    async fn expiry_frees_the_claim(env) {
        let store = env.store();
        assert!(store.claim().once("job", "alice", Duration::from_millis(300)).await.unwrap().is_some());
        assert!(store.claim().once("job", "bob", HOLD).await.unwrap().is_none());
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(store.claim().owner("job").await.unwrap(), None);
        assert!(!store.claim().extend("job", "alice", HOLD).await.unwrap(), "an expired claim cannot be extended");
        let claim = store.claim().once("job", "bob", HOLD).await.unwrap().expect("free again");
        assert_eq!(claim.owner(), "bob");
    }

    /// Claims of different scopes are different locks.
    async fn claims_are_per_scope(env) {
        let store = env.store();
        let a = store.scope("org", "a").unwrap();
        let b = store.scope("org", "b").unwrap();
        assert!(a.claim().once("job", "alice", HOLD).await.unwrap().is_some());
        assert!(b.claim().once("job", "bob", HOLD).await.unwrap().is_some());
        assert!(store.claim().once("job", "carol", HOLD).await.unwrap().is_some());
        assert!(!b.claim().release("job", "alice").await.unwrap());
        assert_eq!(a.claim().owner("job").await.unwrap().as_deref(), Some("alice"));
    }
}
