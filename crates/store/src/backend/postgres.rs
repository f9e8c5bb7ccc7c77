//! The scale-out backend: PostgreSQL, shared by any number of `clientca serve` replicas.
//!
//! Migrations take sqlx's advisory lock, so replicas starting together apply them once.
//! Correctness across replicas rests on conditional updates (`... WHERE status = $old`) inside
//! transactions, never on in-process state.

use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions, PgRow, Postgres};
use sqlx::{Pool, SqlSafeStr};

use super::group_commit::{CommitGroup, CreateJob, Creates, failed_all};
use super::{Arg, Backend, Placeholder, Statement, StatusChanges, Transaction, args};
use crate::StoreResult;
use crate::error::StoreError;
use crate::migrations::{APPLIED_VERSION, Dialect, Schema, check_current, migrator};
use crate::model::{AuditEntry, CertificateId, CertificateRecord, PoolState, ZoneId};
use crate::rows::DecodeRow;
use crate::sql;
use crate::writes::{ensure_within_quota, insert_certificates_with_audit};

const MAX_CONNECTIONS: u32 = 16;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Take the publication lock if free (see `try_lock_publication`).
pub const PUBLICATION_LOCK: &str = "SELECT pg_try_advisory_xact_lock(hashtext('clientca publication'), hashtext(current_schema()))";
const AUDIT_SEALING_LOCK: &str =
    "SELECT pg_try_advisory_xact_lock(hashtext('clientca audit'), hashtext(current_schema()))";

/// Strong enough to queue quota-checked creates in the zone, weak enough not to block the
/// foreign-key checks of other inserts into it.
const LOCK_ZONE: &str = "SELECT id FROM zones WHERE id = $1 FOR NO KEY UPDATE";
const HOSTNAMES_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext('clientca hostnames'), hashtext(current_schema()))";

#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool<Postgres>,
    /// The group committer's own pool, once its thread has made it (for the gauges).
    committer_pool: Arc<OnceLock<Pool<Postgres>>>,
    creates: Creates,
    status_changes: Arc<StatusChanges>,
}

impl PostgresStore {
    /// Connect to `url` and apply migrations.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::open(url, Schema::Migrate).await
    }

    /// Connect to `url`, migrating or requiring a current schema.
    pub async fn open(url: &str, schema: Schema) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| StoreError::UnsupportedUrl(crate::redact_url(url)))?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await?;
        match schema {
            Schema::Migrate => migrator(Dialect::Postgres).run(&pool).await?,
            Schema::RequireCurrent => {
                let found = sqlx::query_scalar(APPLIED_VERSION)
                    .fetch_one(&pool)
                    .await
                    .unwrap_or(0);
                check_current(found)?;
            }
        }
        // The committer's connection is its own, opened on the committer's runtime.
        let committer_pool = Arc::new(OnceLock::new());
        let shared = Arc::clone(&committer_pool);
        let creates = Creates::spawn("clientca-commit", move || {
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_lazy_with(options);
            let _ = shared.set(pool.clone());
            GroupCommitter { pool }
        })?;
        Ok(Self {
            pool,
            committer_pool,
            creates,
            status_changes: Arc::default(),
        })
    }
}

/// Creates of one replica share a transaction; replicas still commit side by side.
struct GroupCommitter {
    pool: Pool<Postgres>,
}

impl GroupCommitter {
    async fn begin(&self) -> StoreResult<PgTx> {
        Ok(PgTx(self.pool.begin().await?))
    }

    /// Every create of the group in `tx`.
    async fn commit_together(mut tx: PgTx, jobs: &[CreateJob]) -> StoreResult<()> {
        let creates: Vec<_> = jobs.iter().map(|job| (&job.cert, &job.audit)).collect();
        insert_certificates_with_audit(&mut tx, &creates).await?;
        Transaction::commit(tx).await
    }

    /// One create in `tx`, counted under the zone's lock when it has a quota.
    async fn commit_alone(mut tx: PgTx, job: &CreateJob) -> StoreResult<()> {
        if let Some(limit) = job.quota {
            // The count must see creates committed while this one waited for the zone's lock:
            // each statement its own snapshot, whatever the database's default level.
            tx.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", &[])
                .await?;
            if let Err(error) =
                ensure_within_quota::<PostgresStore>(&mut tx, &job.cert.zone_id, limit).await
            {
                Transaction::rollback(tx).await?;
                return Err(error);
            }
        }
        insert_certificates_with_audit(&mut tx, &[(&job.cert, &job.audit)]).await?;
        Transaction::commit(tx).await
    }
}

