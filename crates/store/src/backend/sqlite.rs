//! The embedded default: one SQLite file in WAL mode.
//!
//! Writes go through a single-connection pool, so they never contend with each other inside the
//! process, and every write transaction starts with `BEGIN IMMEDIATE`, so one from another process
//! (the CLI) waits on `busy_timeout` instead of failing mid-transaction. Reads use their own pool
//! (or, for the bounded reads of the request path, read-only connections on the calling thread:
//! `sqlite_quick.rs`) and never block behind writes (WAL). `synchronous = FULL`: a committed row
//! survives power loss.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    Sqlite, SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Pool, SqlSafeStr};

use super::group_commit::{CommitGroup, CreateJob, Creates, failed_all};
use super::sqlite_checkpoint::{CHECKPOINT, Checkpointer};
use super::sqlite_quick::{OwnedRow, QuickReader};
use super::{Arg, BACKUP_SUMMARY, Backend, Placeholder, Statement, StatusChanges, Transaction};
use crate::StoreResult;
use crate::error::StoreError;
use crate::migrations::{APPLIED_VERSION, Dialect, Schema, check_current, migrator};
use crate::model::{AuditEntry, CertificateId, CertificateRecord, PoolState, Table, ZoneId};
use crate::sql;
use crate::writes::{
    ensure_within_quota, insert_certificates_with_audit, push_audit_insert, push_certificate_insert,
};

const READ_CONNECTIONS: u32 = 8;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a quick read (on an executor thread) waits for a busy database before handing the
/// read to sqlx's connection thread, which waits the full `BUSY_TIMEOUT`.
const QUICK_BUSY_TIMEOUT: Duration = Duration::from_millis(20);

#[derive(Clone)]
pub struct SqliteStore {
    read: Pool<Sqlite>,
    write: Pool<Sqlite>,
    /// An in-memory database lives in its one connection, which must never be closed.
    in_memory: bool,
    /// Copies the write-ahead log into the database file (none for an in-memory database).
    checkpointer: Option<Arc<Checkpointer>>,
    creates: Creates,
    status_changes: Arc<StatusChanges>,
    /// Quick reads on the calling thread (none for an in-memory database).
    quick: Option<Arc<QuickReader>>,
}

impl SqliteStore {
    /// Open (creating when missing) the database at `url` and apply migrations.
    ///
    /// `sqlite:///abs/path.db`, `sqlite://relative.db` and `sqlite::memory:` are accepted.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::open(url, Schema::Migrate).await
    }

    /// Open the database at `url`, migrating (and creating it when missing) or requiring an
    /// existing one with a current schema.
    pub async fn open(url: &str, schema: Schema) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| StoreError::UnsupportedUrl(url.to_string()))?
            .create_if_missing(schema == Schema::Migrate)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory {
            create_parent_dir(options.get_filename())?;
            if schema == Schema::Migrate {
                create_private_file(options.get_filename())?;
            }
        }
        // Processes starting together on a fresh file would race to switch it to WAL (which
        // SQLite may refuse at once with SQLITE_BUSY) and to create the schema; the first to take
        // this lock sets up and migrates, the others then find the work done. (PostgreSQL has
        // sqlx's advisory lock for the same.)
        let setup_lock = match in_memory {
            true => None,
            false => Some(lock_for_setup(options.get_filename()).await?),
        };

        // Group inserts have one statement text per group size.
        let mut write_options = options.clone().statement_cache_capacity(512);
        if !in_memory {
            // The checkpointer copies the log, off the write path (`sqlite_checkpoint.rs`).
            write_options = write_options.pragma("wal_autocheckpoint", "0");
        }
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(write_options)
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
        match schema {
            Schema::Migrate => migrator(Dialect::Sqlite).run(&write).await?,
            Schema::RequireCurrent => {
                let found = sqlx::query_scalar(APPLIED_VERSION)
                    .fetch_one(&read)
                    .await
                    .unwrap_or(0);
                check_current(found)?;
            }
        }
        drop(setup_lock);
        let checkpointer = match in_memory {
            true => None,
            false => Some(Arc::new(Checkpointer::start(options.get_filename())?)),
        };
        let writer = Writer {
            pool: write.clone(),
            in_memory,
            checkpointer: checkpointer.clone(),
        };
        // Whatever the migrations wrote.
        writer.committed();
        let creates = Creates::spawn("clientca-commit", move || writer)?;
        let quick = (!in_memory)
            .then(|| Arc::new(QuickReader::new(options.get_filename(), QUICK_BUSY_TIMEOUT)));
        Ok(Self {
            read,
            write,
            in_memory,
            checkpointer,
            creates,
            status_changes: Arc::default(),
            quick,
        })
    }

    /// Run SQLite's own consistency check (used by the crash-safety test).
    pub async fn integrity_check(&self) -> StoreResult<String> {
        Ok(sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&self.write)
            .await?)
    }

    fn writer(&self) -> Writer {
        Writer {
            pool: self.write.clone(),
            in_memory: self.in_memory,
            checkpointer: self.checkpointer.clone(),
        }
    }
}

