//! Revocation that takes effect: CRL and OCSP over HTTP, checked by OpenSSL and pkilint.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use authority::{Actor, ActorKind, CaKeyAlgorithm, NewCa, Publication};
use reqwest::Method;
use serde_json::Value;
use test_support::{TestDatabase, backend_tests};
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use crate::helpers::{TestApp, fixture, openssl, p256_csr, venv_tool};

backend_tests!(
    revocation_reaches_crl_and_ocsp_only_once_published,
    a_reactivation_inside_the_window_never_reaches_a_crl,
    public_endpoints_need_no_token_and_answer_bad_input_in_kind,
    ocsp_echoes_nonces_and_reuses_signed_answers,
    leaves_point_at_the_public_endpoints_when_configured,
    pkilint_finds_nothing_to_report,
    pkilint_finds_nothing_to_report_for_other_key_types_and_imported_cas,
    a_reason_changes_while_unpublished_and_is_final_once_published,
);

pub(crate) async fn get_bytes(app: &TestApp, path: &str) -> (u16, String, Vec<u8>) {
    let response = app.client.get(app.public_url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (
        status,
        content_type,
        response.bytes().await.unwrap().to_vec(),
    )
}

/// Serial numbers (decimal) listed by a DER CRL, and its CRL number.
fn crl_contents(der: &[u8]) -> (u64, Vec<String>) {
    let (_, crl) = CertificateRevocationList::from_der(der).expect("a DER CRL");
    let number = crl
        .crl_number()
        .map(|n| n.to_string().parse().unwrap())
        .expect("CRL number");
    let serials = crl
        .iter_revoked_certificates()
        .map(|r| r.serial().to_str_radix(10))
        .collect();
    (number, serials)
}

async fn latest_crl(app: &TestApp, ca_id: &str) -> (u64, Vec<String>) {
    let (status, content_type, der) = get_bytes(app, &format!("/ca/{ca_id}/crl")).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/pkix-crl")
    );
    crl_contents(&der)
}

fn item_path(app: &TestApp, cert: &Value) -> String {
    format!(
        "{}/{}",
        app.certificates_path(&app.zone_id),
        cert["id"].as_str().unwrap()
    )
}

/// `openssl ocsp` against the server's responder, as a relying party would run it.
pub(crate) async fn openssl_ocsp(
    app: &TestApp,
    ca_pem: &str,
    leaf_pem: &str,
    ca_id: &str,
) -> String {
    let url = app.public_url(&format!("/ca/{ca_id}/ocsp"));
    let (ca_pem, leaf_pem) = (ca_pem.to_string(), leaf_pem.to_string());
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca_pem).unwrap();
        std::fs::write(dir.path().join("leaf.pem"), leaf_pem).unwrap();
        let out = Command::new("openssl")
            .args([
                "ocsp", "-issuer", "ca.pem", "-cert", "leaf.pem", "-CAfile", "ca.pem", "-url", &url,
            ])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{text}");
        text
    })
    .await
    .unwrap()
}

