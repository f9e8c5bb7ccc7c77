//! The gateway enforcing certificates, end to end: each certificate's exact outcome, revocation
//! reaching every kind of connection, and the checks made on every request.

mod common;

use std::sync::Arc;
use std::time::Duration;

use authority::*;
use common::*;
use gateway::HeaderFamily;
use rustls::AlertDescription;
use test_support::{TestDatabase, backend_tests};

backend_tests!(
    each_certificate_gets_its_exact_outcome,
    revocation_reaches_new_handshakes_resumptions_and_open_connections,
    hosts_and_headers_are_checked_on_every_request,
);

async fn each_certificate_gets_its_exact_outcome(db: TestDatabase) {
    let setup = setup(db, vec![HeaderFamily::Rfc9440]).await;
    let mine = issue(&setup.authority, &setup.zone).await;
    let theirs = issue(&setup.authority, &setup.other_zone).await;
    let stranger = self_signed_identity();
    let stale = expired(&setup, &setup.zone).await;
    let revoked = issue(&setup.authority, &setup.zone).await;
    setup
        .authority
        .revoke_certificate(
            &setup.zone,
            &revoked.record.as_ref().unwrap().id,
            None,
            Actor::new(ActorKind::Cli),
        )
        .await
        .unwrap();
    setup.authority.publish(100).await.unwrap();
    within("the revocation reaches the gateway", async || {
        metric(&setup, "clientca_gateway_revoked_serials").await == 1.0
    })
    .await;
    for version in BOTH {
        let hits = setup.upstream.hits();
        for (what, identity, alert, counted) in [
            (
                "no certificate",
                None,
                AlertDescription::CertificateRequired,
                "no_cert",
            ),
            (
                "another account's certificate",
                Some(&theirs),
                AlertDescription::UnknownCA,
                "unknown_ca",
            ),
            (
                "a self-signed certificate",
                Some(&stranger),
                AlertDescription::UnknownCA,
                "unknown_ca",
            ),
            (
                "an expired certificate",
                Some(&stale),
                AlertDescription::CertificateExpired,
                "expired",
            ),
            (
                "a revoked certificate",
                Some(&revoked),
                AlertDescription::CertificateRevoked,
                "revoked",
            ),
        ] {
            let series = format!("clientca_gateway_handshakes_total{{outcome=\"{counted}\"}}");
            let before = metric(&setup, &series).await;
            assert_eq!(
                outcome(&setup, version, identity, "mtls.a.example").await,
                Err(Refused(Some(alert))),
                "{version:?}: {what}"
            );
            assert_eq!(
                metric(&setup, &series).await,
                before + 1.0,
                "{version:?}: {what} counted as {counted}"
            );
        }
        assert_eq!(
            setup.upstream.hits(),
            hits,
            "{version:?}: a refused client reached the upstream"
        );

        let (status, body) = outcome(&setup, version, Some(&mine), "mtls.a.example")
            .await
            .expect("the account's own certificate passes");
        assert_eq!(status, 200, "{body}");
        let seen: serde_json::Value = serde_json::from_str(&body).unwrap();
        let expected = format!(
            ":{}:",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                &mine.certificate
            )
        );
        assert_eq!(
            seen["headers"]["client-cert"],
            expected.as_str(),
            "byte-exact leaf"
        );
        assert_eq!(seen["headers"]["x-forwarded-proto"], "https");
        assert_eq!(seen["path"], "/probe");

        // A route nobody associated asks for no certificate.
        let (status, body) = outcome(&setup, version, None, "open.a.example")
            .await
            .unwrap();
        assert_eq!(status, 200);
        let seen: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(seen["headers"].get("client-cert").is_none());
        // And another account's host trusts only its own CA.
        assert!(
            outcome(&setup, version, Some(&mine), "mtls.b.example")
                .await
                .is_err()
        );
        assert!(
            outcome(&setup, version, Some(&theirs), "mtls.b.example")
                .await
                .is_ok()
        );
    }
}

