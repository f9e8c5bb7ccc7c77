//! Persistence for clientca. Only this crate knows SQL.
//!
//! The store is split by role — [`AccountStore`], [`TokenStore`], [`CaStore`],
//! [`CertificateStore`], [`PublicationStore`], [`AuditStore`], [`DeploymentStore`] — and [`Store`]
//! is all of them. Each role is implemented once (`roles/`) for any database that provides the
//! small private `Backend` interface (`backend/`): [`SqliteStore`] (embedded default) and
//! [`PostgresStore`] (several replicas on one database). Both pass the same conformance suite
//! (`tests/conformance/`).

mod audit_chain;
mod backend;
mod batch;
mod copy;
mod error;
mod migrations;
mod model;
mod roles;
mod rows;
mod sql;
mod writes;

use std::sync::Arc;

pub use audit_chain::{ChainProblem, ChainReport, GENESIS, seal_hash, verify_chain};
pub use backend::postgres::{PUBLICATION_LOCK, PostgresStore};
pub use backend::sqlite::SqliteStore;
pub use copy::{CopyReport, copy_deployment};
pub use error::StoreError;
pub use migrations::Schema;
pub use model::*;
pub use roles::accounts::AccountStore;
pub use roles::audit::AuditStore;
pub use roles::cas::{CaStore, HostnamesOutcome};
pub use roles::certificates::CertificateStore;
pub use roles::deployment::DeploymentStore;
pub use roles::gauges::GaugeStore;
pub use roles::mtls_certificates::MtlsCertificateStore;
pub use roles::publication::{PublicationStore, PublicationTx};
pub use roles::tokens::TokenStore;

pub type StoreResult<T> = Result<T, StoreError>;

/// The setting that holds a value only the right master key produces (see `reseal_ca_keys`).
pub const MASTER_KEY_CHECK_SETTING: &str = "master_key_check";

/// Everything clientca persists. Every change made on someone's behalf (issue, revoke, publish,
/// administration) appends its audit event in the same transaction.
pub trait Store:
    AccountStore
    + TokenStore
    + CaStore
    + MtlsCertificateStore
    + CertificateStore
    + PublicationStore
    + AuditStore
    + DeploymentStore
    + GaugeStore
    + 'static
{
}

impl<T> Store for T where
    T: AccountStore
        + TokenStore
        + CaStore
        + MtlsCertificateStore
        + CertificateStore
        + PublicationStore
        + AuditStore
        + DeploymentStore
        + GaugeStore
        + 'static
{
}

pub type DynStore = Arc<dyn Store>;

/// Open the store a database URL names (`sqlite://…`, `sqlite::memory:`, `postgres://…`) and
/// bring its schema up to date.
pub async fn connect(url: &str) -> StoreResult<DynStore> {
    connect_with(url, Schema::Migrate).await
}

/// Open the store a database URL names, migrating it or requiring its schema to be current.
pub async fn connect_with(url: &str, schema: Schema) -> StoreResult<DynStore> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url, schema).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(url, schema).await?))
    } else {
        Err(StoreError::UnsupportedUrl(redact_url(url)))
    }
}

/// A database URL with any password replaced, safe for logs and error messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