async fn revocation_reaches_crl_and_ocsp_only_once_published(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let revoked = app.issue(&fixture("rsa2048.csr")).await;
    let kept = app.issue(&p256_csr("kept")).await;
    let ca_id = app.ca_id().await;
    let ca_pem = app.ca_pem().await;
    let (first_number, listed) = latest_crl(&app, &ca_id).await;
    assert!(listed.is_empty(), "a new CA publishes an empty CRL");

    let answer = app
        .call(
            Method::DELETE,
            &format!("{}?reason=keyCompromise", item_path(&app, &revoked)),
            None,
        )
        .await;
    assert_eq!(answer.assert_ok()["status"], "pending_revocation");
    // Pending means "being published": not yet on the CRL, OCSP still says good.
    assert!(latest_crl(&app, &ca_id).await.1.is_empty());
    let leaf = revoked["certificate"].as_str().unwrap();
    let text = openssl_ocsp(&app, &ca_pem, leaf, &ca_id).await;
    assert!(text.contains("leaf.pem: good"), "{text}");

    assert_eq!(app.publish().await, 1);
    assert_eq!(
        app.call(Method::GET, &item_path(&app, &revoked), None)
            .await
            .assert_ok()["status"],
        "revoked"
    );
    let (number, listed) = latest_crl(&app, &ca_id).await;
    assert!(
        number > first_number,
        "CRL numbers increase: {first_number} → {number}"
    );
    assert_eq!(listed, [revoked["serial_number"].as_str().unwrap()]);

    let text = openssl_ocsp(&app, &ca_pem, leaf, &ca_id).await;
    assert!(text.contains("Response verify OK"), "{text}");
    assert!(text.contains("leaf.pem: revoked"), "{text}");
    assert!(text.contains("Reason: keyCompromise"), "{text}");
    let text = openssl_ocsp(&app, &ca_pem, kept["certificate"].as_str().unwrap(), &ca_id).await;
    assert!(text.contains("leaf.pem: good"), "{text}");

    let (_, _, crl_pem) = get_bytes(&app, &format!("/ca/{ca_id}/crl.pem")).await;
    let crl_pem = String::from_utf8(crl_pem).unwrap();
    assert!(crl_pem.starts_with("-----BEGIN X509 CRL-----"));
    let verify = |leaf: &str| {
        let files = [
            ("ca.pem", ca_pem.as_str()),
            ("crl.pem", crl_pem.as_str()),
            ("leaf.pem", leaf),
        ];
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in files {
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        Command::new("openssl")
            .args([
                "verify",
                "-crl_check",
                "-purpose",
                "sslclient",
                "-CAfile",
                "ca.pem",
                "-CRLfile",
                "crl.pem",
                "leaf.pem",
            ])
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let refused = verify(leaf);
    assert!(
        !refused.status.success(),
        "openssl accepted a revoked certificate"
    );
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("certificate revoked")
            || String::from_utf8_lossy(&refused.stdout).contains("certificate revoked")
    );
    assert!(
        verify(kept["certificate"].as_str().unwrap())
            .status
            .success()
    );
}

async fn a_reactivation_inside_the_window_never_reaches_a_crl(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let cert = app.issue(&p256_csr("undone")).await;
    let other = app.issue(&p256_csr("revoked")).await;
    let ca_id = app.ca_id().await;
    app.call(Method::DELETE, &item_path(&app, &cert), None)
        .await
        .assert_ok();
    app.call(Method::DELETE, &item_path(&app, &other), None)
        .await
        .assert_ok();
    app.call(Method::PATCH, &item_path(&app, &cert), None)
        .await
        .assert_ok();
    assert_eq!(app.publish().await, 2);
    assert_eq!(
        app.call(Method::GET, &item_path(&app, &cert), None)
            .await
            .assert_ok()["status"],
        "active"
    );
    // Every CRL ever kept for this CA omits the reactivated serial.
    let (rows, _) = app
        .store
        .export_rows(store::Table::Crls, "", 100)
        .await
        .unwrap();
    let store::Rows::Crls(crls) = rows else {
        panic!("CRL rows")
    };
    assert!(crls.len() >= 2);
    let serial = cert["serial_number"].as_str().unwrap().to_string();
    for crl in crls.iter().filter(|c| c.ca_id.as_str() == ca_id) {
        let (number, listed) = crl_contents(&crl.der);
        assert!(
            !listed.contains(&serial),
            "CRL {number} lists a certificate that was never revoked"
        );
    }
    assert_eq!(
        latest_crl(&app, &ca_id).await.1,
        [other["serial_number"].as_str().unwrap()]
    );
}

async fn public_endpoints_need_no_token_and_answer_bad_input_in_kind(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    app.issue(&p256_csr("device")).await;
    let ca_id = app.ca_id().await;
    let (status, content_type, pem) = get_bytes(&app, &format!("/ca/{ca_id}.pem")).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/x-pem-file")
    );
    assert_eq!(String::from_utf8(pem).unwrap(), app.ca_pem().await);
    let (status, content_type, der) = get_bytes(&app, &format!("/ca/{ca_id}.crt")).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/pkix-cert")
    );
    assert_eq!(pki::to_pem("CERTIFICATE", &der), app.ca_pem().await);
    let crl = app
        .client
        .get(app.public_url(&format!("/ca/{ca_id}/crl")))
        .send()
        .await
        .unwrap();
    let cache = crl
        .headers()
        .get("cache-control")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    // Cacheable, but revalidated on every use: a CRL cached for its day of validity would hide
    // a revocation for that long.
    assert_eq!(cache, "public, no-cache, no-transform");
    let etag = crl.headers()["etag"].to_str().unwrap().to_string();
    let revalidate = |tag: String, path: String| {
        let app = &app;
        async move {
            app.client
                .get(app.public_url(&path))
                .header("if-none-match", tag)
                .send()
                .await
                .unwrap()
        }
    };
    let unchanged = revalidate(etag.clone(), format!("/ca/{ca_id}/crl")).await;
    assert_eq!(unchanged.status(), 304);
    assert!(unchanged.bytes().await.unwrap().is_empty());
    let stale = revalidate("\"crl-0\"".into(), format!("/ca/{ca_id}/crl")).await;
    assert_eq!(stale.status(), 200);
    let pem = revalidate(etag, format!("/ca/{ca_id}/crl.pem")).await;
    assert_eq!(pem.status(), 200, "the PEM has an ETag of its own");

    for path in [
        format!("/ca/{}.pem", uuid::Uuid::new_v4()),
        "/ca/not-a-ca.pem".to_string(),
        format!("/ca/{ca_id}.txt"),
        format!("/ca/{}/crl", uuid::Uuid::new_v4()),
        "/ca/%00/crl".to_string(),
    ] {
        let (status, content_type, _) = get_bytes(&app, &path).await;
        assert_eq!(
            (status, content_type.as_str()),
            (404, "application/json"),
            "{path}"
        );
    }

    let malformed = [0x30, 0x03, 0x0a, 0x01, 0x01];
    let unauthorized = [0x30, 0x03, 0x0a, 0x01, 0x06];
    let ocsp = format!("/ca/{ca_id}/ocsp");
    for body in [
        &b""[..],
        b"garbage",
        &[0x30, 0x80, 0x00, 0x00],
        &[0xff; 5000],
    ] {
        let response = app
            .client
            .post(app.public_url(&ocsp))
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "application/ocsp-response"
        );
        assert_eq!(response.bytes().await.unwrap().as_ref(), malformed);
    }
    for encoded in ["not base64!", "AAAA", "%2F%2F%2F"] {
        let (status, _, body) = get_bytes(&app, &format!("{ocsp}/{encoded}")).await;
        assert_eq!(
            (status, body.as_slice()),
            (200, &malformed[..]),
            "{encoded}"
        );
    }
    // A well-formed request for an unknown CA: unauthorized, in OCSP.
    let (_, _, request) = ocsp_request_for(&app, &app.issue(&p256_csr("x")).await, false).await;
    let foreign = format!("/ca/{}/ocsp", uuid::Uuid::new_v4());
    let response = app
        .client
        .post(app.public_url(&foreign))
        .body(request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.bytes().await.unwrap().as_ref(), unauthorized);
}

