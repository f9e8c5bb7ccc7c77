//! Domain records as the store keeps them. No serde here: the API has its own DTOs.

mod account;
mod audit;
mod certificate;
mod deployment;
mod gauges;
mod ids;
mod mtls;
mod publication;

pub use account::{Account, ApiToken, NewApiToken, Permission, TokenScope, Zone};
pub use audit::{Actor, ActorKind, AuditAction, AuditEntry, AuditEvent, AuditObject, AuditSeal};
pub use certificate::{
    CertificatePage, CertificateQuery, CertificateRecord, CertificateStatus, StatusChange,
    StatusChangeOutcome, ZoneActivity,
};
pub use deployment::{EnforcedHostname, HostnameAssociation, Rows, Table};
pub use gauges::{ExpiringInZone, PoolState};
pub use ids::{
    AccountId, AccountKind, CaId, CaKind, CertificateId, CertificateKind, Id, IdKind, InvalidId,
    MtlsCertificateId, MtlsCertificateKind, TokenId, TokenKind, ZoneId, ZoneKind,
};
pub use mtls::{
    AssociationTarget, MtlsCertificateRecord, MtlsDeleteOutcome, MtlsHostnameAssociation,
    MtlsUploadOutcome,
};
pub use publication::{
    CaRecord, CrlRecord, OcspRecord, PendingTransition, RevokedSerial, SerialStatus, Settlement,
};

/// A stored name (status, permission, actor kind, audit action) that no variant has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownName {
    pub kind: &'static str,
    pub value: String,
}

/// The variant of `all` whose name is `text`.
fn parse_name<T: Copy>(
    kind: &'static str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
    text: &str,
) -> Result<T, UnknownName> {
    all.iter()
        .copied()
        .find(|variant| name(*variant) == text)
        .ok_or_else(|| UnknownName {
            kind,
            value: text.to_string(),
        })
}
