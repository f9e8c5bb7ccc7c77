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

use crate::StoreResult;
use crate::error::StoreError;
use crate::migrations::{Dialect, migrator};
use crate::model::*;
use crate::rows::{self, DecodeRow, to_unix};
use crate::sql;
use crate::store_impl::{clamp_i64, impl_store, target_action};

const READ_CONNECTIONS: u32 = 8;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct SqliteStore {
    read: Pool<Sqlite>,
    write: Pool<Sqlite>,
}

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
            .connect_with(options.clone())
            .await?;
        // An in-memory database exists once per connection: share the single one.
        let read = if in_memory {
            write.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(READ_CONNECTIONS)
                .connect_with(options.read_only(true))
                .await?
        };
        migrator(Dialect::Sqlite).run(&write).await?;
        Ok(Self { read, write })
    }

    fn reader(&self) -> &Pool<Sqlite> {
        &self.read
    }

    async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, Sqlite>> {
        Ok(self.write.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// The write transaction already excludes every other writer (BEGIN IMMEDIATE).
    const SELECT_PENDING_LOCKED: &'static str = sql::SELECT_PENDING;

    async fn try_lock_publication(
        _tx: &mut sqlx::Transaction<'static, Sqlite>,
    ) -> StoreResult<bool> {
        Ok(true)
    }

    /// AUTOINCREMENT follows explicit ids by itself.
    async fn after_audit_import(_tx: &mut sqlx::Transaction<'static, Sqlite>) -> StoreResult<()> {
        Ok(())
    }

    /// Run SQLite's own consistency check (used by crash-safety tests and `clientca` operators).
    pub async fn integrity_check(&self) -> StoreResult<String> {
        Ok(sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&self.write)
            .await?)
    }
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
