//! Links person ↔ account, and fingerprints of write-only values.

use crate::support::{at, conformance, Backend, TestDb};
use muster_core::TargetName;
use muster_store::{Fingerprint, Link, LinkState, StoreError};

fn link(target: &str, person: &str, account: &str, state: LinkState, minute: u32) -> Link {
    Link {
        target: target.into(),
        person: person.into(),
        account: account.into(),
        state,
        updated_at: at(12, minute),
    }
}

async fn links_are_upserted_per_target_and_person(backend: Backend) {
    let db = TestDb::new(backend).await;
    let zivver: TargetName = "zivver".into();
    db.store
        .upsert_link(&link("zivver", "p2", "acc-2", LinkState::Active, 0))
        .await
        .unwrap();
    db.store
        .upsert_link(&link("zivver", "p1", "acc-1", LinkState::Active, 1))
        .await
        .unwrap();
    db.store
        .upsert_link(&link("helloid", "p1", "h-1", LinkState::Active, 2))
        .await
        .unwrap();

    let links = db.store.links(&zivver).await.unwrap();
    assert_eq!(
        links,
        vec![
            link("zivver", "p1", "acc-1", LinkState::Active, 1),
            link("zivver", "p2", "acc-2", LinkState::Active, 0),
        ]
    );

    // Same person again: replaced, not added.
    let deleted = link("zivver", "p1", "acc-1", LinkState::Deleted, 5);
    db.store.upsert_link(&deleted).await.unwrap();
    let relinked = link("zivver", "p2", "acc-9", LinkState::Active, 6);
    db.store.upsert_link(&relinked).await.unwrap();
    assert_eq!(
        db.store.links(&zivver).await.unwrap(),
        vec![deleted, relinked]
    );
    assert_eq!(db.store.links(&"helloid".into()).await.unwrap().len(), 1);
}

async fn a_removed_link_is_gone_and_removing_twice_is_harmless(backend: Backend) {
    let db = TestDb::new(backend).await;
    db.store
        .upsert_link(&link("zivver", "p1", "acc-1", LinkState::Active, 0))
        .await
        .unwrap();
    db.store
        .upsert_link(&link("helloid", "p1", "h-1", LinkState::Active, 0))
        .await
        .unwrap();

    db.store
        .remove_link(&"zivver".into(), &"p1".into())
        .await
        .unwrap();
    db.store
        .remove_link(&"zivver".into(), &"p1".into())
        .await
        .unwrap();
    assert!(db.store.links(&"zivver".into()).await.unwrap().is_empty());
    assert_eq!(db.store.links(&"helloid".into()).await.unwrap().len(), 1);
}

async fn an_account_is_actively_linked_to_one_person_only(backend: Backend) {
    let db = TestDb::new(backend).await;
    db.store
        .upsert_link(&link("zivver", "p1", "acc-1", LinkState::Active, 0))
        .await
        .unwrap();

    let err = db
        .store
        .upsert_link(&link("zivver", "p2", "acc-1", LinkState::Active, 1))
        .await;
    assert!(
        matches!(err, Err(StoreError::AccountAlreadyLinked { ref account, .. }) if account.as_str() == "acc-1"),
        "{err:?}"
    );
    // The same account in another target is another account.
    db.store
        .upsert_link(&link("helloid", "p2", "acc-1", LinkState::Active, 1))
        .await
        .unwrap();

    // Once p1's link is marked deleted, the account may be linked to someone else.
    db.store
        .upsert_link(&link("zivver", "p1", "acc-1", LinkState::Deleted, 2))
        .await
        .unwrap();
    db.store
        .upsert_link(&link("zivver", "p2", "acc-1", LinkState::Active, 3))
        .await
        .unwrap();
    assert_eq!(db.store.links(&"zivver".into()).await.unwrap().len(), 2);
}

