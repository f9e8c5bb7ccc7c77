//! The embedded default backend: one SQLite file in WAL mode.
//!
//! Writes go through a single-connection pool, so they never contend with each other inside the
//! process, and every write transaction starts with `BEGIN IMMEDIATE`, so one from another process
//! (the CLI) waits on `busy_timeout` instead of failing mid-transaction. Reads use their own pool
//! and never block behind writes (WAL). `synchronous = FULL`: a committed row survives power loss.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Pool;
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{mpsc, oneshot};

use crate::StoreResult;
use crate::error::StoreError;
use crate::migrations::{Dialect, migrator};
use crate::model::*;
use crate::rows::{self, DecodeRow, to_unix};
use crate::sql;
use crate::store_impl::{CountMoves, clamp_i64, impl_store, target_action};

const READ_CONNECTIONS: u32 = 8;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct SqliteStore {
    read: Pool<Sqlite>,
    write: Pool<Sqlite>,
    creates: mpsc::Sender<CreateJob>,
}

/// One create waiting for the group commit.
struct CreateJob {
    cert: CertificateRecord,
    audit: AuditEntry,
    done: oneshot::Sender<StoreResult<()>>,
}

/// Creates committed together at most (one transaction, one fsync).
const MAX_GROUP: usize = 256;

impl SqliteStore {
    /// Open (creating when missing) the database at `url` and apply migrations.
    ///
    /// `sqlite:///abs/path.db`, `sqlite://relative.db` and `sqlite::memory:` are accepted.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| StoreError::UnsupportedUrl(url.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory {
            create_parent_dir(options.get_filename())?;
        }

        let write = SqlitePoolOptions::new()
            .max_connections(1)
            // Group inserts have one statement text per group size.
            .connect_with(options.clone().statement_cache_capacity(512))
            .await?;
        // An in-memory database exists once per connection: share the single one.
        let read = if in_memory {
            write.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(READ_CONNECTIONS)
                .connect_with(options.clone().read_only(true))
                .await?
        };
        migrator(Dialect::Sqlite).run(&write).await?;
        let (creates, queue) = mpsc::channel(4 * MAX_GROUP);
        spawn_group_committer(write.clone(), queue)?;

        Ok(Self {
            read,
            write,
            creates,
        })
    }

    fn reader(&self) -> &Pool<Sqlite> {
        &self.read
    }

    async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, Sqlite>> {
        Ok(self.write.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// The write transaction already excludes every other writer (BEGIN IMMEDIATE).
    const SELECT_PENDING_LOCKED: &'static str = sql::SELECT_PENDING;
    const SELECT_FOR_STATUS_CHANGE: &'static str = sql::SELECT_FOR_STATUS_CHANGE;
    const ANALYZE: &'static str = "ANALYZE";

    fn write_pool(&self) -> &Pool<Sqlite> {
        &self.write
    }

    /// Hand the create to the group committer and wait until its batch is committed.
    async fn insert_certificate_durably(
        &self,
        cert: &CertificateRecord,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let (done, committed) = oneshot::channel();
        let job = CreateJob {
            cert: cert.clone(),
            audit: audit.clone(),
            done,
        };
        self.creates
            .send(job)
            .await
            .map_err(|_| StoreError::CommitFailed("the writer stopped".into()))?;
        committed
            .await
            .map_err(|_| StoreError::CommitFailed("the writer stopped".into()))?
    }

    async fn after_certificate_import(
        _tx: &mut sqlx::Transaction<'static, Sqlite>,
    ) -> StoreResult<()> {
        Ok(())
    }

    async fn try_lock_publication(
        _tx: &mut sqlx::Transaction<'static, Sqlite>,
    ) -> StoreResult<bool> {
        Ok(true)
    }

    async fn try_lock_audit_sealing(
        _tx: &mut sqlx::Transaction<'static, Sqlite>,
    ) -> StoreResult<bool> {
        Ok(true)
    }

    /// AUTOINCREMENT follows explicit ids by itself.
    async fn after_audit_import(_tx: &mut sqlx::Transaction<'static, Sqlite>) -> StoreResult<()> {
        Ok(())
    }

    /// Run SQLite's own consistency check (used by the crash-safety test).
    pub async fn integrity_check(&self) -> StoreResult<String> {
        Ok(sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&self.write)
            .await?)
    }
}

