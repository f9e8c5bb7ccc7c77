//! The audit log: who changed what, when, from where.

use std::str::FromStr;

use time::OffsetDateTime;

use super::{AccountId, UnknownName, ZoneId, parse_name};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// An API token or legacy key, identified by its id.
    Token,
    /// The local administration CLI.
    Cli,
    /// The server itself (bootstrap, CA creation).
    System,
    /// The publication worker.
    Worker,
}

impl ActorKind {
    pub const ALL: [ActorKind; 4] = [
        ActorKind::Token,
        ActorKind::Cli,
        ActorKind::System,
        ActorKind::Worker,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Token => "token",
            ActorKind::Cli => "cli",
            ActorKind::System => "system",
            ActorKind::Worker => "worker",
        }
    }
}

impl FromStr for ActorKind {
    type Err = UnknownName;
    fn from_str(text: &str) -> Result<Self, UnknownName> {
        parse_name("actor type", &Self::ALL, Self::as_str, text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<String>,
    pub source_ip: Option<String>,
}

impl Actor {
    pub fn new(kind: ActorKind) -> Self {
        Self {
            kind,
            id: None,
            source_ip: None,
        }
    }
}

/// What kind of thing an audit event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditObject {
    Account,
    Zone,
    Token,
    CertificateAuthority,
    Certificate,
    MasterKey,
    MtlsCertificate,
}

impl AuditObject {
    pub const ALL: [AuditObject; 7] = [
        AuditObject::Account,
        AuditObject::Zone,
        AuditObject::Token,
        AuditObject::CertificateAuthority,
        AuditObject::Certificate,
        AuditObject::MasterKey,
        AuditObject::MtlsCertificate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditObject::Account => "account",
            AuditObject::Zone => "zone",
            AuditObject::Token => "token",
            AuditObject::CertificateAuthority => "certificate_authority",
            AuditObject::Certificate => "certificate",
            AuditObject::MasterKey => "master_key",
            AuditObject::MtlsCertificate => "mtls_certificate",
        }
    }
}

impl FromStr for AuditObject {
    type Err = UnknownName;
    fn from_str(text: &str) -> Result<Self, UnknownName> {
        parse_name("audit object type", &Self::ALL, Self::as_str, text)
    }
}

/// Every change the audit log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    AccountCreated,
    ZoneCreated,
    /// A zone's own certificate quota was set or cleared.
    ZoneQuotaChanged,
    TokenCreated,
    TokenRevoked,
    CertificateAuthorityCreated,
    /// A new issuing CA (generated or imported) replaced the account's current one, or became
    /// its first.
    CertificateAuthorityRotated,
    MasterKeyRotated,
    HostnameAssociationsReplaced,
    CertificateCreated,
    CertificateRevocationRequested,
    CertificateReactivationRequested,
    /// The reason of a revocation not yet published was changed.
    CertificateRevocationReasonChanged,
    /// Settled by the publication worker: the revocation is published.
    CertificateRevoked,
    /// Settled by the publication worker: the reactivation is published.
    CertificateReactivated,
    /// A CA certificate uploaded to verify client certificates with.
    MtlsCertificateUploaded,
    MtlsCertificateDeleted,
}

impl AuditAction {
    pub const ALL: [AuditAction; 17] = [
        AuditAction::AccountCreated,
        AuditAction::ZoneCreated,
        AuditAction::ZoneQuotaChanged,
        AuditAction::TokenCreated,
        AuditAction::TokenRevoked,
        AuditAction::CertificateAuthorityCreated,
        AuditAction::CertificateAuthorityRotated,
        AuditAction::MasterKeyRotated,
        AuditAction::HostnameAssociationsReplaced,
        AuditAction::CertificateCreated,
        AuditAction::CertificateRevocationRequested,
        AuditAction::CertificateReactivationRequested,
        AuditAction::CertificateRevocationReasonChanged,
        AuditAction::CertificateRevoked,
        AuditAction::CertificateReactivated,
        AuditAction::MtlsCertificateUploaded,
        AuditAction::MtlsCertificateDeleted,
    ];