/// An OCSP request for `cert` made by OpenSSL (with or without a nonce), base64url too.
async fn ocsp_request_for(app: &TestApp, cert: &Value, nonce: bool) -> (String, String, Vec<u8>) {
    let ca_pem = app.ca_pem().await;
    let leaf = cert["certificate"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &ca_pem).unwrap();
    std::fs::write(dir.path().join("leaf.pem"), &leaf).unwrap();
    let nonce_flag = if nonce { "-nonce" } else { "-no_nonce" };
    let out = Command::new("openssl")
        .args([
            "ocsp", "-issuer", "ca.pem", "-cert", "leaf.pem", nonce_flag, "-reqout", "req.der",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let der = std::fs::read(dir.path().join("req.der")).unwrap();
    use base64::Engine;
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&der);
    (ca_pem, encoded, der)
}

async fn ocsp_echoes_nonces_and_reuses_signed_answers(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let cert = app.issue(&p256_csr("device")).await;
    let ca_id = app.ca_id().await;
    let (_, encoded, der) = ocsp_request_for(&app, &cert, false).await;
    let get = format!("/ca/{ca_id}/ocsp/{encoded}");
    let (status, content_type, first) = get_bytes(&app, &get).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/ocsp-response")
    );
    let (_, _, second) = get_bytes(&app, &get).await;
    assert_eq!(first, second, "a hot serial is not re-signed");
    let post = app
        .client
        .post(app.public_url(&format!("/ca/{ca_id}/ocsp")))
        .body(der)
        .send()
        .await
        .unwrap();
    assert_eq!(post.bytes().await.unwrap().as_ref(), first.as_slice());
    let cached = app.client.get(app.public_url(&get)).send().await.unwrap();
    assert!(
        cached.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public, max-age=")
    );

    let (_, encoded, _) = ocsp_request_for(&app, &cert, true).await;
    let with_nonce = format!("/ca/{ca_id}/ocsp/{encoded}");
    let fresh = app
        .client
        .get(app.public_url(&with_nonce))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.headers()["cache-control"], "no-store");
    let a = fresh.bytes().await.unwrap();
    let (_, _, b) = get_bytes(&app, &with_nonce).await;
    assert_ne!(
        a.as_ref(),
        b.as_slice(),
        "answers with nonces are signed per request"
    );

    // After revocation the cached "good" is not served again.
    app.call(Method::DELETE, &item_path(&app, &cert), None)
        .await
        .assert_ok();
    app.publish().await;
    let (_, _, after) = get_bytes(&app, &get).await;
    assert_ne!(after, first);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("resp.der"), &after).unwrap();
    let out = Command::new("openssl")
        .args(["ocsp", "-respin", "resp.der", "-resp_text", "-noverify"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Cert Status: revoked"));
}

async fn leaves_point_at_the_public_endpoints_when_configured(db: TestDatabase) {
    let publication = Publication {
        public_url: Some("https://ca.example.test".into()),
        ..Publication::default()
    };
    let app = TestApp::spawn_with_publication(db, Duration::from_secs(3600), publication).await;
    let cert = app.issue(&p256_csr("device")).await;
    let ca_id = app.ca_id().await;
    let text = openssl(
        &[
            "x509",
            "-in",
            "leaf.pem",
            "-noout",
            "-ext",
            "crlDistributionPoints,authorityInfoAccess",
        ],
        &[("leaf.pem", cert["certificate"].as_str().unwrap())],
    );
    assert!(
        text.contains(&format!("URI:https://ca.example.test/ca/{ca_id}/crl")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "OCSP - URI:https://ca.example.test/ca/{ca_id}/ocsp"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "CA Issuers - URI:https://ca.example.test/ca/{ca_id}.crt"
        )),
        "{text}"
    );
}

