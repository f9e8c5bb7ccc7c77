//! `request` mode (Cloudflare's): the handshake completes, each request is judged — 403, or
//! forwarded with `cf-cert-*` saying what was presented when a route forwards unverified
//! clients. And a route pinned to mTLS refuses while no zone associates its hostname.

mod common;

use authority::{Actor, ActorKind};
use common::*;
use gateway::{HeaderFamily, Mode};
use test_support::{TestDatabase, backend_tests};

backend_tests!(
    request_mode_answers_403_unless_the_certificate_is_valid,
    request_mode_can_forward_unverified_clients_saying_so,
    a_route_pinned_to_mtls_refuses_until_its_hostname_is_associated,
);

async fn request_mode_answers_403_unless_the_certificate_is_valid(db: TestDatabase) {
    let setup = setup_with(db, |config| config.mode = Mode::Request).await;
    let mine = issue(&setup.authority, &setup.zone).await;
    let theirs = issue(&setup.authority, &setup.other_zone).await;
    let stranger = self_signed_identity();
    let stale = expired(&setup, &setup.zone).await;
    for version in BOTH {
        let hits = setup.upstream.hits();
        for (what, identity) in [
            ("no certificate", None),
            ("another account's certificate", Some(&theirs)),
            ("a self-signed certificate", Some(&stranger)),
            ("an expired certificate", Some(&stale)),
        ] {
            let answer = outcome(&setup, version, identity, "mtls.a.example").await;
            assert!(
                matches!(&answer, Ok((403, body)) if body.contains("valid client certificate")),
                "{version:?}: {what}: {answer:?}"
            );
        }
        assert_eq!(
            setup.upstream.hits(),
            hits,
            "{version:?}: 403s reach no upstream"
        );
        let (status, body) = outcome(&setup, version, Some(&mine), "mtls.a.example")
            .await
            .unwrap();
        assert_eq!(status, 200, "{version:?}");
        let seen: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(seen["headers"]["client-cert"].is_string());
    }

    // Revoked: 403, and the connection that had been accepted is closed.
    let config = client_config(&setup, Version::Tls13, Some(&mine));
    let mut open = connect(&setup, config, "mtls.a.example").await.unwrap();
    assert_eq!(
        request(&mut open, "mtls.a.example", "").await.unwrap().0,
        200
    );
    let id = &mine.record.as_ref().unwrap().id;
    setup
        .authority
        .revoke_certificate(&setup.zone, id, None, Actor::new(ActorKind::Cli))
        .await
        .unwrap();
    setup.authority.publish(100).await.unwrap();
    within("the revocation", async || {
        matches!(
            outcome(&setup, Version::Tls13, Some(&mine), "mtls.a.example").await,
            Ok((403, _))
        )
    })
    .await;
    let answer = request(&mut open, "mtls.a.example", "").await.unwrap();
    assert_eq!(answer.0, 403, "{answer:?}");
    assert!(
        request(&mut open, "mtls.a.example", "").await.is_err(),
        "closed after the 403"
    );
}

async fn request_mode_can_forward_unverified_clients_saying_so(db: TestDatabase) {
    let setup = setup_with(db, |config| {
        for route in &mut config.routes {
            if route.host.as_str() == "mtls.b.example" {
                route.options.mode = Some(Mode::Request);
                route.options.forward_unverified = true;
                route.options.headers = Some(vec![HeaderFamily::Cloudflare]);
            }
        }
    })
    .await;
    let theirs = issue(&setup.authority, &setup.other_zone).await;
    let mine = issue(&setup.authority, &setup.zone).await;
    let stranger = self_signed_identity();
    for version in BOTH {
        for (what, identity, presented, verified) in [
            ("no certificate", None, "false", "false"),
            (
                "a self-signed certificate",
                Some(&stranger),
                "true",
                "false",
            ),
            (
                "another account's certificate",
                Some(&mine),
                "true",
                "false",
            ),
            ("the account's certificate", Some(&theirs), "true", "true"),
        ] {
            let (status, body) = outcome(&setup, version, identity, "mtls.b.example")
                .await
                .unwrap_or_else(|refused| panic!("{version:?}: {what}: {refused:?}"));
            assert_eq!(status, 200, "{version:?}: {what}");
            let headers = &serde_json::from_str::<serde_json::Value>(&body).unwrap()["headers"];
            assert_eq!(headers["cf-cert-presented"], presented, "{what}");
            assert_eq!(headers["cf-cert-verified"], verified, "{what}");
            assert_eq!(headers["cf-cert-revoked"], "false", "{what}");
            // Only the cloudflare family on this route; never an identity for the unverified.
            assert!(headers.get("client-cert").is_none(), "{what}");
            if let Some(identity) = identity {
                assert_eq!(
                    headers["cf-cert-fingerprint-sha256"],
                    authority::fingerprint_sha256(&identity.certificate).as_str(),
                    "{what}"
                );
            }
        }
    }
    // The other routes keep the gateway's mode: require.
    assert!(
        outcome(&setup, Version::Tls13, None, "mtls.a.example")
            .await
            .is_err()
    );
}

async fn a_route_pinned_to_mtls_refuses_until_its_hostname_is_associated(db: TestDatabase) {
    let setup = setup_with(db, |config| {
        for route in &mut config.routes {
            if route.host.as_str() == "open.a.example" {
                route.options.mtls_required = true;
            }
        }
    })
    .await;
    let mine = issue(&setup.authority, &setup.zone).await;
    let hits = setup.upstream.hits();
    for identity in [None, Some(&mine)] {
        assert!(
            outcome(&setup, Version::Tls13, identity, "open.a.example")
                .await
                .is_err(),
            "served without mTLS"
        );
    }
    assert_eq!(setup.upstream.hits(), hits);
    assert_eq!(
        metric(
            &setup,
            "clientca_gateway_handshakes_total{outcome=\"unassociated\"}"
        )
        .await,
        2.0
    );

    associate(
        &setup.authority,
        &setup.zone,
        &["mtls.a.example", "open.a.example"],
    )
    .await;
    within("the association", async || {
        outcome(&setup, Version::Tls13, Some(&mine), "open.a.example")
            .await
            .is_ok()
    })
    .await;
    assert!(
        outcome(&setup, Version::Tls13, None, "open.a.example")
            .await
            .is_err()
    );
}
