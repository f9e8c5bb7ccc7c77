//! Every CSR the policy accepts can be signed, and the leaf parses back with the CSR's key.
//! Seed the corpus with `crates/test-support/fixtures/*.csr` (DER) for useful mutations.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use time::{Duration, OffsetDateTime};

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

fn ca() -> &'static pki::CaSigner {
    static CA: OnceLock<pki::CaSigner> = OnceLock::new();
    CA.get_or_init(|| {
        let ca = pki::generate_managed_ca("Fuzz CA", now(), Duration::days(3650)).unwrap();
        pki::CaSigner::from_parts(&ca.certificate_der, &ca.private_key_pkcs8_der).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(csr) = pki::VerifiedCsr::parse_der(data) else {
        return;
    };
    let leaf = pki::issue_leaf(
        ca(),
        pki::LeafRequest {
            csr: &csr,
            serial: pki::SerialNumber::random(),
            now: now(),
            validity_days: 30,
            publication: None,
        },
    )
    .expect("an accepted CSR is always signable");
    let (_, parsed) = x509_parser::parse_x509_certificate(&leaf.der).expect("the leaf parses");
    assert_eq!(parsed.tbs_certificate.subject_pki.raw, csr.public_key_der());
});
