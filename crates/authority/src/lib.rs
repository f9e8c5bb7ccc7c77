//! clientca's application layer: what the API, the CLI and the worker ask of the system.
//!
//! It owns the rules (who may do what, which state changes are allowed, how a certificate is
//! issued and its revocation published) and the in-memory caches (decrypted CA keys, token
//! lookups, zones, CRLs, OCSP answers). It knows neither HTTP nor SQL: requests come in as plain
//! values with typed ids, persistence goes through the store, which only this crate sees.

mod admin;
mod auth;
mod cas;
mod certificates;
mod deployment;
mod error;
pub mod ids;
mod master_key;
mod ocsp;
mod publication;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use store::DynStore;

pub use admin::{Bootstrap, NewTokenRequest, TokenTarget};
pub use auth::{Credentials, Principal};
pub use certificates::{IssueRequest, ListRequest, ListedCertificates};
pub use deployment::{CopyReport, Health, Table, copy_deployment};
pub use error::Error;
pub use master_key::{MasterKey, MasterKeyError};
pub use ocsp::OcspAnswer;
pub use pki::RevocationReason;
pub use publication::{PublishReport, PublishedCrl};
pub use store::{Account, InvalidId, redact_url};
pub use store::{
    AccountId, Actor, ActorKind, ApiToken, AuditAction, AuditEvent, AuditObject, CaId, CaRecord,
    CertificateId, CertificateRecord, CertificateStatus, ChainProblem, ChainReport, CrlRecord,
    Permission, TokenId, TokenScope, Zone, ZoneId,
};

/// Limits and defaults for issuance.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Upper bound for `validity_days` (the spec's configurable maximum).
    pub max_validity_days: u32,
    /// Lifetime of a newly created managed CA.
    pub ca_validity_days: u32,
    /// `certificate_authority.name`; `{account_id}` is replaced.
    pub ca_name_template: String,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_validity_days: 3650,
            ca_validity_days: 7305,
            ca_name_template: "Managed CA for account {account_id}".into(),
        }
    }
}

/// How revocation data is published.
#[derive(Debug, Clone)]
pub struct Publication {
    /// Base URL relying parties reach this server at (e.g. `https://ca.example.com`). When set,
    /// leaves carry CRL Distribution Points and Authority Information Access pointing at it.
    pub public_url: Option<String>,
    /// nextUpdate − thisUpdate of every CRL; a CRL is re-signed when less than half remains.
    pub crl_validity: time::Duration,
    /// nextUpdate − thisUpdate of OCSP answers (how long relying parties may cache them).
    pub ocsp_validity: time::Duration,
}

impl Default for Publication {
    fn default() -> Self {
        Self {
            public_url: None,
            crl_validity: time::Duration::hours(24),
            ocsp_validity: time::Duration::hours(1),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Needed for anything touching CA keys; administration commands can run without it.
    pub master_key: Option<MasterKey>,
    pub policy: Policy,
    pub publication: Publication,
    /// How long a token lookup is trusted before the store is asked again. This bounds how long a
    /// token revoked elsewhere (CLI, another replica) keeps working here.
    pub token_cache_ttl: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            master_key: None,
            policy: Policy::default(),
            publication: Publication::default(),
            token_cache_ttl: Duration::from_secs(5),
        }
    }
}

/// The shared service object; cheap to clone behind an `Arc`.
pub struct Authority {
    store: DynStore,
    config: Config,
    cas: cas::CaCache,
    tokens: tokens::TokenCache,
    zones: auth::ZoneCache,
    ocsp_cache: ocsp::AnswerCache,
    crl_cache: publication::CrlCache,
}

impl Authority {
    /// Build the authority on an open store. With a master key, first check it against the
    /// database so a wrong key is refused at start rather than at the first issuance.
    pub async fn new(store: DynStore, config: Config) -> Result<Arc<Self>, Error> {
        if let Some(key) = &config.master_key {
            master_key::verify_against_store(key, store.as_ref()).await?;
        }
        Ok(Arc::new(Self {
            tokens: tokens::TokenCache::new(config.token_cache_ttl),
            cas: cas::CaCache::default(),
            zones: auth::ZoneCache::default(),
            ocsp_cache: ocsp::AnswerCache::default(),
            crl_cache: publication::CrlCache::default(),
            store,
            config,
        }))
    }

    /// Open (and migrate) the database `url` names, then build the authority on it.
    pub async fn open(url: &str, config: Config) -> Result<Arc<Self>, Error> {
        Self::new(deployment::connect(url).await?, config).await
    }
}

/// The current time at the store's precision (whole seconds), so what an operation returns equals
/// what a later read returns.
pub(crate) fn now() -> time::OffsetDateTime {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}
