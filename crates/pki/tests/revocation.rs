//! CRLs and OCSP responses: structure, signatures, and what OpenSSL concludes from them.

mod common;

use std::path::Path;
use std::process::Command;

use common::{fixture, test_ca};
use pki::{
    CrlError, LeafRequest, OcspFailure, OcspItem, OcspRequest, OcspStatus, RevocationReason,
    RevokedEntry, SerialNumber, VerifiedCsr, extend_crl, issue_leaf, ocsp_failure, sign_crl,
    sign_ocsp_response,
};
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

fn leaf(signer: &pki::CaSigner) -> pki::IssuedLeaf {
    let csr = VerifiedCsr::parse_pem(&fixture("rsa2048.csr")).unwrap();
    issue_leaf(
        signer,
        LeafRequest {
            csr: &csr,
            serial: SerialNumber::random(),
            now: now(),
            validity_days: 30,
            publication: None,
        },
    )
    .unwrap()
}

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn crl_carries_number_aki_entries_and_verifies() {
    let (signer, ca) = test_ca();
    let revoked_at = now() - Duration::hours(1);
    let entries = vec![
        RevokedEntry {
            serial: SerialNumber::random(),
            revoked_at,
            reason: RevocationReason::KeyCompromise,
        },
        RevokedEntry {
            serial: SerialNumber::random(),
            revoked_at,
            reason: RevocationReason::Unspecified,
        },
    ];
    let der = sign_crl(&signer, 7, now(), now() + Duration::days(1), &entries).unwrap();
    let (rest, crl) = CertificateRevocationList::from_der(&der).unwrap();
    assert!(rest.is_empty());
    assert_eq!(crl.version().map(|v| v.0), Some(1), "v2 CRL");
    assert_eq!(crl.crl_number().map(|n| n.to_string()), Some("7".into()));
    let (_, ca_cert) = X509Certificate::from_der(&ca.certificate_der).unwrap();
    crl.verify_signature(ca_cert.public_key())
        .expect("signed by the CA");
    assert_eq!(crl.issuer(), ca_cert.subject());
    let aki = crl
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(aki) => {
                aki.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => None,
        });
    assert_eq!(aki.as_deref(), Some(signer.key_identifier()));

    let listed: Vec<_> = crl.iter_revoked_certificates().collect();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].raw_serial(), &entries[0].serial.to_bytes()[..]);
    assert_eq!(listed[0].revocation_date.to_datetime(), revoked_at);
    assert_eq!(listed[0].reason_code().map(|(_, r)| r.0), Some(1));
    assert!(listed[1].reason_code().is_none(), "unspecified is left out");

    assert!(sign_crl(&signer, 0, now(), now() + Duration::days(1), &[]).is_err());
    assert!(sign_crl(&signer, 1, now(), now(), &[]).is_err());
}

#[test]
fn crl_serials_are_exactly_the_entries_a_full_parse_finds() {
    let (signer, _) = test_ca();
    let reasons = [
        RevocationReason::KeyCompromise,
        RevocationReason::Unspecified,
        RevocationReason::Superseded,
    ];
    for count in [0, 1, 1000] {
        let entries: Vec<RevokedEntry> = (0..count)
            .map(|i| RevokedEntry {
                serial: SerialNumber::random(),
                revoked_at: now(),
                reason: reasons[i % reasons.len()],
            })
            .collect();
        let der = sign_crl(&signer, 3, now(), now() + Duration::days(1), &entries).unwrap();
        let walked = pki::crl_serials(&der).unwrap();
        let (_, parsed) = CertificateRevocationList::from_der(&der).unwrap();
        let full: Vec<SerialNumber> = parsed
            .iter_revoked_certificates()
            .map(|e| SerialNumber::from_be_bytes(e.raw_serial()).unwrap())
            .collect();
        assert_eq!(walked, full, "{count} entries");
        let expected: Vec<SerialNumber> = entries.iter().map(|e| e.serial).collect();
        assert_eq!(walked, expected);
        // Truncated or trailing bytes are refused, never half-read.
        assert!(pki::crl_serials(&der[..der.len() - 1]).is_err());
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(pki::crl_serials(&trailing).is_err());
    }
    assert!(pki::crl_serials(b"not a CRL").is_err());
}

