//! CA certificates an account uploads to verify client certificates with (Cloudflare's
//! `mtls_certificates` with `ca: true`). clientca holds no key for them.

use time::OffsetDateTime;

use super::{AccountId, CaId, MtlsCertificateId, ZoneId};

/// An uploaded CA certificate (or chain), as checked on upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtlsCertificateRecord {
    pub id: MtlsCertificateId,
    pub account_id: AccountId,
    /// Unique within the account when given.
    pub name: Option<String>,
    /// One PEM block per certificate, issuer first.
    pub certificates_pem: String,
    pub issuer: String,
    pub serial_number: String,
    pub signature: String,
    pub expires_on: OffsetDateTime,
    pub uploaded_on: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MtlsUploadOutcome {
    Uploaded,
    /// Another of the account's certificates has this name; nothing was written.
    NameTaken,
    /// The account already has the most it may; nothing was written.
    LimitReached,
}

/// What a deletion did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MtlsDeleteOutcome {
    Deleted(MtlsCertificateRecord),
    NotFound,
    /// Still required on these hostnames; nothing was deleted.
    Associated(Vec<String>),
}

/// Which CA a zone's hostname associations name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AssociationTarget {
    /// The account's managed CA.
    ManagedCa(CaId),
    /// A CA certificate the account uploaded.
    Uploaded(MtlsCertificateId),
}

/// A hostname associated with an uploaded CA certificate (a row, for copying a deployment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtlsHostnameAssociation {
    pub zone_id: ZoneId,
    pub mtls_certificate_id: MtlsCertificateId,
    pub hostname: String,
}