async fn revocation_reaches_new_handshakes_resumptions_and_open_connections(db: TestDatabase) {
    let setup = setup(db, vec![HeaderFamily::Rfc9440]).await;
    for version in BOTH {
        let identity = issue(&setup.authority, &setup.zone).await;
        let record = identity.record.clone().unwrap();
        let config = client_config(&setup, version, Some(&identity));
        // An open keep-alive connection, and a session to resume, from before the revocation.
        let mut open = connect(&setup, Arc::clone(&config), "mtls.a.example")
            .await
            .unwrap();
        assert_eq!(
            request(&mut open, "mtls.a.example", "").await.unwrap().0,
            200
        );
        let mut warm = connect(&setup, Arc::clone(&config), "mtls.a.example")
            .await
            .unwrap();
        assert_eq!(
            request(&mut warm, "mtls.a.example", "").await.unwrap().0,
            200
        );
        drop(warm);

        // Pending revocation can still be undone: still accepted.
        setup
            .authority
            .revoke_certificate(&setup.zone, &record.id, None, Actor::new(ActorKind::Cli))
            .await
            .unwrap();
        assert_eq!(
            request(&mut open, "mtls.a.example", "").await.unwrap().0,
            200
        );
        // Published: refused everywhere within a second.
        setup.authority.publish(100).await.unwrap();
        let open_refused = within("the open connection", async || {
            !matches!(request(&mut open, "mtls.a.example", "").await, Ok((200, _)))
        })
        .await;
        let config_for_resume = Arc::clone(&config);
        let resumed_refused = within("a resumed session", async || {
            match connect(&setup, Arc::clone(&config_for_resume), "mtls.a.example").await {
                Ok(mut stream) => request(&mut stream, "mtls.a.example", "").await.is_err(),
                Err(_) => true,
            }
        })
        .await;
        let fresh_refused = within("a new handshake", async || {
            outcome(&setup, version, Some(&identity), "mtls.a.example")
                .await
                .is_err()
        })
        .await;
        for (what, took) in [
            ("open connection", open_refused),
            ("resumption", resumed_refused),
            ("new handshake", fresh_refused),
        ] {
            assert!(
                took <= Duration::from_secs(1),
                "{version:?} {what}: {took:?}"
            );
        }
    }
}

async fn hosts_and_headers_are_checked_on_every_request(db: TestDatabase) {
    let setup = setup(db, vec![HeaderFamily::Rfc9440, HeaderFamily::Cloudflare]).await;
    let mine = issue(&setup.authority, &setup.zone).await;
    let record = mine.record.clone().unwrap();
    let config = client_config(&setup, Version::Tls13, Some(&mine));
    let mut stream = connect(&setup, Arc::clone(&config), "mtls.a.example")
        .await
        .unwrap();
    // Forged certificate headers, in every family and case, never reach the upstream.
    let forged = "Client-Cert: :Zm9yZ2Vk:\r\nCF-Cert-Verified: true\r\ncf-cert-revoked: false\r\n\
                  X-Forwarded-Client-Cert: Hash=forged\r\nx-forwarded-tls-client-cert: forged\r\n\
                  Cf-Client-Cert-Sha256: forged\r\n";
    let (status, body) = request(&mut stream, "mtls.a.example", forged)
        .await
        .unwrap();
    assert_eq!(status, 200);
    let seen: serde_json::Value = serde_json::from_str(&body).unwrap();
    let headers = &seen["headers"];
    assert_eq!(headers["cf-cert-verified"], "true");
    assert_eq!(headers["cf-cert-revoked"], "false");
    assert_eq!(
        headers["cf-cert-fingerprint-sha256"],
        record.fingerprint_sha256.as_str()
    );
    assert_eq!(
        headers["cf-cert-serial"],
        format!("{:X}", record.serial_number.value()).as_str(),
        "uppercase hex of the API's decimal serial_number"
    );
    assert!(headers.get("x-forwarded-client-cert").is_none());
    assert!(headers.get("x-forwarded-tls-client-cert").is_none());
    assert_ne!(headers["client-cert"], ":Zm9yZ2Vk:");
    assert_ne!(headers["cf-client-cert-sha256"], "forged");

    // A Host naming another route, or an associated host over an unassociated SNI: 421.
    let (status, _) = request(&mut stream, "open.a.example", "").await.unwrap();
    assert_eq!(status, 421);
    let plain = client_config(&setup, Version::Tls13, None);
    let mut open = connect(&setup, plain, "open.a.example").await.unwrap();
    let hits = setup.upstream.hits();
    let (status, _) = request(&mut open, "mtls.a.example", "").await.unwrap();
    assert_eq!(
        status, 421,
        "an unassociated SNI cannot reach an associated host"
    );
    assert_eq!(setup.upstream.hits(), hits);
}
