//! Client certificates and their lifecycle states.

use std::fmt;
use std::str::FromStr;

use pki::{RevocationReason, SerialNumber};
use time::OffsetDateTime;

use super::{AuditEntry, CaId, CertificateId, UnknownName, ZoneId, parse_name};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertificateStatus {
    Active,
    PendingRevocation,
    Revoked,
    PendingReactivation,
}

impl CertificateStatus {
    pub const ALL: [CertificateStatus; 4] = [
        CertificateStatus::Active,
        CertificateStatus::PendingRevocation,
        CertificateStatus::Revoked,
        CertificateStatus::PendingReactivation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CertificateStatus::Active => "active",
            CertificateStatus::PendingRevocation => "pending_revocation",
            CertificateStatus::Revoked => "revoked",
            CertificateStatus::PendingReactivation => "pending_reactivation",
        }
    }

    /// The state a pending status settles into once published.
    pub fn settled(self) -> Option<CertificateStatus> {
        match self {
            CertificateStatus::PendingRevocation => Some(CertificateStatus::Revoked),
            CertificateStatus::PendingReactivation => Some(CertificateStatus::Active),
            CertificateStatus::Active | CertificateStatus::Revoked => None,
        }
    }
}

impl FromStr for CertificateStatus {
    type Err = UnknownName;
    fn from_str(text: &str) -> Result<Self, UnknownName> {
        parse_name("certificate status", &Self::ALL, Self::as_str, text)
    }
}

impl fmt::Display for CertificateStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything the API reports about a client certificate, plus revocation bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRecord {
    pub id: CertificateId,
    pub zone_id: ZoneId,
    pub ca_id: CaId,
    pub ca_name: String,
    pub serial_number: SerialNumber,
    pub status: CertificateStatus,
    pub certificate_pem: String,
    pub csr: String,
    pub common_name: String,
    pub organization: String,
    pub organizational_unit: String,
    pub country: String,
    pub state: String,
    pub location: String,
    pub fingerprint_sha256: String,
    pub ski: String,
    pub signature: String,
    pub issued_on: OffsetDateTime,
    pub expires_on: OffsetDateTime,
    pub validity_days: i64,
    /// When revocation was requested (kept while `pending_revocation` and `revoked`).
    pub revoked_at: Option<OffsetDateTime>,
    pub revocation_reason: Option<RevocationReason>,
    pub updated_at: OffsetDateTime,
}

/// A page request over one zone's certificates, newest first.
/// What a zone's overview shows beside its counts (the dashboard's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneActivity {
    /// Active certificates expiring within 7, 30 and 90 days.
    pub expiring_within: [u64; 3],
    /// When the zone's newest certificates were issued, newest first (at most as many as asked).
    pub recent_issued_on: Vec<OffsetDateTime>,
}

impl ZoneActivity {
    /// The windows `expiring_within` counts, in days.
    pub const EXPIRY_WINDOWS_DAYS: [i64; 3] = [7, 30, 90];
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateQuery {
    pub zone_id: ZoneId,
    pub status: Option<CertificateStatus>,
    pub offset: u64,
    pub limit: u64,
}

/// A page of certificates and the size of the whole (status-filtered) set it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificatePage {
    pub items: Vec<CertificateRecord>,
    pub total: u64,
}

/// A state change requested through the API: allowed only from `from`, to `to`.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub zone_id: ZoneId,
    pub certificate_id: CertificateId,
    pub from: &'static [CertificateStatus],
    pub to: CertificateStatus,
    /// `Some` sets the revocation reason, `None` clears it along with `revoked_at`.
    pub revocation_reason: Option<RevocationReason>,
    pub audit: AuditEntry,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusChangeOutcome {
    Changed(CertificateRecord),
    /// The certificate exists but was not in an allowed `from` state; nothing was written.
    Unchanged(CertificateRecord),
    NotFound,
}