fn lint(tool: &PathBuf, extra: &[&str], what: &str, content: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("document");
    std::fs::write(&file, content).unwrap();
    let out = Command::new(tool)
        .args(["lint", "-s", "WARNING"])
        .args(extra)
        .arg(&file)
        .output()
        .expect("pkilint runs");
    let findings = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && findings.trim().is_empty(),
        "pkilint reports on the {what}:\n{findings}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn pkilint_finds_nothing_to_report(db: TestDatabase) {
    let (Some(cert_lint), Some(crl_lint), Some(ocsp_lint)) = (
        venv_tool("lint_pkix_cert"),
        venv_tool("lint_crl"),
        venv_tool("lint_ocsp_response"),
    ) else {
        return;
    };
    let publication = Publication {
        public_url: Some("https://ca.example.test".into()),
        ..Publication::default()
    };
    let app = TestApp::spawn_with_publication(db, Duration::from_secs(3600), publication).await;
    let rsa = app.issue(&fixture("rsa2048.csr")).await;
    let ec = app.issue(&p256_csr("device")).await;
    let ca_id = app.ca_id().await;
    app.call(
        Method::DELETE,
        &format!("{}?reason=keyCompromise", item_path(&app, &rsa)),
        None,
    )
    .await
    .assert_ok();
    app.publish().await;

    lint(
        &cert_lint,
        &[],
        "CA certificate",
        app.ca_pem().await.as_bytes(),
    );
    lint(
        &cert_lint,
        &[],
        "RSA leaf",
        rsa["certificate"].as_str().unwrap().as_bytes(),
    );
    lint(
        &cert_lint,
        &[],
        "ECDSA leaf",
        ec["certificate"].as_str().unwrap().as_bytes(),
    );
    let (_, _, crl) = get_bytes(&app, &format!("/ca/{ca_id}/crl")).await;
    assert_eq!(crl_contents(&crl).1.len(), 1);
    lint(&crl_lint, &["-t", "CRL", "-p", "PKIX"], "CRL", &crl);
    for (cert, nonce) in [(&rsa, false), (&ec, true)] {
        let (_, encoded, _) = ocsp_request_for(&app, cert, nonce).await;
        let (_, _, response) = get_bytes(&app, &format!("/ca/{ca_id}/ocsp/{encoded}")).await;
        lint(&ocsp_lint, &[], "OCSP response", &response);
    }
}