    /// The stored and reported name, e.g. `certificate.revocation_requested`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::AccountCreated => "account.created",
            AuditAction::ZoneCreated => "zone.created",
            AuditAction::ZoneQuotaChanged => "zone.quota_changed",
            AuditAction::TokenCreated => "token.created",
            AuditAction::TokenRevoked => "token.revoked",
            AuditAction::CertificateAuthorityCreated => "certificate_authority.created",
            AuditAction::CertificateAuthorityRotated => "certificate_authority.rotated",
            AuditAction::MasterKeyRotated => "master_key.rotated",
            AuditAction::HostnameAssociationsReplaced => "hostname_associations.replaced",
            AuditAction::CertificateCreated => "certificate.created",
            AuditAction::CertificateRevocationRequested => "certificate.revocation_requested",
            AuditAction::CertificateReactivationRequested => "certificate.reactivation_requested",
            AuditAction::CertificateRevocationReasonChanged => {
                "certificate.revocation_reason_changed"
            }
            AuditAction::CertificateRevoked => "certificate.revoked",
            AuditAction::CertificateReactivated => "certificate.reactivated",
            AuditAction::MtlsCertificateUploaded => "mtls_certificate.uploaded",
            AuditAction::MtlsCertificateDeleted => "mtls_certificate.deleted",
        }
    }

    /// What the action is done to (hostname associations are recorded against their zone).
    pub fn object(self) -> AuditObject {
        match self {
            AuditAction::AccountCreated => AuditObject::Account,
            AuditAction::ZoneCreated
            | AuditAction::ZoneQuotaChanged
            | AuditAction::HostnameAssociationsReplaced => AuditObject::Zone,
            AuditAction::TokenCreated | AuditAction::TokenRevoked => AuditObject::Token,
            AuditAction::CertificateAuthorityCreated | AuditAction::CertificateAuthorityRotated => {
                AuditObject::CertificateAuthority
            }
            AuditAction::MasterKeyRotated => AuditObject::MasterKey,
            AuditAction::CertificateCreated
            | AuditAction::CertificateRevocationRequested
            | AuditAction::CertificateReactivationRequested
            | AuditAction::CertificateRevocationReasonChanged
            | AuditAction::CertificateRevoked
            | AuditAction::CertificateReactivated => AuditObject::Certificate,
            AuditAction::MtlsCertificateUploaded | AuditAction::MtlsCertificateDeleted => {
                AuditObject::MtlsCertificate
            }
        }
    }
}

impl FromStr for AuditAction {
    type Err = UnknownName;
    fn from_str(text: &str) -> Result<Self, UnknownName> {
        parse_name("audit action", &Self::ALL, Self::as_str, text)
    }
}

/// One audit event, appended in the same transaction as the change it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub occurred_at: OffsetDateTime,
    pub actor: Actor,
    pub action: AuditAction,
    /// Stored as written (normally `action.object()`), so the hash chain covers it too.
    pub object_type: AuditObject,
    pub object_id: String,
    pub account_id: Option<AccountId>,
    pub zone_id: Option<ZoneId>,
    pub details: Option<String>,
}

impl AuditEntry {
    /// An event about `object_id`, with no account, zone or details yet.
    pub fn new(
        occurred_at: OffsetDateTime,
        actor: Actor,
        action: AuditAction,
        object_id: impl Into<String>,
    ) -> Self {
        Self {
            occurred_at,
            actor,
            action,
            object_type: action.object(),
            object_id: object_id.into(),
            account_id: None,
            zone_id: None,
            details: None,
        }
    }

    /// Shown in this account's audit log.
    pub fn in_account(mut self, account_id: &AccountId) -> Self {
        self.account_id = Some(account_id.clone());
        self
    }

    /// Shown in this zone's (and its account's) audit log.
    pub fn in_zone(mut self, zone_id: &ZoneId) -> Self {
        self.zone_id = Some(zone_id.clone());
        self
    }

    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: i64,
    pub entry: AuditEntry,
    /// Its place in the hash chain, once sealed (see `audit_chain`).
    pub seal: Option<AuditSeal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSeal {
    pub chain_seq: i64,
    pub prev_hash: String,
    pub hash: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse(), Ok(action));
        }
        for object in AuditObject::ALL {
            assert_eq!(object.as_str().parse(), Ok(object));
        }
        for kind in ActorKind::ALL {
            assert_eq!(kind.as_str().parse(), Ok(kind));
        }
        assert!("certificate.deleted".parse::<AuditAction>().is_err());
    }
}
