//! Any bytes as a DER CSR: refused or accepted, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = pki::VerifiedCsr::parse_der(data);
});
