//! CA certificates an account uploaded (`mtls_certificates`): once associated with a hostname the
//! gateway trusts the certificates they issued on that account's hostnames, alongside the
//! managed CA; dissociated, they are refused again — within the refresh, without a restart.

mod common;

use authority::*;
use common::*;
use gateway::HeaderFamily;
use rustls::AlertDescription;
use test_support::{ForeignCa, TestDatabase, backend_tests};

backend_tests!(an_uploaded_ca_is_trusted_once_associated);

async fn account_principal(authority: &Authority, account_id: &AccountId) -> Principal {
    let request = NewTokenRequest {
        target: TokenTarget::Account(account_id.clone()),
        permission: Permission::Edit,
        name: None,
        expires_in: None,
        legacy_email: None,
    };
    let (_, secret) = authority
        .create_token(request, Actor::new(ActorKind::Cli))
        .await
        .unwrap();
    authority
        .authenticate(
            &Credentials::Bearer(secret),
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap()
}

async fn an_uploaded_ca_is_trusted_once_associated(db: TestDatabase) {
    let setup = setup(db, vec![HeaderFamily::Rfc9440]).await;
    let root = ForeignCa::root("Corporate Root");
    let devices = root.intermediate("Corporate Devices");
    let (certificate, key) = devices.client("badge-42");
    let corporate = Identity {
        key: pem_der(&key),
        certificate: pem_der(&certificate),
        record: None,
    };
    let mine = issue(&setup.authority, &setup.zone).await;
    for version in BOTH {
        assert_eq!(
            outcome(&setup, version, Some(&corporate), "mtls.a.example").await,
            Err(Refused(Some(AlertDescription::UnknownCA))),
            "{version:?}: an unknown corporate CA"
        );
    }

    let account = setup.zone.account_id.clone();
    let principal = account_principal(&setup.authority, &account).await;
    let upload = MtlsCertificateUpload {
        ca: true,
        certificates: format!("{}{}", devices.pem, root.pem),
        name: Some("corporate".into()),
        private_key: None,
    };
    let uploaded = setup
        .authority
        .upload_mtls_certificate(&principal, &account, upload, Actor::new(ActorKind::Cli))
        .await
        .unwrap();
    // Uploaded but required nowhere: still not trusted.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        outcome(&setup, Version::Tls13, Some(&corporate), "mtls.a.example")
            .await
            .is_err()
    );

    setup
        .authority
        .replace_hostname_associations(
            &setup.zone,
            Some(uploaded.id.as_str()),
            &["badges.a.example".into()],
            Actor::new(ActorKind::Cli),
        )
        .await
        .unwrap();
    within("the uploaded CA is trusted", async || {
        outcome(&setup, Version::Tls13, Some(&corporate), "mtls.a.example")
            .await
            .is_ok()
    })
    .await;
    for version in BOTH {
        let (status, _) = outcome(&setup, version, Some(&corporate), "mtls.a.example")
            .await
            .expect("the associated corporate CA is trusted");
        assert_eq!(status, 200);
        assert!(
            outcome(&setup, version, Some(&mine), "mtls.a.example")
                .await
                .is_ok(),
            "{version:?}: the managed CA stays trusted alongside"
        );
        assert_eq!(
            outcome(&setup, version, Some(&corporate), "mtls.b.example").await,
            Err(Refused(Some(AlertDescription::UnknownCA))),
            "{version:?}: another account's hosts do not trust it"
        );
    }

    setup
        .authority
        .replace_hostname_associations(
            &setup.zone,
            Some(uploaded.id.as_str()),
            &[],
            Actor::new(ActorKind::Cli),
        )
        .await
        .unwrap();
    within("the dissociated CA is refused again", async || {
        outcome(&setup, Version::Tls13, Some(&corporate), "mtls.a.example").await
            == Err(Refused(Some(AlertDescription::UnknownCA)))
    })
    .await;
}
