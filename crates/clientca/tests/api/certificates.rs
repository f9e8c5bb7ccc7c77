//! The five operations, their fields, and the certificates they issue.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use test_support::{TestDatabase, backend_tests};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::helpers::{TestApp, fixture, openssl, p256_csr, verify_client_certificate};

backend_tests!(
    issued_certificates_match_every_reported_field,
    details_return_what_create_returned,
    csr_asking_for_ca_true_gets_a_ca_false_leaf,
    revoke_and_reactivate_follow_the_state_machine,
    the_worker_completes_transitions_in_the_background,
    certificates_are_invisible_from_other_zones,
    unknown_ids_of_every_shape_are_404,
);

/// Check one certificate JSON against the DER it carries and the CA that signed it.
fn check_fields(cert: &Value, csr: &str, validity_days: i64, ca_pem: &str) {
    let pem_text = cert["certificate"].as_str().unwrap();
    assert!(
        pem_text.starts_with("-----BEGIN CERTIFICATE-----\n")
            && pem_text.ends_with("-----END CERTIFICATE-----\n")
    );
    assert!(!pem_text.contains('\r'));
    let der = pem::parse(pem_text).unwrap().into_contents();
    let (_, x509) = X509Certificate::from_der(&der).unwrap();

    assert_eq!(cert["fingerprint_sha256"], pki::fingerprint_sha256(&der));
    // ...and independently: OpenSSL's `SHA256 Fingerprint=AB:CD:…`.
    let by_openssl = openssl(
        &[
            "x509",
            "-in",
            "leaf.pem",
            "-noout",
            "-fingerprint",
            "-sha256",
        ],
        &[("leaf.pem", pem_text)],
    );
    let by_openssl = by_openssl.trim().rsplit('=').next().unwrap();
    assert_eq!(
        cert["fingerprint_sha256"],
        by_openssl.replace(':', "").to_ascii_lowercase()
    );
    assert_eq!(cert["serial_number"], x509.serial.to_str_radix(10));
    let issued = OffsetDateTime::parse(cert["issued_on"].as_str().unwrap(), &Rfc3339).unwrap();
    let expires = OffsetDateTime::parse(cert["expires_on"].as_str().unwrap(), &Rfc3339).unwrap();
    assert!(
        cert["issued_on"].as_str().unwrap().ends_with('Z')
            && cert["issued_on"].as_str().unwrap().len() == 20
    );
    assert_eq!(issued, x509.validity().not_before.to_datetime());
    assert_eq!(expires, x509.validity().not_after.to_datetime());
    assert_eq!(expires - issued, time::Duration::days(validity_days));
    assert_eq!(cert["validity_days"], validity_days);
    assert_eq!(cert["status"], "active");
    assert_eq!(cert["csr"], csr.replace("\r\n", "\n"));
    assert_eq!(cert["signature"], "ECDSAWithSHA256");
    assert_eq!(cert["id"].as_str().unwrap().len(), 36);
    assert_eq!(
        cert["certificate_authority"]["id"].as_str().unwrap().len(),
        36
    );

    let ski = x509
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(hex::encode(id.0)),
            _ => None,
        })
        .expect("SKI present");
    assert_eq!(cert["ski"], ski);

    let subject = x509.subject();
    let first = |it: &mut dyn Iterator<Item = &x509_parser::x509::AttributeTypeAndValue<'_>>| {
        it.next()
            .map(|a| a.as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert_eq!(cert["common_name"], first(&mut subject.iter_common_name()));
    assert_eq!(
        cert["organization"],
        first(&mut subject.iter_organization())
    );
    assert_eq!(
        cert["organizational_unit"],
        first(&mut subject.iter_organizational_unit())
    );
    assert_eq!(cert["country"], first(&mut subject.iter_country()));
    assert_eq!(cert["state"], first(&mut subject.iter_state_or_province()));
    assert_eq!(cert["location"], first(&mut subject.iter_locality()));

    verify_client_certificate(ca_pem, pem_text);
}

