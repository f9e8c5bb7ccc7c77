//! The deployment as a whole, for operators: opening and migrating databases, copying one into
//! another, health, the schema version and the audit chain.

use std::time::{Duration, Instant};

use store::DynStore;

pub use store::{CopyReport, Table};

use crate::{Authority, ChainReport, Error};

/// Audit events sealed per transaction.
const SEAL_BATCH: u32 = 5_000;
/// Seal batches per call at most, so a call always ends.
const MAX_SEAL_BATCHES: usize = 1_000;

/// Open the store a database URL names, migrating it or requiring a current schema.
pub(crate) async fn connect(url: &str, schema: store::Schema) -> Result<DynStore, Error> {
    store::connect_with(url, schema)
        .await
        .map_err(|error| Error::OpenDatabase {
            url: store::redact_url(url),
            error,
        })
}

/// Copy every row of the deployment at `from` into the empty database at `to` (both opened and
/// migrated first). `progress(table, copied, total)` is called after each page.
pub async fn copy_deployment(
    from: &str,
    to: &str,
    progress: impl FnMut(Table, u64, u64),
) -> Result<CopyReport, Error> {
    let source = connect(from, store::Schema::Migrate).await?;
    let target = connect(to, store::Schema::Migrate).await?;
    Ok(store::copy_deployment(source.as_ref(), target.as_ref(), progress).await?)
}

/// What `/healthz` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// "sqlite" or "postgres".
    pub database: &'static str,
    /// Whether the database answered.
    pub database_ok: bool,
    /// Time since this process last completed a publication pass (`None`: not yet).
    pub last_publication: Option<Duration>,
    /// Past `Config::publication_stale_after` without a pass: revocations are not being published.
    pub publication_stale: bool,
}

impl Health {
    pub fn is_ok(&self) -> bool {
        self.database_ok && !self.publication_stale
    }
}

impl Authority {
    /// Whether the database answers and, when a bound is configured, whether publication passes
    /// keep completing.
    pub async fn health(&self) -> Health {
        let database_ok = match self.store.get_setting("healthz").await {
            Ok(_) => true,
            Err(error) => {
                tracing::warn!(%error, "health check: the database does not answer");
                false
            }
        };
        let last_publication = self
            .last_publication
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|at| at.elapsed());
        let publication_stale = match (self.config.publication_stale_after, last_publication) {
            (Some(bound), Some(age)) => age > bound,
            // Started, but no pass completed within the bound since the authority was built.
            (Some(bound), None) => self.created.elapsed() > bound,
            (None, _) => false,
        };
        Health {
            database: self.store.backend(),
            database_ok,
            last_publication,
            publication_stale,
        }
    }

    pub(crate) fn record_publication_pass(&self) {
        *self
            .last_publication
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    /// "sqlite" or "postgres".
    pub fn database_kind(&self) -> &'static str {
        self.store.backend()
    }

    /// The latest applied schema migration.
    pub async fn schema_version(&self) -> Result<i64, Error> {
        Ok(self.store.schema_version().await?)
    }

    /// Seal every audit event appended since the last call into the hash chain; returns how many.
    pub async fn seal_audit_log(&self) -> Result<u64, Error> {
        let mut sealed = 0;
        for _ in 0..MAX_SEAL_BATCHES {
            let batch = self.store.seal_audit(SEAL_BATCH).await?;
            sealed += batch;
            if batch < u64::from(SEAL_BATCH) {
                break;
            }
        }
        Ok(sealed)
    }

    /// Recompute the whole audit chain (see `store::verify_chain`).
    pub async fn verify_audit_chain(&self) -> Result<ChainReport, Error> {
        Ok(store::verify_chain(self.store.as_ref()).await?)
    }

    /// A consistent copy of the (SQLite) database into the new file `path`, taken while the
    /// server keeps writing, then read back (integrity check, row counts), so a backup that
    /// cannot be read is reported now rather than on the day it is needed.
    pub async fn backup_to(&self, path: &std::path::Path) -> Result<Vec<(Table, u64)>, Error> {
        Ok(self.store.backup_to(path).await?)
    }
}
