//! AuditStore: sealing events into the hash chain, and the chain catching tampering.

use store::*;
use test_support::{TestDatabase, backend_tests};

use crate::support::*;

backend_tests!(the_audit_chain_detects_edited_and_deleted_events);

/// Run raw SQL behind the store's back, as someone with database access would.
async fn tamper(db: &TestDatabase, statements: &[&str]) {
    test_support::run_sql_directly(&db.url, statements).await;
}

async fn the_audit_chain_detects_edited_and_deleted_events(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    for i in 0..5 {
        insert(
            &store,
            &certificate(&a, &cert_id(i), 70 + u128::from(i), i64::from(i)),
        )
        .await;
    }
    assert_eq!(store.unsealed_audit_events().await.unwrap(), 8);
    assert_eq!(store.seal_audit(3).await.unwrap(), 3);
    assert_eq!(store.seal_audit(100).await.unwrap(), 5);
    assert_eq!(store.seal_audit(100).await.unwrap(), 0);
    // New events after sealing are simply not sealed yet.
    insert(&store, &certificate(&a, &cert_id(99), 99, 9)).await;
    let clean = verify_chain(store.as_ref()).await.unwrap();
    assert_eq!(
        (clean.sealed, clean.unsealed, clean.problem.clone()),
        (8, 1, None)
    );
    let (head_seq, head_hash) = clean.head.clone().unwrap();
    assert_eq!(head_seq, 8);
    let events = store.audit_events(None, 0, 100).await.unwrap();
    assert_eq!(
        events[7].seal.as_ref().map(|s| s.hash.clone()),
        Some(head_hash)
    );
    assert_eq!(
        events[0].seal.as_ref().map(|s| s.prev_hash.as_str()),
        Some(GENESIS)
    );

    // The database refuses to change or delete a sealed event, or to import a second copy of it...
    for statement in [
        "UPDATE audit_events SET details = 'forged' WHERE chain_seq = 4",
        "DELETE FROM audit_events WHERE chain_seq = 4",
    ] {
        let refused = test_support::try_run_sql_directly(&db.url, &[statement]).await;
        assert!(refused.is_err(), "the guard lets through {statement}");
    }
    let refused = store
        .import_rows(&Rows::AuditEvents(vec![events[1].clone()]))
        .await;
    assert!(refused.is_err(), "duplicate ids are refused");
    // ...so an attacker disables the guard first; the chain still notices.
    let disable = match db.backend {
        test_support::Backend::Sqlite => "DROP TRIGGER audit_events_no_update",
        test_support::Backend::Postgres => "ALTER TABLE audit_events DISABLE TRIGGER USER",
    };
    tamper(
        &db,
        &[
            disable,
            "UPDATE audit_events SET details = 'forged' WHERE chain_seq = 4",
        ],
    )
    .await;
    let edited = verify_chain(store.as_ref()).await.unwrap();
    assert_eq!(
        edited.problem,
        Some(ChainProblem::Altered {
            chain_seq: 4,
            id: events[3].id
        })
    );
    assert_eq!(edited.sealed, 3);

    let delete_guard = match db.backend {
        test_support::Backend::Sqlite => "DROP TRIGGER audit_events_no_delete",
        test_support::Backend::Postgres => "SELECT 1",
    };
    tamper(
        &db,
        &[delete_guard, "DELETE FROM audit_events WHERE chain_seq = 4"],
    )
    .await;
    let deleted = verify_chain(store.as_ref()).await.unwrap();
    assert_eq!(
        deleted.problem,
        Some(ChainProblem::Missing { chain_seq: 4 })
    );
}