impl CommitGroup for GroupCommitter {
    /// When no transaction can be begun (the database is unreachable), the whole group fails at
    /// once rather than waiting out the connection timeout once per create.
    async fn commit_group(&mut self, jobs: &[CreateJob]) -> Vec<StoreResult<()>> {
        let quota_free = jobs.iter().all(|job| job.quota.is_none());
        // When the group fails (rare: a serial collision), it is redone one transaction per
        // create, so only the failing ones fail.
        if quota_free && jobs.len() > 1 {
            match self.begin().await {
                Ok(tx) => {
                    if Self::commit_together(tx, jobs).await.is_ok() {
                        return jobs.iter().map(|_| Ok(())).collect();
                    }
                }
                Err(error) => return failed_all(jobs, &error),
            }
        }
        let mut results = Vec::with_capacity(jobs.len());
        for (index, job) in jobs.iter().enumerate() {
            match self.begin().await {
                Ok(tx) => results.push(Self::commit_alone(tx, job).await),
                Err(error) => {
                    results.extend(failed_all(&jobs[index..], &error));
                    break;
                }
            }
        }
        results
    }
}

/// A write transaction (a newtype: trait impls on `Transaction<'static, _>` trip up the
/// compiler's `Send` checks of the generic role code).
pub(crate) struct PgTx(sqlx::Transaction<'static, Postgres>);

fn query(
    sql: impl SqlSafeStr,
    args: &[Arg<'_>],
) -> sqlx::query::Query<'static, Postgres, PgArguments> {
    super::query(sql, args)
}

impl Transaction for PgTx {
    type Row = PgRow;
    const PLACEHOLDER: Placeholder = Placeholder::Numbered;

    async fn execute(&mut self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<u64> {
        Ok(query(sql, args)
            .execute(&mut *self.0)
            .await?
            .rows_affected())
    }

    async fn fetch_all(&mut self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<Vec<PgRow>> {
        Ok(query(sql, args).fetch_all(&mut *self.0).await?)
    }

    async fn fetch_optional(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> StoreResult<Option<PgRow>> {
        Ok(query(sql, args).fetch_optional(&mut *self.0).await?)
    }

    async fn fetch_one(&mut self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<PgRow> {
        Ok(query(sql, args).fetch_one(&mut *self.0).await?)
    }

    async fn execute_statement(&mut self, statement: Statement<'_>) -> StoreResult<u64> {
        let (sql, args) = statement.into_parts();
        Ok(query(sql, &args)
            .execute(&mut *self.0)
            .await?
            .rows_affected())
    }

    async fn fetch_all_statement(&mut self, statement: Statement<'_>) -> StoreResult<Vec<PgRow>> {
        let (sql, args) = statement.into_parts();
        Ok(query(sql, &args).fetch_all(&mut *self.0).await?)
    }

    async fn commit(self) -> StoreResult<()> {
        Ok(self.0.commit().await?)
    }

    async fn rollback(self) -> StoreResult<()> {
        Ok(self.0.rollback().await?)
    }
}

impl Backend for PostgresStore {
    type Row = PgRow;
    type Tx = PgTx;

    const NAME: &'static str = "postgres";
    /// The rows being published stay locked until they settle, so a concurrent reactivation
    /// waits and then sees the published state.
    const SELECT_PENDING_LOCKED: &'static str = sql::SELECT_PENDING_FOR_UPDATE;
    /// Concurrent changes to one certificate queue on its row lock.
    const SELECT_FOR_STATUS_CHANGE: &'static str = sql::SELECT_FOR_STATUS_CHANGE_LOCKED;
    /// Also sets the visibility map, which index-only scans (the list's page start) rely on.
    const ANALYZE: &'static str = "VACUUM (ANALYZE)";
    const SELECT_UNSEALED_AUDIT: &'static str = sql::SELECT_UNSEALED_AUDIT;
    const COUNT_UNSEALED_AUDIT: &'static str = sql::COUNT_UNSEALED_AUDIT;

    async fn begin_write(&self) -> StoreResult<PgTx> {
        Ok(PgTx(self.pool.begin().await?))
    }

    fn status_changes(&self) -> &StatusChanges {
        &self.status_changes
    }

    async fn fetch_all(&self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<Vec<PgRow>> {
        Ok(query(sql, args).fetch_all(&self.pool).await?)
    }

    type QuickRow = PgRow;

    async fn quick_all(&self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<Vec<PgRow>> {
        self.fetch_all(sql, args).await
    }

    async fn fetch_optional(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> StoreResult<Option<PgRow>> {
        Ok(query(sql, args).fetch_optional(&self.pool).await?)
    }

    async fn fetch_one(&self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<PgRow> {
        Ok(query(sql, args).fetch_one(&self.pool).await?)
    }

    async fn execute_alone(&self, sql: &'static str) -> StoreResult<()> {
        sqlx::query(sql).execute(&self.pool).await?;
        Ok(())
    }

    async fn backup_into(&self, _path: &std::path::Path) -> StoreResult<Vec<(crate::Table, u64)>> {
        Err(StoreError::Unsupported(
            "PostgreSQL is backed up with its own tools: pg_dump, or base backups with WAL \
             archiving for point-in-time recovery (see README, Backups)",
        ))
    }

    /// Through this replica's group committer (quota-checked creates in the same zone queue on
    /// the zone's row lock across replicas).
    async fn insert_certificate_durably(
        &self,
        cert: &CertificateRecord,
        audit: &AuditEntry,
        quota: Option<u64>,
    ) -> StoreResult<()> {
        self.creates.submit(cert, audit, quota).await
    }

    fn pool_states(&self) -> Vec<PoolState> {
        let mut pools = vec![PoolState::of("postgres", &self.pool)];
        if let Some(committer) = self.committer_pool.get() {
            pools.push(PoolState::of("postgres_commit", committer));
        }
        pools
    }

    /// The zone's row lock, held until commit or rollback.
    async fn lock_zone_quota(tx: &mut PgTx, zone_id: &ZoneId) -> StoreResult<()> {
        tx.fetch_optional(LOCK_ZONE, args![zone_id]).await?;
        Ok(())
    }

    /// One publisher at a time across all replicas: a transaction-scoped advisory lock, released
    /// at commit or rollback (so a crashed replica never holds it). Others skip this round. The
    /// key includes the schema, so deployments in different schemas of one database don't contend.
    async fn try_lock_publication(tx: &mut PgTx) -> StoreResult<bool> {
        tx.fetch_one(PUBLICATION_LOCK, &[]).await?.first_flag()
    }

    /// One sealer at a time, like publication (a separate key: sealing and publishing may overlap).
    async fn try_lock_audit_sealing(tx: &mut PgTx) -> StoreResult<bool> {
        tx.fetch_one(AUDIT_SEALING_LOCK, &[]).await?.first_flag()
    }

    /// The rows in the order the publication pass locks pending rows, (updated_at, id), so a
    /// batch and a pass (or two replicas' batches) cannot wait for each other in a cycle.
    async fn lock_for_status_changes(tx: &mut PgTx, ids: &[&CertificateId]) -> StoreResult<()> {
        let mut statement = Statement::new(
            PgTx::PLACEHOLDER,
            "SELECT id FROM certificates WHERE id IN ",
        );
        statement.bind_list(ids.iter().copied());
        statement.push(" ORDER BY updated_at, id FOR UPDATE");
        tx.fetch_all_statement(statement).await?;
        Ok(())
    }

    /// A transaction-scoped advisory lock: concurrent replacements queue, none is skipped.
    async fn lock_hostname_associations(tx: &mut PgTx) -> StoreResult<()> {
        tx.execute(HOSTNAMES_LOCK, &[]).await?;
        Ok(())
    }

    /// Imported rows carry explicit ids or sequence numbers; move the sequence past them.
    async fn after_import(
        tx: &mut PgTx,
        table: &'static str,
        column: &'static str,
    ) -> StoreResult<()> {
        let statement = Statement::new(
            PgTx::PLACEHOLDER,
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), \
             GREATEST((SELECT MAX({column}) FROM {table}), 1))"
            ),
        );
        tx.execute_statement(statement).await?;
        Ok(())
    }
}
