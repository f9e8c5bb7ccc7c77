//! Property tests: no input, however hostile, makes the CSR parser panic.

mod common;

use pki::VerifiedCsr;
use proptest::prelude::*;

fn valid_der() -> Vec<u8> {
    pem::parse(common::fixture("rsa2048.csr"))
        .unwrap()
        .into_contents()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = VerifiedCsr::parse_der(&bytes);
    }

    #[test]
    fn random_text_never_panics(text in ".{0,512}") {
        let _ = VerifiedCsr::parse_pem(&text);
        let _ = VerifiedCsr::parse_pem(&format!(
            "-----BEGIN CERTIFICATE REQUEST-----\n{text}\n-----END CERTIFICATE REQUEST-----"
        ));
    }

    #[test]
    fn mutated_and_truncated_csrs_never_panic(
        mutations in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let der = common::mutate(valid_der(), &mutations, cut, truncate);
        let _ = VerifiedCsr::parse_der(&der);
    }
}
