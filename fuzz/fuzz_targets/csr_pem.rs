//! Any text as a PEM CSR (the API's input), bare and inside the armour the PEM parser expects.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = pki::VerifiedCsr::parse_pem(text);
    let _ = pki::VerifiedCsr::parse_pem(&format!(
        "-----BEGIN CERTIFICATE REQUEST-----\n{text}\n-----END CERTIFICATE REQUEST-----\n"
    ));
});
