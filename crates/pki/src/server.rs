//! Certificates a TLS server presents (the gateway's own), for local use and tests.

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_ECDSA_P256_SHA256};
use time::{Duration, OffsetDateTime};

use crate::ca::CaError;

/// A self-signed ECDSA P-256 server certificate for `hostnames` (wildcards allowed) and its
/// PKCS#8 key, valid from `now` for a year.
pub fn self_signed_server_certificate(
    hostnames: &[String],
    now: OffsetDateTime,
) -> Result<(Vec<u8>, Vec<u8>), CaError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
        .map_err(|e| CaError::KeyGeneration(e.to_string()))?;
    let mut params =
        CertificateParams::new(hostnames.to_vec()).map_err(|e| CaError::Signing(e.to_string()))?;
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "clientca gateway (self-signed)");
    params.not_before = now - Duration::minutes(5);
    params.not_after = now + Duration::days(365);
    let certificate = params
        .self_signed(&key)
        .map_err(|e| CaError::Signing(e.to_string()))?;
    Ok((certificate.der().to_vec(), key.serialize_der()))
}