fn entries(count: usize) -> Vec<RevokedEntry> {
    let dates = [
        now() - Duration::days(400),
        now(),
        time::macros::datetime!(2051-03-04 05:06:07 UTC),
    ];
    (0..count)
        .map(|i| RevokedEntry {
            serial: SerialNumber::random(),
            revoked_at: dates[i % dates.len()],
            reason: RevocationReason::ALL[i % RevocationReason::ALL.len()],
        })
        .collect()
}

/// A CRL extended with new entries is the CRL `sign_crl` makes from all of them: the same
/// TBSCertList byte for byte (every reason, dates before and after 2050, empty on either side),
/// signed by the CA, and OpenSSL verifies it.
#[test]
fn an_extended_crl_is_the_full_crl_of_the_old_and_new_entries() {
    let (signer, ca) = test_ca();
    let (_, ca_cert) = X509Certificate::from_der(&ca.certificate_der).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &ca.certificate_pem).unwrap();
    let earlier = now() - Duration::hours(3);
    for (old, new) in [(0, 0), (0, 3), (5, 0), (17, 1), (1000, 250)] {
        let (old, new) = (entries(old), entries(new));
        let previous = sign_crl(&signer, 4, earlier, earlier + Duration::days(1), &old).unwrap();
        let next_update = now() + Duration::days(1);
        let extended = extend_crl(&signer, &previous, 5, now(), next_update, &new).unwrap();
        let all: Vec<RevokedEntry> = old.iter().chain(&new).cloned().collect();
        let full = sign_crl(&signer, 5, now(), next_update, &all).unwrap();

        let (rest, parsed) = CertificateRevocationList::from_der(&extended).unwrap();
        assert!(rest.is_empty());
        let (_, expected) = CertificateRevocationList::from_der(&full).unwrap();
        let context = format!("{} + {} entries", old.len(), new.len());
        assert_eq!(
            parsed.tbs_cert_list.as_ref(),
            expected.tbs_cert_list.as_ref(),
            "{context}"
        );
        assert_eq!(parsed.signature_algorithm, expected.signature_algorithm);
        parsed
            .verify_signature(ca_cert.public_key())
            .expect("signed by the CA");
        let listed: Vec<SerialNumber> = pki::crl_serials(&extended).unwrap();
        let signed: Vec<SerialNumber> = all.iter().map(|e| e.serial).collect();
        assert_eq!(listed, signed, "{context}");

        std::fs::write(dir.path().join("crl.der"), &extended).unwrap();
        let (ok, text) = openssl(
            dir.path(),
            &[
                "crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "ca.pem", "-noout",
            ],
        );
        assert!(ok && text.contains("verify OK"), "{context}: {text}");
    }
}

/// Extending refuses what it cannot build on: a CRL that does not parse, cut short or with
/// trailing bytes, and another CA's CRL.
#[test]
fn extending_refuses_an_unreadable_crl_or_another_issuers() {
    let (signer, _) = test_ca();
    let other =
        pki::generate_managed_ca("Another CA", now(), Duration::days(30), Default::default())
            .unwrap();
    let other =
        pki::CaSigner::from_parts(&other.certificate_der, &other.private_key_pkcs8_der).unwrap();
    let window = (now(), now() + Duration::days(1));
    let previous = sign_crl(&signer, 1, window.0, window.1, &entries(3)).unwrap();
    let extend = |previous: &[u8]| extend_crl(&signer, previous, 2, window.0, window.1, &[]);
    assert!(extend(&previous).is_ok());
    assert_eq!(
        extend(&previous[..previous.len() - 1]),
        Err(CrlError::PreviousUnreadable)
    );
    let mut trailing = previous;
    trailing.push(0);
    assert_eq!(extend(&trailing), Err(CrlError::PreviousUnreadable));
    assert_eq!(extend(b"not a CRL"), Err(CrlError::PreviousUnreadable));
    let foreign = sign_crl(&other, 1, window.0, window.1, &entries(3)).unwrap();
    assert_eq!(extend(&foreign), Err(CrlError::OtherIssuer));
}

