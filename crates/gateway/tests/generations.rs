//! After a CA rotation the gateway trusts both generations on the account's hostnames: the
//! certificates already out there keep working, and revoking one of them still refuses it.

mod common;

use authority::*;
use common::*;
use gateway::HeaderFamily;
use rustls::AlertDescription;
use test_support::{TestDatabase, backend_tests};

backend_tests!(both_generations_are_trusted_after_a_rotation);

async fn both_generations_are_trusted_after_a_rotation(db: TestDatabase) {
    let setup = setup(db, vec![HeaderFamily::Rfc9440]).await;
    let old = issue(&setup.authority, &setup.zone).await;
    let (new_ca, retired) = setup
        .authority
        .rotate_ca(
            &setup.zone.account_id,
            NewCa::Generate(CaKeyAlgorithm::P384),
            Actor::new(ActorKind::Cli),
        )
        .await
        .unwrap();
    assert!(retired.is_some());
    let new = issue(&setup.authority, &setup.zone).await;
    assert_eq!(new.record.as_ref().unwrap().ca_id, new_ca.id);
    within("the new generation is trusted", async || {
        outcome(&setup, Version::Tls13, Some(&new), "mtls.a.example")
            .await
            .is_ok()
    })
    .await;
    for version in BOTH {
        for (what, identity) in [("old generation", &old), ("new generation", &new)] {
            let (status, _) = outcome(&setup, version, Some(identity), "mtls.a.example")
                .await
                .unwrap_or_else(|refused| panic!("{version:?} {what}: {refused:?}"));
            assert_eq!(status, 200);
        }
    }
    setup
        .authority
        .revoke_certificate(
            &setup.zone,
            &old.record.as_ref().unwrap().id,
            None,
            Actor::new(ActorKind::Cli),
        )
        .await
        .unwrap();
    setup.authority.publish(100).await.unwrap();
    within(
        "the old generation's revocation reaches the gateway",
        async || {
            outcome(&setup, Version::Tls13, Some(&old), "mtls.a.example").await
                == Err(Refused(Some(AlertDescription::CertificateRevoked)))
        },
    )
    .await;
    assert!(
        outcome(&setup, Version::Tls12, Some(&new), "mtls.a.example")
            .await
            .is_ok()
    );
}
