//! What a TLS server needs to know about a client certificate it was shown, and about the CRLs
//! it enforces: parsed once, reported in the forms the API and the gateway's headers use.

use time::OffsetDateTime;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;
use x509_parser::x509::X509Name;

use crate::encoding::fingerprint_sha256;
use crate::serial::SerialNumber;

/// A certificate that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a readable X.509 {0}")]
pub struct Unreadable(&'static str);

/// The facts about a presented client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedCertificate {
    /// The serial when it can be one of ours (positive, at most 16 octets).
    pub serial: Option<SerialNumber>,
    /// The serial's octets as uppercase hex (Cloudflare's `cf-cert-serial`).
    pub serial_hex: String,
    /// Lowercase hex SHA-256 of the DER (the API's `fingerprint_sha256`).
    pub fingerprint_sha256: String,
    /// RFC 4514 distinguished names.
    pub subject_dn: String,
    pub issuer_dn: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl PresentedCertificate {
    pub fn parse(der: &[u8]) -> Result<Self, Unreadable> {
        let (_, certificate) = x509_parser::certificate::X509Certificate::from_der(der)
            .map_err(|_| Unreadable("certificate"))?;
        let raw_serial = certificate.raw_serial();
        Ok(Self {
            serial: SerialNumber::from_be_bytes(raw_serial),
            serial_hex: hex::encode_upper(strip_sign_octet(raw_serial)),
            fingerprint_sha256: fingerprint_sha256(der),
            subject_dn: dn(certificate.subject()),
            issuer_dn: dn(certificate.issuer()),
            not_before: certificate.validity().not_before.to_datetime(),
            not_after: certificate.validity().not_after.to_datetime(),
        })
    }
}

/// DER integers carry a leading zero octet when the top bit is set; hex forms leave it out.
fn strip_sign_octet(octets: &[u8]) -> &[u8] {
    match octets {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => octets,
    }
}

fn dn(name: &X509Name<'_>) -> String {
    name.to_string()
}

/// The serials a CRL lists (those that can be ours; others cannot match a leaf we issued).
pub fn crl_serials(der: &[u8]) -> Result<Vec<SerialNumber>, Unreadable> {
    let (_, crl) = CertificateRevocationList::from_der(der).map_err(|_| Unreadable("CRL"))?;
    Ok(crl
        .iter_revoked_certificates()
        .filter_map(|entry| SerialNumber::from_be_bytes(entry.raw_serial()))
        .collect())
}