#[test]
fn openssl_rejects_a_revoked_leaf_with_the_crl_and_accepts_the_others() {
    let (signer, ca) = test_ca();
    let revoked = leaf(&signer);
    let good = leaf(&signer);
    let entries = [RevokedEntry {
        serial: revoked.serial,
        revoked_at: now(),
        reason: RevocationReason::KeyCompromise,
    }];
    let der = sign_crl(&signer, 1, now(), now() + Duration::days(1), &entries).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &ca.certificate_pem).unwrap();
    std::fs::write(dir.path().join("revoked.pem"), &revoked.pem).unwrap();
    std::fs::write(dir.path().join("good.pem"), &good.pem).unwrap();
    std::fs::write(dir.path().join("crl.pem"), pki::to_pem("X509 CRL", &der)).unwrap();
    let verify = |leaf: &str| {
        openssl(
            dir.path(),
            &[
                "verify",
                "-crl_check",
                "-purpose",
                "sslclient",
                "-CAfile",
                "ca.pem",
                "-CRLfile",
                "crl.pem",
                leaf,
            ],
        )
    };
    let (ok, text) = verify("good.pem");
    assert!(ok, "{text}");
    let (ok, text) = verify("revoked.pem");
    assert!(!ok && text.contains("certificate revoked"), "{text}");
}

#[test]
fn ocsp_answers_verify_in_openssl_with_nonce_and_status() {
    let (signer, ca) = test_ca();
    let revoked = leaf(&signer);
    let good = leaf(&signer);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &ca.certificate_pem).unwrap();
    std::fs::write(dir.path().join("revoked.pem"), &revoked.pem).unwrap();
    std::fs::write(dir.path().join("good.pem"), &good.pem).unwrap();

    for (leaf, status) in [
        ("good.pem", OcspStatus::Good),
        (
            "revoked.pem",
            OcspStatus::Revoked {
                at: now() - Duration::minutes(5),
                reason: RevocationReason::KeyCompromise,
            },
        ),
    ] {
        let (ok, text) = openssl(
            dir.path(),
            &[
                "ocsp", "-issuer", "ca.pem", "-cert", leaf, "-reqout", "req.der",
            ],
        );
        assert!(ok, "{text}");
        let request =
            OcspRequest::parse(&std::fs::read(dir.path().join("req.der")).unwrap()).unwrap();
        assert!(request.has_nonce(), "openssl sends a nonce by default");
        assert_eq!(request.items().len(), 1);
        assert!(request.items()[0].issued_by(&signer));
        let response = sign_ocsp_response(
            &signer,
            &request,
            &[status],
            now(),
            now() + Duration::hours(1),
        )
        .unwrap();
        std::fs::write(dir.path().join("resp.der"), response).unwrap();
        let (ok, text) = openssl(
            dir.path(),
            // -reqin makes OpenSSL check that the response echoes the request's nonce.
            &[
                "ocsp",
                "-reqin",
                "req.der",
                "-respin",
                "resp.der",
                "-issuer",
                "ca.pem",
                "-CAfile",
                "ca.pem",
                "-resp_text",
            ],
        );
        assert!(ok, "{text}");
        assert!(text.contains("Response verify OK"), "{text}");
        match status {
            OcspStatus::Good => assert!(text.contains("Cert Status: good"), "{text}"),
            _ => {
                assert!(text.contains("Cert Status: revoked"), "{text}");
                assert!(text.contains("Revocation Reason: keyCompromise"), "{text}");
            }
        }
        assert!(
            !text.contains("nonce"),
            "OpenSSL complained about the nonce: {text}"
        );
        // Without the echo OpenSSL notices the missing nonce.
        let bare = OcspRequest::for_items(request.items().to_vec());
        let response =
            sign_ocsp_response(&signer, &bare, &[status], now(), now() + Duration::hours(1))
                .unwrap();
        std::fs::write(dir.path().join("bare.der"), response).unwrap();
        let (ok, text) = openssl(
            dir.path(),
            &[
                "ocsp", "-reqin", "req.der", "-respin", "bare.der", "-issuer", "ca.pem", "-CAfile",
                "ca.pem",
            ],
        );
        assert!(text.contains("no nonce in response"), "{ok} {text}");
    }
}

#[test]
fn ocsp_items_match_only_their_issuer_and_our_serial_shapes() {
    let (signer, _) = test_ca();
    let (other, _) = test_ca();
    let serial = SerialNumber::random();
    let item = OcspItem::for_serial(&signer, serial).unwrap();
    assert!(item.issued_by(&signer));
    assert!(!item.issued_by(&other));
    assert_eq!(item.serial(), Some(serial));
    let request = OcspRequest::for_items(vec![item]);
    assert!(!request.has_nonce());
    let statuses = [OcspStatus::Unknown, OcspStatus::Good];
    assert!(
        sign_ocsp_response(
            &signer,
            &request,
            &statuses,
            now(),
            now() + Duration::hours(1)
        )
        .is_err()
    );
}

