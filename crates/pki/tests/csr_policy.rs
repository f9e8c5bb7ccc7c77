//! CSR parsing and policy: what is accepted, what is refused and why.

mod common;

use common::{fixture, rcgen_csr};
use pki::{CsrError, KeyKind, VerifiedCsr};

#[test]
fn accepts_rsa_2048_and_extracts_every_subject_field() {
    let csr = VerifiedCsr::parse_pem(&fixture("rsa2048.csr")).expect("valid csr");
    let s = csr.subject();
    assert_eq!(s.common_name, "rsa2048.example.com");
    assert_eq!(s.organization, "Example Inc");
    assert_eq!(s.organizational_unit, "Engineering");
    assert_eq!(s.country, "US");
    assert_eq!(s.state, "California");
    assert_eq!(s.location, "San Francisco");
    assert_eq!(csr.key_kind(), KeyKind::Rsa { bits: 2048 });
}

#[test]
fn accepts_each_allowed_key_type() {
    assert_eq!(
        VerifiedCsr::parse_pem(&fixture("rsa4096.csr"))
            .unwrap()
            .key_kind(),
        KeyKind::Rsa { bits: 4096 }
    );
    assert_eq!(
        VerifiedCsr::parse_pem(&fixture("rsa2048-pss.csr"))
            .unwrap()
            .key_kind(),
        KeyKind::Rsa { bits: 2048 }
    );
    assert_eq!(
        VerifiedCsr::parse_pem(&fixture("p384-sha256.csr"))
            .unwrap()
            .key_kind(),
        KeyKind::EcdsaP384
    );
    for (alg, kind) in [
        (&rcgen::PKCS_ECDSA_P256_SHA256, KeyKind::EcdsaP256),
        (&rcgen::PKCS_ECDSA_P384_SHA384, KeyKind::EcdsaP384),
        (&rcgen::PKCS_ED25519, KeyKind::Ed25519),
    ] {
        let csr = VerifiedCsr::parse_pem(&rcgen_csr(alg, "device-1")).expect("valid csr");
        assert_eq!(csr.key_kind(), kind);
        assert_eq!(csr.subject().common_name, "device-1");
        assert_eq!(csr.subject().organization, "");
    }
}

#[test]
fn accepts_crlf_line_endings_and_surrounding_whitespace() {
    let pem = fixture("rsa2048.csr").replace('\n', "\r\n");
    assert!(VerifiedCsr::parse_pem(&format!("\n  {pem}  \n")).is_ok());
}

#[test]
fn refuses_keys_outside_policy() {
    for name in ["rsa1024.csr", "p521.csr", "ed448.csr"] {
        let err = VerifiedCsr::parse_pem(&fixture(name)).unwrap_err();
        assert!(matches!(err, CsrError::KeyNotAllowed(_)), "{name}: {err:?}");
    }
}

#[test]
fn refuses_sha1_signatures() {
    let err = VerifiedCsr::parse_pem(&fixture("rsa2048-sha1.csr")).unwrap_err();
    assert_eq!(
        err,
        CsrError::WeakSignatureAlgorithm("sha1WithRSAEncryption")
    );
}

#[test]
fn refuses_subjects_without_common_name_or_with_ambiguous_rdns() {
    assert_eq!(
        VerifiedCsr::parse_pem(&fixture("rsa2048-no-cn.csr")).unwrap_err(),
        CsrError::MissingCommonName
    );
    assert_eq!(
        VerifiedCsr::parse_pem(&fixture("rsa2048-repeated-ou.csr")).unwrap_err(),
        CsrError::RepeatedSubjectAttribute("OU".into())
    );
    assert_eq!(
        VerifiedCsr::parse_pem(&fixture("rsa2048-multivalued-rdn.csr")).unwrap_err(),
        CsrError::MultiValuedRdn
    );
}

