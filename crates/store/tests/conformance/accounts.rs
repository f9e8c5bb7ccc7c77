//! AccountStore: accounts and zones.

use store::*;
use test_support::{TestDatabase, backend_tests};

use crate::support::*;

backend_tests!(
    accounts_and_zones_round_trip,
    duplicate_zone_id_is_a_conflict,
    data_survives_reopening,
);

async fn accounts_and_zones_round_trip(db: TestDatabase) {
    let store = open(&db).await;
    let t = tenant(&store, 'a').await;
    assert_eq!(
        store.get_account(&t.account.id).await.unwrap(),
        Some(t.account.clone())
    );
    assert_eq!(
        store.get_zone(&t.zone.id).await.unwrap(),
        Some(t.zone.clone())
    );
    assert_eq!(store.get_zone(&ZoneId::random()).await.unwrap(), None);
    assert_eq!(
        store.list_accounts().await.unwrap(),
        vec![t.account.clone()]
    );
    assert_eq!(store.list_zones().await.unwrap(), vec![t.zone.clone()]);
    assert_eq!(
        store.get_ca_for_account(&t.account.id).await.unwrap(),
        Some(t.ca.clone())
    );
    assert_eq!(store.get_ca(&t.ca.id).await.unwrap(), Some(t.ca));

    let events = store.audit_events(None, 0, 100).await.unwrap();
    let actions: Vec<_> = events.iter().map(|e| e.entry.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::AccountCreated,
            AuditAction::ZoneCreated,
            AuditAction::CertificateAuthorityCreated
        ]
    );
    assert_eq!(
        events[0].entry,
        audit(AuditAction::AccountCreated, &t.account.id)
    );
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
}

async fn duplicate_zone_id_is_a_conflict(db: TestDatabase) {
    let store = open(&db).await;
    let t = tenant(&store, 'a').await;
    let err = store
        .create_zone(&t.zone, &audit(AuditAction::ZoneCreated, &t.zone.id))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let orphan = Zone {
        id: ZoneId::random(),
        account_id: account_id('c'),
        ..t.zone
    };
    let err = store
        .create_zone(&orphan, &audit(AuditAction::ZoneCreated, &orphan.id))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::MissingReference(_)), "{err:?}");
    // Failed writes leave no audit trace.
    assert_eq!(store.audit_events(None, 0, 100).await.unwrap().len(), 3);
}

async fn data_survives_reopening(db: TestDatabase) {
    let cert_id;
    let zone_id;
    {
        let store = open(&db).await;
        let a = tenant(&store, 'a').await;
        let cert = certificate(&a, &crate::support::cert_id(1), 99, 1);
        insert(&store, &cert).await;
        cert_id = cert.id;
        zone_id = a.zone.id;
    }
    let reopened = open(&db).await;
    let found = reopened.get_certificate(&zone_id, &cert_id).await.unwrap();
    assert_eq!(found.map(|c| c.serial_number), Some(serial(99)));
}
