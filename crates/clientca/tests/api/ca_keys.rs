//! Managed CAs with each key type (`serve --ca-key`, `account create --ca-key`): what they issue,
//! their CRLs and their OCSP answers are accepted by OpenSSL like the default P-256 CA's.

use authority::CaKeyAlgorithm;
use reqwest::Method;
use test_support::{TestDatabase, backend_tests};

use crate::helpers::{TestApp, fixture, openssl, p256_csr, verify_client_certificate};
use crate::revocation::{get_bytes, openssl_ocsp};

backend_tests!(every_ca_key_type_issues_publishes_and_answers_ocsp);

async fn every_ca_key_type_issues_publishes_and_answers_ocsp(db: TestDatabase) {
    // A server per key type, each on its own database: the backend's (`db`) for P-384, fresh
    // SQLite ones for the others (the key type never reaches SQL; the store keeps sealed bytes).
    let mut databases = [db, TestDatabase::sqlite(), TestDatabase::sqlite()].into_iter();
    for (algorithm, signature) in [
        (CaKeyAlgorithm::P384, "ECDSAWithSHA384"),
        (CaKeyAlgorithm::Ed25519, "Ed25519"),
        (CaKeyAlgorithm::P256, "ECDSAWithSHA256"),
    ] {
        let db = databases.next().expect("a database per key type");
        let app = TestApp::spawn_configured(db, |options| options.policy.ca_key = algorithm).await;
        let revoked = app.issue(&fixture("rsa2048.csr")).await;
        let kept = app.issue(&p256_csr("kept")).await;
        assert_eq!(kept["signature"], signature, "{algorithm}");
        let ca_pem = app.ca_pem().await;
        let ca_id = app.ca_id().await;
        for leaf in [&revoked, &kept] {
            verify_client_certificate(&ca_pem, leaf["certificate"].as_str().unwrap());
        }
        let item = format!(
            "/zones/{}/client_certificates/{}",
            app.zone_id,
            revoked["id"].as_str().unwrap()
        );
        app.call(Method::DELETE, &item, None).await.assert_ok();
        assert_eq!(app.publish().await, 1, "{algorithm}");

        let (_, _, crl_pem) = get_bytes(&app, &format!("/ca/{ca_id}/crl.pem")).await;
        let crl_pem = String::from_utf8(crl_pem).unwrap();
        let crl = openssl(
            &[
                "crl", "-in", "crl.pem", "-CAfile", "ca.pem", "-noout", "-text",
            ],
            &[("crl.pem", &crl_pem), ("ca.pem", &ca_pem)],
        );
        let serial = revoked["serial_number"].as_str().unwrap();
        let serial_hex = format!("{:X}", serial.parse::<u128>().unwrap());
        assert!(crl.contains(&serial_hex), "{algorithm}: {crl}");
        let text = openssl_ocsp(
            &app,
            &ca_pem,
            revoked["certificate"].as_str().unwrap(),
            &ca_id,
        )
        .await;
        assert!(text.contains("leaf.pem: revoked"), "{algorithm}: {text}");
        assert!(text.contains("Response verify OK"), "{algorithm}: {text}");
        let text = openssl_ocsp(&app, &ca_pem, kept["certificate"].as_str().unwrap(), &ca_id).await;
        assert!(text.contains("leaf.pem: good"), "{algorithm}: {text}");
    }
}
