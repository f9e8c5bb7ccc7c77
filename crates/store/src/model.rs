//! Domain records as the store keeps them. No serde here: the API has its own DTOs.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub created_at: OffsetDateTime,
}

/// A managed CA as stored: the private key only ever sealed under the master key.
#[derive(Clone, PartialEq, Eq)]
pub struct CaRecord {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub certificate_pem: String,
    pub certificate_der: Vec<u8>,
    pub sealed_private_key: Vec<u8>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub created_at: OffsetDateTime,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Read,
    Edit,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Edit => "edit",
        }
    }

    /// Whether a credential holding `self` may do what `needed` requires.
    pub fn allows(self, needed: Permission) -> bool {
        self == Permission::Edit || needed == Permission::Read
    }
}

impl FromStr for Permission {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "read" => Ok(Permission::Read),
            "edit" => Ok(Permission::Edit),
            other => Err(format!("unknown permission {other:?}")),
        }
    }
}

/// Which zones a credential reaches: every zone of its account, or a fixed list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenScope {
    Account,
    Zones(Vec<String>),
}

/// An API token (Bearer) or, when `email` is set, a legacy X-Auth-Email/X-Auth-Key pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub account_id: String,
    pub permission: Permission,
    pub scope: TokenScope,
    pub expires_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    pub token: ApiToken,
    /// Lowercase hex SHA-256 of the secret; the secret itself is never stored.
    pub secret_hash: String,
}

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
            _ => None,
        }
    }
}

impl FromStr for CertificateStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        CertificateStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown certificate status {s:?}"))
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
    pub id: String,
    pub zone_id: String,
    pub ca_id: String,
    pub ca_name: String,
    pub serial_number: String,
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
    pub revocation_reason: Option<String>,
    pub updated_at: OffsetDateTime,
}

/// A page request over one zone's certificates, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateQuery {
    pub zone_id: String,
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
    pub zone_id: String,
    pub certificate_id: String,
    pub from: &'static [CertificateStatus],
    pub to: CertificateStatus,
    /// `Some` sets the revocation reason, `None` clears it along with `revoked_at`.
    pub revocation_reason: Option<String>,
    pub audit: AuditEntry,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusChangeOutcome {
    Changed(CertificateRecord),
    /// The certificate exists but was not in an allowed `from` state; nothing was written.
    Unchanged(CertificateRecord),
    NotFound,
}

/// A certificate waiting for the publication worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTransition {
    pub certificate_id: String,
    pub zone_id: String,
    pub ca_id: String,
    pub account_id: String,
    pub serial_number: String,
    pub status: CertificateStatus,
    pub revoked_at: Option<OffsetDateTime>,
    pub revocation_reason: Option<String>,
    /// The certificate's list position (creation sequence).
    pub seq: i64,
}

/// One entry of a CA's CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedSerial {
    pub serial_number: String,
    pub revoked_at: OffsetDateTime,
    pub revocation_reason: Option<String>,
}

/// A signed CRL as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlRecord {
    pub ca_id: String,
    pub crl_number: i64,
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
    pub der: Vec<u8>,
}

/// A pre-signed OCSP answer (SHA-1 CertID, no nonce) for one serial in its settled state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspRecord {
    pub ca_id: String,
    pub serial_number: String,
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
    pub revocation_reason: Option<String>,
    /// The answer the worker pre-signed when the serial last changed state, if any.
    pub stored_answer: Option<OcspRecord>,
}

/// A serial whose pending state is being published, with the state it settles into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlingSerial {
    pub serial_number: String,
    pub settles_to: CertificateStatus,
    pub revoked_at: Option<OffsetDateTime>,
    pub revocation_reason: Option<String>,
}

/// One publication pass.
#[derive(Debug, Clone)]
pub struct PublishRequest {
    /// Pending transitions to take, at most.
    pub limit: u32,
    /// CRLs whose nextUpdate falls before this are re-signed even when nothing changed.
    pub refresh_before: OffsetDateTime,
    pub actor: Actor,
    pub now: OffsetDateTime,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishReport {
    /// Another process held the publication lock; nothing was done.
    pub skipped: bool,
    /// Transitions settled.
    pub settled: u64,
    /// (CA id, CRL number) of every CRL signed.
    pub crls: Vec<(String, i64)>,
}

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
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ActorKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| format!("unknown actor type {s:?}"))
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

/// One audit event, appended in the same transaction as the change it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub occurred_at: OffsetDateTime,
    pub actor: Actor,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub account_id: Option<String>,
    pub zone_id: Option<String>,
    pub details: Option<String>,
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

/// One hostname on which client certificates from `ca_id` are required for `zone_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostnameAssociation {
    pub zone_id: String,
    pub ca_id: String,
    pub hostname: String,
}

/// The tables of a deployment, in an order where every row's references come before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Settings,
    Accounts,
    CertificateAuthorities,
    Zones,
    ApiTokens,
    Certificates,
    HostnameAssociations,
    Crls,
    OcspResponses,
    AuditEvents,
}

impl Table {
    pub const ALL: [Table; 10] = [
        Table::Settings,
        Table::Accounts,
        Table::CertificateAuthorities,
        Table::Zones,
        Table::ApiTokens,
        Table::Certificates,
        Table::HostnameAssociations,
        Table::Crls,
        Table::OcspResponses,
        Table::AuditEvents,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Settings => "settings",
            Table::Accounts => "accounts",
            Table::CertificateAuthorities => "certificate_authorities",
            Table::Zones => "zones",
            Table::ApiTokens => "api_tokens",
            Table::Certificates => "certificates",
            Table::HostnameAssociations => "hostname_associations",
            Table::Crls => "crls",
            Table::OcspResponses => "ocsp_responses",
            Table::AuditEvents => "audit_events",
        }
    }
}

/// A page of one table's rows, exactly as stored (ids, hashes, sealed keys, audit ids), for
/// moving a deployment from one database to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rows {
    Settings(Vec<(String, String)>),
    Accounts(Vec<Account>),
    CertificateAuthorities(Vec<CaRecord>),
    Zones(Vec<Zone>),
    ApiTokens(Vec<NewApiToken>),
    /// With each certificate's sequence number (its list position).
    Certificates(Vec<(i64, CertificateRecord)>),
    HostnameAssociations(Vec<HostnameAssociation>),
    Crls(Vec<CrlRecord>),
    OcspResponses(Vec<OcspRecord>),
    AuditEvents(Vec<AuditEvent>),
}

impl Rows {
    pub fn len(&self) -> usize {
        match self {
            Rows::Settings(rows) => rows.len(),
            Rows::Accounts(rows) => rows.len(),
            Rows::CertificateAuthorities(rows) => rows.len(),
            Rows::Zones(rows) => rows.len(),
            Rows::ApiTokens(rows) => rows.len(),
            Rows::Certificates(rows) => rows.len(),
            Rows::HostnameAssociations(rows) => rows.len(),
            Rows::Crls(rows) => rows.len(),
            Rows::OcspResponses(rows) => rows.len(),
            Rows::AuditEvents(rows) => rows.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
