//! Leaf issuance: the certificate follows policy and matches every reported field.

mod common;

use std::process::Command;

use common::{fixture, rcgen_csr, test_ca};
use pki::{IssueError, LeafRequest, SerialNumber, VerifiedCsr, issue_leaf};
use time::{Duration, OffsetDateTime};
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};

fn issue(csr_pem: &str, days: u32) -> (pki::IssuedLeaf, pki::NewCa) {
    let (signer, ca) = test_ca();
    let csr = VerifiedCsr::parse_pem(csr_pem).expect("valid csr");
    let leaf = issue_leaf(
        &signer,
        LeafRequest {
            csr: &csr,
            serial: SerialNumber::random(),
            now: OffsetDateTime::now_utc(),
            validity_days: days,
            publication: None,
        },
    )
    .expect("issued");
    (leaf, ca)
}

#[test]
fn leaf_matches_reported_fields_and_policy() {
    let csr_pem = fixture("rsa2048.csr");
    let (leaf, ca) = issue(&csr_pem, 365);
    let (_, cert) = X509Certificate::from_der(&leaf.der).unwrap();
    let (_, ca_cert) = X509Certificate::from_der(&ca.certificate_der).unwrap();

    assert_eq!(cert.raw_serial(), &leaf.serial.to_bytes()[..]);
    assert_eq!(leaf.fingerprint_sha256.len(), 64);
    assert_eq!(leaf.fingerprint_sha256, pki::fingerprint_sha256(&leaf.der));
    assert_eq!(cert.validity().not_before.to_datetime(), leaf.not_before);
    assert_eq!(cert.validity().not_after.to_datetime(), leaf.not_after);
    assert_eq!(leaf.not_after - leaf.not_before, Duration::days(365));
    assert_eq!(
        cert.subject().to_string(),
        "C=US, ST=California, L=San Francisco, O=Example Inc, OU=Engineering, CN=rsa2048.example.com"
    );
    assert_eq!(cert.issuer(), ca_cert.subject());
    assert_eq!(leaf.signature_name, "ECDSAWithSHA256");
    cert.verify_signature(Some(ca_cert.public_key()))
        .expect("signed by the CA");

    let csr = VerifiedCsr::parse_pem(&csr_pem).unwrap();
    assert_eq!(cert.public_key().raw, csr.public_key_der());

    let mut ski = None;
    let mut aki = None;
    let mut ca_ski = None;
    for ext in ca_cert.extensions() {
        if let ParsedExtension::SubjectKeyIdentifier(id) = ext.parsed_extension() {
            ca_ski = Some(hex::encode(id.0));
        }
    }
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => ski = Some(hex::encode(id.0)),
            ParsedExtension::AuthorityKeyIdentifier(id) => {
                aki = id.key_identifier.as_ref().map(|k| hex::encode(k.0));
            }
            ParsedExtension::BasicConstraints(bc) => {
                assert!(!bc.ca, "leaf must be CA:FALSE");
                assert!(ext.critical);
            }
            ParsedExtension::KeyUsage(ku) => {
                assert!(ku.digital_signature() && ku.key_encipherment());
                assert!(!ku.key_cert_sign() && !ku.crl_sign());
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                assert!(eku.client_auth && !eku.server_auth && !eku.any);
            }
            other => panic!("unexpected extension {other:?}"),
        }
    }
    assert_eq!(ski.as_deref(), Some(leaf.ski.as_str()));
    assert_eq!(leaf.ski.len(), 40);
    assert_eq!(aki, ca_ski);
}

#[test]
fn csr_asking_for_ca_true_gets_a_ca_false_leaf() {
    let (leaf, _) = issue(&fixture("rsa2048-ca-true.csr"), 30);
    let (_, cert) = X509Certificate::from_der(&leaf.der).unwrap();
    let bc = cert
        .basic_constraints()
        .unwrap()
        .expect("basicConstraints present");
    assert!(!bc.value.ca);
    let ku = cert.key_usage().unwrap().expect("keyUsage present");
    assert!(!ku.value.key_cert_sign());
}

#[test]
fn p384_key_signed_with_sha256_is_certified_as_p384() {
    let csr_pem = fixture("p384-sha256.csr");
    let (leaf, _) = issue(&csr_pem, 10);
    let (_, cert) = X509Certificate::from_der(&leaf.der).unwrap();
    let csr = VerifiedCsr::parse_pem(&csr_pem).unwrap();
    assert_eq!(cert.public_key().raw, csr.public_key_der());
    let ku = cert.key_usage().unwrap().unwrap();
    assert!(ku.value.digital_signature() && !ku.value.key_encipherment());
}

#[test]
fn leaf_never_outlives_its_ca_and_needs_a_positive_validity() {
    let (signer, _) = test_ca();
    let csr = VerifiedCsr::parse_pem(&rcgen_csr(&rcgen::PKCS_ECDSA_P256_SHA256, "x")).unwrap();
    let request = |days| LeafRequest {
        csr: &csr,
        serial: SerialNumber::random(),
        now: OffsetDateTime::now_utc(),
        validity_days: days,
        publication: None,
    };
    assert!(matches!(
        issue_leaf(&signer, request(7306)),
        Err(IssueError::OutlivesCa { .. })
    ));
    // Past year 9999: refused, not a date overflow.
    assert!(matches!(
        issue_leaf(&signer, request(u32::MAX)),
        Err(IssueError::OutlivesCa { .. })
    ));
    assert_eq!(
        issue_leaf(&signer, request(0)).unwrap_err(),
        IssueError::ZeroValidity
    );
    assert!(issue_leaf(&signer, request(3650)).is_ok());
}

#[test]
fn signer_refuses_a_key_that_does_not_match_the_certificate() {
    let (_, ca) = test_ca();
    let (_, other) = test_ca();
    let err =
        pki::CaSigner::from_parts(&ca.certificate_der, &other.private_key_pkcs8_der).unwrap_err();
    assert!(matches!(err, pki::CaError::KeyMismatch));
}

#[test]
fn openssl_accepts_issued_leaves_for_client_auth() {
    let dir = tempfile::tempdir().unwrap();
    let (signer, ca) = test_ca();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, &ca.certificate_pem).unwrap();
    let csrs = [
        fixture("rsa2048.csr"),
        fixture("p384-sha256.csr"),
        rcgen_csr(&rcgen::PKCS_ECDSA_P256_SHA256, "p256-client"),
        rcgen_csr(&rcgen::PKCS_ED25519, "ed25519-client"),
    ];
    for (i, csr_pem) in csrs.iter().enumerate() {
        let csr = VerifiedCsr::parse_pem(csr_pem).unwrap();
        let leaf = issue_leaf(
            &signer,
            LeafRequest {
                csr: &csr,
                serial: SerialNumber::random(),
                now: OffsetDateTime::now_utc(),
                validity_days: 1,
                publication: None,
            },
        )
        .unwrap();
        let leaf_path = dir.path().join(format!("leaf{i}.pem"));
        std::fs::write(&leaf_path, &leaf.pem).unwrap();
        let out = Command::new("openssl")
            .args(["verify", "-x509_strict", "-purpose", "sslclient", "-CAfile"])
            .arg(&ca_path)
            .arg(&leaf_path)
            .output()
            .expect("openssl on PATH");
        assert!(
            out.status.success(),
            "openssl rejected leaf {i}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
