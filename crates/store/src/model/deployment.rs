//! A whole deployment's rows, for copying it between databases.

use super::{
    Account, AccountId, AssociationTarget, AuditEvent, CaId, CaRecord, CertificateRecord,
    CrlRecord, MtlsCertificateRecord, MtlsHostnameAssociation, NewApiToken, OcspRecord, Zone,
    ZoneId,
};

/// One hostname on which client certificates from `ca_id` are required for `zone_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostnameAssociation {
    pub zone_id: ZoneId,
    pub ca_id: CaId,
    pub hostname: String,
}

/// An association as an enforcement point sees it: with its zone's name and account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnforcedHostname {
    pub hostname: String,
    pub zone_id: ZoneId,
    pub zone_name: String,
    pub account_id: AccountId,
    /// The CA the hostname requires.
    pub target: AssociationTarget,
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
    MtlsCertificates,
    MtlsHostnameAssociations,
    Crls,
    OcspResponses,
    AuditEvents,
}

impl Table {
    pub const ALL: [Table; 12] = [
        Table::Settings,
        Table::Accounts,
        Table::CertificateAuthorities,
        Table::Zones,
        Table::ApiTokens,
        Table::Certificates,
        Table::HostnameAssociations,
        Table::MtlsCertificates,
        Table::MtlsHostnameAssociations,
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
            Table::MtlsCertificates => "mtls_certificates",
            Table::MtlsHostnameAssociations => "mtls_hostname_associations",
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
    MtlsCertificates(Vec<MtlsCertificateRecord>),
    MtlsHostnameAssociations(Vec<MtlsHostnameAssociation>),
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
            Rows::MtlsCertificates(rows) => rows.len(),
            Rows::MtlsHostnameAssociations(rows) => rows.len(),
            Rows::Crls(rows) => rows.len(),
            Rows::OcspResponses(rows) => rows.len(),
            Rows::AuditEvents(rows) => rows.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
