//! DeploymentStore: settings, and copying a whole deployment between databases.

use std::collections::HashMap;

use store::*;
use test_support::{TestDatabase, backend_tests};

use crate::support::*;

backend_tests!(
    settings_keep_the_first_value,
    a_deployment_copies_into_an_empty_database_unchanged,
);

async fn settings_keep_the_first_value(db: TestDatabase) {
    let store = open(&db).await;
    assert_eq!(store.get_setting("k").await.unwrap(), None);
    assert_eq!(
        store.put_setting_if_absent("k", "first").await.unwrap(),
        "first"
    );
    assert_eq!(
        store.put_setting_if_absent("k", "second").await.unwrap(),
        "first"
    );
    assert_eq!(
        store.get_setting("k").await.unwrap().as_deref(),
        Some("first")
    );
}

async fn a_deployment_copies_into_an_empty_database_unchanged(db: TestDatabase) {
    // The source is always SQLite (the embedded default users migrate away from).
    let source_db = TestDatabase::sqlite();
    let source = open(&source_db).await;
    let a = tenant(&source, 'a').await;
    let b = tenant(&source, 'b').await;
    for i in 0..2_500 {
        let owner = if i % 2 == 0 { &a } else { &b };
        let cert = certificate(owner, &cert_id(i), 10_000 + u128::from(i), i64::from(i));
        insert(&source, &cert).await;
    }
    let token = NewApiToken {
        token: ApiToken {
            id: TokenId::parse(&"1".repeat(32)).unwrap(),
            name: "scoped".into(),
            email: Some("ops@example.com".into()),
            account_id: a.account.id.clone(),
            permission: Permission::Read,
            scope: TokenScope::Zones(vec![a.zone.id.clone()]),
            expires_at: Some(at(99)),
            revoked_at: Some(at(98)),
            created_at: at(5),
        },
        secret_hash: "hash".into(),
    };
    source
        .create_token(&token, &audit(AuditAction::TokenCreated, &token.token.id))
        .await
        .unwrap();
    source
        .replace_hostname_associations(
            &a.zone,
            &a.managed(),
            &["a.example.com".into(), "b.example.com".into()],
            &audit(AuditAction::HostnameAssociationsReplaced, &a.zone.id),
        )
        .await
        .unwrap();
    // A second CA generation, imported under a root (with a chain): the first one retires.
    let imported = CaRecord {
        created_at: at(60),
        chain_pem: "-----BEGIN CERTIFICATE-----\nroot\n".into(),
        ..ca_record(&a.account.id, &ca_id(7))
    };
    source
        .rotate_ca(
            &imported,
            &first_crl(&imported.id),
            &audit(AuditAction::CertificateAuthorityRotated, &imported.id),
        )
        .await
        .unwrap();
    let uploaded = mtls_record(&a.account.id, 1, Some("corporate"));
    source
        .insert_mtls_certificate(
            &uploaded,
            5,
            &audit(AuditAction::MtlsCertificateUploaded, &uploaded.id),
        )
        .await
        .unwrap();
    source
        .replace_hostname_associations(
            &a.zone,
            &AssociationTarget::Uploaded(uploaded.id.clone()),
            &["byo.example.com".into()],
            &audit(AuditAction::HostnameAssociationsReplaced, &a.zone.id),
        )
        .await
        .unwrap();
    source
        .put_setting_if_absent(MASTER_KEY_CHECK_SETTING, "sealed")
        .await
        .unwrap();

    let target = open(&db).await;
    let mut calls = 0;
    let mut last_progress = HashMap::new();
    let report = copy_deployment(source.as_ref(), target.as_ref(), |table, done, total| {
        last_progress.insert(table, (done, total));
        calls += 1;
    })
    .await
    .unwrap();
    assert!(calls > Table::ALL.len(), "progress is reported per page");
    assert_eq!(last_progress.len(), Table::ALL.len());
    for (table, (done, total)) in &last_progress {
        assert_eq!(
            done,
            total,
            "{} ends with all its rows reported",
            table.name()
        );
    }
    let copied: HashMap<_, _> = report.tables.into_iter().collect();
    assert_eq!(copied[&Table::Certificates], 2_500);
    assert_eq!(copied[&Table::HostnameAssociations], 2);
    assert_eq!(copied[&Table::MtlsCertificates], 1);
    assert_eq!(
        target.get_ca_for_account(&a.account.id).await.unwrap(),
        Some(CaRecord {
            generation: 2,
            ..imported
        }),
        "the current generation is still current"
    );
    assert_eq!(copied[&Table::MtlsHostnameAssociations], 1);

    for table in Table::ALL {
        let (from, _) = source.export_rows(table, "", 10_000).await.unwrap();
        let (to, _) = target.export_rows(table, "", 10_000).await.unwrap();
        assert_eq!(from, to, "{} differs after the copy", table.name());
    }
    // New audit events continue after the copied ones.
    let last = target
        .audit_events(None, 0, 100_000)
        .await
        .unwrap()
        .last()
        .unwrap()
        .id;
    let zone = Zone {
        id: ZoneId::parse(&"c".repeat(32)).unwrap(),
        ..a.zone.clone()
    };
    target
        .create_zone(&zone, &audit(AuditAction::ZoneCreated, &zone.id))
        .await
        .unwrap();
    let newest = target.audit_events(None, last, 10).await.unwrap();
    assert_eq!(newest.len(), 1);
    assert!(newest[0].id > last);

    let again = copy_deployment(source.as_ref(), target.as_ref(), |_, _, _| {}).await;
    assert!(
        matches!(again, Err(StoreError::Conflict(_))),
        "a non-empty target is refused"
    );
}
