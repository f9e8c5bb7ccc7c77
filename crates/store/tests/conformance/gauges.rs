//! The figures the metrics endpoint reads.

use store::*;
use test_support::{TestDatabase, backend_tests};
use time::Duration;

use crate::support::*;

backend_tests!(
    pending_and_expiring_counts_follow_the_rows,
    pools_report_their_connections
);

async fn pending_and_expiring_counts_follow_the_rows(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let b = tenant(&store, 'b').await;
    let now = at(0);
    let expiring = |tenant: &Tenant, n: u32, days: i64| CertificateRecord {
        expires_on: now + Duration::days(days) - Duration::minutes(1),
        ..certificate(tenant, &cert_id(n), u128::from(n), 0)
    };
    // Zone a: two within a week, one within a month, one later, one already expired.
    for (n, days) in [(1, 1), (2, 7), (3, 30), (4, 31), (5, 0)] {
        insert(&store, &expiring(&a, n, days)).await;
    }
    insert(&store, &expiring(&b, 10, 20)).await;
    // A revocation in zone b's week is not counted (only active certificates are).
    insert(&store, &expiring(&b, 11, 2)).await;
    let revoke = change(
        &b.zone,
        &cert_id(11),
        &[CertificateStatus::Active],
        CertificateStatus::PendingRevocation,
        1,
    );
    store.change_status(&revoke).await.unwrap();

    let mut expiring = store.expiring_soon(now).await.unwrap();
    expiring.sort_by(|x, y| x.zone_id.cmp(&y.zone_id));
    assert_eq!(
        expiring,
        vec![
            ExpiringInZone {
                zone_id: a.zone.id.clone(),
                within_7_days: 2,
                within_30_days: 3,
            },
            ExpiringInZone {
                zone_id: b.zone.id.clone(),
                within_7_days: 0,
                within_30_days: 1,
            },
        ]
    );
    assert_eq!(
        store.pending_counts().await.unwrap(),
        vec![
            (CertificateStatus::PendingRevocation, 1),
            (CertificateStatus::PendingReactivation, 0),
        ]
    );
}

async fn pools_report_their_connections(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    // A create: on PostgreSQL it goes through the group committer's own pool.
    insert(&store, &certificate(&a, &cert_id(1), 1, 0)).await;
    let pools = store.pool_states();
    assert!(!pools.is_empty());
    for pool in &pools {
        assert!(pool.open >= 1, "{pool:?} holds a connection after a create");
        assert!(pool.idle <= pool.open, "{pool:?}");
    }
}