#[test]
fn refuses_a_broken_signature() {
    let pem = fixture("rsa2048.csr");
    let block = pem::parse(&pem).unwrap();
    let mut der = block.contents().to_vec();
    let last = der.len() - 1;
    der[last] ^= 0x01; // the signature BIT STRING is the last field
    assert_eq!(
        VerifiedCsr::parse_der(&der).unwrap_err(),
        CsrError::BadSignature
    );
}

#[test]
fn refuses_bad_framing() {
    let pem = fixture("rsa2048.csr");
    type Expectation = fn(&CsrError) -> bool;
    let cases: Vec<(String, Expectation)> = vec![
        (String::new(), |e| *e == CsrError::Empty),
        ("   \n".into(), |e| *e == CsrError::Empty),
        ("hello world".into(), |e| *e == CsrError::NotPem),
        (format!("{pem}{pem}"), |e| {
            *e == CsrError::WrongBlockCount(2)
        }),
        (pem[..pem.len() / 2].to_string(), |e| *e == CsrError::NotPem),
        (format!("junk before\n{pem}"), |e| {
            *e == CsrError::TextOutsidePem
        }),
        (pem.replace("CERTIFICATE REQUEST", "CERTIFICATE"), |e| {
            matches!(e, CsrError::WrongPemLabel(_))
        }),
        (
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n".into(),
            |e| matches!(e, CsrError::MalformedDer(_)),
        ),
    ];
    for (input, expected) in cases {
        let err = VerifiedCsr::parse_pem(&input).unwrap_err();
        assert!(expected(&err), "input {input:?} gave {err:?}");
    }
}

#[test]
fn refuses_truncated_der_inside_valid_pem() {
    let der = pem::parse(fixture("rsa2048.csr")).unwrap().into_contents();
    for cut in [1, 10, der.len() / 2, der.len() - 1] {
        let err = VerifiedCsr::parse_der(&der[..cut]).unwrap_err();
        assert!(
            matches!(err, CsrError::MalformedDer(_)),
            "cut {cut}: {err:?}"
        );
    }
    let mut extended = der;
    extended.extend_from_slice(&[0, 0]);
    assert_eq!(
        VerifiedCsr::parse_der(&extended).unwrap_err(),
        CsrError::TrailingBytes(2)
    );
}

