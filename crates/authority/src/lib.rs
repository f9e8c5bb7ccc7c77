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
mod enforcement;
mod error;
mod hostnames;
pub mod ids;
mod master_key;
mod metrics;
mod mtls_certificates;
mod ocsp;
mod publication;
mod sessions;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use store::DynStore;

pub use admin::{Bootstrap, NewTokenRequest, TokenTarget};
pub use auth::{Credentials, Principal};
pub use cas::NewCa;
pub use certificates::{
    IssueRequest, ListRequest, ListedCertificates, RECENT_FOR_OVERVIEW, UNLIMITED,
};
pub use deployment::{CopyReport, Health, Table, copy_deployment};
pub use enforcement::{EnforcedHost, EnforcementView, TrustedCa, UploadedTrust};
pub use error::Error;
pub use master_key::{MasterKey, MasterKeyError};
pub use metrics::Metrics;
pub use mtls_certificates::{MAX_MTLS_CERTIFICATES_PER_ACCOUNT, MtlsCertificateUpload};
pub use ocsp::OcspAnswer;
pub use pki::{
    CaKeyAlgorithm, PresentedCertificate, RevocationReason, SerialNumber, fingerprint_sha256,
    self_signed_server_certificate,
};
pub use publication::{PublishReport, PublishedCrl};
pub use sessions::{SESSION_LIFETIME, Session};
pub use store::{Account, InvalidId, redact_url};
pub use store::{
    AccountId, Actor, ActorKind, ApiToken, AuditAction, AuditEvent, AuditObject, CaId, CaRecord,
    CertificateId, CertificateRecord, CertificateStatus, ChainProblem, ChainReport, CrlRecord,
    MtlsCertificateId, MtlsCertificateRecord, Permission, TokenId, TokenScope, Zone, ZoneActivity,
    ZoneId,
};

/// Limits and defaults for issuance.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Upper bound for `validity_days` (the spec's configurable maximum).
    pub max_validity_days: u32,
    /// Lifetime of a newly created managed CA.
    pub ca_validity_days: u32,
    /// Key type of a managed CA created on first use (`account create --ca-key` picks per account).
    pub ca_key: CaKeyAlgorithm,
    /// `certificate_authority.name`; `{account_id}` is replaced.
    pub ca_name_template: String,
    /// Certificates that are not revoked a zone may hold, unless the zone has its own quota
    /// (`None`: no limit).
    pub max_certificates_per_zone: Option<u64>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_validity_days: 3650,
            ca_validity_days: 7305,
            ca_key: CaKeyAlgorithm::P256,
            ca_name_template: "Managed CA for account {account_id}".into(),
            max_certificates_per_zone: None,
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

impl Publication {
    /// The longest CRL and OCSP lifetimes accepted: a year, far beyond any sensible setting and
    /// far from the end of the calendar arithmetic works in.
    pub const MAX_VALIDITY: time::Duration = time::Duration::days(366);

    fn validate(&self) -> Result<(), Error> {
        let in_range = |name: &str, value: time::Duration| {
            if value.is_positive() && value <= Self::MAX_VALIDITY {
                Ok(())
            } else {
                Err(Error::InvalidArgument(format!(
                    "{name} must be more than zero and at most 366 days, got {value}"
                )))
            }
        };
        in_range("the CRL validity", self.crl_validity)?;
        in_range("the OCSP validity", self.ocsp_validity)
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
    /// When set, health fails once no publication pass has completed for this long (a worker
    /// that died or hangs leaves revocations pending forever).
    pub publication_stale_after: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            master_key: None,
            policy: Policy::default(),
            publication: Publication::default(),
            token_cache_ttl: Duration::from_secs(5),
            publication_stale_after: None,
        }
    }
}

impl Config {
    /// Refuse settings that would fail later (a date past the calendar's end, a zero maximum).
    pub fn validate(&self) -> Result<(), Error> {
        self.publication.validate()?;
        let policy = &self.policy;
        if !(1..=policy.ca_validity_days).contains(&policy.max_validity_days) {
            return Err(Error::InvalidArgument(format!(
                "the largest validity_days must be from 1 to the CA's lifetime ({} days), got {}",
                policy.ca_validity_days, policy.max_validity_days
            )));
        }
        Ok(())
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
    /// When the last publication pass of this process completed (see `health`).
    last_publication: std::sync::Mutex<Option<std::time::Instant>>,
    created: std::time::Instant,
    metrics: Metrics,
    /// Woken when this process publishes a CRL, so enforcement in the same process (the gateway
    /// inside `serve`) need not wait for its next poll.
    publications: tokio::sync::Notify,
}

impl Authority {
    /// Build the authority on an open store. With a master key, first check it against the
    /// database so a wrong key is refused at start rather than at the first issuance.
    pub async fn new(store: DynStore, config: Config) -> Result<Arc<Self>, Error> {
        config.validate()?;
        if let Some(key) = &config.master_key {
            master_key::verify_against_store(key, store.as_ref()).await?;
        }
        Ok(Arc::new(Self {
            tokens: tokens::TokenCache::new(config.token_cache_ttl),
            cas: cas::CaCache::default(),
            zones: auth::ZoneCache::new(config.token_cache_ttl),
            ocsp_cache: ocsp::AnswerCache::default(),
            crl_cache: publication::CrlCache::default(),
            last_publication: std::sync::Mutex::new(None),
            created: std::time::Instant::now(),
            publications: tokio::sync::Notify::new(),
            metrics: Metrics::default(),
            store,
            config,
        }))
    }

    /// The service's metrics, for other layers to register theirs in.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// `/metrics`: the OpenMetrics text, with the gauges read from the store now.
    pub async fn render_metrics(&self) -> String {
        self.metrics.render(self.store.as_ref(), now()).await
    }

    /// Open (and migrate) the database `url` names, then build the authority on it.
    pub async fn open(url: &str, config: Config) -> Result<Arc<Self>, Error> {
        Self::new(
            deployment::connect(url, store::Schema::Migrate).await?,
            config,
        )
        .await
    }

    /// Open the database `url` names without changing it: its schema must be current. For
    /// processes that only read (the gateway), which may hold a read-only database role.
    pub async fn open_for_reading(url: &str, config: Config) -> Result<Arc<Self>, Error> {
        Self::new(
            deployment::connect(url, store::Schema::RequireCurrent).await?,
            config,
        )
        .await
    }
}

/// The current time at the store's precision (whole seconds), so what an operation returns equals
/// what a later read returns.
pub(crate) fn now() -> time::OffsetDateTime {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}