/// The same for P-384 and Ed25519 CAs and a CA imported under a user's root: their leaves,
/// CRLs and OCSP answers (and the generated CAs themselves) are clean too.
async fn pkilint_finds_nothing_to_report_for_other_key_types_and_imported_cas(db: TestDatabase) {
    let (Some(cert_lint), Some(crl_lint), Some(ocsp_lint)) = (
        venv_tool("lint_pkix_cert"),
        venv_tool("lint_crl"),
        venv_tool("lint_ocsp_response"),
    ) else {
        return;
    };
    let publication = Publication {
        public_url: Some("https://ca.example.test".into()),
        ..Publication::default()
    };
    let app = TestApp::spawn_with_publication(db, Duration::from_secs(3600), publication).await;
    let root = test_support::ForeignCa::root("Example Corp Root");
    let intermediate = root.intermediate("Example Corp Devices CA");
    let sources = [
        ("P-384", NewCa::Generate(CaKeyAlgorithm::P384)),
        ("Ed25519", NewCa::Generate(CaKeyAlgorithm::Ed25519)),
        (
            "imported",
            NewCa::Import {
                certificate_pem: intermediate.pem.clone(),
                private_key_pem: intermediate.key_pem.clone(),
                chain_pem: Some(root.pem.clone()),
            },
        ),
    ];
    for (what, source) in sources {
        let generated = matches!(source, NewCa::Generate(_));
        let (ca, _) = app
            .server
            .authority
            .rotate_ca(&app.account_id, source, Actor::new(ActorKind::Cli))
            .await
            .unwrap();
        let rsa = app.issue(&fixture("rsa2048.csr")).await;
        let ec = app.issue(&p256_csr("device")).await;
        app.call(Method::DELETE, &item_path(&app, &rsa), None)
            .await
            .assert_ok();
        app.publish().await;
        if generated {
            lint(&cert_lint, &[], what, ca.certificate_pem.as_bytes());
        }
        for leaf in [&rsa, &ec] {
            lint(
                &cert_lint,
                &[],
                &format!("{what} leaf"),
                leaf["certificate"].as_str().unwrap().as_bytes(),
            );
        }
        let (_, _, crl) = get_bytes(&app, &format!("/ca/{}/crl", ca.id)).await;
        assert_eq!(crl_contents(&crl).1.len(), 1, "{what}");
        lint(
            &crl_lint,
            &["-t", "CRL", "-p", "PKIX"],
            &format!("{what} CRL"),
            &crl,
        );
        let (_, encoded, _) = ocsp_request_for(&app, &ec, true).await;
        let (_, _, response) = get_bytes(&app, &format!("/ca/{}/ocsp/{encoded}", ca.id)).await;
        lint(&ocsp_lint, &[], &format!("{what} OCSP response"), &response);
    }
}

