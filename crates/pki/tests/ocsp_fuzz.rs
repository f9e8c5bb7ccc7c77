//! Property tests: no OCSP request, however hostile, makes the parser panic, and a parse that
//! succeeds yields the items the bytes describe.

mod common;

use pki::OcspRequest;
use proptest::prelude::*;

fn valid_der() -> Vec<u8> {
    test_support::fixture_bytes("ocsp-two-serials-nonce.der")
}

#[test]
fn the_fixture_parses_with_both_items_and_the_nonce() {
    let request = OcspRequest::parse(&valid_der()).unwrap();
    assert_eq!(request.items().len(), 2);
    assert!(request.has_nonce());
    assert_eq!(
        request.items()[0].hash_algorithm(),
        "1.3.14.3.2.26",
        "SHA-1"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = OcspRequest::parse(&bytes);
    }

    #[test]
    fn mutated_and_truncated_requests_never_panic(
        mutations in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let der = common::mutate(valid_der(), &mutations, cut, truncate);
        if let Ok(request) = OcspRequest::parse(&der) {
            // Whatever survives the mutation is still a well-formed question.
            prop_assert!(!request.items().is_empty());
            for item in request.items() {
                let _ = item.serial();
                let _ = item.hash_algorithm();
            }
        }
    }

    #[test]
    fn trailing_bytes_are_refused(extra in proptest::collection::vec(any::<u8>(), 1..16)) {
        let mut der = valid_der();
        der.extend_from_slice(&extra);
        prop_assert!(OcspRequest::parse(&der).is_err());
    }
}
