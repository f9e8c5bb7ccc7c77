//! Persistence for clientca. Only this crate knows SQL.
//!
//! [`Store`] is the one interface the rest of the system uses; [`SqliteStore`] (embedded default)
//! and [`PostgresStore`] (several replicas on one database) implement it with the same SQL and
//! pass the same conformance suite (`tests/conformance.rs`).

mod audit_chain;
mod copy;
mod error;
mod migrations;
mod model;
mod postgres;
mod rows;
mod sql;
mod sqlite;
mod store_impl;

use std::sync::Arc;

use async_trait::async_trait;

pub use audit_chain::{ChainProblem, ChainReport, GENESIS, seal_hash, verify_chain};
pub use copy::{CopyReport, copy_deployment};
pub use error::StoreError;
pub use model::*;
pub use postgres::{PUBLICATION_LOCK, PostgresStore};
pub use sqlite::SqliteStore;

pub type StoreResult<T> = Result<T, StoreError>;

/// The setting that holds a value only the right master key produces (see `reseal_ca_keys`).
pub const MASTER_KEY_CHECK_SETTING: &str = "master_key_check";

/// Everything clientca persists. Every change made on someone's behalf (issue, revoke, publish,
/// administration) appends its audit event in the same transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which backend this is ("sqlite" or "postgres"), for logs and health output.
    fn backend(&self) -> &'static str;

    async fn create_account(&self, account: &Account, audit: &AuditEntry) -> StoreResult<()>;
    async fn get_account(&self, id: &str) -> StoreResult<Option<Account>>;
    async fn list_accounts(&self) -> StoreResult<Vec<Account>>;

    /// Insert the account's CA, with its first (empty) CRL, unless the account already has a CA;
    /// returns whichever CA won.
    async fn insert_ca_if_absent(
        &self,
        ca: &CaRecord,
        initial_crl: &CrlRecord,
        audit: &AuditEntry,
    ) -> StoreResult<CaRecord>;
    async fn get_ca(&self, id: &str) -> StoreResult<Option<CaRecord>>;
    async fn list_cas(&self) -> StoreResult<Vec<CaRecord>>;
    /// Replace every CA's sealed key and the master-key check value in one transaction (master
    /// key rotation), with its audit event.
    async fn reseal_ca_keys(
        &self,
        sealed: &[(String, Vec<u8>)],
        check_value: &str,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
    async fn get_ca_for_account(&self, account_id: &str) -> StoreResult<Option<CaRecord>>;

    async fn create_zone(&self, zone: &Zone, audit: &AuditEntry) -> StoreResult<()>;
    async fn get_zone(&self, id: &str) -> StoreResult<Option<Zone>>;
    async fn list_zones(&self) -> StoreResult<Vec<Zone>>;

    async fn create_token(&self, token: &NewApiToken, audit: &AuditEntry) -> StoreResult<()>;
    async fn find_token_by_secret_hash(&self, secret_hash: &str) -> StoreResult<Option<ApiToken>>;
    async fn list_tokens(&self) -> StoreResult<Vec<ApiToken>>;
    /// Mark a token revoked; false when no such token exists or it was already revoked.
    async fn revoke_token(&self, id: &str, audit: &AuditEntry) -> StoreResult<bool>;

    /// Insert an issued certificate. `Err(Conflict)` if its serial is already used by the CA.
    /// Returns only after the row is durable.
    async fn insert_certificate(
        &self,
        cert: &CertificateRecord,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
    async fn get_certificate(
        &self,
        zone_id: &str,
        id: &str,
    ) -> StoreResult<Option<CertificateRecord>>;
    /// Up to `query.limit` certificates from position `query.offset` of the zone's set (filtered
    /// by status), newest first, and that set's size. Cost grows with the number of list blocks
    /// (4096 certificates each), not with the offset.
    async fn list_certificates(&self, query: &CertificateQuery) -> StoreResult<CertificatePage>;
    async fn count_certificates(
        &self,
        zone_id: &str,
        status: Option<CertificateStatus>,
    ) -> StoreResult<u64>;
    /// Apply an API-requested state change atomically with its audit event.
    async fn change_status(&self, change: &StatusChange) -> StoreResult<StatusChangeOutcome>;

    /// Up to `limit` certificates waiting for publication, oldest request first.
    async fn pending_transitions(&self, limit: u32) -> StoreResult<Vec<PendingTransition>>;
    /// One publication pass, in one transaction under the publication lock (a process that
    /// cannot take it skips): take up to `limit` pending transitions, have `publisher` sign a
    /// new CRL for every CA they touch and every CA whose CRL expires before `refresh_before`,
    /// and OCSP answers for the changed serials; store those; then settle the transitions
    /// (`pending_revocation → revoked`, `pending_reactivation → active`) with their audit events.
    /// The pending rows stay locked throughout, so what is published is what settles; a failure
    /// anywhere leaves everything as it was.
    async fn publish(
        &self,
        request: &PublishRequest,
        publisher: &dyn Publisher,
    ) -> StoreResult<PublishReport>;
    async fn latest_crl(&self, ca_id: &str) -> StoreResult<Option<CrlRecord>>;
    async fn latest_crl_number(&self, ca_id: &str) -> StoreResult<Option<i64>>;
    /// The state of `serial_number` (decimal) under `ca_id`, for the OCSP responder.
    async fn serial_status(
        &self,
        ca_id: &str,
        serial_number: &str,
    ) -> StoreResult<Option<SerialStatus>>;

    async fn hostname_associations(&self, zone_id: &str, ca_id: &str) -> StoreResult<Vec<String>>;
    async fn replace_hostname_associations(
        &self,
        zone_id: &str,
        ca_id: &str,
        hostnames: &[String],
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    async fn audit_events(
        &self,
        account_id: Option<&str>,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>>;

    /// An account's audit events, newest first, and how many there are.
    async fn audit_page(
        &self,
        account_id: &str,
        offset: u64,
        limit: u32,
    ) -> StoreResult<(Vec<AuditEvent>, u64)>;
    /// Seal up to `limit` unsealed audit events into the hash chain, in id order, under a lock
    /// (one sealer at a time across replicas); returns how many were sealed.
    async fn seal_audit(&self, limit: u32) -> StoreResult<u64>;
    async fn unsealed_audit_events(&self) -> StoreResult<u64>;
    /// Sealed events with `chain_seq` after `after`, in chain order, with their seals.
    async fn sealed_audit_events(
        &self,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<(AuditEvent, AuditSeal)>>;

    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>>;

    /// The latest applied schema migration.
    async fn schema_version(&self) -> StoreResult<i64>;
    async fn count_rows(&self, table: Table) -> StoreResult<u64>;
    /// Up to `limit` rows of `table` whose key sorts after `after` (`""` for the start), in key
    /// order, with the key of the last row returned (the next `after`), for copying deployments.
    async fn export_rows(
        &self,
        table: Table,
        after: &str,
        limit: u32,
    ) -> StoreResult<(Rows, Option<String>)>;
    /// Refresh the query planner's statistics (after bulk imports: `copy`, benchmark seeding);
    /// on PostgreSQL also vacuum, so index-only scans stay index-only.
    async fn analyze(&self) -> StoreResult<()>;
    /// Insert exported rows unchanged, in one transaction. Appends no audit events: the audit
    /// log is one of the tables copied.
    async fn import_rows(&self, rows: &Rows) -> StoreResult<()>;
    /// Store `value` under `key` unless a value exists; returns the value now stored.
    async fn put_setting_if_absent(&self, key: &str, value: &str) -> StoreResult<String>;
}

pub type DynStore = Arc<dyn Store>;

/// Signs what a publication pass publishes (implemented where the CA keys are).
#[async_trait]
pub trait Publisher: Send + Sync {
    /// A CRL for `ca_id` numbered `crl_number` listing exactly `revoked`.
    async fn sign_crl(
        &self,
        ca_id: &str,
        crl_number: i64,
        revoked: &[RevokedSerial],
    ) -> Result<CrlRecord, String>;
    /// Pre-signed OCSP answers for serials about to settle into a new state.
    async fn sign_ocsp(
        &self,
        ca_id: &str,
        settling: &[SettlingSerial],
    ) -> Result<Vec<OcspRecord>, String>;
}

/// Open the store a database URL names (`sqlite://…`, `sqlite::memory:`, `postgres://…`) and
/// bring its schema up to date.
pub async fn connect(url: &str) -> StoreResult<DynStore> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url).await?))
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
