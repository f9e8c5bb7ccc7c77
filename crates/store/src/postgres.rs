//! The scale-out backend: PostgreSQL, shared by any number of `clientca serve` replicas.
//!
//! Migrations take sqlx's advisory lock, so replicas starting together apply them once.
//! Correctness across replicas rests on conditional updates (`... WHERE status = $old`) inside
//! transactions, never on in-process state.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Pool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, Postgres};

use crate::StoreResult;
use crate::error::StoreError;
use crate::migrations::{Dialect, migrator};
use crate::model::*;
use crate::rows::{self, DecodeRow, to_unix};
use crate::sql;
use crate::store_impl::{CountMoves, clamp_i64, impl_store, target_action};

const MAX_CONNECTIONS: u32 = 16;
/// Take the publication lock if free (see `try_lock_publication`).
pub const PUBLICATION_LOCK: &str = "SELECT pg_try_advisory_xact_lock(hashtext('clientca publication'), hashtext(current_schema()))";
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct PostgresStore {
    pool: Pool<Postgres>,
}

impl PostgresStore {
    /// Connect to `url` and apply migrations.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| StoreError::UnsupportedUrl(crate::redact_url(url)))?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        migrator(Dialect::Postgres).run(&pool).await?;
        Ok(Self { pool })
    }

    fn reader(&self) -> &Pool<Postgres> {
        &self.pool
    }

    async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }

    const SELECT_PENDING_LOCKED: &'static str = sql::SELECT_PENDING_FOR_UPDATE;
    /// Concurrent changes to one certificate queue on its row lock.
    const SELECT_FOR_STATUS_CHANGE: &'static str = sql::SELECT_FOR_STATUS_CHANGE_LOCKED;
    /// Also sets the visibility map, which index-only scans (the list's page start) rely on.
    const ANALYZE: &'static str = "VACUUM (ANALYZE)";

    fn write_pool(&self) -> &Pool<Postgres> {
        &self.pool
    }

    /// PostgreSQL commits durably on its own; concurrent creates overlap in separate transactions.
    async fn insert_certificate_durably(
        &self,
        cert: &CertificateRecord,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_certificates_with_audit(&mut tx, &[(cert, audit)]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Imported certificates carry explicit sequence numbers; move the sequence past them.
    async fn after_certificate_import(
        tx: &mut sqlx::Transaction<'static, Postgres>,
    ) -> StoreResult<()> {
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence('certificates', 'seq'), \
             GREATEST((SELECT MAX(seq) FROM certificates), 1))",
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// One publisher at a time across all replicas: a transaction-scoped advisory lock, released
    /// at commit or rollback (so a crashed replica never holds it). Others skip this round. The
    /// key includes the schema, so deployments in different schemas of one database don't contend.
    async fn try_lock_publication(
        tx: &mut sqlx::Transaction<'static, Postgres>,
    ) -> StoreResult<bool> {
        Ok(sqlx::query_scalar(PUBLICATION_LOCK)
            .fetch_one(&mut **tx)
            .await?)
    }

    /// One sealer at a time, like publication (a separate key: sealing and publishing may overlap).
    async fn try_lock_audit_sealing(
        tx: &mut sqlx::Transaction<'static, Postgres>,
    ) -> StoreResult<bool> {
        Ok(sqlx::query_scalar(
            "SELECT pg_try_advisory_xact_lock(hashtext('clientca audit'), hashtext(current_schema()))",
        )
        .fetch_one(&mut **tx)
        .await?)
    }

    /// Imported audit rows carry explicit ids; move the sequence past them.
    async fn after_audit_import(tx: &mut sqlx::Transaction<'static, Postgres>) -> StoreResult<()> {
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence('audit_events', 'id'), \
             GREATEST((SELECT MAX(id) FROM audit_events), 1))",
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

impl_store!(PostgresStore, Postgres, "postgres");
