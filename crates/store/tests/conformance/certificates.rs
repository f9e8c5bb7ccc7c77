//! CertificateStore: creates (grouped on SQLite), reads through the zone, deep lists, changes.

use std::sync::Arc;

use pki::RevocationReason;
use store::*;
use test_support::{TestDatabase, backend_tests};

use crate::support::*;

backend_tests!(
    certificates_are_reachable_only_through_their_zone,
    serial_numbers_are_unique_per_ca,
    listing_orders_newest_first_and_windows_by_offset_and_limit,
    deep_pages_across_list_blocks_match_a_naive_listing,
    concurrent_creates_commit_together_and_fail_alone,
    a_zone_quota_cannot_be_overshot_by_concurrent_creates,
    zone_quotas_are_stored_with_the_zone,
    status_changes_are_conditional_and_audited,
    concurrent_status_changes_each_apply_exactly_once,
    only_an_unpublished_revocation_changes_its_reason,
    zone_activity_counts_soon_expiring_actives_and_reads_the_newest_issues,
);

async fn certificates_are_reachable_only_through_their_zone(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let b = tenant(&store, 'b').await;
    let cert = certificate(&a, &cert_id(1), 1001, 10);
    insert(&store, &cert).await;
    assert_eq!(
        store.get_certificate(&a.zone.id, &cert.id).await.unwrap(),
        Some(cert.clone())
    );
    assert_eq!(
        store.get_certificate(&b.zone.id, &cert.id).await.unwrap(),
        None
    );
    assert_eq!(store.count_certificates(&b.zone.id, None).await.unwrap(), 0);
    let foreign_query = CertificateQuery {
        zone_id: b.zone.id.clone(),
        status: None,
        offset: 0,
        limit: 50,
    };
    assert!(
        store
            .list_certificates(&foreign_query)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let foreign_change = change(
        &b.zone,
        &cert.id,
        &[CertificateStatus::Active],
        CertificateStatus::PendingRevocation,
        20,
    );
    assert_eq!(
        store.change_status(&foreign_change).await.unwrap(),
        StatusChangeOutcome::NotFound
    );
}

async fn serial_numbers_are_unique_per_ca(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let b = tenant(&store, 'b').await;
    insert(&store, &certificate(&a, &cert_id(1), 42, 1)).await;
    let duplicate = certificate(&a, &cert_id(2), 42, 2);
    let err = store
        .insert_certificate(
            &duplicate,
            &audit(AuditAction::CertificateCreated, &duplicate.id),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // Another CA may use the same serial.
    insert(&store, &certificate(&b, &cert_id(3), 42, 3)).await;
    assert_eq!(
        store
            .get_certificate(&a.zone.id, &cert_id(2))
            .await
            .unwrap(),
        None
    );
    let created = audit_count(&store, AuditAction::CertificateCreated).await;
    assert_eq!(created, 2, "the refused insert left no audit event");
}

async fn listing_orders_newest_first_and_windows_by_offset_and_limit(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    // Two certificates share each issue second: the order is the order of issuance, not the time.
    let mut expected = Vec::new();
    for i in 0..10 {
        let cert = certificate(&a, &cert_id(i), 500 + u128::from(i), i64::from(i / 2));
        insert(&store, &cert).await;
        expected.push(cert.id);
    }
    expected.reverse();
    let list = |offset, limit, status| {
        let store = Arc::clone(&store);
        let zone_id = a.zone.id.clone();
        async move {
            let query = CertificateQuery {
                zone_id,
                status,
                offset,
                limit,
            };
            store
                .list_certificates(&query)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|c| c.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list(0, 100, None).await, expected);
    assert_eq!(list(3, 4, None).await, expected[3..7]);
    assert_eq!(list(9, u64::MAX, None).await, expected[9..]);
    assert!(list(10, 5, None).await.is_empty());
    assert_eq!(
        store.count_certificates(&a.zone.id, None).await.unwrap(),
        10
    );

    let revoke = change(
        &a.zone,
        &expected[4],
        &[CertificateStatus::Active],
        CertificateStatus::PendingRevocation,
        30,
    );
    store.change_status(&revoke).await.unwrap();
    assert_eq!(
        list(0, 100, Some(CertificateStatus::PendingRevocation)).await,
        vec![expected[4].clone()]
    );
    let mut active = expected.clone();
    active.remove(4);
    assert_eq!(list(0, 100, Some(CertificateStatus::Active)).await, active);
    assert!(
        list(0, 100, Some(CertificateStatus::Revoked))
            .await
            .is_empty()
    );
    assert_eq!(
        store
            .count_certificates(&a.zone.id, Some(CertificateStatus::Active))
            .await
            .unwrap(),
        9
    );
    assert_eq!(
        store
            .count_certificates(&a.zone.id, Some(CertificateStatus::PendingRevocation))
            .await
            .unwrap(),
        1
    );
}

async fn deep_pages_across_list_blocks_match_a_naive_listing(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let b = tenant(&store, 'b').await;
    // 9000 certificates over nine list blocks (1024 each), interleaved with another zone's,
    // imported with their sequence numbers; then a few created the normal way after them.
    let mut expected: Vec<(CertificateId, CertificateStatus)> = Vec::new();
    let mut imported = Vec::new();
    for i in 0..9_000 {
        let owner = if i % 7 == 3 { &b } else { &a };
        let cert = certificate(owner, &cert_id(i), 100_000 + u128::from(i), 5);
        if owner.zone.id == a.zone.id {
            expected.push((cert.id.clone(), CertificateStatus::Active));
        }
        imported.push((i64::from(i) + 1, cert));
    }
    store
        .import_rows(&Rows::Certificates(imported))
        .await
        .unwrap();
    for i in 0..3 {
        let cert = certificate(&a, &cert_id(20_000 + i), 900_000 + u128::from(i), 6);
        insert(&store, &cert).await;
        expected.push((cert.id, CertificateStatus::Active));
    }
    expected.reverse(); // newest (last created) first
    for (index, (id, status)) in expected.iter_mut().enumerate() {
        if index % 37 == 0 {
            let revoke = change(
                &a.zone,
                id,
                &[CertificateStatus::Active],
                CertificateStatus::PendingRevocation,
                40,
            );
            assert!(matches!(
                store.change_status(&revoke).await.unwrap(),
                StatusChangeOutcome::Changed(_)
            ));
            *status = CertificateStatus::PendingRevocation;
        }
    }
    for filter in [
        None,
        Some(CertificateStatus::Active),
        Some(CertificateStatus::PendingRevocation),
    ] {
        let naive: Vec<&CertificateId> = expected
            .iter()
            .filter(|(_, status)| filter.is_none_or(|f| f == *status))
            .map(|(id, _)| id)
            .collect();
        assert_eq!(
            store.count_certificates(&a.zone.id, filter).await.unwrap(),
            naive.len() as u64
        );
        let n = naive.len();
        for (offset, limit) in [
            (0, 50),
            (1000, 50),
            (3500, 3),
            (3509, 10),
            (4095, 2),
            (7000, 40),
            (n - 1, 50),
            (n, 5),
            (5, 0),
        ] {
            let query = CertificateQuery {
                zone_id: a.zone.id.clone(),
                status: filter,
                offset: offset as u64,
                limit: limit as u64,
            };
            let page = store.list_certificates(&query).await.unwrap();
            assert_eq!(page.total, n as u64);
            let listed: Vec<CertificateId> = page.items.into_iter().map(|c| c.id).collect();
            let want: Vec<CertificateId> = naive
                .iter()
                .skip(offset)
                .take(limit)
                .map(|id| (*id).clone())
                .collect();
            assert_eq!(
                listed, want,
                "filter {filter:?} offset {offset} limit {limit}"
            );
        }
    }
}

async fn concurrent_creates_commit_together_and_fail_alone(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let creates = (0..64).map(|i| {
        let store = Arc::clone(&store);
        // Every eighth create reuses serial 7: only the first of those may commit.
        let serial = if i % 8 == 0 { 7 } else { 1_000 + u128::from(i) };
        let cert = certificate(&a, &cert_id(i), serial, 1);
        tokio::spawn(async move {
            store
                .insert_certificate(
                    &cert,
                    &audit(AuditAction::CertificateCreated, &cert.id),
                    None,
                )
                .await
        })
    });
    let mut committed = 0;
    let mut conflicts = 0;
    for create in creates.collect::<Vec<_>>() {
        match create.await.unwrap() {
            Ok(()) => committed += 1,
            Err(StoreError::Conflict(_)) => conflicts += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((committed, conflicts), (57, 7));
    assert_eq!(
        store.count_certificates(&a.zone.id, None).await.unwrap(),
        57
    );
    let created = audit_count(&store, AuditAction::CertificateCreated).await;
    assert_eq!(created, 57, "failed creates leave no audit event");
}

/// 32 creates racing for the last place under a quota: exactly one commits, whichever backend
/// and however the creates are grouped; the others write nothing. Revoked certificates do not
/// count, pending revocations do.
async fn a_zone_quota_cannot_be_overshot_by_concurrent_creates(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let b = tenant(&store, 'b').await;
    const QUOTA: u64 = 10;
    for i in 0..QUOTA as u32 - 1 {
        insert(&store, &certificate(&a, &cert_id(i), u128::from(i) + 1, 1)).await;
    }
    let creates = (100..132).map(|i| {
        let store = Arc::clone(&store);
        let cert = certificate(&a, &cert_id(i), u128::from(i), 1);
        tokio::spawn(async move {
            store
                .insert_certificate(
                    &cert,
                    &audit(AuditAction::CertificateCreated, &cert.id),
                    Some(QUOTA),
                )
                .await
        })
    });
    let mut committed = 0;
    let mut refused = 0;
    for create in creates.collect::<Vec<_>>() {
        match create.await.unwrap() {
            Ok(()) => committed += 1,
            Err(StoreError::QuotaExceeded { limit: QUOTA }) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((committed, refused), (1, 31));
    assert_eq!(store.count_unrevoked(&a.zone.id).await.unwrap(), QUOTA);
    assert_eq!(
        store.count_certificates(&a.zone.id, None).await.unwrap(),
        QUOTA
    );
    let created = audit_count(&store, AuditAction::CertificateCreated).await;
    assert_eq!(
        created, QUOTA as usize,
        "refused creates leave no audit event"
    );

    // Another zone is not limited by this one's count.
    let other = certificate(&b, &cert_id(500), 500, 1);
    store
        .insert_certificate(
            &other,
            &audit(AuditAction::CertificateCreated, &other.id),
            Some(1),
        )
        .await
        .unwrap();

    // A pending revocation still counts; once settled as revoked it frees a place.
    let first = cert_id(0);
    let to_pending = change(
        &a.zone,
        &first,
        &[CertificateStatus::Active],
        CertificateStatus::PendingRevocation,
        2,
    );
    store.change_status(&to_pending).await.unwrap();
    let next = certificate(&a, &cert_id(200), 200, 3);
    let err = store
        .insert_certificate(
            &next,
            &audit(AuditAction::CertificateCreated, &next.id),
            Some(QUOTA),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::QuotaExceeded { limit: QUOTA }),
        "{err:?}"
    );
    let to_revoked = change(
        &a.zone,
        &first,
        &[CertificateStatus::PendingRevocation],
        CertificateStatus::Revoked,
        4,
    );
    store.change_status(&to_revoked).await.unwrap();
    assert_eq!(store.count_unrevoked(&a.zone.id).await.unwrap(), QUOTA - 1);
    store
        .insert_certificate(
            &next,
            &audit(AuditAction::CertificateCreated, &next.id),
            Some(QUOTA),
        )
        .await
        .unwrap();
}

/// A zone's own quota is stored, read back with the zone, cleared again, and audited.
async fn zone_quotas_are_stored_with_the_zone(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    assert_eq!(a.zone.max_certificates, None);
    let set = audit(AuditAction::ZoneQuotaChanged, &a.zone.id);
    assert!(
        store
            .set_zone_quota(&a.zone.id, Some(5), &set)
            .await
            .unwrap()
    );
    let zone = store.get_zone(&a.zone.id).await.unwrap().unwrap();
    assert_eq!(zone.max_certificates, Some(5));
    assert!(store.set_zone_quota(&a.zone.id, None, &set).await.unwrap());
    let zone = store.get_zone(&a.zone.id).await.unwrap().unwrap();
    assert_eq!(zone.max_certificates, None);
    let missing = ZoneId::random();
    assert!(!store.set_zone_quota(&missing, Some(1), &set).await.unwrap());
    assert_eq!(audit_count(&store, AuditAction::ZoneQuotaChanged).await, 2);
}

async fn status_changes_are_conditional_and_audited(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let id = cert_id(1);
    insert(&store, &certificate(&a, &id, 7, 1)).await;
    let revoke = change(
        &a.zone,
        &id,
        &[
            CertificateStatus::Active,
            CertificateStatus::PendingReactivation,
        ],
        CertificateStatus::PendingRevocation,
        50,
    );
    let StatusChangeOutcome::Changed(changed) = store.change_status(&revoke).await.unwrap() else {
        panic!("first revoke changes the status");
    };
    assert_eq!(changed.status, CertificateStatus::PendingRevocation);
    assert_eq!(changed.revoked_at, Some(at(50)));
    assert_eq!(
        changed.revocation_reason,
        Some(RevocationReason::KeyCompromise)
    );
    assert_eq!(changed.updated_at, at(50));

    let StatusChangeOutcome::Unchanged(same) = store.change_status(&revoke).await.unwrap() else {
        panic!("second revoke is idempotent");
    };
    assert_eq!(same, changed);

    let reactivate = change(
        &a.zone,
        &id,
        &[CertificateStatus::PendingRevocation],
        CertificateStatus::PendingReactivation,
        60,
    );
    let StatusChangeOutcome::Changed(reactivated) = store.change_status(&reactivate).await.unwrap()
    else {
        panic!("reactivation from pending_revocation changes the status");
    };
    assert_eq!(reactivated.status, CertificateStatus::PendingReactivation);
    assert_eq!(reactivated.revoked_at, None);
    assert_eq!(reactivated.revocation_reason, None);

    let missing = StatusChange {
        certificate_id: cert_id(99),
        ..revoke.clone()
    };
    assert_eq!(
        store.change_status(&missing).await.unwrap(),
        StatusChangeOutcome::NotFound
    );

    let actions: Vec<_> = store
        .audit_events(Some(&a.account.id), 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entry.action)
        .filter(|a| a.as_str().ends_with("_requested"))
        .collect();
    assert_eq!(
        actions,
        [
            AuditAction::CertificateRevocationRequested,
            AuditAction::CertificateReactivationRequested
        ]
    );
}

/// 96 changes racing (batched into shared transactions): each of 32 certificates is revoked
/// twice at once and one in four is also looked for in the wrong zone. Exactly one revoke of each
/// changes it, the other sees it unchanged, the wrong zone finds nothing; list counts and audit
/// events agree with what changed.
async fn concurrent_status_changes_each_apply_exactly_once(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let b = tenant(&store, 'b').await;
    let ids: Vec<_> = (0..32).map(cert_id).collect();
    for (n, id) in ids.iter().enumerate() {
        insert(&store, &certificate(&a, id, 5_000 + n as u128, 1)).await;
    }
    const FROM: &[CertificateStatus] = &[CertificateStatus::Active];
    let mut changes = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        for _ in 0..2 {
            changes.push(change(
                &a.zone,
                id,
                FROM,
                CertificateStatus::PendingRevocation,
                9,
            ));
        }
        if n % 4 == 0 {
            changes.push(change(
                &b.zone,
                id,
                FROM,
                CertificateStatus::PendingRevocation,
                9,
            ));
        }
    }
    let racing: Vec<_> = changes
        .into_iter()
        .map(|change| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                (
                    change.certificate_id.clone(),
                    store.change_status(&change).await,
                )
            })
        })
        .collect();
    let mut changed = std::collections::BTreeMap::new();
    let (mut unchanged, mut not_found) = (0, 0);
    for race in racing {
        let (id, outcome) = race.await.unwrap();
        match outcome.unwrap() {
            StatusChangeOutcome::Changed(record) => {
                assert_eq!(record.status, CertificateStatus::PendingRevocation);
                *changed.entry(id).or_insert(0) += 1;
            }
            StatusChangeOutcome::Unchanged(record) => {
                assert_eq!(record.status, CertificateStatus::PendingRevocation);
                unchanged += 1;
            }
            StatusChangeOutcome::NotFound => not_found += 1,
        }
    }
    assert_eq!(changed.len(), 32, "every certificate changed");
    assert!(changed.values().all(|&times| times == 1), "{changed:?}");
    assert_eq!((unchanged, not_found), (32, 8));
    let count = |status| store.count_certificates(&a.zone.id, status);
    assert_eq!(
        count(Some(CertificateStatus::PendingRevocation))
            .await
            .unwrap(),
        32
    );
    assert_eq!(count(Some(CertificateStatus::Active)).await.unwrap(), 0);
    assert_eq!(count(None).await.unwrap(), 32);
    assert_eq!(
        audit_count(&store, AuditAction::CertificateRevocationRequested).await,
        32
    );
}

async fn only_an_unpublished_revocation_changes_its_reason(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let (pending, active) = (cert_id(1), cert_id(2));
    insert(&store, &certificate(&a, &pending, 7, 1)).await;
    insert(&store, &certificate(&a, &active, 8, 1)).await;
    let revoke = change(
        &a.zone,
        &pending,
        &[CertificateStatus::Active],
        CertificateStatus::PendingRevocation,
        50,
    );
    store.change_status(&revoke).await.unwrap();
    let reason_audit = |id: &CertificateId| AuditEntry {
        occurred_at: at(60),
        ..audit(AuditAction::CertificateRevocationReasonChanged, id)
    };
    let StatusChangeOutcome::Changed(changed) = store
        .change_pending_reason(
            &a.zone.id,
            &pending,
            RevocationReason::Superseded,
            &reason_audit(&pending),
        )
        .await
        .unwrap()
    else {
        panic!("a pending revocation's reason changes");
    };
    assert_eq!(
        changed.revocation_reason,
        Some(RevocationReason::Superseded)
    );
    assert_eq!(
        changed.revoked_at,
        Some(at(50)),
        "the revocation time stays"
    );
    assert_eq!(changed.status, CertificateStatus::PendingRevocation);
    let StatusChangeOutcome::Unchanged(untouched) = store
        .change_pending_reason(
            &a.zone.id,
            &active,
            RevocationReason::Superseded,
            &reason_audit(&active),
        )
        .await
        .unwrap()
    else {
        panic!("an active certificate has no revocation to change");
    };
    assert_eq!(untouched.revocation_reason, None);
    assert_eq!(
        store
            .change_pending_reason(
                &a.zone.id,
                &cert_id(9),
                RevocationReason::Superseded,
                &reason_audit(&active)
            )
            .await
            .unwrap(),
        StatusChangeOutcome::NotFound
    );
    assert_eq!(
        audit_count(&store, AuditAction::CertificateRevocationReasonChanged).await,
        1
    );
}

async fn zone_activity_counts_soon_expiring_actives_and_reads_the_newest_issues(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let b = tenant(&store, 'b').await;
    let now = at(1_000_000);
    let day = time::Duration::DAY;
    // Zone a: expiring in 2, 20, 60 and 200 days, one already expired; inserted in that order,
    // each issued a day after the one before.
    for (n, days) in [(1u32, 2i64), (2, 20), (3, 60), (4, 200), (5, -1)] {
        let issued = 1_000_000 - 86_400 * i64::from(10 - n);
        let cert = CertificateRecord {
            expires_on: now + time::Duration::days(days),
            ..certificate(&a, &cert_id(n), u128::from(n), issued)
        };
        insert(&store, &cert).await;
    }
    // Zone b holds one expiring tomorrow: never counted for a.
    insert(
        &store,
        &CertificateRecord {
            expires_on: now + day,
            ..certificate(&b, &cert_id(20), 20, 0)
        },
    )
    .await;
    // A revocation in a's week is not counted (active certificates only).
    insert(
        &store,
        &CertificateRecord {
            expires_on: now + time::Duration::days(3),
            ..certificate(&a, &cert_id(6), 6, 1_000_000)
        },
    )
    .await;
    let revoke = change(
        &a.zone,
        &cert_id(6),
        &[CertificateStatus::Active],
        CertificateStatus::PendingRevocation,
        1_000_001,
    );
    store.change_status(&revoke).await.unwrap();

    let activity = store.zone_activity(&a.zone.id, now, 3).await.unwrap();
    assert_eq!(activity.expiring_within, [1, 2, 3]);
    assert_eq!(
        activity.recent_issued_on,
        vec![
            at(1_000_000),
            at(1_000_000 - 86_400 * 5),
            at(1_000_000 - 86_400 * 6)
        ],
        "the newest three, newest first"
    );
    let everything = store.zone_activity(&a.zone.id, now, 100).await.unwrap();
    assert_eq!(everything.recent_issued_on.len(), 6);
    let other = store.zone_activity(&b.zone.id, now, 100).await.unwrap();
    assert_eq!(other.expiring_within, [1, 1, 1]);
    assert_eq!(other.recent_issued_on, vec![at(0)]);
}