async fn an_unknown_link_state_is_reported_as_corrupt(backend: Backend) {
    let db = TestDb::new(backend).await;
    db.store
        .upsert_link(&link("zivver", "p1", "acc-1", LinkState::Active, 0))
        .await
        .unwrap();
    db.raw()
        .await
        .exec("UPDATE links SET state = 'suspended'")
        .await
        .unwrap();
    let err = db.store.links(&"zivver".into()).await;
    assert!(
        matches!(err, Err(StoreError::Corrupt { table: "links", column: "state", ref detail }) if detail.contains("suspended")),
        "{err:?}"
    );
}

async fn fingerprints_are_set_replaced_and_cleared_per_target(backend: Backend) {
    let db = TestDb::new(backend).await;
    let zivver: TargetName = "zivver".into();
    let fp = |account: &str, field: &str, hmac: &str| Fingerprint {
        account: account.into(),
        field: field.into(),
        hmac: hmac.into(),
    };
    db.store
        .set_fingerprint(&zivver, &fp("acc-2", "SsoAccountKey", "h1"))
        .await
        .unwrap();
    db.store
        .set_fingerprint(&zivver, &fp("acc-1", "SsoAccountKey", "h2"))
        .await
        .unwrap();
    db.store
        .set_fingerprint(&zivver, &fp("acc-1", "Password", "h3"))
        .await
        .unwrap();
    db.store
        .set_fingerprint(&"scim".into(), &fp("acc-1", "Password", "other"))
        .await
        .unwrap();

    assert_eq!(
        db.store.fingerprints(&zivver).await.unwrap(),
        vec![
            fp("acc-1", "Password", "h3"),
            fp("acc-1", "SsoAccountKey", "h2"),
            fp("acc-2", "SsoAccountKey", "h1"),
        ]
    );

    db.store
        .set_fingerprint(&zivver, &fp("acc-2", "SsoAccountKey", "h1-new"))
        .await
        .unwrap();
    db.store
        .clear_fingerprint(&zivver, &"acc-1".into(), "Password")
        .await
        .unwrap();
    db.store
        .clear_fingerprint(&zivver, &"acc-1".into(), "Password")
        .await
        .unwrap();
    assert_eq!(
        db.store.fingerprints(&zivver).await.unwrap(),
        vec![
            fp("acc-1", "SsoAccountKey", "h2"),
            fp("acc-2", "SsoAccountKey", "h1-new")
        ]
    );
    assert_eq!(
        db.store.fingerprints(&"scim".into()).await.unwrap(),
        vec![fp("acc-1", "Password", "other")]
    );
}

/// One person's plan (a sign-in) reads the links of the accounts its look-up found: active
/// and deleted, of any person, in this target only, ordered by person.
async fn the_links_of_given_accounts_are_read_by_account(backend: Backend) {
    let db = TestDb::new(backend).await;
    let zivver: TargetName = "zivver".into();
    for l in [
        link("zivver", "p2", "acc-1", LinkState::Active, 0),
        link("zivver", "p1", "acc-1", LinkState::Deleted, 1),
        link("zivver", "p3", "acc-3", LinkState::Active, 2),
        link("helloid", "p4", "acc-1", LinkState::Active, 3),
    ] {
        db.store.upsert_link(&l).await.unwrap();
    }
    assert_eq!(
        db.store
            .account_links(&zivver, &["acc-1".into(), "acc-9".into()])
            .await
            .unwrap(),
        vec![
            link("zivver", "p1", "acc-1", LinkState::Deleted, 1),
            link("zivver", "p2", "acc-1", LinkState::Active, 0),
        ]
    );
    assert!(db
        .store
        .account_links(&zivver, &[])
        .await
        .unwrap()
        .is_empty());
}

conformance!(
    links_are_upserted_per_target_and_person,
    a_removed_link_is_gone_and_removing_twice_is_harmless,
    an_account_is_actively_linked_to_one_person_only,
    an_unknown_link_state_is_reported_as_corrupt,
    fingerprints_are_set_replaced_and_cleared_per_target,
    the_links_of_given_accounts_are_read_by_account,
);