async fn issued_certificates_match_every_reported_field(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let rsa = fixture("rsa2048.csr");
    let rsa_cert = app.create(&rsa, 365).await.assert_ok().clone();
    assert_eq!(rsa_cert["common_name"], "rsa2048.example.com");
    assert_eq!(rsa_cert["organization"], "Example Inc");
    assert_eq!(rsa_cert["organizational_unit"], "Engineering");
    assert_eq!(rsa_cert["country"], "US");
    assert_eq!(rsa_cert["state"], "California");
    assert_eq!(rsa_cert["location"], "San Francisco");
    let ca_pem = app.ca_pem().await;
    check_fields(&rsa_cert, &rsa, 365, &ca_pem);
    assert_eq!(
        rsa_cert["certificate_authority"]["name"],
        format!("Managed CA for account {}", app.account_id)
    );

    let ec = p256_csr("device-1").replace('\n', "\r\n");
    let ec_cert = app.create(&ec, 1).await.assert_ok().clone();
    assert_eq!(ec_cert["common_name"], "device-1");
    assert_eq!(ec_cert["country"], "");
    check_fields(&ec_cert, &ec, 1, &ca_pem);
    assert_ne!(ec_cert["serial_number"], rsa_cert["serial_number"]);
    assert_eq!(
        ec_cert["certificate_authority"],
        rsa_cert["certificate_authority"]
    );

    for name in ["rsa4096.csr", "p384-sha256.csr", "rsa2048-pss.csr"] {
        let csr = fixture(name);
        let cert = app.create(&csr, 10).await.assert_ok().clone();
        check_fields(&cert, &csr, 10, &ca_pem);
    }
}

async fn details_return_what_create_returned(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let created = app.issue(&p256_csr("device")).await;
    let path = format!(
        "{}/{}",
        app.certificates_path(&app.zone_id),
        created["id"].as_str().unwrap()
    );
    let details = app.call(Method::GET, &path, None).await;
    assert_eq!(details.assert_ok(), &created);
    assert_eq!(details.content_type, "application/json");
    assert!(details.body.get("result_info").is_none());
}

async fn csr_asking_for_ca_true_gets_a_ca_false_leaf(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let cert = app.issue(&fixture("rsa2048-ca-true.csr")).await;
    let text = openssl(
        &[
            "x509",
            "-in",
            "leaf.pem",
            "-noout",
            "-ext",
            "basicConstraints,keyUsage",
        ],
        &[("leaf.pem", cert["certificate"].as_str().unwrap())],
    );
    assert!(text.contains("CA:FALSE"), "{text}");
    assert!(!text.contains("Certificate Sign"), "{text}");
}

