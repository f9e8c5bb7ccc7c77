//! Certificate revocation lists (RFC 5280 §5, v2): CRL number, AKI, one entry per revoked serial.

use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevokedCertParams};
use time::OffsetDateTime;

use crate::ca::CaSigner;
use crate::reason::RevocationReason;
use crate::serial::SerialNumber;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    pub serial: SerialNumber,
    pub revoked_at: OffsetDateTime,
    pub reason: RevocationReason,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrlError {
    #[error("nextUpdate must be after thisUpdate")]
    BadWindow,
    #[error("the CRL number must be positive")]
    BadNumber,
    #[error("CRL signing failed: {0}")]
    Signing(String),
}

/// Sign a complete CRL for `ca` listing `entries`.
///
/// The AKI is the CA certificate's own SKI (not re-derived), so CRL and certificate always agree.
/// Reason `unspecified` is left out of the entry, as RFC 5280 §5.3.1 asks.
pub fn sign_crl(
    ca: &CaSigner,
    crl_number: u64,
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    entries: &[RevokedEntry],
) -> Result<Vec<u8>, CrlError> {
    if crl_number == 0 {
        return Err(CrlError::BadNumber);
    }
    if next_update <= this_update {
        return Err(CrlError::BadWindow);
    }
    let revoked_certs = entries
        .iter()
        .map(|entry| RevokedCertParams {
            serial_number: entry.serial.to_bytes().to_vec().into(),
            revocation_time: entry.revoked_at,
            reason_code: Some(entry.reason.to_rcgen()),
            invalidity_date: None,
        })
        .collect();
    let params = CertificateRevocationListParams {
        this_update,
        next_update,
        crl_number: crl_number.into(),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::PreSpecified(ca.key_identifier().to_vec()),
    };
    let crl = params
        .signed_by(&ca.issuer)
        .map_err(|e| CrlError::Signing(e.to_string()))?;
    Ok(crl.der().to_vec())
}