/// The reason code each entry of the CA's newest CRL carries (absent: unspecified, per RFC 5280).
async fn crl_reasons(app: &TestApp, ca_id: &str) -> Vec<(String, Option<u8>)> {
    let (_, _, der) = get_bytes(app, &format!("/ca/{ca_id}/crl")).await;
    let (_, crl) = CertificateRevocationList::from_der(&der).unwrap();
    crl.iter_revoked_certificates()
        .map(|entry| {
            let reason = entry.reason_code().map(|(_, code)| code.0);
            (entry.serial().to_str_radix(10), reason)
        })
        .collect()
}

/// A second DELETE with another reason is never a 200 that ignores it: while the revocation is
/// unpublished the reason is replaced (and audited), once published it is refused.
async fn a_reason_changes_while_unpublished_and_is_final_once_published(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let cert = app.issue(&p256_csr("device")).await;
    let item = item_path(&app, &cert);
    let with_reason = |reason: &str| format!("{item}?reason={reason}");
    app.call(Method::DELETE, &item, None).await.assert_ok();
    // Unpublished: the new reason replaces the old one.
    let changed = app
        .call(Method::DELETE, &with_reason("keyCompromise"), None)
        .await;
    assert_eq!(changed.assert_ok()["status"], "pending_revocation");
    // Without a reason, or with the same one, a repeat changes nothing (the SDKs' retries).
    app.call(Method::DELETE, &item, None).await.assert_ok();
    app.call(Method::DELETE, &with_reason("keycompromise"), None)
        .await
        .assert_ok();
    assert_eq!(app.publish().await, 1);
    let ca_id = app.ca_id().await;
    let serial = cert["serial_number"].as_str().unwrap().to_string();
    assert_eq!(
        crl_reasons(&app, &ca_id).await,
        [(serial.clone(), Some(1))],
        "published as keyCompromise (1)"
    );

    // Published: final. Another reason is refused; none, or the same, is still a 200.
    app.call(Method::DELETE, &with_reason("superseded"), None)
        .await
        .assert_error(400, 1106);
    app.call(Method::DELETE, &item, None).await.assert_ok();
    let same = app
        .call(Method::DELETE, &with_reason("keyCompromise"), None)
        .await;
    assert_eq!(same.assert_ok()["status"], "revoked");
    assert_eq!(crl_reasons(&app, &ca_id).await, [(serial, Some(1))]);

    // CA-only reasons are not for client certificates; nothing is written.
    let other = app.issue(&p256_csr("other")).await;
    for reason in ["cACompromise", "aACompromise"] {
        app.call(Method::DELETE, &with_reason_for(&app, &other, reason), None)
            .await
            .assert_error(400, 1106);
    }
    assert_eq!(
        app.call(Method::GET, &item_path(&app, &other), None)
            .await
            .assert_ok()["status"],
        "active"
    );

    let audit = app
        .call(
            Method::GET,
            &format!("/accounts/{}/audit_logs?per_page=100", app.account_id),
            None,
        )
        .await;
    let changes: Vec<&Value> = audit
        .assert_ok()
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["action"] == "certificate.revocation_reason_changed")
        .collect();
    assert_eq!(changes.len(), 1, "one change, audited once");
    assert_eq!(changes[0]["details"], "reason=unspecified->keyCompromise");
}

fn with_reason_for(app: &TestApp, cert: &Value, reason: &str) -> String {
    format!("{}?reason={reason}", item_path(app, cert))
}