async fn revoke_and_reactivate_follow_the_state_machine(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let cert = app.issue(&p256_csr("device")).await;
    let path = format!(
        "{}/{}",
        app.certificates_path(&app.zone_id),
        cert["id"].as_str().unwrap()
    );
    let status =
        |answer: crate::helpers::Answer| answer.assert_ok()["status"].as_str().unwrap().to_string();

    assert_eq!(
        status(app.call(Method::DELETE, &path, None).await),
        "pending_revocation"
    );
    assert_eq!(
        status(app.call(Method::DELETE, &path, None).await),
        "pending_revocation",
        "idempotent"
    );
    assert_eq!(
        status(app.call(Method::PATCH, &path, Some(json!({}))).await),
        "pending_reactivation"
    );
    // Empty body without a content type (SDK 4.x) and an explicit false: unchanged.
    let empty = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        status(crate::helpers::answer(empty).await),
        "pending_reactivation"
    );
    assert_eq!(
        status(
            app.call(Method::PATCH, &path, Some(json!({"reactivate": false})))
                .await
        ),
        "pending_reactivation"
    );
    // DELETE from pending_reactivation, with a reason.
    let revoke = format!("{path}?reason=keyCompromise");
    assert_eq!(
        status(app.call(Method::DELETE, &revoke, None).await),
        "pending_revocation"
    );
    app.call(Method::DELETE, &format!("{path}?reason=bogus"), None)
        .await
        .assert_error(400, 1106);

    assert_eq!(app.publish().await, 1);
    assert_eq!(status(app.call(Method::GET, &path, None).await), "revoked");
    app.call(Method::PATCH, &path, Some(json!({"reactivate": true})))
        .await
        .assert_error(400, 1103);
    assert_eq!(
        status(app.call(Method::DELETE, &path, None).await),
        "revoked",
        "revoking again is a no-op"
    );

    // A revocation undone inside the window settles back to active.
    let other = app.issue(&p256_csr("other")).await;
    let other_path = format!(
        "{}/{}",
        app.certificates_path(&app.zone_id),
        other["id"].as_str().unwrap()
    );
    app.call(Method::DELETE, &other_path, None)
        .await
        .assert_ok();
    app.call(
        Method::PATCH,
        &other_path,
        Some(json!({"reactivate": true})),
    )
    .await
    .assert_ok();
    assert_eq!(app.publish().await, 1);
    assert_eq!(
        status(app.call(Method::GET, &other_path, None).await),
        "active"
    );
    // PATCH on an active certificate changes nothing.
    assert_eq!(
        status(app.call(Method::PATCH, &other_path, None).await),
        "active"
    );
}

async fn the_worker_completes_transitions_in_the_background(db: TestDatabase) {
    let app = TestApp::spawn_with(db, Duration::from_millis(100)).await;
    let cert = app.issue(&p256_csr("device")).await;
    let path = format!(
        "{}/{}",
        app.certificates_path(&app.zone_id),
        cert["id"].as_str().unwrap()
    );
    app.call(Method::DELETE, &path, None).await.assert_ok();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = app.call(Method::GET, &path, None).await.assert_ok()["status"].clone();
        if status == "revoked" {
            break;
        }
        assert_eq!(status, "pending_revocation");
        assert!(
            std::time::Instant::now() < deadline,
            "the worker never published the revocation"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn certificates_are_invisible_from_other_zones(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let cert = app.issue(&p256_csr("device")).await;
    let id = cert["id"].as_str().unwrap();
    let other_zone = app.new_zone(Some(&app.account_id)).await;
    let foreign = format!("{}/{id}", app.certificates_path(&other_zone));
    app.call(Method::GET, &foreign, None)
        .await
        .assert_error(404, 1102);
    app.call(Method::DELETE, &foreign, None)
        .await
        .assert_error(404, 1102);
    app.call(Method::PATCH, &foreign, Some(json!({})))
        .await
        .assert_error(404, 1102);
    let listed = app
        .call(Method::GET, &app.certificates_path(&other_zone), None)
        .await;
    assert_eq!(listed.assert_ok(), &json!([]));
    let home = format!("{}/{id}", app.certificates_path(&app.zone_id));
    assert_eq!(
        app.call(Method::GET, &home, None).await.assert_ok()["status"],
        "active"
    );
}

async fn unknown_ids_of_every_shape_are_404(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    app.issue(&p256_csr("device")).await;
    let ids = [
        "nope".to_string(),
        "00000000-0000-0000-0000-000000000000".to_string(),
        uuid::Uuid::new_v4().to_string(),
        "%27%20OR%20%271%27%3D%271".to_string(),
        "%C3%A9t%C3%A9".to_string(),
        "..%2F..%2Fetc%2Fpasswd".to_string(),
        "%00".to_string(),
        "x".repeat(2000),
    ];
    for id in &ids {
        let path = format!("{}/{id}", app.certificates_path(&app.zone_id));
        for method in [Method::GET, Method::DELETE, Method::PATCH] {
            app.call(method.clone(), &path, None)
                .await
                .assert_error(404, 1102);
        }
    }
}
