//! What goes over the wire. Domain records never derive `Serialize`; these do.

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use authority::{CertificateRecord, CertificateStatus, ListedCertificates};

/// The success envelope. `result_info` appears on list responses only.
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    /// Always `true`.
    pub success: bool,
    pub errors: Vec<crate::error::ErrorDetail>,
    pub messages: Vec<String>,
    pub result: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_info: Option<ResultInfo>,
}

impl<T> Envelope<T> {
    pub fn new(result: T) -> Self {
        Self {
            success: true,
            errors: Vec::new(),
            messages: Vec::new(),
            result,
            result_info: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResultInfo {
    pub page: u64,
    pub per_page: u64,
    /// Items on this page.
    pub count: u64,
    /// Items in the whole (filtered) set; for certificates, after `offset`/`limit`.
    pub total_count: u64,
    pub total_pages: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateAuthorityRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    PendingRevocation,
    Revoked,
    PendingReactivation,
}

impl From<CertificateStatus> for Status {
    fn from(status: CertificateStatus) -> Self {
        match status {
            CertificateStatus::Active => Status::Active,
            CertificateStatus::PendingRevocation => Status::PendingRevocation,
            CertificateStatus::Revoked => Status::Revoked,
            CertificateStatus::PendingReactivation => Status::PendingReactivation,
        }
    }
}

/// A client certificate as the Cloudflare API describes it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientCertificate {
    /// UUID of the certificate.
    pub id: String,
    /// PEM of the issued leaf.
    pub certificate: String,
    pub certificate_authority: CertificateAuthorityRef,
    pub common_name: String,
    pub country: String,
    /// The CSR as canonical PEM made from its DER (headers and text around the block dropped).
    pub csr: String,
    /// NotAfter, `YYYY-MM-DDTHH:MM:SSZ`.
    pub expires_on: String,
    /// Lowercase hex SHA-256 of the certificate DER.
    pub fingerprint_sha256: String,
    /// NotBefore, `YYYY-MM-DDTHH:MM:SSZ`.
    pub issued_on: String,
    pub location: String,
    pub organization: String,
    pub organizational_unit: String,
    /// Decimal serial number.
    pub serial_number: String,
    /// The CA's signature algorithm, e.g. `ECDSAWithSHA256`.
    pub signature: String,
    /// Lowercase hex Subject Key Identifier.
    pub ski: String,
    pub state: String,
    pub status: Status,
    pub validity_days: i64,
}

impl From<CertificateRecord> for ClientCertificate {
    fn from(record: CertificateRecord) -> Self {
        Self {
            certificate_authority: CertificateAuthorityRef {
                id: record.ca_id.to_string(),
                name: record.ca_name,
            },
            id: record.id.to_string(),
            certificate: record.certificate_pem,
            common_name: record.common_name,
            country: record.country,
            csr: record.csr,
            expires_on: timestamp(record.expires_on),
            fingerprint_sha256: record.fingerprint_sha256,
            issued_on: timestamp(record.issued_on),
            location: record.location,
            organization: record.organization,
            organizational_unit: record.organizational_unit,
            serial_number: record.serial_number.to_decimal(),
            signature: record.signature,
            ski: record.ski,
            state: record.state,
            status: record.status.into(),
            validity_days: record.validity_days,
        }
    }
}

/// `2026-11-28T05:13:23Z`: RFC 3339 in UTC with whole seconds (stored times have no fraction).
pub fn timestamp(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

pub fn list_envelope(listed: ListedCertificates) -> Envelope<Vec<ClientCertificate>> {
    let info = ResultInfo {
        page: listed.page,
        per_page: listed.per_page,
        count: listed.items.len() as u64,
        total_count: listed.total_count,
        total_pages: listed.total_pages,
    };
    Envelope {
        result_info: Some(info),
        ..Envelope::new(
            listed
                .items
                .into_iter()
                .map(ClientCertificate::from)
                .collect(),
        )
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HostnameAssociations {
    pub hostnames: Vec<String>,
}

/// The answer of `GET /user/tokens/verify`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenStatus {
    pub id: String,
    /// Always `active` (anything else is an error answer).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<String>,
}
