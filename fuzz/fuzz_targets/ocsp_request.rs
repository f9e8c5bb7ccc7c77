//! Any bytes as an OCSP request; whatever parses can be inspected and answered.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = pki::OcspRequest::parse(data) {
        assert!(!request.items().is_empty());
        for item in request.items() {
            let _ = item.serial();
            let _ = item.hash_algorithm();
        }
    }
});