#[test]
fn refuses_pss_salt_lengths_ring_cannot_verify_with_a_clear_reason() {
    let err = VerifiedCsr::parse_pem(&fixture("rsa2048-pss-maxsalt.csr")).unwrap_err();
    match err {
        CsrError::UnsupportedSignatureAlgorithm(reason) => {
            assert!(reason.contains("salt length 222"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn refuses_control_characters_in_text_and_subject() {
    let pem = fixture("rsa2048.csr");
    let with_nul = pem.replacen('\n', "\n\0", 1);
    assert_eq!(
        VerifiedCsr::parse_pem(&with_nul).unwrap_err(),
        CsrError::NotPem
    );

    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        rcgen::DnValue::Utf8String("evil\0name".into()),
    );
    let csr = params.serialize_request(&key).unwrap().pem().unwrap();
    assert_eq!(
        VerifiedCsr::parse_pem(&csr).unwrap_err(),
        CsrError::UnsupportedSubjectValue("CN".into())
    );
}

/// A P-256 CSR whose subject is exactly `subject`.
fn csr_with_subject(subject: Vec<(rcgen::DnType, rcgen::DnValue)>) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    for (attribute, value) in subject {
        params.distinguished_name.push(attribute, value);
    }
    params.serialize_request(&key).unwrap().pem().unwrap()
}

fn cn(value: &str) -> (rcgen::DnType, rcgen::DnValue) {
    (
        rcgen::DnType::CommonName,
        rcgen::DnValue::Utf8String(value.into()),
    )
}

fn custom(arcs: &[u64], value: &str) -> (rcgen::DnType, rcgen::DnValue) {
    (
        rcgen::DnType::CustomDnType(arcs.to_vec()),
        rcgen::DnValue::Utf8String(value.into()),
    )
}

#[test]
fn only_the_subject_attributes_the_api_reports_are_accepted() {
    for (attribute, label) in [
        (custom(&[2, 5, 4, 5], &"1".repeat(5000)), "2.5.4.5"), // serialNumber
        (
            custom(&[0, 9, 2342, 19200300, 100, 1, 1], "root"),
            "0.9.2342.19200300.100.1.1",
        ), // UID
        (
            custom(&[0, 9, 2342, 19200300, 100, 1, 25], "example"),
            "0.9.2342.19200300.100.1.25",
        ), // DC
        (custom(&[2, 5, 4, 12], "Director"), "2.5.4.12"),      // title
        (
            custom(&[1, 2, 840, 113549, 1, 9, 1], "a@example.com"),
            "emailAddress",
        ),
        (
            custom(&[1, 3, 6, 1, 4, 1, 99999, 1], &"x".repeat(30_000)),
            "1.3.6.1.4.1.99999.1",
        ),
    ] {
        let pem = csr_with_subject(vec![cn("device"), attribute]);
        let error = VerifiedCsr::parse_pem(&pem).unwrap_err();
        assert!(
            matches!(&error, CsrError::SubjectAttributeNotAllowed(l) if l == label)
                || matches!(error, CsrError::SubjectTooLarge(_)),
            "{label}: {error:?}"
        );
    }
}

#[test]
fn invisible_and_direction_changing_characters_are_refused() {
    for value in [
        "exe.\u{202E}gnp",
        "ad\u{200B}min",
        "\u{FEFF}device",
        "a\u{2066}b",
    ] {
        assert_eq!(
            VerifiedCsr::parse_pem(&csr_with_subject(vec![cn(value)])).unwrap_err(),
            CsrError::ConfusableSubjectValue("CN".into()),
            "{value:?}"
        );
    }
    // Ordinary non-ASCII text is fine.
    assert!(VerifiedCsr::parse_pem(&csr_with_subject(vec![cn("Gerät-Ölfeld-東京")])).is_ok());
}

#[test]
fn the_country_is_issued_as_a_printable_string_whatever_the_csr_used() {
    let (signer, _) = common::test_ca();
    let pem = csr_with_subject(vec![
        cn("device"),
        (
            rcgen::DnType::CountryName,
            rcgen::DnValue::Utf8String("DE".into()),
        ),
    ]);
    let csr = VerifiedCsr::parse_pem(&pem).unwrap();
    let leaf = pki::issue_leaf(
        &signer,
        pki::LeafRequest {
            csr: &csr,
            serial: pki::SerialNumber::random(),
            now: time::OffsetDateTime::now_utc(),
            validity_days: 1,
            publication: None,
        },
    )
    .unwrap();
    let der = pem::parse(&leaf.pem).unwrap().into_contents();
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let country = cert.subject().iter_country().next().unwrap();
    assert_eq!(
        country.attr_value().tag(),
        x509_parser::der_parser::asn1_rs::Tag::PrintableString
    );
}

#[test]
fn the_stored_csr_is_canonical_pem_without_added_text() {
    let fixture = fixture("rsa2048.csr");
    let body = fixture
        .trim()
        .trim_start_matches("-----BEGIN CERTIFICATE REQUEST-----");
    let with_header =
        format!("-----BEGIN CERTIFICATE REQUEST-----\nX-Note: <script>alert(1)</script>\n\n{body}");
    let csr = VerifiedCsr::parse_pem(&with_header).expect("headers are tolerated on input");
    let canonical = csr.pem();
    assert!(!canonical.contains("X-Note") && !canonical.contains("script"));
    assert_eq!(
        pem::parse(&canonical).unwrap().contents(),
        pem::parse(&fixture).unwrap().contents()
    );
}

/// `pem` with its request info edited and re-signed by `sign` (so the signature stays valid).
fn resign(
    pem: &str,
    edit: impl FnOnce(&mut x509_cert::request::CertReqInfo),
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
) -> String {
    use der::{Decode, Encode};
    let der = pem::parse(pem).unwrap().into_contents();
    let mut request = x509_cert::request::CertReq::from_der(&der).unwrap();
    edit(&mut request.info);
    let signed = request.info.to_der().unwrap();
    request.signature = der::asn1::BitString::from_bytes(&sign(&signed)).unwrap();
    pki::to_pem("CERTIFICATE REQUEST", &request.to_der().unwrap())
}

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let output = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn key_algorithm_parameters_follow_their_rfcs() {
    // Ed25519 with NULL parameters (RFC 8410: absent), validly signed: refused, not a 500 later.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let pair =
        ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&key.serialize_der()).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "ed");
    let pem = params.serialize_request(&key).unwrap().pem().unwrap();
    let with_null = resign(
        &pem,
        |info| info.public_key.algorithm.parameters = Some(der::asn1::Null.into()),
        |data| pair.sign(data).as_ref().to_vec(),
    );
    assert!(
        matches!(
            VerifiedCsr::parse_pem(&with_null),
            Err(CsrError::KeyNotAllowed(_))
        ),
        "{:?}",
        VerifiedCsr::parse_pem(&with_null)
    );

    // RSA without its NULL parameters (RFC 3279: present, NULL), validly signed: refused.
    let dir = tempfile::tempdir().unwrap();
    openssl(
        dir.path(),
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "key.pem",
        ],
    );
    openssl(
        dir.path(),
        &[
            "req", "-new", "-key", "key.pem", "-subj", "/CN=rsa", "-out", "req.pem",
        ],
    );
    let pem = std::fs::read_to_string(dir.path().join("req.pem")).unwrap();
    assert!(VerifiedCsr::parse_pem(&pem).is_ok());
    let without_null = resign(
        &pem,
        |info| info.public_key.algorithm.parameters = None,
        |data| {
            std::fs::write(dir.path().join("tbs"), data).unwrap();
            openssl(
                dir.path(),
                &["dgst", "-sha256", "-sign", "key.pem", "-out", "sig", "tbs"],
            );
            std::fs::read(dir.path().join("sig")).unwrap()
        },
    );
    assert!(matches!(
        VerifiedCsr::parse_pem(&without_null),
        Err(CsrError::KeyNotAllowed(_))
    ));

    // RSA with a public exponent of 3: refused.
    openssl(
        dir.path(),
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-pkeyopt",
            "rsa_keygen_pubexp:3",
            "-out",
            "e3.pem",
        ],
    );
    openssl(
        dir.path(),
        &[
            "req",
            "-new",
            "-key",
            "e3.pem",
            "-subj",
            "/CN=e3",
            "-out",
            "e3req.pem",
        ],
    );
    let small_exponent = std::fs::read_to_string(dir.path().join("e3req.pem")).unwrap();
    assert!(
        matches!(
            VerifiedCsr::parse_pem(&small_exponent),
            Err(CsrError::KeyNotAllowed(ref reason)) if reason.contains("exponent")
        ),
        "{:?}",
        VerifiedCsr::parse_pem(&small_exponent)
    );
}

#[test]
fn ber_is_refused_so_strict_parsers_can_read_what_is_stored() {
    let der = pem::parse(fixture("rsa2048.csr")).unwrap().into_contents();
    // The outer SEQUENCE's length in a needlessly long form (BER allows it, DER does not).
    assert_eq!(der[1], 0x82, "a two-byte long-form length");
    let mut ber = vec![0x30, 0x83, 0x00];
    ber.extend_from_slice(&der[2..]);
    let error = VerifiedCsr::parse_der(&ber).unwrap_err();
    assert!(
        matches!(error, CsrError::NotCanonicalDer | CsrError::MalformedDer(_)),
        "{error:?}"
    );
    assert!(VerifiedCsr::parse_der(&der).is_ok());
}
