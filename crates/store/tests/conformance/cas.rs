//! CaStore: one current CA per account, its generations, and the hostnames that require its
//! certificates.

use std::sync::Arc;

use store::*;
use test_support::{TestDatabase, backend_tests};

use crate::support::*;

backend_tests!(
    concurrent_ca_creation_keeps_exactly_one,
    hostname_associations_are_replaced_whole,
    a_hostname_is_held_by_one_account_at_a_time,
    a_rotation_retires_the_current_ca_and_keeps_it_readable,
);

async fn concurrent_ca_creation_keeps_exactly_one(db: TestDatabase) {
    let store = open(&db).await;
    let account = Account {
        id: account_id('d'),
        name: "racing".into(),
        created_at: at(0),
    };
    store
        .create_account(&account, &audit(AuditAction::AccountCreated, &account.id))
        .await
        .unwrap();
    let attempts = (0..8).map(|i| {
        let store = Arc::clone(&store);
        let record = ca_record(&account.id, &ca_id(1000 + i));
        tokio::spawn(async move {
            let crl = first_crl(&record.id);
            store
                .insert_ca_if_absent(
                    &record,
                    &crl,
                    &audit(AuditAction::CertificateAuthorityCreated, &record.id),
                )
                .await
        })
    });
    let mut winners = Vec::new();
    for attempt in attempts {
        winners.push(attempt.await.unwrap().unwrap().id);
    }
    winners.dedup();
    assert_eq!(
        winners.len(),
        1,
        "every caller must see the same CA: {winners:?}"
    );
    let created = audit_count(&store, AuditAction::CertificateAuthorityCreated).await;
    assert_eq!(created, 1);
    let crl = store
        .latest_crl(&winners[0])
        .await
        .unwrap()
        .expect("the winner's first CRL");
    assert_eq!((&crl.ca_id, crl.crl_number), (&winners[0], 1));
    assert_eq!(
        store.count_rows(Table::Crls).await.unwrap(),
        1,
        "losers' CRLs are not stored"
    );
}

async fn hostname_associations_are_replaced_whole(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let replaced = || audit(AuditAction::HostnameAssociationsReplaced, &a.zone.id);
    assert!(
        store
            .hostname_associations(&a.zone.id, &a.managed())
            .await
            .unwrap()
            .is_empty()
    );
    let first = vec!["b.example.com".to_string(), "a.example.com".to_string()];
    store
        .replace_hostname_associations(&a.zone, &a.managed(), &first, &replaced())
        .await
        .unwrap();
    assert_eq!(
        store
            .hostname_associations(&a.zone.id, &a.managed())
            .await
            .unwrap(),
        ["a.example.com", "b.example.com"]
    );
    store
        .replace_hostname_associations(
            &a.zone,
            &a.managed(),
            &["c.example.com".into()],
            &replaced(),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .hostname_associations(&a.zone.id, &a.managed())
            .await
            .unwrap(),
        ["c.example.com"]
    );
    store
        .replace_hostname_associations(&a.zone, &a.managed(), &[], &replaced())
        .await
        .unwrap();
    assert!(
        store
            .hostname_associations(&a.zone.id, &a.managed())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        audit_count(&store, AuditAction::HostnameAssociationsReplaced).await,
        3
    );
}

async fn a_hostname_is_held_by_one_account_at_a_time(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let b = tenant(&store, 'b').await;
    let replaced = |zone: &Zone| audit(AuditAction::HostnameAssociationsReplaced, &zone.id);
    let shared = "shared.example.com".to_string();
    assert_eq!(
        store
            .replace_hostname_associations(
                &a.zone,
                &a.managed(),
                std::slice::from_ref(&shared),
                &replaced(&a.zone)
            )
            .await
            .unwrap(),
        HostnamesOutcome::Replaced
    );
    let wanted = vec!["b-only.example.com".to_string(), shared.clone()];
    assert_eq!(
        store
            .replace_hostname_associations(&b.zone, &b.managed(), &wanted, &replaced(&b.zone))
            .await
            .unwrap(),
        HostnamesOutcome::TakenElsewhere(shared.clone())
    );
    assert!(
        store
            .hostname_associations(&b.zone.id, &b.managed())
            .await
            .unwrap()
            .is_empty(),
        "nothing of a refused replacement is written"
    );
    // Another zone of the same account may hold it too.
    let second = Zone {
        id: ZoneId::random(),
        ..a.zone.clone()
    };
    store
        .create_zone(&second, &audit(AuditAction::ZoneCreated, &second.id))
        .await
        .unwrap();
    assert_eq!(
        store
            .replace_hostname_associations(&second, &a.managed(), &[shared], &replaced(&second))
            .await
            .unwrap(),
        HostnamesOutcome::Replaced
    );
    assert_eq!(
        audit_count(&store, AuditAction::HostnameAssociationsReplaced).await,
        2,
        "the refusal left no audit event"
    );
}

async fn a_rotation_retires_the_current_ca_and_keeps_it_readable(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let old = a.ca.id.clone();
    let new = CaRecord {
        created_at: at(3600),
        chain_pem: "-----BEGIN CERTIFICATE-----\nroot\n".into(),
        ..ca_record(&a.account.id, &ca_id(2))
    };
    let rotated = audit(AuditAction::CertificateAuthorityRotated, &new.id);
    assert_eq!(
        store
            .rotate_ca(&new, &first_crl(&new.id), &rotated)
            .await
            .unwrap(),
        Some(old.clone())
    );
    assert_eq!(
        store.get_ca_for_account(&a.account.id).await.unwrap(),
        Some(CaRecord {
            generation: 2,
            ..new.clone()
        })
    );
    let retired = store.get_ca(&old).await.unwrap().expect("kept");
    assert_eq!(retired.retired_at, Some(at(3600)));
    let generations: Vec<(CaId, i64)> = store
        .cas_of_account(&a.account.id)
        .await
        .unwrap()
        .into_iter()
        .map(|ca| (ca.id, ca.generation))
        .collect();
    assert_eq!(generations, [(old.clone(), 1), (new.id.clone(), 2)]);
    assert_eq!(
        store.latest_crl(&new.id).await.unwrap().unwrap().crl_number,
        1
    );
    // Creation on first use still finds the current CA and adds none.
    let late = ca_record(&a.account.id, &ca_id(3));
    let winner = store
        .insert_ca_if_absent(
            &late,
            &first_crl(&late.id),
            &audit(AuditAction::CertificateAuthorityCreated, &late.id),
        )
        .await
        .unwrap();
    assert_eq!(winner.id, new.id);
    assert_eq!(
        store
            .count_rows(Table::CertificateAuthorities)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        audit_count(&store, AuditAction::CertificateAuthorityRotated).await,
        1
    );
}
