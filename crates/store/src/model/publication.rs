//! Certificate authorities and what they publish: CRLs and OCSP answers.

use std::fmt;

use pki::{RevocationReason, SerialNumber};
use time::OffsetDateTime;

use super::{AccountId, AuditEntry, CaId, CertificateId, CertificateStatus, ZoneId};

/// An issuing CA as stored (generated here, or imported under the user's root): the private key
/// only ever sealed under the master key.
#[derive(Clone, PartialEq, Eq)]
pub struct CaRecord {
    pub id: CaId,
    pub account_id: AccountId,
    pub name: String,
    pub certificate_pem: String,
    pub certificate_der: Vec<u8>,
    pub sealed_private_key: Vec<u8>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub created_at: OffsetDateTime,
    /// The certificates above this CA up to the root, PEM, issuer first; empty when self-signed.
    pub chain_pem: String,
    /// When a newer CA replaced it as the account's issuing CA; `None` while current. A retired
    /// CA still publishes CRLs and answers OCSP for what it issued.
    pub retired_at: Option<OffsetDateTime>,
    /// 1 for the account's first CA, one more for each rotation (set by the store on rotation).
    pub generation: i64,
}

impl fmt::Debug for CaRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaRecord")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A certificate waiting for the publication worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTransition {
    pub certificate_id: CertificateId,
    pub zone_id: ZoneId,
    pub ca_id: CaId,
    pub account_id: AccountId,
    pub serial_number: SerialNumber,
    pub status: CertificateStatus,
    pub revoked_at: Option<OffsetDateTime>,
    pub revocation_reason: Option<RevocationReason>,
    /// The certificate's list position (creation sequence).
    pub seq: i64,
}

/// A pending transition to settle, with the audit event to append if it does.
#[derive(Debug, Clone)]
pub struct Settlement<'a> {
    pub transition: &'a PendingTransition,
    pub audit: AuditEntry,
}

/// One entry of a CA's CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedSerial {
    pub serial_number: SerialNumber,
    pub revoked_at: OffsetDateTime,
    pub revocation_reason: Option<RevocationReason>,
}

/// A signed CRL as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlRecord {
    pub ca_id: CaId,
    pub crl_number: i64,
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
    pub der: Vec<u8>,
}

/// A pre-signed OCSP answer (SHA-1 CertID, no nonce) for one serial in its settled state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspRecord {
    pub ca_id: CaId,
    pub serial_number: SerialNumber,
    /// `Active` or `Revoked`: what the answer says.
    pub status: CertificateStatus,
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
    pub der: Vec<u8>,
}

/// What an OCSP responder needs to know about one serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialStatus {
    pub status: CertificateStatus,
    pub revoked_at: Option<OffsetDateTime>,
    pub revocation_reason: Option<RevocationReason>,
    /// The answer the worker pre-signed when the serial last changed state, if any.
    pub stored_answer: Option<OcspRecord>,
}
