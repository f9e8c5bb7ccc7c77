//! Helpers shared by the pki integration tests.
#![allow(dead_code)]

use rcgen::{CertificateParams, DnType, KeyPair, SignatureAlgorithm};
use time::{Duration, OffsetDateTime};

pub(crate) fn fixture(name: &str) -> String {
    test_support::fixture(name)
}

/// A CSR made with rcgen for the given key algorithm and common name.
pub(crate) fn rcgen_csr(alg: &'static SignatureAlgorithm, common_name: &str) -> String {
    let key = KeyPair::generate_for(alg).expect("key generation");
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params
        .serialize_request(&key)
        .expect("csr")
        .pem()
        .expect("pem")
}

pub(crate) fn test_ca() -> (pki::CaSigner, pki::NewCa) {
    let now = OffsetDateTime::now_utc();
    let ca = pki::generate_managed_ca(
        "Managed CA for account test",
        now,
        Duration::days(7305),
        Default::default(),
    )
    .expect("ca generation");
    let signer =
        pki::CaSigner::from_parts(&ca.certificate_der, &ca.private_key_pkcs8_der).expect("signer");
    (signer, ca)
}

/// `der` with a few bytes overwritten and, when `truncate`, cut short: the shape of most
/// corrupted or hostile inputs, for the parsers' property tests.
pub(crate) fn mutate(
    mut der: Vec<u8>,
    mutations: &[(proptest::sample::Index, u8)],
    cut: proptest::sample::Index,
    truncate: bool,
) -> Vec<u8> {
    for (index, value) in mutations {
        let i = index.index(der.len());
        der[i] = *value;
    }
    if truncate {
        der.truncate(cut.index(der.len()));
    }
    der
}
