//! MtlsCertificateStore: uploaded CA certificates, their names and limit, and the hostnames
//! that require them.

use std::sync::Arc;

use store::*;
use test_support::{TestDatabase, backend_tests};

use crate::support::*;

backend_tests!(
    uploads_keep_names_unique_and_respect_the_limit,
    concurrent_uploads_never_overshoot_the_limit,
    an_associated_upload_is_not_deleted,
    uploaded_associations_share_hostname_ownership_and_reach_enforcement,
);

fn uploaded(record: &MtlsCertificateRecord) -> AuditEntry {
    audit(AuditAction::MtlsCertificateUploaded, &record.id)
}

async fn uploads_keep_names_unique_and_respect_the_limit(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let b = tenant(&store, 'b').await;
    let first = mtls_record(&a.account.id, 1, Some("corporate"));
    assert_eq!(
        store
            .insert_mtls_certificate(&first, 3, &uploaded(&first))
            .await
            .unwrap(),
        MtlsUploadOutcome::Uploaded
    );
    let same_name = mtls_record(&a.account.id, 2, Some("corporate"));
    assert_eq!(
        store
            .insert_mtls_certificate(&same_name, 3, &uploaded(&same_name))
            .await
            .unwrap(),
        MtlsUploadOutcome::NameTaken
    );
    // Names are per account; unnamed uploads never collide.
    let elsewhere = mtls_record(&b.account.id, 3, Some("corporate"));
    let unnamed = [
        mtls_record(&a.account.id, 4, None),
        mtls_record(&a.account.id, 5, None),
    ];
    for record in [&elsewhere, &unnamed[0], &unnamed[1]] {
        assert_eq!(
            store
                .insert_mtls_certificate(record, 3, &uploaded(record))
                .await
                .unwrap(),
            MtlsUploadOutcome::Uploaded
        );
    }
    let over = mtls_record(&a.account.id, 6, Some("one too many"));
    assert_eq!(
        store
            .insert_mtls_certificate(&over, 3, &uploaded(&over))
            .await
            .unwrap(),
        MtlsUploadOutcome::LimitReached
    );
    let listed = store.list_mtls_certificates(&a.account.id).await.unwrap();
    assert_eq!(
        listed,
        [first.clone(), unnamed[0].clone(), unnamed[1].clone()]
    );
    assert_eq!(
        store
            .get_mtls_certificate(&a.account.id, &first.id)
            .await
            .unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store
            .get_mtls_certificate(&b.account.id, &first.id)
            .await
            .unwrap(),
        None,
        "another account's certificate is not found"
    );
    assert_eq!(
        audit_count(&store, AuditAction::MtlsCertificateUploaded).await,
        4,
        "refused uploads leave no audit event"
    );
}

async fn concurrent_uploads_never_overshoot_the_limit(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let uploads = (0..8).map(|n| {
        let store = Arc::clone(&store);
        let record = mtls_record(&a.account.id, n, None);
        tokio::spawn(async move {
            store
                .insert_mtls_certificate(&record, 1, &uploaded(&record))
                .await
                .unwrap()
        })
    });
    let mut stored = 0;
    for upload in uploads {
        if upload.await.unwrap() == MtlsUploadOutcome::Uploaded {
            stored += 1;
        }
    }
    assert_eq!(stored, 1);
    assert_eq!(store.count_rows(Table::MtlsCertificates).await.unwrap(), 1);
}

async fn an_associated_upload_is_not_deleted(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let record = mtls_record(&a.account.id, 1, None);
    store
        .insert_mtls_certificate(&record, 5, &uploaded(&record))
        .await
        .unwrap();
    let target = AssociationTarget::Uploaded(record.id.clone());
    let replaced = || audit(AuditAction::HostnameAssociationsReplaced, &a.zone.id);
    store
        .replace_hostname_associations(&a.zone, &target, &["byo.example.com".into()], &replaced())
        .await
        .unwrap();
    let deleted = || audit(AuditAction::MtlsCertificateDeleted, &record.id);
    assert_eq!(
        store
            .delete_mtls_certificate(&a.account.id, &record.id, &deleted())
            .await
            .unwrap(),
        MtlsDeleteOutcome::Associated(vec!["byo.example.com".into()])
    );
    assert_eq!(
        store
            .mtls_certificate_associations(&record.id)
            .await
            .unwrap(),
        [("byo.example.com".to_string(), a.zone.id.clone())]
    );
    store
        .replace_hostname_associations(&a.zone, &target, &[], &replaced())
        .await
        .unwrap();
    assert_eq!(
        store
            .delete_mtls_certificate(&a.account.id, &record.id, &deleted())
            .await
            .unwrap(),
        MtlsDeleteOutcome::Deleted(record.clone())
    );
    assert_eq!(
        store
            .delete_mtls_certificate(&a.account.id, &record.id, &deleted())
            .await
            .unwrap(),
        MtlsDeleteOutcome::NotFound
    );
    assert_eq!(
        audit_count(&store, AuditAction::MtlsCertificateDeleted).await,
        1
    );
}

async fn uploaded_associations_share_hostname_ownership_and_reach_enforcement(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let b = tenant(&store, 'b').await;
    let associated = mtls_record(&a.account.id, 1, None);
    let idle = mtls_record(&a.account.id, 2, None);
    for record in [&associated, &idle] {
        store
            .insert_mtls_certificate(record, 5, &uploaded(record))
            .await
            .unwrap();
    }
    let uploaded_target = AssociationTarget::Uploaded(associated.id.clone());
    let shared = "shared.example.com".to_string();
    let replaced = |zone: &Zone| audit(AuditAction::HostnameAssociationsReplaced, &zone.id);
    store
        .replace_hostname_associations(
            &a.zone,
            &uploaded_target,
            std::slice::from_ref(&shared),
            &replaced(&a.zone),
        )
        .await
        .unwrap();
    store
        .replace_hostname_associations(
            &a.zone,
            &a.managed(),
            &["managed.example.com".into()],
            &replaced(&a.zone),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .replace_hostname_associations(
                &b.zone,
                &b.managed(),
                std::slice::from_ref(&shared),
                &replaced(&b.zone)
            )
            .await
            .unwrap(),
        HostnamesOutcome::TakenElsewhere(shared.clone()),
        "a hostname held through an uploaded CA is held"
    );
    let enforced = store.all_hostname_associations().await.unwrap();
    let targets: Vec<(&str, &AssociationTarget)> = enforced
        .iter()
        .map(|row| (row.hostname.as_str(), &row.target))
        .collect();
    assert_eq!(
        targets,
        [
            ("managed.example.com", &a.managed()),
            ("shared.example.com", &uploaded_target)
        ]
    );
    assert!(enforced.iter().all(|row| row.account_id == a.account.id));
    assert_eq!(
        store.associated_mtls_certificates().await.unwrap(),
        [associated],
        "only uploads some hostname requires are enforced"
    );
    assert_eq!(
        store
            .hostname_associations(&a.zone.id, &uploaded_target)
            .await
            .unwrap(),
        [shared]
    );
}
