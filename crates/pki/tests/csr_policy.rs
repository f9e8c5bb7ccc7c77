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