#[test]
fn malformed_requests_are_refused_and_failures_encode() {
    for bad in [&b""[..], b"\x30\x00", b"garbage", &[0x30, 0x82, 0xff, 0xff]] {
        assert!(OcspRequest::parse(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        ocsp_failure(OcspFailure::MalformedRequest),
        vec![0x30, 0x03, 0x0a, 0x01, 0x01]
    );
    assert_eq!(
        ocsp_failure(OcspFailure::Unauthorized),
        vec![0x30, 0x03, 0x0a, 0x01, 0x06]
    );
}

/// A DER OCSPRequest for one CertID, edited by `edit`, with `nonce` (the nonce's octets) if any.
fn request_der(edit: impl FnOnce(&mut x509_ocsp::CertId), nonce: Option<&[u8]>) -> Vec<u8> {
    use der::Encode;
    use der::asn1::{Null, OctetString};
    let mut cert_id = x509_ocsp::CertId {
        hash_algorithm: x509_cert::spki::AlgorithmIdentifierOwned {
            oid: const_oid::db::rfc5912::ID_SHA_1,
            parameters: Some(Null.into()),
        },
        issuer_name_hash: OctetString::new([7u8; 20]).unwrap(),
        issuer_key_hash: OctetString::new([8u8; 20]).unwrap(),
        serial_number: x509_cert::serial_number::SerialNumber::new(&[0x42]).unwrap(),
    };
    edit(&mut cert_id);
    let request_extensions = nonce.map(|octets| {
        vec![x509_cert::ext::Extension {
            extn_id: const_oid::db::rfc6960::ID_PKIX_OCSP_NONCE,
            critical: false,
            extn_value: OctetString::new(OctetString::new(octets).unwrap().to_der().unwrap())
                .unwrap(),
        }]
    });
    x509_ocsp::OcspRequest {
        tbs_request: x509_ocsp::TbsRequest {
            version: x509_ocsp::Version::V1,
            requestor_name: None,
            request_list: vec![x509_ocsp::Request {
                req_cert: cert_id,
                single_request_extensions: None,
            }],
            request_extensions,
        },
        optional_signature: None,
    }
    .to_der()
    .unwrap()
}

/// The answer echoes the CertID: a requester must not choose its shape (a 30 KB "hash", arbitrary
/// algorithm parameters) for the signed answer everyone else then gets from the cache.
#[test]
fn hostile_cert_ids_and_nonces_are_malformed_requests() {
    use der::asn1::OctetString;
    assert!(OcspRequest::parse(&request_der(|_| {}, None)).is_ok());
    assert!(OcspRequest::parse(&request_der(|_| {}, Some(&[1; 32]))).is_ok());
    let absent = OcspRequest::parse(&request_der(|id| id.hash_algorithm.parameters = None, None))
        .expect("absent parameters are allowed");
    let null = OcspRequest::parse(&request_der(|_| {}, None)).unwrap();
    assert_eq!(
        absent.items(),
        null.items(),
        "both forms become one canonical CertID"
    );

    let hostile: Vec<(&str, Vec<u8>)> = vec![
        (
            "parameters other than NULL",
            request_der(
                |id| {
                    id.hash_algorithm.parameters = Some(
                        der::Any::encode_from(&OctetString::new(vec![0; 30_000]).unwrap()).unwrap(),
                    );
                },
                None,
            ),
        ),
        (
            "an oversized name hash",
            request_der(
                |id| id.issuer_name_hash = OctetString::new(vec![0; 30_000]).unwrap(),
                None,
            ),
        ),
        (
            "a short key hash",
            request_der(
                |id| id.issuer_key_hash = OctetString::new([1u8; 19]).unwrap(),
                None,
            ),
        ),
        (
            "SHA-384",
            request_der(
                |id| {
                    id.hash_algorithm.oid = const_oid::db::rfc5912::ID_SHA_384;
                    id.issuer_name_hash = OctetString::new([7u8; 48]).unwrap();
                    id.issuer_key_hash = OctetString::new([8u8; 48]).unwrap();
                },
                None,
            ),
        ),
        ("an empty nonce", request_der(|_| {}, Some(&[]))),
        ("a 33-octet nonce", request_der(|_| {}, Some(&[1; 33]))),
    ];
    for (what, der) in hostile {
        assert!(OcspRequest::parse(&der).is_err(), "{what} was accepted");
    }
}