/// The write connection, and how to begin a transaction on it.
#[derive(Clone)]
struct Writer {
    pool: Pool<Sqlite>,
    in_memory: bool,
    checkpointer: Option<Arc<Checkpointer>>,
}

impl Writer {
    /// A write on the write connection committed: the checkpointer copies it along later.
    fn committed(&self) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.committed();
        }
    }

    /// Before a transaction: when the checkpointer found the log long, copy the rest of it here,
    /// where no write can slip in meanwhile, so the next write starts the log over
    /// (`sqlite_checkpoint.rs`).
    async fn catch_up(&self, connection: &mut PoolConnection<Sqlite>) {
        if let Some(checkpointer) = &self.checkpointer
            && checkpointer.take_long_log()
            && let Err(error) = sqlx::query(CHECKPOINT).execute(&mut **connection).await
        {
            tracing::warn!(%error, "sqlite: the writer's checkpoint failed");
        }
    }

    async fn begin(&self) -> StoreResult<SqliteTx> {
        let mut connection = self.pool.acquire().await?;
        self.catch_up(&mut connection).await;
        let began = match sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *connection)
            .await
        {
            // A transaction left open by an earlier failure (SQLite may end one by itself, e.g.
            // on SQLITE_FULL, and leave the connection's bookkeeping behind): end it and retry.
            Err(error) if error.to_string().contains("within a transaction") => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *connection).await;
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(&mut *connection)
                    .await
            }
            other => other,
        };
        let mut tx = SqliteTx {
            connection: Some(connection),
            disposable: !self.in_memory,
            writer: self.clone(),
        };
        match began {
            Ok(_) => Ok(tx),
            Err(error) => {
                tx.discard();
                Err(error.into())
            }
        }
    }
}

/// A write transaction on the write connection, begun with `BEGIN IMMEDIATE` by hand rather than
/// with sqlx's `begin`, whose bookkeeping stays "in a transaction" when SQLite has already rolled
/// back by itself. Ending it any other way than `commit`/`rollback` closes the connection (SQLite
/// then rolls back) and the pool opens a fresh one, so a failure never wedges later writes.
pub(crate) struct SqliteTx {
    connection: Option<PoolConnection<Sqlite>>,
    disposable: bool,
    writer: Writer,
}

impl SqliteTx {
    fn connection(&mut self) -> &mut PoolConnection<Sqlite> {
        // `connection` is only taken by `commit`, `rollback` and `discard`, which consume or end
        // the transaction: it is present for every statement.
        self.connection
            .as_mut()
            .expect("a statement on a finished transaction")
    }

    /// Give the connection up: closed (file databases) rather than reused in an unknown state.
    fn discard(&mut self) {
        if let Some(mut connection) = self.connection.take()
            && self.disposable
        {
            connection.close_on_drop();
        }
    }

    async fn finish(mut self, statement: &'static str) -> StoreResult<()> {
        let result = sqlx::query(statement)
            .execute(&mut **self.connection())
            .await;
        match result {
            Ok(_) => {
                self.connection = None;
                if statement == "COMMIT" {
                    self.writer.committed();
                }
                Ok(())
            }
            Err(error) => {
                let _ = sqlx::query("ROLLBACK")
                    .execute(&mut **self.connection())
                    .await;
                self.discard();
                Err(error.into())
            }
        }
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        self.discard();
    }
}

fn query(
    sql: impl SqlSafeStr,
    args: &[Arg<'_>],
) -> sqlx::query::Query<'static, Sqlite, SqliteArguments> {
    super::query(sql, args)
}

impl Transaction for SqliteTx {
    type Row = SqliteRow;
    const PLACEHOLDER: Placeholder = Placeholder::Positional;

