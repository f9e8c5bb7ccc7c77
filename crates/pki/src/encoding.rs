//! Small encoding helpers shared by CA and leaf issuance.

use ring::digest;

/// Lowercase hex SHA-256 of a DER blob (the API's `fingerprint_sha256`).
pub fn fingerprint_sha256(der: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, der))
}

/// PEM with `\n` line endings and a trailing newline, as the API returns certificates.
pub fn to_pem(label: &str, der: &[u8]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new(label, der.to_vec()), config)
}

/// RFC 7093 method 1: the leftmost 160 bits of the SHA-256 of the subjectPublicKey bits. Linters
/// (pkilint) recognise it, unlike a hash over the whole SubjectPublicKeyInfo.
pub(crate) fn key_identifier(public_key_bits: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, public_key_bits).as_ref()[..20].to_vec()
}