/// Group commit: creates that arrive while a commit is in flight share the next transaction, so
/// N concurrent creates cost one fsync (and a handful of statements) instead of N. Every caller
/// is answered only after the COMMIT that holds its row has returned.
async fn group_commit(write: Pool<Sqlite>, mut queue: mpsc::Receiver<CreateJob>) {
    let mut jobs = Vec::with_capacity(MAX_GROUP);
    while queue.recv_many(&mut jobs, MAX_GROUP).await > 0 {
        let started = std::time::Instant::now();
        let results = match commit_together(&write, &jobs).await {
            Ok(()) => jobs.iter().map(|_| Ok(())).collect(),
            // Rare (a serial collision, a full disk): redo the group one savepoint per create so
            // only the failing ones fail.
            Err(_) if jobs.len() > 1 => commit_one_by_one(&write, &jobs).await,
            Err(error) => vec![Err(error)],
        };
        tracing::debug!(
            creates = jobs.len(),
            micros = started.elapsed().as_micros() as u64,
            "group committed"
        );
        for (job, result) in jobs.drain(..).zip(results) {
            // The caller may have gone away (client disconnected); the row is committed regardless.
            let _ = job.done.send(result);
        }
    }
}

/// The committer gets its own thread and single-threaded runtime: on a busy multi-threaded
/// runtime (signing certificates), a task woken after each statement would queue behind CPU-heavy
/// request tasks, and every create would wait for that queueing on the commit path.
fn spawn_group_committer(write: Pool<Sqlite>, queue: mpsc::Receiver<CreateJob>) -> StoreResult<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError::CommitFailed(format!("cannot start the group committer: {e}")))?;
    std::thread::Builder::new()
        .name("clientca-commit".into())
        .spawn(move || runtime.block_on(group_commit(write, queue)))
        .map_err(|e| StoreError::CommitFailed(format!("cannot start the group committer: {e}")))?;
    Ok(())
}

/// The whole group as one multi-statement command — transaction, rows, list counts, audit
/// events, commit — so the connection's worker thread is woken once per group, not per statement.
async fn commit_together(write: &Pool<Sqlite>, jobs: &[CreateJob]) -> StoreResult<()> {
    let certs: Vec<_> = jobs.iter().map(|job| (None, &job.cert)).collect();
    let audits: Vec<_> = jobs.iter().map(|job| &job.audit).collect();
    let mut command = sqlx::QueryBuilder::<Sqlite>::new("BEGIN IMMEDIATE; ");
    push_certificate_insert(&mut command, &certs);
    // The list counts of the rows just inserted (their seq is known only now), per status and for
    // all statuses — what `CountMoves::count` does for the other write paths.
    let all_statuses = format!("'{}'", sql::ALL_STATUSES);
    for status_column in ["status", all_statuses.as_str()] {
        command.push(format!(
            "; INSERT INTO certificate_counts (zone_id, status, block, count) \
             SELECT zone_id, {status_column}, seq / {block}, COUNT(*) FROM certificates WHERE id IN (",
            block = sql::LIST_BLOCK
        ));
        let mut ids = command.separated(", ");
        for job in jobs {
            ids.push_bind(job.cert.id.clone());
        }
        command.push(format!(
            ") GROUP BY zone_id, {status_column}, seq / {block}{upsert}",
            block = sql::LIST_BLOCK,
            upsert = sql::ADD_TO_EXISTING_COUNT
        ));
    }
    command.push("; ");
    push_audit_insert(&mut command, &audits);
    command.push("; COMMIT");
    let mut connection = write.acquire().await?;
    match command.build().execute(&mut *connection).await {
        Ok(_) => Ok(()),
        Err(error) => {
            // A failed statement leaves the transaction open; nothing of it may remain.
            let _ = sqlx::query("ROLLBACK").execute(&mut *connection).await;
            Err(error.into())
        }
    }
}

/// The group in one transaction, each create in its own savepoint.
async fn commit_one_by_one(write: &Pool<Sqlite>, jobs: &[CreateJob]) -> Vec<StoreResult<()>> {
    let failed_all = |error: &StoreError| {
        jobs.iter()
            .map(|_| Err(StoreError::CommitFailed(error.to_string())))
            .collect()
    };
    let mut tx = match write.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(error) => return failed_all(&error.into()),
    };
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        let outcome: Result<StoreResult<()>, sqlx::Error> = async {
            sqlx::query("SAVEPOINT create_job")
                .execute(&mut *tx)
                .await?;
            match insert_certificates_with_audit(&mut tx, &[(&job.cert, &job.audit)]).await {
                Ok(()) => {
                    sqlx::query("RELEASE create_job").execute(&mut *tx).await?;
                    Ok(Ok(()))
                }
                Err(error) => {
                    sqlx::query("ROLLBACK TO create_job")
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("RELEASE create_job").execute(&mut *tx).await?;
                    Ok(Err(error))
                }
            }
        }
        .await;
        match outcome {
            Ok(result) => results.push(result),
            // The savepoint machinery itself failed: the transaction cannot be trusted.
            Err(error) => return failed_all(&StoreError::from(error)),
        }
    }
    if let Err(error) = tx.commit().await {
        return failed_all(&error.into());
    }
    results
}

fn create_parent_dir(path: &Path) -> StoreResult<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Database(sqlx::Error::Configuration(
                format!("cannot create database directory {}: {e}", dir.display()).into(),
            ))
        }),
        _ => Ok(()),
    }
}

impl_store!(SqliteStore, Sqlite, "sqlite");