    async fn execute(&mut self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<u64> {
        let done = query(sql, args).execute(&mut **self.connection()).await?;
        Ok(done.rows_affected())
    }

    async fn fetch_all(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> StoreResult<Vec<SqliteRow>> {
        Ok(query(sql, args).fetch_all(&mut **self.connection()).await?)
    }

    async fn fetch_optional(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> StoreResult<Option<SqliteRow>> {
        Ok(query(sql, args)
            .fetch_optional(&mut **self.connection())
            .await?)
    }

    async fn fetch_one(&mut self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<SqliteRow> {
        Ok(query(sql, args).fetch_one(&mut **self.connection()).await?)
    }

    async fn execute_statement(&mut self, statement: Statement<'_>) -> StoreResult<u64> {
        let (sql, args) = statement.into_parts();
        Ok(query(sql, &args)
            .execute(&mut **self.connection())
            .await?
            .rows_affected())
    }

    async fn fetch_all_statement(
        &mut self,
        statement: Statement<'_>,
    ) -> StoreResult<Vec<SqliteRow>> {
        let (sql, args) = statement.into_parts();
        Ok(query(sql, &args)
            .fetch_all(&mut **self.connection())
            .await?)
    }

    async fn commit(self) -> StoreResult<()> {
        self.finish("COMMIT").await
    }

    async fn rollback(self) -> StoreResult<()> {
        self.finish("ROLLBACK").await
    }
}

impl Backend for SqliteStore {
    type Row = SqliteRow;
    type Tx = SqliteTx;

    const NAME: &'static str = "sqlite";
    /// The write transaction already excludes every other writer (BEGIN IMMEDIATE).
    const SELECT_PENDING_LOCKED: &'static str = sql::SELECT_PENDING;
    const SELECT_FOR_STATUS_CHANGE: &'static str = sql::SELECT_FOR_STATUS_CHANGE;
    const ANALYZE: &'static str = "ANALYZE";
    const SELECT_UNSEALED_AUDIT: &'static str = sql::SELECT_UNSEALED_AUDIT_SQLITE;
    const COUNT_UNSEALED_AUDIT: &'static str = sql::COUNT_UNSEALED_AUDIT_SQLITE;

    async fn begin_write(&self) -> StoreResult<SqliteTx> {
        self.writer().begin().await
    }

    fn status_changes(&self) -> &StatusChanges {
        &self.status_changes
    }

    async fn fetch_all(&self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<Vec<SqliteRow>> {
        Ok(query(sql, args).fetch_all(&self.read).await?)
    }

    type QuickRow = OwnedRow;

    /// On the calling thread; when the database is busy (another process holds it exclusively,
    /// rare in WAL mode) the read waits on sqlx's connection thread instead of blocking this one.
    async fn quick_all(&self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<Vec<OwnedRow>> {
        if let Some(reader) = &self.quick {
            match reader.fetch_all(sql, args) {
                Err(StoreError::Rusqlite(error)) if is_busy(&error) => {}
                done => return done,
            }
        }
        // Also an in-memory database, which exists only inside sqlx's connection.
        query(sql, args)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(OwnedRow::from_sqlx)
            .collect()
    }

    async fn fetch_optional(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> StoreResult<Option<SqliteRow>> {
        Ok(query(sql, args).fetch_optional(&self.read).await?)
    }

    async fn fetch_one(&self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<SqliteRow> {
        Ok(query(sql, args).fetch_one(&self.read).await?)
    }

    async fn execute_alone(&self, sql: &'static str) -> StoreResult<()> {
        sqlx::query(sql).execute(&self.write).await?;
        self.writer().committed();
        Ok(())
    }

    /// `VACUUM INTO` reads one snapshot (a read transaction: in WAL mode writers carry on) and
    /// writes a compact copy. The file is made owner-only first; it must not exist yet. The copy
    /// is then read back through an immutable connection (no WAL, shared-memory or lock files
    /// appear beside it) with an integrity check, and its rows counted.
    async fn backup_into(&self, path: &Path) -> StoreResult<Vec<(Table, u64)>> {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(StoreError::Backup)?;
        let target = path.to_str().ok_or(StoreError::Unsupported(
            "the backup path must be valid UTF-8",
        ))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.write)
            .await?;
        std::fs::File::open(path)
            .and_then(|file| file.sync_all())
            .map_err(StoreError::Backup)?;
        let mut copy = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .immutable(true)
            .connect()
            .await?;
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut copy)
            .await?;
        if check != "ok" {
            return Err(StoreError::Corrupt(format!(
                "the backup fails its integrity check: {check}"
            )));
        }
        let mut counts = Vec::new();
        for table in BACKUP_SUMMARY {
            let rows: i64 = sqlx::query_scalar(sql::count_rows(table))
                .fetch_one(&mut copy)
                .await?;
            counts.push((table, u64::try_from(rows).unwrap_or(0)));
        }
        copy.close().await?;
        Ok(counts)
    }

    /// Hand the create to the group committer and wait until its group is committed.
    async fn insert_certificate_durably(
        &self,
        cert: &CertificateRecord,
        audit: &AuditEntry,
        quota: Option<u64>,
    ) -> StoreResult<()> {
        self.creates.submit(cert, audit, quota).await
    }

    /// SQLite has one writer at a time: the write transaction is the lock.
    async fn try_lock_publication(_tx: &mut SqliteTx) -> StoreResult<bool> {
        Ok(true)
    }

    async fn try_lock_audit_sealing(_tx: &mut SqliteTx) -> StoreResult<bool> {
        Ok(true)
    }

    /// BEGIN IMMEDIATE already excludes every other writer.
    async fn lock_hostname_associations(_tx: &mut SqliteTx) -> StoreResult<()> {
        Ok(())
    }

    /// BEGIN IMMEDIATE already excludes every other writer.
    async fn lock_for_status_changes(
        _tx: &mut SqliteTx,
        _ids: &[&CertificateId],
    ) -> StoreResult<()> {
        Ok(())
    }

    fn pool_states(&self) -> Vec<PoolState> {
        vec![
            PoolState::of("sqlite_read", &self.read),
            PoolState::of("sqlite_write", &self.write),
        ]
    }

    /// BEGIN IMMEDIATE already excludes every other writer.
    async fn lock_zone_quota(_tx: &mut SqliteTx, _zone_id: &ZoneId) -> StoreResult<()> {
        Ok(())
    }

    /// AUTOINCREMENT and INTEGER PRIMARY KEY follow explicit values by themselves.
    async fn after_import(
        _tx: &mut SqliteTx,
        _table: &'static str,
        _column: &'static str,
    ) -> StoreResult<()> {
        Ok(())
    }
}

/// One transaction and one fsync per group.
impl CommitGroup for Writer {
    async fn commit_group(&mut self, jobs: &[CreateJob]) -> Vec<StoreResult<()>> {
        // A quota is counted create by create; without one the group is one command.
        if jobs.iter().any(|job| job.quota.is_some()) {
            return commit_one_by_one(self, jobs).await;
        }
        match commit_together(self, jobs).await {
            Ok(()) => jobs.iter().map(|_| Ok(())).collect(),
            // Rare (a serial collision, a full disk): redo the group one savepoint per create
            // so only the failing ones fail.
            Err(_) if jobs.len() > 1 => commit_one_by_one(self, jobs).await,
            Err(error) => vec![Err(error)],
        }
    }
}

/// The whole group as one multi-statement command — transaction, rows, list counts, audit
/// events, commit — so the connection's worker thread is woken once per group, not per statement.
async fn commit_together(writer: &Writer, jobs: &[CreateJob]) -> StoreResult<()> {
    let certs: Vec<_> = jobs.iter().map(|job| (None, &job.cert)).collect();
    let serials: Vec<String> = jobs
        .iter()
        .map(|job| job.cert.serial_number.to_decimal())
        .collect();
    let audits: Vec<_> = jobs.iter().map(|job| &job.audit).collect();
    let mut command = Statement::new(SqliteTx::PLACEHOLDER, "BEGIN IMMEDIATE; ");
    push_certificate_insert(&mut command, &certs, &serials);
    // The list counts of the rows just inserted (their seq is known only now), per status and for
    // all statuses — what `CountMoves::count` does for the other write paths.
    let all_statuses = format!("'{}'", sql::ALL_STATUSES);
    for status_column in ["status", all_statuses.as_str()] {
        command.push("; ").push(sql::INSERT_COUNT_COLUMNS);
        command.push(&format!(
            "SELECT zone_id, {status_column}, seq / {block}, COUNT(*) FROM certificates WHERE id IN ",
            block = sql::LIST_BLOCK
        ));
        command.bind_list(jobs.iter().map(|job| &job.cert.id));
        command.push(&format!(
            " GROUP BY zone_id, {status_column}, seq / {block}",
            block = sql::LIST_BLOCK
        ));
        command.push(sql::ADD_TO_EXISTING_COUNT);
    }
    command.push("; ");
    push_audit_insert(&mut command, &audits);
    command.push("; COMMIT");
    let (sql, args) = command.into_parts();
    let mut connection = writer.pool.acquire().await?;
    writer.catch_up(&mut connection).await;
    match query(sql, &args).execute(&mut *connection).await {
        Ok(_) => {
            writer.committed();
            Ok(())
        }
        Err(error) => {
            // A failed statement leaves the transaction open (or SQLite ended it by itself):
            // nothing of it may remain, and the connection must be clean for the next group.
            if sqlx::query("ROLLBACK")
                .execute(&mut *connection)
                .await
                .is_err()
                && !writer.in_memory
            {
                connection.close_on_drop();
            }
            Err(error.into())
        }
    }
}

/// The group in one transaction, each create in its own savepoint after its quota check (which
/// counts the rows of the creates before it).
async fn commit_one_by_one(writer: &Writer, jobs: &[CreateJob]) -> Vec<StoreResult<()>> {
    let failed_all = |error: &StoreError| failed_all(jobs, error);
    let mut tx = match writer.begin().await {
        Ok(tx) => tx,
        Err(error) => return failed_all(&error),
    };
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        let outcome: StoreResult<StoreResult<()>> = async {
            if let Some(limit) = job.quota {
                match ensure_within_quota::<SqliteStore>(&mut tx, &job.cert.zone_id, limit).await {
                    Ok(()) => {}
                    Err(refused @ StoreError::QuotaExceeded { .. }) => return Ok(Err(refused)),
                    Err(other) => return Err(other),
                }
            }
            tx.execute("SAVEPOINT create_job", &[]).await?;
            match insert_certificates_with_audit(&mut tx, &[(&job.cert, &job.audit)]).await {
                Ok(()) => {
                    tx.execute("RELEASE create_job", &[]).await?;
                    Ok(Ok(()))
                }
                Err(error) => {
                    tx.execute("ROLLBACK TO create_job", &[]).await?;
                    tx.execute("RELEASE create_job", &[]).await?;
                    Ok(Err(error))
                }
            }
        }
        .await;
        match outcome {
            Ok(result) => results.push(result),
            // The savepoint machinery itself failed: the transaction cannot be trusted.
            Err(error) => return failed_all(&error),
        }
    }
    if let Err(error) = tx.commit().await {
        return failed_all(&error);
    }
    results
}

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// An exclusive lock on `<database>.setup.lock`, held until the returned file is dropped.
async fn lock_for_setup(database: &Path) -> StoreResult<std::fs::File> {
    let mut path = database.as_os_str().to_owned();
    path.push(".setup.lock");
    let lock_error = |e: std::io::Error| {
        StoreError::Database(sqlx::Error::Configuration(
            format!("cannot lock {} for setup: {e}", Path::new(&path).display()).into(),
        ))
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(lock_error)?;
    // Blocking: another process holds it only while it migrates.
    tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await
        .map_err(|e| lock_error(std::io::Error::other(e)))?
        .map_err(lock_error)
}

/// The database's directory, created owner-only (0700) when missing: it holds token hashes and
/// sealed CA keys.
fn create_parent_dir(path: &Path) -> StoreResult<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| {
                StoreError::Database(sqlx::Error::Configuration(
                    format!("cannot create database directory {}: {e}", dir.display()).into(),
                ))
            }),
        _ => Ok(()),
    }
}

/// Create the database file owner-only (0600) before SQLite does (it would use 0644); SQLite
/// gives the WAL and shared-memory files the database file's mode.
fn create_private_file(path: &Path) -> StoreResult<()> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Database(sqlx::Error::Configuration(
            format!("cannot create database {}: {e}", path.display()).into(),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::DecodeRow;

    /// Commits never copy the log themselves (that is the checkpointer's job, off the write
    /// path), yet what they wrote reaches the database file without any further write, and
    /// under writes that never pause the log still starts over instead of growing without bound.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpointer_copies_the_log_and_keeps_it_bounded() {
        const MIB: u64 = 1 << 20;
        const COMMITS: u64 = 96;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        store
            .execute_alone("CREATE TABLE filler (b BLOB NOT NULL)")
            .await
            .unwrap();
        let file_size = |suffix: &str| {
            let mut name = path.clone().into_os_string();
            name.push(suffix);
            std::fs::metadata(name).map_or(0, |m| m.len())
        };
        let blob = vec![7_u8; MIB as usize];
        let mut largest_log = 0;
        for _ in 0..COMMITS {
            let mut tx = store.begin_write().await.unwrap();
            tx.execute("INSERT INTO filler (b) VALUES ($1)", &[Arg::Bytes(&blob)])
                .await
                .unwrap();
            tx.commit().await.unwrap();
            largest_log = largest_log.max(file_size("-wal"));
        }
        // The log file is reused from its start once the log starts over; without that it
        // would hold all 96 MiB.
        assert!(
            largest_log < COMMITS * MIB * 2 / 3,
            "the log grew to {largest_log} bytes"
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while file_size("") < COMMITS * MIB {
            assert!(
                std::time::Instant::now() < deadline,
                "the database file holds {} bytes",
                file_size("")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The sealer's reads go through the small index of unsealed events even when the planner's
    /// statistics say the table is tiny (as they did on a seeded database of a million events,
    /// whose unhinted read walked the whole table: 1.3 s), so a sealing pass costs what is
    /// unsealed, not the whole log.
    #[tokio::test]
    async fn unsealed_audit_reads_use_their_index_whatever_the_statistics_say() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("plan.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        // The statistics found on that database: five rows, taken when the log was young.
        for statement in [
            "ANALYZE",
            "DELETE FROM sqlite_stat1 WHERE tbl = 'audit_events'",
            "INSERT INTO sqlite_stat1 VALUES ('audit_events', 'audit_events_unsealed', '5 1'), \
             ('audit_events', 'audit_events_chain', '5 5'), \
             ('audit_events', 'audit_events_by_account', '5 5 1')",
            "ANALYZE sqlite_schema",
        ] {
            store.execute_alone(statement).await.unwrap();
        }
        let plan = |statement: &str| {
            let explain = format!("EXPLAIN QUERY PLAN {}", statement.replace("$1", "10"));
            let write = store.write.clone();
            async move {
                use sqlx::Row;
                sqlx::query(sqlx::AssertSqlSafe(explain))
                    .fetch_all(&write)
                    .await
                    .unwrap()
                    .iter()
                    .map(|step| step.get::<String, _>("detail"))
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        };
        let unhinted = plan(sql::SELECT_UNSEALED_AUDIT).await;
        assert_eq!(unhinted, "SCAN audit_events", "the planner's own choice");
        for statement in [
            SqliteStore::SELECT_UNSEALED_AUDIT,
            SqliteStore::COUNT_UNSEALED_AUDIT,
        ] {
            let hinted = plan(statement).await;
            assert!(
                hinted.contains("audit_events_unsealed"),
                "{statement}: {hinted}"
            );
        }
    }

    /// A quick read of a database another process holds exclusively gives up within
    /// `QUICK_BUSY_TIMEOUT` (it runs on an executor thread) with an error `quick_all` recognises
    /// as busy, and hands to sqlx; once the lock is gone it reads again. (WAL readers are only
    /// ever busy in rare moments, so the lock is shown on a rollback-journal file.)
    #[test]
    fn a_quick_read_of_a_busy_database_gives_up_fast_and_is_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("busy.db");
        let other = rusqlite::Connection::open(&path).unwrap();
        other
            .execute_batch(
                "CREATE TABLE settings (key TEXT, value TEXT); \
                 INSERT INTO settings VALUES ('a', 'b'); BEGIN EXCLUSIVE;",
            )
            .unwrap();
        let reader = QuickReader::new(&path, QUICK_BUSY_TIMEOUT);
        let started = std::time::Instant::now();
        let busy = reader.fetch_all("SELECT COUNT(*) FROM settings", &[]);
        assert!(
            matches!(&busy, Err(StoreError::Rusqlite(e)) if is_busy(e)),
            "the lock is held: {:?}",
            busy.map(|rows| rows.len())
        );
        assert!(started.elapsed() < Duration::from_secs(1), "gave up fast");
        other.execute_batch("COMMIT").unwrap();
        let rows = reader
            .fetch_all("SELECT COUNT(*) FROM settings", &[])
            .unwrap();
        assert_eq!(rows[0].first_int().unwrap(), 1);
    }
}
